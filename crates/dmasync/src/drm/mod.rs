//! The DRM core rules a vgem-like device needs (drivers/gpu/drm/drm_ioctl.c,
//! drm_file.c, drm_auth.c, Linux 6.12), and the device itself:
//!
//! * this module: the ioctl dispatcher as a pure function over argument
//!   bytes ([`decode`], [`permit`], [`dispatch`]), `DRM_IOCTL_VERSION`
//!   ([`version`]) and `DRM_IOCTL_GET_CAP` ([`get_cap`]);
//! * [`gem`]: GEM objects and the per-file handle table;
//! * [`prime`]: the PRIME (dma-buf) side of handles;
//! * [`vgem`]: the vgem device, its open files ([`DrmFile`]) and its ioctls.
//!
//! # Dispatcher rules (`drm_ioctl`)
//!
//! 1. A command whose type is not `'d'` -> `-ENOTTY`.
//! 2. `nr` in the driver range (0x40..0xA0) indexes the driver's table; past
//!    its end, or an empty slot -> `-EINVAL`. Any other `nr` indexes the core
//!    table; past [`DRM_CORE_IOCTL_COUNT`] or without handler -> `-EINVAL`.
//!    Only type and `nr` select the handler: the size and direction bits of
//!    the user's command may differ from the kernel's.
//! 3. The kernel allocates `max(in, out, kernel size)` bytes, copies in the
//!    user's size when both the user's command and the kernel's have the IN
//!    bit (else nothing), and zero-fills the rest.
//! 4. Permission ([`permit`]): `-EACCES`.
//! 5. The handler runs on the buffer; then the user's size is copied back
//!    when both commands have the OUT bit, *whether or not the handler
//!    failed* (a failed copy turns the result into `-EFAULT`). Errors of
//!    steps 1–2 copy nothing back; a permission error (4) does.
//!
//! So an older, shorter struct works (its missing fields read as zero) and a
//! newer, longer one is truncated to the kernel's fields plus zeroes.
//!
//! The mode-setting ioctls (and SET_CLIENT_CAP, WAIT_VBLANK, the CRTC
//! sequence ioctls) are in the table with the kernel's permission flags and
//! a handler that answers `-EOPNOTSUPP` ([`Op::NoModeset`]; GETFB2
//! `-EINVAL`): each kernel handler checks `DRIVER_MODESET` (or vblank
//! support) first, and vgem has neither. So a render client gets `-EACCES` for them, as on the kernel.
//!
//! The authentication and master ioctls (GET_UNIQUE, GET_MAGIC, GET_CLIENT:
//! flags 0; AUTH_MAGIC and SET_VERSION: `DRM_MASTER`; SET/DROP_MASTER: flags 0, their
//! handlers check `CAP_SYS_ADMIN` or former mastership) and GEM_FLINK /
//! GEM_OPEN (`DRM_AUTH`) are modelled in [`vgem`]; none is allowed on the
//! render node.
//!
//! The legacy ioctls that 6.12 keeps in its table are there with their
//! permission flags: GET_STATS (flags 0; zeroes its argument), SET_UNIQUE
//! (`-EINVAL` once permitted) and the no-ops BLOCK, UNBLOCK, ADD_DRAW,
//! RM_DRAW, UPDATE_DRAW (`DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY`), FINISH
//! (`DRM_AUTH`), MODE_ATTACHMODE and MODE_DETACHMODE (`DRM_MASTER`). The
//! other legacy numbers (contexts, maps, buffers, AGP, scatter-gather,
//! LOCK, IRQ_BUSID, CONTROL, MODESET_CTL) are core numbers without handler
//! (`-EINVAL`), as in 6.12.
//!
//! Not modelled: hot-unplug (`-ENODEV`).
//!
//! # Serving a process
//!
//! A front end that routes the ioctls of `/dev/dri/card0` and
//! `/dev/dri/renderD128` here keeps one [`Device`] and one [`DrmFile`] per
//! open file, reads the user's argument (`_IOC_SIZE(cmd)` bytes if the
//! command has IN), calls [`DrmFile::ioctl`], writes [`Reply::out`] back and
//! returns [`Reply::ret`]; `mmap` of the DRM fd goes to [`DrmFile::mmap`],
//! and `close` is dropping the [`DrmFile`]:
//!
//! ```
//! use dmasync::drm::{Device, NoMemory};
//! use dmasync::uapi::drm::*;
//!
//! let dev = Device::new();
//! let card = dev.open(false);
//! let arg = DrmModeCreateDumb { width: 64, height: 64, bpp: 32, ..Default::default() };
//! let reply = card.ioctl(DRM_IOCTL_MODE_CREATE_DUMB, &arg.to_bytes(), &mut NoMemory);
//! assert_eq!(reply.ret(), 0);
//! let out = DrmModeCreateDumb::from_bytes(&reply.out).unwrap();
//! assert_eq!((out.handle, out.pitch, out.size), (1, 256, 16384));
//!
//! let attach = DrmVgemFenceAttach { handle: out.handle, flags: VGEM_FENCE_WRITE, ..Default::default() };
//! let reply = card.ioctl(DRM_IOCTL_VGEM_FENCE_ATTACH, &attach.to_bytes(), &mut NoMemory);
//! let id = DrmVgemFenceAttach::from_bytes(&reply.out).unwrap().out_fence;
//! let fence = card.fence(id).unwrap();
//! let signal = DrmVgemFenceSignal { fence: id, flags: 0 };
//! assert_eq!(card.ioctl(DRM_IOCTL_VGEM_FENCE_SIGNAL, &signal.to_bytes(), &mut NoMemory).ret(), 0);
//! assert!(fence.is_signaled());
//! ```
//!
//! # Locking and lifetime
//!
//! The functions of this module are pure: they hold no lock and keep no
//! state. [`Device`] and [`DrmFile`] document their own.

pub mod gem;
pub mod prime;
pub mod vgem;

pub use vgem::{Device, DrmFile};

use crate::error::{Error, Result};
use crate::uapi::drm::*;
use crate::uapi::ioctl::{ioc_nr, ioc_size, ioc_type, IOC_IN, IOC_OUT};

/// Ioctl flag: needs an authenticated client on a primary node.
pub const DRM_AUTH: u32 = 0x1;
/// Ioctl flag: needs the current DRM master.
pub const DRM_MASTER: u32 = 0x2;
/// Ioctl flag: needs `CAP_SYS_ADMIN`.
pub const DRM_ROOT_ONLY: u32 = 0x4;
/// Ioctl flag: allowed on render nodes (all others are `-EACCES` there).
pub const DRM_RENDER_ALLOW: u32 = 0x20;

/// Number of core ioctl slots in 6.12 (`DRM_CORE_IOCTL_COUNT`): the last
/// core ioctl is `DRM_IOCTL_MODE_CLOSEFB`, nr 0xD0.
pub const DRM_CORE_IOCTL_COUNT: u8 = 0xD1;

/// The DRM interface's major version (`DRM_IF_MAJOR`), which SET_VERSION
/// reports and checks.
pub const DRM_IF_MAJOR: i32 = 1;

/// The DRM interface's minor version (`DRM_IF_MINOR`).
pub const DRM_IF_MINOR: i32 = 4;

/// What a table entry does; the handler behind a command number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `drm_version`.
    Version,
    /// `drm_getcap`.
    GetCap,
    /// `drm_getunique`.
    GetUnique,
    /// `drm_getmagic`.
    GetMagic,
    /// `drm_getclient`.
    GetClient,
    /// `drm_setversion`.
    SetVersion,
    /// `drm_authmagic`.
    AuthMagic,
    /// `drm_setmaster_ioctl`.
    SetMaster,
    /// `drm_dropmaster_ioctl`.
    DropMaster,
    /// `drm_gem_close_ioctl`.
    GemClose,
    /// `drm_gem_flink_ioctl`.
    GemFlink,
    /// `drm_gem_open_ioctl`.
    GemOpen,
    /// `drm_prime_handle_to_fd_ioctl`.
    PrimeHandleToFd,
    /// `drm_prime_fd_to_handle_ioctl`.
    PrimeFdToHandle,
    /// `drm_mode_create_dumb_ioctl`.
    CreateDumb,
    /// `drm_mode_mmap_dumb_ioctl`.
    MapDumb,
    /// `drm_mode_destroy_dumb_ioctl`.
    DestroyDumb,
    /// Any `drm_syncobj_*_ioctl`: `-EOPNOTSUPP` without `DRIVER_SYNCOBJ`.
    Syncobj,
    /// A mode-setting handler (`drm_mode_*`, `drm_setclientcap`,
    /// `drm_wait_vblank_ioctl`, `drm_crtc_*_sequence_ioctl`): `-EOPNOTSUPP`
    /// without `DRIVER_MODESET` or vblank support.
    NoModeset,
    /// `drm_mode_getfb2_ioctl`: `-EINVAL` without `DRIVER_MODESET` (the one
    /// mode-setting handler that does not answer `-EOPNOTSUPP`).
    Getfb2,
    /// `vgem_fence_attach_ioctl`.
    VgemFenceAttach,
    /// `vgem_fence_signal_ioctl`.
    VgemFenceSignal,
    /// `drm_noop`: the legacy ioctls kept for old clients (BLOCK, UNBLOCK,
    /// ADD_DRAW, RM_DRAW, UPDATE_DRAW, FINISH, MODE_ATTACHMODE,
    /// MODE_DETACHMODE) succeed doing nothing; and `drm_getstats`, which
    /// zeroes its argument, as the dispatcher's buffer already is (the
    /// kernel's command has no IN).
    Noop,
    /// `drm_invalid_op` (SET_UNIQUE): `-EINVAL` once permitted.
    InvalidOp,
}

/// One entry of an ioctl table (`struct drm_ioctl_desc`): the kernel's
/// command (its size and direction are the kernel's), permission flags and
/// handler. Plain data.
#[doc(alias = "drm_ioctl_desc")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoctlDef {
    /// The kernel macro name.
    pub name: &'static str,
    /// The kernel's encoded command.
    pub cmd: u32,
    /// `DRM_AUTH` | `DRM_MASTER` | `DRM_ROOT_ONLY` | `DRM_RENDER_ALLOW`.
    pub flags: u32,
    /// The handler.
    pub op: Op,
}

const fn def(name: &'static str, cmd: u32, flags: u32, op: Op) -> IoctlDef {
    IoctlDef {
        name,
        cmd,
        flags,
        op,
    }
}

/// A mode-setting entry: the kernel's command `DRM_IOWR(nr, struct of
/// size bytes)` (or `DRM_IOW` when `write_only`), its flags, [`Op::NoModeset`].
const fn mode(name: &'static str, nr: u8, size: usize, flags: u32, write_only: bool) -> IoctlDef {
    let cmd = if write_only {
        crate::uapi::ioctl::iow(DRM_IOCTL_BASE, nr, size)
    } else {
        crate::uapi::ioctl::iowr(DRM_IOCTL_BASE, nr, size)
    };
    def(name, cmd, flags, Op::NoModeset)
}

/// The modelled core ioctls (`drm_ioctls[]`), looked up by `nr`.
pub static CORE_IOCTLS: &[IoctlDef] = &[
    // Mode setting, with the sizes of their x86-64 structs.
    mode("DRM_IOCTL_SET_CLIENT_CAP", 0x0D, 16, 0, true),
    mode("DRM_IOCTL_WAIT_VBLANK", 0x3A, 24, 0, false),
    mode("DRM_IOCTL_CRTC_GET_SEQUENCE", 0x3B, 24, 0, false),
    mode("DRM_IOCTL_CRTC_QUEUE_SEQUENCE", 0x3C, 24, 0, false),
    mode("DRM_IOCTL_MODE_GETRESOURCES", 0xA0, 64, 0, false),
    mode("DRM_IOCTL_MODE_GETCRTC", 0xA1, 104, 0, false),
    mode("DRM_IOCTL_MODE_SETCRTC", 0xA2, 104, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_CURSOR", 0xA3, 28, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_GETGAMMA", 0xA4, 32, 0, false),
    mode("DRM_IOCTL_MODE_SETGAMMA", 0xA5, 32, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_GETENCODER", 0xA6, 20, 0, false),
    mode("DRM_IOCTL_MODE_GETCONNECTOR", 0xA7, 80, 0, false),
    mode("DRM_IOCTL_MODE_GETPROPERTY", 0xAA, 64, 0, false),
    mode("DRM_IOCTL_MODE_SETPROPERTY", 0xAB, 16, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_GETPROPBLOB", 0xAC, 16, 0, false),
    mode("DRM_IOCTL_MODE_GETFB", 0xAD, 28, 0, false),
    mode("DRM_IOCTL_MODE_ADDFB", 0xAE, 28, 0, false),
    mode("DRM_IOCTL_MODE_RMFB", 0xAF, 4, 0, false),
    mode("DRM_IOCTL_MODE_PAGE_FLIP", 0xB0, 24, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_DIRTYFB", 0xB1, 24, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_GETPLANERESOURCES", 0xB5, 16, 0, false),
    mode("DRM_IOCTL_MODE_GETPLANE", 0xB6, 32, 0, false),
    mode("DRM_IOCTL_MODE_SETPLANE", 0xB7, 48, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_ADDFB2", 0xB8, 104, 0, false),
    mode("DRM_IOCTL_MODE_OBJ_GETPROPERTIES", 0xB9, 32, 0, false),
    mode(
        "DRM_IOCTL_MODE_OBJ_SETPROPERTY",
        0xBA,
        24,
        DRM_MASTER,
        false,
    ),
    mode("DRM_IOCTL_MODE_CURSOR2", 0xBB, 36, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_ATOMIC", 0xBC, 56, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_CREATEPROPBLOB", 0xBD, 16, 0, false),
    mode("DRM_IOCTL_MODE_DESTROYPROPBLOB", 0xBE, 4, 0, false),
    mode("DRM_IOCTL_MODE_CREATE_LEASE", 0xC6, 24, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_LIST_LESSEES", 0xC7, 16, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_GET_LEASE", 0xC8, 16, DRM_MASTER, false),
    mode("DRM_IOCTL_MODE_REVOKE_LEASE", 0xC9, 4, DRM_MASTER, false),
    def(
        "DRM_IOCTL_MODE_GETFB2",
        crate::uapi::ioctl::iowr(DRM_IOCTL_BASE, 0xCE, 104),
        0,
        Op::Getfb2,
    ),
    mode("DRM_IOCTL_MODE_CLOSEFB", 0xD0, 8, 0, false),
    // The legacy ioctls 6.12 keeps (with the sizes of their x86-64
    // structs): no-ops, GET_STATS (zeroes), SET_UNIQUE (-EINVAL).
    def(
        "DRM_IOCTL_GET_STATS",
        crate::uapi::ioctl::ior(DRM_IOCTL_BASE, 0x06, 248),
        0,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_SET_UNIQUE",
        crate::uapi::ioctl::iow(DRM_IOCTL_BASE, 0x10, 16),
        DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY,
        Op::InvalidOp,
    ),
    def(
        "DRM_IOCTL_BLOCK",
        crate::uapi::ioctl::iowr(DRM_IOCTL_BASE, 0x12, 4),
        DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_UNBLOCK",
        crate::uapi::ioctl::iowr(DRM_IOCTL_BASE, 0x13, 4),
        DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_ADD_DRAW",
        crate::uapi::ioctl::iowr(DRM_IOCTL_BASE, 0x27, 4),
        DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_RM_DRAW",
        crate::uapi::ioctl::iowr(DRM_IOCTL_BASE, 0x28, 4),
        DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_FINISH",
        crate::uapi::ioctl::iow(DRM_IOCTL_BASE, 0x2C, 8),
        DRM_AUTH,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_UPDATE_DRAW",
        crate::uapi::ioctl::iow(DRM_IOCTL_BASE, 0x3F, 24),
        DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_MODE_ATTACHMODE",
        crate::uapi::ioctl::iowr(DRM_IOCTL_BASE, 0xA8, 72),
        DRM_MASTER,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_MODE_DETACHMODE",
        crate::uapi::ioctl::iowr(DRM_IOCTL_BASE, 0xA9, 72),
        DRM_MASTER,
        Op::Noop,
    ),
    def(
        "DRM_IOCTL_VERSION",
        DRM_IOCTL_VERSION,
        DRM_RENDER_ALLOW,
        Op::Version,
    ),
    def(
        "DRM_IOCTL_GET_UNIQUE",
        DRM_IOCTL_GET_UNIQUE,
        0,
        Op::GetUnique,
    ),
    def("DRM_IOCTL_GET_MAGIC", DRM_IOCTL_GET_MAGIC, 0, Op::GetMagic),
    def(
        "DRM_IOCTL_GET_CLIENT",
        DRM_IOCTL_GET_CLIENT,
        0,
        Op::GetClient,
    ),
    def(
        "DRM_IOCTL_SET_VERSION",
        DRM_IOCTL_SET_VERSION,
        DRM_MASTER,
        Op::SetVersion,
    ),
    def(
        "DRM_IOCTL_AUTH_MAGIC",
        DRM_IOCTL_AUTH_MAGIC,
        DRM_MASTER,
        Op::AuthMagic,
    ),
    def(
        "DRM_IOCTL_SET_MASTER",
        DRM_IOCTL_SET_MASTER,
        0,
        Op::SetMaster,
    ),
    def(
        "DRM_IOCTL_DROP_MASTER",
        DRM_IOCTL_DROP_MASTER,
        0,
        Op::DropMaster,
    ),
    def(
        "DRM_IOCTL_GEM_CLOSE",
        DRM_IOCTL_GEM_CLOSE,
        DRM_RENDER_ALLOW,
        Op::GemClose,
    ),
    def(
        "DRM_IOCTL_GEM_FLINK",
        DRM_IOCTL_GEM_FLINK,
        DRM_AUTH,
        Op::GemFlink,
    ),
    def(
        "DRM_IOCTL_GEM_OPEN",
        DRM_IOCTL_GEM_OPEN,
        DRM_AUTH,
        Op::GemOpen,
    ),
    def(
        "DRM_IOCTL_GET_CAP",
        DRM_IOCTL_GET_CAP,
        DRM_RENDER_ALLOW,
        Op::GetCap,
    ),
    def(
        "DRM_IOCTL_PRIME_HANDLE_TO_FD",
        DRM_IOCTL_PRIME_HANDLE_TO_FD,
        DRM_RENDER_ALLOW,
        Op::PrimeHandleToFd,
    ),
    def(
        "DRM_IOCTL_PRIME_FD_TO_HANDLE",
        DRM_IOCTL_PRIME_FD_TO_HANDLE,
        DRM_RENDER_ALLOW,
        Op::PrimeFdToHandle,
    ),
    def(
        "DRM_IOCTL_MODE_CREATE_DUMB",
        DRM_IOCTL_MODE_CREATE_DUMB,
        0,
        Op::CreateDumb,
    ),
    def(
        "DRM_IOCTL_MODE_MAP_DUMB",
        DRM_IOCTL_MODE_MAP_DUMB,
        0,
        Op::MapDumb,
    ),
    def(
        "DRM_IOCTL_MODE_DESTROY_DUMB",
        DRM_IOCTL_MODE_DESTROY_DUMB,
        0,
        Op::DestroyDumb,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_CREATE",
        DRM_IOCTL_SYNCOBJ_CREATE,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_DESTROY",
        DRM_IOCTL_SYNCOBJ_DESTROY,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD",
        DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
        DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_WAIT",
        DRM_IOCTL_SYNCOBJ_WAIT,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_RESET",
        DRM_IOCTL_SYNCOBJ_RESET,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_SIGNAL",
        DRM_IOCTL_SYNCOBJ_SIGNAL,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT",
        DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_QUERY",
        DRM_IOCTL_SYNCOBJ_QUERY,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_TRANSFER",
        DRM_IOCTL_SYNCOBJ_TRANSFER,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL",
        DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
    def(
        "DRM_IOCTL_SYNCOBJ_EVENTFD",
        DRM_IOCTL_SYNCOBJ_EVENTFD,
        DRM_RENDER_ALLOW,
        Op::Syncobj,
    ),
];

/// vgem's driver table (`vgem_ioctls[]`), indexed by `nr - DRM_COMMAND_BASE`:
/// slot 0 is empty (`-EINVAL`), so the table has 3 entries.
pub static VGEM_IOCTLS: [Option<IoctlDef>; 3] = [
    None,
    Some(def(
        "DRM_IOCTL_VGEM_FENCE_ATTACH",
        DRM_IOCTL_VGEM_FENCE_ATTACH,
        DRM_AUTH | DRM_RENDER_ALLOW,
        Op::VgemFenceAttach,
    )),
    Some(def(
        "DRM_IOCTL_VGEM_FENCE_SIGNAL",
        DRM_IOCTL_VGEM_FENCE_SIGNAL,
        DRM_AUTH | DRM_RENDER_ALLOW,
        Op::VgemFenceSignal,
    )),
];

/// The result of decoding a command: its table entry and the three sizes
/// of rule 3. Plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The kernel's entry.
    pub def: &'static IoctlDef,
    /// Bytes copied in from the user (0 unless both commands have IN).
    pub in_size: usize,
    /// Bytes copied back to the user (0 unless both commands have OUT).
    pub out_size: usize,
    /// Bytes the handler sees: `max(in_size, out_size, kernel size)`.
    pub kernel_size: usize,
}

/// Selects the handler of `cmd` by type and `nr` (rules 1–3 of the module
/// doc), with `driver` as the driver-private table.
///
/// # Errors
/// * [`Error::NotTty`] (`-ENOTTY`): the type is not `'d'`.
/// * [`Error::Invalid`] (`-EINVAL`): a driver `nr` past `driver` or on an
///   empty slot; a core `nr` past [`DRM_CORE_IOCTL_COUNT`] or without
///   (modelled) handler.
pub fn decode(cmd: u32, driver: &'static [Option<IoctlDef>]) -> Result<Decoded> {
    if ioc_type(cmd) != DRM_IOCTL_BASE {
        return Err(Error::NotTty);
    }
    let nr = ioc_nr(cmd);
    let def = if (DRM_COMMAND_BASE..DRM_COMMAND_END).contains(&nr) {
        driver
            .get(usize::from(nr - DRM_COMMAND_BASE))
            .and_then(Option::as_ref)
            .ok_or(Error::Invalid("driver ioctl number has no handler"))?
    } else {
        if nr >= DRM_CORE_IOCTL_COUNT {
            return Err(Error::Invalid("core ioctl number out of range"));
        }
        CORE_IOCTLS
            .iter()
            .find(|d| ioc_nr(d.cmd) == nr)
            .ok_or(Error::Invalid("core ioctl number has no handler"))?
    };
    let user = ioc_size(cmd);
    let in_size = if cmd & def.cmd & IOC_IN != 0 { user } else { 0 };
    let out_size = if cmd & def.cmd & IOC_OUT != 0 {
        user
    } else {
        0
    };
    Ok(Decoded {
        def,
        in_size,
        out_size,
        kernel_size: in_size.max(out_size).max(ioc_size(def.cmd)),
    })
}

/// Who is calling: the facts about an open file that [`permit`] checks.
/// Plain data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Client {
    /// The file is a render node (`renderD128`).
    pub render: bool,
    /// The file is authenticated (it became master, was opened with
    /// `CAP_SYS_ADMIN`, or its master authenticated its magic).
    pub authenticated: bool,
    /// The file is the device's current master.
    pub master: bool,
    /// The opener had `CAP_SYS_ADMIN`.
    pub privileged: bool,
}

/// Checks an ioctl's permission flags against the caller
/// (`drm_ioctl_permit`), in the kernel's order.
///
/// # Errors
/// [`Error::Access`] (`-EACCES`): `DRM_ROOT_ONLY` without privilege;
/// `DRM_AUTH` on an unauthenticated primary client; `DRM_MASTER` by a
/// client that is not the master; any ioctl without `DRM_RENDER_ALLOW` on a
/// render node.
#[doc(alias = "drm_ioctl_permit")]
pub fn permit(flags: u32, client: Client) -> Result<()> {
    let denied = (flags & DRM_ROOT_ONLY != 0 && !client.privileged)
        || (flags & DRM_AUTH != 0 && !client.render && !client.authenticated)
        || (flags & DRM_MASTER != 0 && !client.master)
        || (flags & DRM_RENDER_ALLOW == 0 && client.render);
    if denied {
        Err(Error::Access)
    } else {
        Ok(())
    }
}

/// What an ioctl answers: the result and the bytes to copy back to the
/// user's argument (empty when nothing is copied back). Plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The ioctl's value (`Ok(0)` for every modelled DRM ioctl) or its error.
    pub result: Result<i32>,
    /// Bytes for the start of the user's argument; if writing them fails the
    /// caller must answer `-EFAULT` instead of `result`.
    pub out: Vec<u8>,
}

impl Reply {
    /// The value the system call returns: the result, or `-errno`.
    pub fn ret(&self) -> i32 {
        match self.result {
            Ok(v) => v,
            Err(e) => -e.errno(),
        }
    }
}

/// The whole dispatcher of the module doc as a pure function: decodes `cmd`
/// against `driver`, builds the kernel's buffer from the user's argument
/// bytes `arg` (which must hold at least the user's size when the command
/// has IN), checks [`permit`], runs `handler` on the buffer and returns the
/// bytes to copy back.
///
/// `handler` receives the entry and a buffer of [`Decoded::kernel_size`]
/// bytes (at least the kernel struct's size); it updates the buffer in place.
///
/// # Errors
/// In [`Reply::result`]: those of [`decode`] and [`permit`];
/// [`Error::Fault`] (`-EFAULT`) if `arg` is shorter than the bytes to copy
/// in; otherwise the handler's.
#[doc(alias = "drm_ioctl")]
pub fn dispatch(
    cmd: u32,
    arg: &[u8],
    driver: &'static [Option<IoctlDef>],
    client: Client,
    handler: impl FnOnce(&IoctlDef, &mut [u8]) -> Result<i32>,
) -> Reply {
    let d = match decode(cmd, driver) {
        Ok(d) => d,
        Err(e) => {
            return Reply {
                result: Err(e),
                out: Vec::new(),
            }
        }
    };
    let Some(src) = arg.get(..d.in_size) else {
        return Reply {
            result: Err(Error::Fault),
            out: Vec::new(),
        };
    };
    let mut kdata = vec![0u8; d.kernel_size];
    kdata[..d.in_size].copy_from_slice(src);
    let result = permit(d.def.flags, client).and_then(|()| handler(d.def, &mut kdata));
    kdata.truncate(d.out_size);
    Reply { result, out: kdata }
}

/// Reads the kernel struct `T` from a handler buffer, which [`dispatch`]
/// makes at least the kernel's size.
pub(crate) fn read_arg<T>(kdata: &[u8], from: fn(&[u8]) -> Option<T>) -> Result<T> {
    from(kdata).ok_or(Error::Fault)
}

/// Writes a struct's bytes to the start of a handler buffer.
pub(crate) fn write_arg(kdata: &mut [u8], bytes: &[u8]) {
    let n = bytes.len().min(kdata.len());
    kdata[..n].copy_from_slice(&bytes[..n]);
}

/// Access to the calling process, for the handlers that go past their
/// argument struct: `DRM_IOCTL_VERSION` writes strings through user
/// pointers, PRIME turns dma-bufs into fds and back. The exec front end
/// implements it on the traced process.
pub trait Caller {
    /// Copies `bytes` to the caller's memory at `addr`.
    ///
    /// # Errors
    /// [`Error::Fault`] (`-EFAULT`) if the range is not writable.
    fn write_user(&mut self, addr: u64, bytes: &[u8]) -> Result<()>;

    /// Installs `buf` as a new fd of the caller (`dma_buf_fd`), close-on-exec
    /// when `flags` has `DRM_CLOEXEC`, and returns its number. The default
    /// has no fd table.
    ///
    /// # Errors
    /// Whatever installing fails with (`-EMFILE` in the kernel); the
    /// default [`Error::NotSupported`].
    fn install_dma_buf(&mut self, buf: crate::buf::DmaBuf, flags: u32) -> Result<i32> {
        let _ = (buf, flags);
        Err(Error::NotSupported)
    }

    /// The calling thread's id as its own pid namespace sees it
    /// (`task_pid_vnr(current)`), which GET_CLIENT reports; `None` when the
    /// caller cannot say (GET_CLIENT then reports 0). The default: `None`.
    fn pid_vnr(&self) -> Option<u32> {
        None
    }

    /// The dma-buf behind the caller's fd `fd` (`dma_buf_get`).
    ///
    /// # Errors
    /// [`Error::BadFd`] (`-EBADF`) for an fd that is not open;
    /// [`Error::Invalid`] (`-EINVAL`) for one that is not a dma-buf. The
    /// default knows no fds: [`Error::BadFd`].
    fn dma_buf_from_fd(&mut self, fd: i32) -> Result<crate::buf::DmaBuf> {
        let _ = fd;
        Err(Error::BadFd)
    }
}

/// A [`Caller`] without memory or fds: every write faults, no fd can be
/// installed or looked up. For callers that only issue ioctls whose
/// arguments are self-contained.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMemory;

impl Caller for NoMemory {
    fn write_user(&mut self, _addr: u64, _bytes: &[u8]) -> Result<()> {
        Err(Error::Fault)
    }
}

/// Driver features the core consults (`DRIVER_*` of `drm_driver`).
/// Plain data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// `DRIVER_MODESET`: the driver does mode setting.
    pub modeset: bool,
    /// `DRIVER_SYNCOBJ`.
    pub syncobj: bool,
    /// `DRIVER_SYNCOBJ_TIMELINE`.
    pub syncobj_timeline: bool,
    /// The driver has a `dumb_create` hook.
    pub dumb_create: bool,
}

/// A driver's identity and features (`struct drm_driver`'s `name`, `desc`,
/// `date`, versions and `driver_features`). Plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverInfo {
    /// `name` (`"vgem"`).
    pub name: &'static str,
    /// `desc`.
    pub desc: &'static str,
    /// `date` ("0" for every driver in the 6.12.117 of the oracle).
    pub date: &'static str,
    /// `major`.
    pub major: i32,
    /// `minor`.
    pub minor: i32,
    /// `patchlevel`.
    pub patchlevel: i32,
    /// Feature bits.
    pub features: Features,
}

/// vgem's identity in 6.12: `DRIVER_GEM | DRIVER_RENDER`, shmem dumb
/// buffers, no mode setting and no syncobj.
pub const VGEM_DRIVER: DriverInfo = DriverInfo {
    name: VGEM_DRIVER_NAME,
    desc: VGEM_DRIVER_DESC,
    date: VGEM_DRIVER_DATE,
    major: VGEM_DRIVER_VERSION.0,
    minor: VGEM_DRIVER_VERSION.1,
    patchlevel: VGEM_DRIVER_VERSION.2,
    features: Features {
        modeset: false,
        syncobj: false,
        syncobj_timeline: false,
        dumb_create: true,
    },
};

/// One string of `drm_version` (`drm_copy_field`): copies at most `*len`
/// bytes of `value` (no NUL) to `buf` when both are non-zero, and sets
/// `*len` to the full length.
fn copy_field(caller: &mut dyn Caller, buf: u64, len: &mut u64, value: &str) -> Result<()> {
    let full = value.len() as u64;
    let n = full.min(*len) as usize;
    *len = full;
    if n != 0 && buf != 0 {
        caller.write_user(buf, &value.as_bytes()[..n])?;
    }
    Ok(())
}

/// `DRM_IOCTL_VERSION` (`drm_version`): fills the versions, then for name,
/// date and desc in turn writes at most the user's length of the string
/// through the user's pointer and stores the full length. A first call with
/// zero lengths learns the sizes; a second with buffers gets the strings.
///
/// # Errors
/// [`Error::Fault`] (`-EFAULT`) when a copy fails; the fields after it are
/// left as they were (their lengths not updated).
#[doc(alias = "drm_version")]
pub fn version(info: &DriverInfo, arg: &mut DrmVersion, caller: &mut dyn Caller) -> Result<()> {
    arg.version_major = info.major;
    arg.version_minor = info.minor;
    arg.version_patchlevel = info.patchlevel;
    copy_field(caller, arg.name, &mut arg.name_len, info.name)?;
    copy_field(caller, arg.date, &mut arg.date_len, info.date)?;
    copy_field(caller, arg.desc, &mut arg.desc_len, info.desc)
}

/// Optional capabilities only mode-setting drivers answer (values of a
/// simple modeset driver; vgem never reaches them).
const MODESET_CAPS: [u64; 10] = [
    DRM_CAP_DUMB_BUFFER,
    DRM_CAP_VBLANK_HIGH_CRTC,
    DRM_CAP_DUMB_PREFERRED_DEPTH,
    DRM_CAP_DUMB_PREFER_SHADOW,
    DRM_CAP_ASYNC_PAGE_FLIP,
    DRM_CAP_CURSOR_WIDTH,
    DRM_CAP_CURSOR_HEIGHT,
    DRM_CAP_ADDFB2_MODIFIERS,
    DRM_CAP_PAGE_FLIP_TARGET,
    DRM_CAP_CRTC_IN_VBLANK_EVENT,
];

/// `DRM_IOCTL_GET_CAP` (`drm_getcap`): the value of capability `cap` for a
/// driver with `features`.
///
/// TIMESTAMP_MONOTONIC (1), PRIME (IMPORT | EXPORT), SYNCOBJ and
/// SYNCOBJ_TIMELINE (the feature bits) are answered for every driver. Every
/// other capability needs mode setting. For a modeset driver DUMB_BUFFER is
/// whether it has `dumb_create`, VBLANK_HIGH_CRTC and CRTC_IN_VBLANK_EVENT
/// are 1, and the other known ones are modelled as 0 (their real values are
/// the driver's).
///
/// # Errors
/// * [`Error::NotSupported`] (`-EOPNOTSUPP`): any other capability on a
///   driver without mode setting (vgem), known or not.
/// * [`Error::Invalid`] (`-EINVAL`): an unknown capability on a modeset driver.
#[doc(alias = "drm_getcap")]
pub fn get_cap(features: Features, cap: u64) -> Result<u64> {
    match cap {
        DRM_CAP_TIMESTAMP_MONOTONIC => return Ok(1),
        DRM_CAP_PRIME => return Ok(DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT),
        DRM_CAP_SYNCOBJ => return Ok(u64::from(features.syncobj)),
        DRM_CAP_SYNCOBJ_TIMELINE => return Ok(u64::from(features.syncobj_timeline)),
        _ => {}
    }
    if !features.modeset {
        return Err(Error::NotSupported);
    }
    match cap {
        DRM_CAP_DUMB_BUFFER => Ok(u64::from(features.dumb_create)),
        DRM_CAP_VBLANK_HIGH_CRTC | DRM_CAP_CRTC_IN_VBLANK_EVENT => Ok(1),
        c if MODESET_CAPS.contains(&c) || c == 0x15 => Ok(0),
        _ => Err(Error::Invalid("unknown capability")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modeset_driver_caps() {
        let f = Features {
            modeset: true,
            dumb_create: true,
            ..Features::default()
        };
        assert_eq!(get_cap(f, DRM_CAP_DUMB_BUFFER), Ok(1));
        assert_eq!(get_cap(f, DRM_CAP_CURSOR_WIDTH), Ok(0));
        assert_eq!(
            get_cap(f, 0x7777),
            Err(Error::Invalid("unknown capability"))
        );
        assert_eq!(
            get_cap(VGEM_DRIVER.features, 0x7777),
            Err(Error::NotSupported)
        );
    }

    #[test]
    fn permission_order_and_rules() {
        let render = Client {
            render: true,
            ..Client::default()
        };
        let primary = Client::default();
        assert_eq!(permit(DRM_RENDER_ALLOW | DRM_AUTH, render), Ok(()));
        assert_eq!(permit(DRM_AUTH, render), Err(Error::Access));
        assert_eq!(
            permit(DRM_AUTH | DRM_RENDER_ALLOW, primary),
            Err(Error::Access)
        );
        assert_eq!(permit(0, primary), Ok(()));
        assert_eq!(permit(DRM_MASTER, primary), Err(Error::Access));
        assert_eq!(permit(DRM_ROOT_ONLY, primary), Err(Error::Access));
        let root = Client {
            privileged: true,
            authenticated: true,
            master: true,
            ..Client::default()
        };
        assert_eq!(permit(DRM_ROOT_ONLY | DRM_MASTER | DRM_AUTH, root), Ok(()));
    }
}
