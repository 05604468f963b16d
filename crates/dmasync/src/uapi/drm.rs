//! DRM ioctls a vgem-like device needs (include/uapi/drm/drm.h, drm_mode.h,
//! vgem_drm.h; drivers/gpu/drm/drm_ioctl.c, drm_prime.c, drm_gem.c,
//! drm_dumb_buffers.c, drm_syncobj.c, vgem/vgem_fence.c).
//!
//! # Dispatcher
//!
//! The handler is selected by `type` ([`DRM_IOCTL_BASE`]) and `nr` only; the
//! user's size may differ from the kernel's (missing trailing bytes read as
//! zero, the user's size is copied back, also after a failure: output fields
//! are undefined on error). A device being unplugged -> `-ENODEV`; a command
//! not allowed on the node (e.g. the dumb-buffer ioctls on a render node) ->
//! `-EACCES`; a failed copy back turns success into `-EFAULT`; a core `nr`
//! without handler -> `-EINVAL`; a driver-range `nr` ([`DRM_COMMAND_BASE`] to
//! [`DRM_COMMAND_END`]) past the driver's table -> `-EINVAL`.
//!
//! # Syncobj feature gates
//!
//! The syncobj ioctls need the driver feature `DRIVER_SYNCOBJ`; TRANSFER,
//! TIMELINE_WAIT, QUERY, TIMELINE_SIGNAL and EVENTFD also
//! `DRIVER_SYNCOBJ_TIMELINE`; missing -> `-EOPNOTSUPP` (vgem has neither).
//! Handles are per open file, allocated as the lowest free id >= 1 and
//! reused after DESTROY; 0 is never valid. All are allowed on render nodes.
//!
//! # Struct growth
//!
//! The 6.12 layouts are given. [`DrmSyncobjWait`] and
//! [`DrmSyncobjTimelineWait`] grew `deadline_nsec` in 6.5 (older callers
//! send 32 / 40 bytes); `drm_syncobj_handle` grows a `point` only in 6.16
//! and is 16 bytes here.

use super::{uapi_ioctls, uapi_structs};

/// The ioctl magic of DRM (`'d'`).
pub const DRM_IOCTL_BASE: u8 = b'd';
/// First `nr` of the driver-private range.
pub const DRM_COMMAND_BASE: u8 = 0x40;
/// One past the last `nr` of the driver-private range.
pub const DRM_COMMAND_END: u8 = 0xA0;
/// [`DrmPrimeHandle::flags`]: the new dma-buf fd is close-on-exec (`O_CLOEXEC`).
pub const DRM_CLOEXEC: u32 = 0o200_0000;
/// [`DrmPrimeHandle::flags`]: the new dma-buf fd is read-write (`O_RDWR`), so it can be mapped writable.
pub const DRM_RDWR: u32 = 0o2;

/// Capability: dumb buffers are supported (modeset drivers only).
pub const DRM_CAP_DUMB_BUFFER: u64 = 0x1;
/// Capability: vblank on high CRTCs (modeset drivers only).
pub const DRM_CAP_VBLANK_HIGH_CRTC: u64 = 0x2;
/// Capability: preferred depth for dumb buffers (modeset drivers only).
pub const DRM_CAP_DUMB_PREFERRED_DEPTH: u64 = 0x3;
/// Capability: dumb buffers prefer a shadow copy (modeset drivers only).
pub const DRM_CAP_DUMB_PREFER_SHADOW: u64 = 0x4;
/// Capability: PRIME; the value is [`DRM_PRIME_CAP_IMPORT`] | [`DRM_PRIME_CAP_EXPORT`] for every driver (6.12).
pub const DRM_CAP_PRIME: u64 = 0x5;
/// [`DRM_CAP_PRIME`] bit: dma-bufs can be imported.
pub const DRM_PRIME_CAP_IMPORT: u64 = 0x1;
/// [`DRM_CAP_PRIME`] bit: GEM objects can be exported as dma-bufs.
pub const DRM_PRIME_CAP_EXPORT: u64 = 0x2;
/// Capability: event timestamps are CLOCK_MONOTONIC (always 1).
pub const DRM_CAP_TIMESTAMP_MONOTONIC: u64 = 0x6;
/// Capability: legacy async page flips (modeset drivers only).
pub const DRM_CAP_ASYNC_PAGE_FLIP: u64 = 0x7;
/// Capability: cursor width (modeset drivers only).
pub const DRM_CAP_CURSOR_WIDTH: u64 = 0x8;
/// Capability: cursor height (modeset drivers only).
pub const DRM_CAP_CURSOR_HEIGHT: u64 = 0x9;
/// Capability: framebuffer modifiers (modeset drivers only).
pub const DRM_CAP_ADDFB2_MODIFIERS: u64 = 0x10;
/// Capability: page flips to a target vblank (modeset drivers only).
pub const DRM_CAP_PAGE_FLIP_TARGET: u64 = 0x11;
/// Capability: vblank events carry the CRTC id (modeset drivers only).
pub const DRM_CAP_CRTC_IN_VBLANK_EVENT: u64 = 0x12;
/// Capability: the driver has syncobjs (`DRIVER_SYNCOBJ`, answered by every driver).
pub const DRM_CAP_SYNCOBJ: u64 = 0x13;
/// Capability: the driver has timeline syncobjs (answered by every driver).
pub const DRM_CAP_SYNCOBJ_TIMELINE: u64 = 0x14;

/// [`DrmSyncobjCreate::flags`]: the object starts holding a signalled fence.
pub const DRM_SYNCOBJ_CREATE_SIGNALED: u32 = 1 << 0;
/// [`DrmSyncobjHandle::flags`] of FD_TO_HANDLE: `fd` is a sync_file whose
/// fence is installed in the existing object `handle`.
pub const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE: u32 = 1 << 0;
/// [`DrmSyncobjHandle::flags`] of HANDLE_TO_FD: export the object's current
/// fence as a sync_file instead of the object.
pub const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE: u32 = 1 << 0;
/// Wait flag: every entry must complete (else any one suffices).
pub const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL: u32 = 1 << 0;
/// Wait flag: a missing fence or point is waited for instead of `-EINVAL`.
pub const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT: u32 = 1 << 1;
/// Wait flag: an entry completes when its point exists, signalled or not.
pub const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE: u32 = 1 << 2;
/// Wait flag (6.5+): pass `deadline_nsec` as a deadline hint; completion is unchanged.
pub const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE: u32 = 1 << 3;
/// [`DrmSyncobjTimelineArray::flags`] of QUERY: answer the last submitted
/// point instead of the last signalled one.
pub const DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED: u32 = 1 << 0;

/// `DRM_IO(0x1e)` = `0x641E`: become the device's master again (no argument).
pub const DRM_IOCTL_SET_MASTER: u32 = super::ioctl::io(DRM_IOCTL_BASE, 0x1E);
/// `DRM_IO(0x1f)` = `0x641F`: stop being the device's master (no argument).
pub const DRM_IOCTL_DROP_MASTER: u32 = super::ioctl::io(DRM_IOCTL_BASE, 0x1F);
/// [`DrmClient::uid`]: the overflow uid the kernel reports (`overflowuid`).
pub const DRM_CLIENT_OVERFLOW_UID: u64 = 65534;

/// vgem's driver-private `nr` offset of FENCE_ATTACH.
pub const DRM_VGEM_FENCE_ATTACH: u8 = 0x1;
/// vgem's driver-private `nr` offset of FENCE_SIGNAL.
pub const DRM_VGEM_FENCE_SIGNAL: u8 = 0x2;
/// [`DrmVgemFenceAttach::flags`]: attach an exclusive (WRITE) fence, else a READ fence.
pub const VGEM_FENCE_WRITE: u32 = 0x1;
/// vgem's `DRM_IOCTL_VERSION` answer: driver name.
pub const VGEM_DRIVER_NAME: &str = "vgem";
/// vgem's `DRM_IOCTL_VERSION` answer: description.
pub const VGEM_DRIVER_DESC: &str = "Virtual GEM provider";
/// vgem's `DRM_IOCTL_VERSION` answer: date. 6.12 as the oracle runs it
/// (6.12.117) answers "0" for every driver: the driver dates were dropped.
pub const VGEM_DRIVER_DATE: &str = "0";
/// vgem's `DRM_IOCTL_VERSION` answer: (major, minor, patchlevel).
pub const VGEM_DRIVER_VERSION: (i32, i32, i32) = (1, 0, 0);

uapi_structs! {
    /// Argument of [`DRM_IOCTL_VERSION`] (allowed on render nodes). For each
    /// string the kernel copies at most `*_len` bytes (no NUL appended) to the
    /// user buffer, then sets `*_len` to the string's full length; a bad
    /// buffer -> `-EFAULT`. Call once with zero lengths to size the buffers.
    pub struct DrmVersion = "drm_version" {
        /// Out: major version.
        pub version_major: i32,
        /// Out: minor version.
        pub version_minor: i32,
        /// Out: patch level.
        pub version_patchlevel: i32,
        /// Implicit padding in C (`__kernel_size_t` is 8-aligned); never read.
        pub pad0: u32,
        /// In: capacity of `name`; out: length of the driver name.
        pub name_len: u64,
        /// In: user pointer to the name buffer (may be 0 when `name_len` is 0).
        pub name: u64,
        /// In: capacity of `date`; out: length of the date string.
        pub date_len: u64,
        /// In: user pointer to the date buffer.
        pub date: u64,
        /// In: capacity of `desc`; out: length of the description.
        pub desc_len: u64,
        /// In: user pointer to the description buffer.
        pub desc: u64,
    }

    /// Argument of [`DRM_IOCTL_GET_CAP`] (allowed on render nodes).
    pub struct DrmGetCap = "drm_get_cap" {
        /// In: a `DRM_CAP_*`. TIMESTAMP_MONOTONIC, PRIME, SYNCOBJ and
        /// SYNCOBJ_TIMELINE are answered by every driver; any other on a
        /// driver without modesetting (vgem) -> `-EOPNOTSUPP`; unknown on a
        /// modeset driver -> `-EINVAL`.
        pub capability: u64,
        /// Out: the value (zeroed first).
        pub value: u64,
    }

    /// Argument of [`DRM_IOCTL_GET_UNIQUE`] (primary nodes only).
    pub struct DrmUnique = "drm_unique" {
        /// In: the size of the user's buffer. Out: the length of the
        /// master's bus id (no NUL); the id is copied only when the buffer
        /// is large enough.
        pub unique_len: u64,
        /// In: the user's buffer.
        pub unique: u64,
    }

    /// Argument of [`DRM_IOCTL_SET_VERSION`] (the current master only).
    /// A version of -1 is not checked; on return (also on failure) the
    /// fields hold the interface's version (1.4) and the driver's.
    pub struct DrmSetVersion = "drm_set_version" {
        /// In: the DRM interface major version wanted (1), or -1.
        pub drm_di_major: i32,
        /// In: its minor version (0..=4); from 1 it sets the master's bus id.
        pub drm_di_minor: i32,
        /// In: the driver major version wanted (the driver's), or -1.
        pub drm_dd_major: i32,
        /// In: its minor version (0..=the driver's).
        pub drm_dd_minor: i32,
    }

    /// Argument of [`DRM_IOCTL_GET_MAGIC`] and [`DRM_IOCTL_AUTH_MAGIC`].
    pub struct DrmAuth = "drm_auth" {
        /// GET_MAGIC out: the file's magic (from 1). AUTH_MAGIC in: the magic
        /// of the file to authenticate; 0, unknown or already used -> `-EINVAL`.
        pub magic: u32,
    }

    /// Argument of [`DRM_IOCTL_GET_CLIENT`] (primary nodes only).
    pub struct DrmClient = "drm_client" {
        /// In: must be 0 (the calling file), else `-EINVAL`.
        pub idx: i32,
        /// Out: whether the file is authenticated.
        pub auth: i32,
        /// Out: the caller's pid.
        pub pid: u64,
        /// Out: the overflow uid (65534).
        pub uid: u64,
        /// Out: 0.
        pub magic: u64,
        /// Out: 0.
        pub iocs: u64,
    }

    /// Argument of [`DRM_IOCTL_GEM_FLINK`] (primary nodes, authenticated).
    pub struct DrmGemFlink = "drm_gem_flink" {
        /// In: the GEM handle; unknown -> `-ENOENT`.
        pub handle: u32,
        /// Out: the object's device-wide name (from 1, stable while the
        /// object has handles).
        pub name: u32,
    }

    /// Argument of [`DRM_IOCTL_GEM_OPEN`] (primary nodes, authenticated).
    pub struct DrmGemOpen = "drm_gem_open" {
        /// In: a name from GEM_FLINK; unknown -> `-ENOENT`.
        pub name: u32,
        /// Out: a new handle to the object.
        pub handle: u32,
        /// Out: the object's size.
        pub size: u64,
    }

    /// Argument of [`DRM_IOCTL_GEM_CLOSE`] (allowed on render nodes).
    pub struct DrmGemClose = "drm_gem_close" {
        /// The GEM handle to release; unknown -> `-EINVAL`.
        pub handle: u32,
        /// Not checked.
        pub pad: u32,
    }

    /// Argument of [`DRM_IOCTL_PRIME_HANDLE_TO_FD`] and
    /// [`DRM_IOCTL_PRIME_FD_TO_HANDLE`] (both allowed on render nodes).
    pub struct DrmPrimeHandle = "drm_prime_handle" {
        /// HANDLE_TO_FD in: the GEM handle, unknown -> `-ENOENT`.
        /// FD_TO_HANDLE out: the handle (the existing one if this file
        /// already has the object, e.g. one it exported).
        pub handle: u32,
        /// HANDLE_TO_FD: within [`DRM_CLOEXEC`] | [`DRM_RDWR`], else
        /// `-EINVAL`. FD_TO_HANDLE: ignored.
        pub flags: u32,
        /// HANDLE_TO_FD out: a dma-buf fd; exporting one object twice gives
        /// the same dma-buf (same inode), sharing the object's reservation
        /// object. FD_TO_HANDLE in: a dma-buf fd (a closed fd -> `-EBADF`,
        /// another file -> `-EINVAL`).
        pub fd: i32,
    }

    /// Argument of [`DRM_IOCTL_MODE_CREATE_DUMB`] (not on render nodes:
    /// `-EACCES`).
    pub struct DrmModeCreateDumb = "drm_mode_create_dumb" {
        /// In: rows; 0 -> `-EINVAL`.
        pub height: u32,
        /// In: pixels per row; 0 -> `-EINVAL`.
        pub width: u32,
        /// In: bits per pixel; 0 -> `-EINVAL`. `ceil(bpp/8)·width·height`
        /// overflowing 32 bits, or its page-rounded size wrapping to 0 ->
        /// `-EINVAL`.
        pub bpp: u32,
        /// Not checked.
        pub flags: u32,
        /// Out: the new GEM handle (the kernel zeroes the outputs first and
        /// again on failure; garbage on input is accepted).
        pub handle: u32,
        /// Out: bytes per row.
        pub pitch: u32,
        /// Out: bytes of the object (page aligned).
        pub size: u64,
    }

    /// Argument of [`DRM_IOCTL_MODE_MAP_DUMB`]: the fake offset to `mmap` the
    /// object through the DRM fd.
    pub struct DrmModeMapDumb = "drm_mode_map_dumb" {
        /// In: the GEM handle; unknown -> `-ENOENT`; an imported object -> `-EINVAL`.
        pub handle: u32,
        /// Not checked.
        pub pad: u32,
        /// Out: the mmap offset (0 on failure).
        pub offset: u64,
    }

    /// Argument of [`DRM_IOCTL_MODE_DESTROY_DUMB`]: releases the handle like
    /// GEM_CLOSE.
    pub struct DrmModeDestroyDumb = "drm_mode_destroy_dumb" {
        /// The GEM handle; unknown -> `-EINVAL`.
        pub handle: u32,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_CREATE`].
    pub struct DrmSyncobjCreate = "drm_syncobj_create" {
        /// Out: the new handle (lowest free id >= 1).
        pub handle: u32,
        /// Within [`DRM_SYNCOBJ_CREATE_SIGNALED`], else `-EINVAL`; with it the
        /// object holds a signalled stub, otherwise no fence.
        pub flags: u32,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_DESTROY`].
    pub struct DrmSyncobjDestroy = "drm_syncobj_destroy" {
        /// The handle to remove; unknown -> `-EINVAL` (not `-ENOENT`). The
        /// object lives on while other handles or fds reference it.
        pub handle: u32,
        /// Must be 0, else `-EINVAL`.
        pub pad: u32,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD`] and
    /// [`DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE`] (16 bytes in 6.12; no `point`).
    pub struct DrmSyncobjHandle = "drm_syncobj_handle" {
        /// HANDLE_TO_FD in: the object; unknown -> `-EINVAL` (plain) or
        /// `-ENOENT` (EXPORT_SYNC_FILE). FD_TO_HANDLE plain out: a new handle
        /// to the fd's object (every import makes a new handle);
        /// IMPORT_SYNC_FILE in: the object to update, unknown -> `-ENOENT`.
        pub handle: u32,
        /// Exactly 0 or 1 ([`DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE`]
        /// / [`DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE`]), else `-EINVAL`.
        pub flags: u32,
        /// HANDLE_TO_FD out: a syncobj fd, or with EXPORT_SYNC_FILE a
        /// sync_file of the current fence (no fence -> `-EINVAL`), both
        /// `O_CLOEXEC`. FD_TO_HANDLE in: a syncobj fd, or a sync_file with
        /// IMPORT_SYNC_FILE; anything else or a closed fd -> `-EINVAL`.
        pub fd: i32,
        /// Must be 0, else `-EINVAL`.
        pub pad: u32,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_TRANSFER`]: copies a fence or point
    /// from one object to another.
    pub struct DrmSyncobjTransfer = "drm_syncobj_transfer" {
        /// The source object; unknown -> `-ENOENT`.
        pub src_handle: u32,
        /// The destination object; unknown -> `-ENOENT` (looked up before
        /// `flags` is validated).
        pub dst_handle: u32,
        /// The source point (0 on a binary object); not submitted ->
        /// `-EINVAL` unless WAIT_FOR_SUBMIT (then `-ETIME` after 5 s).
        pub src_point: u64,
        /// 0: replace dst's fence with the source fence as is; else append
        /// the flattened source fence as this point.
        pub dst_point: u64,
        /// Within [`DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT`], else `-EINVAL`.
        pub flags: u32,
        /// Must be 0, else `-EINVAL`.
        pub pad: u32,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_WAIT`] (40 bytes; 32 before 6.5).
    pub struct DrmSyncobjWait = "drm_syncobj_wait" {
        /// User pointer to `count_handles` u32 handles; bad -> `-EFAULT`;
        /// unknown handle -> `-ENOENT`.
        pub handles: u64,
        /// Absolute CLOCK_MONOTONIC deadline in ns; 0 or past polls once;
        /// reached -> `-ETIME`.
        pub timeout_nsec: i64,
        /// Number of handles; 0 -> returns 0 at once (6.12).
        pub count_handles: u32,
        /// `WAIT_ALL | WAIT_FOR_SUBMIT | WAIT_DEADLINE`; another bit ->
        /// `-EINVAL`. Without WAIT_FOR_SUBMIT an object with no fence -> `-EINVAL`.
        pub flags: u32,
        /// Out: index of the first completed entry (left at `0xFFFFFFFF`
        /// with WAIT_ALL unless one was done at once).
        pub first_signaled: u32,
        /// Not checked.
        pub pad: u32,
        /// With [`DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE`]: absolute
        /// CLOCK_MONOTONIC ns given as a deadline hint to every fence.
        pub deadline_nsec: u64,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT`] (48 bytes; 40 before 6.5).
    pub struct DrmSyncobjTimelineWait = "drm_syncobj_timeline_wait" {
        /// As [`DrmSyncobjWait::handles`].
        pub handles: u64,
        /// User pointer to `count_handles` u64 points; 0 means all points 0.
        pub points: u64,
        /// As [`DrmSyncobjWait::timeout_nsec`].
        pub timeout_nsec: i64,
        /// As [`DrmSyncobjWait::count_handles`].
        pub count_handles: u32,
        /// `WAIT_ALL | WAIT_FOR_SUBMIT | WAIT_AVAILABLE | WAIT_DEADLINE`;
        /// another bit -> `-EINVAL`; a point not yet submitted without
        /// WAIT_FOR_SUBMIT / WAIT_AVAILABLE -> `-EINVAL`.
        pub flags: u32,
        /// As [`DrmSyncobjWait::first_signaled`].
        pub first_signaled: u32,
        /// Not checked.
        pub pad: u32,
        /// As [`DrmSyncobjWait::deadline_nsec`].
        pub deadline_nsec: u64,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_EVENTFD`] (6.6+): a one-shot eventfd
    /// notification when a point signals (or, with WAIT_AVAILABLE, appears).
    pub struct DrmSyncobjEventfd = "drm_syncobj_eventfd" {
        /// The object; unknown -> `-ENOENT`.
        pub handle: u32,
        /// Within [`DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE`], else `-EINVAL`.
        pub flags: u32,
        /// The point (0 on a binary object).
        pub point: u64,
        /// An eventfd; anything else -> `-EBADF` / `-EINVAL` (the eventfd
        /// lookup's error). Its counter is incremented by 1 when the entry fires.
        pub fd: i32,
        /// Must be 0, else `-EINVAL`.
        pub pad: u32,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_RESET`] and [`DRM_IOCTL_SYNCOBJ_SIGNAL`].
    pub struct DrmSyncobjArray = "drm_syncobj_array" {
        /// User pointer to `count_handles` u32 handles; bad -> `-EFAULT`; any
        /// unknown -> `-ENOENT` with nothing done.
        pub handles: u64,
        /// Number of handles; 0 -> `-EINVAL`.
        pub count_handles: u32,
        /// Must be 0, else `-EINVAL`.
        pub pad: u32,
    }

    /// Argument of [`DRM_IOCTL_SYNCOBJ_QUERY`] and
    /// [`DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL`].
    pub struct DrmSyncobjTimelineArray = "drm_syncobj_timeline_array" {
        /// User pointer to `count_handles` u32 handles; unknown -> `-ENOENT`.
        pub handles: u64,
        /// User pointer to `count_handles` u64 points: QUERY writes them
        /// (`-EFAULT` stops at the failing entry); TIMELINE_SIGNAL reads them
        /// (0 means all points 0).
        pub points: u64,
        /// Number of entries; 0 -> `-EINVAL`.
        pub count_handles: u32,
        /// QUERY: within [`DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED`];
        /// TIMELINE_SIGNAL: 0; else `-EINVAL`.
        pub flags: u32,
    }

    /// Argument of [`DRM_IOCTL_VGEM_FENCE_ATTACH`] (allowed on render nodes):
    /// attaches a new fence to a GEM object's reservation object.
    pub struct DrmVgemFenceAttach = "drm_vgem_fence_attach" {
        /// The GEM handle; unknown -> `-ENOENT` (checked after `flags` and `pad`).
        pub handle: u32,
        /// Within [`VGEM_FENCE_WRITE`], else `-EINVAL`. A pending fence that
        /// conflicts (WRITE: any KERNEL/WRITE/READ fence; READ: any
        /// KERNEL/WRITE fence) -> `-EBUSY`.
        pub flags: u32,
        /// Out: the fence's id for FENCE_SIGNAL, per open file, from 1, never reused.
        pub out_fence: u32,
        /// Must be 0, else `-EINVAL`.
        pub pad: u32,
    }

    /// Argument of [`DRM_IOCTL_VGEM_FENCE_SIGNAL`] (allowed on render nodes).
    pub struct DrmVgemFenceSignal = "drm_vgem_fence_signal" {
        /// An id from FENCE_ATTACH, consumed by this call: 0, unknown or
        /// already consumed -> `-ENOENT`; the fence already expired (10 s
        /// timer) -> `-ETIMEDOUT`.
        pub fence: u32,
        /// Must be 0, else `-EINVAL`.
        pub flags: u32,
    }
}

uapi_ioctls! {
    /// `DRM_IOWR(0x00, struct drm_version)` = `0xC0406400`.
    DRM_IOCTL_VERSION = iowr(DRM_IOCTL_BASE, 0x00, DrmVersion);
    /// `DRM_IOWR(0x01, struct drm_unique)` = `0xC0106401`.
    DRM_IOCTL_GET_UNIQUE = iowr(DRM_IOCTL_BASE, 0x01, DrmUnique);
    /// `DRM_IOR(0x02, struct drm_auth)` = `0x80046402`.
    DRM_IOCTL_GET_MAGIC = ior(DRM_IOCTL_BASE, 0x02, DrmAuth);
    /// `DRM_IOWR(0x05, struct drm_client)` = `0xC0286405`.
    DRM_IOCTL_GET_CLIENT = iowr(DRM_IOCTL_BASE, 0x05, DrmClient);
    /// `DRM_IOWR(0x07, struct drm_set_version)` = `0xC0106407`.
    DRM_IOCTL_SET_VERSION = iowr(DRM_IOCTL_BASE, 0x07, DrmSetVersion);
    /// `DRM_IOW(0x11, struct drm_auth)` = `0x40046411`.
    DRM_IOCTL_AUTH_MAGIC = iow(DRM_IOCTL_BASE, 0x11, DrmAuth);
    /// `DRM_IOW(0x09, struct drm_gem_close)` = `0x40086409`.
    DRM_IOCTL_GEM_CLOSE = iow(DRM_IOCTL_BASE, 0x09, DrmGemClose);
    /// `DRM_IOWR(0x0a, struct drm_gem_flink)` = `0xC008640A`.
    DRM_IOCTL_GEM_FLINK = iowr(DRM_IOCTL_BASE, 0x0A, DrmGemFlink);
    /// `DRM_IOWR(0x0b, struct drm_gem_open)` = `0xC010640B`.
    DRM_IOCTL_GEM_OPEN = iowr(DRM_IOCTL_BASE, 0x0B, DrmGemOpen);
    /// `DRM_IOWR(0x0c, struct drm_get_cap)` = `0xC010640C`.
    DRM_IOCTL_GET_CAP = iowr(DRM_IOCTL_BASE, 0x0C, DrmGetCap);
    /// `DRM_IOWR(0x2d, struct drm_prime_handle)` = `0xC00C642D`.
    DRM_IOCTL_PRIME_HANDLE_TO_FD = iowr(DRM_IOCTL_BASE, 0x2D, DrmPrimeHandle);
    /// `DRM_IOWR(0x2e, struct drm_prime_handle)` = `0xC00C642E`.
    DRM_IOCTL_PRIME_FD_TO_HANDLE = iowr(DRM_IOCTL_BASE, 0x2E, DrmPrimeHandle);
    /// `DRM_IOWR(0xB2, struct drm_mode_create_dumb)` = `0xC02064B2`.
    DRM_IOCTL_MODE_CREATE_DUMB = iowr(DRM_IOCTL_BASE, 0xB2, DrmModeCreateDumb);
    /// `DRM_IOWR(0xB3, struct drm_mode_map_dumb)` = `0xC01064B3`.
    DRM_IOCTL_MODE_MAP_DUMB = iowr(DRM_IOCTL_BASE, 0xB3, DrmModeMapDumb);
    /// `DRM_IOWR(0xB4, struct drm_mode_destroy_dumb)` = `0xC00464B4`.
    DRM_IOCTL_MODE_DESTROY_DUMB = iowr(DRM_IOCTL_BASE, 0xB4, DrmModeDestroyDumb);
    /// `DRM_IOWR(0xBF, struct drm_syncobj_create)` = `0xC00864BF`.
    DRM_IOCTL_SYNCOBJ_CREATE = iowr(DRM_IOCTL_BASE, 0xBF, DrmSyncobjCreate);
    /// `DRM_IOWR(0xC0, struct drm_syncobj_destroy)` = `0xC00864C0`.
    DRM_IOCTL_SYNCOBJ_DESTROY = iowr(DRM_IOCTL_BASE, 0xC0, DrmSyncobjDestroy);
    /// `DRM_IOWR(0xC1, struct drm_syncobj_handle)` = `0xC01064C1`.
    DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD = iowr(DRM_IOCTL_BASE, 0xC1, DrmSyncobjHandle);
    /// `DRM_IOWR(0xC2, struct drm_syncobj_handle)` = `0xC01064C2`.
    DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE = iowr(DRM_IOCTL_BASE, 0xC2, DrmSyncobjHandle);
    /// `DRM_IOWR(0xC3, struct drm_syncobj_wait)` = `0xC02864C3` (`0xC02064C3` before 6.5).
    DRM_IOCTL_SYNCOBJ_WAIT = iowr(DRM_IOCTL_BASE, 0xC3, DrmSyncobjWait);
    /// `DRM_IOWR(0xC4, struct drm_syncobj_array)` = `0xC01064C4`: every object's fence becomes none.
    DRM_IOCTL_SYNCOBJ_RESET = iowr(DRM_IOCTL_BASE, 0xC4, DrmSyncobjArray);
    /// `DRM_IOWR(0xC5, struct drm_syncobj_array)` = `0xC01064C5`: every object gets a signalled stub.
    DRM_IOCTL_SYNCOBJ_SIGNAL = iowr(DRM_IOCTL_BASE, 0xC5, DrmSyncobjArray);
    /// `DRM_IOWR(0xCA, struct drm_syncobj_timeline_wait)` = `0xC03064CA` (`0xC02864CA` before 6.5).
    DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT = iowr(DRM_IOCTL_BASE, 0xCA, DrmSyncobjTimelineWait);
    /// `DRM_IOWR(0xCB, struct drm_syncobj_timeline_array)` = `0xC01864CB`.
    DRM_IOCTL_SYNCOBJ_QUERY = iowr(DRM_IOCTL_BASE, 0xCB, DrmSyncobjTimelineArray);
    /// `DRM_IOWR(0xCC, struct drm_syncobj_transfer)` = `0xC02064CC`.
    DRM_IOCTL_SYNCOBJ_TRANSFER = iowr(DRM_IOCTL_BASE, 0xCC, DrmSyncobjTransfer);
    /// `DRM_IOWR(0xCD, struct drm_syncobj_timeline_array)` = `0xC01864CD`:
    /// appends a signalled point to each object (a chain node even for point 0).
    DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL = iowr(DRM_IOCTL_BASE, 0xCD, DrmSyncobjTimelineArray);
    /// `DRM_IOWR(0xCF, struct drm_syncobj_eventfd)` = `0xC01864CF` (6.6+).
    DRM_IOCTL_SYNCOBJ_EVENTFD = iowr(DRM_IOCTL_BASE, 0xCF, DrmSyncobjEventfd);
    /// `DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct drm_vgem_fence_attach)` = `0xC0106441`.
    DRM_IOCTL_VGEM_FENCE_ATTACH = iowr(DRM_IOCTL_BASE, DRM_COMMAND_BASE + DRM_VGEM_FENCE_ATTACH, DrmVgemFenceAttach);
    /// `DRM_IOW(DRM_COMMAND_BASE + 0x2, struct drm_vgem_fence_signal)` = `0x40086442`.
    DRM_IOCTL_VGEM_FENCE_SIGNAL = iow(DRM_IOCTL_BASE, DRM_COMMAND_BASE + DRM_VGEM_FENCE_SIGNAL, DrmVgemFenceSignal);
}
