//! The memory behind a dma-buf: memfd ranges (the model's `struct page`
//! arrays), and the scatter-gather tables importers get from a mapping
//! (`struct sg_table`).
//!
//! A buffer's memory is one or more [`Segment`]s, each a range of a memfd.
//! The system heap and the device exporter use one memfd of their own;
//! udmabuf uses the caller's memfds, one segment per list item. Being real
//! memfds, segments can be `mmap`ped by a front end (through [`AsFd`]) and
//! passed to other processes; in-process access goes through
//! [`Memory::read_at`] / [`Memory::write_at`] (pread/pwrite), since the model
//! crate has no unsafe code.
//!
//! # Locking and lifetime
//! A [`Memory`] is immutable after creation and shareable between threads;
//! its memfds close when the last clone is dropped. Reads and writes are not
//! synchronised with each other (as CPU access to the kernel's pages is not):
//! bracket them with [`DmaBuf::sync`](super::DmaBuf::sync).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use rustix::fs::{MemfdFlags, SealFlags};

use crate::error::{Error, Result};

/// The page size the model uses for alignment rules (4 KiB, as x86-64).
pub const PAGE_SIZE: u64 = 4096;

/// Whether `v` is a multiple of [`PAGE_SIZE`] (`PAGE_ALIGNED`).
pub fn page_aligned(v: u64) -> bool {
    v % PAGE_SIZE == 0
}

/// `v` rounded up to whole pages (`PAGE_ALIGN`), `None` on overflow.
pub fn page_align(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1))
}

/// One range of a memfd.
///
/// Lifetime: the memfd stays open as long as any clone of the segment (or of
/// the [`Memory`] holding it) lives.
#[derive(Clone, Debug)]
pub struct Segment {
    fd: Arc<OwnedFd>,
    offset: u64,
    len: u64,
}

impl Segment {
    /// The range `offset..offset + len` of `fd`.
    pub fn new(fd: Arc<OwnedFd>, offset: u64, len: u64) -> Segment {
        Segment { fd, offset, len }
    }

    /// Offset of the range in the memfd (what an `mmap` of it passes).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Length of the range in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The shared memfd.
    pub fn fd(&self) -> &Arc<OwnedFd> {
        &self.fd
    }
}

impl AsFd for Segment {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The memory of one buffer: segments laid end to end.
#[derive(Clone, Debug)]
pub struct Memory {
    segments: Arc<[Segment]>,
    size: u64,
}

fn io_err(_: rustix::io::Errno) -> Error {
    Error::NoMemory
}

impl Memory {
    /// Memory made of `segments`, in order.
    pub fn from_segments(segments: Vec<Segment>) -> Memory {
        let size = segments.iter().map(|s| s.len).sum();
        Memory {
            segments: segments.into(),
            size,
        }
    }

    /// A fresh memfd of `size` bytes, zero-filled, sealed against shrinking
    /// and growing like the kernel's pages that cannot go away, and against
    /// further seals (a holder of the fd cannot make it read-only for the
    /// others).
    ///
    /// # Errors
    /// [`Error::NoMemory`] (`-ENOMEM`) when the memfd cannot be created
    /// or sized.
    pub fn new_memfd(name: &str, size: u64) -> Result<Memory> {
        let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
            .map_err(io_err)?;
        rustix::fs::ftruncate(&fd, size).map_err(io_err)?;
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)
            .map_err(io_err)?;
        Ok(Memory::from_segments(vec![Segment::new(
            Arc::new(fd),
            0,
            size,
        )]))
    }

    /// Total size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The segments, in order. A front end maps a buffer by mapping each
    /// segment's memfd range at its place.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The single memfd and offset when the memory is one segment.
    pub fn single(&self) -> Option<&Segment> {
        match &*self.segments {
            [one] => Some(one),
            _ => None,
        }
    }

    fn check(&self, offset: u64, len: usize) -> Result<()> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(Error::Invalid("access past the end of the buffer")),
        }
    }

    /// Visits the pieces `(segment, offset in segment, range in buf)` of
    /// `offset..offset + len`.
    fn pieces(
        &self,
        offset: u64,
        len: usize,
        mut f: impl FnMut(&Segment, u64, std::ops::Range<usize>) -> Result<()>,
    ) -> Result<()> {
        let mut pos = 0u64;
        let mut done = 0usize;
        for seg in self.segments.iter() {
            if done == len {
                break;
            }
            let seg_end = pos + seg.len;
            let at = offset + done as u64;
            if at < seg_end {
                let inner = at - pos;
                let n = ((seg.len - inner) as usize).min(len - done);
                f(seg, seg.offset + inner, done..done + n)?;
                done += n;
            }
            pos = seg_end;
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at `offset` (pread on each segment).
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`) when the range passes the end.
    /// * [`Error::NoMemory`] when the memfd cannot be read.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.check(offset, buf.len())?;
        self.pieces(offset, buf.len(), |seg, at, range| {
            let mut dst = &mut buf[range];
            let mut at = at;
            while !dst.is_empty() {
                let n = rustix::io::pread(seg.as_fd(), &mut *dst, at).map_err(io_err)?;
                if n == 0 {
                    // Past the memfd's end (a hole never written): zeros.
                    dst.fill(0);
                    break;
                }
                dst = &mut dst[n..];
                at += n as u64;
            }
            Ok(())
        })
    }

    /// Writes `buf` at `offset` (pwrite on each segment).
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`) when the range passes the end.
    /// * [`Error::NoMemory`] when the memfd cannot be written.
    pub fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.check(offset, buf.len())?;
        self.pieces(offset, buf.len(), |seg, at, range| {
            let mut src = &buf[range];
            let mut at = at;
            while !src.is_empty() {
                let n = rustix::io::pwrite(seg.as_fd(), src, at).map_err(io_err)?;
                if n == 0 {
                    return Err(Error::NoMemory);
                }
                src = &src[n..];
                at += n as u64;
            }
            Ok(())
        })
    }
}

/// DMA direction of a mapping or CPU access (`enum dma_data_direction`).
#[doc(alias = "dma_data_direction")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Both ways (`DMA_BIDIRECTIONAL`).
    Bidirectional = 0,
    /// Memory to device (`DMA_TO_DEVICE`): the CPU writes, the device reads.
    ToDevice = 1,
    /// Device to memory (`DMA_FROM_DEVICE`): the device writes, the CPU reads.
    FromDevice = 2,
}

impl Direction {
    /// Whether a CPU access in this direction writes (`BIDIRECTIONAL` or
    /// `TO_DEVICE`), which decides the fences it waits for.
    pub fn cpu_writes(self) -> bool {
        matches!(self, Direction::Bidirectional | Direction::ToDevice)
    }
}

/// Where a mapping points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// System memory (pages with a `struct page`).
    System,
    /// Device memory (a PCI BAR): only for peer-to-peer importers.
    Device,
}

/// One entry of an [`SgTable`]: a DMA address and a length, both page
/// aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SgEntry {
    /// Device address (synthetic, page aligned).
    pub dma_addr: u64,
    /// Length in bytes (page aligned).
    pub len: u64,
}

/// A mapping of a buffer for one attachment (`struct sg_table`).
///
/// Owned by the importer from map to unmap (rule C17: exporters do not
/// cache it, except the core's cached table of a 6.1-style attachment,
/// which [`Attachment::map`](super::Attachment::map) hands out again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgTable {
    /// Identity of this table (equal for the clones of one cached table).
    pub id: u64,
    /// Where the memory was when mapped.
    pub location: Location,
    /// The exporter's placement generation when mapped: a move makes
    /// every older table point at the old place.
    pub generation: u64,
    /// Page-aligned entries covering the buffer.
    pub entries: Vec<SgEntry>,
}

impl SgTable {
    /// A new table with a fresh id of one entry of `size` bytes, at a device
    /// address unique to the table: what an exporter of plain memory maps.
    pub fn fresh(location: Location, generation: u64, size: u64) -> SgTable {
        let id = crate::buf::next_id();
        SgTable::contiguous(id, location, generation, id << 32, size)
    }

    /// A table of one entry per segment of `size` bytes starting at `base`.
    pub fn contiguous(
        id: u64,
        location: Location,
        generation: u64,
        base: u64,
        size: u64,
    ) -> SgTable {
        let len = page_align(size).unwrap_or(size);
        SgTable {
            id,
            location,
            generation,
            entries: vec![SgEntry {
                dma_addr: base & !(PAGE_SIZE - 1),
                len,
            }],
        }
    }
}
