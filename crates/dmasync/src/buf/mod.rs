//! `dma_buf`: shared buffers between an exporter and importers
//! (drivers/dma-buf/dma-buf.c, include/linux/dma-buf.h,
//! include/uapi/linux/dma-buf.h, drivers/dma-buf/udmabuf.c, the system
//! dma-heap; Linux 6.12).
//!
//! # Overview
//!
//! A [`DmaBuf`] is a buffer that an *exporter* ([`Exporter`]) owns and
//! *importers* attach devices to ([`Attachment`]). It always has a
//! reservation object ([`Resv`]): its own, or the exporter's (a GEM
//! object's) when shared at [`export`]. Every implicit-sync question the
//! kernel answers on a dma-buf fd is a method here:
//!
//! | kernel | model |
//! |---|---|
//! | `dma_buf_export` / file release | [`export`] / drop of the last [`DmaBuf`] |
//! | `dma_buf_attach` / `dma_buf_dynamic_attach` / `dma_buf_detach` | [`DmaBuf::attach`] / [`DmaBuf::dynamic_attach`] / [`Attachment::detach`] |
//! | `dma_buf_pin` / `unpin` | [`Attachment::pin`] / [`Attachment::unpin`] |
//! | `dma_buf_map_attachment` / `unmap` (`_unlocked`) | [`Attachment::map`] / [`Attachment::unmap`] ([`Attachment::map_unlocked`]) |
//! | `dma_buf_move_notify` | [`DmaBuf::move_notify`] |
//! | `dma_buf_begin/end_cpu_access`, `DMA_BUF_IOCTL_SYNC` | [`DmaBuf::begin_cpu_access`], [`DmaBuf::end_cpu_access`], [`DmaBuf::sync`] |
//! | `dma_buf_vmap` / `vunmap` | [`DmaBuf::vmap`] / [`DmaBuf::vunmap`] |
//! | file `poll` | [`DmaBuf::poll`], [`DmaBuf::on_ready`], [`DmaBuf::poll_wait`] |
//! | `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` / `IMPORT_SYNC_FILE` | [`DmaBuf::export_sync_file`] / [`DmaBuf::import_sync_file`] |
//! | `DMA_BUF_SET_NAME` | [`DmaBuf::set_name`] |
//! | `llseek`, fdinfo, debugfs `bufinfo` | [`DmaBuf::llseek`], [`DmaBuf::fdinfo`], [`debugfs::bufinfo`] |
//!
//! Built-in exporters: the system heap ([`heap`], memfd memory),
//! [`udmabuf`] (a caller's sealed memfds), and a device-memory exporter
//! that moves and evicts its buffers ([`device`]).
//!
//! # Locking convention (§4.3, rule C9)
//!
//! | caller holds the resv lock (passes its [`ResvGuard`]) | caller must NOT hold it |
//! |---|---|
//! | [`Attachment::pin`], [`Attachment::unpin`], [`Attachment::map`], [`Attachment::unmap`], [`DmaBuf::vmap`], [`DmaBuf::vunmap`], [`DmaBuf::move_notify`] | [`export`], [`DmaBuf::attach`], [`DmaBuf::dynamic_attach`], [`Attachment::detach`] (and dropping an attachment), [`DmaBuf::begin_cpu_access`], [`DmaBuf::end_cpu_access`], [`DmaBuf::sync`], the `_unlocked` wrappers, [`DmaBuf::poll`], the sync-file import, [`debugfs::bufinfo`] |
//!
//! A guard of another object's lock is refused with [`Error::Invalid`]. The
//! lock is not recursive: calling a "must not hold" function while holding
//! the buffer's lock on the same thread deadlocks, as in the kernel.
//!
//! # Implicit synchronisation rules (C1–C5, C15–C17)
//!
//! * C1: a reader adds a READ fence, a writer a WRITE fence; the fences a
//!   new access waits for are `Usage::rw(write)`: a writer waits for
//!   every KERNEL/WRITE/READ fence, a reader for KERNEL/WRITE ones. poll,
//!   CPU access and the sync-file export follow it.
//! * C2/C3: moves and clears are KERNEL fences. A static importer's map
//!   waits for them; a dynamic importer must wait for them itself.
//! * C4: a static importer keeps the buffer pinned (6.1 style: from attach
//!   to detach on a dynamic exporter); a dynamic importer is not pinned and
//!   gets `move_notify` instead (when the buffer's move-notify support is
//!   on, the default; off, maps pin as a kernel without
//!   `CONFIG_DMABUF_MOVE_NOTIFY` does).
//! * C5: the exporter calls [`DmaBuf::move_notify`] with the lock held; no
//!   map can race it, since maps need the same lock.
//! * C15/C16: CPU access waits only for implicit fences, and only between
//!   [`DmaBuf::sync`] START and END is the memory coherent.
//! * C17: mapping tables are page aligned and owned by the importer.
//!
//! # Lifetime
//!
//! A [`DmaBuf`] is a reference-counted handle: each clone is one file
//! reference. Attachments hold one, and so does each armed poll slot (the
//! kernel's `get_file` in poll). When the last goes the exporter's
//! [`Exporter::release`] runs and the buffer leaves the global list.

mod attach;
mod cpu_access;
pub mod debugfs;
pub mod device;
mod exporter;
pub mod heap;
mod memory;
mod poll;
mod sync_file_io;
pub mod udmabuf;

pub use attach::{AttachInfo, Attachment, ImporterOps};
pub use cpu_access::Vmap;
pub use exporter::{Caps, Exporter};
pub use memory::{
    page_align, page_aligned, Direction, Location, Memory, Segment, SgEntry, SgTable, PAGE_SIZE,
};
pub use poll::{Events, OnReady, PollWaiter};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, Weak};

use crate::error::{Error, Result};
use crate::resv::{Resv, ResvGuard};
use crate::sync::Mutex;

/// `O_RDONLY`.
pub const O_RDONLY: u32 = 0;
/// `O_WRONLY`.
pub const O_WRONLY: u32 = 1;
/// `O_RDWR`.
pub const O_RDWR: u32 = 2;
/// `O_ACCMODE`.
pub const O_ACCMODE: u32 = 3;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0o4000;
/// `O_CLOEXEC`.
pub const O_CLOEXEC: u32 = 0o200_0000;

/// `FMODE_READ`.
const FMODE_READ: u32 = 1;
/// `FMODE_WRITE`.
const FMODE_WRITE: u32 = 2;
/// `FMODE_LSEEK`.
const FMODE_LSEEK: u32 = 4;
/// `FMODE_OPENED`.
const FMODE_OPENED: u32 = 1 << 19;

/// `SEEK_SET`.
pub const SEEK_SET: i32 = 0;
/// `SEEK_CUR`.
pub const SEEK_CUR: i32 = 1;
/// `SEEK_END`.
pub const SEEK_END: i32 = 2;

/// Longest name [`DmaBuf::set_name`] accepts, in bytes (`DMA_BUF_NAME_LEN - 1`).
pub const NAME_MAX: usize = crate::uapi::dma_buf::DMA_BUF_NAME_LEN - 1;

/// What [`export`] needs besides the exporter (`struct dma_buf_export_info`).
#[derive(Clone, Debug)]
#[doc(alias = "dma_buf_export_info")]
pub struct ExportInfo {
    /// The exporter's name, shown in fdinfo and bufinfo (`exp_name`).
    pub exp_name: String,
    /// Size in bytes.
    pub size: u64,
    /// File flags: only the access mode and `O_NONBLOCK` are kept.
    pub flags: u32,
    /// A reservation object to share (a GEM object's), or `None` for the
    /// buffer's own.
    pub resv: Option<Arc<Resv>>,
    /// Whether dynamic importers get `move_notify` rather than a pin on
    /// map (`CONFIG_DMABUF_MOVE_NOTIFY`; default on).
    pub move_notify: bool,
}

impl ExportInfo {
    /// `size` bytes from `exp_name`, `O_RDWR`, its own reservation object,
    /// move-notify on.
    pub fn new(exp_name: impl Into<String>, size: u64) -> ExportInfo {
        ExportInfo {
            exp_name: exp_name.into(),
            size,
            flags: O_RDWR,
            resv: None,
            move_notify: true,
        }
    }

    /// Shares `resv` instead of creating one.
    pub fn with_resv(mut self, resv: Arc<Resv>) -> ExportInfo {
        self.resv = Some(resv);
        self
    }

    /// Sets the file flags.
    pub fn with_flags(mut self, flags: u32) -> ExportInfo {
        self.flags = flags;
        self
    }

    /// Sets move-notify support (`CONFIG_DMABUF_MOVE_NOTIFY`).
    pub fn with_move_notify(mut self, on: bool) -> ExportInfo {
        self.move_notify = on;
        self
    }
}

pub(crate) struct Inner {
    exporter: Arc<dyn Exporter>,
    caps: Caps,
    exp_name: String,
    size: u64,
    f_flags: u32,
    f_mode: u32,
    resv: Arc<Resv>,
    ino: u64,
    move_notify: bool,
    /// `None` until SET_NAME; `Some(empty)` after SET_NAME "".
    name: Mutex<Option<Vec<u8>>>,
    /// The attachments. Changed only with the resv lock held (as the
    /// kernel's list), so a holder of the lock sees a stable list; the
    /// mutex only makes the access safe.
    attachments: Mutex<Vec<Arc<AttachInfo>>>,
    poll: poll::PollState,
    vmap: Mutex<cpu_access::VmapState>,
}

impl Drop for Inner {
    #[doc(alias = "dma_buf_release")]
    fn drop(&mut self) {
        self.exporter.release();
        registry_remove(self.ino);
    }
}

/// A dma-buf: a handle counted as one file reference.
///
/// Cloning is `get_file`; dropping is `fput`. Equality is identity.
#[doc(alias = "dma_buf")]
#[derive(Clone)]
pub struct DmaBuf {
    inner: Arc<Inner>,
}

impl PartialEq for DmaBuf {
    fn eq(&self, other: &DmaBuf) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
impl Eq for DmaBuf {}

impl fmt::Debug for DmaBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaBuf")
            .field("ino", &self.ino())
            .field("exp_name", &self.exp_name())
            .field("size", &self.size())
            .finish()
    }
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique number (attachment ids, table ids, vmap addresses).
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The global list of live buffers (`db_list`), newest first when listed.
static REGISTRY: StdMutex<BTreeMap<u64, Weak<Inner>>> = StdMutex::new(BTreeMap::new());

fn registry() -> std::sync::MutexGuard<'static, BTreeMap<u64, Weak<Inner>>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn registry_remove(ino: u64) {
    registry().remove(&ino);
}

/// Every live buffer, newest first (the kernel adds at the list's head).
pub fn live_buffers() -> Vec<DmaBuf> {
    registry()
        .values()
        .rev()
        .filter_map(Weak::upgrade)
        .map(|inner| DmaBuf { inner })
        .collect()
}

/// Creates a buffer (`dma_buf_export`).
///
/// Takes no lock the caller may hold. The buffer gets a fresh inode number
/// ([`DmaBuf::ino`]), its own reservation object unless `info.resv` is
/// given, and joins the global list ([`live_buffers`]).
///
/// # Errors
/// [`Error::Invalid`] (`-EINVAL`) when the exporter has exactly one of
/// pin/unpin or `cache_sgt_mapping` with them.
#[doc(alias = "dma_buf_export")]
pub fn export(exporter: Arc<dyn Exporter>, info: ExportInfo) -> Result<DmaBuf> {
    let caps = exporter.caps();
    exporter::check_caps(caps)?;
    let f_flags = info.flags & (O_ACCMODE | O_NONBLOCK);
    let f_mode = ((f_flags + 1) & O_ACCMODE) | FMODE_LSEEK | FMODE_OPENED;
    const { assert!(FMODE_READ | FMODE_WRITE == O_ACCMODE) };
    let ino = NEXT_INO.fetch_add(1, Ordering::Relaxed);
    let inner = Arc::new(Inner {
        exporter,
        caps,
        exp_name: info.exp_name,
        size: info.size,
        f_flags,
        f_mode,
        resv: info.resv.unwrap_or_else(|| Arc::new(Resv::new())),
        ino,
        move_notify: info.move_notify,
        name: Mutex::new(None),
        attachments: Mutex::new(Vec::new()),
        poll: poll::PollState::default(),
        vmap: Mutex::new(cpu_access::VmapState::default()),
    });
    registry().insert(ino, Arc::downgrade(&inner));
    Ok(DmaBuf { inner })
}

/// The dma-buf `llseek` rule as a pure function: offset 0 with `SEEK_END`
/// gives `size`, with `SEEK_SET` gives 0.
///
/// # Errors
/// [`Error::Invalid`] (`-EINVAL`) for any other offset or whence.
#[doc(alias = "dma_buf_llseek")]
pub fn llseek(size: u64, offset: i64, whence: i32) -> Result<u64> {
    let base = match whence {
        SEEK_END => size,
        SEEK_SET => 0,
        _ => {
            return Err(Error::Invalid(
                "dma-buf seeks only with SEEK_SET or SEEK_END",
            ))
        }
    };
    if offset != 0 {
        return Err(Error::Invalid("dma-buf seeks only to offset 0"));
    }
    Ok(base)
}

impl DmaBuf {
    /// Size in bytes (`st_size` of the fd).
    pub fn size(&self) -> u64 {
        self.inner.size
    }

    /// The exporter's name.
    pub fn exp_name(&self) -> &str {
        &self.inner.exp_name
    }

    /// The inode number: unique per buffer, from 1, never reused.
    pub fn ino(&self) -> u64 {
        self.inner.ino
    }

    /// The reservation object. Queries need no lock; mutations lock it.
    pub fn resv(&self) -> &Arc<Resv> {
        &self.inner.resv
    }

    /// The exporter.
    pub fn exporter(&self) -> &Arc<dyn Exporter> {
        &self.inner.exporter
    }

    /// The exporter as a concrete type, if it is one.
    pub fn exporter_as<T: Exporter>(&self) -> Option<&T> {
        let any: &dyn std::any::Any = &**self.exporter();
        any.downcast_ref::<T>()
    }

    /// The exporter's optional callbacks.
    pub fn caps(&self) -> Caps {
        self.inner.caps
    }

    /// Whether the exporter is dynamic (`dma_buf_is_dynamic`: has pin).
    #[doc(alias = "dma_buf_is_dynamic")]
    pub fn is_dynamic(&self) -> bool {
        self.inner.caps.is_dynamic()
    }

    /// Whether dynamic importers get move_notify instead of a pin on map.
    pub fn move_notify_enabled(&self) -> bool {
        self.inner.move_notify
    }

    /// The file flags (`f_flags`: access mode and `O_NONBLOCK`).
    pub fn file_flags(&self) -> u32 {
        self.inner.f_flags
    }

    /// The file mode (`f_mode`: read/write by the access mode, `LSEEK`,
    /// `OPENED`).
    pub fn file_mode(&self) -> u32 {
        self.inner.f_mode
    }

    /// The number of file references: live handles of this buffer,
    /// attachments and armed poll slots included (`file_count`).
    pub fn file_count(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// The buffer's memory, if the exporter has CPU-visible memory.
    pub fn memory(&self) -> Option<&Memory> {
        self.inner.exporter.memory()
    }

    pub(crate) fn check_guard(&self, guard: &ResvGuard<'_>) -> Result<()> {
        if std::ptr::eq(guard.resv(), &**self.resv()) {
            Ok(())
        } else {
            Err(Error::Invalid(
                "the guard is not this buffer's reservation lock",
            ))
        }
    }

    /// The name set with [`DmaBuf::set_name`], `None` if never set.
    pub fn name(&self) -> Option<String> {
        self.inner
            .name
            .lock()
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
    }

    /// `DMA_BUF_SET_NAME`: sets the name from the bytes of a C string (up
    /// to its first NUL). Replaces any previous name; `""` stores an empty
    /// but present name. Attached buffers may be renamed (6.1+).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for more than [`NAME_MAX`] (31) bytes.
    #[doc(alias = "DMA_BUF_SET_NAME")]
    #[doc(alias = "dma_buf_set_name")]
    pub fn set_name(&self, name: &[u8]) -> Result<()> {
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        if end > NAME_MAX {
            return Err(Error::Invalid("dma-buf name longer than 31 bytes"));
        }
        *self.inner.name.lock() = Some(name[..end].to_vec());
        Ok(())
    }

    /// The name of the fd's link in `/proc/<pid>/fd`: `/dmabuf:<name>`.
    pub fn dentry_name(&self) -> String {
        format!("/dmabuf:{}", self.name().unwrap_or_default())
    }

    /// The `/proc/<pid>/fdinfo/<fd>` lines the dma-buf adds:
    /// `size:\t<bytes>`, `count:\t<references>`, `exp_name:\t<name>` and,
    /// if set, `name:\t<name>`. `count` is [`DmaBuf::file_count`] (the
    /// kernel prints its file count minus the reference procfs holds while
    /// printing).
    #[doc(alias = "dma_buf_show_fdinfo")]
    pub fn fdinfo(&self) -> String {
        let mut s = format!(
            "size:\t{}\ncount:\t{}\nexp_name:\t{}\n",
            self.size(),
            self.file_count(),
            self.exp_name()
        );
        if let Some(name) = self.name() {
            s.push_str(&format!("name:\t{name}\n"));
        }
        s
    }

    /// `llseek` on the fd: see [`llseek`].
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for anything but offset 0 with
    /// `SEEK_SET` or `SEEK_END`.
    pub fn llseek(&self, offset: i64, whence: i32) -> Result<u64> {
        llseek(self.size(), offset, whence)
    }

    /// The attachments, in order of attachment.
    pub fn attachments(&self) -> Vec<Arc<AttachInfo>> {
        self.inner.attachments.lock().clone()
    }
}
