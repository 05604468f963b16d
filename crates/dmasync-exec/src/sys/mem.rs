//! Reading and writing a traced process's memory (process_vm_readv /
//! process_vm_writev). Every read is a copy: the supervisor decides on its
//! copy, never on memory the caller could change afterwards.

use std::io;

fn check_full(r: isize, want: usize) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else if r as usize != want {
        Err(io::Error::from_raw_os_error(libc::EFAULT))
    } else {
        Ok(())
    }
}

/// Copies `buf.len()` bytes at `addr` in process `pid` into `buf`.
///
/// # Errors
/// `EFAULT` when any byte is not readable, `ESRCH` when the process is gone.
pub fn read(pid: u32, addr: u64, buf: &mut [u8]) -> io::Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as usize as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, writable for its length; the remote
    // range is only read by the kernel, which checks it.
    let r = unsafe { libc::process_vm_readv(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    check_full(r, buf.len())
}

/// Copies `data` to `addr` in process `pid`.
///
/// # Errors
/// `EFAULT` when any byte is not writable, `ESRCH` when the process is gone.
pub fn write(pid: u32, addr: u64, data: &[u8]) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as usize as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: `local` describes `data`, only read by the kernel; the remote
    // range is checked by the kernel.
    let r = unsafe { libc::process_vm_writev(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    check_full(r, data.len())
}

/// Reads a NUL-terminated string of at most `max` bytes (without the NUL)
/// at `addr`, in chunks that never cross a page boundary (so that a string
/// ending just before an unmapped page is read), small at first: most paths
/// are short.
///
/// # Errors
/// `EFAULT` for an unreadable string, `ENAMETOOLONG` when no NUL is found
/// within `max` bytes.
pub fn read_cstr(pid: u32, addr: u64, max: usize) -> io::Result<Vec<u8>> {
    const PAGE: u64 = 4096;
    let mut out = Vec::new();
    let mut at = addr;
    let mut want = 256u64;
    let mut buf = [0u8; PAGE as usize];
    while out.len() <= max {
        let chunk = (PAGE - at % PAGE).min(want) as usize;
        want = PAGE;
        let buf = &mut buf[..chunk];
        read(pid, at, buf)?;
        if let Some(end) = buf.iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..end]);
            return if out.len() > max {
                Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG))
            } else {
                Ok(out)
            };
        }
        out.extend_from_slice(buf);
        at += chunk as u64;
    }
    Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG))
}
