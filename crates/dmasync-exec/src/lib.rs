//! dmasync-exec: runs unmodified programs on dmasync's virtual dma-buf
//! devices.
//!
//! [`exec`] starts a program under a seccomp filter that sends the system
//! calls that can touch the virtual devices (opening and stat'ing paths,
//! fstat, lseek, file mmaps, poll and epoll_ctl, readlink, getdents, and
//! ioctls of the dma-buf, sync_file, sw_sync, udmabuf, dma-heap and DRM
//! families) to this process, which serves the ones about its objects with
//! the `dmasync` model and lets the kernel run the others. Every virtual fd
//! is a real kernel object (a pipe, a memfd), so the kernel itself does
//! dup, fork, close-on-exec, SCM_RIGHTS and close; see DESIGN.md beside
//! this crate for the reasons and for every remaining difference.
//!
//! Served: the sw_sync device (`/sys/kernel/debug/sync/sw_sync`),
//! `/sys/kernel/debug/sync/info`, sync files, dma-bufs, the system heap
//! (`/dev/dma_heap/system`), `/dev/udmabuf`, the vgem device
//! (`/dev/dri/card0`, `/dev/dri/renderD128`) with its sysfs view and its
//! debugfs directory (`/sys/kernel/debug/dri`), and what
//! `/proc` says of these fds. Programs started separately can share one
//! supervisor through a named session.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod epoll_proxy;
mod ioctl;
mod mmap;
mod objects;
mod paths;
mod poll;
mod procfs;
mod stat;
mod supervisor;
mod sys;
mod sysfs;

use std::ffi::OsString;
use std::io;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::Arc;

use rustix::event::epoll;

use objects::{
    Registry, TOKEN_CHILD, TOKEN_INOTIFY, TOKEN_LISTENER, TOKEN_SESSION, TOKEN_SIGNAL,
    TOKEN_WRITE_END,
};
use supervisor::{Supervisor, Templates};

/// Why a program could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No program was given.
    #[error("no program to run")]
    NoProgram,
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
    /// A session to serve the program in: the first `exec` of a session
    /// serves it, later ones (in other processes) hand their program to that
    /// supervisor, so that all share one model (a sync file made by one
    /// program is known to the others).
    pub session: Option<String>,
}

/// Runs a program, and everything it starts, on the virtual devices, and
/// returns its exit code (128 + the signal number if a signal killed it).
///
/// Returns when the program has exited and no process it started is left
/// (orphans are reparented to, and reaped by, the calling process); the
/// supervisor of a session also waits for the programs that joined it.
/// SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to the calling process are
/// passed on to the program (they stay blocked in the calling thread), and
/// the calling process becomes a child subreaper: meant to be the last thing
/// a process does.
///
/// # Errors
/// [`Error::NoProgram`] for an empty `argv`; [`Error::Io`] when the program
/// cannot be started (not found, seccomp refused), the session cannot be
/// reached or the supervisor cannot be set up.
pub fn exec(options: &ExecOptions) -> Result<i32, Error> {
    let (program, args) = options.argv.split_first().ok_or(Error::NoProgram)?;
    sys::seccomp::check_sizes().map_err(io_err("seccomp user notification is not available"))?;
    sys::files::ignore_sigpipe();
    sys::spawn::become_subreaper().map_err(io_err("prctl(PR_SET_CHILD_SUBREAPER)"))?;
    let endpoint = match &options.session {
        Some(name) => Some(sys::session::open(name).map_err(io_err("opening the session"))?),
        None => None,
    };

    let mut cmd = Command::new(program);
    cmd.args(args);
    let filter = sys::seccomp::Program::new(sys::filter::program());
    let (child, listener) =
        sys::spawn::spawn(cmd, filter).map_err(io_err("starting the program"))?;
    let _ = listener.set_sync_wakeup();
    // Blocked before any thread starts, so that every thread inherits the mask.
    let signals = sys::signals::forwarding_fd().map_err(io_err("signalfd"))?;
    let listener = Arc::new(listener);

    let (session, registry) = match endpoint {
        Some(sys::session::Endpoint::Member(conn)) => {
            if join(&conn, &listener) {
                let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| Error::Io {
                    what: "epoll_create",
                    source: e.into(),
                })?;
                return Waiter::new(epoll, child, signals, None, None)?.run(listener);
            }
            // The session's supervisor went away: serve the program here.
            (
                None,
                Registry::new().map_err(io_err("setting up the registry"))?,
            )
        }
        Some(sys::session::Endpoint::Owner(sock)) => (
            Some(sock),
            Registry::new().map_err(io_err("setting up the registry"))?,
        ),
        None => (
            None,
            Registry::new().map_err(io_err("setting up the registry"))?,
        ),
    };
    let templates = Templates::new().map_err(io_err("setting up the virtual paths"))?;
    let epoll = rustix::io::dup(&registry.epoll).map_err(|e| Error::Io {
        what: "dup",
        source: e.into(),
    })?;
    let sup =
        Arc::new(Supervisor::new(registry, templates).map_err(io_err("setting up the devices"))?);
    Waiter::new(epoll, child, signals, Some(sup), session)?.run(listener)
}

/// Hands `listener` to the session's supervisor; `true` once it confirmed
/// that it serves it.
fn join(conn: &std::os::fd::OwnedFd, listener: &sys::seccomp::Listener) -> bool {
    use std::os::fd::AsRawFd;
    if sys::scm::send_fd(conn.as_raw_fd(), listener.as_fd().as_raw_fd()).is_err() {
        return false;
    }
    let mut ack = [0u8; 1];
    matches!(rustix::io::read(conn, &mut ack), Ok(1))
}

/// Starts a thread serving `listener`.
fn start_serving(
    sup: &Arc<Supervisor>,
    listener: &Arc<sys::seccomp::Listener>,
) -> Result<(), Error> {
    let (sup, listener) = (sup.clone(), listener.clone());
    std::thread::Builder::new()
        .name("dmasync-exec".into())
        .spawn(move || {
            if let Err(e) = sup.serve(&listener) {
                eprintln!("dmasync exec: serving stopped: {e}");
            }
        })
        .map(|_| ())
        .map_err(io_err("starting a serving thread"))
}

/// The main thread's loop: the child's exit, the listeners' POLLHUP,
/// releases of virtual objects, signals, and session members.
struct Waiter {
    epoll: std::os::fd::OwnedFd,
    child: std::process::Child,
    pidfd: std::os::fd::OwnedFd,
    signals: std::os::fd::OwnedFd,
    sup: Option<Arc<Supervisor>>,
    session: Option<std::os::fd::OwnedFd>,
    /// Listeners not yet reported gone, by token index.
    listeners: Vec<Option<Arc<sys::seccomp::Listener>>>,
}

impl Waiter {
    fn new(
        epoll: std::os::fd::OwnedFd,
        child: std::process::Child,
        signals: std::os::fd::OwnedFd,
        sup: Option<Arc<Supervisor>>,
        session: Option<std::os::fd::OwnedFd>,
    ) -> Result<Waiter, Error> {
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_child(&child),
            rustix::process::PidfdFlags::empty(),
        )
        .map_err(|e| Error::Io {
            what: "pidfd_open",
            source: e.into(),
        })?;
        let w = Waiter {
            epoll,
            child,
            pidfd,
            signals,
            sup,
            session,
            listeners: Vec::new(),
        };
        w.watch(w.pidfd.as_fd(), TOKEN_CHILD, epoll::EventFlags::IN)?;
        w.watch(w.signals.as_fd(), TOKEN_SIGNAL, epoll::EventFlags::IN)?;
        if let Some(s) = &w.session {
            w.watch(s.as_fd(), TOKEN_SESSION, epoll::EventFlags::IN)?;
        }
        Ok(w)
    }

    fn watch(
        &self,
        fd: std::os::fd::BorrowedFd<'_>,
        token: u64,
        events: epoll::EventFlags,
    ) -> Result<(), Error> {
        epoll::add(&self.epoll, fd, epoll::EventData::new_u64(token), events).map_err(|e| {
            Error::Io {
                what: "epoll_ctl",
                source: e.into(),
            }
        })
    }

    /// Watches `listener` for its POLLHUP (always reported) and serves it
    /// when this process is a supervisor. POLLIN, a pending call, is the
    /// serving thread's business.
    fn add_listener(&mut self, listener: Arc<sys::seccomp::Listener>) -> Result<(), Error> {
        let token = TOKEN_LISTENER | self.listeners.len() as u64;
        self.watch(listener.as_fd(), token, epoll::EventFlags::empty())?;
        if let Some(sup) = &self.sup {
            start_serving(sup, &listener)?;
        }
        self.listeners.push(Some(listener));
        Ok(())
    }

    fn on_session(&mut self) {
        loop {
            let Some(sock) = &self.session else { return };
            let Some(conn) = sys::session::accept(sock.as_fd()) else {
                return;
            };
            use std::os::fd::AsRawFd;
            let Ok(fd) = sys::scm::recv_fd(conn.as_raw_fd()) else {
                continue;
            };
            let listener = Arc::new(sys::seccomp::Listener::new(fd));
            let _ = listener.set_sync_wakeup();
            if self.add_listener(listener).is_ok() {
                let _ = rustix::io::write(&conn, &[1u8]);
            }
        }
    }

    fn run(mut self, own: Arc<sys::seccomp::Listener>) -> Result<i32, Error> {
        self.add_listener(own)?;
        let mut status = None;
        let mut events = Vec::with_capacity(64);
        loop {
            events.clear();
            let timeout = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 100_000_000,
            };
            let t = status.is_some().then_some(&timeout);
            match epoll::wait(&self.epoll, rustix::buffer::spare_capacity(&mut events), t) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    return Err(Error::Io {
                        what: "epoll_wait",
                        source: e.into(),
                    })
                }
            }
            for ev in &events {
                let (flags, data) = (ev.flags, ev.data);
                let token = data.u64();
                let low = (token & 0xffff_ffff) as usize;
                match token & !0xffff_ffff {
                    TOKEN_CHILD => {
                        if let Ok(Some(s)) = self.child.try_wait() {
                            status = Some(s);
                            let _ = epoll::delete(&self.epoll, &self.pidfd);
                        }
                    }
                    TOKEN_LISTENER if flags.contains(epoll::EventFlags::HUP) => {
                        if let Some(l) = self.listeners.get_mut(low).and_then(Option::take) {
                            let _ = epoll::delete(&self.epoll, l.as_fd());
                        }
                    }
                    TOKEN_SESSION => self.on_session(),
                    TOKEN_INOTIFY => {
                        if let Some(sup) = &self.sup {
                            sup.registry.on_inotify();
                        }
                    }
                    TOKEN_WRITE_END => {
                        if let Some(sup) = &self.sup {
                            sup.registry.on_write_end(low as u32);
                        }
                    }
                    TOKEN_SIGNAL => {
                        while let Some((sig, from_process)) =
                            sys::signals::read_signal(self.signals.as_fd())
                        {
                            // The terminal signals the program's group itself.
                            if from_process && status.is_none() {
                                sys::signals::kill(self.child.id(), sig);
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Some(s) = status {
                while sys::spawn::reap_any() {}
                if self.listeners.iter().all(Option::is_none) {
                    // No new member may join a session that is ending.
                    self.session = None;
                    use std::os::unix::process::ExitStatusExt;
                    return Ok(s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)));
                }
            }
        }
    }
}

/// The ioctl dispatch with a mock caller, for the fuzz target
/// (crates/dmasync-exec/fuzz). Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use std::os::fd::{BorrowedFd, OwnedFd};
    use std::sync::OnceLock;

    use crate::ioctl::{dispatch, Ctx, Outcome};
    use crate::objects::{Object, Registry};

    /// Where the mock caller's argument memory starts.
    pub const ARG_ADDR: u64 = 0x1000;

    struct Mock<'a> {
        registry: &'a Registry,
        mem: std::cell::RefCell<Vec<u8>>,
    }

    impl Mock<'_> {
        fn range(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, i32> {
            let start = addr.checked_sub(ARG_ADDR).ok_or(libc::EFAULT)? as usize;
            let end = start.checked_add(len).ok_or(libc::EFAULT)?;
            if end > self.mem.borrow().len() {
                return Err(libc::EFAULT);
            }
            Ok(start..end)
        }
    }

    impl Ctx for Mock<'_> {
        fn arg_addr(&self) -> u64 {
            ARG_ADDR
        }
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), i32> {
            let r = self.range(addr, buf.len())?;
            buf.copy_from_slice(&self.mem.borrow()[r]);
            Ok(())
        }
        fn write(&self, addr: u64, data: &[u8]) -> Result<(), i32> {
            let r = self.range(addr, data.len())?;
            self.mem.borrow_mut()[r].copy_from_slice(data);
            Ok(())
        }
        fn lookup_open(&self, fd: i32) -> Result<Option<Object>, i32> {
            if fd == 3 {
                Ok(None)
            } else {
                Err(libc::EBADF)
            }
        }
        fn get_fd(&self, fd: i32) -> Result<OwnedFd, i32> {
            if fd == 3 {
                use rustix::fs::{MemfdFlags, SealFlags};
                let m = rustix::fs::memfd_create(
                    "fuzz",
                    MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
                )
                .map_err(|e| e.raw_os_error())?;
                let _ = rustix::fs::ftruncate(&m, 16384);
                let _ = rustix::fs::fcntl_add_seals(&m, SealFlags::SHRINK);
                Ok(m)
            } else {
                Err(libc::EBADF)
            }
        }
        fn install_fd(&self, _fd: BorrowedFd<'_>, _cloexec: bool) -> Result<i32, i32> {
            Ok(100)
        }
        fn registry(&self) -> &Registry {
            self.registry
        }
        fn defer(
            &self,
            _job: Box<dyn FnOnce(&dmasync::fence::Interrupt) -> Outcome + Send>,
        ) -> Outcome {
            Err(libc::EAGAIN)
        }
    }

    fn device() -> &'static dmasync::drm::Device {
        static DEV: OnceLock<dmasync::drm::Device> = OnceLock::new();
        DEV.get_or_init(dmasync::drm::Device::new)
    }

    /// Serves ioctl `cmd` on a fresh object of kind `kind % 6` (sync file,
    /// timeline, dma-buf, DRM file, heap, udmabuf) with `arg` as the
    /// caller's memory at [`ARG_ADDR`]; returns the outcome.
    pub fn ioctl(kind: u8, cmd: u32, arg: &[u8]) -> Result<i64, i32> {
        // As in the supervisor: a sync file's signal byte written after its
        // read end is gone must give EPIPE, not kill the process.
        static SIGPIPE: OnceLock<()> = OnceLock::new();
        SIGPIPE.get_or_init(crate::sys::files::ignore_sigpipe);
        let registry = Registry::new().expect("registry");
        let obj = match kind % 6 {
            0 => {
                let t = dmasync::fence::sw_sync::Timeline::new("fuzz");
                let f = dmasync::sync_file::SyncFile::new(t.create_fence(1));
                let _fd = registry.new_sync_file(f, [0; 32]).expect("sync file");
                registry.timelines();
                let obj = registry_sync_file(&registry);
                obj.expect("sync file registered")
            }
            1 => {
                let t = dmasync::fence::sw_sync::Timeline::new("fuzz");
                let _fd = registry
                    .new_timeline(t, rustix::fs::OFlags::RDWR)
                    .expect("timeline");
                Object::Timeline(registry.timelines().pop().expect("timeline"))
            }
            2 => {
                let buf = dmasync::buf::heap::alloc(8192, 2, 0).expect("alloc");
                let _fd = registry.dma_buf_fd(&buf, 2).expect("dma-buf fd");
                registry_dma_buf(&registry).expect("dma-buf registered")
            }
            3 => {
                let _fd = registry
                    .new_drm_file(
                        device().open(arg.first() == Some(&1)),
                        rustix::fs::OFlags::RDWR,
                        (0, 0),
                    )
                    .expect("drm");
                registry_drm(&registry).expect("drm registered")
            }
            4 => Object::Heap,
            _ => Object::Udmabuf,
        };
        let mock = Mock {
            registry: &registry,
            mem: std::cell::RefCell::new(arg.to_vec()),
        };
        dispatch(&mock, &obj, cmd)
    }

    fn registry_sync_file(r: &Registry) -> Option<Object> {
        r.objects()
            .into_iter()
            .find(|o| matches!(o, Object::SyncFile(_)))
    }
    fn registry_dma_buf(r: &Registry) -> Option<Object> {
        r.objects()
            .into_iter()
            .find(|o| matches!(o, Object::DmaBuf(_)))
    }
    fn registry_drm(r: &Registry) -> Option<Object> {
        r.objects()
            .into_iter()
            .find(|o| matches!(o, Object::Drm(_)))
    }
}
