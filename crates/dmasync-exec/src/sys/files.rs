//! File helpers that rustix does not give in the raw form the supervisor
//! copies into the program's memory.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `fstat(fd)`.
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: all-zero is a valid `struct stat` (plain integers).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes one `struct stat` into `st`.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// A `struct stat` as the bytes a program's buffer receives.
pub fn stat_bytes(st: &libc::stat) -> Vec<u8> {
    // SAFETY: `st` is plain old data of exactly this size, fully
    // initialised (zeroed, then written by the kernel).
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (st as *const libc::stat).cast::<u8>(),
            std::mem::size_of::<libc::stat>(),
        )
    };
    bytes.to_vec()
}

/// `statfs(path)` as the raw `struct statfs` bytes a program's buffer
/// receives, with the file system type replaced by `f_type` if given.
pub fn statfs_bytes(path: &std::ffi::CStr, f_type: Option<i64>) -> io::Result<Vec<u8>> {
    // SAFETY: all-zero is a valid `struct statfs` (plain integers).
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string; the kernel writes one `struct
    // statfs` into `st`.
    if unsafe { libc::statfs(path.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if let Some(t) = f_type {
        st.f_type = t as _;
    }
    // SAFETY: `st` is plain old data of exactly this size, fully
    // initialised (zeroed, then written by the kernel).
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&st as *const libc::statfs).cast::<u8>(),
            std::mem::size_of::<libc::statfs>(),
        )
    };
    Ok(bytes.to_vec())
}

/// Size of `struct statx` (fixed by the UAPI).
pub const STATX_SIZE: usize = 256;

/// `statx(fd, "", AT_EMPTY_PATH | flags, mask)` as the raw 256 bytes.
pub fn statx_bytes(fd: BorrowedFd<'_>, flags: i32, mask: u32) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; STATX_SIZE];
    let flags = (flags & !(libc::AT_SYMLINK_NOFOLLOW)) | libc::AT_EMPTY_PATH;
    // SAFETY: `buf` has room for one `struct statx` (256 bytes), which is
    // all the kernel writes; the path is a valid empty C string.
    let r = unsafe {
        libc::syscall(
            libc::SYS_statx,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            mask,
            buf.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(buf)
}

/// Ignores SIGPIPE in the supervisor: a fence callback writing to a sync
/// file whose readers are all gone must get EPIPE, not die.
pub fn ignore_sigpipe() {
    // SAFETY: installing SIG_IGN has no handler code to be unsafe.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// The kernel's own checks of `fallocate(fd, mode, offset, len)` that come
/// before the file's type is looked at (`args`: mode, offset, length; the
/// access mode: `writable`): made on a pipe end, which passes them and
/// then fails with ESPIPE. So ESPIPE means they passed.
pub fn fallocate_checks(writable: bool, args: [u64; 3]) -> Result<(), i32> {
    let (r, w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| e.raw_os_error())?;
    let end = if writable {
        w.as_raw_fd()
    } else {
        r.as_raw_fd()
    };
    // SAFETY: fallocate on a pipe end we own touches no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fallocate,
            end,
            args[0] as libc::c_int,
            args[1] as libc::off_t,
            args[2] as libc::off_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL))
    }
}

/// Thread `tid`'s `/proc/<tid>/status`, read once; its fields by name.
pub struct ProcStatus(String);

impl ProcStatus {
    /// Reads it; `None` when the thread is gone.
    pub fn read(tid: u32) -> Option<ProcStatus> {
        std::fs::read_to_string(format!("/proc/{tid}/status"))
            .ok()
            .map(ProcStatus)
    }

    /// The value of field `name` (without its colon), trimmed.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.0.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|r| r.strip_prefix(':'))
                .map(str::trim)
        })
    }

    /// A hexadecimal mask field (`SigPnd`, `CapEff`...).
    pub fn mask(&self, name: &str) -> Option<u64> {
        self.field(name)
            .and_then(|v| u64::from_str_radix(v, 16).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_fields_are_found_by_whole_name() {
        let me = std::process::id();
        let s = ProcStatus::read(me).expect("own status");
        assert_eq!(s.field("Tgid").and_then(|v| v.parse().ok()), Some(me));
        assert!(s.mask("SigBlk").is_some());
        assert_eq!(s.field("Tgi"), None, "a prefix of a name is no name");
    }
}
