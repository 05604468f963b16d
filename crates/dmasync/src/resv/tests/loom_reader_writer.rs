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
