//! The unlocked queries: get_fences per usage, get_singleton,
//! wait_timeout, test_signaled, set_deadline, describe, and locking rules.

use std::time::Duration;

use super::fence;
use crate::error::Error;
use crate::fence::{signalling, Fence, Interrupt};
use crate::resv::{AcquireCtx, Resv, Usage};

fn filled() -> (Resv, [Fence; 4]) {
    let resv = Resv::new();
    let fs = [fence(1, 1), fence(2, 1), fence(3, 1), fence(4, 1)];
    {
        let mut g = resv.lock(None).unwrap();
        g.reserve_fences(4).unwrap();
        for (f, u) in fs.iter().zip(Usage::ALL) {
            g.add_fence(f.clone(), u).unwrap();
        }
    }
    (resv, fs)
}

#[test]
fn a_query_returns_its_usage_and_every_stronger_one() {
    let (resv, fs) = filled();
    for (n, u) in Usage::ALL.iter().enumerate() {
        let got = resv.get_fences(*u);
        assert_eq!(got.len(), n + 1, "{u}");
        for (g, f) in got.iter().zip(&fs) {
            assert!(g.ptr_eq(f));
        }
    }
    fs[1].signal().unwrap();
    assert_eq!(resv.get_fences(Usage::Read).len(), 2);
}

#[test]
fn get_singleton_none_one_or_array() {
    let (resv, fs) = filled();
    let empty = Resv::new();
    assert!(empty.get_singleton(Usage::Bookkeep).unwrap().is_none());
    let one = resv.get_singleton(Usage::Kernel).unwrap().unwrap();
    assert!(one.ptr_eq(&fs[0]));
    let all = resv.get_singleton(Usage::Bookkeep).unwrap().unwrap();
    assert_eq!(all.seqno(), 1);
    assert!(!fs.iter().any(|f| f.ptr_eq(&all)));
    assert!(!all.is_signaled());
    for f in &fs[..3] {
        f.signal().unwrap();
    }
    assert!(!all.is_signaled());
    fs[3].signal().unwrap();
    assert!(all.is_signaled());
}

#[test]
fn wait_timeout_conventions() {
    let (resv, fs) = filled();
    // Zero timeout: success iff everything relevant has signalled.
    assert_eq!(
        resv.wait_timeout(Usage::Write, Some(Duration::ZERO), None),
        Err(Error::TimedOut)
    );
    fs[0].signal().unwrap();
    fs[1].signal().unwrap();
    assert_eq!(
        resv.wait_timeout(Usage::Write, Some(Duration::ZERO), None),
        Ok(Some(Duration::from_nanos(1)))
    );
    // Nothing pending: the whole timeout is left.
    let t = Duration::from_secs(5);
    assert_eq!(resv.wait_timeout(Usage::Write, Some(t), None), Ok(Some(t)));
    assert_eq!(resv.wait_timeout(Usage::Write, None, None), Ok(None));
    // Interrupted while something is pending.
    let intr = Interrupt::new();
    intr.raise();
    assert_eq!(
        resv.wait_timeout(Usage::Read, Some(t), Some(&intr)),
        Err(Error::Interrupted)
    );
    assert_eq!(
        resv.wait_timeout(Usage::Read, Some(Duration::from_millis(1)), None),
        Err(Error::TimedOut)
    );
    // Another thread signals: the wait succeeds with time left.
    let f2 = fs[2].clone();
    let t2 = std::thread::spawn(move || f2.signal().unwrap());
    let left = resv
        .wait_timeout(Usage::Read, Some(Duration::from_secs(60)), None)
        .unwrap();
    assert!(left.unwrap() > Duration::ZERO);
    t2.join().unwrap();
    assert!(resv.test_signaled(Usage::Read));
    assert!(!resv.test_signaled(Usage::Bookkeep));
}

#[test]
fn set_deadline_reaches_the_fences_of_the_usage() {
    let (resv, fs) = filled();
    resv.set_deadline(Usage::Write, 1234);
    assert_eq!(fs[0].deadline(), Some(1234));
    assert_eq!(fs[1].deadline(), Some(1234));
    assert_eq!(fs[2].deadline(), None);
}

#[test]
fn describe_lists_usages_up_to_read_with_signalled_ones() {
    let (resv, fs) = filled();
    fs[0].signal().unwrap();
    let g = resv.lock(None).unwrap();
    assert_eq!(
        g.describe(),
        "\tkernel fence:selftest selftest seq 1 signalled\n\
         \twrite fence:selftest selftest seq 1 unsignalled\n\
         \tread fence:selftest selftest seq 1 unsignalled\n"
    );
}

#[test]
fn locked_iteration_includes_signalled_fences_in_list_order() {
    let (resv, fs) = filled();
    fs[1].signal().unwrap();
    let g = resv.lock(None).unwrap();
    let mut it = g.iter(Usage::Read);
    let (f, u) = it.next().unwrap();
    assert!(it.is_restarted());
    assert!(f.ptr_eq(&fs[0]) && u == Usage::Kernel);
    let (f, _) = it.next().unwrap();
    assert!(!it.is_restarted());
    assert!(f.ptr_eq(&fs[1]) && f.is_signaled());
    assert_eq!(it.count(), 1);
}

#[test]
fn unlocked_iteration_restarts_when_the_list_is_reallocated() {
    let (resv, fs) = filled();
    let mut it = resv.iter_unlocked(Usage::Bookkeep);
    assert!(it.next().unwrap().ptr_eq(&fs[0]));
    assert!(it.is_restarted());
    {
        // Growing past the capacity publishes a new list.
        let mut g = resv.lock(None).unwrap();
        g.reserve_fences(1).unwrap();
    }
    let again = it.next().unwrap();
    assert!(again.ptr_eq(&fs[0]), "restarted from the beginning");
    assert!(it.is_restarted());
    assert!(it.next().unwrap().ptr_eq(&fs[1]));
    assert!(!it.is_restarted());
}

#[test]
fn in_place_replacement_does_not_restart() {
    let (resv, fs) = filled();
    let mut it = resv.iter_unlocked(Usage::Bookkeep);
    assert!(it.next().unwrap().ptr_eq(&fs[0]));
    let newer = fence(2, 2);
    {
        let mut g = resv.lock(None).unwrap();
        g.add_fence(newer.clone(), Usage::Write).unwrap();
    }
    assert!(it.next().unwrap().ptr_eq(&newer));
    assert!(!it.is_restarted());
}

#[test]
fn lock_errors() {
    let resv = Resv::new();
    let ctx = AcquireCtx::reservation();
    let g = resv.lock(Some(&ctx)).unwrap();
    assert_eq!(resv.locking_ctx(), Some(ctx.stamp()));
    assert_eq!(resv.lock(Some(&ctx)).unwrap_err(), Error::AlreadyLocked);
    assert_eq!(resv.try_lock().unwrap_err(), Error::Busy);
    // Wrong order: ending the context while it still holds a lock.
    assert_eq!(ctx.fini(), Err(Error::Busy));
    drop(g);
    assert_eq!(ctx.fini(), Ok(()));
    assert!(matches!(resv.lock(Some(&ctx)), Err(Error::Invalid(_))));
    // The slow path on a lock that was not contended.
    let ctx2 = AcquireCtx::reservation();
    assert!(matches!(resv.lock_slow(&ctx2), Err(Error::Invalid(_))));
    ctx2.done();
    assert!(matches!(resv.lock(Some(&ctx2)), Err(Error::Invalid(_))));
}

#[test]
fn taking_a_resv_lock_in_a_signalling_section_is_recorded() {
    let resv = Resv::new();
    signalling::set_checking(true);
    {
        let _section = signalling::Section::begin();
        drop(resv.lock(None).unwrap());
    }
    let v = signalling::take_violations();
    signalling::set_checking(false);
    assert!(v
        .iter()
        .any(|v| matches!(v, signalling::Violation::ResvLockInSignalling { .. })));
}
