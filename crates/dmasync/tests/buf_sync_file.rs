//! EXPORT_SYNC_FILE / IMPORT_SYNC_FILE: igt-gpu-tools `dmabuf_sync_file`
//! re-expressed against the model (a vgem fence attach is a fence on its
//! own timeline added with WRITE or READ usage), and every bullet of the
//! "dma-buf" section of kernel-behaviour.md.

mod buf_common;

use buf_common::*;
use dmasync::buf::Events;
use dmasync::fence::sw_sync::Timeline;
use dmasync::fence::{chain_create, get_stub, is_array, to_array, unwrap};
use dmasync::resv::Usage;
use dmasync::sync_file::SyncFile;
use dmasync::uapi::dma_buf::{DMA_BUF_SYNC_READ, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_WRITE};
use dmasync::{Error, Fence};

const R: u64 = DMA_BUF_SYNC_READ;
const W: u64 = DMA_BUF_SYNC_WRITE;
const RW: u64 = DMA_BUF_SYNC_RW;

fn leaves(f: &SyncFile) -> Vec<Fence> {
    unwrap(f.fence()).collect()
}

#[test]
fn export_basic() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        assert!(!dmabuf_busy(&buf, R));
        assert!(!dmabuf_busy(&buf, W));
        assert!(!dmabuf_sync_file_busy(&buf, R));
        assert!(!dmabuf_sync_file_busy(&buf, W));

        let f = fence_attach(&buf, false);
        assert!(!dmabuf_busy(&buf, R));
        assert!(dmabuf_busy(&buf, W));
        assert!(dmabuf_busy(&buf, RW));
        assert!(!dmabuf_sync_file_busy(&buf, R));
        assert!(dmabuf_sync_file_busy(&buf, W));
        assert!(dmabuf_sync_file_busy(&buf, RW));
        f.signal();
        for flags in [R, W, RW] {
            assert!(!dmabuf_busy(&buf, flags));
            assert!(!dmabuf_sync_file_busy(&buf, flags));
        }

        let f = fence_attach(&buf, true);
        for flags in [R, W, RW] {
            assert!(dmabuf_busy(&buf, flags));
            assert!(dmabuf_sync_file_busy(&buf, flags));
        }
        f.signal();
        for flags in [R, W, RW] {
            assert!(!dmabuf_busy(&buf, flags));
            assert!(!dmabuf_sync_file_busy(&buf, flags));
        }
    });
}

#[test]
fn export_before_signal() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        assert!(!dmabuf_sync_file_busy(&buf, R));
        assert!(!dmabuf_sync_file_busy(&buf, W));

        let f = fence_attach(&buf, false);
        let read = buf.export_sync_file(R as u32).unwrap();
        let write = buf.export_sync_file(W as u32).unwrap();
        assert!(!sync_file_busy(&read));
        assert!(sync_file_busy(&write));
        f.signal();
        assert!(!sync_file_busy(&read));
        assert!(!sync_file_busy(&write));

        let f = fence_attach(&buf, true);
        let read = buf.export_sync_file(R as u32).unwrap();
        let write = buf.export_sync_file(W as u32).unwrap();
        assert!(sync_file_busy(&read));
        assert!(sync_file_busy(&write));
        f.signal();
        assert!(!sync_file_busy(&read));
        assert!(!sync_file_busy(&write));
    });
}

#[test]
fn export_multiwait() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let f1 = fence_attach(&buf, false);
        let f2 = fence_attach(&buf, false);
        let file = buf.export_sync_file(W as u32).unwrap();
        let f3 = fence_attach(&buf, false);
        assert!(sync_file_busy(&file));
        f1.signal();
        assert!(sync_file_busy(&file));
        f2.signal();
        assert!(!sync_file_busy(&file), "the snapshot must not wait for f3");
        f3.signal();
    });
}

#[test]
fn export_wait_after_attach() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let read = buf.export_sync_file(R as u32).unwrap();
        let write = buf.export_sync_file(W as u32).unwrap();
        let f1 = fence_attach(&buf, true);
        assert!(!sync_file_busy(&read));
        assert!(!sync_file_busy(&write));

        let read = buf.export_sync_file(R as u32).unwrap();
        let write = buf.export_sync_file(W as u32).unwrap();
        assert!(sync_file_busy(&read));
        assert!(sync_file_busy(&write));
        f1.signal();
        let f2 = fence_attach(&buf, true);
        assert!(!sync_file_busy(&read));
        assert!(!sync_file_busy(&write));
        assert!(dmabuf_sync_file_busy(&buf, R));
        assert!(dmabuf_sync_file_busy(&buf, W));
        f2.signal();
    });
}

#[test]
fn import_basic() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        assert!(!dmabuf_busy(&buf, R));
        assert!(!dmabuf_busy(&buf, W));
        let tl = Timeline::new("import");

        import_timeline_fence(&buf, R, &tl, 1);
        assert!(!dmabuf_busy(&buf, R));
        assert!(dmabuf_busy(&buf, W));
        assert!(dmabuf_busy(&buf, RW));
        assert!(!dmabuf_sync_file_busy(&buf, R));
        assert!(dmabuf_sync_file_busy(&buf, W));
        assert!(dmabuf_sync_file_busy(&buf, RW));
        tl.inc(1);
        for flags in [R, W, RW] {
            assert!(!dmabuf_busy(&buf, flags));
            assert!(!dmabuf_sync_file_busy(&buf, flags));
        }

        for (flags, value) in [(W, 2), (RW, 3)] {
            import_timeline_fence(&buf, flags, &tl, value);
            for f in [R, W, RW] {
                assert!(dmabuf_busy(&buf, f));
                assert!(dmabuf_sync_file_busy(&buf, f));
            }
            tl.inc(1);
            for f in [R, W, RW] {
                assert!(!dmabuf_busy(&buf, f));
                assert!(!dmabuf_sync_file_busy(&buf, f));
            }
        }
    });
}

fn import_multiple(write: bool) {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        assert!(!dmabuf_busy(&buf, R));
        assert!(!dmabuf_busy(&buf, W));
        let readers: Vec<Timeline> = (0..32).map(|_| Timeline::new("reader")).collect();
        for tl in &readers {
            import_timeline_fence(&buf, R, tl, 1);
        }
        let writer = Timeline::new("writer");
        if write {
            import_timeline_fence(&buf, W, &writer, 1);
        }
        let read = buf.export_sync_file(R as u32).unwrap();
        let write_file = buf.export_sync_file(W as u32).unwrap();
        for tl in readers.iter().rev() {
            assert_eq!(dmabuf_busy(&buf, R), write);
            assert_eq!(sync_file_busy(&read), write);
            assert!(dmabuf_busy(&buf, W));
            assert!(sync_file_busy(&write_file));
            tl.inc(1);
        }
        assert_eq!(dmabuf_busy(&buf, R), write);
        assert_eq!(sync_file_busy(&read), write);
        assert_eq!(dmabuf_busy(&buf, W), write);
        assert_eq!(sync_file_busy(&write_file), write);
        if write {
            writer.inc(1);
        }
        assert!(!dmabuf_busy(&buf, R));
        assert!(!sync_file_busy(&read));
        assert!(!dmabuf_busy(&buf, W));
        assert!(!sync_file_busy(&write_file));
    });
}

#[test]
fn import_multiple_read_only() {
    import_multiple(false);
}

#[test]
fn import_multiple_read_write() {
    import_multiple(true);
}

// ---- kernel-behaviour.md, "dma-buf" ----

#[test]
fn idle_buffer_polls_in_out_and_exports_the_global_stub() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN | Events::OUT);
        for flags in [R, W, RW] {
            let f = buf.export_sync_file(flags as u32).unwrap();
            assert!(f.fence().ptr_eq(&get_stub()));
            let info = f.info(0).unwrap();
            assert_eq!((info.num_fences, info.status), (1, 1));
            assert_eq!(f.name(), "stub-stub0-0");
        }
    });
}

#[test]
fn export_and_import_reject_bad_flags() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let file = SyncFile::new(get_stub());
        for flags in [0u32, 4, 8, 1 << 31, 7] {
            assert!(matches!(
                buf.export_sync_file(flags),
                Err(Error::Invalid(_))
            ));
            assert!(matches!(
                buf.import_sync_file(flags, &file),
                Err(Error::Invalid(_))
            ));
            assert_eq!(Error::Invalid("").errno(), 22);
        }
        assert_eq!(buf.resv().lock(None).unwrap().num_fences(), 0);
    });
}

#[test]
fn import_write_of_a_pending_fence_blocks_both_and_exports_itself() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let tl = Timeline::new("w");
        let fence = tl.create_fence(1);
        buf.import_sync_file(W as u32, &SyncFile::new(fence.clone()))
            .unwrap();
        assert_eq!(buf.poll(Events::IN | Events::OUT), Events::empty());
        for flags in [R, W] {
            let f = buf.export_sync_file(flags as u32).unwrap();
            assert!(f.fence().ptr_eq(&fence), "a single fence is not wrapped");
        }
        tl.inc(1);
        assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN | Events::OUT);
    });
}

#[test]
fn reader_beside_writer_exports_by_usage() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let w = fence_attach(&buf, true);
        let r = fence_attach(&buf, false);
        let read = buf.export_sync_file(R as u32).unwrap();
        assert!(read.fence().ptr_eq(&w.fence));
        let write = buf.export_sync_file(W as u32).unwrap();
        assert!(is_array(write.fence()));
        let members = to_array(write.fence()).unwrap().fences().to_vec();
        assert_eq!(members.len(), 2);
        assert!(
            members[0].ptr_eq(&w.fence) && members[1].ptr_eq(&r.fence),
            "resv order"
        );
        assert_eq!(write.fence().seqno(), 1);
        assert_eq!(write.fence().driver_name(), "dma_fence_array");
        assert_ne!(write.fence().context(), w.fence.context());
        assert_ne!(write.fence().context(), r.fence.context());

        w.signal();
        assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN);
        assert!(buf
            .export_sync_file(R as u32)
            .unwrap()
            .fence()
            .ptr_eq(&get_stub()));
        assert!(buf
            .export_sync_file(W as u32)
            .unwrap()
            .fence()
            .ptr_eq(&r.fence));
        r.signal();
        assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN | Events::OUT);
    });
}

#[test]
fn importing_a_merged_file_adds_each_fence() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let tls: Vec<Timeline> = (0..5).map(|_| Timeline::new("m")).collect();
        let mut file = SyncFile::new(tls[0].create_fence(1));
        for tl in &tls[1..] {
            file = file.merge(&SyncFile::new(tl.create_fence(1)), b"merged");
        }
        assert_eq!(file.num_fences(), 5);
        buf.import_sync_file(R as u32, &file).unwrap();
        assert_eq!(buf.resv().get_fences(Usage::Bookkeep).len(), 5);
        assert_eq!(leaves(&buf.export_sync_file(W as u32).unwrap()).len(), 5);
        // A chain is flattened too.
        let chained = chain_create(None, tls[0].create_fence(2), 1);
        let chained = chain_create(Some(chained), tls[1].create_fence(2), 2);
        buf.import_sync_file(W as u32, &SyncFile::new(chained))
            .unwrap();
        assert_eq!(buf.resv().get_fences(Usage::Write).len(), 2);
        for tl in &tls {
            tl.inc(2);
        }
    });
}

#[test]
fn reimport_replaces_by_context_but_never_downgrades_write() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let a = Timeline::new("a");
        let b = Timeline::new("b");
        let a3 = a.create_fence(3);
        let b2 = b.create_fence(2);
        let file = SyncFile::new(a3.clone()).merge(&SyncFile::new(b2.clone()), b"");
        buf.import_sync_file(W as u32, &file).unwrap();
        buf.import_sync_file(W as u32, &file).unwrap();
        assert_eq!(buf.resv().lock(None).unwrap().num_fences(), 2, "no growth");
        // An older point never replaces a newer one.
        buf.import_sync_file(W as u32, &SyncFile::new(a.create_fence(1)))
            .unwrap();
        let exported = leaves(&buf.export_sync_file(W as u32).unwrap());
        assert!(exported.iter().any(|f| f.ptr_eq(&a3)));
        assert!(exported.iter().any(|f| f.ptr_eq(&b2)));
        a.inc(1);
        // READ a4 beside WRITE a3: both stay.
        let a4 = a.create_fence(4);
        buf.import_sync_file(R as u32, &SyncFile::new(a4.clone()))
            .unwrap();
        assert_eq!(leaves(&buf.export_sync_file(W as u32).unwrap()).len(), 3);
        assert_eq!(leaves(&buf.export_sync_file(R as u32).unwrap()).len(), 2);
        // A later WRITE point of b replaces b2 in place.
        let b5 = b.create_fence(5);
        buf.import_sync_file(W as u32, &SyncFile::new(b5.clone()))
            .unwrap();
        let order = leaves(&buf.export_sync_file(W as u32).unwrap());
        assert_eq!(order.len(), 3);
        assert!(order[0].ptr_eq(&a3) && order[1].ptr_eq(&b5) && order[2].ptr_eq(&a4));
        a.inc(10);
        b.inc(10);
    });
}

#[test]
fn importing_a_signalled_fence_leaves_the_buffer_idle() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let tl = Timeline::new("s");
        let f = tl.create_fence(1);
        tl.inc(1);
        buf.import_sync_file(W as u32, &SyncFile::new(f.clone()))
            .unwrap();
        // The leaf is added although signalled (6.12)...
        let g = buf.resv().lock(None).unwrap();
        assert_eq!(g.num_fences(), 1);
        assert!(g.iter(Usage::Bookkeep).next().unwrap().0.ptr_eq(&f));
        drop(g);
        // ...and the buffer is idle.
        assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN | Events::OUT);
        assert!(buf
            .export_sync_file(RW as u32)
            .unwrap()
            .fence()
            .ptr_eq(&get_stub()));
    });
}

#[test]
fn a_writer_error_is_not_propagated_to_export() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let w = fence_attach(&buf, true);
        w.fence.set_error(-5).unwrap();
        w.signal();
        assert_eq!(w.fence.status(), -5);
        let f = buf.export_sync_file(R as u32).unwrap();
        assert!(f.fence().ptr_eq(&get_stub()));
        assert_eq!(f.info(0).unwrap().status, 1);
    });
}

#[test]
fn blocking_poll_wakes_when_another_thread_signals() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let r = fence_attach(&buf, false);
        let w = fence_attach(&buf, true);
        let waiter = {
            let buf = buf.clone();
            std::thread::spawn(move || buf.poll_wait(Events::OUT, None))
        };
        let t = std::thread::spawn(move || {
            w.signal();
            r.signal();
        });
        t.join().unwrap();
        assert_eq!(waiter.join().unwrap(), Events::OUT);
        assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN | Events::OUT);
    });
}

#[test]
fn sixteen_writers_export_as_sixteen_fences() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let fs: Vec<AttachedFence> = (0..16).map(|_| fence_attach(&buf, true)).collect();
        let file = buf.export_sync_file(W as u32).unwrap();
        assert_eq!(file.num_fences(), 16);
        let info = file.info(16).unwrap();
        assert_eq!(info.num_fences, 16);
        assert!(info.fences.iter().all(|i| i.status == 0));
        let members = leaves(&file);
        for (m, f) in members.iter().zip(&fs) {
            assert!(m.ptr_eq(&f.fence), "resv order");
        }
        for f in &fs {
            f.signal();
        }
        assert!(file.is_signaled());
    });
}

#[test]
fn import_locks_without_context_and_waits_for_the_holder() {
    no_fd_leak(|| {
        let buf = heap_buf(4096);
        let ctx = dmasync::resv::AcquireCtx::reservation();
        let guard = buf.resv().lock(Some(&ctx)).unwrap();
        let tl = Timeline::new("late");
        let file = SyncFile::new(tl.create_fence(1));
        let t = {
            let buf = buf.clone();
            std::thread::spawn(move || buf.import_sync_file(W as u32, &file))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(guard);
        assert_eq!(t.join().unwrap(), Ok(()));
        assert!(dmabuf_busy(&buf, R));
        tl.inc(1);
    });
}
