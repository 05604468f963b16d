//! The supervisor: receives the trapped system calls and answers them.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use dmasync::error::errno::ENOENT;
use libc::{EACCES, EEXIST, ENOTDIR};
use rustix::fs::OFlags;

use std::sync::Arc;

use dmasync::fence::Interrupt;

use crate::ioctl::{self, efault, Ctx, Outcome};
use crate::objects::{Key, Named, Object, Registry};
use crate::paths::{classify, Node, Place};
use crate::procfs;
use crate::stat::Identity;
use crate::sys::filter::FIONREAD;
use crate::sys::mem;
use crate::sys::seccomp::{Answer, Listener, Notif};
use dmasync::fence::sw_sync::Timeline;
use dmasync::uapi::ioctl::ioc_type;

/// Files whose metadata the virtual paths report (stat, access), and the
/// descriptions opened for the stateless devices.
pub(crate) struct Templates {
    /// A 0644 regular file standing for `sw_sync`.
    sw_sync: OwnedFd,
    /// A 0444 regular file standing for `info`.
    info: OwnedFd,
    /// 0666 regular files standing for `/dev/dma_heap/system`,
    /// `/dev/udmabuf` and the DRM nodes; opens of the first two are
    /// descriptions of these very files.
    heap: OwnedFd,
    udmabuf: OwnedFd,
    card0: OwnedFd,
    render: OwnedFd,
    /// An eventfd: an anonymous-inode file, as sync files are; they all
    /// share that one inode, which fstat of a sync file reports.
    anon: OwnedFd,
    /// One file per virtual file node, registered as its `O_PATH` open
    /// ([`Object::PathOnly`]): ADDFD cannot install `O_PATH` files, so an
    /// `O_PATH` open gets a read-only description of this one.
    path_only: Vec<(Node, OwnedFd)>,
    /// 0755 directories standing for the virtual directories (already
    /// removed from the file system; only their fds are kept), with their
    /// identities, to recognise them as a `dirfd`.
    dirs: Vec<(Node, OwnedFd, crate::objects::Key, &'static str)>,
    /// A 0444 regular file standing for the served sysfs links (their
    /// identity is [`Identity::of_node`]'s).
    sys_file: OwnedFd,
    /// The host directories that hold served entries
    /// ([`crate::sysfs::HOST_DIRS`], by index) that exist, with their
    /// identities.
    host_dirs: Vec<(usize, crate::objects::Key)>,
    /// The files of the served sysfs files and links, made (and
    /// registered) when a program first names one: most programs never
    /// do ([`Supervisor::sys`]). `None` when they could not be made.
    sys: std::sync::OnceLock<Option<SysFiles>>,
}

/// The files standing for the served sysfs files and links.
pub(crate) struct SysFiles {
    /// One sealed file per served sysfs attribute, by its index in
    /// [`crate::sysfs::TREE`], holding its text, with its permissions: an
    /// open of the attribute is a read-only description of it
    /// ([`Object::SysAttr`]), so that all opens share its inode, as the
    /// kernel's share the attribute's.
    attrs: Vec<(u8, OwnedFd)>,
    /// One unsealed file per served `uevent` attribute, by index, which
    /// its opens for writing are descriptions of (`Object::SysAttr` too):
    /// writing a uevent sends an event and changes nothing that reads.
    sinks: Vec<(u8, OwnedFd)>,
    /// One file per served file or link, registered as its `O_PATH` open
    /// ([`Object::PathOnly`]), as the device nodes' in
    /// `Templates::path_only`: an O_PATH open of a file, or of a link
    /// with O_NOFOLLOW (systemd's path walk, in libudev, opens each
    /// component so and reads the links it meets), gives the entry itself.
    path_only: Vec<(Node, OwnedFd)>,
}

impl SysFiles {
    fn new() -> io::Result<SysFiles> {
        use crate::sysfs::{Kind, TREE};
        Ok(SysFiles {
            attrs: TREE
                .iter()
                .enumerate()
                .filter_map(|(i, e)| match e.kind {
                    Kind::File { perm, text } => Some((i, perm, text)),
                    _ => None,
                })
                .map(|(i, perm, text)| Ok((i as u8, attr_template(text, perm)?)))
                .collect::<io::Result<_>>()?,
            sinks: TREE
                .iter()
                .enumerate()
                .filter_map(|(i, e)| match e.kind {
                    Kind::File { text, .. } if e.path.ends_with("/uevent") => Some((i, text)),
                    _ => None,
                })
                .map(|(i, text)| {
                    // Its text, for an O_RDWR open's reads.
                    let fd = template("uevent", 0o644)?;
                    rustix::io::write(&fd, text.as_bytes())?;
                    Ok((i as u8, fd))
                })
                .collect::<io::Result<_>>()?,
            path_only: TREE
                .iter()
                .enumerate()
                .filter(|(_, e)| !matches!(e.kind, Kind::Dir { .. }))
                .map(|(i, _)| Ok((Node::Sys(i as u8), template("path", 0o600)?)))
                .collect::<io::Result<_>>()?,
        })
    }
}

fn removed_dir(tag: &str) -> io::Result<OwnedFd> {
    use rustix::fs::Mode;
    let base = std::env::temp_dir().join(format!("dmasync-exec-{}-{tag}", std::process::id()));
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
    Ok(dir?)
}

/// A sealed memfd holding `text`, with permissions `perm`: a sysfs
/// attribute's file.
fn attr_template(text: &str, perm: u32) -> io::Result<OwnedFd> {
    use rustix::fs::{MemfdFlags, Mode, SealFlags};
    let fd = rustix::fs::memfd_create("sysfs", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    let mut written = 0;
    while written < text.len() {
        written += rustix::io::write(&fd, &text.as_bytes()[written..])?;
    }
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(perm))?;
    rustix::fs::fcntl_add_seals(
        &fd,
        SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
    )?;
    Ok(fd)
}

fn template(name: &str, mode: u32) -> io::Result<OwnedFd> {
    use rustix::fs::{MemfdFlags, Mode};
    let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC)?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    Ok(fd)
}

impl Templates {
    pub(crate) fn new() -> io::Result<Templates> {
        let mut dirs = Vec::new();
        for (node, tag, path) in [
            (Node::SyncDir, "sync", crate::paths::SYNC_DIR),
            (Node::HeapDir, "heap", crate::paths::HEAP_DIR),
            (Node::DriDir, "dri", crate::paths::DRI_DIR),
        ] {
            let fd = removed_dir(tag)?;
            let key = crate::objects::key_of(fd.as_fd())?;
            dirs.push((node, fd, key, path));
        }
        for (i, e) in crate::sysfs::TREE.iter().enumerate() {
            if matches!(e.kind, crate::sysfs::Kind::Dir { .. }) {
                let fd = removed_dir(&format!("sys{i}"))?;
                let key = crate::objects::key_of(fd.as_fd())?;
                dirs.push((Node::Sys(i as u8), fd, key, e.path));
            }
        }
        Ok(Templates {
            sw_sync: template("sw_sync", 0o644)?,
            info: template("info", 0o444)?,
            heap: template("system", 0o666)?,
            udmabuf: template("udmabuf", 0o666)?,
            card0: template("card0", 0o666)?,
            render: template("renderD128", 0o666)?,
            anon: rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC)?,
            path_only: [
                Node::SwSync,
                Node::Info,
                Node::HeapSystem,
                Node::Udmabuf,
                Node::Card0,
                Node::RenderD128,
            ]
            .into_iter()
            .map(|node| Ok((node, template("path", 0o600)?)))
            .collect::<io::Result<_>>()?,
            dirs,
            sys_file: template("sysfs", 0o444)?,
            host_dirs: crate::sysfs::HOST_DIRS
                .iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    let st = rustix::fs::stat(d.path).ok()?;
                    Some((i, (st.st_dev, st.st_ino)))
                })
                .collect(),
            sys: std::sync::OnceLock::new(),
        })
    }

    /// The file whose inode the kernel's file for `obj` has, where all of
    /// them share one (sync files: the anonymous inode; timelines: the
    /// debugfs file; DRM files: their node); `None` for the others (each
    /// dma-buf has its own, as its stand-in does).
    pub(crate) fn shared_inode(&self, obj: &Object) -> Option<BorrowedFd<'_>> {
        match obj {
            Object::SyncFile(_) => Some(self.anon.as_fd()),
            Object::Timeline(_) => Some(self.sw_sync.as_fd()),
            Object::Drm(f) if f.file.is_render() => Some(self.render.as_fd()),
            Object::Drm(_) => Some(self.card0.as_fd()),
            _ => None,
        }
    }

    fn of(&self, node: Node) -> Option<BorrowedFd<'_>> {
        match node {
            Node::SwSync => Some(self.sw_sync.as_fd()),
            Node::Info => Some(self.info.as_fd()),
            Node::HeapSystem => Some(self.heap.as_fd()),
            Node::Udmabuf => Some(self.udmabuf.as_fd()),
            Node::Card0 => Some(self.card0.as_fd()),
            Node::RenderD128 => Some(self.render.as_fd()),
            Node::Missing | Node::NotDir | Node::Outside => None,
            // See `Supervisor::template_of` for the attributes.
            Node::Sys(_) if !node.is_dir() => Some(self.sys_file.as_fd()),
            dir => self.dirs.iter().find(|d| d.0 == dir).map(|d| d.1.as_fd()),
        }
    }
}

/// One trapped call being served: what the handlers may do to the caller.
pub struct Call<'a> {
    pub(crate) notif: &'a Notif,
    pub(crate) listener: &'a Arc<Listener>,
    pub(crate) registry: &'a Registry,
}

impl Ctx for Call<'_> {
    fn arg_addr(&self) -> u64 {
        self.notif.args[2]
    }

    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), i32> {
        if buf.is_empty() {
            return Ok(());
        }
        mem::read(self.notif.pid, addr, buf).map_err(efault)
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), i32> {
        mem::write(self.notif.pid, addr, data).map_err(efault)
    }

    fn lookup_open(&self, fd: i32) -> Result<Option<Object>, i32> {
        self.registry.lookup_open(self.notif.pid, fd)
    }

    fn get_fd(&self, fd: i32) -> Result<OwnedFd, i32> {
        self.registry.get_fd(self.notif.pid, fd)
    }

    fn install_fd(&self, fd: BorrowedFd<'_>, cloexec: bool) -> Result<i32, i32> {
        self.listener
            .add_fd(self.notif.id, fd, cloexec)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EMFILE))
    }

    fn registry(&self) -> &Registry {
        self.registry
    }

    fn tid(&self) -> Option<u32> {
        Some(self.notif.pid)
    }

    fn defer(&self, job: Box<dyn FnOnce(&Interrupt) -> Outcome + Send>) -> Outcome {
        let listener = self.listener.clone();
        let refreshes = self.registry.proxy_refreshes.clone();
        let id = self.notif.id;
        let intr = Interrupt::new();
        let intr2 = intr.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("dmasync-wait".into())
            .spawn(move || {
                let _ = tx.send(job(&intr2));
            })
            .map_err(|_| libc::EAGAIN)?;
        std::thread::Builder::new()
            .name("dmasync-answer".into())
            .spawn(move || loop {
                use std::sync::mpsc::RecvTimeoutError;
                match rx.recv_timeout(WAIT_CHECK) {
                    Ok(outcome) => {
                        refreshes.settle();
                        if listener.id_valid(id) {
                            let _ = listener.answer(id, outcome_answer(outcome));
                        }
                        return;
                    }
                    // The caller died or a signal interrupted the call:
                    // end the wait; nobody is left to answer.
                    Err(RecvTimeoutError::Timeout) if !listener.id_valid(id) => intr.raise(),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .map_err(|_| libc::EAGAIN)?;
        Err(ioctl::DEFERRED)
    }
}

/// How often a worker checks that its caller still waits.
const WAIT_CHECK: std::time::Duration = std::time::Duration::from_millis(50);

/// Writes what stat says of `fd` as `id` (a `struct statx` when
/// `statx_mask` is given) to the caller's `buf`.
fn stat_answer(
    n: &Req<'_>,
    fd: BorrowedFd<'_>,
    id: Identity,
    buf: u64,
    flags: i32,
    statx_mask: Option<u32>,
) -> Answer {
    let bytes = match statx_mask {
        Some(mask) => id.statx(fd, flags, mask),
        None => id.stat(fd),
    };
    match bytes {
        Ok(b) => match mem::write(n.pid, buf, &b) {
            Ok(()) => Answer::Value(0),
            Err(_) => Answer::Error(libc::EFAULT),
        },
        Err(e) => Answer::Error(errno_of(&e)),
    }
}

/// Copies `bytes` to the caller's `buf`: 0, EFAULT, or the error that
/// made no bytes.
fn write_answer(n: &Req<'_>, buf: u64, bytes: io::Result<Vec<u8>>) -> Answer {
    match bytes {
        Ok(b) => match mem::write(n.pid, buf, &b) {
            Ok(()) => Answer::Value(0),
            Err(_) => Answer::Error(libc::EFAULT),
        },
        Err(e) => Answer::Error(errno_of(&e)),
    }
}

/// An open of a host path reached through a served sysfs link: the
/// supervisor opens it and the program gets that description (`O_PATH`
/// files cannot be installed: a read-only open instead).
fn open_outside(abs: &[u8], oflags: OFlags) -> Answer {
    let mut flags = oflags
        & (OFlags::ACCMODE | OFlags::NONBLOCK | OFlags::DIRECTORY | OFlags::NOFOLLOW)
        | OFlags::CLOEXEC;
    if oflags.contains(OFlags::PATH) {
        flags &= !OFlags::ACCMODE;
    }
    match rustix::fs::open(abs, flags, rustix::fs::Mode::empty()) {
        Ok(fd) => Answer::Fd {
            fd,
            cloexec: oflags.contains(OFlags::CLOEXEC),
        },
        Err(e) => Answer::Error(e.raw_os_error()),
    }
}

/// `stat` of a host path reached through a served sysfs link, by the
/// supervisor (`nofollow`: of a link itself).
fn stat_outside(
    n: &Req<'_>,
    abs: &[u8],
    nofollow: bool,
    buf: u64,
    flags: i32,
    statx_mask: Option<u32>,
) -> Answer {
    let mut o = OFlags::PATH | OFlags::CLOEXEC;
    if nofollow {
        o |= OFlags::NOFOLLOW;
    }
    let bytes = rustix::fs::open(abs, o, rustix::fs::Mode::empty())
        .map_err(io::Error::from)
        .and_then(|fd| match statx_mask {
            Some(mask) => crate::sys::files::statx_bytes(fd.as_fd(), flags, mask),
            None => {
                crate::sys::files::fstat(fd.as_fd()).map(|st| crate::sys::files::stat_bytes(&st))
            }
        });
    match bytes {
        Ok(b) => match mem::write(n.pid, buf, &b) {
            Ok(()) => Answer::Value(0),
            Err(_) => Answer::Error(libc::EFAULT),
        },
        Err(e) => Answer::Error(errno_of(&e)),
    }
}

/// One entry of a host directory's listing, at its kernfs position.
struct HostDirent {
    pos: u64,
    ino: u64,
    d_type: u8,
    name: Vec<u8>,
}

/// Where kernfs puts a directory's position once every entry is listed.
const KERNFS_END: u64 = i32::MAX as u64;

/// The inode number of `fd`'s file (0 if it cannot be had).
fn st_ino_of(fd: &OwnedFd) -> u64 {
    rustix::fs::fstat(fd).map_or(0, |st| st.st_ino)
}

/// Every entry of the directory `dir` is open on, each at its position
/// (the `d_off` of the entry before it; `.` at 0), read through a new
/// description of it (the caller's position does not move).
fn host_listing(dir: &OwnedFd) -> Option<Vec<HostDirent>> {
    let own = rustix::fs::open(
        format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(dir)),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ok()?;
    let mut entries = Vec::new();
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 32768];
    let mut dir = rustix::fs::RawDir::new(&own, &mut buf);
    let mut pos = 0u64;
    while let Some(e) = dir.next() {
        let e = e.ok()?;
        use rustix::fs::FileType;
        let d_type = match e.file_type() {
            FileType::Directory => libc::DT_DIR,
            FileType::Symlink => libc::DT_LNK,
            FileType::RegularFile => libc::DT_REG,
            FileType::CharacterDevice => libc::DT_CHR,
            FileType::BlockDevice => libc::DT_BLK,
            FileType::Fifo => libc::DT_FIFO,
            FileType::Socket => libc::DT_SOCK,
            _ => libc::DT_UNKNOWN,
        };
        entries.push(HostDirent {
            pos,
            ino: e.ino(),
            d_type,
            name: e.file_name().to_bytes().to_vec(),
        });
        pos = e.next_entry_cookie();
    }
    Some(entries)
}

/// Encodes the entries at or after position `from` as `linux_dirent64`
/// records (each `d_off` the next entry's position, the last's
/// [`KERNFS_END`]) into at most `room` bytes; returns them and the
/// position to resume at.
fn host_dirents(entries: &[HostDirent], from: u64, room: usize) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let mut rest = entries.iter().skip_while(|e| e.pos < from).peekable();
    while let Some(e) = rest.next() {
        let len = (8 + 8 + 2 + 1 + e.name.len() + 1 + 7) & !7;
        if out.len() + len > room {
            return (out, e.pos);
        }
        let next = rest.peek().map_or(KERNFS_END, |n| n.pos);
        let start = out.len();
        out.extend_from_slice(&e.ino.to_ne_bytes());
        out.extend_from_slice(&(next as i64).to_ne_bytes());
        out.extend_from_slice(&(len as u16).to_ne_bytes());
        out.push(e.d_type);
        out.extend_from_slice(&e.name);
        out.resize(start + len, 0);
    }
    (out, KERNFS_END.max(from))
}

/// The text of the DRM debugfs `clients` file (`drm_clients_info`) for
/// `files`, oldest first: each file's owner's command name (`<unknown>`
/// once the process is gone) and pid, the file's minor, whether it is the
/// current master, whether it is authenticated, the owner's effective uid
/// (0 once gone) and the file's magic.
fn clients_text(files: &[Arc<crate::objects::DrmFileObj>]) -> String {
    use std::fmt::Write;
    let mut text = format!(
        "{:>20} {:>5} {:>3} master a {:>5} {:>10}\n",
        "command", "tgid", "dev", "uid", "magic"
    );
    for f in files {
        let pid = f.owner();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok();
        let uid = crate::sys::files::ProcStatus::read(pid)
            .and_then(|s| {
                s.field("Uid")
                    .and_then(|v| v.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u32>().ok())
            })
            .unwrap_or(0);
        let yn = |b: bool| if b { 'y' } else { 'n' };
        let _ = writeln!(
            text,
            "{:>20} {:5} {:3}   {}    {} {:5} {:10}",
            comm.as_deref()
                .map_or("<unknown>", |c| c.trim_end_matches('\n')),
            pid,
            f.file.minor_index(),
            yn(f.file.is_master()),
            yn(f.file.is_authenticated()),
            uid,
            f.file.magic()
        );
    }
    text
}

/// Whether the thread whose `/proc/<tid>/status` is `status` has
/// `CAP_SYS_ADMIN` in its effective set (its `CapEff` mask): the kernel's `capable()` as the
/// DRM core asks it when a file is opened.
fn has_sys_admin(status: Option<&crate::sys::files::ProcStatus>) -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    status
        .and_then(|s| s.mask("CapEff"))
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// Whether the thread whose `/proc/<tid>/status` is `status` may write a
/// file of root's with mode 0644: its file system uid is root's, or it
/// has `CAP_DAC_OVERRIDE` in its effective set.
fn may_write_roots(status: Option<&crate::sys::files::ProcStatus>) -> bool {
    const CAP_DAC_OVERRIDE: u32 = 1;
    let Some(status) = status else {
        return false;
    };
    // "Uid:" real, effective, saved, file system.
    let fsuid = status
        .field("Uid")
        .and_then(|u| u.split_whitespace().nth(3))
        .and_then(|u| u.parse::<u32>().ok());
    fsuid == Some(0)
        || status
            .mask("CapEff")
            .is_some_and(|caps| caps & (1 << CAP_DAC_OVERRIDE) != 0)
}

/// The caller's path at `addr` (at most PATH_MAX - 1 bytes).
fn read_path(n: &Req<'_>, addr: u64) -> io::Result<Vec<u8>> {
    mem::read_cstr(n.pid, addr, libc::PATH_MAX as usize - 1)
}

fn outcome_answer(o: Outcome) -> Answer {
    match o {
        Ok(v) => Answer::Value(v),
        Err(e) => Answer::Error(e),
    }
}

/// The supervisor: one model instance (registry of virtual objects) serving
/// the calls of every listener given to [`Supervisor::serve`], one thread
/// each, so that programs of one session share their objects.
pub struct Supervisor {
    pub(crate) registry: Registry,
    templates: Templates,
    /// The vgem device.
    drm: dmasync::drm::Device,
    /// The epoll registrations of dma-bufs.
    epolls: crate::epoll_proxy::Proxies,
}

/// A call being handled, with the listener it came from.
pub(crate) struct Req<'a> {
    notif: &'a Notif,
    listener: &'a Arc<Listener>,
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
    pub(crate) fn new(registry: Registry, templates: Templates) -> io::Result<Supervisor> {
        registry.add_device(templates.heap.as_fd(), Object::Heap)?;
        registry.add_device(templates.udmabuf.as_fd(), Object::Udmabuf)?;
        for (node, fd) in &templates.path_only {
            registry.add_device(fd.as_fd(), Object::PathOnly(*node))?;
        }
        Ok(Supervisor {
            epolls: crate::epoll_proxy::Proxies::new(&registry),
            registry,
            templates,
            drm: dmasync::drm::Device::new(),
        })
    }

    /// Serves the calls sent to `listener` until no process uses its filter
    /// any more (the listener reports POLLHUP with nothing pending).
    ///
    /// # Errors
    /// The listener failed (poll or SECCOMP_IOCTL_NOTIF_RECV).
    pub fn serve(&self, listener: &Arc<Listener>) -> io::Result<()> {
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
                self.registry.proxy_refreshes.settle();
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
    pub(crate) fn handle(&self, listener: &Arc<Listener>, notif: &Notif) -> Option<Answer> {
        let n = &Req { notif, listener };
        let a = &n.args;
        match n.nr {
            libc::SYS_ioctl => self.ioctl(n),
            libc::SYS_openat => self.open(n, a[0] as i32, a[1], a[2] as i32),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_poll => crate::poll::serve(&self.registry, n.listener, n.notif, false),
            libc::SYS_ppoll => crate::poll::serve(&self.registry, n.listener, n.notif, true),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_select => {
                crate::poll::serve_select(&self.registry, n.listener, n.notif, false)
            }
            libc::SYS_pselect6 => {
                crate::poll::serve_select(&self.registry, n.listener, n.notif, true)
            }
            libc::SYS_epoll_ctl => self.epolls.serve(&self.registry, n.listener, n.notif),
            libc::SYS_mmap => crate::mmap::serve(&self.registry, n.listener, n.notif),
            libc::SYS_lseek => self.lseek(n, a[0] as i32, a[1] as i64, a[2] as u32),
            libc::SYS_fallocate => self.fallocate(n, a[0] as i32, [a[1], a[2], a[3]]),
            libc::SYS_fcntl => self.fcntl(n, a[0] as i32, a[1] as i32, a[2]),
            libc::SYS_getdents64 => self.getdents64(n, a[0] as i32, a[1], a[2] as usize),
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
            libc::SYS_fstat => self.fd_stat(n, a[0] as i32, a[1], 0, None),
            libc::SYS_statfs => self.statfs(n, a[0], a[1]),
            libc::SYS_fstatfs => self.fstatfs(n, a[0] as i32, a[1]),
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
            libc::SYS_getxattr | libc::SYS_lgetxattr => self.path_answer(
                n,
                a[0],
                n.nr == libc::SYS_getxattr,
                Answer::Error(libc::ENODATA),
            ),
            libc::SYS_listxattr | libc::SYS_llistxattr => {
                self.path_answer(n, a[0], n.nr == libc::SYS_listxattr, Answer::Value(0))
            }
            libc::SYS_readlinkat => self.readlink(n, a[0] as i32, a[1], a[2], a[3]),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_readlink => self.readlink(n, libc::AT_FDCWD, a[0], a[1], a[2]),
            _ => Some(Answer::Continue),
        }
    }

    /// Answers `answer` for a virtual path that exists, ENOENT for one that
    /// does not, and lets other paths continue.
    /// (`follow`: whether a served link named by the last component is
    /// followed.)
    fn path_answer(&self, n: &Req<'_>, path: u64, follow: bool, answer: Answer) -> Option<Answer> {
        let Ok(path) = read_path(n, path) else {
            return Some(Answer::Continue);
        };
        self.path_answer_at(n, libc::AT_FDCWD, &path, follow, answer)
    }

    /// [`Supervisor::path_answer`] of a path already read.
    fn path_answer_at(
        &self,
        n: &Req<'_>,
        dirfd: i32,
        path: &[u8],
        follow: bool,
        answer: Answer,
    ) -> Option<Answer> {
        let Some(Place { node, slash, .. }) = self.node_at(n, dirfd, path, follow) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        Some(match node {
            Node::Missing => Answer::Error(ENOENT),
            Node::NotDir => Answer::Error(ENOTDIR),
            n if slash && !n.is_dir() => Answer::Error(ENOTDIR),
            _ => answer,
        })
    }

    /// The files of the served sysfs entries, made and registered on
    /// first use; `None` when they could not be made (then an attribute
    /// reads from a shared file and O_PATH opens of the entries fail).
    fn sys(&self) -> Option<&SysFiles> {
        self.templates
            .sys
            .get_or_init(|| {
                let files = SysFiles::new().ok()?;
                for (i, fd) in files.attrs.iter().chain(&files.sinks) {
                    self.registry
                        .add_device(fd.as_fd(), Object::SysAttr(*i))
                        .ok()?;
                }
                for (node, fd) in &files.path_only {
                    self.registry
                        .add_device(fd.as_fd(), Object::PathOnly(*node))
                        .ok()?;
                }
                Some(files)
            })
            .as_ref()
    }

    /// The file whose metadata `node` reports (its inode, times), as
    /// `Templates::of`, and an attribute's own file.
    fn template_of(&self, node: Node) -> Option<BorrowedFd<'_>> {
        match node {
            Node::Sys(i) if !node.is_dir() => self
                .sys()
                .and_then(|f| f.attrs.iter().find(|a| a.0 == i))
                .map(|a| a.1.as_fd())
                .or_else(|| self.templates.of(node)),
            _ => self.templates.of(node),
        }
    }

    fn valid(&self, n: &Req<'_>) -> bool {
        n.listener.id_valid(n.id)
    }

    fn ioctl(&self, n: &Req<'_>) -> Option<Answer> {
        let cmd = n.args[1] as u32;
        debug_assert!(cmd == FIONREAD || crate::sys::filter::IOCTL_TYPES.contains(&ioc_type(cmd)));
        if cmd == FIONREAD && !self.registry.may_have_objects() {
            return Some(Answer::Continue);
        }
        let Some(obj) = self.registry.lookup(n.pid, n.args[0]) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        if cmd == FIONREAD {
            return Some(match obj {
                // A debugfs file is a regular file: the VFS answers
                // (size - position), as for the memfd standing for it.
                Object::Timeline(_) => Answer::Continue,
                // So is a sysfs attribute, of a page's size.
                Object::SysAttr(_) => self.attr_fionread(n),
                // dma_heap_ioctl: a number past its table.
                Object::Heap => Answer::Error(libc::EINVAL),
                Object::PathOnly(_) => Answer::Error(libc::EBADF),
                _ => Answer::Error(libc::ENOTTY),
            });
        }
        let call = Call {
            notif: n,
            listener: n.listener,
            registry: &self.registry,
        };
        let o = ioctl::dispatch(&call, &obj, cmd);
        // Only a dma-buf's or a DRM file's ioctls add fences to buffers
        // (IMPORT_SYNC_FILE, VGEM_FENCE_ATTACH).
        if matches!(obj, Object::DmaBuf(_) | Object::Drm(_)) {
            self.epolls.restate();
        }
        match o {
            Err(ioctl::DEFERRED) => None,
            o => Some(outcome_answer(o)),
        }
    }

    /// FIONREAD of a sysfs attribute: the VFS's answer for a regular file,
    /// its size (a page) less the position, as an `int`.
    fn attr_fionread(&self, n: &Req<'_>) -> Answer {
        let file = match self.registry.get_fd(n.pid, n.args[0] as i32) {
            Ok(f) => f,
            Err(e) => return Answer::Error(e),
        };
        let pos = match rustix::fs::seek(&file, rustix::fs::SeekFrom::Current(0)) {
            Ok(p) => p,
            Err(e) => return Answer::Error(e.raw_os_error()),
        };
        let left = (crate::stat::SYSFS_ATTR_SIZE as i64).wrapping_sub(pos as i64) as i32;
        let call = Call {
            notif: n,
            listener: n.listener,
            registry: &self.registry,
        };
        match ioctl::Ctx::write(&call, n.args[2], &left.to_ne_bytes()) {
            Ok(()) => Answer::Value(0),
            Err(e) => Answer::Error(e),
        }
    }

    /// `lseek` of a sysfs attribute: kernfs seeks as `generic_file_llseek`
    /// does, in a file of a page's size (its inode's); from the start or
    /// the position, as the file standing for it does.
    fn attr_lseek(&self, n: &Req<'_>, fd: i32, offset: i64, whence: u32) -> Answer {
        const SIZE: i64 = crate::stat::SYSFS_ATTR_SIZE as i64;
        let to = match whence as i32 {
            libc::SEEK_SET | libc::SEEK_CUR => return Answer::Continue,
            libc::SEEK_END => offset.checked_add(SIZE),
            // Compared unsigned: a negative offset is past the end too.
            _ if offset as u64 >= SIZE as u64 => return Answer::Error(libc::ENXIO),
            libc::SEEK_DATA => Some(offset),
            _ => Some(SIZE),
        };
        let Some(to) = to.filter(|to| *to >= 0) else {
            return Answer::Error(libc::EINVAL);
        };
        let file = match self.registry.get_fd(n.pid, fd) {
            Ok(f) => f,
            Err(e) => return Answer::Error(e),
        };
        match rustix::fs::seek(&file, rustix::fs::SeekFrom::Start(to as u64)) {
            Ok(p) => Answer::Value(p as i64),
            Err(e) => Answer::Error(e.raw_os_error()),
        }
    }

    /// `lseek` of one of our fds, as the kernel's file seeks: a dma-buf
    /// only to 0 (SEEK_SET) or its size (SEEK_END), with offset 0
    /// (`dma_buf_llseek`); a DRM file stays at 0 (`noop_llseek`); a
    /// timeline, the devices: ESPIPE (no llseek). A sync file is a pipe:
    /// ESPIPE already. A file holding a seq_file's text (fdinfo, maps,
    /// debugfs) seeks only from the start or the position (`seq_lseek`:
    /// EINVAL for the others), which its memfd does as seq_lseek.
    fn lseek(&self, n: &Req<'_>, fd: i32, offset: i64, whence: u32) -> Option<Answer> {
        if !self.registry.may_have_objects() {
            return Some(Answer::Continue);
        }
        let obj = match self.registry.lookup_seq(n.pid, fd as u64) {
            Ok(obj) => obj,
            Err(true) if whence != libc::SEEK_SET as u32 && whence != libc::SEEK_CUR as u32 => {
                return self.valid(n).then_some(Answer::Error(libc::EINVAL));
            }
            Err(_) => return Some(Answer::Continue),
        };
        if !self.valid(n) {
            return None;
        }
        const SEEK_MAX: u32 = libc::SEEK_HOLE as u32;
        Some(match obj {
            Object::PathOnly(_) => Answer::Error(libc::EBADF),
            _ if whence > SEEK_MAX => Answer::Error(libc::EINVAL),
            Object::DmaBuf(b) => match (whence as i32, offset) {
                (libc::SEEK_SET, 0) => Answer::Value(0),
                (libc::SEEK_END, 0) => Answer::Value(b.buf.size() as i64),
                _ => Answer::Error(libc::EINVAL),
            },
            Object::Drm(_) => Answer::Value(0),
            Object::Timeline(_) | Object::Heap | Object::Udmabuf => Answer::Error(libc::ESPIPE),
            Object::SyncFile(_) => Answer::Continue,
            Object::SysAttr(_) => self.attr_lseek(n, fd, offset, whence),
        })
    }

    /// `fallocate` of one of our fds (`args`: mode, offset, length): the
    /// kernel's files have none (a dma-buf, a DRM file or a device is no
    /// regular file: ENODEV; a timeline's debugfs file: EOPNOTSUPP), where
    /// the stand-in memfds would allocate or punch holes. The checks that
    /// come first in the kernel (arguments, mode, access) are the kernel's
    /// own: the call is made on a pipe end of the same access mode, which
    /// passes them and then fails with ESPIPE.
    fn fallocate(&self, n: &Req<'_>, fd: i32, args: [u64; 3]) -> Option<Answer> {
        let named = match self.registry.served_fd(n.pid, fd) {
            Ok(named) => named,
            Err(answer) => return Some(answer),
        };
        let refused = match named.obj {
            // A pipe: ESPIPE already.
            Object::SyncFile(_) => return Some(Answer::Continue),
            Object::PathOnly(_) => return Some(Answer::Error(libc::EBADF)),
            // Neither debugfs nor kernfs files have one.
            Object::Timeline(_) | Object::SysAttr(_) => libc::EOPNOTSUPP,
            _ => libc::ENODEV,
        };
        if !self.valid(n) {
            return None;
        }
        let writable = named.access_mode() != OFlags::RDONLY.bits();
        Some(match crate::sys::files::fallocate_checks(writable, args) {
            Err(libc::ESPIPE) => Answer::Error(refused),
            Err(e) => Answer::Error(e),
            Ok(()) => Answer::Error(refused),
        })
    }

    /// `fcntl` commands whose answer for our fds is not their stand-ins':
    /// the kernel's dma-bufs, devices and debugfs files have no seals
    /// (EINVAL, or EPERM for adding through a read-only description,
    /// where the memfds standing for them have some), and the
    /// status flags are the kernel's file's (no `O_LARGEFILE` on a
    /// dma-buf, a sync file's `O_NONBLOCK` only when the program set it,
    /// a DRM file's open mode).
    fn fcntl(&self, n: &Req<'_>, fd: i32, cmd: i32, arg: u64) -> Option<Answer> {
        let named = match self.registry.served_fd(n.pid, fd) {
            Ok(named) => named,
            Err(answer) => return Some(answer),
        };
        // An O_PATH stand-in is read-only and the kernel's O_PATH file
        // refuses these commands but F_GETFL: left to the kernel.
        if matches!(named.obj, Object::PathOnly(_)) {
            return Some(Answer::Continue);
        }
        let answer = match cmd {
            libc::F_GET_SEALS => Answer::Error(libc::EINVAL),
            // Sealing asks for a writable description first.
            libc::F_ADD_SEALS if named.access_mode() == OFlags::RDONLY.bits() => {
                Answer::Error(libc::EPERM)
            }
            libc::F_ADD_SEALS => Answer::Error(libc::EINVAL),
            libc::F_GETFL => match rustix::fs::fcntl_getfl(&named.file) {
                Ok(f) => Answer::Value(crate::procfs::status_flags(&named.obj, f.bits()).into()),
                Err(e) => Answer::Error(e.raw_os_error()),
            },
            libc::F_SETFL => match &named.obj {
                // The pipe stays non-blocking (a read of a pending sync
                // file must not hang); the program's wish is recorded.
                Object::SyncFile(f) => {
                    let asked = OFlags::from_bits_retain(arg as u32);
                    match rustix::fs::fcntl_setfl(&named.file, asked | OFlags::NONBLOCK) {
                        Ok(()) => {
                            f.set_nonblock(asked.contains(OFlags::NONBLOCK));
                            Answer::Value(0)
                        }
                        Err(e) => Answer::Error(e.raw_os_error()),
                    }
                }
                _ => return Some(Answer::Continue),
            },
            _ => return Some(Answer::Continue),
        };
        if !self.valid(n) {
            return None;
        }
        Some(answer)
    }

    /// `path` of the caller made absolute (from `dirfd` when relative)
    /// and normalised, without following links; `None` when the base
    /// directory cannot be read.
    fn absolute(&self, pid: u32, dirfd: i32, path: &[u8]) -> Option<Vec<u8>> {
        Some(if path.first() == Some(&b'/') {
            crate::paths::normalize(None, path)
        } else {
            crate::paths::normalize(Some(&self.base_dir(pid, dirfd)?), path)
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
            if let Some(d) = self
                .templates
                .dirs
                .iter()
                .find(|d| d.2 == (st.st_dev, st.st_ino))
            {
                return Some(d.3.as_bytes().to_vec());
            }
        }
        rustix::fs::readlink(link, Vec::new())
            .ok()
            .map(|c| c.into_bytes())
    }

    /// `getdents64` of a virtual directory lists `.`, `..` and its files;
    /// the position is the description's own offset (so `rewinddir`'s
    /// lseek works natively). Other directories continue.
    fn getdents64(&self, n: &Req<'_>, fd: i32, dirp: u64, count: usize) -> Option<Answer> {
        use rustix::fs::SeekFrom;
        let Ok(st) = rustix::fs::stat(format!("/proc/{}/fd/{fd}", n.pid)) else {
            return Some(Answer::Continue);
        };
        let key = (st.st_dev, st.st_ino);
        if let Some(&(i, _)) = self.templates.host_dirs.iter().find(|d| d.1 == key) {
            return self.getdents64_host(n, fd, dirp, count, &crate::sysfs::HOST_DIRS[i]);
        }
        let Some(node) = self.templates.dirs.iter().find(|d| d.2 == key).map(|d| d.0) else {
            return Some(Answer::Continue);
        };
        let (file, pos) = match self.dir_description(n, fd) {
            Ok(d) => d,
            Err(answer) => return answer,
        };
        let names = crate::paths::listing(node);
        let from = usize::try_from(pos).unwrap_or(usize::MAX);
        let (bytes, next) = crate::paths::dirents(&names, from, st.st_ino, count);
        if bytes.is_empty() && from < names.len() {
            return Some(Answer::Error(libc::EINVAL));
        }
        if !bytes.is_empty() && mem::write(n.pid, dirp, &bytes).is_err() {
            return Some(Answer::Error(libc::EFAULT));
        }
        if rustix::fs::seek(&file, SeekFrom::Start(next as u64)).is_err() {
            return Some(Answer::Continue);
        }
        Some(Answer::Value(bytes.len() as i64))
    }

    /// A copy of the caller's description `fd` of a directory being
    /// listed, and its position; `Err` with the answer when the call is
    /// not ours to serve (`None`: the caller is gone). An O_PATH fd is
    /// refused by the kernel itself (EBADF), so it is continued.
    fn dir_description(
        &self,
        n: &Req<'_>,
        fd: i32,
    ) -> Result<(std::os::fd::OwnedFd, u64), Option<Answer>> {
        if !self.valid(n) {
            return Err(None);
        }
        let Ok(file) = self.registry.get_fd(n.pid, fd) else {
            return Err(Some(Answer::Continue));
        };
        match rustix::fs::fcntl_getfl(&file) {
            Ok(fl) if !fl.contains(OFlags::PATH) => {}
            _ => return Err(Some(Answer::Continue)),
        }
        match rustix::fs::seek(&file, rustix::fs::SeekFrom::Current(0)) {
            Ok(pos) => Ok((file, pos)),
            Err(_) => Err(Some(Answer::Continue)),
        }
    }

    /// `getdents64` of a host sysfs directory that holds served entries:
    /// the host's listing, read whole through a description of its own,
    /// without the hidden names, with the served entries at their kernfs
    /// positions (the name hashes kernfs lists in). The caller's
    /// description keeps the position, as kernfs keeps it: the hash of
    /// the next entry to list (`INT_MAX` at the end).
    fn getdents64_host(
        &self,
        n: &Req<'_>,
        fd: i32,
        dirp: u64,
        count: usize,
        dir: &crate::sysfs::HostDir,
    ) -> Option<Answer> {
        use rustix::fs::SeekFrom;
        let (file, pos) = match self.dir_description(n, fd) {
            Ok(d) => d,
            Err(answer) => return answer,
        };
        let Some(mut entries) = host_listing(&file) else {
            return Some(Answer::Continue);
        };
        if let Some(prefix) = dir.hides {
            entries.retain(|e| !e.name.starts_with(prefix.as_bytes()));
        }
        for &(name, d_type, hash) in dir.added {
            if !entries.iter().any(|e| e.name == name.as_bytes()) {
                entries.push(HostDirent {
                    pos: u64::from(hash),
                    ino: st_ino_of(&file).wrapping_add(u64::from(hash)),
                    d_type,
                    name: name.as_bytes().to_vec(),
                });
            }
        }
        entries.sort_by(|a, b| a.pos.cmp(&b.pos).then_with(|| a.name.cmp(&b.name)));
        let (bytes, next) = host_dirents(&entries, pos, count);
        if bytes.is_empty() && entries.iter().any(|e| e.pos >= pos) {
            return Some(Answer::Error(libc::EINVAL));
        }
        if !bytes.is_empty() && mem::write(n.pid, dirp, &bytes).is_err() {
            return Some(Answer::Error(libc::EFAULT));
        }
        if rustix::fs::seek(&file, SeekFrom::Start(next)).is_err() {
            return Some(Answer::Continue);
        }
        Some(Answer::Value(bytes.len() as i64))
    }

    /// Reads the caller's path and says which virtual node it names.
    fn node(&self, n: &Req<'_>, dirfd: i32, path_addr: u64, follow: bool) -> Option<Place> {
        let path = read_path(n, path_addr).ok()?;
        self.node_at(n, dirfd, &path, follow)
    }

    /// Which virtual node a path read from the caller names.
    fn node_at(&self, n: &Req<'_>, dirfd: i32, path: &[u8], follow: bool) -> Option<Place> {
        classify(path, follow, || self.base_dir(n.pid, dirfd))
    }

    /// The fd of ours that a caller's path names through `/proc`
    /// (`entry` of a process's directory), with its identity. `None` at
    /// once while no fd of ours can exist.
    fn proc_fd(
        &self,
        n: &Req<'_>,
        dirfd: i32,
        path: &[u8],
        entry: procfs::Entry,
    ) -> Option<(procfs::ProcFd, Object)> {
        if !self.registry.may_have_objects() || !procfs::may_name_fd(path) {
            return None;
        }
        let abs = self.absolute(n.pid, dirfd, path)?;
        let target = procfs::parse(&abs, n.pid)?;
        if target.entry != entry {
            return None;
        }
        // The caller's own fd: fetched (pidfd_getfd, cached pidfd);
        // another process's: through /proc, unless it is the supervisor.
        let obj = if target.own {
            self.registry.lookup(n.pid, target.fd as u64)?
        } else if procfs::is_supervisor(target.pid) {
            return None;
        } else {
            self.registry.object_at(target.key()?)?
        };
        Some((target, obj))
    }

    /// The virtual directory that the `/proc/<pid>/fd/N` link `path`
    /// names, if it names one (its file is a removed directory, whose own
    /// link would say so).
    fn proc_fd_dir(&self, n: &Req<'_>, dirfd: i32, path: &[u8]) -> Option<&'static str> {
        if !procfs::may_name_fd(path) {
            return None;
        }
        let abs = self.absolute(n.pid, dirfd, path)?;
        let target = procfs::parse(&abs, n.pid)?;
        if target.entry != procfs::Entry::Fd {
            return None;
        }
        let st = rustix::fs::stat(target.path()).ok()?;
        self.templates
            .dirs
            .iter()
            .find(|d| d.2 == (st.st_dev, st.st_ino))
            .map(|d| d.3)
    }

    /// `readlink`/`readlinkat`: the link of one of our fds in `/proc`
    /// reads as the kernel's (truncated to `bufsiz`, no NUL); a virtual
    /// path is no link (EINVAL); anything else continues.
    fn readlink(
        &self,
        n: &Req<'_>,
        dirfd: i32,
        path: u64,
        buf: u64,
        bufsiz: u64,
    ) -> Option<Answer> {
        let Ok(path) = read_path(n, path) else {
            return Some(Answer::Continue);
        };
        // An empty path reads the link `dirfd` is an O_PATH open of.
        let link_fd = if path.is_empty() && self.registry.may_have_objects() {
            match self.registry.lookup(n.pid, dirfd as u64) {
                Some(Object::PathOnly(Node::Sys(i))) => match crate::sysfs::TREE[i as usize].kind {
                    crate::sysfs::Kind::Link(t) => Some(t.as_bytes().to_vec()),
                    _ => None,
                },
                _ => None,
            }
        } else {
            None
        };
        let target = if let Some(t) = link_fd {
            t
        } else if let Some((_, obj)) = self.proc_fd(n, dirfd, &path, procfs::Entry::Fd) {
            procfs::link_target(&obj)
        } else if let Some(t) = self.map_file_link(n, dirfd, &path) {
            t
        } else if let Some(dir) = self.proc_fd_dir(n, dirfd, &path) {
            dir.as_bytes().to_vec()
        } else {
            let Some(place) = self.node_at(n, dirfd, &path, false) else {
                return Some(Answer::Continue);
            };
            let target = match place.node {
                Node::Sys(i) => match crate::sysfs::TREE[i as usize].kind {
                    crate::sysfs::Kind::Link(t) if !place.slash => Some(t.as_bytes().to_vec()),
                    _ => None,
                },
                Node::Outside => match rustix::fs::readlink(place.abs.as_slice(), Vec::new()) {
                    Ok(t) => Some(t.into_bytes()),
                    Err(e) => return self.valid(n).then_some(Answer::Error(e.raw_os_error())),
                },
                _ => None,
            };
            match target {
                Some(t) => t,
                None => {
                    return self.path_answer_at(n, dirfd, &path, false, Answer::Error(libc::EINVAL))
                }
            }
        };
        if !self.valid(n) {
            return None;
        }
        // The kernel's bufsiz is an int.
        let Ok(size) = usize::try_from(bufsiz as i32) else {
            return Some(Answer::Error(libc::EINVAL));
        };
        if size == 0 {
            return Some(Answer::Error(libc::EINVAL));
        }
        let len = target.len().min(size);
        Some(match mem::write(n.pid, buf, &target[..len]) {
            Ok(()) => Answer::Value(len as i64),
            Err(_) => Answer::Error(libc::EFAULT),
        })
    }

    /// The `maps`-like entry of a process directory that a caller's path
    /// names: the directory as the supervisor names it, and the entry.
    /// `None` at once while no fd of ours can exist, or when no mapping
    /// was ever made for our files and no dma-buf lives.
    fn maps_entry(
        &self,
        n: &Req<'_>,
        dirfd: i32,
        path: &[u8],
    ) -> Option<(String, procfs::MapsEntry)> {
        if !self.registry.may_have_objects() || !procfs::may_name_maps(path) {
            return None;
        }
        if self.registry.injected.is_empty() && !self.registry.has_dma_bufs() {
            return None;
        }
        let abs = self.absolute(n.pid, dirfd, path)?;
        let (dir, pid, entry) = procfs::parse_maps(&abs, n.pid)?;
        if procfs::is_supervisor(pid) {
            return None;
        }
        Some((dir, entry))
    }

    /// What a `maps` line of a mapping of our files says on the kernel:
    /// its offset, file identity and path. A mapping the supervisor made
    /// (a udmabuf's memfd ranges, a DRM node's object) is the recorded
    /// one; a mapping of a dma-buf's own memfd names the dma-buf (a GEM
    /// object's export at its fake offset, which the kernel's PRIME mmap
    /// adds). `None` for any other line.
    fn shown(&self, m: &procfs::MapsLine<'_>) -> Option<(u64, Key, String)> {
        if let Some(s) = self.registry.injected.find(m.start, m.key, m.pgoff) {
            return match s {
                procfs::Shown::DmaBuf {
                    buf,
                    path,
                    key,
                    offset,
                } => Some((
                    offset,
                    key,
                    buf.upgrade().map_or(path, |b| b.buf.dentry_name()),
                )),
                procfs::Shown::Node { node, offset } => {
                    let st = rustix::fs::fstat(self.templates.of(node)?).ok()?;
                    Some((offset, (st.st_dev, st.st_ino), node.path().to_owned()))
                }
            };
        }
        let Some(Object::DmaBuf(b)) = self.registry.object_at(m.key) else {
            return None;
        };
        let fake = b
            .buf
            .exporter_as::<dmasync::drm::prime::GemExport>()
            .and_then(|g| g.object().mmap_start())
            .unwrap_or(0);
        Some((m.pgoff + fake, m.key, b.buf.dentry_name()))
    }

    /// An open of `/proc/<pid>/maps` or `smaps`, read-only, while mappings
    /// of our files may exist: the host's text with the lines of those
    /// mappings as the kernel's (see [`Supervisor::shown`]), a snapshot
    /// made at open. `None` when no line is ours.
    fn maps_open(&self, n: &Req<'_>, dirfd: i32, path: &[u8], flags: OFlags) -> Option<Answer> {
        let (dir, entry) = self.maps_entry(n, dirfd, path)?;
        let name = match entry {
            procfs::MapsEntry::Maps => "maps",
            procfs::MapsEntry::Smaps => "smaps",
            procfs::MapsEntry::MapFile(..) => return None,
        };
        if flags & OFlags::ACCMODE != OFlags::RDONLY
            || flags.intersects(OFlags::PATH | OFlags::DIRECTORY | OFlags::CREATE | OFlags::TRUNC)
        {
            return None;
        }
        let real = std::fs::read_to_string(format!("{dir}/{name}")).ok()?;
        let text = procfs::rewrite_maps(&real, |m| self.shown(m))?;
        Some(match self.seq_text(&text) {
            Ok(fd) => Answer::Fd {
                fd,
                cloexec: flags.contains(OFlags::CLOEXEC),
            },
            Err(e) => Answer::Error(errno_of(&e)),
        })
    }

    /// The target of a `/proc/<pid>/map_files/<start>-<end>` link of a
    /// mapping of our files (see [`Supervisor::shown`]), for a caller the
    /// kernel lets read it (CAP_SYS_ADMIN); `None` otherwise.
    fn map_file_link(&self, n: &Req<'_>, dirfd: i32, path: &[u8]) -> Option<Vec<u8>> {
        let (dir, procfs::MapsEntry::MapFile(start, end)) = self.maps_entry(n, dirfd, path)? else {
            return None;
        };
        if !has_sys_admin(crate::sys::files::ProcStatus::read(n.pid).as_ref()) {
            return None;
        }
        let real = std::fs::read_to_string(format!("{dir}/maps")).ok()?;
        let line = real
            .lines()
            .filter_map(procfs::maps_line)
            .find(|m| m.start == start && m.end == end)?;
        self.shown(&line).map(|s| s.2.into_bytes())
    }

    /// An open of `/proc/<pid>/fdinfo/N` for a dma-buf, sync file, DRM
    /// file or timeline of ours, read-only: a file with the kernel's text. `None` when the
    /// call is not for us (other objects' fdinfo is the kernel's already).
    fn fdinfo(&self, n: &Req<'_>, dirfd: i32, path: &[u8], flags: OFlags) -> Option<Answer> {
        let (target, obj) = self.proc_fd(n, dirfd, path, procfs::Entry::FdInfo)?;
        if !matches!(
            obj,
            Object::DmaBuf(_) | Object::SyncFile(_) | Object::Drm(_) | Object::Timeline(_)
        ) || flags & OFlags::ACCMODE != OFlags::RDONLY
            || flags.intersects(OFlags::PATH | OFlags::DIRECTORY | OFlags::CREATE | OFlags::TRUNC)
        {
            return None;
        }
        let real = std::fs::read_to_string(target.path()).ok()?;
        let refs = match obj {
            Object::DmaBuf(_) => procfs::process_refs(&target.dir, target.key()?),
            _ => 0,
        };
        let ino = self
            .templates
            .shared_inode(&obj)
            .and_then(|f| rustix::fs::fstat(f).ok())
            .map(|st| st.st_ino);
        let text = procfs::fdinfo_text(&obj, &real, refs, ino);
        Some(match self.seq_text(&text) {
            Ok(fd) => Answer::Fd {
                fd,
                cloexec: flags.contains(OFlags::CLOEXEC),
            },
            Err(e) => Answer::Error(errno_of(&e)),
        })
    }

    /// An open of `/proc/<pid>/fd/N` where that fd is ours opens the
    /// file's inode again, as the kernel's: a sync file (an anonymous
    /// inode) cannot be (ENXIO); a timeline's debugfs file makes a new
    /// timeline and a DRM node a new DRM file, so the node to open is
    /// returned. `None` for anything else (the kernel's reopen of our
    /// stand-in is the same file, as for the devices).
    fn reopened(&self, n: &Req<'_>, dirfd: i32, path: &[u8]) -> Option<Result<Node, i32>> {
        let (_, obj) = self.proc_fd(n, dirfd, path, procfs::Entry::Fd)?;
        match obj {
            Object::SyncFile(_) => Some(Err(libc::ENXIO)),
            Object::Timeline(_) => Some(Ok(Node::SwSync)),
            Object::Drm(f) if f.file.is_render() => Some(Ok(Node::RenderD128)),
            Object::Drm(_) => Some(Ok(Node::Card0)),
            _ => None,
        }
    }

    fn open(&self, n: &Req<'_>, dirfd: i32, path: u64, flags: i32) -> Option<Answer> {
        let Ok(path) = read_path(n, path) else {
            return Some(Answer::Continue);
        };
        let oflags = OFlags::from_bits_retain(flags as u32);
        if let Some(answer) = self.maps_open(n, dirfd, &path, oflags) {
            return self.valid(n).then_some(answer);
        }
        if let Some(answer) = self.fdinfo(n, dirfd, &path, oflags) {
            return self.valid(n).then_some(answer);
        }
        let follow = !oflags.contains(OFlags::NOFOLLOW);
        let reopened = if follow && !oflags.contains(OFlags::PATH) {
            self.reopened(n, dirfd, &path)
        } else {
            None
        };
        let place = match reopened {
            Some(Err(e)) => return self.valid(n).then_some(Answer::Error(e)),
            Some(Ok(node)) => Place {
                node,
                slash: false,
                abs: node.path().as_bytes().to_vec(),
            },
            None => match self.node_at(n, dirfd, &path, follow) {
                Some(place) => place,
                None => return Some(Answer::Continue),
            },
        };
        let Place { node, slash, abs } = place;
        if !self.valid(n) {
            return None;
        }
        let cloexec = oflags.contains(OFlags::CLOEXEC);
        let creat_excl = oflags.contains(OFlags::CREATE | OFlags::EXCL);
        Some(match node {
            Node::NotDir => Answer::Error(ENOTDIR),
            Node::Missing if oflags.contains(OFlags::CREATE) => Answer::Error(EACCES),
            Node::Missing => Answer::Error(ENOENT),
            Node::Outside => open_outside(&abs, oflags),
            _ if creat_excl => Answer::Error(EEXIST),
            // O_NOFOLLOW of a link: ELOOP, unless O_PATH opens the link
            // itself (below).
            n if n.is_link() && !oflags.contains(OFlags::PATH) => Answer::Error(libc::ELOOP),
            n if !n.is_dir() && (slash || oflags.contains(OFlags::DIRECTORY)) => {
                Answer::Error(ENOTDIR)
            }
            // A sysfs attribute: a read-only description of its file (the
            // served ones are root's or read-only; writing one, such as a
            // uevent, is not served); a debugfs file: a snapshot of its
            // text, made at open. An O_PATH open: below.
            Node::Sys(i) if !node.is_dir() && !node.is_link() && !oflags.contains(OFlags::PATH) => {
                let writes = oflags & OFlags::ACCMODE != OFlags::RDONLY;
                let sink = self.sys().and_then(|f| f.sinks.iter().find(|s| s.0 == i));
                if let (true, Some((_, sink))) = (writes, sink) {
                    // A uevent, for the attribute's owner (root) or
                    // CAP_DAC_OVERRIDE, as the VFS checks its 0644.
                    let status = crate::sys::files::ProcStatus::read(n.pid);
                    if !may_write_roots(status.as_ref()) {
                        return Some(Answer::Error(EACCES));
                    }
                    self.registry.note_device_open();
                    let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(sink));
                    let flags = (oflags & (OFlags::ACCMODE | OFlags::NONBLOCK | OFlags::APPEND))
                        | OFlags::CLOEXEC;
                    return Some(
                        match rustix::fs::open(path, flags, rustix::fs::Mode::empty()) {
                            Ok(fd) => Answer::Fd { fd, cloexec },
                            Err(e) => Answer::Error(e.raw_os_error()),
                        },
                    );
                }
                if writes || oflags.contains(OFlags::TRUNC) {
                    Answer::Error(EACCES)
                } else if let crate::sysfs::Kind::Debug { file, .. } =
                    crate::sysfs::TREE[i as usize].kind
                {
                    match self.seq_text(&self.debug_text(file)) {
                        Ok(fd) => Answer::Fd { fd, cloexec },
                        Err(e) => Answer::Error(errno_of(&e)),
                    }
                } else {
                    let Some(t) = self.template_of(node) else {
                        return Some(Answer::Error(ENOENT));
                    };
                    self.registry.note_device_open();
                    let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&t));
                    let flags = (oflags & OFlags::NONBLOCK) | OFlags::RDONLY | OFlags::CLOEXEC;
                    match rustix::fs::open(path, flags, rustix::fs::Mode::empty()) {
                        Ok(fd) => Answer::Fd { fd, cloexec },
                        Err(e) => Answer::Error(e.raw_os_error()),
                    }
                }
            }
            // An O_PATH open does not open the file (no timeline is made).
            // O_PATH files cannot be installed (ADDFD takes only full
            // files): a read-only description of the node's path-only
            // file instead.
            n if !n.is_dir() && oflags.contains(OFlags::PATH) => {
                self.registry.note_device_open();
                let sys = match node {
                    Node::Sys(_) => self.sys().map(|f| &f.path_only[..]),
                    _ => None,
                };
                let Some(t) = self
                    .templates
                    .path_only
                    .iter()
                    .chain(sys.unwrap_or_default())
                    .find(|p| p.0 == node)
                    .map(|p| p.1.as_fd())
                else {
                    // The sysfs files could not be made.
                    return Some(Answer::Error(libc::ENOMEM));
                };
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
            Node::HeapSystem | Node::Udmabuf => {
                self.registry.note_device_open();
                let t = self.template_of(node).expect("file node");
                let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&t));
                match rustix::fs::open(
                    path,
                    (oflags & (OFlags::ACCMODE | OFlags::NONBLOCK)) | OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                ) {
                    Ok(fd) => Answer::Fd { fd, cloexec },
                    Err(e) => Answer::Error(e.raw_os_error()),
                }
            }
            Node::Card0 | Node::RenderD128 => {
                // A DRM file closed before this open has been released (the
                // new one may become master).
                self.registry.on_released_drm_files();
                let status = crate::sys::files::ProcStatus::read(n.pid);
                let file = self
                    .drm
                    .open_with(node == Node::RenderD128, has_sys_admin(status.as_ref()));
                let tgid = status
                    .as_ref()
                    .and_then(|s| s.field("Tgid"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(n.pid);
                match self.registry.new_drm_file(file, oflags, (tgid, n.pid)) {
                    Ok(fd) => Answer::Fd { fd, cloexec },
                    Err(e) => Answer::Error(errno_of(&e)),
                }
            }
            dir => {
                let t = self.template_of(dir).expect("dir node");
                match rustix::fs::openat(
                    t,
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

    /// A file holding the text of a seq_file (see `procfs::text_file`),
    /// noted as one so that it seeks as `seq_lseek` does.
    fn seq_text(&self, text: &str) -> io::Result<OwnedFd> {
        let fd = procfs::text_file(text)?;
        // Its seeks are served from now on.
        self.registry.note_device_open();
        self.registry.note_seq_text(fd.as_fd());
        Ok(fd)
    }

    /// The text of one of the DRM device's debugfs files, as it is now.
    fn debug_text(&self, file: crate::sysfs::DebugFile) -> String {
        use crate::sysfs::DebugFile;
        match file {
            DebugFile::Name => self.drm.name_info(),
            DebugFile::GemNames => self.drm.gem_names_info(),
            DebugFile::Clients => {
                // A file closed before this open is gone from the list.
                self.registry.on_released_drm_files();
                clients_text(&self.registry.drm_files())
            }
        }
    }

    /// A snapshot of `<debugfs>/sync/info` (sync_debug): every open
    /// timeline in order of creation with its pending points, then the
    /// (always empty) list of fences. A sealed memfd, read from offset 0.
    fn info_file(&self) -> io::Result<OwnedFd> {
        let mut text = String::from("objs:\n--------------\n");
        for t in self.registry.timelines() {
            text.push_str(&t.timeline.describe());
        }
        text.push_str("fences:\n--------------\n");
        self.seq_text(&text)
    }

    /// `stat` and its kin of a path (`dirfd`, `path`), or of the fd
    /// `dirfd` when `AT_EMPTY_PATH` is given with an empty or null path.
    fn stat(
        &self,
        n: &Req<'_>,
        dirfd: i32,
        path: u64,
        buf: u64,
        flags: i32,
        statx_mask: Option<u32>,
    ) -> Option<Answer> {
        if flags & libc::AT_EMPTY_PATH != 0 {
            let mut first = [0u8; 1];
            if path == 0 || (mem::read(n.pid, path, &mut first).is_ok() && first[0] == 0) {
                return self.fd_stat(n, dirfd, buf, flags, statx_mask);
            }
        }
        let nofollow = flags & libc::AT_SYMLINK_NOFOLLOW != 0;
        let Some(Place { node, slash, abs }) = self.node(n, dirfd, path, !nofollow) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        match node {
            Node::NotDir => return Some(Answer::Error(ENOTDIR)),
            Node::Outside => {
                return Some(stat_outside(n, &abs, nofollow, buf, flags, statx_mask));
            }
            _ => {}
        }
        let (Some(fd), Some(id)) = (self.template_of(node), Identity::of_node(node)) else {
            return Some(Answer::Error(ENOENT));
        };
        if slash && !node.is_dir() {
            return Some(Answer::Error(ENOTDIR));
        }
        Some(stat_answer(n, fd, id, buf, flags, statx_mask))
    }

    /// `fstat(fd)`, or `fstatat`/`statx` of an fd: ours are answered as
    /// the kernel's files (src/stat.rs), any other is the kernel's.
    fn fd_stat(
        &self,
        n: &Req<'_>,
        fd: i32,
        buf: u64,
        flags: i32,
        statx_mask: Option<u32>,
    ) -> Option<Answer> {
        let Named { obj, file } = match self.registry.served_fd(n.pid, fd) {
            Ok(named) => named,
            Err(answer) => return Some(answer),
        };
        if !self.valid(n) {
            return None;
        }
        let id = Identity::of_object(&obj);
        let shared = self.templates.shared_inode(&obj);
        let of = shared.unwrap_or(file.as_fd());
        Some(stat_answer(n, of, id, buf, flags, statx_mask))
    }

    /// `statfs` of a virtual path: the file system the kernel's file is
    /// on (src/stat.rs, [`crate::stat::Fs`]); a host path reached through
    /// a served link is the host's.
    fn statfs(&self, n: &Req<'_>, path: u64, buf: u64) -> Option<Answer> {
        let Some(Place { node, slash, abs }) = self.node(n, libc::AT_FDCWD, path, true) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        let bytes = match node {
            Node::NotDir => return Some(Answer::Error(ENOTDIR)),
            Node::Outside => match std::ffi::CString::new(abs) {
                Ok(p) => crate::sys::files::statfs_bytes(&p, None),
                Err(_) => return Some(Answer::Error(ENOENT)),
            },
            _ if slash && !node.is_dir() => return Some(Answer::Error(ENOTDIR)),
            node => match crate::stat::Fs::of_node(node) {
                Some(fs) => fs.statfs(),
                None => return Some(Answer::Error(ENOENT)),
            },
        };
        Some(write_answer(n, buf, bytes))
    }

    /// `fstatfs` of one of our fds or of a served directory: the file
    /// system the kernel's file is on; any other fd is the kernel's.
    fn fstatfs(&self, n: &Req<'_>, fd: i32, buf: u64) -> Option<Answer> {
        let Ok(file) = self.registry.get_fd(n.pid, fd) else {
            return Some(Answer::Continue);
        };
        let Ok(key) = crate::objects::key_of(file.as_fd()) else {
            return Some(Answer::Continue);
        };
        let fs = match self.templates.dirs.iter().find(|d| d.2 == key) {
            Some(d) => crate::stat::Fs::of_node(d.0),
            None => self
                .registry
                .object_at(key)
                .and_then(|o| crate::stat::Fs::of_object(&o)),
        };
        let Some(fs) = fs else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        Some(write_answer(n, buf, fs.statfs()))
    }

    fn access(&self, n: &Req<'_>, dirfd: i32, path: u64, mode: i32, flags: i32) -> Option<Answer> {
        let nofollow = flags & libc::AT_SYMLINK_NOFOLLOW != 0;
        let Some(Place { node, slash, abs }) = self.node(n, dirfd, path, !nofollow) else {
            return Some(Answer::Continue);
        };
        if !self.valid(n) {
            return None;
        }
        let access = rustix::fs::Access::from_bits_retain(mode as u32);
        let aflags = if flags & libc::AT_EACCESS != 0 {
            rustix::fs::AtFlags::EACCESS
        } else {
            rustix::fs::AtFlags::empty()
        };
        match node {
            Node::NotDir => return Some(Answer::Error(ENOTDIR)),
            Node::Outside => {
                return Some(
                    match rustix::fs::accessat(rustix::fs::CWD, abs.as_slice(), access, aflags) {
                        Ok(()) => Answer::Value(0),
                        Err(e) => Answer::Error(e.raw_os_error()),
                    },
                );
            }
            _ => {}
        }
        let Some(fd) = self.template_of(node) else {
            return Some(Answer::Error(ENOENT));
        };
        if slash && !node.is_dir() {
            return Some(Answer::Error(ENOTDIR));
        }
        let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
        Some(
            match rustix::fs::accessat(rustix::fs::CWD, proc_path, access, aflags) {
                Ok(()) => Answer::Value(0),
                Err(e) => Answer::Error(e.raw_os_error()),
            },
        )
    }
}
