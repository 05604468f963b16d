//! Attachments (§4.1–4.4, rules C2–C5, C9, C17): export checks, static and
//! dynamic importers, 6.1-style cached mappings, pinning, move_notify and
//! the KERNEL fence of a move.

mod buf_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use buf_common::*;
use dmasync::buf::device::{DeviceBuffer, Placement};
use dmasync::buf::{
    export, AttachInfo, Caps, Direction, DmaBuf, ExportInfo, Exporter, ImporterOps, Location,
    Memory, SgTable, PAGE_SIZE,
};
use dmasync::fence::sw_sync::Timeline;
use dmasync::resv::{ResvGuard, Usage};
use dmasync::Error;

/// A dynamic importer that counts move notifications.
struct Importer {
    p2p: bool,
    notified: AtomicUsize,
}

impl Importer {
    fn new(p2p: bool) -> Arc<Importer> {
        Arc::new(Importer {
            p2p,
            notified: AtomicUsize::new(0),
        })
    }
    fn count(&self) -> usize {
        self.notified.load(Ordering::SeqCst)
    }
}

impl ImporterOps for Importer {
    fn allow_peer2peer(&self) -> bool {
        self.p2p
    }
    fn move_notify(&self, _attach: &AttachInfo, guard: &ResvGuard<'_>) {
        assert!(
            guard.resv().is_locked(),
            "move_notify runs with the lock held"
        );
        self.notified.fetch_add(1, Ordering::SeqCst);
    }
}

/// An exporter with chosen caps, counting maps and unmaps.
struct TestExporter {
    caps: Caps,
    maps: AtomicUsize,
    unmaps: AtomicUsize,
    released: Arc<AtomicUsize>,
}

impl TestExporter {
    fn new(caps: Caps) -> Arc<TestExporter> {
        Arc::new(TestExporter {
            caps,
            maps: AtomicUsize::new(0),
            unmaps: AtomicUsize::new(0),
            released: Arc::new(AtomicUsize::new(0)),
        })
    }
}

impl Exporter for TestExporter {
    fn caps(&self) -> Caps {
        self.caps
    }
    fn memory(&self) -> Option<&Memory> {
        None
    }
    fn map(
        &self,
        _buf: &DmaBuf,
        _a: &AttachInfo,
        _dir: Direction,
        _g: &mut ResvGuard<'_>,
    ) -> dmasync::error::Result<SgTable> {
        let n = self.maps.fetch_add(1, Ordering::SeqCst) as u64 + 1;
        Ok(SgTable::contiguous(
            n,
            Location::System,
            0,
            n * PAGE_SIZE,
            PAGE_SIZE,
        ))
    }
    fn unmap(
        &self,
        _b: &DmaBuf,
        _a: &AttachInfo,
        _s: SgTable,
        _d: Direction,
        _g: &mut ResvGuard<'_>,
    ) {
        self.unmaps.fetch_add(1, Ordering::SeqCst);
    }
    fn release(&self) {
        self.released.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn export_checks_pin_unpin_pairs_and_cache_flag() {
    no_fd_leak(|| {
        let bad = [
            Caps {
                pin: true,
                ..Caps::default()
            },
            Caps {
                unpin: true,
                ..Caps::default()
            },
            Caps {
                pin: true,
                unpin: true,
                cache_sgt_mapping: true,
                ..Caps::default()
            },
        ];
        for caps in bad {
            let e = export(TestExporter::new(caps), ExportInfo::new("t", PAGE_SIZE));
            assert!(matches!(e, Err(Error::Invalid(_))), "{caps:?}");
        }
        let ok = export(
            TestExporter::new(Caps::default()),
            ExportInfo::new("t", PAGE_SIZE),
        );
        assert!(ok.is_ok());
    });
}

#[test]
fn release_runs_when_the_last_reference_goes() {
    no_fd_leak(|| {
        let exp = TestExporter::new(Caps::default());
        let released = exp.released.clone();
        let buf = export(exp, ExportInfo::new("t", PAGE_SIZE)).unwrap();
        let a = buf.attach("dev0").unwrap();
        let second = buf.clone();
        assert_eq!(buf.file_count(), 3);
        drop(buf);
        drop(second);
        assert_eq!(
            released.load(Ordering::SeqCst),
            0,
            "the attachment holds a reference"
        );
        a.detach();
        assert_eq!(released.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn attach_rejects_an_empty_device_and_foreign_guards() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        assert!(matches!(buf.attach(""), Err(Error::Invalid(_))));
        let other = heap_buf(PAGE_SIZE);
        let a = buf.attach("dev0").unwrap();
        let mut g = other.resv().lock(None).unwrap();
        assert!(matches!(
            a.map(&mut g, Direction::Bidirectional),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(buf.vmap(&mut g), Err(Error::Invalid(_))));
        assert!(matches!(buf.move_notify(&g), Err(Error::Invalid(_))));
    });
}

#[test]
fn static_importer_on_static_exporter_maps_each_time_and_waits_for_kernel_fences() {
    no_fd_leak(|| {
        let exp = TestExporter::new(Caps::default());
        let buf = export(exp.clone(), ExportInfo::new("t", PAGE_SIZE)).unwrap();
        let a = buf.attach("dev0").unwrap();
        assert!(
            !a.info().has_cached_mapping(),
            "no caching when neither side is dynamic"
        );
        assert_eq!(exp.maps.load(Ordering::SeqCst), 0);
        let s1 = a.map_unlocked(Direction::ToDevice).unwrap();
        let s2 = a.map_unlocked(Direction::FromDevice).unwrap();
        assert_ne!(s1.id, s2.id);
        a.unmap_unlocked(s1, Direction::ToDevice).unwrap();
        a.unmap_unlocked(s2, Direction::FromDevice).unwrap();
        assert_eq!(exp.unmaps.load(Ordering::SeqCst), 2);

        // A pending clear (KERNEL fence): the static map returns only after it.
        let tl = Timeline::new("clear");
        let clear = tl.create_fence(1);
        buf.import_fence(&clear, Usage::Kernel).unwrap();
        let t = {
            let clear = clear.clone();
            std::thread::spawn(move || {
                let sgt = a.map_unlocked(Direction::Bidirectional).unwrap();
                assert!(clear.is_signaled(), "map returned before the KERNEL fence");
                a.unmap_unlocked(sgt, Direction::Bidirectional).unwrap();
            })
        };
        tl.inc(1);
        t.join().unwrap();
    });
}

#[test]
fn dynamic_importer_on_static_exporter_gets_the_cached_table_without_waiting() {
    no_fd_leak(|| {
        let exp = TestExporter::new(Caps::default());
        let buf = export(exp.clone(), ExportInfo::new("t", PAGE_SIZE)).unwrap();
        let tl = Timeline::new("clear");
        buf.import_fence(&tl.create_fence(1), Usage::Kernel)
            .unwrap();
        let imp = Importer::new(false);
        let a = buf.dynamic_attach("dev1", Some(imp.clone())).unwrap();
        assert!(a.info().has_cached_mapping());
        assert_eq!(exp.maps.load(Ordering::SeqCst), 1);
        // No wait for the pending KERNEL fence: the importer must honour it.
        let mut g = buf.resv().lock(None).unwrap();
        let s1 = a.map(&mut g, Direction::ToDevice).unwrap();
        let s2 = a.map(&mut g, Direction::FromDevice).unwrap();
        assert_eq!(
            s1, s2,
            "the cached bidirectional table serves every direction"
        );
        a.unmap(&mut g, s1, Direction::ToDevice).unwrap();
        assert_eq!(
            exp.unmaps.load(Ordering::SeqCst),
            0,
            "unmapping the cached table does nothing"
        );
        drop(g);
        a.detach();
        assert_eq!(
            exp.unmaps.load(Ordering::SeqCst),
            1,
            "detach unmaps the cached table"
        );
        assert!(buf.attachments().is_empty());
        tl.inc(1);
    });
}

#[test]
fn cache_sgt_mapping_refuses_another_direction() {
    no_fd_leak(|| {
        let exp = TestExporter::new(Caps {
            cache_sgt_mapping: true,
            ..Caps::default()
        });
        let buf = export(exp.clone(), ExportInfo::new("t", PAGE_SIZE)).unwrap();
        let a = buf.attach("dev0").unwrap();
        let s = a.map_unlocked(Direction::ToDevice).unwrap();
        assert_eq!(a.map_unlocked(Direction::ToDevice).unwrap(), s);
        assert_eq!(a.map_unlocked(Direction::FromDevice), Err(Error::Busy));
        assert_eq!(Error::Busy.errno(), 16);
        assert_eq!(exp.maps.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn static_importer_pins_a_dynamic_exporter_from_attach_to_detach() {
    no_fd_leak(|| {
        let (buf, dev) =
            DeviceBuffer::create("gpu0", 2 * PAGE_SIZE, Placement::System, None).unwrap();
        let a = buf.attach("scanout").unwrap();
        assert_eq!(dev.pin_count(), 1);
        assert!(a.info().has_cached_mapping());
        let mut g = buf.resv().lock(None).unwrap();
        assert_eq!(dev.move_to(&buf, &mut g, Placement::Vram), Err(Error::Busy));
        drop(g);
        a.detach();
        assert_eq!(dev.pin_count(), 0);
        let mut g = buf.resv().lock(None).unwrap();
        assert!(dev
            .move_to(&buf, &mut g, Placement::Vram)
            .unwrap()
            .is_some());
    });
}

#[test]
fn static_importer_map_waits_for_a_pending_move() {
    no_fd_leak(|| {
        let (buf, dev) = DeviceBuffer::create("gpu0", PAGE_SIZE, Placement::Vram, None).unwrap();
        // The GPU is still writing; the eviction must wait for it.
        let gpu = fence_attach(&buf, true);
        let mut g = buf.resv().lock(None).unwrap();
        let mv = dev.evict(&buf, &mut g).unwrap().unwrap();
        drop(g);
        assert!(!mv.is_signaled());
        assert_eq!(dev.placement(), Placement::System);
        assert!(buf.resv().get_fences(Usage::Kernel)[0].ptr_eq(&mv));
        let t = {
            let buf = buf.clone();
            let mv = mv.clone();
            std::thread::spawn(move || {
                let a = buf.attach("display").unwrap();
                assert!(mv.is_signaled(), "attach+map returned before the move");
                let sgt = a.map_unlocked(Direction::Bidirectional).unwrap();
                assert_eq!(sgt.location, Location::System);
                assert_eq!(sgt.generation, 1);
                assert!(sgt
                    .entries
                    .iter()
                    .all(|e| e.dma_addr % PAGE_SIZE == 0 && e.len % PAGE_SIZE == 0));
            })
        };
        gpu.signal();
        t.join().unwrap();
        assert!(mv.is_signaled());
    });
}

#[test]
fn dynamic_importer_keeps_working_across_an_eviction() {
    no_fd_leak(|| {
        let (buf, dev) = DeviceBuffer::create("gpu0", PAGE_SIZE, Placement::Vram, None).unwrap();
        buf.write_at(0, b"frame").unwrap();
        let imp = Importer::new(true);
        let a = buf.dynamic_attach("gpu1", Some(imp.clone())).unwrap();
        assert!(
            !a.info().has_cached_mapping(),
            "both sides dynamic: nothing cached"
        );
        assert_eq!(dev.pin_count(), 0, "dynamic importers are not pinned");

        // First job of the importer: map, publish a READ fence.
        let mut g = buf.resv().lock(None).unwrap();
        let sgt = a.map(&mut g, Direction::FromDevice).unwrap();
        assert_eq!((sgt.location, sgt.generation), (Location::Device, 0));
        drop(g);
        let job = fence_attach(&buf, false);

        // The exporter evicts: move_notify, then a KERNEL fence that waits
        // for the importer's job.
        let mut g = buf.resv().lock(None).unwrap();
        let mv = dev.evict(&buf, &mut g).unwrap().unwrap();
        assert_eq!(imp.count(), 1);
        a.unmap(&mut g, sgt, Direction::FromDevice).unwrap();
        // Re-map at once: the new table points to the new place...
        let sgt = a.map(&mut g, Direction::FromDevice).unwrap();
        assert_eq!((sgt.location, sgt.generation), (Location::System, 1));
        drop(g);
        // ...but the move is not done until the job is.
        assert!(!mv.is_signaled());
        assert!(!buf.resv().test_signaled(Usage::Kernel));
        job.signal();
        // Rule C2/C3: the importer waits for the KERNEL fence before access.
        buf.resv().wait_timeout(Usage::Kernel, None, None).unwrap();
        assert!(mv.is_signaled());
        let mut data = [0u8; 5];
        buf.read_at(0, &mut data).unwrap();
        assert_eq!(&data, b"frame");
        // And moving back notifies again.
        let mut g = buf.resv().lock(None).unwrap();
        let back = dev.move_to(&buf, &mut g, Placement::Vram).unwrap().unwrap();
        assert_eq!(imp.count(), 2);
        assert!(
            back.is_signaled(),
            "nothing pending: the copy is done at once"
        );
        a.unmap(&mut g, sgt, Direction::FromDevice).unwrap();
    });
}

#[test]
fn non_p2p_importer_mapping_device_memory_migrates_it() {
    no_fd_leak(|| {
        let (buf, dev) = DeviceBuffer::create("gpu0", PAGE_SIZE, Placement::Vram, None).unwrap();
        let imp = Importer::new(false);
        let a = buf.dynamic_attach("nic", Some(imp.clone())).unwrap();
        let mut g = buf.resv().lock(None).unwrap();
        let sgt = a.map(&mut g, Direction::ToDevice).unwrap();
        assert_eq!(sgt.location, Location::System);
        assert_eq!(dev.placement(), Placement::System);
        assert_eq!(imp.count(), 1, "the migration is a move");
        assert_eq!(g.iter(Usage::Kernel).count(), 1);
        a.unmap(&mut g, sgt, Direction::ToDevice).unwrap();
    });
}

#[test]
fn without_move_notify_dynamic_maps_pin() {
    no_fd_leak(|| {
        // The same exporter, exported with move-notify off.
        let (donor, dev) =
            DeviceBuffer::create("gpu0", PAGE_SIZE, Placement::System, None).unwrap();
        drop(donor);
        let buf = export(
            dev.clone(),
            ExportInfo::new("gpu0", PAGE_SIZE).with_move_notify(false),
        )
        .unwrap();
        let a = buf
            .dynamic_attach("gpu1", Some(Importer::new(true)))
            .unwrap();
        let mut g = buf.resv().lock(None).unwrap();
        let sgt = a.map(&mut g, Direction::Bidirectional).unwrap();
        assert_eq!(dev.pin_count(), 1);
        a.unmap(&mut g, sgt, Direction::Bidirectional).unwrap();
        assert_eq!(dev.pin_count(), 0);
    });
}

#[test]
fn dynamic_pin_blocks_moves_and_static_pin_is_refused() {
    no_fd_leak(|| {
        let (buf, dev) = DeviceBuffer::create("gpu0", PAGE_SIZE, Placement::Vram, None).unwrap();
        let d = buf
            .dynamic_attach("scanout", Some(Importer::new(true)))
            .unwrap();
        let mut g = buf.resv().lock(None).unwrap();
        d.pin(&mut g).unwrap();
        assert_eq!(dev.pin_count(), 1);
        assert_eq!(dev.evict(&buf, &mut g), Err(Error::Busy));
        drop(g);
        // Pinned in device memory: an importer that cannot reach it is refused.
        assert_eq!(
            buf.dynamic_attach("nic", Some(Importer::new(false))).err(),
            Some(Error::Busy)
        );
        let mut g = buf.resv().lock(None).unwrap();
        d.unpin(&mut g).unwrap();
        assert!(matches!(d.unpin(&mut g), Err(Error::Invalid(_))));
        assert!(dev.evict(&buf, &mut g).unwrap().is_some());
        drop(g);
        let heap = heap_buf(PAGE_SIZE);
        let s = heap.attach("dev").unwrap();
        let mut g = heap.resv().lock(None).unwrap();
        assert!(matches!(s.pin(&mut g), Err(Error::Invalid(_))));
    });
}

#[test]
fn shared_reservation_object() {
    no_fd_leak(|| {
        let resv = Arc::new(dmasync::Resv::new());
        let (a, _) =
            DeviceBuffer::create("gpu0", PAGE_SIZE, Placement::System, Some(resv.clone())).unwrap();
        let (b, _) =
            DeviceBuffer::create("gpu0", PAGE_SIZE, Placement::System, Some(resv.clone())).unwrap();
        assert!(Arc::ptr_eq(a.resv(), b.resv()));
        let f = fence_attach(&a, true);
        assert!(dmabuf_busy(&b, dmasync::uapi::dma_buf::DMA_BUF_SYNC_READ));
        f.signal();
        assert!(!dmabuf_busy(&b, dmasync::uapi::dma_buf::DMA_BUF_SYNC_READ));
    });
}
