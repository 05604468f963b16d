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
