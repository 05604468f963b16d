//! sync_file ioctls (include/uapi/linux/sync_file.h; drivers/dma-buf/sync_file.c).
//!
//! Issued on a sync_file fd. The command must match exactly; anything else is
//! `-ENOTTY`.
//!
//! # Burned command numbers
//!
//! Numbers 0, 1 and 2 of magic `'>'` belonged to the Android sync API before
//! sync_file left staging (≈4.10): `SYNC_IOC_WAIT` (`_IOW('>', 0, __s32)`),
//! the old `SYNC_IOC_MERGE` (`_IOWR('>', 1, …)`, a 40-byte struct with `fd2`
//! first) and `SYNC_IOC_FENCE_INFO` ([`SYNC_IOC_LEGACY_FENCE_INFO`]). They are
//! never reused, and the kernel answers each of them with `-ENOTTY`.

use super::{uapi_ioctls, uapi_structs};

/// The ioctl magic of sync_file (`'>'`).
pub const SYNC_IOC_MAGIC: u8 = b'>';

/// The burned command numbers (see the module documentation).
pub const SYNC_IOC_BURNED_NRS: [u8; 3] = [0, 1, 2];

/// The pre-4.10 `SYNC_IOC_FENCE_INFO` (`_IOWR('>', 2, 40 bytes)` =
/// `0xC0283E02`), which old programs may still send: `-ENOTTY` on a sync_file
/// and on a dma-buf.
pub const SYNC_IOC_LEGACY_FENCE_INFO: u32 = super::ioctl::iowr(SYNC_IOC_MAGIC, 2, 40);

/// Fence status: signalled without error (negative values are the error).
pub const SYNC_STATUS_SIGNALED: i32 = 1;
/// Fence status: not yet signalled.
pub const SYNC_STATUS_ACTIVE: i32 = 0;

uapi_structs! {
    /// Argument of [`SYNC_IOC_MERGE`]: makes a new sync_file whose fence
    /// completes when both files' fences have.
    pub struct SyncMergeData = "sync_merge_data" {
        /// In: the new file's name; byte 31 is forced to NUL (a longer name is
        /// cut to 31 bytes); all-zero leaves the name to be synthesised as
        /// `<driver>-<timeline><context>-<seqno>`.
        pub name: [u8; 32],
        /// In: the other sync_file; not an open fd or not a sync_file ->
        /// `-ENOENT` (not `-EBADF`). May be the file itself.
        pub fd2: i32,
        /// Out: the new sync_file fd (`O_CLOEXEC`).
        pub fence: i32,
        /// Must be 0, else `-EINVAL` (checked before `fd2`).
        pub flags: u32,
        /// Must be 0, else `-EINVAL`.
        pub pad: u32,
    }

    /// One entry of the array [`SYNC_IOC_FILE_INFO`] fills, one per leaf of
    /// the unwrapped fence, in unwrap order.
    pub struct SyncFenceInfo = "sync_fence_info" {
        /// The leaf's timeline name, cut to 31 bytes + NUL.
        pub obj_name: [u8; 32],
        /// The leaf's driver name, cut to 31 bytes + NUL.
        pub driver_name: [u8; 32],
        /// [`SYNC_STATUS_SIGNALED`], [`SYNC_STATUS_ACTIVE`] or `-errno`.
        pub status: i32,
        /// Always 0.
        pub flags: u32,
        /// CLOCK_MONOTONIC signal time in ns, 0 while pending.
        pub timestamp_ns: u64,
    }

    /// Argument of [`SYNC_IOC_FILE_INFO`], used in two calls: first with
    /// `num_fences == 0` to learn the count, then with an array that large.
    pub struct SyncFileInfo = "sync_file_info" {
        /// Out: the file's name (the user's, or the synthesised one).
        pub name: [u8; 32],
        /// Out: with `num_fences == 0` the whole fence's status; otherwise 1,
        /// or the status of the first leaf whose status is <= 0.
        pub status: i32,
        /// In: must be 0, else `-EINVAL`. Out: 0.
        pub flags: u32,
        /// In: 0 for the query call, else the capacity of the array at
        /// `sync_fence_info`; smaller than the leaf count -> `-EINVAL`, larger
        /// is fine (extra entries untouched). Out: the leaf count.
        pub num_fences: u32,
        /// In: must be 0, else `-EINVAL`. Out: 0.
        pub pad: u32,
        /// In: user pointer to `num_fences` [`SyncFenceInfo`] entries (unused
        /// when `num_fences == 0`); a bad pointer -> `-EFAULT`, and then the
        /// header is not copied back.
        pub sync_fence_info: u64,
    }

    /// Argument of [`SYNC_IOC_SET_DEADLINE`] (6.4+): a deadline hint,
    /// forwarded to every leaf; always succeeds once the struct is valid.
    pub struct SyncSetDeadline = "sync_set_deadline" {
        /// Absolute CLOCK_MONOTONIC time in ns. A fence keeps its earliest deadline.
        pub deadline_ns: u64,
        /// Must be 0, else `-EINVAL`.
        pub pad: u64,
    }
}

uapi_ioctls! {
    /// `_IOWR('>', 3, struct sync_merge_data)` = `0xC0303E03`.
    SYNC_IOC_MERGE = iowr(SYNC_IOC_MAGIC, 3, SyncMergeData);
    /// `_IOWR('>', 4, struct sync_file_info)` = `0xC0383E04`.
    SYNC_IOC_FILE_INFO = iowr(SYNC_IOC_MAGIC, 4, SyncFileInfo);
    /// `_IOW('>', 5, struct sync_set_deadline)` = `0x40103E05` (6.4+).
    SYNC_IOC_SET_DEADLINE = iow(SYNC_IOC_MAGIC, 5, SyncSetDeadline);
}
