//! Starting the program: fork, install the filter in the child, hand the
//! listener to the parent over a socketpair (SCM_RIGHTS), exec.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use super::seccomp::{Listener, Program};

fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two fds the kernel writes.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Room for one `cmsghdr` carrying one fd, 8-byte aligned.
#[repr(C, align(8))]
struct CmsgBuf([u8; 32]);

/// Sends `fd` with one byte of data. Async-signal-safe (no allocation).
fn send_fd(sock: RawFd, fd: RawFd) -> io::Result<()> {
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
fn recv_fd(sock: RawFd) -> io::Result<OwnedFd> {
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

/// Makes the supervisor the reaper of orphaned descendants, so that a
/// program's daemonised children are reaped (and leave the filter) here.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reaps any exited child without blocking; returns whether one was reaped.
pub fn reap_any() -> bool {
    let mut status = 0;
    // SAFETY: waitpid writes the status into `status`.
    unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) > 0 }
}

/// Starts `cmd` with the filter installed; returns the child and the
/// filter's listener.
pub fn spawn(mut cmd: Command, program: Program) -> io::Result<(Child, Listener)> {
    let (parent, child_end) = socketpair()?;
    let child_raw = child_end.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec; it only
    // makes raw system calls on stack data and on `program`, which was
    // built before fork, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let listener = program.install()?;
            let sent = send_fd(child_raw, listener);
            libc::close(listener);
            sent
        });
    }
    let child = cmd.spawn()?;
    drop(child_end);
    let fd = recv_fd(parent.as_raw_fd())?;
    Ok((child, Listener::new(fd)))
}
