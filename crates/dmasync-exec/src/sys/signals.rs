//! Passing termination signals on to the program: the supervisor blocks
//! them and reads them from a signalfd, so that `kill <supervisor>` ends the
//! program too instead of leaving it without its supervisor.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// The signals passed on.
pub const FORWARDED: [i32; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// Blocks [`FORWARDED`] in the calling thread (and the threads it starts
/// afterwards) and returns a signalfd that reads them.
pub fn forwarding_fd() -> io::Result<OwnedFd> {
    // SAFETY: `set` is initialised by sigemptyset before use; the calls only
    // read and write it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// One pending signal: its number, and whether a process sent it (rather
/// than the terminal, which signals the whole foreground group itself).
pub fn read_signal(fd: BorrowedFd<'_>) -> Option<(i32, bool)> {
    // SAFETY: all-zero is a valid signalfd_siginfo (plain integers).
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: `info` has room for one signalfd_siginfo, all the kernel writes.
    let r = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    if r as usize != size {
        return None;
    }
    Some((info.ssi_signo as i32, info.ssi_code != libc::SI_KERNEL))
}

/// Sends `sig` to process `pid`.
pub fn kill(pid: u32, sig: i32) {
    // SAFETY: kill with integer arguments only.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}
