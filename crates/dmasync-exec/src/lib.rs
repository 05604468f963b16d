//! dmasync-exec: runs unmodified programs on dmasync's virtual dma-buf
//! devices.
//!
//! [`exec`] starts a program under a seccomp filter that sends the system
//! calls touching the virtual devices (opening their paths, stat/access on
//! them, and ioctls of the dma-buf, sync_file, sw_sync, udmabuf, dma-heap
//! and DRM families) to this process, which serves them with the `dmasync`
//! model. Every virtual fd is a real kernel object (a pipe, a memfd), so
//! the kernel itself does dup, fork, close-on-exec, SCM_RIGHTS, poll and
//! close; see DESIGN.md beside this crate for the reasons.
//!
//! Served so far: the sw_sync device (`/sys/kernel/debug/sync/sw_sync`) and
//! sync files.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod ioctl;
mod objects;
mod paths;
mod supervisor;
mod sys;

use std::ffi::OsString;
use std::io;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::Arc;

use rustix::event::epoll;

use objects::{
    Registry, TOKEN_CHILD, TOKEN_INOTIFY, TOKEN_LISTENER, TOKEN_SIGNAL, TOKEN_WRITE_END,
};
use supervisor::{Supervisor, Templates};

/// Why a program could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No program was given.
    #[error("no program to run")]
    NoProgram,
    /// The requested feature does not exist yet.
    #[error("{0} is not supported yet")]
    Unsupported(&'static str),
    /// Starting the program or the supervisor failed.
    #[error("{what}: {source}")]
    Io {
        /// The step that failed.
        what: &'static str,
        /// The system error.
        source: io::Error,
    },
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io { what, source }
}

/// The kernel names of the ioctls served on virtual fds, in table order.
pub fn served_ioctls() -> impl Iterator<Item = (&'static str, u32)> {
    ioctl::TABLE.iter().map(|e| (e.name, e.cmd))
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The program and its arguments; the program is searched in `PATH`.
    pub argv: Vec<OsString>,
    /// The name of a running session to join (not supported yet).
    pub session: Option<String>,
}

/// Runs a program, and everything it starts, on the virtual devices, and
/// returns its exit code (128 + the signal number if a signal killed it).
///
/// Returns when the program has exited and no process it started is left
/// (orphans are reparented to, and reaped by, the calling process).
/// SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to the calling process are
/// passed on to the program (blocked in the calling thread). Meant
/// to be the last thing a process does: the thread that serves the
/// program's calls is left blocked when this returns.
///
/// # Errors
/// [`Error::NoProgram`] for an empty `argv`, [`Error::Unsupported`] for a
/// session, [`Error::Io`] when the program cannot be started (not found,
/// seccomp refused) or the supervisor cannot be set up.
pub fn exec(options: &ExecOptions) -> Result<i32, Error> {
    if options.session.is_some() {
        return Err(Error::Unsupported("joining a session"));
    }
    let (program, args) = options.argv.split_first().ok_or(Error::NoProgram)?;
    sys::seccomp::check_sizes().map_err(io_err("seccomp user notification is not available"))?;
    sys::files::ignore_sigpipe();
    sys::spawn::become_subreaper().map_err(io_err("prctl(PR_SET_CHILD_SUBREAPER)"))?;
    let registry = Registry::new().map_err(io_err("setting up the registry"))?;
    let templates = Templates::new().map_err(io_err("setting up the virtual paths"))?;

    let mut cmd = Command::new(program);
    cmd.args(args);
    let filter = sys::seccomp::Program::new(sys::filter::program());
    let (mut child, listener) =
        sys::spawn::spawn(cmd, filter).map_err(io_err("starting the program"))?;
    let _ = listener.set_sync_wakeup();

    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_child(&child),
        rustix::process::PidfdFlags::empty(),
    )
    .map_err(|e| Error::Io {
        what: "pidfd_open",
        source: e.into(),
    })?;
    let sup = Arc::new(Supervisor::new(listener, registry, templates));
    let ep = &sup.registry.epoll;
    let watch = |fd, token, events| {
        epoll::add(ep, fd, epoll::EventData::new_u64(token), events).map_err(|e| Error::Io {
            what: "epoll_ctl",
            source: e.into(),
        })
    };
    watch(pidfd.as_fd(), TOKEN_CHILD, epoll::EventFlags::IN)?;
    // Only its POLLHUP (always reported): POLLIN, a pending call, is the
    // serving thread's business.
    watch(
        sup.listener.as_fd(),
        TOKEN_LISTENER,
        epoll::EventFlags::empty(),
    )?;
    // Blocked before the serving thread starts, so that it inherits the mask.
    let signals = sys::signals::forwarding_fd().map_err(io_err("signalfd"))?;
    watch(signals.as_fd(), TOKEN_SIGNAL, epoll::EventFlags::IN)?;

    let server = sup.clone();
    std::thread::Builder::new()
        .name("dmasync-exec".into())
        .spawn(move || {
            if let Err(e) = server.serve() {
                eprintln!("dmasync exec: serving stopped: {e}");
            }
        })
        .map_err(io_err("starting the serving thread"))?;

    let mut status = None;
    let mut events = Vec::with_capacity(64);
    loop {
        events.clear();
        let timeout = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        let t = status.is_some().then_some(&timeout);
        match epoll::wait(ep, rustix::buffer::spare_capacity(&mut events), t) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(Error::Io {
                    what: "epoll_wait",
                    source: e.into(),
                })
            }
        }
        let mut all_gone = false;
        for ev in &events {
            let (flags, data) = (ev.flags, ev.data);
            let token = data.u64();
            match token & !0xffff_ffff {
                TOKEN_CHILD => {
                    if let Ok(Some(s)) = child.try_wait() {
                        status = Some(s);
                        let _ = epoll::delete(ep, &pidfd);
                    }
                }
                TOKEN_LISTENER => all_gone = flags.contains(epoll::EventFlags::HUP),
                TOKEN_INOTIFY => sup.registry.on_inotify(),
                TOKEN_SIGNAL => {
                    while let Some((sig, from_process)) = sys::signals::read_signal(signals.as_fd())
                    {
                        // The terminal signals the program's group itself.
                        if from_process && status.is_none() {
                            sys::signals::kill(child.id(), sig);
                        }
                    }
                }
                TOKEN_WRITE_END => sup.registry.on_write_end((token & 0xffff_ffff) as i32),
                _ => {}
            }
        }
        if let Some(s) = status {
            while sys::spawn::reap_any() {}
            if all_gone {
                use std::os::unix::process::ExitStatusExt;
                return Ok(s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)));
            }
        }
    }
}
