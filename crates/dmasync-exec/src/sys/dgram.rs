//! Unix datagram socketpairs, for the epoll proxies (src/epoll_proxy.rs).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A non-blocking, close-on-exec `AF_UNIX`/`SOCK_DGRAM` socketpair whose
/// first end has the smallest send buffer the kernel allows.
pub fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: the kernel writes two fds into `fds`.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just made and are owned by nobody else.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let one: libc::c_int = 1;
    // SAFETY: SO_SNDBUF takes an int, passed by pointer with its size.
    let r = unsafe {
        libc::setsockopt(
            a.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((a, b))
}

/// Sends a one-byte datagram without blocking; whether it was sent.
pub fn send_byte(fd: &OwnedFd) -> bool {
    let b = [1u8];
    // SAFETY: `b` is readable for its length.
    unsafe { libc::send(fd.as_raw_fd(), b.as_ptr().cast(), 1, libc::MSG_DONTWAIT) == 1 }
}

/// Receives and drops every queued datagram without blocking.
pub fn drain(fd: &OwnedFd) {
    let mut b = [0u8; 1];
    // SAFETY: `b` is writable for its length.
    while unsafe { libc::recv(fd.as_raw_fd(), b.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) } >= 0 {
    }
}
