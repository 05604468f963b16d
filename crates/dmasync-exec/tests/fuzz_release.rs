//! What one fuzz input makes is gone when the input is done: the fuzz
//! target's objects (and the fds that stand for them) are released with
//! the input's registry, so a long fuzz run, like a long supervisor, holds
//! no more than it started with.
//!
//! One test in its own binary: it counts the process's live dma-bufs and
//! open fds, which other tests running in parallel would disturb.

use dmasync::uapi::dma_buf::{
    DmaBufExportSyncFile, DmaBufImportSyncFile, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
    DMA_BUF_IOCTL_IMPORT_SYNC_FILE, DMA_BUF_SYNC_RW,
};
use dmasync::uapi::dma_heap::{DmaHeapAllocationData, DMA_HEAP_IOCTL_ALLOC};
use dmasync::uapi::drm::{
    DrmModeCreateDumb, DrmVgemFenceAttach, DRM_IOCTL_MODE_CREATE_DUMB, DRM_IOCTL_VGEM_FENCE_ATTACH,
};
use dmasync::uapi::sw_sync::{SwSyncCreateFenceData, SW_SYNC_IOC_CREATE_FENCE, SW_SYNC_IOC_INC};
use dmasync::uapi::sync_file::{SyncMergeData, SYNC_IOC_MERGE};
use dmasync::uapi::udmabuf::{UdmabufCreate, UDMABUF_CREATE};
use dmasync_exec::fuzzing::ioctl;

/// The fuzz target's object kinds (`fuzzing::ioctl`'s `kind`).
const SYNC_FILE: u8 = 0;
const TIMELINE: u8 = 1;
const DMA_BUF: u8 = 2;
const DRM_PRIMARY: u8 = 3;
const HEAP: u8 = 4;
const UDMABUF: u8 = 5;

/// The mock caller's fd that is open and not ours (a sealed memfd).
const FOREIGN_FD: u32 = 3;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// One fuzz input and the outcome it must have (so that each really makes
/// what it is meant to).
struct Input {
    what: &'static str,
    kind: u8,
    cmd: u32,
    arg: Vec<u8>,
    expected: Result<i64, i32>,
}

fn input(what: &'static str, kind: u8, cmd: u32, arg: &[u8], expected: Result<i64, i32>) -> Input {
    Input {
        what,
        kind,
        cmd,
        arg: arg.to_vec(),
        expected,
    }
}

fn inputs() -> Vec<Input> {
    let heap = DmaHeapAllocationData {
        len: 3 * 4096,
        fd: 0,
        fd_flags: libc::O_RDWR as u32 | libc::O_CLOEXEC as u32,
        heap_flags: 0,
    };
    let udmabuf = UdmabufCreate {
        memfd: FOREIGN_FD,
        flags: 0,
        offset: 0,
        size: 8192,
    };
    let point = |value| SwSyncCreateFenceData {
        value,
        name: [0; 32],
        fence: 0,
    };
    let export = DmaBufExportSyncFile {
        flags: DMA_BUF_SYNC_RW as u32,
        fd: 0,
    };
    let import = DmaBufImportSyncFile {
        flags: DMA_BUF_SYNC_RW as u32,
        fd: FOREIGN_FD as i32,
    };
    let merge = SyncMergeData {
        name: [0; 32],
        fd2: FOREIGN_FD as i32,
        fence: 0,
        flags: 0,
        pad: 0,
    };
    let dumb = DrmModeCreateDumb {
        height: 16,
        width: 16,
        bpp: 32,
        ..Default::default()
    };
    let attach = DrmVgemFenceAttach {
        handle: 1,
        ..Default::default()
    };
    vec![
        input(
            "heap alloc",
            HEAP,
            DMA_HEAP_IOCTL_ALLOC,
            &heap.to_bytes(),
            Ok(0),
        ),
        input(
            "udmabuf create",
            UDMABUF,
            UDMABUF_CREATE,
            &udmabuf.to_bytes(),
            Ok(100),
        ),
        input(
            "pending point",
            TIMELINE,
            SW_SYNC_IOC_CREATE_FENCE,
            &point(7).to_bytes(),
            Ok(0),
        ),
        input(
            "signalled point",
            TIMELINE,
            SW_SYNC_IOC_CREATE_FENCE,
            &point(0).to_bytes(),
            Ok(0),
        ),
        input(
            "timeline inc",
            TIMELINE,
            SW_SYNC_IOC_INC,
            &3u32.to_le_bytes(),
            Ok(0),
        ),
        input(
            "export sync file",
            DMA_BUF,
            DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
            &export.to_bytes(),
            Ok(0),
        ),
        input(
            "import of a foreign fd",
            DMA_BUF,
            DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
            &import.to_bytes(),
            Err(libc::EINVAL),
        ),
        input(
            "merge with a foreign fd",
            SYNC_FILE,
            SYNC_IOC_MERGE,
            &merge.to_bytes(),
            Err(libc::ENOENT),
        ),
        input(
            "dumb buffer",
            DRM_PRIMARY,
            DRM_IOCTL_MODE_CREATE_DUMB,
            &dumb.to_bytes(),
            Ok(0),
        ),
        input(
            "vgem fence of no handle",
            DRM_PRIMARY,
            DRM_IOCTL_VGEM_FENCE_ATTACH,
            &attach.to_bytes(),
            Err(libc::ENOENT),
        ),
    ]
}

#[test]
fn fuzz_inputs_leave_no_dma_buf_and_no_fd() {
    // The first call sets up what lives for the whole process (the SIGPIPE
    // disposition, the vgem device).
    let _ = ioctl(DRM_PRIMARY, 0, &[]);
    let fds = open_fds();
    for round in 0..3 {
        for Input {
            what,
            kind,
            cmd,
            arg,
            expected,
        } in inputs()
        {
            assert_eq!(ioctl(kind, cmd, &arg), expected, "{what}");
            let live = dmasync::buf::live_buffers();
            assert!(live.is_empty(), "{what} (round {round}) left {live:?}");
            assert_eq!(open_fds(), fds, "{what} (round {round}) left fds open");
        }
    }
}
