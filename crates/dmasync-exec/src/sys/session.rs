//! Sessions: programs started separately (a compositor, then its clients)
//! served by one supervisor, so that they share one model. The first
//! `exec` of a session listens on an abstract Unix socket named after it;
//! a later one connects and hands over its filter's listener.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// This end of a session.
pub enum Endpoint {
    /// No supervisor of that name was running: this one serves the session
    /// and accepts others on this (non-blocking) listening socket.
    Owner(OwnedFd),
    /// Connected to the session's supervisor.
    Member(OwnedFd),
}

fn address(name: &str) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let full = format!("dmasync-session-{name}");
    // Abstract namespace: a leading NUL, no file to clean up.
    if full.len() + 1 > addr.sun_path.len() || name.is_empty() || name.contains('\0') {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (i, b) in full.bytes().enumerate() {
        addr.sun_path[i + 1] = b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + full.len();
    Ok((addr, len as libc::socklen_t))
}

fn socket() -> io::Result<OwnedFd> {
    // SAFETY: socket with integer arguments only.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Joins session `name`, or starts it when nobody serves it.
pub fn open(name: &str) -> io::Result<Endpoint> {
    let (addr, len) = address(name)?;
    let ptr = (&addr as *const libc::sockaddr_un).cast::<libc::sockaddr>();
    for _ in 0..10 {
        let s = socket()?;
        // SAFETY: `ptr` points at `addr`, valid for `len` bytes.
        if unsafe { libc::connect(s.as_raw_fd(), ptr, len) } == 0 {
            return Ok(Endpoint::Member(s));
        }
        let s = socket()?;
        // SAFETY: as above.
        if unsafe { libc::bind(s.as_raw_fd(), ptr, len) } == 0 {
            // SAFETY: listen and fcntl with integer arguments only.
            unsafe {
                if libc::listen(s.as_raw_fd(), 16) != 0 {
                    return Err(io::Error::last_os_error());
                }
                libc::fcntl(s.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
            }
            return Ok(Endpoint::Owner(s));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EADDRINUSE) {
            return Err(e);
        }
        // Another supervisor bound it between our connect and bind.
    }
    Err(io::Error::from_raw_os_error(libc::EADDRINUSE))
}

/// Accepts one member whose peer has our uid; `None` when none is waiting
/// (or it was refused).
pub fn accept(sock: BorrowedFd<'_>) -> Option<OwnedFd> {
    // SAFETY: accept4 with null address pointers is allowed.
    let fd = unsafe {
        libc::accept4(
            sock.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just accepted and is owned by nobody else.
    let conn = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` has room for one ucred, `len` says so.
    let r = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    // SAFETY: geteuid has no arguments.
    let me = unsafe { libc::geteuid() };
    if r != 0 || cred.uid != me {
        return None;
    }
    // A member sends its listener right after connecting; never wait long.
    let tv = libc::timeval {
        tv_sec: 2,
        tv_usec: 0,
    };
    // SAFETY: `tv` is a valid timeval for the size given.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    Some(conn)
}
