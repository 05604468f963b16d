//! Fence-layer benchmarks, each with its baseline measured in the same run.
//!
//! * `is_signaled/signalled`: a signalled fence, against an atomic load.
//! * `add_callback+signal`: queue one callback and signal, against pushing a
//!   boxed closure into a `parking_lot::Mutex<Vec<_>>` and running it.
//! * `signal_to_wake`: a ping-pong between two threads, each blocked until
//!   the other signals; against the same ping-pong over two raw futex words.
//!   Half a round trip is one signal-to-wake latency.
//! * `merge/64+64`: `unwrap_merge` of two 64-fence arrays over 96 contexts.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use dmasync::fence::array::array_create;
use dmasync::fence::merge::unwrap_merge;
use dmasync::fence::{context_alloc, Fence, FenceOps};
use rustix::thread::futex;

struct Bench;

impl FenceOps for Bench {
    fn driver_name(&self) -> &str {
        "bench"
    }
    fn timeline_name(&self) -> &str {
        "bench"
    }
}

fn pending(context: u64, seqno: u64) -> Fence {
    Fence::new(Arc::new(Bench), context, seqno)
}

fn is_signaled(c: &mut Criterion) {
    let mut g = c.benchmark_group("is_signaled");
    let f = pending(context_alloc(1), 1);
    f.signal().unwrap();
    g.bench_function("signalled", |b| b.iter(|| black_box(&f).is_signaled()));
    let word = AtomicU32::new(1);
    g.bench_function("baseline/atomic_load", |b| {
        b.iter(|| black_box(&word).load(Ordering::Acquire) & 1 != 0)
    });
    g.finish();
}

fn add_callback_signal(c: &mut Criterion) {
    let mut g = c.benchmark_group("add_callback+signal");
    let ops: Arc<dyn FenceOps> = Arc::new(Bench);
    let ctx = context_alloc(1);
    g.bench_function("fence", |b| {
        b.iter_batched(
            || Fence::new(ops.clone(), ctx, 1),
            |f| {
                let _ = f.add_callback(|f| {
                    black_box(f);
                });
                f.signal().unwrap();
            },
            criterion::BatchSize::SmallInput,
        )
    });
    type Cb = Box<dyn FnOnce() + Send>;
    g.bench_function("baseline/mutex_vec_closure", |b| {
        let list = parking_lot::Mutex::new(Vec::<Cb>::new());
        b.iter(|| {
            list.lock().push(Box::new(|| {
                black_box(());
            }));
            let taken = std::mem::take(&mut *list.lock());
            for cb in taken {
                cb();
            }
        })
    });
    g.finish();
}

/// One ping-pong of `iters` round trips between this thread and a partner,
/// each side blocked on a fence until the other signals it.
fn fence_ping_pong(iters: u64) -> Duration {
    let ops: Arc<dyn FenceOps> = Arc::new(Bench);
    let (c1, c2) = (context_alloc(1), context_alloc(1));
    let ping: Arc<Vec<Fence>> = Arc::new(
        (0..iters)
            .map(|i| Fence::new(ops.clone(), c1, i + 1))
            .collect(),
    );
    let pong: Arc<Vec<Fence>> = Arc::new(
        (0..iters)
            .map(|i| Fence::new(ops.clone(), c2, i + 1))
            .collect(),
    );
    let partner = {
        let (ping, pong) = (ping.clone(), pong.clone());
        thread::spawn(move || {
            for (a, b) in ping.iter().zip(pong.iter()) {
                a.wait();
                b.signal().unwrap();
            }
        })
    };
    let start = Instant::now();
    for (a, b) in ping.iter().zip(pong.iter()) {
        a.signal().unwrap();
        b.wait();
    }
    let elapsed = start.elapsed();
    partner.join().unwrap();
    elapsed
}

/// The same ping-pong over two raw futex words.
fn futex_ping_pong(iters: u64) -> Duration {
    let words = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
    fn wait_for(word: &AtomicU32, value: u32) {
        loop {
            let seen = word.load(Ordering::Acquire);
            if seen == value {
                return;
            }
            let _ = futex::wait(word, futex::Flags::PRIVATE, seen, None);
        }
    }
    fn set(word: &AtomicU32, value: u32) {
        word.store(value, Ordering::Release);
        let _ = futex::wake(word, futex::Flags::PRIVATE, i32::MAX as u32);
    }
    let partner = {
        let words = words.clone();
        thread::spawn(move || {
            for i in 1..=iters as u32 {
                wait_for(&words.0, i);
                set(&words.1, i);
            }
        })
    };
    let start = Instant::now();
    for i in 1..=iters as u32 {
        set(&words.0, i);
        wait_for(&words.1, i);
    }
    let elapsed = start.elapsed();
    partner.join().unwrap();
    elapsed
}

fn signal_to_wake(c: &mut Criterion) {
    let mut g = c.benchmark_group("signal_to_wake");
    g.bench_function("fence_round_trip", |b| b.iter_custom(fence_ping_pong));
    g.bench_function("baseline/raw_futex_round_trip", |b| {
        b.iter_custom(futex_ping_pong)
    });
    g.finish();
}

fn merge(c: &mut Criterion) {
    let mut g = c.benchmark_group("merge");
    let base = context_alloc(96);
    let side = |from: u64| {
        let leaves = (from..from + 64).map(|i| pending(base + i, 1)).collect();
        array_create(leaves, context_alloc(1), 1, false).unwrap()
    };
    let (a, b) = (side(0), side(32));
    g.bench_function("unwrap_merge/64+64", |bch| {
        bch.iter(|| unwrap_merge(black_box(&[a.clone(), b.clone()])))
    });
    g.finish();
}

criterion_group!(
    benches,
    is_signaled,
    add_callback_signal,
    signal_to_wake,
    merge
);
criterion_main!(benches);
