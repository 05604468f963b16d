//! sw_sync ioctls, issued on a timeline fd (an open of
//! `<debugfs>/sync/sw_sync`).
//!
//! The kernel keeps these definitions private to drivers/dma-buf/sw_sync.c
//! (no UAPI header ships them); test programs copy them, so their layout is
//! as fixed as any header's. The command must match exactly; anything else
//! is `-ENOTTY`.

use super::{uapi_ioctls, uapi_structs};

/// The ioctl magic of sw_sync (`'W'`).
pub const SW_SYNC_IOC_MAGIC: u8 = b'W';

/// Where the timeline file lives below debugfs.
pub const SW_SYNC_DEBUGFS_PATH: &str = "sync/sw_sync";

uapi_structs! {
    /// Argument of [`SW_SYNC_IOC_CREATE_FENCE`]: a point on the timeline as a
    /// new sync_file.
    pub struct SwSyncCreateFenceData = "sw_sync_create_fence_data" {
        /// In: the point's 32-bit seqno. At or before the timeline's value
        /// (wrapping comparison) the fence is born signalled; an unsignalled
        /// point of the same value is reused (the same fence object).
        pub value: u32,
        /// Ignored: never read or stored.
        pub name: [u8; 32],
        /// Out: the new sync_file fd (`O_CLOEXEC`).
        pub fence: i32,
    }

    /// Argument of [`SW_SYNC_GET_DEADLINE`] (6.4+), issued on the timeline fd.
    pub struct SwSyncGetDeadline = "sw_sync_get_deadline" {
        /// In: must be 0, else `-EINVAL`. Out: the earliest deadline ever set
        /// on the point (absolute CLOCK_MONOTONIC ns); none set -> `-ENOENT`.
        pub deadline_ns: u64,
        /// Must be 0, else `-EINVAL`.
        pub pad: u32,
        /// In: a sync_file whose fence is a sw_sync point (of any timeline);
        /// anything else (bad fd, other file, a merged array) -> `-EINVAL`.
        pub fence_fd: i32,
    }
}

uapi_ioctls! {
    /// `_IOWR('W', 0, struct sw_sync_create_fence_data)` = `0xC0285700`.
    SW_SYNC_IOC_CREATE_FENCE = iowr(SW_SYNC_IOC_MAGIC, 0, SwSyncCreateFenceData);
    /// `_IOW('W', 1, __u32)` = `0x40045701`: advance the timeline by the
    /// pointed-to `u32` (applied in steps of at most `INT_MAX`; 0 allowed),
    /// signalling every point reached. Always 0 (or `-EFAULT`).
    SW_SYNC_IOC_INC = iow(SW_SYNC_IOC_MAGIC, 1, u32);
    /// `_IOWR('W', 2, struct sw_sync_get_deadline)` = `0xC0105702` (6.4+).
    SW_SYNC_GET_DEADLINE = iowr(SW_SYNC_IOC_MAGIC, 2, SwSyncGetDeadline);
}
