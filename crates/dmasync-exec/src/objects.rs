//! The virtual fds: real kernel objects, each mapped by its identity
//! (device, inode) to the model object it stands for.
//!
//! * A sync file is the read end of a pipe. The supervisor keeps the write
//!   end and writes one byte when the fence signals, so poll and epoll report
//!   POLLIN exactly when the fence is signalled, in every process. When every
//!   read end is closed the write end reports POLLERR: the file's release.
//! * A sw_sync timeline is a sealed memfd (mode 0644). The program gets its
//!   own open file description of it; inotify reports when that description
//!   is released (IN_CLOSE_*), which is the kernel's release of the debugfs
//!   file.
//!
//! * A dma-buf is a memfd: the model's own backing memfd when the buffer's
//!   memory is one whole memfd (system heap, vgem objects), so that mmap
//!   and fstat's size are native and every mapping shares the model's
//!   pages; otherwise (udmabuf) a copy made at creation, which only read()
//!   sees: its mappings are of the memfd ranges themselves (src/mmap.rs). Each fd handed out is a new open
//!   description (a reopen through /proc/self/fd); inotify IN_CLOSE_* on the
//!   inode counts their releases and the model's buffer is dropped when the
//!   last one goes.
//! * A DRM file (`/dev/dri/card0`, `renderD128`) is the read end of a pipe
//!   too, whose write end is never written: like the kernel's DRM file of a
//!   device that queues no events, it polls no events, can be added to an
//!   epoll and blocks on read (EAGAIN when O_NONBLOCK). Its release is seen
//!   as a sync file's; the releases queued when a DRM call is served are
//!   handled first ([`Registry::on_released_drm_files`]).
//! * `/dev/dma_heap/system` and `/dev/udmabuf` are stateless: every open
//!   is a new description of one template memfd, found by its inode.
//!
//! Locking: the registry is one mutex, taken for map updates and lookups
//! only; model calls (which may signal fences and run callbacks) are made
//! without it.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use dmasync::buf::DmaBuf;
use dmasync::drm::DrmFile;
use dmasync::fence::sw_sync::Timeline;
use dmasync::fence::CallbackId;
use parking_lot::Mutex;
use rustix::event::epoll;
use rustix::fs::inotify;

use crate::sys::seccomp::Answer;

/// The identity of a file: `(st_dev, st_ino)`.
pub type Key = (u64, u64);

/// The identity of an open fd.
pub fn key_of(fd: BorrowedFd<'_>) -> io::Result<Key> {
    let st = rustix::fs::fstat(fd)?;
    Ok((st.st_dev, st.st_ino))
}

/// A sync file: the model's file (one fence, an optional user name).
pub struct SyncFileObj {
    /// The model's sync file; immutable.
    pub file: dmasync::sync_file::SyncFile,
    /// The user name as given at merge time, bytes as they were (all zero
    /// when none).
    pub raw_name: [u8; 32],
    write_end: Arc<OwnedFd>,
    callback: Mutex<Option<CallbackId>>,
    /// Whether the program set O_NONBLOCK (F_SETFL) on its description;
    /// the pipe standing for it is non-blocking whatever this says.
    nonblock: AtomicBool,
}

impl SyncFileObj {
    /// Whether the program's description is non-blocking (its `F_SETFL`).
    pub fn nonblock(&self) -> bool {
        self.nonblock.load(Ordering::Relaxed)
    }

    /// Records the program's `F_SETFL` of `O_NONBLOCK`.
    pub fn set_nonblock(&self, on: bool) {
        self.nonblock.store(on, Ordering::Relaxed);
    }
}

/// An open sw_sync debugfs file: one timeline.
pub struct TimelineFile {
    /// The timeline; dropping it is closing the file (pending points
    /// signal with -ENOENT).
    pub timeline: Timeline,
    /// The supervisor's own description of the memfd (keeps the inode).
    _memfd: OwnedFd,
    wd: i32,
    /// Order of creation (the kernel lists timelines in that order).
    seq: u64,
}

/// A dma-buf: the model's buffer and the memfd that stands for it.
pub struct DmaBufObj {
    /// The model's buffer.
    pub buf: DmaBuf,
    /// The supervisor's description of the memfd (keeps the inode).
    memfd: Arc<OwnedFd>,
    wd: i32,
    /// Open descriptions handed out and not yet released.
    descriptions: AtomicUsize,
}

/// An open DRM file of the vgem device.
pub struct DrmFileObj {
    /// The model's file; dropping it is closing the file.
    pub file: DrmFile,
    write_end: Arc<OwnedFd>,
    /// The open's `O_ACCMODE` bits (the pipe standing for the file is
    /// read-only whatever they are).
    access: u32,
    /// Order of opening among the registry's DRM files.
    seq: u64,
    /// The file's owner (`drm_file->pid`): the process that opened it,
    /// then the last one to make an ioctl on it unless the file has been
    /// master (`drm_file_update_pid`).
    owner: Mutex<Owner>,
}

/// A DRM file's owner: the thread group and the thread last seen.
#[derive(Clone, Copy)]
struct Owner {
    tgid: u32,
    tid: u32,
}

impl DrmFileObj {
    /// The process that owns the file (`drm_file->pid`, its tgid).
    pub fn owner(&self) -> u32 {
        self.owner.lock().tgid
    }

    /// An ioctl from thread `tid` reached the file
    /// (`drm_file_update_pid`): the file becomes its process's unless it
    /// has been master. Reads the thread's tgid only when `tid` is not
    /// the thread last seen.
    pub(crate) fn note_caller(&self, tid: u32) {
        if self.owner.lock().tid == tid || self.file.was_master() {
            return;
        }
        let Some(tgid) = crate::sys::files::ProcStatus::read(tid)
            .and_then(|s| s.field("Tgid").and_then(|v| v.parse().ok()))
        else {
            return;
        };
        *self.owner.lock() = Owner { tgid, tid };
    }

    /// The access mode the program opened the file with (`O_ACCMODE`
    /// bits).
    pub fn access_mode(&self) -> u32 {
        self.access
    }
}

/// One of our fds as a call names it: the object, and a copy of the fd.
pub(crate) struct Named {
    pub(crate) obj: Object,
    pub(crate) file: OwnedFd,
}

impl Named {
    /// The access mode of the program's description (`O_ACCMODE` bits):
    /// a DRM file's open mode (its stand-in is read-only whatever it is),
    /// else the stand-in's own.
    pub(crate) fn access_mode(&self) -> u32 {
        match &self.obj {
            Object::Drm(f) => f.access_mode(),
            _ => rustix::fs::fcntl_getfl(&self.file)
                .map(|fl| (fl & rustix::fs::OFlags::ACCMODE).bits())
                .unwrap_or(libc::O_RDONLY as u32),
        }
    }
}

/// What one of our fds is.
#[derive(Clone)]
pub enum Object {
    /// A sync file.
    SyncFile(Arc<SyncFileObj>),
    /// A sw_sync timeline.
    Timeline(Arc<TimelineFile>),
    /// A dma-buf.
    DmaBuf(Arc<DmaBufObj>),
    /// An open file of the vgem device.
    Drm(Arc<DrmFileObj>),
    /// `/dev/dma_heap/system`.
    Heap,
    /// `/dev/udmabuf`.
    Udmabuf,
    /// An `O_PATH` open of a virtual file: every ioctl is EBADF, as on a
    /// file that is not open.
    PathOnly(crate::paths::Node),
    /// An open sysfs attribute, by its index in [`crate::sysfs::TREE`]: a
    /// read-only description of its sealed file, which reads as the
    /// kernel's; what differs (its size, seeks from the end, mmap,
    /// fallocate, the fd's link) is answered as kernfs answers.
    SysAttr(u8),
}

/// Kinds of epoll tokens.
pub(crate) const TOKEN_WRITE_END: u64 = 1 << 32;
pub(crate) const TOKEN_INOTIFY: u64 = 2 << 32;
pub(crate) const TOKEN_CHILD: u64 = 3 << 32;
pub(crate) const TOKEN_LISTENER: u64 = 4 << 32;
pub(crate) const TOKEN_SIGNAL: u64 = 5 << 32;
pub(crate) const TOKEN_SESSION: u64 = 6 << 32;

#[derive(Default)]
struct Maps {
    by_key: HashMap<Key, Object>,
    /// Write ends by their epoll token's id (not their fd number: a
    /// number is reused as soon as it is closed, and a release may be seen
    /// by two threads, the main thread's epoll and a DRM call).
    by_write_end: HashMap<u32, Key>,
    next_write_end: u32,
    by_watch: HashMap<i32, Key>,
    /// Model dma-buf inode number -> our memfd's identity.
    by_buf: HashMap<u64, Key>,
    timelines_created: u64,
    drm_files_opened: u64,
    /// The entries of `by_key` that are devices (`add_device`).
    devices: usize,
    /// Whether a device node was ever opened.
    device_opened: bool,
}

/// All live virtual objects.
pub struct Registry {
    maps: Mutex<Maps>,
    /// Watches write ends (POLLERR), the inotify fd, the child and the
    /// listener.
    pub(crate) epoll: OwnedFd,
    inotify: OwnedFd,
    /// Held while the inotify fd is drained and its releases handled, so
    /// that a caller that finds it empty knows that the releases another
    /// thread read from it are complete.
    releasing: Mutex<()>,
    pidfds: Pidfds,
    /// The epoll proxies' refreshes under way.
    pub(crate) proxy_refreshes: Arc<crate::epoll_proxy::Queued>,
    /// The mappings made in programs for our files (`crate::mmap`), as
    /// `/proc/<pid>/maps` must show them.
    pub(crate) injected: Arc<crate::procfs::Injections>,
    /// The files made for seq_file texts (fdinfo, maps, debugfs), the
    /// newest last: they seek as `seq_lseek` does.
    seq_texts: Mutex<std::collections::VecDeque<Key>>,
    /// Called with each dma-buf once its last description is released
    /// (the epoll proxies let go of it), outside `maps`, with `releasing`
    /// held.
    on_buf_released: Mutex<Option<BufReleased>>,
}

/// How many seq_file texts are remembered (the oldest are forgotten).
const SEQ_TEXTS_MAX: usize = 4096;

/// What [`Registry::set_on_buf_released`] is given.
pub(crate) type BufReleased = Box<dyn Fn(&Arc<DmaBufObj>) + Send + Sync>;

/// Pidfds of the threads that made calls, to fetch their fds with
/// `pidfd_getfd` (a third of the cost of a `stat` of `/proc/<tid>/fd/<n>`).
/// A thread that died makes its pidfd fail with ESRCH; its id may be
/// reused, so the entry is then replaced.
#[derive(Default)]
struct Pidfds {
    map: Mutex<HashMap<u32, Arc<OwnedFd>>>,
}

/// More cached pidfds than this and the cache is emptied (dead threads).
const PIDFDS_MAX: usize = 4096;

impl Pidfds {
    fn open(tid: u32) -> Option<OwnedFd> {
        use rustix::process::{pidfd_open, Pid, PidfdFlags};
        let pid = Pid::from_raw(tid as i32)?;
        // PIDFD_THREAD (6.9+) names a thread; without it only a thread-group
        // leader can be named.
        pidfd_open(pid, PidfdFlags::from_bits_retain(libc::O_EXCL as u32))
            .or_else(|_| pidfd_open(pid, PidfdFlags::empty()))
            .ok()
    }

    fn get(&self, tid: u32, fresh: bool) -> Option<Arc<OwnedFd>> {
        let mut map = self.map.lock();
        if !fresh {
            if let Some(p) = map.get(&tid) {
                return Some(p.clone());
            }
        }
        let p = Arc::new(Self::open(tid)?);
        if map.len() >= PIDFDS_MAX {
            map.clear();
        }
        map.insert(tid, p.clone());
        Some(p)
    }

    /// A copy of `fd` of thread `tid` (the same open description), or
    /// `Err(None)` when it is not open, `Err(Some(errno))` when it cannot
    /// be fetched.
    fn getfd(&self, tid: u32, fd: i32) -> Result<OwnedFd, Option<i32>> {
        use rustix::process::{pidfd_getfd, PidfdGetfdFlags};
        for fresh in [false, true] {
            let Some(pidfd) = self.get(tid, fresh) else {
                break;
            };
            match pidfd_getfd(&*pidfd, fd, PidfdGetfdFlags::empty()) {
                Ok(f) => return Ok(f),
                Err(rustix::io::Errno::BADF) => return Err(None),
                Err(rustix::io::Errno::SRCH) if !fresh => continue,
                Err(e) => return Err(Some(e.raw_os_error())),
            }
        }
        Err(Some(libc::ESRCH))
    }

    /// The identity of `fd` in thread `tid`, or `None` when it is not open.
    fn key_of(&self, tid: u32, fd: i32) -> Option<Key> {
        match self.getfd(tid, fd) {
            // Our copy is closed at once; if the caller closed its own
            // meanwhile, this close is the file's release, as it should be.
            Ok(f) => return key_of(f.as_fd()).ok(),
            Err(None) => return None,
            Err(Some(_)) => {}
        }
        let st = rustix::fs::stat(format!("/proc/{tid}/fd/{fd}")).ok()?;
        Some((st.st_dev, st.st_ino))
    }
}

/// The memfd that stands for `buf`: the model's own when the buffer is one
/// whole memfd that is not a caller's (udmabuf's memfds are the program's:
/// their closes are not the buffer's), else a new memfd with a copy of the
/// contents.
fn backing_memfd(buf: &DmaBuf) -> io::Result<Arc<OwnedFd>> {
    use rustix::fs::MemfdFlags;
    if let Some(seg) = buf.memory().and_then(|m| m.single()) {
        let whole = rustix::fs::fstat(&**seg.fd())
            .map(|st| st.st_size as u64 == seg.len())
            .unwrap_or(false);
        if seg.offset() == 0 && whole && buf.exp_name() != dmasync::buf::udmabuf::UDMABUF_NAME {
            return Ok(seg.fd().clone());
        }
    }
    let fd = rustix::fs::memfd_create("dmabuf", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    rustix::fs::ftruncate(&fd, buf.size())?;
    if let Some(mem) = buf.memory() {
        let mut chunk = vec![0u8; 1 << 16];
        let mut at = 0u64;
        while at < mem.size() {
            let n = ((mem.size() - at) as usize).min(chunk.len());
            if mem.read_at(at, &mut chunk[..n]).is_err() {
                break;
            }
            rustix::io::pwrite(&fd, &chunk[..n], at)?;
            at += n as u64;
        }
    }
    // Its size is the buffer's, as the model's own memfds.
    rustix::fs::fcntl_add_seals(
        &fd,
        rustix::fs::SealFlags::SHRINK | rustix::fs::SealFlags::GROW | rustix::fs::SealFlags::SEAL,
    )?;
    Ok(Arc::new(fd))
}

fn write_byte(fd: &OwnedFd) {
    // A full pipe cannot happen (one byte is ever written); a closed read
    // side gives EPIPE, ignored: the release is on its way.
    let _ = rustix::io::write(fd, &[1u8]);
}

impl Registry {
    /// Creates the registry and its epoll and inotify fds.
    pub fn new() -> io::Result<Registry> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let inotify =
            inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)?;
        epoll::add(
            &epoll,
            &inotify,
            epoll::EventData::new_u64(TOKEN_INOTIFY),
            epoll::EventFlags::IN,
        )?;
        Ok(Registry {
            maps: Mutex::new(Maps::default()),
            epoll,
            inotify,
            releasing: Mutex::new(()),
            pidfds: Pidfds::default(),
            proxy_refreshes: Arc::default(),
            injected: Arc::default(),
            seq_texts: Mutex::default(),
            on_buf_released: Mutex::new(None),
        })
    }

    /// Notes that `file` stands for a seq_file text (see
    /// [`Registry::lookup_seq`]).
    pub(crate) fn note_seq_text(&self, file: BorrowedFd<'_>) {
        let Ok(key) = key_of(file) else {
            return;
        };
        let mut v = self.seq_texts.lock();
        if v.len() >= SEQ_TEXTS_MAX {
            v.pop_front();
        }
        v.push_back(key);
    }

    /// The object that `fd` of thread `pid` is, `Err(true)` when it is a
    /// file made for a seq_file text, `Err(false)` when it is neither (or
    /// not open). One fetch of the fd.
    pub(crate) fn lookup_seq(&self, pid: u32, fd: u64) -> Result<Object, bool> {
        let fd = i32::try_from(fd as i64)
            .ok()
            .filter(|fd| *fd >= 0)
            .ok_or(false)?;
        let key = self.pidfds.key_of(pid, fd).ok_or(false)?;
        if let Some(obj) = self.maps.lock().by_key.get(&key).cloned() {
            return Ok(obj);
        }
        Err(self.seq_texts.lock().contains(&key))
    }

    /// Sets what is called with each dma-buf whose last description was
    /// released (see [`Registry::on_inotify`]).
    pub(crate) fn set_on_buf_released(&self, f: BufReleased) {
        *self.on_buf_released.lock() = Some(f);
    }

    /// The object that `fd` of thread `pid` is, or `None` when the fd is
    /// not ours or not open.
    pub fn lookup(&self, pid: u32, fd: u64) -> Option<Object> {
        let fd = i32::try_from(fd as i64).ok().filter(|fd| *fd >= 0)?;
        let key = self.pidfds.key_of(pid, fd)?;
        self.maps.lock().by_key.get(&key).cloned()
    }

    /// The object that `fd` of thread `pid` is, with a copy of that fd
    /// (the same open description), fetched once. `Ok(None)`: not ours, or
    /// not open; `Err`: ours, but no copy could be made (its errno).
    pub(crate) fn lookup_with_fd(&self, pid: u32, fd: i32) -> Result<Option<Named>, i32> {
        if fd < 0 {
            return Ok(None);
        }
        match self.pidfds.getfd(pid, fd) {
            Ok(file) => Ok(key_of(file.as_fd())
                .ok()
                .and_then(|key| self.object_at(key))
                .map(|obj| Named { obj, file })),
            Err(None) => Ok(None),
            // No copy (pidfd_getfd refused): ours or not, by its path.
            Err(Some(e)) => match self.lookup(pid, fd as u64) {
                Some(_) => Err(e),
                None => Ok(None),
            },
        }
    }

    /// [`Registry::lookup_with_fd`] for a call that only concerns our fds:
    /// `Err` with its answer when it is not ours to serve (CONTINUE: no
    /// object can be, or the fd is not ours; the errno when ours but not
    /// fetched).
    pub(crate) fn served_fd(&self, pid: u32, fd: i32) -> Result<Named, Answer> {
        if !self.may_have_objects() {
            return Err(Answer::Continue);
        }
        match self.lookup_with_fd(pid, fd) {
            Ok(Some(named)) => Ok(named),
            Ok(None) => Err(Answer::Continue),
            Err(e) => Err(Answer::Error(e)),
        }
    }

    /// The object whose file has identity `key`, if any.
    pub fn object_at(&self, key: Key) -> Option<Object> {
        self.maps.lock().by_key.get(&key).cloned()
    }

    /// Whether any dma-buf is alive (a cheap test before looking at fds).
    pub fn has_dma_bufs(&self) -> bool {
        !self.maps.lock().by_buf.is_empty()
    }

    /// Whether `buf` is still registered (not all its descriptions are
    /// released).
    pub fn is_live(&self, buf: &Arc<DmaBufObj>) -> bool {
        let m = self.maps.lock();
        matches!(
            m.by_buf.get(&buf.buf.ino()).and_then(|k| m.by_key.get(k)),
            Some(Object::DmaBuf(b)) if Arc::ptr_eq(b, buf)
        )
    }

    /// The object that the supervisor's own copy `fd` of a caller's fd is.
    pub fn object_of(&self, fd: BorrowedFd<'_>) -> Option<Object> {
        let key = key_of(fd).ok()?;
        self.maps.lock().by_key.get(&key).cloned()
    }

    /// Like [`Registry::lookup`], but tells a closed fd (`Err(EBADF)`)
    /// from an fd that is open and not ours (`Ok(None)`).
    pub fn lookup_open(&self, pid: u32, fd: i32) -> Result<Option<Object>, i32> {
        if fd < 0 {
            return Err(libc::EBADF);
        }
        let key = self.pidfds.key_of(pid, fd).ok_or(libc::EBADF)?;
        Ok(self.maps.lock().by_key.get(&key).cloned())
    }

    /// A copy of the caller's fd `fd` (same open description).
    ///
    /// # Errors
    /// EBADF when it is not open; the errno of `pidfd_getfd` otherwise.
    pub fn get_fd(&self, pid: u32, fd: i32) -> Result<OwnedFd, i32> {
        if fd < 0 {
            return Err(libc::EBADF);
        }
        self.pidfds
            .getfd(pid, fd)
            .map_err(|e| e.unwrap_or(libc::EBADF))
    }

    /// Registers a stateless device file: every description of `fd`'s
    /// inode is `obj`.
    pub fn add_device(&self, fd: BorrowedFd<'_>, obj: Object) -> io::Result<()> {
        let key = key_of(fd)?;
        let mut m = self.maps.lock();
        if m.by_key.insert(key, obj).is_none() {
            m.devices += 1;
        }
        Ok(())
    }

    /// Records that a device node (`add_device`) was opened: its fds may
    /// be anywhere from now on.
    pub fn note_device_open(&self) {
        self.maps.lock().device_opened = true;
    }

    /// Whether any fd of ours may be open in a program: false until a
    /// device node was opened or an object was made, so that calls about
    /// fds need no look-up before.
    pub fn may_have_objects(&self) -> bool {
        let m = self.maps.lock();
        m.device_opened || m.by_key.len() > m.devices
    }

    /// A new open description of the memfd standing for `buf` (made on
    /// first use), to install in a caller; `flags` gives its access mode
    /// and O_NONBLOCK. The buffer lives until every description handed
    /// out is released.
    pub fn dma_buf_fd(&self, buf: &DmaBuf, flags: u32) -> io::Result<OwnedFd> {
        use rustix::fs::{Mode, OFlags};
        let mut m = self.maps.lock();
        let existing = m
            .by_buf
            .get(&buf.ino())
            .and_then(|k| m.by_key.get(k))
            .and_then(|o| match o {
                Object::DmaBuf(b) => Some(b.clone()),
                _ => None,
            });
        let obj = match existing {
            Some(o) => o,
            None => {
                let memfd = backing_memfd(buf)?;
                let key = key_of(memfd.as_fd())?;
                let path = format!("/proc/self/fd/{}", memfd.as_raw_fd());
                let wd = inotify::add_watch(&self.inotify, &path, inotify::WatchFlags::CLOSE)?;
                let o = Arc::new(DmaBufObj {
                    buf: buf.clone(),
                    memfd,
                    wd,
                    descriptions: AtomicUsize::new(0),
                });
                m.by_watch.insert(wd, key);
                m.by_buf.insert(buf.ino(), key);
                m.by_key.insert(key, Object::DmaBuf(o.clone()));
                o
            }
        };
        let path = format!("/proc/self/fd/{}", obj.memfd.as_raw_fd());
        let oflags = OFlags::from_bits_retain(flags) & (OFlags::ACCMODE | OFlags::NONBLOCK);
        // Counted before the open: if the new description is closed
        // unused, its release is counted too.
        obj.descriptions.fetch_add(1, Ordering::SeqCst);
        match rustix::fs::open(&path, oflags | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => Ok(fd),
            Err(e) => {
                obj.descriptions.fetch_sub(1, Ordering::SeqCst);
                Err(e.into())
            }
        }
    }

    /// Makes an open DRM file; returns the description to install in the
    /// caller, opened with `flags` (access mode and O_NONBLOCK). `opener`
    /// is the opening process and thread (tgid, tid).
    pub fn new_drm_file(
        &self,
        file: DrmFile,
        flags: rustix::fs::OFlags,
        opener: (u32, u32),
    ) -> io::Result<OwnedFd> {
        let (r, w, key) = self.watched_pipe()?;
        if !flags.contains(rustix::fs::OFlags::NONBLOCK) {
            rustix::fs::fcntl_setfl(&r, rustix::fs::OFlags::empty())?;
        }
        let mut m = self.maps.lock();
        m.drm_files_opened += 1;
        let seq = m.drm_files_opened;
        m.by_key.insert(
            key,
            Object::Drm(Arc::new(DrmFileObj {
                file,
                write_end: w,
                access: (flags & rustix::fs::OFlags::ACCMODE).bits(),
                seq,
                owner: Mutex::new(Owner {
                    tgid: opener.0,
                    tid: opener.1,
                }),
            })),
        );
        Ok(r)
    }

    /// The open DRM files, oldest first (the order of the device's
    /// `filelist` as its debugfs `clients` file walks it).
    pub fn drm_files(&self) -> Vec<Arc<DrmFileObj>> {
        let mut v: Vec<Arc<DrmFileObj>> = self
            .maps
            .lock()
            .by_key
            .values()
            .filter_map(|o| match o {
                Object::Drm(f) => Some(f.clone()),
                _ => None,
            })
            .collect();
        v.sort_by_key(|f| f.seq);
        v
    }

    /// A non-blocking pipe whose write end the registry's epoll watches
    /// (its release is [`Registry::on_write_end`]); the read end, the
    /// write end and the read end's key. The caller registers the key.
    fn watched_pipe(&self) -> io::Result<(OwnedFd, Arc<OwnedFd>, Key)> {
        let (r, w) = rustix::pipe::pipe_with(
            rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
        )?;
        let key = key_of(r.as_fd())?;
        let w = Arc::new(w);
        let mut m = self.maps.lock();
        let mut id = m.next_write_end;
        while m.by_write_end.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        m.next_write_end = id.wrapping_add(1);
        epoll::add(
            &self.epoll,
            &*w,
            epoll::EventData::new_u64(TOKEN_WRITE_END | u64::from(id)),
            epoll::EventFlags::empty(),
        )?;
        m.by_write_end.insert(id, key);
        Ok((r, w, key))
    }

    /// A sealed empty memfd with `mode`, a description of it for the
    /// program (opened with `flags`), the inotify watch on it and its key.
    fn watched_memfd(
        &self,
        name: &str,
        mode: u32,
        flags: rustix::fs::OFlags,
    ) -> io::Result<(OwnedFd, OwnedFd, i32, Key)> {
        use rustix::fs::{MemfdFlags, Mode, OFlags, SealFlags};
        let memfd =
            rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
        rustix::fs::fchmod(&memfd, Mode::from_raw_mode(mode))?;
        rustix::fs::fcntl_add_seals(
            &memfd,
            SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
        )?;
        let key = key_of(memfd.as_fd())?;
        let path = format!("/proc/self/fd/{}", memfd.as_raw_fd());
        let theirs = rustix::fs::open(
            &path,
            (flags & (OFlags::ACCMODE | OFlags::NONBLOCK)) | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let wd = inotify::add_watch(&self.inotify, &path, inotify::WatchFlags::CLOSE)?;
        Ok((memfd, theirs, wd, key))
    }

    /// Every registered object (any order).
    pub fn objects(&self) -> Vec<Object> {
        self.maps.lock().by_key.values().cloned().collect()
    }

    /// The open timelines, in order of creation.
    pub fn timelines(&self) -> Vec<Arc<TimelineFile>> {
        let mut v: Vec<Arc<TimelineFile>> = self
            .maps
            .lock()
            .by_key
            .values()
            .filter_map(|o| match o {
                Object::Timeline(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        v.sort_by_key(|t| t.seq);
        v
    }

    /// Makes a sync file for `fence`; returns the read end to install in
    /// the caller. The file lives until every copy of the read end is
    /// closed.
    pub fn new_sync_file(
        &self,
        file: dmasync::sync_file::SyncFile,
        raw_name: [u8; 32],
    ) -> io::Result<OwnedFd> {
        let fence = file.fence().clone();
        // Both ends are non-blocking: a read() of a pending sync file (the
        // kernel answers EINVAL) must not hang the program; it gets EAGAIN.
        let (r, w, key) = self.watched_pipe()?;
        let file = Arc::new(SyncFileObj {
            file,
            raw_name,
            write_end: w.clone(),
            callback: Mutex::new(None),
            nonblock: AtomicBool::new(false),
        });
        self.maps
            .lock()
            .by_key
            .insert(key, Object::SyncFile(file.clone()));
        let w2 = w.clone();
        match fence.add_callback(move |_| write_byte(&w2)) {
            Ok(id) => *file.callback.lock() = Some(id),
            Err(_) => write_byte(&w),
        }
        Ok(r)
    }

    /// Makes a timeline file; returns the description to install in the
    /// caller, opened with `flags` (access mode and O_NONBLOCK).
    pub fn new_timeline(
        &self,
        timeline: Timeline,
        flags: rustix::fs::OFlags,
    ) -> io::Result<OwnedFd> {
        let (memfd, theirs, wd, key) = self.watched_memfd("sw_sync", 0o644, flags)?;
        let mut m = self.maps.lock();
        m.timelines_created += 1;
        let file = Arc::new(TimelineFile {
            timeline,
            _memfd: memfd,
            wd,
            seq: m.timelines_created,
        });
        m.by_watch.insert(wd, key);
        m.by_key.insert(key, Object::Timeline(file));
        Ok(theirs)
    }

    /// Handles one epoll event of a write end (its token's `id`): its sync
    /// file or DRM file is released (the event reports an error: no reader
    /// left). An id already handled is ignored.
    pub(crate) fn on_write_end(&self, id: u32) {
        let obj = {
            let mut m = self.maps.lock();
            let Some(key) = m.by_write_end.remove(&id) else {
                return;
            };
            m.by_key.remove(&key)
        };
        match obj {
            Some(Object::SyncFile(f)) => {
                let _ = epoll::delete(&self.epoll, &*f.write_end);
                if let Some(id) = f.callback.lock().take() {
                    f.file.fence().remove_callback(id);
                }
            }
            // The last reference usually; a call in flight may hold
            // another, and the file is closed when that one ends.
            Some(Object::Drm(f)) => {
                let _ = epoll::delete(&self.epoll, &*f.write_end);
            }
            _ => {}
        }
    }

    /// Handles the DRM files whose last description the program has
    /// released: a close() returns after its pipe reports the error, so
    /// once this ran every DRM file the program closed before its current
    /// call is closed (DRM master passes on, GEM handles go), as in the
    /// kernel. Other write ends are left to the main thread.
    pub(crate) fn on_released_drm_files(&self) {
        let drm_write_ends: Vec<(u32, Arc<OwnedFd>)> = {
            let m = self.maps.lock();
            m.by_write_end
                .iter()
                .filter_map(|(&id, key)| match m.by_key.get(key) {
                    Some(Object::Drm(f)) => Some((id, f.write_end.clone())),
                    _ => None,
                })
                .collect()
        };
        if drm_write_ends.is_empty() {
            return;
        }
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let mut fds: Vec<PollFd<'_>> = drm_write_ends
            .iter()
            .map(|(_, w)| PollFd::new(&**w, PollFlags::empty()))
            .collect();
        if poll(&mut fds, Some(&Timespec::default())).is_err() {
            return;
        }
        let released: Vec<u32> = fds
            .iter()
            .zip(&drm_write_ends)
            .filter(|(p, _)| p.revents().contains(PollFlags::ERR))
            .map(|(_, (id, _))| *id)
            .collect();
        for id in released {
            self.on_write_end(id);
        }
    }

    /// Drains the inotify fd: every timeline whose program-side description
    /// was released is closed (its pending points signal with -ENOENT).
    ///
    /// Locking: takes `releasing` for the whole call (so it returns only
    /// after the releases that a concurrent call read are handled too),
    /// then `maps` for each release; the caller holds neither.
    pub(crate) fn on_inotify(&self) {
        let _releasing = self.releasing.lock();
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
        let mut released = Vec::new();
        {
            let mut reader = inotify::Reader::new(&self.inotify, &mut buf);
            while let Ok(ev) = reader.next() {
                if ev
                    .events()
                    .intersects(inotify::ReadFlags::CLOSE_WRITE | inotify::ReadFlags::CLOSE_NOWRITE)
                {
                    released.push(ev.wd());
                }
            }
        }
        for wd in released {
            let obj = {
                let mut m = self.maps.lock();
                let Some(&key) = m.by_watch.get(&wd) else {
                    continue;
                };
                if let Some(Object::DmaBuf(b)) = m.by_key.get(&key) {
                    // Other descriptions remain.
                    if b.descriptions.fetch_sub(1, Ordering::SeqCst) > 1 {
                        continue;
                    }
                    let ino = b.buf.ino();
                    m.by_buf.remove(&ino);
                }
                m.by_watch.remove(&wd);
                m.by_key.remove(&key)
            };
            // The last reference usually; a call in flight may hold
            // another, and the object is dropped when that one ends.
            let wd = match &obj {
                Some(Object::Timeline(t)) => t.wd,
                Some(Object::DmaBuf(b)) => {
                    // Whatever else holds the buffer (an epoll proxy)
                    // lets go of it now, with no further call.
                    if let Some(f) = &*self.on_buf_released.lock() {
                        f(b);
                    }
                    b.wd
                }
                _ => continue,
            };
            let _ = inotify::remove_watch(&self.inotify, wd);
            drop(obj);
        }
    }
}
