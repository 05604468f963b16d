//! Loom model: an unlocked reader against a writer that reallocates the
//! list, overwrites an entry in place and appends. The reader must see a
//! consistent list: never an empty one, never the replaced fence together
//! with the appended one.
#![cfg(all(test, loom))]

use loom::sync::Arc;

use super::fence;
use crate::resv::{Resv, Usage};

#[test]
fn loom_unlocked_reader_never_sees_a_torn_list() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    static ITERATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    builder.check(|| {
        ITERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resv = Arc::new(Resv::new());
        let (f1, f2, g) = (fence(1, 1), fence(1, 2), fence(2, 1));
        {
            let mut l = resv.lock(None).unwrap();
            l.reserve_fences(1).unwrap();
            l.add_fence(f1.clone(), Usage::Write).unwrap();
        }
        let reader = {
            let resv = resv.clone();
            loom::thread::spawn(move || resv.get_fences(Usage::Bookkeep))
        };
        {
            let mut l = resv.lock(None).unwrap();
            // 1 + 4 > 4: a new list is published (readers restart).
            l.reserve_fences(4).unwrap();
            // In place: f2 supersedes f1.
            l.add_fence(f2.clone(), Usage::Write).unwrap();
            // Appended.
            l.add_fence(g.clone(), Usage::Read).unwrap();
        }
        let seen = reader.join().unwrap();
        let is = |v: &[&crate::fence::Fence]| {
            seen.len() == v.len() && seen.iter().zip(v).all(|(a, b)| a.ptr_eq(b))
        };
        assert!(
            is(&[&f1]) || is(&[&f2]) || is(&[&f2, &g]),
            "torn view: {seen:?}"
        );
    });
    let n = ITERATIONS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(n > 1, "explored {n} interleavings");
    eprintln!("explored {n} interleavings");
}

/// Loom model: a reader builds the list snapshot `get_fences` reuses while
/// a writer overwrites the only entry. Whatever the interleaving, the
/// reader sees the old or the new fence, a later reader sees the new one
/// (no stale snapshot is used), and no snapshot keeps the replaced fence
/// alive once both are done.
#[test]
fn loom_snapshot_is_never_stale_nor_kept() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    static ITERATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    builder.check(|| {
        ITERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resv = Arc::new(Resv::new());
        let (f1, f2) = (fence(1, 1), fence(1, 2));
        let base = f1.ref_count();
        {
            let mut l = resv.lock(None).unwrap();
            l.reserve_fences(1).unwrap();
            l.add_fence(f1.clone(), Usage::Write).unwrap();
        }
        // The list is now stable since this read: the next one builds a
        // snapshot.
        assert_eq!(resv.get_fences(Usage::Bookkeep).len(), 1);
        let reader = {
            let resv = resv.clone();
            loom::thread::spawn(move || {
                let a = resv.get_fences(Usage::Bookkeep);
                let b = resv.get_fences(Usage::Bookkeep);
                (a, b)
            })
        };
        {
            let mut l = resv.lock(None).unwrap();
            l.add_fence(f2.clone(), Usage::Write).unwrap();
        }
        let (a, b) = reader.join().unwrap();
        for seen in [&a, &b] {
            assert!(
                seen.len() == 1 && (seen[0].ptr_eq(&f1) || seen[0].ptr_eq(&f2)),
                "torn view: {seen:?}"
            );
        }
        drop((a, b));
        let now = resv.get_fences(Usage::Bookkeep);
        assert!(now.len() == 1 && now[0].ptr_eq(&f2), "stale: {now:?}");
        assert_eq!(f1.ref_count(), base, "a snapshot keeps the replaced fence");
    });
    let n = ITERATIONS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(n > 1, "explored {n} interleavings");
    eprintln!("explored {n} interleavings");
}
