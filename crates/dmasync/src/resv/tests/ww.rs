//! Wound/wait (wait-die) rules and the set-locking helper, with a stress
//! test of many threads locking overlapping random sets in random orders.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::error::Error;
use crate::fence::Interrupt;
use crate::resv::exec::Exec;
use crate::resv::ww::{AcquireCtx, WwClass, WwMutex};
use crate::resv::Resv;

static TEST_CLASS: WwClass = WwClass::new("test_ww_class");
static OTHER_CLASS: WwClass = WwClass::new("other_ww_class");

#[test]
fn relock_in_the_same_context_is_ealready() {
    let m = WwMutex::new(&TEST_CLASS, 0u32);
    let ctx = AcquireCtx::new(&TEST_CLASS);
    let _g = m.lock(Some(&ctx)).unwrap();
    let e = m.lock(Some(&ctx)).unwrap_err();
    assert_eq!(e, Error::AlreadyLocked);
    assert_eq!(e.errno(), 114);
    assert_eq!(ctx.acquired(), 1);
}

#[test]
fn context_of_another_class_is_refused() {
    let m = WwMutex::new(&TEST_CLASS, 0u32);
    let ctx = AcquireCtx::new(&OTHER_CLASS);
    assert!(matches!(m.lock(Some(&ctx)), Err(Error::Invalid(_))));
}

#[test]
fn younger_context_holding_a_lock_dies_on_an_older_owner() {
    let a = WwMutex::new(&TEST_CLASS, 0u32);
    let b = WwMutex::new(&TEST_CLASS, 0u32);
    let old = AcquireCtx::new(&TEST_CLASS);
    let young = AcquireCtx::new(&TEST_CLASS);
    assert!(old.stamp() < young.stamp());
    let _ga = a.lock(Some(&old)).unwrap();
    let gb = b.lock(Some(&young)).unwrap();
    let e = a.lock(Some(&young)).unwrap_err();
    assert_eq!(e, Error::Deadlock);
    assert_eq!(e.errno(), 35);
    // Wrong order: the slow path while still holding a lock.
    assert!(matches!(a.lock_slow(&young), Err(Error::Invalid(_))));
    drop(gb);
    // The slow path on another lock than the contended one.
    assert!(matches!(b.lock_slow(&young), Err(Error::Invalid(_))));
}

#[test]
fn context_holding_nothing_waits_instead_of_dying() {
    let a = Arc::new(WwMutex::new(&TEST_CLASS, 0u32));
    let old = AcquireCtx::new(&TEST_CLASS);
    let ga = a.lock(Some(&old)).unwrap();
    let a2 = a.clone();
    let t = std::thread::spawn(move || {
        let young = AcquireCtx::new(&TEST_CLASS);
        let mut g = a2.lock(Some(&young)).expect("waits, never dies");
        *g += 1;
    });
    std::thread::sleep(Duration::from_millis(20));
    drop(ga);
    t.join().unwrap();
    assert_eq!(*a.lock(None).unwrap(), 1);
}

#[test]
fn older_context_waits_and_younger_backs_off() {
    let a = Arc::new(WwMutex::new(&TEST_CLASS, 0u32));
    let b = Arc::new(WwMutex::new(&TEST_CLASS, 0u32));
    let old = AcquireCtx::new(&TEST_CLASS);
    let ready = Arc::new(Barrier::new(2));
    let _ga = a.lock(Some(&old)).unwrap();
    let (a2, b2, r2) = (a.clone(), b.clone(), ready.clone());
    let t = std::thread::spawn(move || {
        let young = AcquireCtx::new(&TEST_CLASS);
        let gb = b2.lock(Some(&young)).unwrap();
        r2.wait();
        // The old context is (or will be) waiting for b: we must die.
        let e = a2.lock(Some(&young)).unwrap_err();
        drop(gb);
        e
    });
    ready.wait();
    // Sleeps until the younger context backs off and drops b.
    let mut gb = b.lock(Some(&old)).unwrap();
    *gb += 1;
    assert_eq!(t.join().unwrap(), Error::Deadlock);
}

#[test]
fn interruptible_lock_is_interrupted_only_while_waiting() {
    let m = Arc::new(WwMutex::new(&TEST_CLASS, 0u32));
    let intr = Interrupt::new();
    intr.raise();
    // Free lock: taken despite the raised interrupt.
    drop(m.lock_interruptible(None, &intr).unwrap());
    let g = m.lock(None).unwrap();
    let (m2, i2) = (m.clone(), intr.clone());
    let t = std::thread::spawn(move || m2.lock_interruptible(None, &i2).map(|_| ()));
    assert_eq!(t.join().unwrap(), Err(Error::Interrupted));
    // Raised while sleeping.
    intr.clear();
    let (m2, i2) = (m.clone(), intr.clone());
    let t = std::thread::spawn(move || m2.lock_interruptible(None, &i2).map(|_| ()));
    std::thread::sleep(Duration::from_millis(20));
    intr.raise();
    assert_eq!(t.join().unwrap(), Err(Error::Interrupted));
    drop(g);
}

#[test]
fn exec_locks_duplicates_once_or_refuses_them() {
    let objs: Vec<Resv> = (0..3).map(|_| Resv::new()).collect();
    let set = [&objs[0], &objs[1], &objs[0], &objs[2]];
    let ctx = AcquireCtx::reservation();
    assert_eq!(
        Exec::new(&ctx).lock_all(&set).unwrap_err(),
        Error::AlreadyLocked
    );
    assert_eq!(ctx.acquired(), 0, "nothing stays locked");
    let guards = Exec::new(&ctx)
        .ignore_duplicates(true)
        .lock_all(&set)
        .unwrap();
    assert_eq!(guards.len(), 3);
    assert!(objs.iter().all(Resv::is_locked));
    drop(guards);
    assert!(!objs.iter().any(Resv::is_locked));
}

/// A small xorshift generator: the test needs no statistical quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn ww_stress_random_sets_in_random_orders() {
    const THREADS: usize = 4;
    const OBJECTS: usize = 12;
    let total: usize = if cfg!(debug_assertions) {
        100_000
    } else {
        400_000
    };
    let per_thread = total / THREADS;
    let objs: Arc<Vec<WwMutex<u64>>> =
        Arc::new((0..OBJECTS).map(|_| WwMutex::new(&TEST_CLASS, 0)).collect());
    let expected: Arc<Vec<AtomicU64>> = Arc::new((0..OBJECTS).map(|_| AtomicU64::new(0)).collect());
    let retries = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (objs, expected, retries, failed) = (
                objs.clone(),
                expected.clone(),
                retries.clone(),
                failed.clone(),
            );
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 0x1234_5678_9ABC));
                for _ in 0..per_thread {
                    let n = 1 + rng.below(4);
                    let mut set: Vec<usize> = Vec::with_capacity(n);
                    while set.len() < n {
                        let i = rng.below(OBJECTS);
                        if !set.contains(&i) {
                            set.push(i);
                        }
                    }
                    let refs: Vec<&WwMutex<u64>> = set.iter().map(|&i| &objs[i]).collect();
                    let ctx = AcquireCtx::new(&TEST_CLASS);
                    let mut exec = Exec::new(&ctx);
                    let mut guards = match exec.lock_all(&refs) {
                        Ok(g) => g,
                        Err(_) => {
                            failed.store(true, Ordering::SeqCst);
                            return;
                        }
                    };
                    for g in guards.iter_mut() {
                        // Read, pause, write: a lost update shows if two
                        // threads ever held one lock together.
                        let v = **g;
                        std::hint::spin_loop();
                        **g = v + 1;
                    }
                    drop(guards);
                    for &i in &set {
                        expected[i].fetch_add(1, Ordering::Relaxed);
                    }
                    retries.fetch_add(u64::from(exec.retries()), Ordering::Relaxed);
                    if ctx.fini().is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(!failed.load(Ordering::SeqCst));
    let mut sum = 0;
    for (m, e) in objs.iter().zip(expected.iter()) {
        let v = *m.lock(None).unwrap();
        assert_eq!(v, e.load(Ordering::Relaxed));
        sum += v;
    }
    assert!(sum >= per_thread as u64 * THREADS as u64);
}
