//! vgem, the virtual GEM provider (drivers/gpu/drm/vgem/vgem_drv.c,
//! vgem_fence.c, Linux 6.12): a DRM device with no hardware, shmem dumb
//! buffers, PRIME, and two ioctls that attach and signal fences on a
//! buffer's reservation object.
//!
//! # Nodes and files
//!
//! A [`Device`] has a primary node (`/dev/dri/card0`) and a render node
//! (`/dev/dri/renderD128`); [`Device::open`] makes one [`DrmFile`] per
//! `open()`. Render clients need no authentication. Dropping the
//! [`DrmFile`] is closing it (`drm_release`): every handle is released, its
//! magic and mastership given up, every fence still registered in it
//! signalled.
//!
//! # Masters and authentication (drm_auth.c)
//!
//! A primary file opened while the device has no master makes a new
//! master (`struct drm_master`) and becomes the device's master: it is
//! authenticated and `was_master`. A primary file opened while there is a
//! master belongs to that master. Opening with `CAP_SYS_ADMIN` authenticates
//! a file too.
//!
//! * GET_MAGIC gives the file a magic in its master's magic map (lowest
//!   free id >= 1, then the same one on every call); AUTH_MAGIC, by the
//!   current master only (`DRM_MASTER`), authenticates the file behind a
//!   magic of its own map and marks the magic used: 0, unknown, used, or
//!   another master's -> `-EINVAL`.
//! * SET_MASTER and DROP_MASTER first check `drm_master_check_perm`: a file
//!   that has been master, or `CAP_SYS_ADMIN`, else `-EACCES`. SET_MASTER:
//!   already master -> 0; another file is master -> `-EBUSY`; a file that
//!   never was master makes a new master (its magic map empty); one that
//!   was gets its old master back. DROP_MASTER: not the current master ->
//!   `-EINVAL`; else the device has no master.
//! * Closing the master leaves the device without master: mastership does
//!   not pass to another open file, but to the next primary opener (or
//!   SET_MASTER). Files of the old master keep it: a new master's AUTH_MAGIC
//!   does not find their magics.
//! * GET_UNIQUE answers the master's bus id, which only SET_VERSION sets
//!   (to the device's, `vgem`, for an interface version 1.1 or later):
//!   empty until then, and for every new master. GET_CLIENT answers for
//!   index 0 only.
//!
//! The model takes every ioctl to come from the process that opened the
//! file, with the capability it had then (the kernel checks the caller's
//! `CAP_SYS_ADMIN` and, for a former master, its process).
//!
//! # Flink names (drm_gem.c)
//!
//! GEM_FLINK gives an object a device-wide name (lowest free id >= 1,
//! stable); GEM_OPEN makes a new handle to a named object. Both need an
//! authenticated primary file (`DRM_AUTH`; `-EACCES` on the render node).
//! The name goes with the object's last handle.
//!
//! # Fences (vgem_fence.c)
//!
//! VGEM_FENCE_ATTACH checks, in order: `flags` beyond `VGEM_FENCE_WRITE` ->
//! `-EINVAL`; `pad` -> `-EINVAL`; unknown handle -> `-ENOENT`. It then makes a
//! fence (a fresh context, seqno 1, driver `vgem`, timeline `unbound`) and
//! arms its timer, so an attach that fails from here on has used a context.
//! A pending fence that conflicts (a WRITE attach: any KERNEL/WRITE/READ
//! fence; a READ attach: any KERNEL/WRITE fence) -> `-EBUSY`. Otherwise the
//! fence is added with WRITE or READ usage and registered under an id of
//! this file, from 1, never reused. On failure the new fence is signalled.
//!
//! VGEM_FENCE_SIGNAL: `flags` -> `-EINVAL`; the id is consumed: 0, unknown or
//! already consumed -> `-ENOENT`; a fence the timer already signalled ->
//! `-ETIMEDOUT`; otherwise it is signalled (status 1).
//!
//! Every fence expires: the device's timer signals it, with no error,
//! [`VGEM_FENCE_TIMEOUT`] after its creation (configurable with
//! [`Device::with_fence_timeout`]). One timer thread per device serves all
//! its fences; it starts with the first fence and ends with the device.
//!
//! # Locking
//!
//! A file's state (handles, PRIME table, fence ids) is under one mutex per
//! file, never held while a reservation object is locked or a fence is
//! signalled. The device's name lock is taken before a file's state lock.
//! The device's master lock guards the current master, and the masters'
//! magic maps and the files' authentication state are locked only under
//! it. The timer has its own lock, also released before it signals.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::gem::{GemObject, HandleTable, MmapOffsets};
use super::prime::{self, GemExport, PrimeTable};
use super::{
    dispatch, get_cap, read_arg, version, write_arg, Caller, Client, DriverInfo, Op, Reply,
    DRM_IF_MAJOR, DRM_IF_MINOR, VGEM_DRIVER, VGEM_IOCTLS,
};
use crate::buf::DmaBuf;
use crate::error::{Error, Result};
use crate::fence::{context_alloc, Fence, FenceOps};
use crate::resv::Usage;
use crate::sync::{AtomicU64, Mutex, Ordering};
use crate::uapi::drm::*;

/// How long a vgem fence may stay pending before its timer signals it
/// (`VGEM_FENCE_TIMEOUT`, 10 s).
pub const VGEM_FENCE_TIMEOUT: Duration = Duration::from_secs(10);

/// The fence source of vgem fences: driver `vgem`, timeline `unbound`. The
/// fences signal on their own (ioctl, file close or timer).
#[derive(Debug)]
struct VgemFenceOps;

impl FenceOps for VgemFenceOps {
    fn driver_name(&self) -> &str {
        "vgem"
    }
    fn timeline_name(&self) -> &str {
        "unbound"
    }
}

/// A key of an armed timer entry.
type TimerKey = (Instant, u64);

#[derive(Default)]
struct TimerState {
    queue: BTreeMap<TimerKey, Fence>,
    next: u64,
    shutdown: bool,
}

#[derive(Default)]
struct TimerShared {
    state: std::sync::Mutex<TimerState>,
    cv: Condvar,
}

impl TimerShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, TimerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The timer thread: signals each fence when its deadline passes, and
    /// every remaining one at shutdown.
    fn run(&self) {
        loop {
            let mut st = self.lock();
            let (due, stop) = loop {
                if st.shutdown {
                    break (std::mem::take(&mut st.queue), true);
                }
                let now = Instant::now();
                match st.queue.first_key_value().map(|(k, _)| k.0) {
                    Some(d) if d <= now => {
                        let later = st.queue.split_off(&(now, u64::MAX));
                        break (std::mem::replace(&mut st.queue, later), false);
                    }
                    Some(d) => {
                        st = self
                            .cv
                            .wait_timeout(st, d - now)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                    None => st = self.cv.wait(st).unwrap_or_else(PoisonError::into_inner),
                }
            };
            drop(st);
            for fence in due.into_values() {
                let _ = fence.signal();
            }
            if stop {
                return;
            }
        }
    }
}

/// The device's fence timer (the kernel's per-fence `timer_list`s, as one
/// thread and an ordered queue).
struct FenceTimer {
    timeout: Duration,
    shared: Arc<TimerShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl FenceTimer {
    fn new(timeout: Duration) -> FenceTimer {
        FenceTimer {
            timeout,
            shared: Arc::default(),
            thread: Mutex::new(None),
        }
    }

    /// Arms the timer of `fence` (`mod_timer(jiffies + VGEM_FENCE_TIMEOUT)`).
    fn arm(&self, fence: &Fence) -> TimerKey {
        {
            let mut thread = self.thread.lock();
            if thread.is_none() {
                let shared = self.shared.clone();
                *thread = Some(
                    std::thread::Builder::new()
                        .name("vgem-fence-timer".into())
                        .spawn(move || shared.run())
                        .expect("spawning the vgem fence timer thread"),
                );
            }
        }
        let deadline = Instant::now()
            .checked_add(self.timeout)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        let mut st = self.shared.lock();
        st.next += 1;
        let key = (deadline, st.next);
        st.queue.insert(key, fence.clone());
        drop(st);
        self.shared.cv.notify_one();
        key
    }

    /// Disarms a timer (`timer_delete_sync`); a timer that already fired is
    /// gone from the queue.
    fn cancel(&self, key: TimerKey) {
        self.shared.lock().queue.remove(&key);
    }
}

impl Drop for FenceTimer {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.cv.notify_all();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

static NEXT_DEVICE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The largest magic or flink name (`idr_alloc` with end 0 allocates up to
/// `INT_MAX`).
const ID_MAX: u32 = i32::MAX as u32;

/// The lowest id >= 1 that `map` does not hold (`idr_alloc(.., 1, 0)`).
///
/// # Errors
/// [`Error::NoMemory`] (the kernel's `-ENOSPC`) past `INT_MAX` ids.
fn lowest_free_id<V>(map: &BTreeMap<u32, V>) -> Result<u32> {
    let mut id = 1u32;
    for &k in map.keys() {
        if k != id {
            break;
        }
        id += 1;
    }
    if id > ID_MAX {
        return Err(Error::NoMemory);
    }
    Ok(id)
}

/// The device's bus id (`dev->unique`): the name of vgem's platform device,
/// which SET_VERSION gives a master.
const VGEM_BUS_ID: &str = "vgem";

/// A master (`struct drm_master`): made when a primary file becomes master
/// for the first time (at open, or by SET_MASTER); every primary file
/// opened while it is the device's master belongs to it. Its magic map
/// (`magic_map`) holds the magics of its files: magic -> the file that
/// asked for it, `None` once the magic authenticated it (the magic stays
/// taken until that file closes). Its bus id (`unique`) is empty until
/// SET_VERSION sets it.
#[derive(Default)]
struct Master {
    magic_map: Mutex<BTreeMap<u32, Option<Weak<Mutex<FileAuth>>>>>,
    unique: Mutex<&'static str>,
}

/// A file's part of authentication and mastership (fields of `struct
/// drm_file`). Locked only with the device's master lock held.
#[derive(Default)]
struct FileAuth {
    /// `authenticated`: opened with `CAP_SYS_ADMIN`, became master, or its
    /// magic was authenticated by its master.
    authenticated: bool,
    /// `master`: the master the file belongs to (its own once it made
    /// one); `None` on the render node and once the file closed.
    master: Option<Arc<Master>>,
    /// `is_master`: `master` is the file's own.
    is_master: bool,
    /// `was_master`: the file has been the device's master.
    was_master: bool,
    /// `magic`: 0 until GET_MAGIC.
    magic: u32,
}

impl FileAuth {
    /// `drm_is_current_master`: the file's own master is the device's.
    fn is_current(&self, current: &Option<Arc<Master>>) -> bool {
        self.is_master && matches!((&self.master, current), (Some(m), Some(c)) if Arc::ptr_eq(m, c))
    }
}

struct DeviceInner {
    /// Tells this device's objects from other devices' (PRIME import).
    id: u64,
    offsets: Arc<MmapOffsets>,
    timer: FenceTimer,
    fence_ops: Arc<dyn FenceOps>,
    /// `master_mutex` and what it guards: `dev->master`, the current
    /// master. The masters' magic maps and the files' [`FileAuth`] are
    /// locked only under it.
    master: Mutex<Option<Arc<Master>>>,
    /// `object_name_lock` and `object_name_idr`: the flink names. Taken
    /// before a file's state lock.
    names: Mutex<BTreeMap<u32, Arc<GemObject>>>,
    next_file: AtomicU64,
}

/// A vgem device (`struct vgem_device`): its fake mmap offset space, its
/// fence timer and its master.
///
/// Cheap to clone (a shared handle); thread-safe. Open files keep the
/// device alive; the timer thread ends when the last clone and file are gone.
#[derive(Clone)]
pub struct Device {
    inner: Arc<DeviceInner>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device").finish_non_exhaustive()
    }
}

impl Default for Device {
    fn default() -> Device {
        Device::new()
    }
}

impl Device {
    /// A device whose fences expire after [`VGEM_FENCE_TIMEOUT`] (10 s).
    pub fn new() -> Device {
        Device::with_fence_timeout(VGEM_FENCE_TIMEOUT)
    }

    /// A device whose fences expire after `timeout` (for tests).
    pub fn with_fence_timeout(timeout: Duration) -> Device {
        Device {
            inner: Arc::new(DeviceInner {
                id: NEXT_DEVICE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                offsets: Arc::new(MmapOffsets::new()),
                timer: FenceTimer::new(timeout),
                fence_ops: Arc::new(VgemFenceOps),
                master: Mutex::new(None),
                names: Mutex::new(BTreeMap::new()),
                next_file: AtomicU64::new(1),
            }),
        }
    }

    /// The driver's identity (`vgem`, "Virtual GEM provider", date "0", 1.0.0).
    pub fn driver(&self) -> &'static DriverInfo {
        &VGEM_DRIVER
    }

    /// The text of the device's debugfs `name` file (`drm_name_info`):
    /// the driver's name, its platform device's, the current master's bus
    /// id when SET_VERSION gave it one, and the device's bus id:
    /// `vgem dev=vgem[ master=vgem] unique=vgem\n`.
    ///
    /// Locking: takes the device's master lock, then the master's.
    #[doc(alias = "drm_name_info")]
    pub fn name_info(&self) -> String {
        let current = self.inner.master.lock();
        let mut text = format!("{} dev={VGEM_BUS_ID}", VGEM_DRIVER.name);
        if let Some(m) = current.as_ref() {
            let unique = *m.unique.lock();
            if !unique.is_empty() {
                text.push_str(" master=");
                text.push_str(unique);
            }
        }
        text.push_str(" unique=");
        text.push_str(VGEM_BUS_ID);
        text.push('\n');
        text
    }

    /// The text of the device's debugfs `gem_names` file
    /// (`drm_gem_name_info`): a header, then one line per flink name in
    /// increasing order with the object's size, handle count and
    /// reference count. The references counted are the one all handles
    /// share and the one of a dma-buf exported from the object (kept while
    /// it has handles); the kernel also counts each mapping of the object
    /// through the DRM file, which the model does not see.
    ///
    /// Locking: takes the name table's lock, then each object's.
    #[doc(alias = "drm_gem_name_info")]
    pub fn gem_names_info(&self) -> String {
        use std::fmt::Write;
        let names = self.inner.names.lock();
        let mut text = String::from("  name     size handles refcount\n");
        for (name, obj) in names.iter() {
            let handles = obj.handle_count();
            let refs = usize::from(handles > 0)
                + usize::from(!obj.is_imported() && obj.dma_buf().is_some());
            let _ = writeln!(text, "{name:6} {:8} {handles:7} {refs:8}", obj.size());
        }
        text
    }

    /// Opens the render node (`render`) or the primary node, as a process
    /// without `CAP_SYS_ADMIN` (`drm_open`).
    #[doc(alias = "drm_open")]
    pub fn open(&self, render: bool) -> DrmFile {
        self.open_with(render, false)
    }

    /// Opens a node (`drm_open_helper`); `privileged` is
    /// `capable(CAP_SYS_ADMIN)`, which makes the file authenticated and
    /// stands for the caller's capability in its later ioctls
    /// (`DRM_ROOT_ONLY`, SET/DROP_MASTER). A primary file opened while the
    /// device has no master makes a new master and becomes it
    /// (`drm_master_open`); otherwise it belongs to the current master.
    #[doc(alias = "drm_master_open")]
    pub fn open_with(&self, render: bool, privileged: bool) -> DrmFile {
        let id = self.inner.next_file.fetch_add(1, Ordering::Relaxed);
        let mut auth = FileAuth {
            authenticated: privileged,
            ..FileAuth::default()
        };
        if !render {
            let mut current = self.inner.master.lock();
            match &*current {
                Some(m) => auth.master = Some(m.clone()),
                None => {
                    let m = Arc::new(Master::default());
                    auth.master = Some(m.clone());
                    auth.is_master = true;
                    auth.was_master = true;
                    auth.authenticated = true;
                    *current = Some(m);
                }
            }
        }
        DrmFile {
            dev: self.inner.clone(),
            id,
            render,
            privileged,
            auth: Arc::new(Mutex::new(auth)),
            state: Mutex::new(FileState::default()),
        }
    }
}

#[derive(Default)]
struct FileState {
    handles: HandleTable,
    prime: PrimeTable,
    /// `vfile->fence_idr`: index `id - 1`; `None` once consumed.
    fences: Vec<Option<(Fence, TimerKey)>>,
}

/// One open file of a vgem node (`struct drm_file` with `struct
/// vgem_file`): its GEM handles, PRIME table and fence ids.
///
/// Thread-safe: ioctls may come from several threads at once. Dropping it
/// closes the file (see the module doc).
pub struct DrmFile {
    dev: Arc<DeviceInner>,
    id: u64,
    render: bool,
    privileged: bool,
    /// Shared with the magic map that holds this file's magic.
    auth: Arc<Mutex<FileAuth>>,
    state: Mutex<FileState>,
}

impl std::fmt::Debug for DrmFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrmFile")
            .field("id", &self.id)
            .field("render", &self.render)
            .finish_non_exhaustive()
    }
}

/// Pitch and size of a dumb buffer (`drm_mode_create_dumb`'s checks, then
/// `drm_gem_shmem_dumb_create`'s computation, in the kernel's 32-bit
/// arithmetic): `pitch = ceil(width * bpp / 8)`, `size = page_align(pitch *
/// height)`.
///
/// # Errors
/// [`Error::Invalid`] (`-EINVAL`): a zero width, height or bpp; `bpp >
/// u32::MAX - 8`; `ceil(bpp / 8) * width * height` overflowing 32 bits or
/// its page-rounded value wrapping to 0.
#[doc(alias = "drm_mode_create_dumb")]
pub fn dumb_layout(width: u32, height: u32, bpp: u32) -> Result<(u32, u64)> {
    if width == 0 || height == 0 || bpp == 0 {
        return Err(Error::Invalid("dumb buffer with a zero dimension"));
    }
    if bpp > u32::MAX - 8 {
        return Err(Error::Invalid("dumb buffer bpp too large"));
    }
    let cpp = bpp.div_ceil(8);
    if cpp > u32::MAX / width {
        return Err(Error::Invalid("dumb buffer stride overflows"));
    }
    let stride = cpp * width;
    if height > u32::MAX / stride {
        return Err(Error::Invalid("dumb buffer size overflows"));
    }
    let page_align = |x: u32| x.wrapping_add(4095) & !4095;
    if page_align(height * stride) == 0 {
        return Err(Error::Invalid("dumb buffer size wraps"));
    }
    // drm_gem_shmem_dumb_create: from width * bpp, wrapping as the kernel's u32.
    let pitch = width.wrapping_mul(bpp).wrapping_add(7) / 8;
    let size = page_align(pitch.wrapping_mul(height));
    Ok((pitch, u64::from(size)))
}

impl DrmFile {
    /// Whether this file is on the render node.
    pub fn is_render(&self) -> bool {
        self.render
    }

    /// Whether this file is the device's current master
    /// (`drm_is_current_master`).
    #[doc(alias = "drm_is_current_master")]
    pub fn is_master(&self) -> bool {
        let current = self.dev.master.lock();
        let is = self.auth.lock().is_current(&current);
        is
    }

    /// Whether this file has been the device's master (`was_master`).
    pub fn was_master(&self) -> bool {
        let _current = self.dev.master.lock();
        let was = self.auth.lock().was_master;
        was
    }

    /// The magic GET_MAGIC gave this file (`magic`), 0 until then.
    ///
    /// Locking: takes the device's master lock, then the file's.
    pub fn magic(&self) -> u32 {
        let _current = self.dev.master.lock();
        let magic = self.auth.lock().magic;
        magic
    }

    /// The index of the minor the file was opened on (`minor->index`): 128
    /// for the render node, 0 for the primary one.
    pub fn minor_index(&self) -> u32 {
        if self.render {
            128
        } else {
            0
        }
    }

    /// Whether this file is authenticated (`authenticated`).
    pub fn is_authenticated(&self) -> bool {
        let _current = self.dev.master.lock();
        let auth = self.auth.lock().authenticated;
        auth
    }

    /// The facts the dispatcher's permission check uses.
    pub fn client(&self) -> Client {
        let current = self.dev.master.lock();
        let a = self.auth.lock();
        Client {
            render: self.render,
            authenticated: a.authenticated,
            master: a.is_current(&current),
            privileged: self.privileged,
        }
    }

    /// An ioctl on this file (`drm_ioctl`): `arg` holds the user's argument
    /// bytes (at least `_IOC_SIZE(cmd)` of them when the command has IN);
    /// the reply says what to return and what to copy back (see
    /// [`dispatch`]). `caller` serves handlers that reach user memory
    /// through pointers (VERSION).
    ///
    /// # Errors
    /// In [`Reply::result`]: the dispatcher's (`-ENOTTY`, `-EINVAL`,
    /// `-EACCES`, `-EFAULT`), then the handler's as documented on the typed
    /// methods; the syncobj and mode-setting ioctls `-EOPNOTSUPP`.
    pub fn ioctl(&self, cmd: u32, arg: &[u8], caller: &mut dyn Caller) -> Reply {
        dispatch(cmd, arg, &VGEM_IOCTLS, self.client(), |def, k| {
            self.handle(def.op, k, caller)
        })
    }

    fn handle(&self, op: Op, k: &mut [u8], caller: &mut dyn Caller) -> Result<i32> {
        match op {
            Op::Version => {
                let mut a = read_arg(k, DrmVersion::from_bytes)?;
                let r = version(&VGEM_DRIVER, &mut a, caller);
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::GetCap => {
                let mut a = read_arg(k, DrmGetCap::from_bytes)?;
                let r = self.get_cap(&mut a);
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::GetUnique => {
                let mut a = read_arg(k, DrmUnique::from_bytes)?;
                let r = self.get_unique(&mut a, caller);
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::SetVersion => {
                let mut a = read_arg(k, DrmSetVersion::from_bytes)?;
                let r = self.set_version(&mut a);
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::GetMagic => {
                let r = self.get_magic();
                let a = DrmAuth {
                    magic: *r.as_ref().unwrap_or(&0),
                };
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::GetClient => {
                let mut a = read_arg(k, DrmClient::from_bytes)?;
                let r = self.get_client(&mut a, caller.pid_vnr());
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::AuthMagic => self.auth_magic(read_arg(k, DrmAuth::from_bytes)?.magic)?,
            Op::SetMaster => self.set_master()?,
            Op::DropMaster => self.drop_master()?,
            Op::GemClose => self.gem_close(&read_arg(k, DrmGemClose::from_bytes)?)?,
            Op::GemFlink => {
                let mut a = read_arg(k, DrmGemFlink::from_bytes)?;
                a.name = self.gem_flink(a.handle)?;
                write_arg(k, &a.to_bytes());
            }
            Op::GemOpen => {
                let mut a = read_arg(k, DrmGemOpen::from_bytes)?;
                (a.handle, a.size) = self.gem_open(a.name)?;
                write_arg(k, &a.to_bytes());
            }
            Op::CreateDumb => {
                let mut a = read_arg(k, DrmModeCreateDumb::from_bytes)?;
                let r = self.create_dumb(&mut a);
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::MapDumb => {
                let mut a = read_arg(k, DrmModeMapDumb::from_bytes)?;
                let r = self.map_dumb(&mut a);
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::DestroyDumb => {
                self.destroy_dumb(read_arg(k, DrmModeDestroyDumb::from_bytes)?.handle)?
            }
            Op::PrimeHandleToFd => {
                let mut a = read_arg(k, DrmPrimeHandle::from_bytes)?;
                let buf = self.prime_handle_to_fd(a.handle, a.flags)?;
                a.fd = caller.install_dma_buf(buf, a.flags)?;
                write_arg(k, &a.to_bytes());
            }
            Op::PrimeFdToHandle => {
                let mut a = read_arg(k, DrmPrimeHandle::from_bytes)?;
                let buf = caller.dma_buf_from_fd(a.fd)?;
                a.handle = self.prime_fd_to_handle(&buf)?;
                write_arg(k, &a.to_bytes());
            }
            Op::Syncobj | Op::NoModeset => return Err(Error::NotSupported),
            Op::Getfb2 => return Err(Error::Invalid("no mode setting")),
            Op::Noop => {}
            Op::InvalidOp => return Err(Error::Invalid("legacy ioctl")),
            Op::VgemFenceAttach => {
                let mut a = read_arg(k, DrmVgemFenceAttach::from_bytes)?;
                let r = self.fence_attach(&mut a);
                write_arg(k, &a.to_bytes());
                r?;
            }
            Op::VgemFenceSignal => {
                self.fence_signal(&read_arg(k, DrmVgemFenceSignal::from_bytes)?)?
            }
        }
        Ok(0)
    }

    /// GET_CAP (`drm_getcap`): zeroes `value`, then sets it as [`get_cap`].
    ///
    /// # Errors
    /// [`Error::NotSupported`] (`-EOPNOTSUPP`) for every capability vgem
    /// does not answer (all but TIMESTAMP_MONOTONIC, PRIME, SYNCOBJ and
    /// SYNCOBJ_TIMELINE), known or not.
    #[doc(alias = "drm_getcap")]
    pub fn get_cap(&self, arg: &mut DrmGetCap) -> Result<()> {
        arg.value = 0;
        arg.value = get_cap(VGEM_DRIVER.features, arg.capability)?;
        Ok(())
    }

    /// The object behind `handle` (`drm_gem_object_lookup`).
    pub fn lookup(&self, handle: u32) -> Option<Arc<GemObject>> {
        self.state.lock().handles.lookup(handle)
    }

    /// Number of live GEM handles in this file.
    pub fn handle_count(&self) -> usize {
        self.state.lock().handles.len()
    }

    fn delete_handle(&self, handle: u32) -> Result<()> {
        let mut names = self.dev.names.lock();
        let mut st = self.state.lock();
        let released = st.handles.delete(handle)?;
        let entry = st.prime.remove_handle(handle);
        drop(st);
        unname_if_unused(&mut names, &released.0);
        drop(names);
        drop((released, entry));
        Ok(())
    }

    /// GET_UNIQUE (`drm_getunique`): the bus id of the file's master,
    /// written through `caller` to `arg.unique` (no NUL) when
    /// `arg.unique_len` is at least its length, and its length in
    /// `unique_len`. A master's bus id is set only by SET_VERSION
    /// ([`DrmFile::set_version`]): until then it is empty (length 0,
    /// nothing written). Primary nodes only (the dispatcher answers
    /// `-EACCES` on the render node).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for a file without master (a render
    /// file, which the dispatcher never lets through); [`Error::Fault`]
    /// (`-EFAULT`) when the write fails (`unique_len` is then unchanged).
    #[doc(alias = "drm_getunique")]
    pub fn get_unique(&self, arg: &mut DrmUnique, caller: &mut dyn Caller) -> Result<()> {
        let _current = self.dev.master.lock();
        let master = self
            .auth
            .lock()
            .master
            .clone()
            .ok_or(Error::Invalid("file has no master"))?;
        let unique = *master.unique.lock();
        let len = unique.len() as u64;
        if arg.unique_len >= len && len != 0 {
            caller.write_user(arg.unique, unique.as_bytes())?;
        }
        arg.unique_len = len;
        Ok(())
    }

    /// SET_VERSION (`drm_setversion`), for the current master only (the
    /// dispatcher answers `-EACCES` to others): an interface version other
    /// than -1 must be 1.0 to 1.4, and from 1.1 it sets the bus id of the
    /// file's master to the device's (`vgem`); a driver version other than
    /// -1 must be 1.0 (vgem's). Whatever the outcome, `arg` then holds the
    /// interface's version (1.4) and the driver's (1.0).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`): an interface or driver version out of
    /// range (a valid interface version given with a bad driver version
    /// still sets the bus id), or a file without master.
    #[doc(alias = "drm_setversion")]
    pub fn set_version(&self, arg: &mut DrmSetVersion) -> Result<()> {
        let _current = self.dev.master.lock();
        let r = self.set_version_locked(arg);
        arg.drm_di_major = DRM_IF_MAJOR;
        arg.drm_di_minor = DRM_IF_MINOR;
        arg.drm_dd_major = VGEM_DRIVER.major;
        arg.drm_dd_minor = VGEM_DRIVER.minor;
        r
    }

    fn set_version_locked(&self, arg: &DrmSetVersion) -> Result<()> {
        if arg.drm_di_major != -1 {
            if arg.drm_di_major != DRM_IF_MAJOR || !(0..=DRM_IF_MINOR).contains(&arg.drm_di_minor) {
                return Err(Error::Invalid("interface version out of range"));
            }
            if arg.drm_di_minor >= 1 {
                let master = self
                    .auth
                    .lock()
                    .master
                    .clone()
                    .ok_or(Error::Invalid("file has no master"))?;
                *master.unique.lock() = VGEM_BUS_ID;
            }
        }
        if arg.drm_dd_major != -1
            && (arg.drm_dd_major != VGEM_DRIVER.major
                || !(0..=VGEM_DRIVER.minor).contains(&arg.drm_dd_minor))
        {
            return Err(Error::Invalid("driver version out of range"));
        }
        Ok(())
    }

    /// GET_MAGIC (`drm_getmagic`): the file's magic, allocated on the first
    /// call in its master's magic map as the lowest free id >= 1, then the
    /// same on every call (also once used, and after the file made a master
    /// of its own). Primary nodes only.
    ///
    /// # Errors
    /// [`Error::NoMemory`] (the kernel's `-ENOSPC`) past `INT_MAX` magics;
    /// [`Error::Invalid`] (`-EINVAL`) for a file without master (render).
    #[doc(alias = "drm_getmagic")]
    pub fn get_magic(&self) -> Result<u32> {
        let _current = self.dev.master.lock();
        let mut a = self.auth.lock();
        if a.magic == 0 {
            let master = a
                .master
                .clone()
                .ok_or(Error::Invalid("file has no master"))?;
            let mut map = master.magic_map.lock();
            let magic = lowest_free_id(&map)?;
            map.insert(magic, Some(Arc::downgrade(&self.auth)));
            a.magic = magic;
        }
        Ok(a.magic)
    }

    /// AUTH_MAGIC (`drm_authmagic`): authenticates the file whose pending
    /// magic `magic` is in this file's master's magic map, and marks the
    /// magic used. The dispatcher lets only the current master call it
    /// (`DRM_MASTER`, `-EACCES` otherwise); the master may authenticate
    /// itself.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for 0, a magic this master never
    /// gave out (also one of another master's files), or one already used.
    #[doc(alias = "drm_authmagic")]
    pub fn auth_magic(&self, magic: u32) -> Result<()> {
        let _current = self.dev.master.lock();
        let master = self.auth.lock().master.clone();
        let master = master.ok_or(Error::Invalid("file has no master"))?;
        let mut map = master.magic_map.lock();
        let entry = map
            .get_mut(&magic)
            .and_then(Option::take)
            .ok_or(Error::Invalid("unknown or used magic"))?;
        drop(map);
        // A file closed while its magic sat in another master's map leaves
        // a stale entry (the kernel's dangling pointer): it authenticates
        // nothing.
        if let Some(file) = entry.upgrade() {
            file.lock().authenticated = true;
        }
        Ok(())
    }

    /// `drm_master_check_perm`: a file that has been master may set or
    /// drop mastership without `CAP_SYS_ADMIN` (the model takes the caller
    /// to be the process that opened the file).
    fn master_check_perm(&self, a: &FileAuth) -> Result<()> {
        if a.was_master || self.privileged {
            Ok(())
        } else {
            Err(Error::Access)
        }
    }

    /// SET_MASTER (`drm_setmaster_ioctl`): makes this file the device's
    /// master. A file that already is: nothing. A file that never was
    /// master makes a new master (with an empty magic map; the file
    /// becomes authenticated); a file that was gets its own master back,
    /// with its magic map. Primary nodes only.
    ///
    /// # Errors
    /// In order: [`Error::Access`] (`-EACCES`) for a file that has never
    /// been master, opened without `CAP_SYS_ADMIN`; [`Error::Busy`]
    /// (`-EBUSY`) while another file is master; [`Error::Invalid`]
    /// (`-EINVAL`) for a file without master (render).
    #[doc(alias = "drm_setmaster_ioctl")]
    pub fn set_master(&self) -> Result<()> {
        let mut current = self.dev.master.lock();
        let mut a = self.auth.lock();
        self.master_check_perm(&a)?;
        if a.is_current(&current) {
            return Ok(());
        }
        if current.is_some() {
            return Err(Error::Busy);
        }
        if a.master.is_none() {
            return Err(Error::Invalid("file has no master"));
        }
        if !a.is_master {
            // drm_new_set_master
            a.master = Some(Arc::new(Master::default()));
            a.is_master = true;
            a.authenticated = true;
        }
        *current = a.master.clone();
        a.was_master = true;
        Ok(())
    }

    /// DROP_MASTER (`drm_dropmaster_ioctl`): the device has no master
    /// until a file sets it or a primary node is opened. The file keeps its
    /// own master (and `was_master`), so it can set it again. Primary nodes
    /// only.
    ///
    /// # Errors
    /// In order: [`Error::Access`] (`-EACCES`) for a file that has never
    /// been master, opened without `CAP_SYS_ADMIN`; [`Error::Invalid`]
    /// (`-EINVAL`) for a file that is not the current master.
    #[doc(alias = "drm_dropmaster_ioctl")]
    pub fn drop_master(&self) -> Result<()> {
        let mut current = self.dev.master.lock();
        let a = self.auth.lock();
        self.master_check_perm(&a)?;
        if !a.is_current(&current) {
            return Err(Error::Invalid("not the current master"));
        }
        *current = None;
        Ok(())
    }

    /// GET_CLIENT (`drm_getclient`): for `idx` 0, the calling file:
    /// whether it is authenticated, the caller's pid (`pid`, 0 when
    /// unknown), the overflow uid, magic and iocs 0. Primary nodes only.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for any other `idx` (no other client
    /// is listed); `arg` is then unchanged.
    #[doc(alias = "drm_getclient")]
    pub fn get_client(&self, arg: &mut DrmClient, pid: Option<u32>) -> Result<()> {
        if arg.idx != 0 {
            return Err(Error::Invalid("only client 0 is listed"));
        }
        arg.auth = i32::from(self.is_authenticated());
        arg.pid = u64::from(pid.unwrap_or(0));
        arg.uid = DRM_CLIENT_OVERFLOW_UID;
        arg.magic = 0;
        arg.iocs = 0;
        Ok(())
    }

    /// GEM_FLINK (`drm_gem_flink_ioctl`): the device-wide name of
    /// `handle`'s object, made on first use as the lowest free id >= 1; it
    /// goes when the object's last handle (in any file) goes. Needs an
    /// authenticated primary file (`DRM_AUTH`, no render node).
    ///
    /// # Errors
    /// [`Error::NotFound`] (`-ENOENT`) for an unknown handle;
    /// [`Error::NoMemory`] (the kernel's `-ENOSPC`) past `INT_MAX` names.
    #[doc(alias = "drm_gem_flink_ioctl")]
    pub fn gem_flink(&self, handle: u32) -> Result<u32> {
        let obj = self.lookup(handle).ok_or(Error::NotFound)?;
        let mut names = self.dev.names.lock();
        if obj.handle_count() == 0 {
            return Err(Error::NotFound);
        }
        if let Some((&name, _)) = names.iter().find(|(_, o)| o.id() == obj.id()) {
            return Ok(name);
        }
        let name = lowest_free_id(&names)?;
        names.insert(name, obj);
        Ok(name)
    }

    /// GEM_OPEN (`drm_gem_open_ioctl`): a new handle in this file to the
    /// object named `name` by GEM_FLINK (a new one on every call, even if
    /// the file already has a handle to it), and the object's size. Needs
    /// an authenticated primary file (`DRM_AUTH`, no render node).
    ///
    /// # Errors
    /// [`Error::NotFound`] (`-ENOENT`) for an unknown name (0, above
    /// `INT_MAX`, never given, or gone with its object's last handle);
    /// [`Error::NoMemory`] (the kernel's `-ENOSPC`) past `INT_MAX` handles.
    #[doc(alias = "drm_gem_open_ioctl")]
    pub fn gem_open(&self, name: u32) -> Result<(u32, u64)> {
        let names = self.dev.names.lock();
        let obj = names.get(&name).cloned().ok_or(Error::NotFound)?;
        let size = obj.size();
        let handle = self.state.lock().handles.create(obj)?;
        drop(names);
        Ok((handle, size))
    }

    /// GEM_CLOSE (`drm_gem_close_ioctl`): deletes the handle. `pad` is not
    /// checked (6.12).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for an unknown handle.
    #[doc(alias = "drm_gem_close_ioctl")]
    pub fn gem_close(&self, arg: &DrmGemClose) -> Result<()> {
        self.delete_handle(arg.handle)
    }

    /// MODE_CREATE_DUMB (`drm_mode_create_dumb_ioctl` with vgem's shmem
    /// `dumb_create`): a new object of [`dumb_layout`]'s size and a handle to
    /// it. `flags` and the input values of the outputs are ignored; the
    /// outputs are zero after a failure. Not allowed on render nodes (the
    /// dispatcher answers `-EACCES`).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) as [`dumb_layout`]; [`Error::NoMemory`]
    /// (`-ENOMEM`) if the memory cannot be had.
    #[doc(alias = "drm_mode_create_dumb_ioctl")]
    pub fn create_dumb(&self, arg: &mut DrmModeCreateDumb) -> Result<()> {
        let r = (|| {
            let (pitch, size) = dumb_layout(arg.width, arg.height, arg.bpp)?;
            let obj = GemObject::new(self.dev.id, size)?;
            let size = obj.size();
            let handle = self.state.lock().handles.create(obj)?;
            Ok((handle, pitch, size))
        })();
        (arg.handle, arg.pitch, arg.size) = *r.as_ref().unwrap_or(&(0, 0, 0));
        r.map(|_| ())
    }

    /// MODE_MAP_DUMB (`drm_gem_dumb_map_offset`): the object's fake mmap
    /// offset (created on first use, then stable); 0 after a failure.
    ///
    /// # Errors
    /// [`Error::NotFound`] (`-ENOENT`) for an unknown handle;
    /// [`Error::Invalid`] (`-EINVAL`) for an imported object;
    /// [`Error::NoMemory`] (the kernel's `-ENOSPC`) if the offset space is
    /// full or the object has no pages.
    #[doc(alias = "drm_mode_mmap_dumb_ioctl")]
    pub fn map_dumb(&self, arg: &mut DrmModeMapDumb) -> Result<()> {
        let r = self
            .lookup(arg.handle)
            .ok_or(Error::NotFound)
            .and_then(|obj| obj.mmap_offset(&self.dev.offsets));
        arg.offset = *r.as_ref().unwrap_or(&0);
        r.map(|_| ())
    }

    /// MODE_DESTROY_DUMB (`drm_mode_destroy_dumb_ioctl`): deletes the handle.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for an unknown handle.
    #[doc(alias = "drm_mode_destroy_dumb_ioctl")]
    pub fn destroy_dumb(&self, handle: u32) -> Result<()> {
        self.delete_handle(handle)
    }

    /// What `mmap(len, offset)` on this file maps (`drm_gem_mmap`): the
    /// object whose fake offset range holds `[offset, offset + len)`; the
    /// caller maps its [`GemObject::memfd`] from 0.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) when no live object covers the range;
    /// [`Error::Access`] (`-EACCES`) when this file holds no handle to it.
    #[doc(alias = "drm_gem_mmap")]
    pub fn mmap(&self, offset: u64, len: u64) -> Result<Arc<GemObject>> {
        let obj = self
            .dev
            .offsets
            .lookup(offset, len)
            .ok_or(Error::Invalid("no GEM object at this mmap offset"))?;
        if !self.state.lock().handles.holds(&obj) {
            return Err(Error::Access);
        }
        Ok(obj)
    }

    /// PRIME_HANDLE_TO_FD without the fd (`drm_gem_prime_handle_to_fd`):
    /// the dma-buf of `handle`'s object, which the caller installs as an
    /// fd. The dma-buf this file already has for the handle, else the one
    /// the object was imported from, else the object's exported dma-buf,
    /// made on first export with `flags`' access mode (see
    /// [`GemObject::export`]). The file remembers it for the handle.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for `flags` beyond `DRM_CLOEXEC |
    /// DRM_RDWR`, checked first; [`Error::NotFound`] (`-ENOENT`) for an
    /// unknown handle.
    #[doc(alias = "drm_gem_prime_handle_to_fd")]
    #[doc(alias = "drm_prime_handle_to_fd_ioctl")]
    pub fn prime_handle_to_fd(&self, handle: u32, flags: u32) -> Result<DmaBuf> {
        prime::check_export_flags(flags)?;
        let mut st = self.state.lock();
        let obj = st.handles.lookup(handle).ok_or(Error::NotFound)?;
        if let Some(buf) = st.prime.buf_of(handle) {
            return Ok(buf);
        }
        let buf = obj.export(flags)?;
        st.prime.add(&buf, handle);
        Ok(buf)
    }

    /// PRIME_FD_TO_HANDLE once the caller resolved the fd
    /// (`drm_gem_prime_fd_to_handle`): the handle this file already has for
    /// `buf`; else, for a dma-buf exported from one of this device's
    /// objects, a new handle to that very object; else a new handle to a new
    /// object importing `buf` (attached and mapped; it shares the buffer's
    /// reservation object). The file remembers the dma-buf for the handle.
    ///
    /// # Locking
    /// `buf`'s reservation lock must not be held by the caller.
    ///
    /// # Errors
    /// Those of [`GemObject::import`]; [`Error::NoMemory`] (the kernel's
    /// `-ENOSPC`) past `INT_MAX` handles.
    #[doc(alias = "drm_gem_prime_fd_to_handle")]
    #[doc(alias = "drm_prime_fd_to_handle_ioctl")]
    pub fn prime_fd_to_handle(&self, buf: &DmaBuf) -> Result<u32> {
        if let Some(handle) = self.state.lock().prime.handle_of(buf) {
            return Ok(handle);
        }
        let obj = match buf.exporter_as::<GemExport>() {
            Some(e) if e.object().device() == self.dev.id => e.object().clone(),
            _ => GemObject::import(self.dev.id, buf)?,
        };
        obj.adopt_dma_buf(buf);
        let mut st = self.state.lock();
        if let Some(handle) = st.prime.handle_of(buf) {
            return Ok(handle);
        }
        let handle = st.handles.create(obj)?;
        st.prime.add(buf, handle);
        Ok(handle)
    }

    /// VGEM_FENCE_ATTACH (`vgem_fence_attach_ioctl`): see the module doc;
    /// sets `out_fence` on success only.
    ///
    /// # Errors
    /// In order: [`Error::Invalid`] (`-EINVAL`) for `flags` beyond
    /// `VGEM_FENCE_WRITE`, then for `pad != 0`; [`Error::NotFound`]
    /// (`-ENOENT`) for an unknown handle; [`Error::Busy`] (`-EBUSY`) for a
    /// conflicting pending fence; [`Error::NoMemory`] past `INT_MAX` ids.
    #[doc(alias = "vgem_fence_attach_ioctl")]
    pub fn fence_attach(&self, arg: &mut DrmVgemFenceAttach) -> Result<()> {
        if arg.flags & !VGEM_FENCE_WRITE != 0 {
            return Err(Error::Invalid("vgem fence flags beyond VGEM_FENCE_WRITE"));
        }
        if arg.pad != 0 {
            return Err(Error::Invalid("vgem fence pad is not zero"));
        }
        let obj = self.lookup(arg.handle).ok_or(Error::NotFound)?;
        let write = arg.flags & VGEM_FENCE_WRITE != 0;
        let fence = Fence::new(self.dev.fence_ops.clone(), context_alloc(1), 1);
        let key = self.dev.timer.arm(&fence);
        let r = (|| {
            if !obj.resv().test_signaled(Usage::rw(write)) {
                return Err(Error::Busy);
            }
            let mut g = obj.resv().lock(None)?;
            g.reserve_fences(1)?;
            let usage = if write { Usage::Write } else { Usage::Read };
            g.add_fence(fence.clone(), usage)?;
            drop(g);
            let mut st = self.state.lock();
            if st.fences.len() >= i32::MAX as usize {
                return Err(Error::NoMemory);
            }
            st.fences.push(Some((fence.clone(), key)));
            Ok(st.fences.len() as u32)
        })();
        match r {
            Ok(id) => {
                arg.out_fence = id;
                Ok(())
            }
            Err(e) => {
                self.dev.timer.cancel(key);
                let _ = fence.signal();
                Err(e)
            }
        }
    }

    /// VGEM_FENCE_SIGNAL (`vgem_fence_signal_ioctl`): consumes the id and
    /// signals its fence.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for `flags != 0`; [`Error::NotFound`]
    /// (`-ENOENT`) for 0, an unknown or an already consumed id;
    /// [`Error::Expired`] (`-ETIMEDOUT`) if the timer had signalled it (the id
    /// is consumed all the same).
    #[doc(alias = "vgem_fence_signal_ioctl")]
    pub fn fence_signal(&self, arg: &DrmVgemFenceSignal) -> Result<()> {
        if arg.flags != 0 {
            return Err(Error::Invalid("vgem fence signal flags"));
        }
        let taken = (arg.fence as usize)
            .checked_sub(1)
            .and_then(|i| self.state.lock().fences.get_mut(i).and_then(Option::take));
        let (fence, key) = taken.ok_or(Error::NotFound)?;
        self.dev.timer.cancel(key);
        let expired = fence.is_signaled();
        let _ = fence.signal();
        if expired {
            Err(Error::Expired)
        } else {
            Ok(())
        }
    }

    /// The fence registered under `id`, if not yet consumed (for tests and
    /// diagnostics).
    pub fn fence(&self, id: u32) -> Option<Fence> {
        let i = (id as usize).checked_sub(1)?;
        let st = self.state.lock();
        st.fences.get(i)?.as_ref().map(|(f, _)| f.clone())
    }
}

impl DrmFile {
    /// `drm_master_release`: the file's magic leaves its master's map; the
    /// current master leaves the device without master; the file lets go
    /// of its master.
    fn master_release(&self) {
        let mut current = self.dev.master.lock();
        let mut a = self.auth.lock();
        if a.magic != 0 {
            if let Some(m) = &a.master {
                m.magic_map.lock().remove(&a.magic);
            }
        }
        if a.is_current(&current) {
            *current = None;
        }
        a.master = None;
    }
}

/// Releases `obj`'s flink name once it has no handle left
/// (`drm_gem_object_handle_free`); `names` is the device's name table,
/// locked.
fn unname_if_unused(names: &mut BTreeMap<u32, Arc<GemObject>>, obj: &Arc<GemObject>) {
    if obj.handle_count() == 0 {
        names.retain(|_, o| o.id() != obj.id());
    }
}

impl Drop for DrmFile {
    /// Closing the file (`drm_release`): the handles go
    /// (`drm_gem_release`), then vgem's postclose signals every fence still
    /// registered; a master gives up mastership.
    fn drop(&mut self) {
        let mut names = self.dev.names.lock();
        let st = std::mem::take(&mut *self.state.lock());
        let FileState {
            mut handles,
            prime,
            fences,
        } = st;
        let released = handles.release_all();
        for (obj, _) in &released {
            unname_if_unused(&mut names, obj);
        }
        drop(names);
        drop(released);
        drop(prime);
        self.master_release();
        for (fence, key) in fences.into_iter().flatten() {
            self.dev.timer.cancel(key);
            let _ = fence.signal();
        }
    }
}
