//! Loom model: two acquire contexts lock the same two wound/wait mutexes
//! in opposite orders with the back-off loop. Every interleaving must end
//! with both done (no deadlock: loom reports one if all threads block)
//! and both updates kept.
#![cfg(all(test, loom))]

use loom::sync::Arc;

use crate::resv::exec::Exec;
use crate::resv::ww::{AcquireCtx, WwClass, WwMutex};

static LOOM_CLASS: WwClass = WwClass::new("loom_ww_class");

fn lock_both(a: &WwMutex<u32>, b: &WwMutex<u32>) {
    let ctx = AcquireCtx::new(&LOOM_CLASS);
    let mut guards = Exec::new(&ctx).lock_all(&[a, b]).unwrap();
    for g in guards.iter_mut() {
        **g += 1;
    }
    drop(guards);
    ctx.fini().unwrap();
}

#[test]
fn loom_two_contexts_wound_or_die_without_deadlock() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    static ITERATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    builder.check(|| {
        ITERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let a = Arc::new(WwMutex::new(&LOOM_CLASS, 0u32));
        let b = Arc::new(WwMutex::new(&LOOM_CLASS, 0u32));
        let t = {
            let (a, b) = (a.clone(), b.clone());
            loom::thread::spawn(move || lock_both(&b, &a))
        };
        lock_both(&a, &b);
        t.join().unwrap();
        assert_eq!(*a.lock(None).unwrap(), 2);
        assert_eq!(*b.lock(None).unwrap(), 2);
    });
    let n = ITERATIONS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(n > 1, "explored {n} interleavings");
    eprintln!("explored {n} interleavings");
}
