//! CPU access (§4.5, §4.7, rules C1, C15, C16) and poll (§4.6).

mod buf_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use buf_common::*;
use dmasync::buf::{Direction, Events, OnReady, PAGE_SIZE};
use dmasync::fence::sw_sync::Timeline;
use dmasync::fence::Interrupt;
use dmasync::resv::Usage;
use dmasync::uapi::dma_buf::*;
use dmasync::Error;

#[test]
fn sync_flag_validation() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        for bad in [0u64, DMA_BUF_SYNC_END, 8, 1 << 63, DMA_BUF_SYNC_RW | 8] {
            assert!(matches!(buf.sync(bad), Err(Error::Invalid(_))), "{bad:#x}");
        }
        for ok in [1u64, 2, 3, 5, 6, 7] {
            assert_eq!(buf.sync(ok), Ok(()), "{ok:#x}");
        }
    });
}

/// Whether `op` returned only after a pending fence of `usage` signalled:
/// it runs in a thread that records whether the fence had signalled when
/// it returned. (An op that does not wait may also finish after the
/// signal on a slow machine; the tests of "never waits" use
/// [`runs_now`] instead.)
fn waits_for(usage: Usage, op: impl FnOnce(&dmasync::buf::DmaBuf) + Send + 'static) -> bool {
    let buf = heap_buf(PAGE_SIZE);
    let tl = Timeline::new("gpu");
    let f = tl.create_fence(1);
    buf.import_fence(&f, usage).unwrap();
    let t = {
        let (buf, f) = (buf.clone(), f.clone());
        std::thread::spawn(move || {
            op(&buf);
            f.is_signaled()
        })
    };
    for _ in 0..50 {
        if t.is_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    tl.inc(1);
    t.join().unwrap()
}

/// Runs `op` on this thread while a fence of `usage` is pending: an op
/// that waited would never return.
fn runs_now(usage: Usage, op: impl FnOnce(&dmasync::buf::DmaBuf)) {
    let buf = heap_buf(PAGE_SIZE);
    let tl = Timeline::new("gpu");
    let f = tl.create_fence(1);
    buf.import_fence(&f, usage).unwrap();
    op(&buf);
    assert!(!f.is_signaled());
    tl.inc(1);
}

#[test]
fn start_write_waits_for_every_implicit_fence() {
    no_fd_leak(|| {
        for usage in [Usage::Kernel, Usage::Write, Usage::Read] {
            for flags in [DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW] {
                assert!(
                    waits_for(usage, move |b| b.sync(flags).unwrap()),
                    "{usage} {flags}"
                );
            }
        }
    });
}

#[test]
fn start_read_waits_for_kernel_and_write_only() {
    no_fd_leak(|| {
        for usage in [Usage::Kernel, Usage::Write] {
            assert!(waits_for(usage, |b| b.sync(DMA_BUF_SYNC_READ).unwrap()));
        }
        runs_now(Usage::Read, |b| b.sync(DMA_BUF_SYNC_READ).unwrap());
    });
}

#[test]
fn bookkeep_fences_and_end_never_wait() {
    no_fd_leak(|| {
        runs_now(Usage::Bookkeep, |b| b.sync(DMA_BUF_SYNC_RW).unwrap());
        runs_now(Usage::Write, |b| {
            b.sync(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END).unwrap()
        });
    });
}

#[test]
fn interrupted_begin_cpu_access() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        let w = fence_attach(&buf, true);
        let intr = Interrupt::new();
        intr.raise();
        assert_eq!(
            buf.sync_interruptible(DMA_BUF_SYNC_READ, Some(&intr)),
            Err(Error::Interrupted)
        );
        assert_eq!(
            buf.begin_cpu_access_interruptible(Direction::FromDevice, Some(&intr)),
            Err(Error::Interrupted)
        );
        w.signal();
        assert_eq!(
            buf.sync_interruptible(DMA_BUF_SYNC_READ, Some(&intr)),
            Ok(())
        );
    });
}

#[test]
fn memory_read_write_and_mmap_rules() {
    no_fd_leak(|| {
        let buf = heap_buf(3 * PAGE_SIZE - 100);
        assert_eq!(buf.size(), 3 * PAGE_SIZE, "the heap rounds to pages");
        buf.sync(DMA_BUF_SYNC_WRITE).unwrap();
        buf.write_at(PAGE_SIZE - 2, b"abcd").unwrap();
        buf.sync(DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END).unwrap();
        let mut out = [0u8; 6];
        buf.read_at(PAGE_SIZE - 3, &mut out).unwrap();
        assert_eq!(&out, b"\0abcd\0");
        assert!(matches!(
            buf.write_at(3 * PAGE_SIZE - 1, b"xy"),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            buf.read_at(u64::MAX, &mut out),
            Err(Error::Invalid(_))
        ));
        // The memfd is visible to front ends.
        let seg = buf.memory().unwrap().single().unwrap();
        let mut direct = [0u8; 4];
        rustix::io::pread(seg, &mut direct, PAGE_SIZE - 2).unwrap();
        assert_eq!(&direct, b"abcd");
        // mmap: within the buffer, private or shared.
        assert_eq!(buf.mmap(0, 3 * PAGE_SIZE, false), Ok(()));
        assert_eq!(buf.mmap(2, 1, true), Ok(()));
        assert!(matches!(
            buf.mmap(0, 3 * PAGE_SIZE + 1, true),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(buf.mmap(3, 1, true), Err(Error::Invalid(_))));
        assert!(matches!(
            buf.mmap(u64::MAX, PAGE_SIZE, true),
            Err(Error::Invalid(_))
        ));
    });
}

#[test]
fn vmap_is_reference_counted() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        let m1 = buf.vmap_unlocked().unwrap();
        let m2 = buf.vmap_unlocked().unwrap();
        assert_eq!(m1, m2);
        assert_eq!(buf.vmap_count(), 2);
        let bogus = dmasync::buf::Vmap { addr: m1.addr + 1 };
        assert!(matches!(buf.vunmap_unlocked(bogus), Err(Error::Invalid(_))));
        buf.vunmap_unlocked(m1).unwrap();
        buf.vunmap_unlocked(m2).unwrap();
        assert_eq!(buf.vmap_count(), 0);
        assert!(matches!(buf.vunmap_unlocked(m1), Err(Error::Invalid(_))));
        let m3 = buf.vmap_unlocked().unwrap();
        assert_ne!(m3, m1, "a new mapping after the last vunmap");
        buf.vunmap_unlocked(m3).unwrap();
    });
}

// ---- poll ----

#[test]
fn poll_readiness_by_usage() {
    no_fd_leak(|| {
        let both = Events::IN | Events::OUT;
        for (usage, ready) in [
            (Usage::Kernel, Events::empty()),
            (Usage::Write, Events::empty()),
            (Usage::Read, Events::IN),
            (Usage::Bookkeep, both),
        ] {
            let buf = heap_buf(PAGE_SIZE);
            let tl = Timeline::new("p");
            buf.import_fence(&tl.create_fence(1), usage).unwrap();
            assert_eq!(buf.poll(both), ready, "{usage}");
            tl.inc(1);
            assert_eq!(buf.poll(both), both);
        }
        let buf = heap_buf(PAGE_SIZE);
        assert_eq!(
            buf.poll(Events::ERR),
            Events::empty(),
            "only IN and OUT are considered"
        );
        assert_eq!(buf.poll(Events::from_bits(0x3ff)), both);
    });
}

#[test]
fn armed_slot_reports_not_ready_and_holds_a_reference() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        let w = fence_attach(&buf, true);
        assert_eq!(buf.file_count(), 1);
        // The reservation object's own (passive) observer is queued already.
        let base = w.fence.pending_callbacks();
        assert_eq!(buf.poll(Events::OUT), Events::empty());
        assert_eq!(buf.poll_armed(), (true, false));
        assert_eq!(buf.file_count(), 2, "the armed slot pins the file");
        assert_eq!(w.fence.pending_callbacks(), base + 1);
        // A second poll does not arm again.
        assert_eq!(buf.poll(Events::OUT), Events::empty());
        assert_eq!(w.fence.pending_callbacks(), base + 1);
        w.signal();
        assert_eq!(buf.poll_armed(), (false, false));
        assert_eq!(buf.file_count(), 1);
        assert_eq!(buf.poll(Events::OUT), Events::OUT);
        assert_eq!(buf.poll_armed(), (false, false));
    });
}

#[test]
fn poll_rearms_on_the_next_pending_fence() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        let f1 = fence_attach(&buf, false);
        let f2 = fence_attach(&buf, false);
        let (b1, b2) = (f1.fence.pending_callbacks(), f2.fence.pending_callbacks());
        assert_eq!(buf.poll(Events::OUT), Events::empty());
        assert_eq!(f1.fence.pending_callbacks(), b1 + 1);
        assert_eq!(f2.fence.pending_callbacks(), b2);
        f1.signal();
        assert_eq!(buf.poll(Events::OUT), Events::empty());
        assert_eq!(f2.fence.pending_callbacks(), b2 + 1);
        f2.signal();
        assert_eq!(buf.poll(Events::OUT), Events::OUT);
    });
}

#[test]
fn on_ready_wakes_once_per_armed_fence() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        let woken = Arc::new(AtomicUsize::new(0));
        let wake = |w: &Arc<AtomicUsize>| {
            let w = w.clone();
            move |ev: Events| {
                assert_eq!(ev, Events::IN);
                w.fetch_add(1, Ordering::SeqCst);
            }
        };
        match buf.on_ready(Events::IN, wake(&woken)) {
            OnReady::Ready(e) => assert_eq!(e, Events::IN),
            OnReady::Armed(_) => panic!("idle buffer"),
        }
        assert_eq!(
            woken.load(Ordering::SeqCst),
            0,
            "not called when ready at once"
        );

        let w = fence_attach(&buf, true);
        let waiter = match buf.on_ready(Events::IN, wake(&woken)) {
            OnReady::Armed(w) => w,
            OnReady::Ready(e) => panic!("ready: {e:?}"),
        };
        // A second on_ready shares the armed slot and is woken too.
        let second = match buf.on_ready(Events::IN, wake(&woken)) {
            OnReady::Armed(w) => w,
            OnReady::Ready(e) => panic!("ready: {e:?}"),
        };
        assert!(second.cancel());
        w.signal();
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert!(!waiter.cancel(), "already run");
        assert_eq!(buf.poll(Events::IN), Events::IN);
    });
}

#[test]
fn poll_wait_times_out_and_wakes() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        let r = fence_attach(&buf, false);
        assert_eq!(
            buf.poll_wait(Events::IN, Some(std::time::Duration::ZERO)),
            Events::IN
        );
        assert_eq!(
            buf.poll_wait(Events::OUT, Some(std::time::Duration::from_millis(1))),
            Events::empty()
        );
        let t = {
            let buf = buf.clone();
            std::thread::spawn(move || buf.poll_wait(Events::OUT, None))
        };
        r.signal();
        assert_eq!(t.join().unwrap(), Events::OUT);
    });
}
