//! Chain fences: the cases of the kernel's st-dma-fence-chain.c, plus the
//! creation rules, garbage collection, deadlines and release of long chains.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use common::{mock_fence, Rng};
use dmasync::fence::{
    self, array_create, chain_contained, chain_create, chain_iter, chain_walk, context_alloc,
    get_stub, is_chain, is_container, to_chain,
};
use dmasync::{Error, Fence};

const CHAIN_SZ: usize = 4 << 10;

/// A timeline of `count` nodes, node `i` containing mock fence `i` with seqno
/// `seqno_fn(i)`.
struct FenceChains {
    fences: Vec<Fence>,
    chains: Vec<Fence>,
    tail: Fence,
}

impl FenceChains {
    fn new(count: usize, seqno_fn: impl Fn(usize) -> u64) -> FenceChains {
        let mut fences = Vec::with_capacity(count);
        let mut chains: Vec<Fence> = Vec::with_capacity(count);
        for i in 0..count {
            let f = mock_fence();
            let node = chain_create(chains.last().cloned(), f.clone(), seqno_fn(i));
            fences.push(f);
            chains.push(node);
        }
        let tail = chains.last().cloned().expect("count > 0");
        FenceChains {
            fences,
            chains,
            tail,
        }
    }
}

impl Drop for FenceChains {
    /// Signals every fence, as the selftests' fini does, so no callback
    /// keeps a node alive.
    fn drop(&mut self) {
        for f in &self.fences {
            let _ = f.signal();
        }
    }
}

fn seqno_inc(i: usize) -> u64 {
    i as u64 + 1
}

fn seqno_inc2(i: usize) -> u64 {
    2 * i as u64 + 2
}

fn same(a: &Option<Fence>, b: &Fence) -> bool {
    a.as_ref().is_some_and(|a| a.ptr_eq(b))
}

#[test]
fn sanitycheck() {
    let f = mock_fence();
    let chain = chain_create(None, f.clone(), 1);
    assert!(is_chain(&chain) && is_container(&chain));
    assert_eq!(chain.driver_name(), "dma_fence_chain");
    assert_eq!(chain.timeline_name(), "unbound");
    assert_eq!(chain.seqno(), 1);
    assert!(chain.is_seqno64());
    assert!(!chain.is_signaled());
    f.signal().unwrap();
    assert!(chain.is_signaled());
    assert_eq!(chain.status(), 1);
}

#[test]
fn find_seqno() {
    let fc = FenceChains::new(64, seqno_inc);

    let r = fence::find_seqno(&fc.tail, 0).unwrap();
    assert!(same(&r, &fc.tail), "find_seqno(0) must return the head");

    for i in 0..fc.chains.len() {
        let seqno = i as u64 + 1;
        let found = fence::find_seqno(&fc.tail, seqno).unwrap();
        assert!(same(&found, &fc.chains[i]), "wrong node for {seqno}");
        let node = found.unwrap();

        let found = fence::find_seqno(&node, seqno).unwrap();
        assert!(same(&found, &fc.chains[i]), "finding self for {seqno}");

        assert!(
            matches!(fence::find_seqno(&node, seqno + 1), Err(Error::Invalid(_))),
            "a future point must be refused"
        );

        let found = fence::find_seqno(&node, seqno - 1).unwrap();
        if i > 0 {
            assert!(same(&found, &fc.chains[i - 1]), "previous of {seqno}");
        } else {
            assert!(same(&found, &node), "point 0 is the node itself");
        }
    }
}

#[test]
fn find_seqno_rejects_plain_fences() {
    let f = mock_fence();
    assert!(matches!(fence::find_seqno(&f, 1), Err(Error::Invalid(_))));
    assert!(same(&fence::find_seqno(&f, 0).unwrap(), &f));
}

#[test]
fn find_signaled() {
    let fc = FenceChains::new(2, seqno_inc);
    fc.fences[0].signal().unwrap();
    let found = fence::find_seqno(&fc.tail, 1).unwrap();
    // Either the node itself, or nothing once it was collected.
    assert!(found.is_none() || same(&found, &fc.chains[0]));
    if let Some(f) = found {
        assert!(same(&fence::find_seqno(&f, 1).unwrap(), &f));
    }
}

#[test]
fn find_out_of_order() {
    let fc = FenceChains::new(3, seqno_inc);
    fc.fences[1].signal().unwrap();
    // Point 2's work is done but point 1's is not: node 2 is collected and
    // point 2 is represented by node 1.
    let found = fence::find_seqno(&fc.tail, 2).unwrap();
    assert!(same(&found, &fc.chains[0]));
}

#[test]
fn find_gap() {
    let fc = FenceChains::new(64, seqno_inc2);
    for i in 0..fc.chains.len() {
        let odd = 2 * i as u64 + 1;
        let found = fence::find_seqno(&fc.tail, odd).unwrap();
        assert!(same(&found, &fc.chains[i]), "gap point {odd}");
        let node = found.unwrap();
        let found = fence::find_seqno(&node, odd + 1).unwrap();
        assert!(same(&found, &fc.chains[i]), "finding self {}", odd + 1);
    }
}

#[test]
fn find_race() {
    let fc = Arc::new(FenceChains::new(CHAIN_SZ, seqno_inc));
    let threads = 4;
    let rounds = 500;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let fc = fc.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(0x9e37_79b9 + t as u64);
                let len = fc.chains.len();
                for _ in 0..rounds {
                    let seqno = rng.below(len) as u64 + 1;
                    let found = fence::find_seqno(&fc.tail, seqno)
                        .unwrap_or_else(|e| panic!("find_seqno({seqno}) failed: {e}"));
                    if let Some(f) = found {
                        // Only the node of the point itself finds itself.
                        if f.seqno() == seqno {
                            let again = fence::find_seqno(&f, seqno).expect("find self");
                            assert!(again.is_some());
                        }
                        assert!(f.seqno() >= 1);
                    }
                    let _ = fc.fences[rng.below(len - 1)].signal();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a finder failed");
    }
    let signalled = fc.fences.iter().filter(|f| f.is_signaled()).count();
    assert!(signalled > 0);
    // The last fence was never signalled, so the tail cannot have.
    assert!(!fc.tail.is_signaled());
}

#[test]
fn signal_forward() {
    let fc = FenceChains::new(64, seqno_inc);
    for i in 0..fc.chains.len() {
        fc.fences[i].signal().unwrap();
        assert!(fc.chains[i].is_signaled(), "chain[{i}] not signalled");
        if i + 1 < fc.chains.len() {
            assert!(
                !fc.chains[i + 1].is_signaled(),
                "chain[{}] signalled",
                i + 1
            );
        }
    }
}

#[test]
fn signal_backward() {
    let fc = FenceChains::new(64, seqno_inc);
    for i in (0..fc.chains.len()).rev() {
        fc.fences[i].signal().unwrap();
        if i > 0 {
            assert!(!fc.chains[i].is_signaled(), "chain[{i}] signalled early");
        }
    }
    for (i, c) in fc.chains.iter().enumerate() {
        assert!(c.is_signaled(), "chain[{i}] not signalled");
    }
}

/// Starts a thread that waits for the tail, and returns once it has
/// enabled signalling (so the signals below race with a real waiter).
fn spawn_waiter(fc: &FenceChains) -> thread::JoinHandle<i32> {
    let tail = fc.tail.clone();
    let h = thread::spawn(move || {
        tail.wait();
        tail.status()
    });
    while !fc.tail.is_signaling_enabled() {
        thread::yield_now();
    }
    h
}

#[test]
fn wait_forward() {
    let fc = FenceChains::new(CHAIN_SZ, seqno_inc);
    let waiter = spawn_waiter(&fc);
    for f in &fc.fences {
        f.signal().unwrap();
    }
    assert_eq!(waiter.join().unwrap(), 1);
}

#[test]
fn wait_backward() {
    let fc = FenceChains::new(CHAIN_SZ, seqno_inc);
    let waiter = spawn_waiter(&fc);
    for f in fc.fences.iter().rev() {
        f.signal().unwrap();
    }
    assert_eq!(waiter.join().unwrap(), 1);
}

#[test]
fn wait_random() {
    let fc = FenceChains::new(CHAIN_SZ, seqno_inc);
    let mut order: Vec<usize> = (0..fc.fences.len()).collect();
    let mut rng = Rng::new(42);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let waiter = spawn_waiter(&fc);
    for &i in &order {
        fc.fences[i].signal().unwrap();
    }
    assert_eq!(waiter.join().unwrap(), 1);
}

#[test]
fn chain_create_context_and_seqno_rules() {
    let a = chain_create(None, mock_fence(), 5);
    let b = chain_create(Some(a.clone()), mock_fence(), 7);
    assert_eq!(b.context(), a.context());
    assert_eq!((b.seqno(), to_chain(&b).unwrap().prev_seqno()), (7, 5));

    // Not later: fresh context, seqno clamped to prev's.
    let c = chain_create(Some(b.clone()), mock_fence(), 3);
    assert_ne!(c.context(), b.context());
    assert_eq!((c.seqno(), to_chain(&c).unwrap().prev_seqno()), (7, 0));
    let d = chain_create(Some(b.clone()), mock_fence(), 7);
    assert_ne!(d.context(), b.context());
    assert_eq!(d.seqno(), 7);

    // A plain prev: fresh context, no clamping.
    let plain = mock_fence();
    let e = chain_create(Some(plain.clone()), mock_fence(), 2);
    assert_ne!(e.context(), plain.context());
    assert_eq!((e.seqno(), to_chain(&e).unwrap().prev_seqno()), (2, 0));
    assert!(same(&to_chain(&e).unwrap().prev(), &plain));

    // 64-bit seqnos: above u32::MAX is later.
    let big = chain_create(Some(a.clone()), mock_fence(), u32::MAX as u64 + 10);
    assert_eq!(big.context(), a.context());
    assert!(big.is_later(&a));
}

#[test]
fn chain_contained_and_accessors() {
    let f = mock_fence();
    let node = chain_create(None, f.clone(), 1);
    assert!(chain_contained(&node).ptr_eq(&f));
    assert!(chain_contained(&f).ptr_eq(&f));
    assert!(to_chain(&node).unwrap().fence().ptr_eq(&f));
    assert!(to_chain(&node).unwrap().prev().is_none());
    assert!(to_chain(&f).is_none());
    f.signal().unwrap();
}

#[test]
fn chain_never_carries_the_contained_error() {
    let f = mock_fence();
    let node = chain_create(None, f.clone(), 1);
    let node2 = chain_create(Some(node.clone()), get_stub(), 2);
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let _id = node2
        .add_callback(move |n| {
            assert_eq!(n.status(), 1);
            r.store(true, Ordering::SeqCst);
        })
        .unwrap();
    f.set_error(-5).unwrap();
    f.signal().unwrap();
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(node2.status(), 1);
    assert_eq!(node.status(), 1);
    assert_eq!(node.error(), 0);
}

#[test]
fn chain_walk_collects_signalled_links() {
    let fc = FenceChains::new(5, seqno_inc);
    fc.fences[1].signal().unwrap();
    fc.fences[2].signal().unwrap();
    fc.fences[3].signal().unwrap();
    // Tail's walk skips nodes 3, 2, 1 and lands on node 0, unlinking them.
    let next = chain_walk(fc.tail.clone());
    assert!(same(&next, &fc.chains[0]));
    assert!(same(&to_chain(&fc.tail).unwrap().prev(), &fc.chains[0]));
    // prev_seqno keeps its value after the collection.
    assert_eq!(to_chain(&fc.tail).unwrap().prev_seqno(), 4);
    // The unlinked nodes are now referenced only by the test.
    assert_eq!(fc.chains[3].ref_count(), 1);

    fc.fences[0].signal().unwrap();
    assert!(chain_walk(fc.tail.clone()).is_none());
    assert!(to_chain(&fc.tail).unwrap().prev().is_none());
    // Walking from a plain fence gives nothing.
    assert!(chain_walk(fc.fences[0].clone()).is_none());
}

#[test]
fn chain_walk_past_a_plain_prev() {
    let plain = mock_fence();
    let node = chain_create(Some(plain.clone()), mock_fence(), 1);
    assert!(same(&chain_walk(node.clone()), &plain));
    plain.signal().unwrap();
    assert!(chain_walk(node.clone()).is_none());
    assert!(to_chain(&node).unwrap().prev().is_none());
}

#[test]
fn chain_iter_yields_head_then_pending_links() {
    let fc = FenceChains::new(4, seqno_inc);
    fc.fences[3].signal().unwrap();
    fc.fences[1].signal().unwrap();
    let seen: Vec<u64> = chain_iter(&fc.tail).map(|f| f.seqno()).collect();
    assert_eq!(seen, vec![4, 3, 1]);
}

#[test]
fn chain_enable_signaling_rearms_along_the_chain() {
    let fc = FenceChains::new(8, seqno_inc);
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let _id = fc
        .tail
        .add_callback(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    // Exactly one callback is armed at a time, on the head's fence first.
    assert_eq!(fc.fences[7].pending_callbacks(), 1);
    assert_eq!(fc.fences[6].pending_callbacks(), 0);
    fc.fences[7].signal().unwrap();
    assert_eq!(fc.fences[6].pending_callbacks(), 1);
    for f in fc.fences[..7].iter().rev() {
        assert_eq!(count.load(Ordering::SeqCst), 0);
        f.signal().unwrap();
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(fc.tail.test_signaled_flag());
}

#[test]
fn chain_enable_signaling_when_all_done() {
    let f = mock_fence();
    let node = chain_create(None, f.clone(), 1);
    f.signal().unwrap();
    assert_eq!(
        node.add_callback(|_| panic!("must not run")).unwrap_err(),
        Error::AlreadySignaled
    );
    assert!(node.test_signaled_flag());
}

#[test]
fn chain_with_array_contained() {
    let (a, b) = (mock_fence(), mock_fence());
    let arr = array_create(vec![a.clone(), b.clone()], context_alloc(1), 1, false).unwrap();
    let node = chain_create(None, arr, 1);
    let waiter = {
        let node = node.clone();
        thread::spawn(move || node.wait())
    };
    a.signal().unwrap();
    assert!(!node.is_signaled());
    b.signal().unwrap();
    waiter.join().unwrap();
    assert!(node.is_signaled());
}

#[test]
fn chain_set_deadline_reaches_every_pending_point() {
    let fc = FenceChains::new(4, seqno_inc);
    fc.fences[2].signal().unwrap();
    fc.tail.set_deadline(1_000);
    for i in [0, 1, 3] {
        assert_eq!(fc.fences[i].deadline(), Some(1_000), "fence {i}");
    }
    assert_eq!(fc.fences[2].deadline(), None);
    // Only an earlier deadline is forwarded.
    fc.tail.set_deadline(5_000);
    assert_eq!(fc.fences[0].deadline(), Some(1_000));
}

#[test]
fn long_chain_drops_without_recursion() {
    let stub = get_stub();
    let mut tail = chain_create(None, stub.clone(), 1);
    let first = tail.clone();
    for seqno in 2..=1_000_000u64 {
        tail = chain_create(Some(tail), stub.clone(), seqno);
    }
    assert_eq!(tail.seqno(), 1_000_000);
    assert_eq!(tail.context(), first.context());
    // The first node is still referenced: the release must stop there.
    drop(tail);
    assert_eq!(first.ref_count(), 1);
    assert!(to_chain(&first).unwrap().prev().is_none());

    // And a long pending timeline, released from a thread with a small stack.
    let pending = mock_fence();
    let handle = thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let mut tail = chain_create(None, pending.clone(), 1);
            for seqno in 2..=1_000_000u64 {
                tail = chain_create(Some(tail), pending.clone(), seqno);
            }
            drop(tail);
            pending.ref_count()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), 1);
}
