//! dmasync: the Linux dma-buf implicit-synchronisation subsystem in user space.
//!
//! The layers follow `drivers/dma-buf/` of Linux 6.12, each module named after
//! the kernel concept it implements:
//!
//! * [`fence`]: `dma_fence` and its containers (array, chain, unwrap, merge),
//!   the stub fence and the software timeline ([`fence::sw_sync`]).
//! * [`uapi`]: the kernel's ioctl numbers, flags and argument structs.
//! * [`resv`]: `dma_resv`, the reservation object: fences with usages,
//!   wound/wait locking and lock-free readers.
//! * [`buf`]: `dma_buf`, shared buffers: exporters, static and dynamic
//!   importers, CPU access, poll, and the sync-file export/import.
//! * [`drm`]: a vgem-like DRM device: the ioctl dispatcher rules, GEM
//!   objects and handles, dumb buffers, PRIME and vgem's fences.
//!
//! Names follow the kernel's (`dma_fence_add_callback` is
//! [`Fence::add_callback`](fence::Fence::add_callback)); every kernel name is a
//! `#[doc(alias)]`, so searching the documentation for it finds the item.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buf;
pub mod drm;
pub mod error;
pub mod fence;
pub mod resv;
mod sync;
pub mod sync_file;
pub mod uapi;

pub use error::Error;
pub use fence::{Fence, FenceOps};
pub use resv::{Resv, Usage};
