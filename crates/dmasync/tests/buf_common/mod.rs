//! Helpers shared by the dma-buf tests: fd-leak checking, buffers, the
//! vgem-like fence attach, and the IGT `dmabuf_busy` family.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

use dmasync::buf::{heap, DmaBuf, Events, O_CLOEXEC, O_RDWR};
use dmasync::fence::sw_sync::Timeline;
use dmasync::resv::Usage;
use dmasync::sync_file::SyncFile;
use dmasync::uapi::dma_buf::{DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE};
use dmasync::Fence;

/// Serialises the tests of one binary, so that counting open fds is exact.
static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Entries of /proc/self/fd.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Runs `f` alone and checks that it leaves no file descriptor open.
pub fn no_fd_leak<R>(f: impl FnOnce() -> R) -> R {
    let _g = lock();
    let before = fd_count();
    let r = f();
    assert_eq!(fd_count(), before, "file descriptors leaked");
    r
}

/// A system-heap buffer of `size` bytes.
pub fn heap_buf(size: u64) -> DmaBuf {
    heap::alloc(size, O_RDWR | O_CLOEXEC, 0).unwrap()
}

/// A vgem-like fence: its own timeline (fresh context, seqno 1), added to
/// `buf` with WRITE or READ usage. Signal with `tl.inc(1)`.
pub struct AttachedFence {
    pub tl: Timeline,
    pub fence: Fence,
}

impl AttachedFence {
    pub fn signal(&self) {
        self.tl.inc(1);
        assert!(self.fence.is_signaled());
    }
}

pub fn fence_attach(buf: &DmaBuf, write: bool) -> AttachedFence {
    let tl = Timeline::new("vgem");
    let fence = tl.create_fence(1);
    let usage = if write { Usage::Write } else { Usage::Read };
    buf.import_fence(&fence, usage).unwrap();
    AttachedFence { tl, fence }
}

/// IGT `dmabuf_busy`: poll(0) for POLLOUT if WRITE is set, else POLLIN.
pub fn dmabuf_busy(buf: &DmaBuf, flags: u64) -> bool {
    let events = if flags & DMA_BUF_SYNC_WRITE != 0 {
        Events::OUT
    } else if flags & DMA_BUF_SYNC_READ != 0 {
        Events::IN
    } else {
        Events::empty()
    };
    buf.poll(events).is_empty()
}

/// IGT `sync_file_busy`: poll(0) for POLLIN on the sync file.
pub fn sync_file_busy(file: &SyncFile) -> bool {
    !file.is_signaled()
}

/// IGT `dmabuf_sync_file_busy`: export, then check the file.
pub fn dmabuf_sync_file_busy(buf: &DmaBuf, flags: u64) -> bool {
    sync_file_busy(&buf.export_sync_file(flags as u32).unwrap())
}

/// IGT `dmabuf_import_timeline_fence`: import a point of `tl` as a sync file.
pub fn import_timeline_fence(buf: &DmaBuf, flags: u64, tl: &Timeline, value: u32) {
    let file = SyncFile::new(tl.create_fence(value));
    buf.import_sync_file(flags as u32, &file).unwrap();
}
