//! `reserve_fences` / `add_fence` / `replace_fences` / `copy_fences`: the
//! rules of §3.3 and the 6.12 errata, and the errors on bad input.

use super::fence;
use crate::error::Error;
use crate::fence::Fence;
use crate::resv::{DagViolation, Resv, Usage};

fn entries(resv: &Resv) -> Vec<(Fence, Usage)> {
    let g = resv.lock(None).unwrap();
    g.iter(Usage::Bookkeep)
        .map(|(f, u)| (f.clone(), u))
        .collect()
}

fn same(a: &[(Fence, Usage)], b: &[(&Fence, Usage)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((f, u), (g, v))| f.ptr_eq(g) && u == v)
}

#[test]
fn reserve_zero_is_invalid() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    assert_eq!(
        g.reserve_fences(0),
        Err(Error::Invalid("reserve_fences(0)"))
    );
    assert_eq!(g.reserve_fences(0).unwrap_err().errno(), 22);
}

#[test]
fn add_without_reserve_is_reported() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    let f = fence(1, 1);
    assert_eq!(
        g.add_fence(f.clone(), Usage::Write),
        Err(Error::NotReserved)
    );
    assert_eq!(g.num_fences(), 0);
    g.reserve_fences(1).unwrap();
    g.add_fence(f, Usage::Write).unwrap();
    // The first list has 4 slots: the fifth context finds none.
    for c in 2..=4 {
        g.add_fence(fence(c, 1), Usage::Write).unwrap();
    }
    assert_eq!(
        g.add_fence(fence(5, 1), Usage::Write),
        Err(Error::NotReserved)
    );
    assert_eq!(g.num_fences(), 4);
    assert_eq!(Error::NotReserved.errno(), 28);
}

#[test]
fn first_reservation_sizes() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(1).unwrap();
    assert_eq!(g.max_fences(), 4);
    g.reserve_fences(4).unwrap();
    assert_eq!(g.max_fences(), 4);
    g.reserve_fences(5).unwrap();
    assert_eq!(g.max_fences(), 8);
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(9).unwrap();
    assert_eq!(g.max_fences(), 16);
}

#[cfg(debug_assertions)]
#[test]
fn reservation_is_dropped_on_unlock_in_debug_builds() {
    let resv = Resv::new();
    {
        let mut g = resv.lock(None).unwrap();
        g.reserve_fences(2).unwrap();
        g.add_fence(fence(1, 1), Usage::Read).unwrap();
    }
    let mut g = resv.lock(None).unwrap();
    assert_eq!(g.max_fences(), 1);
    assert_eq!(
        g.add_fence(fence(2, 1), Usage::Read),
        Err(Error::NotReserved)
    );
}

#[test]
fn later_fence_of_same_context_replaces_in_place() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(2).unwrap();
    let (a1, b1, a2) = (fence(1, 1), fence(2, 1), fence(1, 2));
    g.add_fence(a1.clone(), Usage::Write).unwrap();
    g.add_fence(b1.clone(), Usage::Write).unwrap();
    g.add_fence(a2.clone(), Usage::Write).unwrap();
    drop(g);
    assert!(same(
        &entries(&resv),
        &[(&a2, Usage::Write), (&b1, Usage::Write)]
    ));
    assert_eq!(
        a1.ref_count(),
        1,
        "the replaced fence's reference is dropped"
    );
}

#[test]
fn earlier_fence_never_replaces_a_later_one() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(2).unwrap();
    let (a2, a1) = (fence(1, 2), fence(1, 1));
    g.add_fence(a2.clone(), Usage::Read).unwrap();
    g.add_fence(a1.clone(), Usage::Read).unwrap();
    drop(g);
    assert!(same(
        &entries(&resv),
        &[(&a2, Usage::Read), (&a1, Usage::Read)]
    ));
}

#[test]
fn weaker_usage_does_not_replace_and_promotion_does() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(2).unwrap();
    let (w, r) = (fence(1, 1), fence(1, 2));
    g.add_fence(w.clone(), Usage::Write).unwrap();
    // READ after WRITE on one context: both kept, the write never degrades.
    g.add_fence(r.clone(), Usage::Read).unwrap();
    assert_eq!(g.num_fences(), 2);
    // Promoting the read fence to KERNEL replaces the WRITE entry first.
    g.add_fence(r.clone(), Usage::Kernel).unwrap();
    drop(g);
    assert!(same(
        &entries(&resv),
        &[(&r, Usage::Kernel), (&r, Usage::Read)]
    ));
}

#[test]
fn re_adding_the_same_fence_uses_no_slot() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(1).unwrap();
    let f = fence(1, 1);
    for _ in 0..10 {
        g.add_fence(f.clone(), Usage::Read).unwrap();
    }
    assert_eq!(g.num_fences(), 1);
}

#[test]
fn re_adding_the_same_fence_keeps_its_reference_and_its_tracking() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(2).unwrap();
    let f = fence(1, 1);
    g.add_fence(f.clone(), Usage::Read).unwrap();
    let (refs, callbacks) = (f.ref_count(), f.pending_callbacks());
    assert_eq!(
        callbacks, 1,
        "one signal-tracking callback per stored fence"
    );
    for _ in 0..10 {
        g.add_fence(f.clone(), Usage::Read).unwrap();
    }
    assert_eq!((f.ref_count(), f.pending_callbacks()), (refs, callbacks));
    // Promotion to a stronger usage rewrites the entry, still tracked once.
    g.add_fence(f.clone(), Usage::Write).unwrap();
    assert!(same(&held(&g), &[(&f, Usage::Write)]));
    assert_eq!((f.ref_count(), f.pending_callbacks()), (refs, callbacks));
    // The tracking still sees the signal: the slot is reused by another
    // context instead of a new one being taken.
    f.signal().unwrap();
    let h = fence(2, 1);
    g.add_fence(h.clone(), Usage::Write).unwrap();
    assert_eq!(g.num_fences(), 1);
    assert!(same(&held(&g), &[(&h, Usage::Write)]));
    assert_eq!(f.ref_count(), 1);
}

/// The entries, read through the held lock.
fn held(g: &crate::resv::ResvGuard<'_>) -> Vec<(Fence, Usage)> {
    g.iter(Usage::Bookkeep)
        .map(|(f, u)| (f.clone(), u))
        .collect()
}

#[test]
fn first_signalled_entry_wins_over_a_later_superseded_one() {
    // The 6.12 erratum: [signalled S, pending old O of ctx 1]; adding N of
    // ctx 1 takes S's slot and O stays.
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(3).unwrap();
    let (s, o, n) = (fence(2, 1), fence(1, 1), fence(1, 2));
    g.add_fence(s.clone(), Usage::Write).unwrap();
    g.add_fence(o.clone(), Usage::Write).unwrap();
    s.signal().unwrap();
    g.add_fence(n.clone(), Usage::Write).unwrap();
    drop(g);
    assert!(same(
        &entries(&resv),
        &[(&n, Usage::Write), (&o, Usage::Write)]
    ));
    let exported = resv.get_fences(Usage::Write);
    assert_eq!(exported.len(), 2, "two fences of one context");
}

#[test]
fn superseded_entry_before_a_signalled_one_wins() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(3).unwrap();
    let (o, s, n) = (fence(1, 1), fence(2, 1), fence(1, 2));
    g.add_fence(o.clone(), Usage::Read).unwrap();
    g.add_fence(s.clone(), Usage::Read).unwrap();
    s.signal().unwrap();
    g.add_fence(n.clone(), Usage::Read).unwrap();
    drop(g);
    assert!(same(
        &entries(&resv),
        &[(&n, Usage::Read), (&s, Usage::Read)]
    ));
}

#[test]
fn signalled_fence_is_stored_and_then_reused() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(2).unwrap();
    let s = fence(1, 1);
    s.signal().unwrap();
    g.add_fence(s.clone(), Usage::Read).unwrap();
    assert_eq!(g.num_fences(), 1, "a signalled fence is still stored");
    let n = fence(7, 1);
    g.add_fence(n.clone(), Usage::Bookkeep).unwrap();
    drop(g);
    assert!(same(&entries(&resv), &[(&n, Usage::Bookkeep)]));
}

#[test]
fn reserve_compacts_signalled_entries() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(4).unwrap();
    let fs: Vec<Fence> = (1..=4).map(|c| fence(c, 1)).collect();
    for f in &fs {
        g.add_fence(f.clone(), Usage::Read).unwrap();
    }
    fs[0].signal().unwrap();
    fs[2].signal().unwrap();
    g.reserve_fences(1).unwrap();
    assert_eq!(g.max_fences(), 8);
    let kept: Vec<Fence> = g.iter(Usage::Bookkeep).map(|(f, _)| f.clone()).collect();
    assert_eq!(kept.len(), 2);
    assert!(kept[0].ptr_eq(&fs[1]) && kept[1].ptr_eq(&fs[3]));
}

#[test]
fn replace_fences_replaces_every_entry_of_the_context() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(3).unwrap();
    let (a1, b1, a2) = (fence(1, 1), fence(2, 1), fence(1, 2));
    g.add_fence(a1.clone(), Usage::Write).unwrap();
    g.add_fence(b1.clone(), Usage::Read).unwrap();
    g.add_fence(a2.clone(), Usage::Bookkeep).unwrap();
    let r = fence(9, 1);
    g.replace_fences(1, &r, Usage::Bookkeep).unwrap();
    drop(g);
    assert!(same(
        &entries(&resv),
        &[
            (&r, Usage::Bookkeep),
            (&b1, Usage::Read),
            (&r, Usage::Bookkeep)
        ]
    ));
    // The index follows: a later fence of context 9 supersedes both.
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(1).unwrap();
    let r2 = fence(9, 2);
    g.add_fence(r2.clone(), Usage::Bookkeep).unwrap();
    drop(g);
    assert!(same(
        &entries(&resv),
        &[
            (&r2, Usage::Bookkeep),
            (&b1, Usage::Read),
            (&r, Usage::Bookkeep)
        ]
    ));
}

#[test]
fn copy_fences_replaces_the_whole_list() {
    let src = Resv::new();
    let dst = Resv::new();
    let (a, b, s, old) = (fence(1, 1), fence(2, 1), fence(3, 1), fence(4, 1));
    {
        let mut g = src.lock(None).unwrap();
        g.reserve_fences(3).unwrap();
        g.add_fence(a.clone(), Usage::Kernel).unwrap();
        g.add_fence(s.clone(), Usage::Read).unwrap();
        g.add_fence(b.clone(), Usage::Bookkeep).unwrap();
        s.signal().unwrap();
        let mut d = dst.lock(None).unwrap();
        d.reserve_fences(1).unwrap();
        d.add_fence(old.clone(), Usage::Write).unwrap();
    }
    let mut d = dst.lock(None).unwrap();
    d.copy_fences(&src).unwrap();
    drop(d);
    assert!(same(
        &entries(&dst),
        &[(&a, Usage::Kernel), (&b, Usage::Bookkeep)]
    ));
    assert_eq!(old.ref_count(), 1);
}

#[test]
fn container_fences_are_stored_as_leaves() {
    use crate::fence::{array_create, chain_create, context_alloc, is_container};
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    let leaves: Vec<Fence> = (1..=5).map(|c| fence(c, 1)).collect();
    let array = array_create(leaves.clone(), context_alloc(1), 1, false).unwrap();
    // One slot per leaf is needed: the first reservation makes room for 4.
    g.reserve_fences(1).unwrap();
    assert_eq!(g.max_fences(), 4);
    assert_eq!(
        g.add_fence(array.clone(), Usage::Write),
        Err(Error::NotReserved)
    );
    assert_eq!(g.num_fences(), 0, "nothing added on failure");
    g.reserve_fences(5).unwrap();
    g.add_fence(array, Usage::Write).unwrap();
    drop(g);
    let expected: Vec<(&Fence, Usage)> = leaves.iter().map(|f| (f, Usage::Write)).collect();
    assert!(same(&entries(&resv), &expected));
    // A chain is flattened too.
    let chain = chain_create(None, fence(9, 1), 7);
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(1).unwrap();
    g.add_fence(chain, Usage::Read).unwrap();
    assert_eq!(g.num_fences(), 6);
    assert!(g.iter(Usage::Bookkeep).all(|(f, _)| !is_container(f)));
}

#[test]
fn dag_checker_reports_unordered_exclusive_fences() {
    let resv = Resv::new();
    resv.set_dag_checking(true);
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(8).unwrap();
    let (w1, w2, w3) = (fence(1, 1), fence(2, 1), fence(2, 2));
    g.add_fence(w1.clone(), Usage::Write).unwrap();
    // Not ordered after w1: reported, and still added.
    g.add_fence(w2.clone(), Usage::Write).unwrap();
    // Later on w2's context: ordered.
    g.add_fence(w3.clone(), Usage::Write).unwrap();
    // READ and BOOKKEEP are not checked.
    g.add_fence(fence(5, 1), Usage::Read).unwrap();
    // A KERNEL fence must follow the previous KERNEL fence.
    let (k1, k2) = (fence(6, 1), fence(8, 1));
    g.add_fence(k1, Usage::Kernel).unwrap();
    g.add_fence(k2.clone(), Usage::Kernel).unwrap();
    // A WRITE fence must follow the previous KERNEL one; a signalled
    // previous fence counts as ordered (and its slot is reused).
    k2.signal().unwrap();
    g.add_fence(fence(7, 1), Usage::Write).unwrap();
    assert_eq!(g.num_fences(), 5);
    drop(g);
    let v = resv.take_dag_violations();
    assert_eq!(
        v,
        vec![
            DagViolation {
                usage: Usage::Write,
                new_context: 2,
                new_seqno: 1,
                old_usage: Usage::Write,
                old_context: 1,
                old_seqno: 1,
            },
            DagViolation {
                usage: Usage::Kernel,
                new_context: 8,
                new_seqno: 1,
                old_usage: Usage::Kernel,
                old_context: 6,
                old_seqno: 1,
            },
        ]
    );
    assert!(resv.take_dag_violations().is_empty());
}

#[test]
fn dag_checking_off_records_nothing() {
    let resv = Resv::new();
    let mut g = resv.lock(None).unwrap();
    g.reserve_fences(2).unwrap();
    g.add_fence(fence(1, 1), Usage::Write).unwrap();
    g.add_fence(fence(2, 1), Usage::Write).unwrap();
    drop(g);
    if !crate::resv::dag_checking_global() {
        assert!(resv.take_dag_violations().is_empty());
    }
}

#[test]
fn compat_exclusive_and_shared_views() {
    let resv = Resv::new();
    let (k, w, r, b) = (fence(1, 1), fence(2, 1), fence(3, 1), fence(4, 1));
    {
        let mut g = resv.lock(None).unwrap();
        g.reserve_shared(4).unwrap();
        g.add_fence(k.clone(), Usage::Kernel).unwrap();
        g.add_excl_fence(w.clone()).unwrap();
        g.add_shared_fence(r.clone()).unwrap();
        g.add_fence(b.clone(), Usage::Bookkeep).unwrap();
    }
    let (excl, shared) = resv.get_fences_compat();
    assert_eq!(excl.len(), 2);
    assert!(excl[0].ptr_eq(&k) && excl[1].ptr_eq(&w));
    assert_eq!(shared.len(), 1);
    assert!(shared[0].ptr_eq(&r));
    assert!(!resv.test_signaled_compat(false));
    k.signal().unwrap();
    w.signal().unwrap();
    assert!(resv.test_signaled_compat(false));
    assert!(!resv.test_signaled_compat(true));
}
