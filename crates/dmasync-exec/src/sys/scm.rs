//! Passing one fd over a Unix socket (SCM_RIGHTS) with one byte of data.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Room for one `cmsghdr` carrying one fd, 8-byte aligned.
#[repr(C, align(8))]
struct CmsgBuf([u8; 32]);

/// Sends `fd` with one byte of data. Async-signal-safe (no allocation).
pub fn send_fd(sock: RawFd, fd: RawFd) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = CmsgBuf([0; 32]);
    // SAFETY: all-zero is a valid msghdr (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as usize;
    // SAFETY: the control buffer holds CMSG_SPACE(4) <= 32 bytes, so the
    // first header and its 4-byte payload lie inside `cbuf`.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
    }
    // SAFETY: `msg` points at live buffers for the call.
    if unsafe { libc::sendmsg(sock, &msg, 0) } != 1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receives one fd sent by [`send_fd`].
pub fn recv_fd(sock: RawFd) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = CmsgBuf([0; 32]);
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len();
    // SAFETY: `msg` points at live, writable buffers for the call.
    let r = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel filled `msg.msg_control` with well-formed headers
    // inside `cbuf`; the CMSG_ macros only walk within msg_controllen.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if r == 1
            && !c.is_null()
            && (*c).cmsg_level == libc::SOL_SOCKET
            && (*c).cmsg_type == libc::SCM_RIGHTS
        {
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<RawFd>());
            return Ok(OwnedFd::from_raw_fd(fd));
        }
    }
    Err(io::Error::other(
        "the program's setup failed before it could install the filter",
    ))
}
