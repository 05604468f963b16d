//! The served ioctls: one table keyed by ioctl number and the kind of fd it
//! applies to. An ioctl of a served family on one of our fds that is not in
//! the table for that fd's kind gets ENOTTY, as from the kernel.
//!
//! Every entry names its argument struct; a const assertion checks that the
//! size encoded in the number equals the struct's. The framework copies the
//! argument in once (for `_IOW` directions) before the handler runs;
//! handlers decide on that copy only and write results back themselves, in
//! the order the kernel does.

use dmasync::error::errno::{EFAULT, EINVAL, ENOENT, ENOMEM, ENOTTY};
use dmasync::fence::sw_sync;
use dmasync::uapi::ioctl::ioc_size;
use dmasync::uapi::sw_sync::{
    SwSyncCreateFenceData, SwSyncGetDeadline, SW_SYNC_GET_DEADLINE, SW_SYNC_IOC_CREATE_FENCE,
    SW_SYNC_IOC_INC,
};
use dmasync::uapi::sync_file::{
    SyncFenceInfo, SyncFileInfo, SyncMergeData, SyncSetDeadline, SYNC_IOC_FILE_INFO,
    SYNC_IOC_MERGE, SYNC_IOC_SET_DEADLINE,
};
use dmasync::uapi::write_name;
use dmasync::Error;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use dmasync::buf::DmaBuf;
use dmasync::uapi::dma_buf::{
    DmaBufExportSyncFile, DmaBufImportSyncFile, DmaBufSync, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
    DMA_BUF_IOCTL_IMPORT_SYNC_FILE, DMA_BUF_IOCTL_SYNC, DMA_BUF_NAME_LEN, DMA_BUF_SET_NAME_A,
    DMA_BUF_SET_NAME_B,
};
use dmasync::uapi::dma_heap::{DmaHeapAllocationData, DMA_HEAP_IOCTL_ALLOC};
use dmasync::uapi::ioctl::{ioc_dir, ioc_nr, IOC_READ, IOC_WRITE};
use dmasync::uapi::udmabuf::{
    UdmabufCreate, UdmabufCreateItem, UdmabufCreateList, UDMABUF_CREATE, UDMABUF_CREATE_LIST,
    UDMABUF_FLAGS_CLOEXEC,
};

use crate::objects::{Object, Registry, SyncFileObj};

/// The kind of virtual fd an ioctl applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A sync file.
    SyncFile,
    /// A sw_sync timeline.
    Timeline,
    /// A dma-buf.
    DmaBuf,
    /// An open file of the vgem device (dispatched by `dmasync::drm`).
    Drm,
    /// `/dev/dma_heap/system` (dispatched by nr, as `dma_heap_ioctl`).
    Heap,
    /// `/dev/udmabuf`.
    Udmabuf,
    /// An `O_PATH` open of a virtual file.
    PathOnly,
    /// An open sysfs attribute (no ioctls of its own).
    SysAttr,
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::SyncFile(_) => Kind::SyncFile,
            Object::Timeline(_) => Kind::Timeline,
            Object::DmaBuf(_) => Kind::DmaBuf,
            Object::Drm(_) => Kind::Drm,
            Object::Heap => Kind::Heap,
            Object::Udmabuf => Kind::Udmabuf,
            Object::PathOnly(_) => Kind::PathOnly,
            Object::SysAttr(_) => Kind::SysAttr,
        }
    }
}

/// A handler's result: the ioctl's return value, or a positive errno.
pub type Outcome = Result<i64, i32>;

/// Not an errno: the handler handed the call to a worker that answers it
/// later; the serving loop must not answer it.
pub const DEFERRED: i32 = -1;

/// What the handlers may do to the caller of the call being served. The
/// supervisor's implementation acts on the traced thread; the fuzz target
/// has a mock.
pub trait Ctx {
    /// The ioctl's third argument.
    fn arg_addr(&self) -> u64;
    /// Copies the caller's memory at `addr` into `buf`; EFAULT on failure.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), i32>;
    /// Copies `data` to the caller at `addr`; EFAULT on failure.
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), i32>;
    /// The object behind the caller's fd: `Err(EBADF)` when it is not
    /// open, `Ok(None)` when it is not ours.
    fn lookup_open(&self, fd: i32) -> Result<Option<Object>, i32>;
    /// A copy of the caller's fd (same open description).
    fn get_fd(&self, fd: i32) -> Result<OwnedFd, i32>;
    /// Installs `fd` in the caller; returns its number there.
    fn install_fd(&self, fd: BorrowedFd<'_>, cloexec: bool) -> Result<i32, i32>;
    /// The registry of virtual objects.
    fn registry(&self) -> &Registry;
    /// Runs `job` on a worker thread that answers the call with its
    /// outcome, and returns `Err(DEFERRED)`; `job` must end when the call
    /// is interrupted (the caller got a signal or died), which `intr`
    /// reports.
    fn defer(&self, job: Box<dyn FnOnce(&dmasync::fence::Interrupt) -> Outcome + Send>) -> Outcome;

    /// Copies `data` to the ioctl's argument; EFAULT on failure.
    fn write_arg(&self, data: &[u8]) -> Result<(), i32> {
        self.write(self.arg_addr(), data)
    }

    /// The calling thread's id as the caller's pid namespace sees it
    /// (`task_pid_vnr(current)`); `None` when unknown. The program shares
    /// the supervisor's pid namespace, so it is the trapped thread's id.
    fn tid(&self) -> Option<u32> {
        None
    }

    /// The object that the caller's fd `fd` is, if it is one of ours.
    fn lookup(&self, fd: i32) -> Option<Object> {
        self.lookup_open(fd).ok().flatten()
    }
}

/// Serves ioctl `cmd` on `obj`: the table for sync files, timelines and
/// dma-bufs, the models' own dispatchers for the devices.
pub fn dispatch(ctx: &dyn Ctx, obj: &Object, cmd: u32) -> Outcome {
    // A close() by the program queues its inotify event before it returns:
    // handling the queued releases first makes them synchronous with the
    // program's later calls (a closed timeline's points have signalled
    // with -ENOENT by the time the program asks, as in the kernel).
    ctx.registry().on_inotify();
    match obj.kind() {
        Kind::PathOnly => return Err(libc::EBADF),
        Kind::Drm => {
            ctx.registry().on_released_drm_files();
            return drm_ioctl(ctx, obj, cmd);
        }
        Kind::Heap => return heap_ioctl(ctx, cmd),
        _ => {}
    }
    let Some(entry) = find(cmd, obj.kind()) else {
        return Err(ENOTTY);
    };
    let mut arg = vec![0u8; if entry.copy_in { ioc_size(cmd) } else { 0 }];
    if ioc_dir(cmd) & IOC_WRITE != 0 && !arg.is_empty() {
        ctx.read(ctx.arg_addr(), &mut arg)?;
    }
    (entry.run)(ctx, obj, &arg)
}

/// One served ioctl.
pub struct Entry {
    /// The full ioctl number.
    pub cmd: u32,
    /// The kernel's name for it.
    pub name: &'static str,
    /// The fd kind it applies to.
    pub kind: Kind,
    /// Whether the framework copies the argument struct in (not for
    /// SET_NAME, whose argument is a string pointer).
    pub copy_in: bool,
    /// Runs it on the argument bytes copied in.
    pub run: fn(&dyn Ctx, &Object, &[u8]) -> Outcome,
}

macro_rules! entry {
    ($cmd:ident, $arg:ty, $kind:expr, $run:path) => {{
        const _: () = assert!(ioc_size($cmd) == size_of::<$arg>());
        Entry {
            cmd: $cmd,
            name: stringify!($cmd),
            kind: $kind,
            copy_in: true,
            run: $run,
        }
    }};
    ($cmd:ident, $arg:ty, $kind:expr, $run:path, nocopy) => {{
        const _: () = assert!(ioc_size($cmd) == size_of::<$arg>());
        Entry {
            cmd: $cmd,
            name: stringify!($cmd),
            kind: $kind,
            copy_in: false,
            run: $run,
        }
    }};
}

/// Every served ioctl.
pub static TABLE: &[Entry] = &[
    entry!(
        SW_SYNC_IOC_CREATE_FENCE,
        SwSyncCreateFenceData,
        Kind::Timeline,
        sw_sync_create_fence
    ),
    entry!(SW_SYNC_IOC_INC, u32, Kind::Timeline, sw_sync_inc),
    entry!(
        SW_SYNC_GET_DEADLINE,
        SwSyncGetDeadline,
        Kind::Timeline,
        sw_sync_get_deadline
    ),
    entry!(SYNC_IOC_MERGE, SyncMergeData, Kind::SyncFile, sync_merge),
    entry!(
        SYNC_IOC_FILE_INFO,
        SyncFileInfo,
        Kind::SyncFile,
        sync_file_info
    ),
    entry!(
        SYNC_IOC_SET_DEADLINE,
        SyncSetDeadline,
        Kind::SyncFile,
        sync_set_deadline
    ),
    entry!(DMA_BUF_IOCTL_SYNC, DmaBufSync, Kind::DmaBuf, dma_buf_sync),
    entry!(
        DMA_BUF_SET_NAME_A,
        u32,
        Kind::DmaBuf,
        dma_buf_set_name,
        nocopy
    ),
    entry!(
        DMA_BUF_SET_NAME_B,
        u64,
        Kind::DmaBuf,
        dma_buf_set_name,
        nocopy
    ),
    entry!(
        DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
        DmaBufExportSyncFile,
        Kind::DmaBuf,
        dma_buf_export_sync_file
    ),
    entry!(
        DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
        DmaBufImportSyncFile,
        Kind::DmaBuf,
        dma_buf_import_sync_file
    ),
    entry!(UDMABUF_CREATE, UdmabufCreate, Kind::Udmabuf, udmabuf_create),
    entry!(
        UDMABUF_CREATE_LIST,
        UdmabufCreateList,
        Kind::Udmabuf,
        udmabuf_create_list
    ),
];

/// The entry for `cmd` on an fd of `kind`.
pub fn find(cmd: u32, kind: Kind) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.cmd == cmd && e.kind == kind)
}

fn timeline(obj: &Object) -> &sw_sync::Timeline {
    match obj {
        Object::Timeline(t) => &t.timeline,
        _ => unreachable!("dispatched by kind"),
    }
}

fn sync_file(obj: &Object) -> &SyncFileObj {
    match obj {
        Object::SyncFile(f) => f,
        _ => unreachable!("dispatched by kind"),
    }
}

fn dma_buf(obj: &Object) -> &DmaBuf {
    match obj {
        Object::DmaBuf(b) => &b.buf,
        _ => unreachable!("dispatched by kind"),
    }
}

fn io_errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(ENOMEM)
}

/// Decodes an argument copied in by the framework (always its full size).
fn arg<T>(bytes: &[u8], from: fn(&[u8]) -> Option<T>) -> Result<T, i32> {
    from(bytes).ok_or(EFAULT)
}

/// Makes a sync file and installs it in the caller with O_CLOEXEC (as
/// `get_unused_fd_flags(O_CLOEXEC)` does); returns its fd number there.
fn install_sync_file(
    call: &dyn Ctx,
    file: dmasync::sync_file::SyncFile,
    raw_name: [u8; 32],
) -> Result<i32, i32> {
    let fd = call
        .registry()
        .new_sync_file(file, raw_name)
        .map_err(io_errno)?;
    call.install_fd(std::os::fd::AsFd::as_fd(&fd), true)
}

fn sw_sync_create_fence(call: &dyn Ctx, obj: &Object, bytes: &[u8]) -> Outcome {
    let mut data = arg(bytes, SwSyncCreateFenceData::from_bytes)?;
    let fence = timeline(obj).create_fence(data.value);
    // Check that the result can be written before the fd is installed: an
    // installed fd cannot be taken back.
    call.write_arg(&data.to_bytes())?;
    data.fence = install_sync_file(call, dmasync::sync_file::SyncFile::new(fence), [0; 32])?;
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

fn sw_sync_inc(_call: &dyn Ctx, obj: &Object, bytes: &[u8]) -> Outcome {
    let by = u32::from_le_bytes(bytes.try_into().map_err(|_| EFAULT)?);
    timeline(obj).inc(by);
    Ok(0)
}

fn sw_sync_get_deadline(call: &dyn Ctx, _obj: &Object, bytes: &[u8]) -> Outcome {
    let mut data = arg(bytes, SwSyncGetDeadline::from_bytes)?;
    if data.deadline_ns != 0 || data.pad != 0 {
        return Err(EINVAL);
    }
    let Some(Object::SyncFile(f)) = call.lookup(data.fence_fd) else {
        return Err(EINVAL);
    };
    data.deadline_ns = match sw_sync::get_deadline(f.file.fence()) {
        Ok(d) => d,
        Err(Error::NotFound) => return Err(ENOENT),
        Err(e) => return Err(e.errno()),
    };
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

fn sync_merge(call: &dyn Ctx, obj: &Object, bytes: &[u8]) -> Outcome {
    let mut data = arg(bytes, SyncMergeData::from_bytes)?;
    if data.flags != 0 || data.pad != 0 {
        return Err(EINVAL);
    }
    let Some(Object::SyncFile(other)) = call.lookup(data.fd2) else {
        return Err(ENOENT);
    };
    data.name[31] = 0;
    let merged = sync_file(obj).file.merge(&other.file, &data.name);
    call.write_arg(&data.to_bytes())?;
    data.fence = install_sync_file(call, merged, data.name)?;
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

/// `sync_file_get_name` as the 32 bytes the UAPI carries: the user name as
/// given (bytes, not text), or the synthesised one cut to 31 bytes.
fn sync_file_name(f: &SyncFileObj) -> [u8; 32] {
    if f.raw_name[0] != 0 {
        return f.raw_name;
    }
    write_name(f.file.name())
}

/// Copies a NUL-terminated name over the start of `dst`, leaving the bytes
/// after its NUL as they were (the kernel's `strscpy` does not pad).
fn copy_name(dst: &mut [u8; 32], src: &[u8; 32]) {
    let n = src.iter().position(|&b| b == 0).unwrap_or(31).min(31);
    dst[..n].copy_from_slice(&src[..n]);
    dst[n] = 0;
}

fn sync_file_info(call: &dyn Ctx, obj: &Object, bytes: &[u8]) -> Outcome {
    let mut info = arg(bytes, SyncFileInfo::from_bytes)?;
    if info.flags != 0 || info.pad != 0 {
        return Err(EINVAL);
    }
    let f = sync_file(obj);
    let report = f.file.info(info.num_fences).map_err(Error::errno)?;
    if info.num_fences != 0 {
        let mut out = Vec::with_capacity(report.fences.len() * size_of::<SyncFenceInfo>());
        for leaf in &report.fences {
            let e = SyncFenceInfo {
                obj_name: write_name(leaf.obj_name.as_bytes()),
                driver_name: write_name(leaf.driver_name.as_bytes()),
                status: leaf.status,
                flags: 0,
                timestamp_ns: leaf.timestamp_ns,
            };
            out.extend_from_slice(&e.to_bytes());
        }
        // On a failed copy the kernel returns EFAULT without writing the
        // header back.
        call.write(info.sync_fence_info, &out)?;
    }
    info.status = report.status;
    copy_name(&mut info.name, &sync_file_name(f));
    info.num_fences = report.num_fences;
    call.write_arg(&info.to_bytes())?;
    Ok(0)
}

fn sync_set_deadline(_call: &dyn Ctx, obj: &Object, bytes: &[u8]) -> Outcome {
    let data = arg(bytes, SyncSetDeadline::from_bytes)?;
    if data.pad != 0 {
        return Err(EINVAL);
    }
    sync_file(obj).file.set_deadline(data.deadline_ns);
    Ok(0)
}

fn dma_buf_sync(call: &dyn Ctx, obj: &Object, bytes: &[u8]) -> Outcome {
    use dmasync::buf::Events;
    use dmasync::uapi::dma_buf::{DMA_BUF_SYNC_END, DMA_BUF_SYNC_WRITE};
    let data = arg(bytes, DmaBufSync::from_bytes)?;
    let buf = dma_buf(obj);
    // START waits for the fences a CPU access must wait for: those whose
    // absence is POLLOUT for a writer, POLLIN for a reader. Ready (or END,
    // or bad flags): answered at once; else a worker waits.
    let need = if data.flags & DMA_BUF_SYNC_WRITE != 0 {
        Events::OUT
    } else {
        Events::IN
    };
    if data.flags & DMA_BUF_SYNC_END != 0 || buf.poll(need).contains(need) {
        return buf.sync(data.flags).map(|()| 0).map_err(Error::errno);
    }
    let buf = buf.clone();
    call.defer(Box::new(move |intr| {
        match buf.sync_interruptible(data.flags, Some(intr)) {
            Ok(()) => Ok(0),
            // The caller is gone or was interrupted: its restart will ask
            // again.
            Err(Error::Interrupted) => Err(libc::EINTR),
            Err(e) => Err(e.errno()),
        }
    }))
}

fn dma_buf_set_name(call: &dyn Ctx, obj: &Object, _bytes: &[u8]) -> Outcome {
    // strndup_user(arg, DMA_BUF_NAME_LEN): a NUL within 32 bytes, read
    // without crossing into a page that is not needed.
    let mut name = Vec::with_capacity(DMA_BUF_NAME_LEN);
    let mut at = call.arg_addr();
    while name.len() < DMA_BUF_NAME_LEN {
        let left = DMA_BUF_NAME_LEN - name.len();
        let chunk = ((4096 - at % 4096) as usize).min(left);
        let mut b = vec![0u8; chunk];
        call.read(at, &mut b)?;
        if let Some(end) = b.iter().position(|&c| c == 0) {
            name.extend_from_slice(&b[..end]);
            return dma_buf(obj)
                .set_name(&name)
                .map(|()| 0)
                .map_err(Error::errno);
        }
        name.extend_from_slice(&b);
        at = at.wrapping_add(chunk as u64);
    }
    Err(EINVAL)
}

fn dma_buf_export_sync_file(call: &dyn Ctx, obj: &Object, bytes: &[u8]) -> Outcome {
    let mut data = arg(bytes, DmaBufExportSyncFile::from_bytes)?;
    let file = dma_buf(obj)
        .export_sync_file(data.flags)
        .map_err(Error::errno)?;
    // The kernel installs the fd only after a successful copy: check that
    // the result can be written before installing it (an installed fd
    // cannot be taken back).
    call.write_arg(&data.to_bytes())?;
    data.fd = install_sync_file(call, file, [0; 32])?;
    call.write_arg(&data.to_bytes())?;
    Ok(0)
}

fn dma_buf_import_sync_file(call: &dyn Ctx, obj: &Object, bytes: &[u8]) -> Outcome {
    let data = arg(bytes, DmaBufImportSyncFile::from_bytes)?;
    // Flags are checked by the model; a bad fd or a file that is not a
    // sync file is EINVAL.
    let file = match call.lookup(data.fd) {
        Some(Object::SyncFile(f)) => f,
        _ => return Err(EINVAL),
    };
    dma_buf(obj)
        .import_sync_file(data.flags, &file.file)
        .map(|()| 0)
        .map_err(Error::errno)
}

/// A stand-in for a caller's fd that is not open: a file that is not shmem,
/// so the model rejects it where the kernel's `fget` fails (EBADFD).
fn not_shmem() -> Result<OwnedFd, i32> {
    rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| e.raw_os_error())
}

/// Makes the dma-buf from the caller's memfds and installs it.
fn udmabuf_make(call: &dyn Ctx, flags: u32, items: &[(i32, u64, u64)]) -> Outcome {
    let mut fds = Vec::with_capacity(items.len());
    for &(fd, _, _) in items {
        // The files dmasync serves (dma-bufs, timelines, sync files, the
        // devices) are anon inodes or character devices in the kernel, not
        // shmem: EBADFD, whatever their stand-in here is.
        let served = !matches!(call.lookup_open(fd), Ok(None));
        fds.push(match call.get_fd(fd) {
            Ok(f) if !served => f,
            _ => not_shmem()?,
        });
    }
    let list: Vec<dmasync::buf::udmabuf::CreateItem<'_>> = items
        .iter()
        .zip(&fds)
        .map(
            |(&(_, offset, size), fd)| dmasync::buf::udmabuf::CreateItem {
                memfd: fd.as_fd(),
                offset,
                size,
            },
        )
        .collect();
    let buf = dmasync::buf::udmabuf::create_list(flags, &list, Default::default())
        .map_err(Error::errno)?;
    let fd = call
        .registry()
        .dma_buf_fd(&buf, dmasync::buf::O_RDWR)
        .map_err(io_errno)?;
    call.install_fd(fd.as_fd(), flags & UDMABUF_FLAGS_CLOEXEC != 0)
        .map(i64::from)
}

fn udmabuf_create(call: &dyn Ctx, _obj: &Object, bytes: &[u8]) -> Outcome {
    let c = arg(bytes, UdmabufCreate::from_bytes)?;
    udmabuf_make(call, c.flags, &[(c.memfd as i32, c.offset, c.size)])
}

/// Largest list the kernel's `memdup_user` can allocate (KMALLOC_MAX_SIZE
/// on x86-64): beyond it, ENOMEM before any check.
const MEMDUP_MAX: u64 = 4 << 20;

fn udmabuf_create_list(call: &dyn Ctx, _obj: &Object, bytes: &[u8]) -> Outcome {
    let head = arg(bytes, UdmabufCreateList::from_bytes)?;
    // The count limit is checked before the items are copied in.
    if head.count > dmasync::buf::udmabuf::Limits::default().list_limit {
        return Err(EINVAL);
    }
    let item_size = size_of::<UdmabufCreateItem>() as u64;
    let len = u64::from(head.count) * item_size;
    if len > MEMDUP_MAX {
        return Err(ENOMEM);
    }
    let mut raw = vec![0u8; len as usize];
    call.read(
        call.arg_addr()
            .wrapping_add(size_of::<UdmabufCreateList>() as u64),
        &mut raw,
    )?;
    let mut items = Vec::with_capacity(head.count as usize);
    for chunk in raw.chunks_exact(item_size as usize) {
        let it = arg(chunk, UdmabufCreateItem::from_bytes)?;
        items.push((it.memfd as i32, it.offset, it.size));
    }
    udmabuf_make(call, head.flags, &items)
}

/// `dma_heap_ioctl`: the handler is chosen by nr alone; the user's size
/// may differ from the kernel's (shorter: zero-filled; longer: cut).
fn heap_ioctl(call: &dyn Ctx, cmd: u32) -> Outcome {
    if ioc_nr(cmd) != ioc_nr(DMA_HEAP_IOCTL_ALLOC) {
        return Err(EINVAL);
    }
    let kcmd = DMA_HEAP_IOCTL_ALLOC;
    let user = ioc_size(cmd);
    let in_size = if ioc_dir(cmd) & ioc_dir(kcmd) & IOC_WRITE != 0 {
        user
    } else {
        0
    };
    let out_size = if ioc_dir(cmd) & ioc_dir(kcmd) & IOC_READ != 0 {
        user
    } else {
        0
    };
    let ksize = in_size.max(out_size).max(ioc_size(kcmd));
    let mut k = vec![0u8; ksize];
    call.read(call.arg_addr(), &mut k[..in_size])
        .map_err(|_| EFAULT)?;
    let mut data = arg(&k, DmaHeapAllocationData::from_bytes)?;
    let result = (|| {
        if data.fd != 0 {
            return Err(EINVAL);
        }
        let buf = dmasync::buf::heap::alloc(data.len, data.fd_flags, data.heap_flags)
            .map_err(Error::errno)?;
        let fd = call
            .registry()
            .dma_buf_fd(&buf, data.fd_flags)
            .map_err(io_errno)?;
        // A result that cannot be written back leaves no fd behind: check
        // the copy before installing (an installed fd cannot be taken back).
        if out_size > 0 {
            call.write(call.arg_addr(), &k[..out_size])?;
        }
        let n = call.install_fd(fd.as_fd(), data.fd_flags & dmasync::buf::O_CLOEXEC != 0)?;
        data.fd = n as u32;
        Ok(0)
    })();
    let out = data.to_bytes();
    k[..out.len()].copy_from_slice(&out);
    if out_size > 0 {
        call.write(call.arg_addr(), &k[..out_size])?;
    }
    result
}

/// The [`dmasync::drm::Caller`] of one served DRM ioctl.
struct DrmCaller<'a> {
    ctx: &'a dyn Ctx,
    /// The errno of a failed fd installation (the model knows no EMFILE).
    install_err: Option<i32>,
}

impl dmasync::drm::Caller for DrmCaller<'_> {
    fn write_user(&mut self, addr: u64, bytes: &[u8]) -> dmasync::error::Result<()> {
        self.ctx.write(addr, bytes).map_err(|_| Error::Fault)
    }

    fn install_dma_buf(&mut self, buf: DmaBuf, flags: u32) -> dmasync::error::Result<i32> {
        // Every fd of a dma-buf shares its one file: the access mode is the
        // file's (set by the first export), not this export's DRM_RDWR.
        let r = self
            .ctx
            .registry()
            .dma_buf_fd(&buf, buf.file_flags())
            .map_err(io_errno)
            .and_then(|fd| {
                self.ctx
                    .install_fd(fd.as_fd(), flags & dmasync::buf::O_CLOEXEC != 0)
            });
        r.map_err(|e| {
            self.install_err = Some(e);
            Error::NoMemory
        })
    }

    fn pid_vnr(&self) -> Option<u32> {
        self.ctx.tid()
    }

    fn dma_buf_from_fd(&mut self, fd: i32) -> dmasync::error::Result<DmaBuf> {
        match self.ctx.lookup_open(fd) {
            Err(_) => Err(Error::BadFd),
            Ok(Some(Object::DmaBuf(b))) => Ok(b.buf.clone()),
            Ok(_) => Err(Error::Invalid("not a dma-buf")),
        }
    }
}

/// `drm_ioctl` on a vgem file: the model decodes and runs it; the bytes it
/// gives back are written to the argument even when it failed.
fn drm_ioctl(ctx: &dyn Ctx, obj: &Object, cmd: u32) -> Outcome {
    let Object::Drm(f) = obj else {
        unreachable!("dispatched by kind")
    };
    let d = dmasync::drm::decode(cmd, &dmasync::drm::VGEM_IOCTLS).map_err(Error::errno)?;
    let mut arg = vec![0u8; d.in_size];
    ctx.read(ctx.arg_addr(), &mut arg)?;
    // A known ioctl whose argument was copied in: the kernel's
    // drm_ioctl_kernel makes the caller's process the file's owner.
    if let Some(tid) = ctx.tid() {
        f.note_caller(tid);
    }
    let mut caller = DrmCaller {
        ctx,
        install_err: None,
    };
    let reply = f.file.ioctl(cmd, &arg, &mut caller);
    if !reply.out.is_empty() {
        ctx.write_arg(&reply.out)?;
    }
    match (reply.result, caller.install_err) {
        (Err(_), Some(e)) => Err(e),
        _ => match reply.ret() {
            r if r < 0 => Err(-r),
            r => Ok(i64::from(r)),
        },
    }
}

/// EFAULT for a failed copy to or from the caller.
pub(crate) fn efault<T>(_: T) -> i32 {
    EFAULT
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The udmabuf device's kind in [`crate::fuzzing::ioctl`].
    const UDMABUF_DEVICE: u8 = 5;

    fn create_list_head(count: u32) -> Vec<u8> {
        UdmabufCreateList { flags: 0, count }.to_bytes().to_vec()
    }

    /// `udmabuf_ioctl_create_list` checks the count against `list_limit`
    /// before it copies the items in: EINVAL, not EFAULT for items that are
    /// not there, nor ENOMEM for a list too large to allocate.
    #[test]
    fn udmabuf_create_list_checks_the_count_before_the_items() {
        for count in [1025, 0x4000_0000, u32::MAX] {
            assert_eq!(
                crate::fuzzing::ioctl(
                    UDMABUF_DEVICE,
                    UDMABUF_CREATE_LIST,
                    &create_list_head(count)
                ),
                Err(EINVAL),
                "count {count}"
            );
        }
        // Within the limit, the missing items are a fault.
        assert_eq!(
            crate::fuzzing::ioctl(UDMABUF_DEVICE, UDMABUF_CREATE_LIST, &create_list_head(1024)),
            Err(EFAULT)
        );
    }

    /// A closed fd as the memfd is EBADFD (`check_memfd_seals` on no
    /// file); an open sealed memfd makes a buffer.
    #[test]
    fn udmabuf_create_memfd_checks() {
        let create = |memfd: u32| {
            let c = UdmabufCreate {
                memfd,
                flags: 0,
                offset: 0,
                size: 4096,
            };
            crate::fuzzing::ioctl(UDMABUF_DEVICE, UDMABUF_CREATE, &c.to_bytes())
        };
        assert_eq!(create(7), Err(dmasync::error::errno::EBADFD));
        assert_eq!(create(3), Ok(100));
    }

    #[test]
    fn table_entries_are_unique_and_named_as_in_the_uapi() {
        for (i, e) in TABLE.iter().enumerate() {
            let known = dmasync::uapi::ioctl_name(e.cmd);
            // SET_NAME_B is SET_NAME's own number on 64-bit.
            assert!(
                known == Some(e.name)
                    || (e.name == "DMA_BUF_SET_NAME_B" && known == Some("DMA_BUF_SET_NAME")),
                "{} is {known:?}",
                e.name
            );
            assert!(
                crate::sys::filter::IOCTL_TYPES.contains(&dmasync::uapi::ioctl::ioc_type(e.cmd)),
                "{} is not trapped by the filter",
                e.name
            );
            for other in &TABLE[i + 1..] {
                assert!(
                    other.cmd != e.cmd || other.kind != e.kind,
                    "{} twice",
                    e.name
                );
            }
        }
        assert!(find(SYNC_IOC_FILE_INFO, Kind::Timeline).is_none());
        assert!(find(SW_SYNC_IOC_INC, Kind::SyncFile).is_none());
        assert!(find(SW_SYNC_IOC_INC, Kind::Timeline).is_some());
    }
}
