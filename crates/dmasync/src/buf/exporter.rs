//! The exporter's side of a dma-buf: `struct dma_buf_ops` as the
//! [`Exporter`] trait, and the export checks of `dma_buf_export`.
//!
//! # Which callbacks run with the reservation lock held (§4.3)
//!
//! | called with the lock held (must not take it) | called without it (may take it) |
//! |---|---|
//! | [`Exporter::pin`], [`Exporter::unpin`], [`Exporter::map`], [`Exporter::unmap`], [`Exporter::vmap`], [`Exporter::vunmap`] | [`Exporter::attach`], [`Exporter::detach`], [`Exporter::release`], [`Exporter::begin_cpu_access`], [`Exporter::end_cpu_access`], [`Exporter::mmap`] |
//!
//! The locked callbacks receive the held [`ResvGuard`] as proof, and may
//! use it (a device exporter adds its move fences with it).

use std::any::Any;

use super::memory::{Direction, Memory, SgTable};
use super::{AttachInfo, DmaBuf};
use crate::error::{Error, Result};
use crate::resv::ResvGuard;

/// Which optional callbacks an exporter implements: the kernel's NULL
/// checks on `struct dma_buf_ops`. [`export`](super::export) validates
/// them as `dma_buf_export` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// `ops.pin` exists: the exporter is *dynamic* (it can move buffers).
    pub pin: bool,
    /// `ops.unpin` exists; must equal [`Caps::pin`].
    pub unpin: bool,
    /// `ops.cache_sgt_mapping`: the core caches the first mapping of each
    /// attachment. Not allowed with pin/unpin.
    pub cache_sgt_mapping: bool,
    /// `ops.vmap` exists (else `vmap` is `-EINVAL`).
    pub vmap: bool,
    /// `ops.mmap` exists (else `mmap` is `-EINVAL`).
    pub mmap: bool,
}

impl Caps {
    /// An exporter of plain memory that the CPU can map: `vmap` and `mmap`.
    pub const CPU_MAPPABLE: Caps = Caps {
        pin: false,
        unpin: false,
        cache_sgt_mapping: false,
        vmap: true,
        mmap: true,
    };

    /// Whether the exporter is dynamic (`dma_buf_is_dynamic`: has `pin`).
    pub fn is_dynamic(&self) -> bool {
        self.pin
    }
}

/// An exporter: the owner of a buffer's memory (`struct dma_buf_ops`).
///
/// One value serves one buffer (it is the buffer's `priv`). Mandatory:
/// [`Exporter::map`], [`Exporter::unmap`], [`Exporter::release`] (so a
/// missing one cannot happen here), [`Exporter::caps`] and
/// [`Exporter::memory`]. Callbacks must not panic.
pub trait Exporter: Any + Send + Sync {
    /// The optional callbacks this exporter has.
    fn caps(&self) -> Caps;

    /// The buffer's memory for CPU access and mmap, if it has any CPU-
    /// visible memory (`None`: `read_at`/`mmap` are `-EINVAL`).
    fn memory(&self) -> Option<&Memory>;

    /// Optional (`ops.attach`): a device attaches. Called without the lock.
    /// May refuse, e.g. with [`Error::Busy`] when the memory sits where the
    /// device cannot reach it.
    ///
    /// # Errors
    /// Whatever the exporter refuses with; the attachment is not made.
    fn attach(&self, buf: &DmaBuf, attach: &AttachInfo) -> Result<()> {
        let _ = (buf, attach);
        Ok(())
    }

    /// Optional (`ops.detach`): the device detached. Called without the lock.
    fn detach(&self, buf: &DmaBuf, attach: &AttachInfo) {
        let _ = (buf, attach);
    }

    /// `ops.pin` (dynamic exporters): keep the memory where it is until
    /// unpinned; return only once it is usable (moves done and cleared).
    /// Called with the lock held. Only called when [`Caps::pin`] is set.
    ///
    /// # Errors
    /// Whatever the exporter refuses with.
    fn pin(&self, buf: &DmaBuf, attach: &AttachInfo, guard: &mut ResvGuard<'_>) -> Result<()> {
        let _ = (buf, attach, guard);
        Ok(())
    }

    /// `ops.unpin`: undoes one [`Exporter::pin`]. Called with the lock held.
    fn unpin(&self, buf: &DmaBuf, attach: &AttachInfo, guard: &mut ResvGuard<'_>) {
        let _ = (buf, attach, guard);
    }

    /// `ops.map_dma_buf`: a new page-aligned table for `attach`, owned by
    /// the caller. Called with the lock held. Non-dynamic exporters return
    /// only when the memory is available and cleared.
    ///
    /// # Errors
    /// Whatever the exporter fails with (`-ENOMEM` typically).
    fn map(
        &self,
        buf: &DmaBuf,
        attach: &AttachInfo,
        dir: Direction,
        guard: &mut ResvGuard<'_>,
    ) -> Result<SgTable>;

    /// `ops.unmap_dma_buf`: the importer gives back a table. Called with
    /// the lock held.
    fn unmap(
        &self,
        buf: &DmaBuf,
        attach: &AttachInfo,
        sgt: SgTable,
        dir: Direction,
        guard: &mut ResvGuard<'_>,
    );

    /// `ops.release`: the last reference to the buffer is gone. Called with
    /// no lock held, from the drop of the last handle.
    fn release(&self);

    /// Optional (`ops.begin_cpu_access`): prepare CPU access (cache
    /// maintenance). Called without the lock, before the core waits for
    /// the implicit fences.
    ///
    /// # Errors
    /// Whatever the exporter fails with; the core then does not wait.
    fn begin_cpu_access(&self, buf: &DmaBuf, dir: Direction) -> Result<()> {
        let _ = (buf, dir);
        Ok(())
    }

    /// Optional (`ops.end_cpu_access`): CPU access is over. Called without
    /// the lock.
    ///
    /// # Errors
    /// Whatever the exporter fails with.
    fn end_cpu_access(&self, buf: &DmaBuf, dir: Direction) -> Result<()> {
        let _ = (buf, dir);
        Ok(())
    }

    /// `ops.mmap` (when [`Caps::mmap`]): checks a user mapping of `len`
    /// bytes at page `pgoff`; the core has checked the size already.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a mapping the exporter refuses (udmabuf:
    /// not `MAP_SHARED`).
    fn mmap(&self, buf: &DmaBuf, pgoff: u64, len: u64, shared: bool) -> Result<()> {
        let _ = (buf, pgoff, len, shared);
        Ok(())
    }

    /// `ops.vmap` (when [`Caps::vmap`]): a kernel mapping of the whole
    /// buffer is created. Called with the lock held, only for the first of
    /// nested vmaps.
    ///
    /// # Errors
    /// Whatever the exporter fails with.
    fn vmap(&self, buf: &DmaBuf, guard: &mut ResvGuard<'_>) -> Result<()> {
        let _ = (buf, guard);
        Ok(())
    }

    /// `ops.vunmap`: the last vmap is gone. Called with the lock held.
    fn vunmap(&self, buf: &DmaBuf, guard: &mut ResvGuard<'_>) {
        let _ = (buf, guard);
    }
}

/// The checks `dma_buf_export` makes on the ops.
///
/// # Errors
/// [`Error::Invalid`] (`-EINVAL`; the kernel also warns) when exactly one
/// of pin/unpin exists, or `cache_sgt_mapping` comes with pin/unpin.
pub(super) fn check_caps(caps: Caps) -> Result<()> {
    if caps.pin != caps.unpin {
        return Err(Error::Invalid("exactly one of pin and unpin"));
    }
    if caps.cache_sgt_mapping && (caps.pin || caps.unpin) {
        return Err(Error::Invalid("cache_sgt_mapping with pin/unpin"));
    }
    Ok(())
}
