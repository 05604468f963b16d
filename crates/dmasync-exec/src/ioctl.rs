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
use dmasync::fence::sw_sync;
use dmasync::uapi::ioctl::ioc_size;
use dmasync::uapi::sw_sync::{
    SwSyncCreateFenceData, SwSyncGetDeadline, SW_SYNC_GET_DEADLINE, SW_SYNC_IOC_CREATE_FENCE,
    SW_SYNC_IOC_INC,
};
use dmasync::uapi::sync_file::{
    SyncFenceInfo, SyncFileInfo, SyncMergeData, SyncSetDeadline, SYNC_IOC_FILE_INFO,
    SYNC_IOC_MERGE, SYNC_IOC_SET_DEADLINE,
};
use dmasync::uapi::write_name;
use dmasync::Error;

use crate::objects::{Object, SyncFileObj};
use crate::supervisor::Call;

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
        const _: () = assert!(ioc_size($cmd) == size_of::<$arg>());
        Entry {
            cmd: $cmd,
            name: stringify!($cmd),
            kind: $kind,
            run: $run,
        }
    }};
}

/// Every served ioctl.
pub static TABLE: &[Entry] = &[
    entry!(
        SW_SYNC_IOC_CREATE_FENCE,
        SwSyncCreateFenceData,
        Kind::Timeline,
        sw_sync_create_fence
    ),
    entry!(SW_SYNC_IOC_INC, u32, Kind::Timeline, sw_sync_inc),
    entry!(
        SW_SYNC_GET_DEADLINE,
        SwSyncGetDeadline,
        Kind::Timeline,
        sw_sync_get_deadline
    ),
    entry!(SYNC_IOC_MERGE, SyncMergeData, Kind::SyncFile, sync_merge),
    entry!(
        SYNC_IOC_FILE_INFO,
        SyncFileInfo,
        Kind::SyncFile,
        sync_file_info
    ),
    entry!(
        SYNC_IOC_SET_DEADLINE,
        SyncSetDeadline,
        Kind::SyncFile,
        sync_set_deadline
    ),
];

/// The entry for `cmd` on an fd of `kind`.
pub fn find(cmd: u32, kind: Kind) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.cmd == cmd && e.kind == kind)
}

fn timeline(obj: &Object) -> &sw_sync::Timeline {
    match obj {
        Object::Timeline(t) => &t.timeline,
        Object::SyncFile(_) => unreachable!("dispatched by kind"),
    }
}

fn sync_file(obj: &Object) -> &SyncFileObj {
    match obj {
        Object::SyncFile(f) => f,
        Object::Timeline(_) => unreachable!("dispatched by kind"),
    }
}

fn io_errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(ENOMEM)
}

/// Decodes an argument copied in by the framework (always its full size).
fn arg<T>(bytes: &[u8], from: fn(&[u8]) -> Option<T>) -> Result<T, i32> {
    from(bytes).ok_or(EFAULT)
}

/// Makes a sync file and installs it in the caller with O_CLOEXEC (as
/// `get_unused_fd_flags(O_CLOEXEC)` does); returns its fd number there.
fn install_sync_file(
    call: &Call<'_>,
    file: dmasync::sync_file::SyncFile,
    raw_name: [u8; 32],
) -> Result<i32, i32> {
    let fd = call
        .registry
        .new_sync_file(file, raw_name)
        .map_err(io_errno)?;
    call.install_fd(std::os::fd::AsFd::as_fd(&fd), true)
}

fn sw_sync_create_fence(call: &Call<'_>, obj: &Object, bytes: &[u8]) -> Outcome {
    let mut data = arg(bytes, SwSyncCreateFenceData::from_bytes)?;
    let fence = timeline(obj).create_fence(data.value);
    // Check that the result can be written before the fd is installed: an
    // installed fd cannot be taken back.
    call.write_arg(&data.to_bytes())?;
    data.fence = install_sync_file(call, dmasync::sync_file::SyncFile::new(fence), [0; 32])?;
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

fn sw_sync_inc(_call: &Call<'_>, obj: &Object, bytes: &[u8]) -> Outcome {
    let by = u32::from_le_bytes(bytes.try_into().map_err(|_| EFAULT)?);
    timeline(obj).inc(by);
    Ok(0)
}

fn sw_sync_get_deadline(call: &Call<'_>, _obj: &Object, bytes: &[u8]) -> Outcome {
    let mut data = arg(bytes, SwSyncGetDeadline::from_bytes)?;
    if data.deadline_ns != 0 || data.pad != 0 {
        return Err(EINVAL);
    }
    let Some(Object::SyncFile(f)) = call.lookup(data.fence_fd) else {
        return Err(EINVAL);
    };
    data.deadline_ns = match sw_sync::get_deadline(f.file.fence()) {
        Ok(d) => d,
        Err(Error::NotFound) => return Err(ENOENT),
        Err(e) => return Err(e.errno()),
    };
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

fn sync_merge(call: &Call<'_>, obj: &Object, bytes: &[u8]) -> Outcome {
    let mut data = arg(bytes, SyncMergeData::from_bytes)?;
    if data.flags != 0 || data.pad != 0 {
        return Err(EINVAL);
    }
    let Some(Object::SyncFile(other)) = call.lookup(data.fd2) else {
        return Err(ENOENT);
    };
    data.name[31] = 0;
    let merged = sync_file(obj).file.merge(&other.file, &data.name);
    call.write_arg(&data.to_bytes())?;
    data.fence = install_sync_file(call, merged, data.name)?;
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

/// `sync_file_get_name` as the 32 bytes the UAPI carries: the user name as
/// given (bytes, not text), or the synthesised one cut to 31 bytes.
fn sync_file_name(f: &SyncFileObj) -> [u8; 32] {
    if f.raw_name[0] != 0 {
        return f.raw_name;
    }
    write_name(f.file.name())
}

/// Copies a NUL-terminated name over the start of `dst`, leaving the bytes
/// after its NUL as they were (the kernel's `strscpy` does not pad).
fn copy_name(dst: &mut [u8; 32], src: &[u8; 32]) {
    let n = src.iter().position(|&b| b == 0).unwrap_or(31).min(31);
    dst[..n].copy_from_slice(&src[..n]);
    dst[n] = 0;
}

fn sync_file_info(call: &Call<'_>, obj: &Object, bytes: &[u8]) -> Outcome {
    let mut info = arg(bytes, SyncFileInfo::from_bytes)?;
    if info.flags != 0 || info.pad != 0 {
        return Err(EINVAL);
    }
    let f = sync_file(obj);
    let report = f.file.info(info.num_fences).map_err(Error::errno)?;
    if info.num_fences != 0 {
        let mut out = Vec::with_capacity(report.fences.len() * size_of::<SyncFenceInfo>());
        for leaf in &report.fences {
            let e = SyncFenceInfo {
                obj_name: write_name(leaf.obj_name.as_bytes()),
                driver_name: write_name(leaf.driver_name.as_bytes()),
                status: leaf.status,
                flags: 0,
                timestamp_ns: leaf.timestamp_ns,
            };
            out.extend_from_slice(&e.to_bytes());
        }
        // On a failed copy the kernel returns EFAULT without writing the
        // header back.
        call.write(info.sync_fence_info, &out)?;
    }
    info.status = report.status;
    copy_name(&mut info.name, &sync_file_name(f));
    info.num_fences = report.num_fences;
    call.write_arg(&info.to_bytes())?;
    Ok(0)
}

fn sync_set_deadline(_call: &Call<'_>, obj: &Object, bytes: &[u8]) -> Outcome {
    let data = arg(bytes, SyncSetDeadline::from_bytes)?;
    if data.pad != 0 {
        return Err(EINVAL);
    }
    sync_file(obj).file.set_deadline(data.deadline_ns);
    Ok(0)
}

/// EFAULT for a failed copy to or from the caller.
pub(crate) fn efault<T>(_: T) -> i32 {
    EFAULT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entries_are_unique_and_named_as_in_the_uapi() {
        for (i, e) in TABLE.iter().enumerate() {
            assert_eq!(dmasync::uapi::ioctl_name(e.cmd), Some(e.name), "{}", e.name);
            assert!(
                crate::sys::filter::IOCTL_TYPES.contains(&dmasync::uapi::ioctl::ioc_type(e.cmd)),
                "{} is not trapped by the filter",
                e.name
            );
            for other in &TABLE[i + 1..] {
                assert!(
                    other.cmd != e.cmd || other.kind != e.kind,
                    "{} twice",
                    e.name
                );
            }
        }
        assert!(find(SYNC_IOC_FILE_INFO, Kind::Timeline).is_none());
        assert!(find(SW_SYNC_IOC_INC, Kind::SyncFile).is_none());
        assert!(find(SW_SYNC_IOC_INC, Kind::Timeline).is_some());
    }
}
