//! Stress: one thread signals many fences, in order, while other threads
//! wait for the same fences on every path the core has (the futex wait, the
//! parked wait_any, and callbacks). Every operation is counted and the totals
//! are checked: every wait returns, every callback runs exactly once.
//!
//! `stress_fence_1m` (10^6 fences) runs in release builds
//! (`cargo test -p dmasync --release --test stress_fence`) and is ignored in
//! debug builds, where `stress_fence_small` runs instead.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use dmasync::fence::{context_alloc, wait_any_timeout};
use dmasync::{Fence, FenceOps};

/// A source that never signals by itself.
struct Ops;

impl FenceOps for Ops {
    fn driver_name(&self) -> &str {
        "stress"
    }
    fn timeline_name(&self) -> &str {
        "stress"
    }
}

#[derive(Default)]
struct Totals {
    signalled: AtomicUsize,
    futex_waits: AtomicUsize,
    futex_waits_pending: AtomicUsize,
    any_waits: AtomicUsize,
    any_waits_pending: AtomicUsize,
    callbacks_added: AtomicUsize,
    callbacks_late: AtomicUsize,
    callbacks_run: AtomicUsize,
}

fn add(counter: &AtomicUsize, n: usize) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Runs one batch of `n` fences; `runs[i]` counts the runs of the callback
/// added to fence `i` of the batch.
/// Every `PACE`-th fence, the signaller waits until every other thread has
/// reached it, so that those threads race the signal (sleeping in a wait or
/// adding a callback) rather than always finding the fence signalled.
const PACE: usize = 16;

fn batch(n: usize, totals: &Arc<Totals>, runs: &Arc<Vec<AtomicU8>>) {
    let ops: Arc<dyn FenceOps> = Arc::new(Ops);
    let ctx = context_alloc(1);
    let fences: Vec<Fence> = (0..n as u64)
        .map(|s| Fence::new(ops.clone(), ctx, s + 1))
        .collect();
    let start = Barrier::new(4);
    // The index each other thread is about to wait on or add a callback to.
    let reached: [AtomicUsize; 3] = Default::default();
    thread::scope(|s| {
        // The signaller, in seqno order.
        s.spawn(|| {
            start.wait();
            for (i, f) in fences.iter().enumerate() {
                if i % PACE == PACE - 1 {
                    while reached.iter().any(|r| r.load(Ordering::Acquire) < i) {
                        thread::yield_now();
                    }
                }
                f.signal().expect("signalled once");
                add(&totals.signalled, 1);
            }
        });
        // Futex waits on every fence.
        s.spawn(|| {
            start.wait();
            let (mut waits, mut pending) = (0, 0);
            for (i, f) in fences.iter().enumerate() {
                reached[0].store(i, Ordering::Release);
                pending += usize::from(!f.test_signaled_flag());
                f.wait();
                assert!(f.test_signaled_flag());
                waits += 1;
            }
            add(&totals.futex_waits, waits);
            add(&totals.futex_waits_pending, pending);
        });
        // wait_any on consecutive pairs, from the far end of each pair.
        s.spawn(|| {
            start.wait();
            let (mut waits, mut pending) = (0, 0);
            for (j, pair) in fences.chunks(2).enumerate() {
                reached[1].store(2 * j + pair.len() - 1, Ordering::Release);
                let pair: Vec<Fence> = pair.iter().rev().cloned().collect();
                pending += usize::from(!pair.iter().any(Fence::test_signaled_flag));
                let (i, left) = wait_any_timeout(&pair, None, None).expect("no timeout");
                assert!(pair[i].test_signaled_flag());
                assert_eq!(left, None);
                waits += 1;
            }
            add(&totals.any_waits, waits);
            add(&totals.any_waits_pending, pending);
        });
        // A callback on every fence.
        s.spawn(|| {
            start.wait();
            let (mut added, mut late) = (0, 0);
            for (i, f) in fences.iter().enumerate() {
                reached[2].store(i, Ordering::Release);
                let (r, t) = (runs.clone(), totals.clone());
                match f.add_callback(move |_| {
                    r[i].fetch_add(1, Ordering::Relaxed);
                    add(&t.callbacks_run, 1);
                }) {
                    Ok(_) => added += 1,
                    Err(_) => {
                        late += 1;
                        // Never ran, never will: mark it as accounted for.
                        runs[i].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            add(&totals.callbacks_added, added);
            add(&totals.callbacks_late, late);
        });
    });
    // The signaller has returned, so every callback has run.
    for (i, f) in fences.iter().enumerate() {
        assert_eq!(runs[i].swap(0, Ordering::Relaxed), 1, "callback {i}");
        assert_eq!(f.pending_callbacks(), 0);
        assert_eq!(f.status(), 1);
    }
}

fn stress(total: usize, batch_size: usize) {
    let totals = Arc::new(Totals::default());
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..batch_size).map(|_| AtomicU8::new(0)).collect());
    let mut done = 0;
    while done < total {
        let n = batch_size.min(total - done);
        batch(n, &totals, &runs);
        done += n;
    }
    let get = |c: &AtomicUsize| c.load(Ordering::Relaxed);
    let pairs = total.div_ceil(2);
    println!(
        "{total} fences: {} futex waits ({} found pending), {} wait_any ({} found pending), \
         {} callbacks queued, {} late",
        get(&totals.futex_waits),
        get(&totals.futex_waits_pending),
        get(&totals.any_waits),
        get(&totals.any_waits_pending),
        get(&totals.callbacks_added),
        get(&totals.callbacks_late),
    );
    assert_eq!(get(&totals.signalled), total);
    assert_eq!(get(&totals.futex_waits), total);
    assert_eq!(get(&totals.any_waits), pairs);
    assert_eq!(
        get(&totals.callbacks_added) + get(&totals.callbacks_late),
        total
    );
    assert_eq!(get(&totals.callbacks_run), get(&totals.callbacks_added));
}

#[test]
fn stress_fence_small() {
    stress(50_000, 10_000);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "10^6 fences: run with --release")]
fn stress_fence_1m() {
    stress(1_000_000, 10_000);
}
