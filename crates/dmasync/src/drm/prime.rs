//! PRIME: GEM handles <-> dma-bufs (drivers/gpu/drm/drm_prime.c, Linux
//! 6.12). The file side is [`DrmFile::prime_handle_to_fd`] and
//! [`DrmFile::prime_fd_to_handle`]; turning a dma-buf into an fd and back is
//! the caller's ([`Caller`](super::Caller)).
//!
//! [`DrmFile::prime_handle_to_fd`]: super::DrmFile::prime_handle_to_fd
//! [`DrmFile::prime_fd_to_handle`]: super::DrmFile::prime_fd_to_handle
//!
//! # Rules
//!
//! * HANDLE_TO_FD: `flags` within `DRM_CLOEXEC | DRM_RDWR`, else `-EINVAL`
//!   (checked first); an unknown handle -> `-ENOENT`. An object is exported
//!   at most once: it keeps its dma-buf while it has handles, so exporting
//!   it again, from any file, gives the same dma-buf (exporter name `drm`;
//!   the first export's `DRM_RDWR` decides the file's access mode). An
//!   imported object exports its original dma-buf. The file remembers
//!   which handle each dma-buf it exported or imported belongs to.
//! * FD_TO_HANDLE: `flags` ignored; a closed fd -> `-EBADF`, an fd that is
//!   not a dma-buf -> `-EINVAL`. A dma-buf the file already knows gives its
//!   handle back; a dma-buf exported from one of this device's objects
//!   gives a handle to that very object; any other is imported: the device
//!   attaches and maps it, and the new object shares its reservation object
//!   (MAP_DUMB on it -> `-EINVAL`). Closing its last handle detaches.
//! * Deleting a handle forgets its dma-buf in the file's table.
//!
//! # The exporter
//!
//! [`GemExport`] is the dma-buf exporter of a GEM object
//! (`drm_gem_prime_dmabuf_ops`): static (no pin/unpin), caching the first
//! mapping of each attachment, with vmap and mmap of the object's memory.
//! It holds the object, so the object lives as long as its dma-buf.
//!
//! # Locking
//!
//! [`PrimeTable`] is not locked itself: the owning file keeps it under the
//! same lock as its handle table, so both change together.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::gem::GemObject;
use crate::buf::{AttachInfo, Caps, Direction, DmaBuf, Exporter, Location, Memory, SgTable};
use crate::error::{Error, Result};
use crate::resv::ResvGuard;
use crate::uapi::drm::{DRM_CLOEXEC, DRM_RDWR};

/// The exporter of a dma-buf made from a GEM object
/// (`drm_gem_prime_dmabuf_ops`, `priv` = the object).
#[doc(alias = "drm_gem_prime_dmabuf_ops")]
pub struct GemExport {
    pub(crate) obj: Arc<GemObject>,
    pub(crate) memory: Memory,
}

impl std::fmt::Debug for GemExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GemExport").field("obj", &self.obj).finish()
    }
}

impl GemExport {
    /// The exported object.
    pub fn object(&self) -> &Arc<GemObject> {
        &self.obj
    }
}

impl Exporter for GemExport {
    fn caps(&self) -> Caps {
        Caps {
            cache_sgt_mapping: true,
            ..Caps::CPU_MAPPABLE
        }
    }

    fn memory(&self) -> Option<&Memory> {
        Some(&self.memory)
    }

    fn map(
        &self,
        _buf: &DmaBuf,
        _attach: &AttachInfo,
        _dir: Direction,
        _guard: &mut ResvGuard<'_>,
    ) -> Result<SgTable> {
        Ok(SgTable::fresh(Location::System, 0, self.obj.size()))
    }

    fn unmap(
        &self,
        _buf: &DmaBuf,
        _attach: &AttachInfo,
        _sgt: SgTable,
        _dir: Direction,
        _guard: &mut ResvGuard<'_>,
    ) {
    }

    /// `drm_gem_dmabuf_release`: the object reference goes with `self`.
    fn release(&self) {}
}

/// Checks HANDLE_TO_FD's flags (`drm_prime_handle_to_fd_ioctl`).
///
/// # Errors
/// [`Error::Invalid`] (`-EINVAL`) for a bit beyond `DRM_CLOEXEC | DRM_RDWR`.
pub fn check_export_flags(flags: u32) -> Result<()> {
    if flags & !(DRM_CLOEXEC | DRM_RDWR) != 0 {
        return Err(Error::Invalid(
            "PRIME export flags beyond DRM_CLOEXEC | DRM_RDWR",
        ));
    }
    Ok(())
}

/// One file's dma-buf <-> handle table (`struct drm_prime_file_private`).
/// Each entry holds a reference to its dma-buf (one file reference), as
/// the kernel's does, until the handle is deleted.
#[doc(alias = "drm_prime_file_private")]
#[derive(Debug, Default)]
pub struct PrimeTable {
    by_buf: BTreeMap<u64, u32>,
    by_handle: BTreeMap<u32, DmaBuf>,
}

impl PrimeTable {
    /// An empty table.
    pub fn new() -> PrimeTable {
        PrimeTable::default()
    }

    /// Records that dma-buf `buf` is this file's `handle`
    /// (`drm_prime_add_buf_handle`).
    #[doc(alias = "drm_prime_add_buf_handle")]
    pub fn add(&mut self, buf: &DmaBuf, handle: u32) {
        if let Some(old) = self.by_handle.insert(handle, buf.clone()) {
            self.by_buf.remove(&old.ino());
        }
        self.by_buf.insert(buf.ino(), handle);
    }

    /// The handle this file has for dma-buf `buf`
    /// (`drm_prime_lookup_buf_handle`).
    #[doc(alias = "drm_prime_lookup_buf_handle")]
    pub fn handle_of(&self, buf: &DmaBuf) -> Option<u32> {
        self.by_buf.get(&buf.ino()).copied()
    }

    /// The dma-buf this file recorded for `handle`
    /// (`drm_prime_lookup_buf_by_handle`).
    #[doc(alias = "drm_prime_lookup_buf_by_handle")]
    pub fn buf_of(&self, handle: u32) -> Option<DmaBuf> {
        self.by_handle.get(&handle).cloned()
    }

    /// Forgets `handle`'s dma-buf (`drm_prime_remove_buf_handle`), when the
    /// handle is deleted.
    #[doc(alias = "drm_prime_remove_buf_handle")]
    pub fn remove_handle(&mut self, handle: u32) -> Option<DmaBuf> {
        let buf = self.by_handle.remove(&handle)?;
        self.by_buf.remove(&buf.ino());
        Some(buf)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_buf.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_flags() {
        assert_eq!(check_export_flags(0), Ok(()));
        assert_eq!(check_export_flags(DRM_CLOEXEC | DRM_RDWR), Ok(()));
        assert_eq!(check_export_flags(1).unwrap_err().errno(), 22);
    }

    #[test]
    fn table_maps_both_ways_and_forgets_deleted_handles() {
        let a = crate::buf::heap::alloc(4096, 0, 0).unwrap();
        let b = crate::buf::heap::alloc(4096, 0, 0).unwrap();
        let mut t = PrimeTable::new();
        t.add(&a, 1);
        t.add(&b, 2);
        assert_eq!(t.handle_of(&a), Some(1));
        assert_eq!(t.buf_of(2), Some(b.clone()));
        assert_eq!(a.file_count(), 2, "the table holds a reference");
        assert_eq!(t.remove_handle(1), Some(a.clone()));
        assert_eq!(t.handle_of(&a), None);
        assert_eq!(t.len(), 1);
    }
}
