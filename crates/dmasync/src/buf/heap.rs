//! The system dma-heap (drivers/dma-buf/heaps/system_heap.c,
//! `DMA_HEAP_IOCTL_ALLOC` on `/dev/dma_heap/system`): buffers of system
//! memory, here a memfd of the buffer's size.
//!
//! A static exporter (no pin/unpin): its memory never moves. It has vmap
//! and mmap (shared and private mappings); its maps are of system memory.

use std::sync::Arc;

use super::memory::{page_align, Direction, Location, Memory, SgTable};
use super::{export, AttachInfo, Caps, DmaBuf, ExportInfo, Exporter, O_ACCMODE};
use crate::error::{Error, Result};
use crate::resv::ResvGuard;
use crate::uapi::dma_heap::{DMA_HEAP_VALID_FD_FLAGS, DMA_HEAP_VALID_HEAP_FLAGS};

/// The exporter name of system-heap buffers (the heap's name).
pub const SYSTEM_HEAP_NAME: &str = "system";

/// A system-heap buffer's exporter: one memfd.
#[derive(Debug)]
pub struct SystemHeapBuffer {
    memory: Memory,
}

impl SystemHeapBuffer {
    /// The backing memory.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }
}

impl Exporter for SystemHeapBuffer {
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
}

/// `DMA_HEAP_IOCTL_ALLOC` on the system heap: a buffer of `len` bytes
/// rounded up to whole pages, zero-filled, with the access mode of
/// `fd_flags` (`O_RDWR` and `O_CLOEXEC` usually).
///
/// # Locking
/// Takes no lock.
///
/// # Errors
/// * [`Error::Invalid`] (`-EINVAL`) for a bit of `fd_flags` outside
///   `O_CLOEXEC | O_ACCMODE`, any `heap_flags` bit, or a length of 0 (or
///   one that overflows when rounded).
/// * [`Error::NoMemory`] (`-ENOMEM`) when the memfd cannot be made.
#[doc(alias = "DMA_HEAP_IOCTL_ALLOC")]
#[doc(alias = "system_heap_allocate")]
pub fn alloc(len: u64, fd_flags: u32, heap_flags: u64) -> Result<DmaBuf> {
    if fd_flags & !DMA_HEAP_VALID_FD_FLAGS != 0 {
        return Err(Error::Invalid("unknown dma-heap fd_flags"));
    }
    if heap_flags & !DMA_HEAP_VALID_HEAP_FLAGS != 0 {
        return Err(Error::Invalid("unknown dma-heap heap_flags"));
    }
    let len = page_align(len).ok_or(Error::Invalid("length overflows"))?;
    if len == 0 {
        return Err(Error::Invalid("zero-length allocation"));
    }
    let memory = Memory::new_memfd("dmasync-system-heap", len)?;
    let exporter = Arc::new(SystemHeapBuffer { memory });
    export(
        exporter,
        ExportInfo::new(SYSTEM_HEAP_NAME, len).with_flags(fd_flags & O_ACCMODE),
    )
}
