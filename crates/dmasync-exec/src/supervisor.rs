//! The supervisor: receives the trapped system calls and answers them.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use dmasync::error::errno::{ENOENT, ENOTTY};
use libc::{EACCES, EEXIST, ENOTDIR};
use rustix::fs::OFlags;

use crate::ioctl::{self, efault};
use crate::objects::{Object, Registry};
use crate::paths::{classify, Node};
use crate::sys::files::{fstat_bytes, statx_bytes};
use crate::sys::mem;
use crate::sys::seccomp::{Answer, Listener, Notif};
use dmasync::fence::sw_sync::Timeline;
use dmasync::uapi::ioctl::{ioc_dir, ioc_size, ioc_type, IOC_WRITE};

/// Files whose metadata the virtual paths report (stat, access).
pub(crate) struct Templates {
    /// A 0644 regular file standing for `sw_sync`.
    sw_sync: OwnedFd,
    /// A 0444 regular file standing for `info`.
    info: OwnedFd,
    /// A 0755 directory standing for the sync directory (already removed
    /// from the file system; only its fd is kept).
    sync_dir: OwnedFd,
    /// The identity of `sync_dir`, to recognise it as a `dirfd`.
    sync_dir_key: crate::objects::Key,
}

impl Templates {
    pub(crate) fn new() -> io::Result<Templates> {
        use rustix::fs::{MemfdFlags, Mode};
        let sw_sync = rustix::fs::memfd_create("sw_sync", MemfdFlags::CLOEXEC)?;
        rustix::fs::fchmod(&sw_sync, Mode::from_raw_mode(0o644))?;
        let info = rustix::fs::memfd_create("info", MemfdFlags::CLOEXEC)?;
        rustix::fs::fchmod(&info, Mode::from_raw_mode(0o444))?;
        let base = std::env::temp_dir().join(format!("dmasync-exec-{}", std::process::id()));
        // A directory left by an earlier supervisor of the same pid.
        let _ = rustix::fs::rmdir(&base);
        rustix::fs::mkdir(&base, Mode::from_raw_mode(0o755))?;
        let dir = rustix::fs::chmod(&base, Mode::from_raw_mode(0o755)).and_then(|()| {
            rustix::fs::open(
                &base,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
        });
        let _ = rustix::fs::rmdir(&base);
        let sync_dir = dir?;
        let sync_dir_key = crate::objects::key_of(sync_dir.as_fd())?;
        Ok(Templates {
            sw_sync,
            info,
            sync_dir,
            sync_dir_key,
        })
    }

    fn of(&self, node: Node) -> Option<BorrowedFd<'_>> {
        match node {
            Node::SwSync => Some(self.sw_sync.as_fd()),
            Node::Info => Some(self.info.as_fd()),
            Node::SyncDir => Some(self.sync_dir.as_fd()),
            Node::Missing => None,
        }
    }
}

/// One trapped call being served: what the handlers may do to the caller.
pub struct Call<'a> {
    pub(crate) notif: &'a Notif,
    pub(crate) listener: &'a Listener,
    pub(crate) registry: &'a Registry,
}

impl Call<'_> {
    /// The ioctl's argument pointer.
    fn arg_addr(&self) -> u64 {
        self.notif.args[2]
    }

    /// Copies `data` to the caller at `addr`; EFAULT on failure.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), i32> {
        mem::write(self.notif.pid, addr, data).map_err(efault)
    }

    /// Copies `data` to the ioctl's argument; EFAULT on failure.
    pub fn write_arg(&self, data: &[u8]) -> Result<(), i32> {
        self.write(self.arg_addr(), data)
    }

    /// The object that the caller's fd `fd` is, if it is one of ours.
    pub fn lookup(&self, fd: i32) -> Option<Object> {
        self.registry.lookup(self.notif.pid, fd as i64 as u64)
    }

    /// Installs `fd` in the caller; returns the caller's fd number.
    pub fn install_fd(&self, fd: BorrowedFd<'_>, cloexec: bool) -> Result<i32, i32> {
        self.listener
            .add_fd(self.notif.id, fd, cloexec)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EMFILE))
    }
}

/// The supervisor: one model instance (registry of virtual objects) serving
/// the calls of every listener given to [`Supervisor::serve`], one thread
/// each, so that programs of one session share their objects.
pub struct Supervisor {
    pub(crate) registry: Registry,
    templates: Templates,
}

/// A call being handled, with the listener it came from.
pub(crate) struct Req<'a> {
    notif: &'a Notif,
    listener: &'a Listener,
}

impl std::ops::Deref for Req<'_> {
    type Target = Notif;
    fn deref(&self) -> &Notif {
        self.notif
    }
}

fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl Supervisor {
    pub(crate) fn new(registry: Registry, templates: Templates) -> Supervisor {
        Supervisor {
            registry,
            templates,
        }
    }

    /// Serves the calls sent to `listener` until no process uses its filter
    /// any more (the listener reports POLLHUP with nothing pending).
    ///
    /// # Errors
    /// The listener failed (poll or SECCOMP_IOCTL_NOTIF_RECV).
    pub fn serve(&self, listener: &Listener) -> io::Result<()> {
        use rustix::event::{poll, PollFd, PollFlags};
        loop {
            let fd = listener.as_fd();
            let mut fds = [PollFd::new(&fd, PollFlags::IN)];
            match poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            let ready = fds[0].revents();
            if !ready.contains(PollFlags::IN) {
                if ready.contains(PollFlags::HUP) {
                    return Ok(());
                }
                continue;
            }
            let Some(n) = listener.recv()? else {
                continue;
            };
            if let Some(answer) = self.handle(listener, &n) {
                let installs = matches!(answer, Answer::Fd { .. });
                match listener.answer(n.id, answer) {
                    Ok(()) => {}
                    // The caller died or was interrupted meanwhile.
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                    // The fd could not be installed (EMFILE, ...): the call
                    // must still be answered.
                    Err(e) if installs => {
                        let _ = listener.answer(
                            n.id,
                            Answer::Error(e.raw_os_error().unwrap_or(libc::EMFILE)),
                        );
                    }
                    Err(_) => {}
                }
            }
        }
    }

    /// Answers one call; `None` when the caller is gone.
    pub(crate) fn handle(&self, listener: &Listener, notif: &Notif) -> Option<Answer> {
        let n = &Req { notif, listener };
        let a = &n.args;
        match n.nr {
            libc::SYS_ioctl => self.ioctl(n),
            libc::SYS_openat => self.open(n, a[0] as i32, a[1], a[2] as i32),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_open => self.open(n, libc::AT_FDCWD, a[0], a[1] as i32),
            libc::SYS_openat2 => {
                let mut how = [0u8; 8];
                if a[3] < 8 || mem::read(n.pid, a[2], &mut how).is_err() {
                    return Some(Answer::Continue);
                }
                self.open(n, a[0] as i32, a[1], u64::from_le_bytes(how) as i32)
            }
            libc::SYS_newfstatat => self.stat(n, a[0] as i32, a[1], a[2], a[3] as i32, None),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_stat => self.stat(n, libc::AT_FDCWD, a[0], a[1], 0, None),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_lstat => self.stat(
                n,
                libc::AT_FDCWD,
                a[0],
                a[1],
                libc::AT_SYMLINK_NOFOLLOW,
                None,
            ),
            libc::SYS_statx => {
                self.stat(n, a[0] as i32, a[1], a[4], a[2] as i32, Some(a[3] as u32))
            }
            #[cfg(target_arch = "x86_64")]
            libc::SYS_access => self.access(n, libc::AT_FDCWD, a[0], a[1] as i32, 0),
            libc::SYS_faccessat => self.access(n, a[0] as i32, a[1], a[2] as i32, 0),
            libc::SYS_faccessat2 => self.access(n, a[0] as i32, a[1], a[2] as i32, a[3] as i32),
            // The virtual files have no extended attributes and are no
            // symbolic links.
            libc::SYS_getxattr | libc::SYS_lgetxattr => {
                self.path_answer(n, libc::AT_FDCWD, a[0], Answer::Error(libc::ENODATA))
            }
            libc::SYS_listxattr | libc::SYS_llistxattr => {
                self.path_answer(n, libc::AT_FDCWD, a[0], Answer::Value(0))
            }
            libc::SYS_readlinkat => {
                self.path_answer(n, a[0] as i32, a[1], Answer::Error(libc::EINVAL))
            }
            #[cfg(target_arch = "x86_64")]
            libc::SYS_readlink => {
                self.path_answer(n, libc::AT_FDCWD, a[0], Answer::Error(libc::EINVAL))
            }
            _ => Some(Answer::Continue),
        }
    }

    /// Answers `answer` for a virtual path that exists, ENOENT for one that
    /// does not, and lets other paths continue.
    fn path_answer(&self, n: &Req<'_>, dirfd: i32, path: u64, answer: Answer) -> Option<Answer> {
        let Some((node, slash)) = self.node(n, dirfd, path) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        Some(match node {
            Node::Missing => Answer::Error(ENOENT),
            Node::SwSync | Node::Info if slash => Answer::Error(ENOTDIR),
            _ => answer,
        })
    }

    fn valid(&self, n: &Req<'_>) -> bool {
        n.listener.id_valid(n.id)
    }

    fn ioctl(&self, n: &Req<'_>) -> Option<Answer> {
        let cmd = n.args[1] as u32;
        debug_assert!(crate::sys::filter::IOCTL_TYPES.contains(&ioc_type(cmd)));
        let Some(obj) = self.registry.lookup(n.pid, n.args[0]) else {
            return Some(Answer::Continue);
        };
        let Some(entry) = ioctl::find(cmd, obj.kind()) else {
            return Some(Answer::Error(ENOTTY));
        };
        let mut arg = vec![0u8; ioc_size(cmd)];
        if ioc_dir(cmd) & IOC_WRITE != 0 && mem::read(n.pid, n.args[2], &mut arg).is_err() {
            return Some(Answer::Error(libc::EFAULT));
        }
        if !self.valid(n) {
            return None;
        }
        let call = Call {
            notif: n,
            listener: n.listener,
            registry: &self.registry,
        };
        Some(match (entry.run)(&call, &obj, &arg) {
            Ok(v) => Answer::Value(v),
            Err(e) => Answer::Error(e),
        })
    }

    /// The directory a relative path of the caller starts from.
    /// A directory fd that is the virtual sync directory resolves to it.
    fn base_dir(&self, pid: u32, dirfd: i32) -> Option<Vec<u8>> {
        let link = if dirfd == libc::AT_FDCWD {
            format!("/proc/{pid}/cwd")
        } else {
            format!("/proc/{pid}/fd/{dirfd}")
        };
        if dirfd != libc::AT_FDCWD {
            let st = rustix::fs::stat(&link).ok()?;
            if (st.st_dev, st.st_ino) == self.templates.sync_dir_key {
                return Some(crate::paths::SYNC_DIR.as_bytes().to_vec());
            }
        }
        rustix::fs::readlink(link, Vec::new())
            .ok()
            .map(|c| c.into_bytes())
    }

    /// Reads the caller's path and says which virtual node it names.
    fn node(&self, n: &Req<'_>, dirfd: i32, path_addr: u64) -> Option<(Node, bool)> {
        let path = mem::read_cstr(n.pid, path_addr, libc::PATH_MAX as usize - 1).ok()?;
        classify(&path, || self.base_dir(n.pid, dirfd))
    }

    fn open(&self, n: &Req<'_>, dirfd: i32, path: u64, flags: i32) -> Option<Answer> {
        let Some((node, slash)) = self.node(n, dirfd, path) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        let oflags = OFlags::from_bits_retain(flags as u32);
        let cloexec = oflags.contains(OFlags::CLOEXEC);
        let creat_excl = oflags.contains(OFlags::CREATE | OFlags::EXCL);
        Some(match node {
            Node::Missing if oflags.contains(OFlags::CREATE) => Answer::Error(EACCES),
            Node::Missing => Answer::Error(ENOENT),
            _ if creat_excl => Answer::Error(EEXIST),
            Node::SwSync | Node::Info if slash || oflags.contains(OFlags::DIRECTORY) => {
                Answer::Error(ENOTDIR)
            }
            // An O_PATH open does not open the file (no timeline is made).
            // O_PATH files cannot be installed (ADDFD takes only full
            // files): a read-only description of the template instead.
            Node::SwSync | Node::Info if oflags.contains(OFlags::PATH) => {
                let t = self.templates.of(node).expect("file node");
                let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&t));
                match rustix::fs::open(
                    path,
                    OFlags::RDONLY | OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                ) {
                    Ok(fd) => Answer::Fd { fd, cloexec },
                    Err(e) => Answer::Error(e.raw_os_error()),
                }
            }
            Node::Info => match self.info_file() {
                Ok(fd) => Answer::Fd { fd, cloexec },
                Err(e) => Answer::Error(errno_of(&e)),
            },
            Node::SwSync => {
                let comm =
                    std::fs::read_to_string(format!("/proc/{}/comm", n.pid)).unwrap_or_default();
                let timeline = Timeline::new(comm.trim_end_matches('\n'));
                match self.registry.new_timeline(timeline, oflags) {
                    Ok(fd) => Answer::Fd { fd, cloexec },
                    Err(e) => Answer::Error(errno_of(&e)),
                }
            }
            Node::SyncDir => {
                match rustix::fs::openat(
                    &self.templates.sync_dir,
                    ".",
                    (oflags & (OFlags::ACCMODE | OFlags::NONBLOCK | OFlags::DIRECTORY))
                        | OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                ) {
                    Ok(fd) => Answer::Fd { fd, cloexec },
                    Err(e) => Answer::Error(e.raw_os_error()),
                }
            }
        })
    }

    /// A snapshot of `<debugfs>/sync/info` (sync_debug): every open
    /// timeline in order of creation with its pending points, then the
    /// (always empty) list of fences. A sealed memfd, read from offset 0.
    fn info_file(&self) -> io::Result<OwnedFd> {
        use rustix::fs::{MemfdFlags, Mode, SealFlags};
        let mut text = String::from("objs:\n--------------\n");
        for t in self.registry.timelines() {
            text.push_str(&t.timeline.describe());
        }
        text.push_str("fences:\n--------------\n");
        let fd = rustix::fs::memfd_create("info", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o444))?;
        let mut written = 0;
        while written < text.len() {
            written += rustix::io::write(&fd, &text.as_bytes()[written..])?;
        }
        rustix::fs::seek(&fd, rustix::fs::SeekFrom::Start(0))?;
        rustix::fs::fcntl_add_seals(
            &fd,
            SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
        )?;
        Ok(fd)
    }

    fn stat(
        &self,
        n: &Req<'_>,
        dirfd: i32,
        path: u64,
        buf: u64,
        flags: i32,
        statx_mask: Option<u32>,
    ) -> Option<Answer> {
        let Some((node, slash)) = self.node(n, dirfd, path) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        let Some(fd) = self.templates.of(node) else {
            return Some(Answer::Error(ENOENT));
        };
        if slash && matches!(node, Node::SwSync | Node::Info) {
            return Some(Answer::Error(ENOTDIR));
        }
        let bytes = match statx_mask {
            Some(mask) => statx_bytes(fd, flags, mask),
            None => fstat_bytes(fd),
        };
        Some(match bytes {
            Ok(b) => match mem::write(n.pid, buf, &b) {
                Ok(()) => Answer::Value(0),
                Err(_) => Answer::Error(libc::EFAULT),
            },
            Err(e) => Answer::Error(errno_of(&e)),
        })
    }

    fn access(&self, n: &Req<'_>, dirfd: i32, path: u64, mode: i32, flags: i32) -> Option<Answer> {
        let Some((node, slash)) = self.node(n, dirfd, path) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        let Some(fd) = self.templates.of(node) else {
            return Some(Answer::Error(ENOENT));
        };
        if slash && matches!(node, Node::SwSync | Node::Info) {
            return Some(Answer::Error(ENOTDIR));
        }
        let access = rustix::fs::Access::from_bits_retain(mode as u32);
        let aflags = if flags & libc::AT_EACCESS != 0 {
            rustix::fs::AtFlags::EACCESS
        } else {
            rustix::fs::AtFlags::empty()
        };
        let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
        Some(
            match rustix::fs::accessat(rustix::fs::CWD, proc_path, access, aflags) {
                Ok(()) => Answer::Value(0),
                Err(e) => Answer::Error(e.raw_os_error()),
            },
        )
    }
}
