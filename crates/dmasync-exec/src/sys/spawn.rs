//! Starting the program: fork, install the filter in the child, hand the
//! listener to the parent over a socketpair (SCM_RIGHTS), exec.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use super::scm::{recv_fd, send_fd};
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
