//! The served ioctls: one table keyed by ioctl number and the kind of fd it
//! applies to. An ioctl of a served family on one of our fds that is not in
//! the table for that fd's kind gets ENOTTY, as from the kernel.
//!
//! Every entry names its argument struct; a const assertion checks that the
//! size encoded in the number equals the struct's. The framework copies the
//! argument in once (for `_IOW` directions) before the handler runs;
//! handlers decide on that copy only and write results back themselves, in
//! the order the kernel does.

use dmasync::error::errno::{EFAULT, EINVAL, ENOENT, ENOMEM};
use dmasync::Error;

use crate::model;
use crate::objects::{Object, SyncFile};
use crate::supervisor::Call;
use crate::uapi_local::{self as uapi, ioc_size, name32, Arg};

/// The kind of virtual fd an ioctl applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A sync file.
    SyncFile,
    /// A sw_sync timeline.
    Timeline,
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::SyncFile(_) => Kind::SyncFile,
            Object::Timeline(_) => Kind::Timeline,
        }
    }
}

/// A handler's result: the ioctl's return value, or a positive errno.
pub type Outcome = Result<i64, i32>;

/// One served ioctl.
pub struct Entry {
    /// The full ioctl number.
    pub cmd: u32,
    /// The kernel's name for it.
    pub name: &'static str,
    /// The fd kind it applies to.
    pub kind: Kind,
    /// Runs it on the argument bytes copied in.
    pub run: fn(&Call<'_>, &Object, &[u8]) -> Outcome,
}

macro_rules! entry {
    ($cmd:ident, $arg:ty, $kind:expr, $run:path) => {{
        const _: () = assert!(ioc_size(uapi::$cmd) == <$arg as Arg>::SIZE);
        Entry { cmd: uapi::$cmd, name: stringify!($cmd), kind: $kind, run: $run }
    }};
}

/// Every served ioctl.
pub static TABLE: &[Entry] = &[
    entry!(SW_SYNC_IOC_CREATE_FENCE, uapi::SwSyncCreateFenceData, Kind::Timeline, sw_sync_create_fence),
    entry!(SW_SYNC_IOC_INC, u32, Kind::Timeline, sw_sync_inc),
    entry!(SW_SYNC_GET_DEADLINE, uapi::SwSyncGetDeadline, Kind::Timeline, sw_sync_get_deadline),
    entry!(SYNC_IOC_MERGE, uapi::SyncMergeData, Kind::SyncFile, sync_merge),
    entry!(SYNC_IOC_FILE_INFO, uapi::SyncFileInfo, Kind::SyncFile, sync_file_info),
    entry!(SYNC_IOC_SET_DEADLINE, uapi::SyncSetDeadline, Kind::SyncFile, sync_set_deadline),
];

/// The entry for `cmd` on an fd of `kind`.
pub fn find(cmd: u32, kind: Kind) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.cmd == cmd && e.kind == kind)
}

fn timeline(obj: &Object) -> &model::Timeline {
    match obj {
        Object::Timeline(t) => &t.timeline,
        Object::SyncFile(_) => unreachable!("dispatched by kind"),
    }
}

fn sync_file(obj: &Object) -> &SyncFile {
    match obj {
        Object::SyncFile(f) => f,
        Object::Timeline(_) => unreachable!("dispatched by kind"),
    }
}

fn io_errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(ENOMEM)
}

/// Makes a sync file for `fence` and installs it in the caller with
/// O_CLOEXEC; returns its fd number there.
fn install_sync_file(call: &Call<'_>, fence: dmasync::Fence, name: [u8; 32]) -> Result<i32, i32> {
    let fd = call.registry.new_sync_file(fence, name).map_err(io_errno)?;
    call.install_fd(std::os::fd::AsFd::as_fd(&fd), true)
}

fn sw_sync_create_fence(call: &Call<'_>, obj: &Object, arg: &[u8]) -> Outcome {
    let mut data = uapi::SwSyncCreateFenceData::from_bytes(arg);
    let fence = timeline(obj).create_fence(data.value);
    // Check that the result can be written before the fd is installed: an
    // installed fd cannot be taken back.
    call.write_arg(&data.to_bytes())?;
    data.fence = install_sync_file(call, fence, [0; 32])?;
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

fn sw_sync_inc(_call: &Call<'_>, obj: &Object, arg: &[u8]) -> Outcome {
    timeline(obj).inc(u32::from_bytes(arg));
    Ok(0)
}

fn sw_sync_get_deadline(call: &Call<'_>, _obj: &Object, arg: &[u8]) -> Outcome {
    let mut data = uapi::SwSyncGetDeadline::from_bytes(arg);
    if data.deadline_ns != 0 || data.pad != 0 {
        return Err(EINVAL);
    }
    let Some(Object::SyncFile(f)) = call.lookup(data.fence_fd) else { return Err(EINVAL) };
    data.deadline_ns = match model::get_deadline(&f.fence) {
        Ok(d) => d,
        Err(Error::NotFound) => return Err(ENOENT),
        Err(e) => return Err(e.errno()),
    };
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

fn sync_merge(call: &Call<'_>, obj: &Object, arg: &[u8]) -> Outcome {
    let mut data = uapi::SyncMergeData::from_bytes(arg);
    if data.flags != 0 || data.pad != 0 {
        return Err(EINVAL);
    }
    let Some(Object::SyncFile(other)) = call.lookup(data.fd2) else { return Err(ENOENT) };
    data.name[31] = 0;
    let fence = model::merge(&sync_file(obj).fence, &other.fence).map_err(Error::errno)?;
    call.write_arg(&data.to_bytes())?;
    data.fence = install_sync_file(call, fence, data.name)?;
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

/// `sync_file_get_name`: the user name, or `<driver>-<timeline><context>-<seqno>`.
fn sync_file_name(f: &SyncFile) -> [u8; 32] {
    if f.name[0] != 0 {
        return f.name;
    }
    let fence = &f.fence;
    name32(&format!(
        "{}-{}{}-{}",
        fence.driver_name(),
        fence.timeline_name(),
        fence.context(),
        fence.seqno() as i64
    ))
}

/// Copies a NUL-terminated name over the start of `dst`, leaving the bytes
/// after its NUL as they were (the kernel's `strscpy` does not pad).
fn copy_name(dst: &mut [u8; 32], src: &[u8; 32]) {
    let n = src.iter().position(|&b| b == 0).unwrap_or(31).min(31);
    dst[..n].copy_from_slice(&src[..n]);
    dst[n] = 0;
}

fn sync_file_info(call: &Call<'_>, obj: &Object, arg: &[u8]) -> Outcome {
    let mut info = uapi::SyncFileInfo::from_bytes(arg);
    if info.flags != 0 || info.pad != 0 {
        return Err(EINVAL);
    }
    let f = sync_file(obj);
    let leaves = model::leaves(&f.fence);
    let count = u32::try_from(leaves.len()).map_err(|_| ENOMEM)?;
    if info.num_fences == 0 {
        info.status = f.fence.status();
    } else {
        if info.num_fences < count {
            return Err(EINVAL);
        }
        info.status = 1;
        let mut out = Vec::with_capacity(leaves.len() * uapi::SyncFenceInfo::SIZE);
        for leaf in &leaves {
            let status = leaf.status();
            if info.status > 0 {
                info.status = status;
            }
            let e = uapi::SyncFenceInfo {
                obj_name: name32(leaf.timeline_name()),
                driver_name: name32(leaf.driver_name()),
                status,
                flags: 0,
                timestamp_ns: if status != 0 { leaf.timestamp().unwrap_or(0) } else { 0 },
            };
            out.extend_from_slice(&e.to_bytes());
        }
        call.write(info.sync_fence_info, &out)?;
    }
    copy_name(&mut info.name, &sync_file_name(f));
    info.num_fences = count;
    call.write_arg(&info.to_bytes())?;
    Ok(0)
}

fn sync_set_deadline(_call: &Call<'_>, obj: &Object, arg: &[u8]) -> Outcome {
    let data = uapi::SyncSetDeadline::from_bytes(arg);
    if data.pad != 0 {
        return Err(EINVAL);
    }
    sync_file(obj).fence.set_deadline(data.deadline_ns);
    Ok(0)
}

/// EFAULT for a failed copy to or from the caller.
pub(crate) fn efault<T>(_: T) -> i32 {
    EFAULT
}
