//! dma-buf ioctls (include/uapi/linux/dma-buf.h; drivers/dma-buf/dma-buf.c).
//!
//! Issued on a dma-buf fd. The command must match exactly: anything else in
//! the `'b'` range, or another family's command, is `-ENOTTY`.

use super::{uapi_ioctls, uapi_structs};

/// The ioctl magic of dma-buf (`'b'`).
pub const DMA_BUF_BASE: u8 = b'b';

/// [`DmaBufSync::flags`]: CPU reads (direction from-device).
pub const DMA_BUF_SYNC_READ: u64 = 1;
/// [`DmaBufSync::flags`]: CPU writes (direction to-device).
pub const DMA_BUF_SYNC_WRITE: u64 = 2;
/// [`DmaBufSync::flags`]: CPU reads and writes (bidirectional).
pub const DMA_BUF_SYNC_RW: u64 = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
/// [`DmaBufSync::flags`]: begin CPU access (the value 0 of bit 2).
pub const DMA_BUF_SYNC_START: u64 = 0;
/// [`DmaBufSync::flags`]: end CPU access.
pub const DMA_BUF_SYNC_END: u64 = 4;
/// Every valid [`DmaBufSync::flags`] bit.
pub const DMA_BUF_SYNC_VALID_FLAGS_MASK: u64 = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END;
/// Longest name `DMA_BUF_SET_NAME` stores, terminator included (= [`super::NAME_LEN`]).
pub const DMA_BUF_NAME_LEN: usize = 32;
/// The dma-buf pseudo filesystem's magic (`"DMAB"`), `statfs().f_type` of a dma-buf fd.
pub const DMA_BUF_MAGIC: u32 = 0x444d_4142;

uapi_structs! {
    /// Argument of [`DMA_BUF_IOCTL_SYNC`]: brackets CPU access to the
    /// buffer's memory.
    pub struct DmaBufSync = "dma_buf_sync" {
        /// `START` or `END` ([`DMA_BUF_SYNC_END`]) with a direction
        /// ([`DMA_BUF_SYNC_READ`], [`DMA_BUF_SYNC_WRITE`] or both).
        /// A bit outside [`DMA_BUF_SYNC_VALID_FLAGS_MASK`] -> `-EINVAL`; no
        /// direction bit -> `-EINVAL`. START waits: with WRITE for every
        /// KERNEL/WRITE/READ fence, with READ only for KERNEL/WRITE fences;
        /// END never waits (udmabuf: END before any START -> `-EINVAL`).
        /// A wait may end in `-EINTR`/`-EAGAIN`: the caller restarts it.
        pub flags: u64,
    }

    /// Argument of [`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`] (6.0+): a snapshot of
    /// the buffer's implicit fences as a new sync_file.
    pub struct DmaBufExportSyncFile = "dma_buf_export_sync_file" {
        /// In: non-zero and within [`DMA_BUF_SYNC_RW`], else `-EINVAL`.
        /// WRITE (alone or with READ) exports the READ-usage set (every
        /// reader and writer: what a writer must wait for, as `POLLOUT`);
        /// READ alone exports the WRITE-usage set (as `POLLIN`). No pending
        /// fence gives the signalled global stub, one gives itself, several
        /// a new fence array.
        pub flags: u32,
        /// Out: the new sync_file fd, opened with `O_CLOEXEC`. Ignored on input.
        pub fd: i32,
    }

    /// Argument of [`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`] (6.0+): adds a
    /// sync_file's fences to the buffer's reservation object.
    pub struct DmaBufImportSyncFile = "dma_buf_import_sync_file" {
        /// In: non-zero and within [`DMA_BUF_SYNC_RW`], else `-EINVAL`.
        /// With WRITE the fences are added with WRITE usage, else READ usage.
        pub flags: u32,
        /// In: a sync_file fd; a bad fd or another file type -> `-EINVAL`
        /// (not `-EBADF`). Every leaf of its fence is added, signalled or not.
        pub fd: i32,
    }
}

uapi_ioctls! {
    /// `_IOW('b', 0, struct dma_buf_sync)` = `0x40086200`: begin or end CPU access.
    DMA_BUF_IOCTL_SYNC = iow(DMA_BUF_BASE, 0, DmaBufSync);
    /// `_IOW('b', 1, const char *)`: set the buffer's name. The argument is a
    /// pointer to a NUL-terminated string of at most 31 bytes (longer ->
    /// `-EINVAL`, bad pointer -> `-EFAULT`); `""` stores an empty name. The
    /// encoded size is the pointer's, so this equals [`DMA_BUF_SET_NAME_B`]
    /// on 64-bit; the kernel accepts both `_A` and `_B`.
    DMA_BUF_SET_NAME = iow(DMA_BUF_BASE, 1, usize);
    /// `_IOW('b', 1, __u32)` = `0x40046201`: `DMA_BUF_SET_NAME` as 32-bit callers encode it.
    DMA_BUF_SET_NAME_A = iow(DMA_BUF_BASE, 1, u32);
    /// `_IOW('b', 1, __u64)` = `0x40086201`: `DMA_BUF_SET_NAME` as 64-bit callers encode it.
    DMA_BUF_SET_NAME_B = iow(DMA_BUF_BASE, 1, u64);
    /// `_IOWR('b', 2, struct dma_buf_export_sync_file)` = `0xC0086202`.
    DMA_BUF_IOCTL_EXPORT_SYNC_FILE = iowr(DMA_BUF_BASE, 2, DmaBufExportSyncFile);
    /// `_IOW('b', 3, struct dma_buf_import_sync_file)` = `0x40086203`.
    DMA_BUF_IOCTL_IMPORT_SYNC_FILE = iow(DMA_BUF_BASE, 3, DmaBufImportSyncFile);
}
