//! `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` and `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`
//! (6.0+; §4.9, §4.10): the bridge between implicit sync (the buffer's
//! reservation object) and explicit sync (sync files), rule C15.
//!
//! * Export takes a snapshot of the pending implicit fences a new access
//!   would wait for: with WRITE (alone or with READ) every KERNEL/WRITE/READ
//!   fence, as `POLLOUT`; with READ alone the KERNEL/WRITE ones, as
//!   `POLLIN`. None gives the signalled global stub; one gives that fence;
//!   several a new array fence (fresh context, seqno 1) in list order.
//! * Import adds every leaf of a sync file's fence (arrays and chains
//!   flattened, signalled leaves included) with WRITE usage if WRITE is
//!   set, else READ, under the reservation lock taken with no acquire
//!   context; the reservation object's replacement rules apply (an older
//!   point never replaces a newer one, READ never downgrades WRITE).

use super::DmaBuf;
use crate::error::{Error, Result};
use crate::fence::unwrap::leaf_slice;
use crate::fence::{get_stub, unwrap, Fence};
use crate::resv::Usage;
use crate::sync_file::SyncFile;
use crate::uapi::dma_buf::{DMA_BUF_SYNC_RW, DMA_BUF_SYNC_WRITE};

fn check_flags(flags: u32) -> Result<()> {
    if flags == 0 || u64::from(flags) & !DMA_BUF_SYNC_RW != 0 {
        return Err(Error::Invalid(
            "sync-file flags must be a non-empty subset of READ|WRITE",
        ));
    }
    Ok(())
}

impl DmaBuf {
    /// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`: a sync file of the buffer's
    /// pending implicit fences (see the module documentation). A snapshot:
    /// fences added later do not affect it.
    ///
    /// # Locking
    /// Takes no lock.
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`) when `flags` is 0 or has a bit
    ///   outside `DMA_BUF_SYNC_RW`.
    /// * [`Error::NoMemory`] (`-ENOMEM`) when the array cannot be made.
    #[doc(alias = "DMA_BUF_IOCTL_EXPORT_SYNC_FILE")]
    #[doc(alias = "dma_buf_export_sync_file")]
    pub fn export_sync_file(&self, flags: u32) -> Result<SyncFile> {
        check_flags(flags)?;
        let write = u64::from(flags) & DMA_BUF_SYNC_WRITE != 0;
        let fence = self
            .resv()
            .get_singleton(Usage::rw(write))?
            .unwrap_or_else(get_stub);
        Ok(SyncFile::new(fence))
    }

    /// `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`: adds the leaves of `file`'s fence
    /// to the buffer's reservation object with WRITE usage if `flags` has
    /// WRITE, else READ. A front end maps "not a sync file" and a bad fd to
    /// [`Error::Invalid`] (`-EINVAL`) before calling this.
    ///
    /// # Locking
    /// Takes the reservation lock with no acquire context (never
    /// [`Error::Deadlock`]); it must not be held by the caller.
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`) when `flags` is 0 or has a bit
    ///   outside `DMA_BUF_SYNC_RW`.
    /// * [`Error::NoMemory`] (`-ENOMEM`) when the slots cannot be reserved.
    #[doc(alias = "DMA_BUF_IOCTL_IMPORT_SYNC_FILE")]
    #[doc(alias = "dma_buf_import_sync_file")]
    pub fn import_sync_file(&self, flags: u32, file: &SyncFile) -> Result<()> {
        check_flags(flags)?;
        let usage = if u64::from(flags) & DMA_BUF_SYNC_WRITE != 0 {
            Usage::Write
        } else {
            Usage::Read
        };
        self.import_fence(file.fence(), usage)
    }

    /// Adds every leaf of `fence` with `usage`, as the import does: the
    /// tool of in-process engines that publish their work on a buffer.
    ///
    /// # Locking
    /// Takes the reservation lock with no context; must not be held.
    ///
    /// # Errors
    /// [`Error::NoMemory`] when the slots cannot be reserved.
    pub fn import_fence(&self, fence: &Fence, usage: Usage) -> Result<()> {
        // Plain fences and arrays lend their leaves; a chain is walked
        // once, before locking, and its leaves may be containers (a chain
        // nested in a chain), which add_fence unwraps.
        if let Some(leaves) = leaf_slice(fence) {
            if leaves.is_empty() {
                return Ok(());
            }
            let mut guard = self.resv().lock(None)?;
            guard.reserve_fences(leaves.len())?;
            // Lent leaves are never containers.
            for leaf in leaves {
                guard.add_leaf(leaf, usage)?;
            }
            return Ok(());
        }
        let leaves: Vec<Fence> = unwrap(fence).collect();
        if leaves.is_empty() {
            return Ok(());
        }
        let mut guard = self.resv().lock(None)?;
        guard.reserve_fences(leaves.len())?;
        for leaf in &leaves {
            guard.add_fence_ref(leaf, usage)?;
        }
        Ok(())
    }
}
