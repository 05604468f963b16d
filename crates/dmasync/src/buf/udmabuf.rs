//! udmabuf (drivers/dma-buf/udmabuf.c, `/dev/udmabuf`, Linux 6.12):
//! ranges of a caller's sealed memfds as a dma-buf (§4.12).
//!
//! The buffer shares the memfd's pages: writes through the memfd show in
//! the buffer and back. Rules, in the kernel's order:
//!
//! 1. For every item: offset and size page aligned, and the running page
//!    count within `size_limit_mb`; else [`Error::Invalid`] (`-EINVAL`).
//! 2. A total of 0 pages (no items, or only empty ones): `-EINVAL`.
//! 3. For every item, the memfd: not shmem or hugetlbfs (a pipe) ->
//!    [`Error::BadFdState`] (`-EBADFD`); seals without `F_SEAL_SHRINK`, or
//!    with `F_SEAL_WRITE` / `F_SEAL_FUTURE_WRITE` -> `-EINVAL` (a tmpfs file
//!    that is not a memfd has only `F_SEAL_SEAL`, so `-EINVAL`); a range
//!    past the memfd's end -> `-EINVAL`.
//!
//! `CREATE_LIST` also refuses more than `list_limit` items (`-EINVAL`).
//! Unknown `flags` bits are ignored; the buffer's file is `O_RDWR`. udmabuf
//! never adds fences itself. CPU access: END before any START is
//! `-EINVAL`; mmap needs `MAP_SHARED`.
//!
//! A closed memfd (`-EBADFD` in the kernel) cannot be passed here; the
//! front end resolving the caller's fd answers it.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use rustix::fs::SealFlags;

use super::memory::{page_aligned, Direction, Location, Memory, Segment, SgTable, PAGE_SIZE};
use super::{export, AttachInfo, Caps, DmaBuf, ExportInfo, Exporter, O_RDWR};
use crate::error::{Error, Result};
use crate::resv::ResvGuard;
use crate::sync::{AtomicBool, Ordering};
use crate::uapi::udmabuf::{UDMABUF_LIST_LIMIT_DEFAULT, UDMABUF_SIZE_LIMIT_MB_DEFAULT};

/// The exporter name of udmabuf buffers.
pub const UDMABUF_NAME: &str = "udmabuf";

/// `TMPFS_MAGIC` (shmem).
const TMPFS_MAGIC: u64 = 0x0102_1994;
/// `HUGETLBFS_MAGIC`.
const HUGETLBFS_MAGIC: u64 = 0x9584_58f6;

/// The module parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most items in one `CREATE_LIST` (`list_limit`, default 1024).
    pub list_limit: u32,
    /// Largest buffer in MiB (`size_limit_mb`, default 64).
    pub size_limit_mb: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            list_limit: UDMABUF_LIST_LIMIT_DEFAULT,
            size_limit_mb: UDMABUF_SIZE_LIMIT_MB_DEFAULT,
        }
    }
}

/// One range of a memfd (`struct udmabuf_create_item`).
#[derive(Debug, Clone, Copy)]
pub struct CreateItem<'a> {
    /// The memfd.
    pub memfd: BorrowedFd<'a>,
    /// Page-aligned offset in it.
    pub offset: u64,
    /// Page-aligned size.
    pub size: u64,
}

/// A udmabuf's exporter.
#[derive(Debug)]
pub struct Udmabuf {
    memory: Memory,
    /// Set by the first begin_cpu_access (the kernel's `ubuf->sg`).
    began: AtomicBool,
}

impl Exporter for Udmabuf {
    fn caps(&self) -> Caps {
        Caps::CPU_MAPPABLE
    }

    fn memory(&self) -> Option<&Memory> {
        Some(&self.memory)
    }

    fn map(
        &self,
        _buf: &DmaBuf,
        _attach: &AttachInfo,
        _dir: Direction,
        _guard: &mut ResvGuard<'_>,
    ) -> Result<SgTable> {
        Ok(SgTable::fresh(Location::System, 0, self.memory.size()))
    }

    fn unmap(
        &self,
        _buf: &DmaBuf,
        _attach: &AttachInfo,
        _sgt: SgTable,
        _dir: Direction,
        _guard: &mut ResvGuard<'_>,
    ) {
    }

    fn release(&self) {}

    fn begin_cpu_access(&self, _buf: &DmaBuf, _dir: Direction) -> Result<()> {
        self.began.store(true, Ordering::Release);
        Ok(())
    }

    fn end_cpu_access(&self, _buf: &DmaBuf, _dir: Direction) -> Result<()> {
        if !self.began.load(Ordering::Acquire) {
            return Err(Error::Invalid("udmabuf END before any START"));
        }
        Ok(())
    }

    fn mmap(&self, _buf: &DmaBuf, _pgoff: u64, _len: u64, shared: bool) -> Result<()> {
        if !shared {
            return Err(Error::Invalid("udmabuf mmap needs MAP_SHARED"));
        }
        Ok(())
    }
}

/// `check_memfd_seals` and the range check for one item.
fn check_memfd(item: &CreateItem<'_>) -> Result<()> {
    let fs = rustix::fs::fstatfs(item.memfd).map_err(|_| Error::BadFdState)?;
    let magic = fs.f_type as u64;
    if magic != TMPFS_MAGIC && magic != HUGETLBFS_MAGIC {
        return Err(Error::BadFdState);
    }
    let seals = rustix::fs::fcntl_get_seals(item.memfd).map_err(|_| Error::BadFdState)?;
    if !seals.contains(SealFlags::SHRINK) {
        return Err(Error::Invalid("udmabuf memfd without F_SEAL_SHRINK"));
    }
    if seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE) {
        return Err(Error::Invalid("udmabuf memfd sealed against writes"));
    }
    let st = rustix::fs::fstat(item.memfd).map_err(|_| Error::BadFdState)?;
    match item.offset.checked_add(item.size) {
        Some(end) if end <= st.st_size as u64 => Ok(()),
        _ => Err(Error::Invalid("udmabuf range past the end of the memfd")),
    }
}

/// `UDMABUF_CREATE`: one memfd range as a dma-buf. `flags` is ignored
/// here (its CLOEXEC bit is for the front end's new fd).
///
/// # Locking
/// Takes no lock.
///
/// # Errors
/// As [`create_list`].
#[doc(alias = "UDMABUF_CREATE")]
pub fn create(memfd: BorrowedFd<'_>, flags: u32, offset: u64, size: u64) -> Result<DmaBuf> {
    create_list(
        flags,
        &[CreateItem {
            memfd,
            offset,
            size,
        }],
        Limits::default(),
    )
}

/// `UDMABUF_CREATE_LIST`: memfd ranges laid end to end as one dma-buf.
///
/// # Locking
/// Takes no lock.
///
/// # Errors
/// * [`Error::Invalid`] (`-EINVAL`): more than `limits.list_limit` items,
///   an unaligned offset or size, more than `limits.size_limit_mb` MiB, 0
///   pages in total, missing `F_SEAL_SHRINK`, `F_SEAL_WRITE` or
///   `F_SEAL_FUTURE_WRITE` present, a range past the memfd's end.
/// * [`Error::BadFdState`] (`-EBADFD`): a file that is not shmem or
///   hugetlbfs.
/// * [`Error::NoMemory`] (`-ENOMEM`): the memfd cannot be duplicated.
#[doc(alias = "UDMABUF_CREATE_LIST")]
#[doc(alias = "udmabuf_create")]
pub fn create_list(flags: u32, items: &[CreateItem<'_>], limits: Limits) -> Result<DmaBuf> {
    let _ = flags;
    if items.len() as u64 > u64::from(limits.list_limit) {
        return Err(Error::Invalid("more udmabuf items than list_limit"));
    }
    let page_limit = limits.size_limit_mb.saturating_mul((1 << 20) / PAGE_SIZE);
    let mut pages = 0u64;
    for item in items {
        if !page_aligned(item.offset) || !page_aligned(item.size) {
            return Err(Error::Invalid("udmabuf offset or size not page aligned"));
        }
        pages = pages.saturating_add(item.size / PAGE_SIZE);
        if pages > page_limit {
            return Err(Error::Invalid("udmabuf larger than size_limit_mb"));
        }
    }
    if pages == 0 {
        return Err(Error::Invalid("udmabuf of no pages"));
    }
    let mut segments = Vec::with_capacity(items.len());
    for item in items {
        check_memfd(item)?;
        if item.size == 0 {
            continue;
        }
        let fd =
            rustix::io::fcntl_dupfd_cloexec(item.memfd.as_fd(), 0).map_err(|_| Error::NoMemory)?;
        segments.push(Segment::new(Arc::new(fd), item.offset, item.size));
    }
    let memory = Memory::from_segments(segments);
    let size = memory.size();
    let exporter = Arc::new(Udmabuf {
        memory,
        began: AtomicBool::new(false),
    });
    export(
        exporter,
        ExportInfo::new(UDMABUF_NAME, size).with_flags(O_RDWR),
    )
}
