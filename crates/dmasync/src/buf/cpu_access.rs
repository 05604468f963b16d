//! CPU access to a dma-buf (`dma_buf_begin_cpu_access`,
//! `dma_buf_end_cpu_access`, `DMA_BUF_IOCTL_SYNC`, `dma_buf_vmap`, the
//! file's `mmap`; §4.5, §4.7).
//!
//! Beginning CPU access waits, after the exporter's own preparation, for
//! the implicit fences the access conflicts with (rule C1, `usage_rw`): a
//! CPU *writer* ([`Direction::ToDevice`] or [`Direction::Bidirectional`])
//! waits for every KERNEL/WRITE/READ fence, a CPU *reader*
//! ([`Direction::FromDevice`]) for KERNEL/WRITE fences. BOOKKEEP fences are
//! never waited for (C15: explicit sync is the caller's business). Ending
//! never waits. Memory is coherent only between the two (C16).

use super::memory::Direction;
use super::{next_id, DmaBuf};
use crate::error::{Error, Result};
use crate::fence::Interrupt;
use crate::resv::{ResvGuard, Usage};
use crate::uapi::dma_buf::{
    DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_VALID_FLAGS_MASK,
    DMA_BUF_SYNC_WRITE,
};

/// A kernel virtual mapping of the whole buffer, from [`DmaBuf::vmap`]
/// (`struct iosys_map`). Nested vmaps return the same value; the last
/// [`DmaBuf::vunmap`] must pass it back. Access the memory with
/// [`DmaBuf::read_at`] / [`DmaBuf::write_at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vmap {
    /// A synthetic address, unique to this mapping.
    pub addr: u64,
}

/// The vmap count and current mapping (`vmapping_counter`, `vmap_ptr`),
/// protected by the reservation lock (the mutex only makes access safe).
#[derive(Debug, Default)]
pub(crate) struct VmapState {
    count: u32,
    map: Option<Vmap>,
}

impl DmaBuf {
    /// Begins CPU access (`dma_buf_begin_cpu_access`): the exporter's
    /// [`begin_cpu_access`](super::Exporter::begin_cpu_access), then, if
    /// that succeeded, a wait with no timeout for the implicit fences
    /// `dir` conflicts with (see the module documentation).
    ///
    /// # Locking
    /// The reservation lock must not be held; may sleep.
    ///
    /// # Errors
    /// The exporter's error (then no wait happens).
    #[doc(alias = "dma_buf_begin_cpu_access")]
    pub fn begin_cpu_access(&self, dir: Direction) -> Result<()> {
        self.begin_cpu_access_interruptible(dir, None)
    }

    /// [`DmaBuf::begin_cpu_access`] whose wait `intr` can interrupt.
    ///
    /// # Errors
    /// The exporter's error, or [`Error::Interrupted`] (`-EINTR`; the
    /// ioctl is restarted by the caller).
    pub fn begin_cpu_access_interruptible(
        &self,
        dir: Direction,
        intr: Option<&Interrupt>,
    ) -> Result<()> {
        self.exporter().begin_cpu_access(self, dir)?;
        self.resv()
            .wait_timeout(Usage::rw(dir.cpu_writes()), None, intr)
            .map(|_| ())
    }

    /// Ends CPU access (`dma_buf_end_cpu_access`): the exporter's
    /// [`end_cpu_access`](super::Exporter::end_cpu_access); never waits.
    ///
    /// # Locking
    /// The reservation lock must not be held.
    ///
    /// # Errors
    /// The exporter's error (udmabuf: [`Error::Invalid`] before any begin).
    #[doc(alias = "dma_buf_end_cpu_access")]
    pub fn end_cpu_access(&self, dir: Direction) -> Result<()> {
        self.exporter().end_cpu_access(self, dir)
    }

    /// `DMA_BUF_IOCTL_SYNC` with `flags`: START (0) or
    /// [`DMA_BUF_SYNC_END`] with a direction, [`DMA_BUF_SYNC_READ`]
    /// (from-device), [`DMA_BUF_SYNC_WRITE`] (to-device) or both
    /// (bidirectional). START|WRITE and START|RW wait for every
    /// KERNEL/WRITE/READ fence, START|READ for KERNEL/WRITE ones; END never
    /// waits.
    ///
    /// # Locking
    /// The reservation lock must not be held; may sleep.
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`) for a bit outside
    ///   [`DMA_BUF_SYNC_VALID_FLAGS_MASK`] or no direction bit.
    /// * The exporter's begin/end error.
    #[doc(alias = "DMA_BUF_IOCTL_SYNC")]
    pub fn sync(&self, flags: u64) -> Result<()> {
        self.sync_interruptible(flags, None)
    }

    /// [`DmaBuf::sync`] whose wait `intr` can interrupt.
    ///
    /// # Errors
    /// Those of [`DmaBuf::sync`], and [`Error::Interrupted`] (`-EINTR`).
    pub fn sync_interruptible(&self, flags: u64, intr: Option<&Interrupt>) -> Result<()> {
        if flags & !DMA_BUF_SYNC_VALID_FLAGS_MASK != 0 {
            return Err(Error::Invalid("unknown DMA_BUF_IOCTL_SYNC flags"));
        }
        let dir = match flags & DMA_BUF_SYNC_RW {
            DMA_BUF_SYNC_READ => Direction::FromDevice,
            DMA_BUF_SYNC_WRITE => Direction::ToDevice,
            DMA_BUF_SYNC_RW => Direction::Bidirectional,
            _ => return Err(Error::Invalid("DMA_BUF_IOCTL_SYNC without a direction")),
        };
        if flags & DMA_BUF_SYNC_END != 0 {
            self.end_cpu_access(dir)
        } else {
            self.begin_cpu_access_interruptible(dir, intr)
        }
    }

    /// Reads `buf.len()` bytes at `offset` of the buffer's memory. Bracket
    /// with [`DmaBuf::sync`] for coherency (rule C16).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) when the buffer has no CPU-visible
    /// memory or the range passes its end.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.memory()
            .ok_or(Error::Invalid("buffer has no CPU-visible memory"))?
            .read_at(offset, buf)
    }

    /// Writes `buf` at `offset` of the buffer's memory. Bracket with
    /// [`DmaBuf::sync`] for coherency.
    ///
    /// # Errors
    /// As [`DmaBuf::read_at`].
    pub fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.memory()
            .ok_or(Error::Invalid("buffer has no CPU-visible memory"))?
            .write_at(offset, buf)
    }

    /// Checks a user `mmap` of `len` bytes at page offset `pgoff`
    /// (`dma_buf_mmap_internal`); `shared` is `MAP_SHARED`. On success the
    /// front end maps [`DmaBuf::memory`]'s segments.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) when the exporter has no mmap, the
    /// mapping ends past the buffer's last page, or the exporter refuses
    /// (udmabuf: not `MAP_SHARED`).
    #[doc(alias = "dma_buf_mmap")]
    pub fn mmap(&self, pgoff: u64, len: u64, shared: bool) -> Result<()> {
        if !self.caps().mmap {
            return Err(Error::Invalid("exporter has no mmap"));
        }
        let pages = len.div_ceil(super::PAGE_SIZE);
        match pgoff.checked_add(pages) {
            Some(end) if end <= self.size() / super::PAGE_SIZE => {}
            _ => return Err(Error::Invalid("mapping past the end of the buffer")),
        }
        self.exporter().mmap(self, pgoff, len, shared)
    }

    /// A kernel mapping of the whole buffer (`dma_buf_vmap`),
    /// reference-counted: only the first call reaches the exporter, later
    /// ones return the same [`Vmap`].
    ///
    /// # Locking
    /// The reservation lock held (`guard`).
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`) if `guard` is not this buffer's
    ///   lock or the exporter has no vmap.
    /// * The exporter's error.
    #[doc(alias = "dma_buf_vmap")]
    pub fn vmap(&self, guard: &mut ResvGuard<'_>) -> Result<Vmap> {
        self.check_guard(guard)?;
        if !self.caps().vmap {
            return Err(Error::Invalid("exporter has no vmap"));
        }
        if let Some(map) = {
            let mut st = self.inner.vmap.lock();
            st.map.inspect(|_| st.count += 1)
        } {
            return Ok(map);
        }
        self.exporter().vmap(self, guard)?;
        let map = Vmap {
            addr: next_id() << 32,
        };
        let mut st = self.inner.vmap.lock();
        st.count = 1;
        st.map = Some(map);
        Ok(map)
    }

    /// Drops one vmap (`dma_buf_vunmap`); the last one calls the
    /// exporter's vunmap.
    ///
    /// # Locking
    /// The reservation lock held (`guard`).
    ///
    /// # Errors
    /// [`Error::Invalid`] if `guard` is not this buffer's lock, nothing is
    /// mapped, or `map` is not the current mapping (the kernel BUG()s).
    #[doc(alias = "dma_buf_vunmap")]
    pub fn vunmap(&self, guard: &mut ResvGuard<'_>, map: Vmap) -> Result<()> {
        self.check_guard(guard)?;
        let last = {
            let mut st = self.inner.vmap.lock();
            if st.count == 0 || st.map != Some(map) {
                return Err(Error::Invalid("vunmap of a mapping that is not current"));
            }
            st.count -= 1;
            if st.count == 0 {
                st.map = None;
            }
            st.count == 0
        };
        if last {
            self.exporter().vunmap(self, guard);
        }
        Ok(())
    }

    /// [`DmaBuf::vmap`] taking the lock itself (`dma_buf_vmap_unlocked`).
    ///
    /// # Errors
    /// As [`DmaBuf::vmap`].
    #[doc(alias = "dma_buf_vmap_unlocked")]
    pub fn vmap_unlocked(&self) -> Result<Vmap> {
        let mut guard = self.resv().lock(None)?;
        self.vmap(&mut guard)
    }

    /// [`DmaBuf::vunmap`] taking the lock itself (`dma_buf_vunmap_unlocked`).
    ///
    /// # Errors
    /// As [`DmaBuf::vunmap`].
    #[doc(alias = "dma_buf_vunmap_unlocked")]
    pub fn vunmap_unlocked(&self, map: Vmap) -> Result<()> {
        let mut guard = self.resv().lock(None)?;
        self.vunmap(&mut guard, map)
    }

    /// How many vmaps are outstanding.
    pub fn vmap_count(&self) -> u32 {
        self.inner.vmap.lock().count
    }
}
