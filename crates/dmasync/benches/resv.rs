//! Reservation-object benchmarks:
//!
//! * `add_fence/{indexed,linear}/N`: replacing a fence of one of N contexts
//!   already present, with the model's indexed add_fence and with a plain
//!   linear scan (the kernel's algorithm on a vector);
//! * `get_fences_unlocked/{idle,writer}`: an unlocked snapshot of 16
//!   fences, alone and while another thread keeps adding fences;
//! * `lock_64/{uncontended,contended}`: locking 64 objects with one
//!   acquire context, alone and while another thread locks the same set in
//!   reverse order.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dmasync::resv::exec::Exec;
use dmasync::resv::{AcquireCtx, Resv, Usage};
use dmasync::{Fence, FenceOps};

struct BenchOps;

impl FenceOps for BenchOps {
    fn driver_name(&self) -> &str {
        "bench"
    }
    fn timeline_name(&self) -> &str {
        "bench"
    }
}

/// The kernel's `dma_resv_add_fence` scan over a plain vector.
struct LinearList {
    entries: Vec<(Fence, Usage)>,
}

impl LinearList {
    fn add_fence(&mut self, fence: Fence, usage: Usage) {
        for entry in self.entries.iter_mut() {
            if (entry.0.context() == fence.context()
                && entry.1 >= usage
                && fence.is_later_or_same(&entry.0))
                || entry.0.is_signaled()
            {
                *entry = (fence, usage);
                return;
            }
        }
        self.entries.push((fence, usage));
    }
}

fn add_fence(c: &mut Criterion) {
    let ops: Arc<dyn FenceOps> = Arc::new(BenchOps);
    let mut group = c.benchmark_group("add_fence");
    for n in [1u64, 16, 10_000] {
        let resv = Resv::new();
        let mut g = resv.lock(None).unwrap();
        g.reserve_fences(n as usize).unwrap();
        let mut linear = LinearList {
            entries: Vec::new(),
        };
        for ctx in 1..=n {
            let f = Fence::new(ops.clone(), ctx, 1);
            g.add_fence(f.clone(), Usage::Write).unwrap();
            linear.add_fence(f, Usage::Write);
        }
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::new("indexed", n), &n, |b, &n| {
            b.iter(|| {
                i += 1;
                let f = Fence::new(ops.clone(), 1 + i % n, 1 + i);
                g.add_fence(black_box(f), Usage::Write).unwrap();
            })
        });
        assert_eq!(g.num_fences(), n as usize);
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::new("linear", n), &n, |b, &n| {
            b.iter(|| {
                i += 1;
                let f = Fence::new(ops.clone(), 1 + i % n, 1 + i);
                linear.add_fence(black_box(f), Usage::Write);
            })
        });
        assert_eq!(linear.entries.len(), n as usize);
    }
    group.finish();
}

fn get_fences_unlocked(c: &mut Criterion) {
    let ops: Arc<dyn FenceOps> = Arc::new(BenchOps);
    let resv = Arc::new(Resv::new());
    {
        let mut g = resv.lock(None).unwrap();
        g.reserve_fences(16).unwrap();
        for ctx in 1..=16 {
            g.add_fence(Fence::new(ops.clone(), ctx, 1), Usage::Read)
                .unwrap();
        }
    }
    let mut group = c.benchmark_group("get_fences_unlocked");
    group.bench_function("idle", |b| {
        b.iter(|| black_box(resv.get_fences(Usage::Bookkeep)))
    });
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (resv, stop, ops) = (resv.clone(), stop.clone(), ops.clone());
        std::thread::spawn(move || {
            let mut seq = 2u64;
            while !stop.load(Ordering::Relaxed) {
                let mut g = resv.lock(None).unwrap();
                // Every 64th round grows the list: readers restart.
                let n = if seq % 64 == 0 { 17 } else { 1 };
                g.reserve_fences(n).unwrap();
                for ctx in 1..=16 {
                    g.add_fence(Fence::new(ops.clone(), ctx, seq), Usage::Read)
                        .unwrap();
                }
                drop(g);
                seq += 1;
            }
        })
    };
    group.bench_function("writer", |b| {
        b.iter(|| black_box(resv.get_fences(Usage::Bookkeep)))
    });
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    group.finish();
}

fn lock_all(objs: &[&Resv]) {
    let ctx = AcquireCtx::reservation();
    let guards = Exec::new(&ctx).lock_all(objs).unwrap();
    black_box(&guards);
    drop(guards);
    ctx.fini().unwrap();
}

fn lock_64(c: &mut Criterion) {
    let objs: Arc<Vec<Resv>> = Arc::new((0..64).map(|_| Resv::new()).collect());
    let refs: Vec<&Resv> = objs.iter().collect();
    let mut group = c.benchmark_group("lock_64");
    group.bench_function("uncontended", |b| b.iter(|| lock_all(&refs)));
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (objs, stop) = (objs.clone(), stop.clone());
        std::thread::spawn(move || {
            let rev: Vec<&Resv> = objs.iter().rev().collect();
            while !stop.load(Ordering::Relaxed) {
                lock_all(&rev);
            }
        })
    };
    group.bench_function("contended", |b| b.iter(|| lock_all(&refs)));
    stop.store(true, Ordering::Relaxed);
    other.join().unwrap();
    group.finish();
}

criterion_group!(benches, add_fence, get_fences_unlocked, lock_64);
criterion_main!(benches);
