//! Unwrapping and merging: the cases of the kernel's st-dma-fence-unwrap.c,
//! the SYNC_IOC_MERGE observations of kernel-behaviour.md at the merge
//! level, and property tests of `unwrap` and `unwrap_merge` against a model.

mod common;

use std::collections::BTreeMap;

use common::{mock_fence, mock_fence_at};
use dmasync::fence::{
    self, allocate_private_stub, array_create, chain_create, context_alloc, dedup_array, get_stub,
    is_array, is_container, is_stub, to_array, unwrap,
};
use dmasync::Fence;
use proptest::prelude::*;

fn mock_array(fences: &[&Fence]) -> Fence {
    let v = fences.iter().map(|f| (*f).clone()).collect();
    array_create(v, context_alloc(1), 1, false).unwrap()
}

fn mock_chain(prev: Option<&Fence>, fence: &Fence) -> Fence {
    chain_create(prev.cloned(), fence.clone(), 1)
}

/// Asserts that unwrapping `head` yields exactly `expected`, in order.
#[track_caller]
fn assert_leaves(head: &Fence, expected: &[&Fence]) {
    let got: Vec<Fence> = unwrap(head).collect();
    assert_eq!(got.len(), expected.len(), "leaf count of {head:?}: {got:?}");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(g.ptr_eq(e), "leaf {i}: got {g:?}, expected {e:?}");
    }
}

fn signal_all(fences: &[&Fence]) {
    for f in fences {
        let _ = f.signal();
    }
}

#[test]
fn sanitycheck() {
    let f = mock_fence();
    f.enable_sw_signaling();
    let array = mock_array(&[&f]);
    let chain = mock_chain(None, &array);
    assert!(is_container(&array) && is_container(&chain) && !is_container(&f));
    assert_leaves(&chain, &[&f]);
    assert_leaves(&f, &[&f]);
    drop(chain);
    f.signal().unwrap();
    assert!(array.is_signaled());
}

#[test]
fn unwrap_array() {
    let (f1, f2) = (mock_fence(), mock_fence());
    let array = mock_array(&[&f1, &f2]);
    assert_leaves(&array, &[&f1, &f2]);
    signal_all(&[&f1, &f2]);
    // Signalled members of an array are still visited.
    assert_leaves(&array, &[&f1, &f2]);
}

#[test]
fn unwrap_chain() {
    let (f1, f2) = (mock_fence(), mock_fence());
    let chain = mock_chain(Some(&f1), &f2);
    assert_leaves(&chain, &[&f2, &f1]);
    f1.signal().unwrap();
    // A signalled plain predecessor is collected; the head's fence stays.
    assert_leaves(&chain, &[&f2]);
    f2.signal().unwrap();
    assert_leaves(&chain, &[&f2]);
}

#[test]
fn unwrap_chain_array() {
    let (f1, f2) = (mock_fence(), mock_fence());
    let array = mock_array(&[&f1, &f2]);
    let chain = mock_chain(None, &array);
    assert_leaves(&chain, &[&f1, &f2]);
    signal_all(&[&f1, &f2]);
}

#[test]
fn unwrap_chain_skips_signalled_links() {
    let fences: Vec<Fence> = (0..4).map(|_| mock_fence()).collect();
    let mut tail: Option<Fence> = None;
    for (i, f) in fences.iter().enumerate() {
        tail = Some(chain_create(tail, f.clone(), i as u64 + 1));
    }
    let tail = tail.unwrap();
    fences[1].signal().unwrap();
    fences[3].signal().unwrap();
    assert_leaves(&tail, &[&fences[3], &fences[2], &fences[0]]);
    signal_all(&fences.iter().collect::<Vec<_>>());
}

#[test]
fn unwrap_merge() {
    let (f1, f2) = (mock_fence(), mock_fence());
    f1.enable_sw_signaling();
    f2.enable_sw_signaling();
    let f3 = fence::unwrap_merge(&[f1.clone(), f2.clone()]);
    assert!(is_array(&f3));
    assert_leaves(&f3, &[&f1, &f2]);
    signal_all(&[&f1, &f2]);
    assert!(f3.is_signaled());
}

#[test]
fn unwrap_merge_duplicate() {
    let f1 = mock_fence();
    let f2 = fence::unwrap_merge(&[f1.clone(), f1.clone()]);
    assert!(f2.ptr_eq(&f1), "a fence merged with itself is itself");
    assert_leaves(&f2, &[&f1]);
    f1.signal().unwrap();
}

#[test]
fn unwrap_merge_seqno() {
    let ctx = context_alloc(2);
    let f1 = mock_fence_at(ctx + 1, 1);
    let f2 = mock_fence_at(ctx + 1, 2);
    let f3 = mock_fence_at(ctx, 1);
    let f4 = fence::unwrap_merge(&[f1.clone(), f2.clone(), f3.clone()]);
    assert_leaves(&f4, &[&f3, &f2]);
    signal_all(&[&f1, &f2, &f3]);
}

#[test]
fn unwrap_merge_order() {
    let (f1, f2) = (mock_fence(), mock_fence());
    let a1 = mock_array(&[&f1, &f2]);
    let c1 = mock_chain(None, &f1);
    let c2 = mock_chain(Some(&c1), &f2);
    // The chain holds the fences in the opposite order; the merge sorts.
    let a2 = fence::unwrap_merge(&[a1, c2]);
    assert_leaves(&a2, &[&f1, &f2]);
    signal_all(&[&f1, &f2]);
}

#[test]
fn unwrap_merge_complex() {
    let (f1, f2) = (mock_fence(), mock_fence());
    let f3 = fence::unwrap_merge(&[f1.clone(), f2.clone()]);
    let f4 = mock_array(&[&f2, &f1]);
    // Signalled fences are filtered, the two arrays merged.
    let f5 = fence::unwrap_merge(&[f3, f4, get_stub()]);
    assert_leaves(&f5, &[&f1, &f2]);
    signal_all(&[&f1, &f2]);
}

#[test]
fn unwrap_merge_complex_seqno() {
    let ctx = context_alloc(2);
    let f1 = mock_fence_at(ctx, 2);
    let f2 = mock_fence_at(ctx + 1, 1);
    let f3 = mock_fence_at(ctx, 1);
    let f4 = mock_fence_at(ctx + 1, 2);
    let f5 = mock_array(&[&f1, &f2]);
    let f6 = mock_array(&[&f3, &f4]);
    let f7 = fence::unwrap_merge(&[f5, f6]);
    assert_leaves(&f7, &[&f1, &f4]);
    signal_all(&[&f1, &f2, &f3, &f4]);
}

// SYNC_IOC_MERGE as observed on 6.12 (kernel-behaviour.md), at merge level.

#[test]
fn merge_two_points_of_one_timeline_gives_the_later() {
    let ctx = context_alloc(1);
    let (p1, p2) = (mock_fence_at(ctx, 1), mock_fence_at(ctx, 2));
    for inputs in [[p1.clone(), p2.clone()], [p2.clone(), p1.clone()]] {
        let m = fence::unwrap_merge(&inputs);
        assert!(m.ptr_eq(&p2));
    }
    // 32-bit wrap-around: 1 is later than u32::MAX.
    let (old, new) = (mock_fence_at(ctx, u32::MAX as u64), mock_fence_at(ctx, 1));
    assert!(fence::unwrap_merge(&[new.clone(), old.clone()]).ptr_eq(&new));
    signal_all(&[&p1, &p2, &old, &new]);
}

#[test]
fn merge_with_itself_keeps_the_count() {
    let fs: Vec<Fence> = (0..3).map(|_| mock_fence()).collect();
    let a = fence::unwrap_merge(&fs);
    let m = fence::unwrap_merge(&[a.clone(), a.clone()]);
    assert_eq!(unwrap(&m).count(), 3);
    assert!(!m.ptr_eq(&a), "a new array, with a fresh context");
    assert_ne!(m.context(), a.context());
    signal_all(&fs.iter().collect::<Vec<_>>());
}

#[test]
fn merge_of_n_timelines_is_an_array_in_context_order() {
    let mut fs: Vec<Fence> = (0..16).map(|_| mock_fence()).collect();
    fs.reverse();
    let m = fence::unwrap_merge(&fs);
    let arr = to_array(&m).expect("an array");
    assert_eq!(arr.fences().len(), 16);
    assert!(arr
        .fences()
        .windows(2)
        .all(|w| w[0].context() < w[1].context()));
    assert!(!arr.signal_on_any());
    assert_eq!(m.seqno(), 1);
    assert!(fs.iter().all(|f| f.context() < m.context()));
    assert_eq!(
        (m.driver_name(), m.timeline_name()),
        ("dma_fence_array", "unbound")
    );
    signal_all(&fs.iter().collect::<Vec<_>>());
}

#[test]
fn merge_drops_signalled_and_errored_inputs() {
    let (pending, done, failed) = (mock_fence(), mock_fence(), mock_fence());
    done.signal().unwrap();
    failed.set_error(-5).unwrap();
    failed.signal().unwrap();
    let m = fence::unwrap_merge(&[pending.clone(), done.clone()]);
    assert!(m.ptr_eq(&pending));
    let m = fence::unwrap_merge(&[failed.clone(), pending.clone()]);
    assert!(m.ptr_eq(&pending));
    pending.signal().unwrap();
    assert_eq!(m.status(), 1, "the error of the dropped input is lost");
}

#[test]
fn merge_of_signalled_inputs_is_a_stub_with_the_newest_timestamp() {
    let (a, b) = (mock_fence(), mock_fence());
    a.signal_timestamp(2_000).unwrap();
    b.signal_timestamp(1_000).unwrap();
    let m = fence::unwrap_merge(&[a.clone(), b.clone()]);
    assert!(is_stub(&m));
    assert!(!m.ptr_eq(&get_stub()), "a private stub");
    assert_eq!((m.context(), m.seqno(), m.status()), (0, 0, 1));
    assert_eq!(m.timestamp(), Some(2_000));
    // Errors of signalled leaves are lost too.
    let c = mock_fence();
    c.set_error(-22).unwrap();
    c.signal_timestamp(500).unwrap();
    let m = fence::unwrap_merge(&[c]);
    assert_eq!((m.status(), m.timestamp()), (1, Some(500)));
    // Nothing at all: a stub with timestamp 0.
    assert_eq!(fence::unwrap_merge(&[]).timestamp(), Some(0));
    // Merging stubs gives a stub with the newest of their timestamps.
    let m = fence::unwrap_merge(&[allocate_private_stub(7), allocate_private_stub(9)]);
    assert_eq!(m.timestamp(), Some(9));
}

#[test]
fn members_that_signal_after_the_merge_stay() {
    let fs: Vec<Fence> = (0..64).map(|_| mock_fence()).collect();
    let m = fence::unwrap_merge(&fs);
    for f in &fs[..63] {
        f.signal().unwrap();
    }
    assert_eq!(to_array(&m).unwrap().fences().len(), 64);
    assert_eq!(unwrap(&m).count(), 64);
    assert_eq!(m.status(), 0);
    fs[63].signal().unwrap();
    assert_eq!(m.status(), 1);
}

#[test]
fn merge_never_nests_containers() {
    let (f1, f2, f3) = (mock_fence(), mock_fence(), mock_fence());
    // A chain wrongly nested in a chain is flattened as well.
    let inner = chain_create(None, f1.clone(), 1);
    let outer = chain_create(None, inner, 1);
    let arr = mock_array(&[&f2, &f3]);
    let m = fence::unwrap_merge(&[outer, arr]);
    let leaves: Vec<Fence> = unwrap(&m).collect();
    assert_eq!(leaves.len(), 3);
    assert!(leaves.iter().all(|l| !is_container(l)));
    signal_all(&[&f1, &f2, &f3]);
}

#[test]
fn dedup_array_keeps_the_latest_per_context() {
    let c = context_alloc(3);
    let a1 = mock_fence_at(c + 2, 1);
    let b5 = mock_fence_at(c, 5);
    let a3 = mock_fence_at(c + 2, 3);
    let b2 = mock_fence_at(c, 2);
    let m7 = mock_fence_at(c + 1, 7);
    let mut v = vec![a1, b5.clone(), a3.clone(), b2, m7.clone(), b5.clone()];
    dedup_array(&mut v);
    let got: Vec<(u64, u64)> = v.iter().map(|f| (f.context() - c, f.seqno())).collect();
    assert_eq!(got, vec![(0, 5), (1, 7), (2, 3)]);
    assert!(v[0].ptr_eq(&b5) && v[1].ptr_eq(&m7) && v[2].ptr_eq(&a3));
    let mut empty = Vec::new();
    dedup_array(&mut empty);
    assert!(empty.is_empty());
}

#[test]
fn dedup_array_survives_inconsistent_wraparound() {
    // Four points a quarter of the 32-bit space apart: "later" is cyclic.
    let c = context_alloc(1);
    let mut v: Vec<Fence> = (0..4u64).map(|i| mock_fence_at(c, i << 30)).collect();
    dedup_array(&mut v);
    assert_eq!(v.len(), 1);
}

// Property tests against a model.

/// A leaf: (context index, seqno, signalled).
type Leaf = (usize, u64, bool);

#[derive(Debug, Clone)]
enum Input {
    Plain(Leaf),
    Array(Vec<Leaf>),
    /// Nodes oldest first; each node contains one leaf, or an array of
    /// several.
    Chain(Vec<Vec<Leaf>>),
}

fn leaf() -> impl Strategy<Value = Leaf> {
    (0..4usize, 1..6u64, any::<bool>())
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        leaf().prop_map(Input::Plain),
        prop::collection::vec(leaf(), 1..4).prop_map(Input::Array),
        prop::collection::vec(prop::collection::vec(leaf(), 1..4), 1..4).prop_map(Input::Chain),
    ]
}

/// The built inputs, and every leaf fence made with its model.
struct Built {
    heads: Vec<Fence>,
    /// Per input, the leaves `unwrap` must yield, in order.
    expected_unwrap: Vec<Vec<Fence>>,
    leaves: Vec<(Leaf, Fence)>,
}

fn build(inputs: &[Input], base: u64) -> Built {
    let mut leaves = Vec::new();
    let mut make = |l: &Leaf| {
        let f = mock_fence_at(base + l.0 as u64, l.1);
        if l.2 {
            f.signal_timestamp(1_000 + leaves.len() as u64 * 7 % 50)
                .unwrap();
        }
        leaves.push((*l, f.clone()));
        f
    };
    let mut heads = Vec::new();
    let mut expected_unwrap = Vec::new();
    for input in inputs {
        match input {
            Input::Plain(l) => {
                let f = make(l);
                expected_unwrap.push(vec![f.clone()]);
                heads.push(f);
            }
            Input::Array(ls) => {
                let fs: Vec<Fence> = ls.iter().map(&mut make).collect();
                heads.push(array_create(fs.clone(), context_alloc(1), 1, false).unwrap());
                expected_unwrap.push(fs);
            }
            Input::Chain(nodes) => {
                let mut tail: Option<Fence> = None;
                // Per node, newest first: its leaves, and whether all signalled.
                let mut per_node = Vec::new();
                for (i, node) in nodes.iter().enumerate() {
                    let fs: Vec<Fence> = node.iter().map(&mut make).collect();
                    let contained = if fs.len() == 1 {
                        fs[0].clone()
                    } else {
                        array_create(fs.clone(), context_alloc(1), 1, false).unwrap()
                    };
                    let done = node.iter().all(|l| l.2);
                    per_node.push((fs, done));
                    tail = Some(chain_create(tail, contained, i as u64 + 1));
                }
                per_node.reverse();
                let mut expect = Vec::new();
                for (i, (fs, done)) in per_node.into_iter().enumerate() {
                    // The head's leaves always; older nodes only while pending.
                    if i == 0 || !done {
                        expect.extend(fs);
                    }
                }
                expected_unwrap.push(expect);
                heads.push(tail.unwrap());
            }
        }
    }
    Built {
        heads,
        expected_unwrap,
        leaves,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn unwrap_matches_the_model(inputs in prop::collection::vec(input(), 1..5)) {
        let base = context_alloc(4);
        let b = build(&inputs, base);
        for (head, expect) in b.heads.iter().zip(&b.expected_unwrap) {
            let got: Vec<Fence> = unwrap(head).collect();
            prop_assert_eq!(got.len(), expect.len());
            for (g, e) in got.iter().zip(expect) {
                prop_assert!(g.ptr_eq(e));
            }
            // A second pass (after garbage collection) sees the same leaves.
            prop_assert_eq!(unwrap(head).count(), expect.len());
        }
        for (_, f) in &b.leaves {
            let _ = f.signal();
        }
    }

    #[test]
    fn unwrap_merge_matches_the_model(inputs in prop::collection::vec(input(), 1..5)) {
        let base = context_alloc(4);
        let b = build(&inputs, base);
        // Model: per context the latest pending seqno, by context.
        let mut latest: BTreeMap<usize, u64> = BTreeMap::new();
        for ((ctx, seqno, done), _) in &b.leaves {
            if !done {
                let e = latest.entry(*ctx).or_insert(*seqno);
                *e = (*e).max(*seqno);
            }
        }
        let expect: Vec<(u64, u64)> =
            latest.iter().map(|(c, s)| (base + *c as u64, *s)).collect();
        let has_chain = inputs.iter().any(|i| matches!(i, Input::Chain(_)));

        let m = fence::unwrap_merge(&b.heads);
        match expect.len() {
            0 => {
                prop_assert!(is_stub(&m));
                prop_assert_eq!(m.status(), 1);
                let newest = b.leaves.iter().filter_map(|(_, f)| f.timestamp()).max();
                if has_chain {
                    // Collected chain links are not visited.
                    prop_assert!(m.timestamp() <= newest);
                } else {
                    prop_assert_eq!(m.timestamp(), newest);
                }
            }
            1 => {
                prop_assert!(!is_container(&m) && !is_stub(&m));
                prop_assert_eq!((m.context(), m.seqno()), expect[0]);
                prop_assert!(b.leaves.iter().any(|(_, f)| f.ptr_eq(&m)));
            }
            _ => {
                let arr = to_array(&m);
                prop_assert!(arr.is_some());
                let arr = arr.unwrap();
                let got: Vec<(u64, u64)> =
                    arr.fences().iter().map(|f| (f.context(), f.seqno())).collect();
                prop_assert_eq!(got, expect);
                prop_assert!(!arr.signal_on_any());
                prop_assert_eq!(m.seqno(), 1);
                prop_assert!(m.context() >= base + 4);
                prop_assert!(arr.fences().iter().all(|f| !is_container(f) && !f.is_signaled()));
            }
        }

        // The merge signals exactly when every leaf has.
        for (_, f) in &b.leaves {
            let _ = f.signal();
        }
        prop_assert!(m.is_signaled());
        prop_assert_eq!(m.status(), 1);
    }

    #[test]
    fn dedup_array_matches_the_model(
        leaves in prop::collection::vec((0..4usize, 0..1000u64), 0..20),
    ) {
        let base = context_alloc(4);
        let mut v: Vec<Fence> =
            leaves.iter().map(|(c, s)| mock_fence_at(base + *c as u64, *s)).collect();
        let mut latest: BTreeMap<usize, u64> = BTreeMap::new();
        for (c, s) in &leaves {
            let e = latest.entry(*c).or_insert(*s);
            *e = (*e).max(*s);
        }
        dedup_array(&mut v);
        let got: Vec<(u64, u64)> = v.iter().map(|f| (f.context(), f.seqno())).collect();
        let expect: Vec<(u64, u64)> =
            latest.iter().map(|(c, s)| (base + *c as u64, *s)).collect();
        prop_assert_eq!(got, expect);
    }
}
