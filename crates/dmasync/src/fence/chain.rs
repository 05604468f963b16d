//! `dma_fence_chain`: timeline points as a linked list of fences
//! (drivers/dma-buf/dma-fence-chain.c, include/linux/dma-fence-chain.h,
//! Linux 6.12).
//!
//! # Links
//!
//! A chain *node* (a *link*) is a fence with 64-bit seqnos (driver
//! `"dma_fence_chain"`, timeline `"unbound"`) made of:
//!
//! * `fence`: the *contained* fence, the work of this point (a plain fence
//!   or an array; never a chain);
//! * `prev`: the previous node, or any plain fence, or nothing;
//! * `seqno`: the point on the timeline this node stands for;
//! * `prev_seqno`: the seqno of `prev` at creation when the node continues
//!   `prev`'s timeline, else 0. It keeps that value even after `prev` was
//!   garbage-collected, so a node covers the points `(prev_seqno, seqno]`.
//!
//! A node is signalled when its contained fence and every fence reachable
//! through `prev` have signalled. It never carries the contained fence's
//! error: a chain's status is 1 once complete.
//!
//! # Contexts
//!
//! [`chain_create`] reuses the context of `prev` when `prev` is a chain node
//! and the new seqno is later (64-bit compare); otherwise the node gets a
//! fresh context, and its seqno is raised to `prev`'s if `prev` is a chain
//! (so a node's seqno never goes backwards from its predecessor's).
//!
//! # Garbage collection
//!
//! [`chain_walk`] moves from a node to the first predecessor that still
//! matters: a node whose *contained* fence is pending, or a pending plain
//! fence. On the way it unlinks every predecessor node whose contained fence
//! has signalled, by swinging `prev` to that node's own `prev` (or to
//! nothing, past a signalled plain fence) with a compare-and-swap: if
//! another walker changed `prev` first, the swap fails and the loop reloads.
//! Nodes are skipped even if older points keep them incomplete: point 2 of
//! `1 <- 2 <- 3` with 2's work done but 1's pending is represented by node 1
//! from then on, which is correct because point 2 is not complete before 1.
//!
//! # Finding a point
//!
//! [`find_seqno`] returns the oldest still-pending node whose range covers
//! a point, the first node of another context (a timeline continued out of
//! order), or `None` when every older point has signalled and been
//! collected. It fails with [`Error::Invalid`] when the head is not a chain
//! or the point lies beyond the head (not submitted yet).
//!
//! # Locking and lifetime
//!
//! `prev` is a `crate::sync::Mutex<Option<Fence>>` (chosen over
//! `ArcSwapOption` so that the loom build models it). It is held only to
//! clone, compare or exchange the reference, never while calling into a
//! fence: references taken out of it are dropped after the lock is released,
//! because dropping a fence may signal it and run callbacks.
//!
//! Enabling signalling on a node queues one callback on the first pending
//! contained fence along the walk; the callback holds a reference to the
//! node, re-runs the search when it fires, and re-arms on the next pending
//! fence or signals the node when none remain. The core runs callbacks with
//! no lock held, so this needs no deferred work.
//!
//! Dropping a node releases its predecessors iteratively, so a timeline of
//! any length is freed without deep recursion.

use std::sync::Arc;

use super::{context_alloc, Fence, FenceOps};
use crate::error::{Error, Result};
use crate::sync::Mutex;

/// The source of a chain node: its link to the previous point and the
/// contained fence.
///
/// Obtained from a node with [`to_chain`]. `prev` is behind a short-lived
/// mutex (see the module documentation); everything else is immutable.
#[doc(alias = "dma_fence_chain")]
pub struct FenceChain {
    /// The previous node or fence; rewritten by garbage collection.
    prev: Mutex<Option<Fence>>,
    /// Immutable.
    prev_seqno: u64,
    /// The contained fence; immutable.
    fence: Fence,
}

impl FenceChain {
    /// The contained fence (the work of this point). It lives as long as
    /// the node.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// A new reference to the current predecessor (which garbage collection
    /// may since have replaced by an older one), or `None` at the start of
    /// the timeline or once every predecessor has signalled and been
    /// collected. Takes the `prev` lock briefly.
    #[doc(alias = "dma_fence_chain_get_prev")]
    pub fn prev(&self) -> Option<Fence> {
        self.prev.lock().clone()
    }

    /// The seqno of the predecessor when this node was created, if it
    /// continued that predecessor's timeline; 0 otherwise.
    pub fn prev_seqno(&self) -> u64 {
        self.prev_seqno
    }

    /// Replaces `prev` with `replacement` if it still is `expected`
    /// (the kernel's `cmpxchg`). Both the old value and a refused
    /// replacement are dropped after the lock is released.
    fn swap_prev(&self, expected: &Fence, replacement: Option<Fence>) {
        let old = {
            let mut prev = self.prev.lock();
            if prev.as_ref().is_some_and(|p| p.ptr_eq(expected)) {
                std::mem::replace(&mut *prev, replacement)
            } else {
                replacement
            }
        };
        drop(old);
    }
}

impl FenceOps for FenceChain {
    fn driver_name(&self) -> &str {
        "dma_fence_chain"
    }

    fn timeline_name(&self) -> &str {
        "unbound"
    }

    /// Queues a callback on the first pending contained fence along the
    /// walk; `false` when every one has signalled.
    fn enable_signaling(&self, fence: &Fence) -> bool {
        arm(fence)
    }

    /// Whether every contained fence along the walk has signalled.
    fn signaled(&self, fence: &Fence) -> bool {
        chain_iter(fence).all(|f| chain_contained(&f).is_signaled())
    }

    /// Forwards the deadline to every contained fence along the walk.
    fn set_deadline(&self, fence: &Fence, deadline_ns: u64) {
        for f in chain_iter(fence) {
            chain_contained(&f).set_deadline(deadline_ns);
        }
    }
}

impl Drop for FenceChain {
    /// Releases the predecessors this node held the last reference to one
    /// by one, each after taking its own `prev` out, so that freeing a long
    /// timeline does not recurse once per node.
    fn drop(&mut self) {
        let mut next = self.prev.lock().take();
        while let Some(f) = next {
            next = None;
            // Nobody else can obtain a reference we hold the only one of.
            if f.ref_count() == 1 {
                if let Some(c) = to_chain(&f) {
                    next = c.prev.lock().take();
                }
            }
            drop(f);
        }
    }
}

/// Queues the re-arming callback of `head` on the first pending contained
/// fence along its walk. Returns whether one was queued.
fn arm(head: &Fence) -> bool {
    for f in chain_iter(head) {
        let node = head.clone();
        let queued = chain_contained(&f).add_callback(move |_| {
            if !arm(&node) {
                let _ = node.signal();
            }
        });
        if queued.is_ok() {
            return true;
        }
    }
    false
}

/// Creates a chain node: the kernel's `dma_fence_chain_init` on a freshly
/// allocated node.
///
/// The node takes over the references `prev` and `fence`. If `prev` is a
/// chain node and `seqno` is later than its seqno, the node continues its
/// timeline (same context, `prev_seqno` = `prev.seqno()`); otherwise it gets
/// a fresh context, and if `prev` is a chain its seqno is raised to at
/// least `prev.seqno()`.
///
/// `fence` should not be a chain: the kernel warns and goes on, and so does
/// this function (the inner chain is then treated as a leaf by
/// [`chain_contained`]; [`unwrap_merge`](super::merge::unwrap_merge) flattens
/// it).
///
/// Takes no lock of the inputs and does not enable signalling.
#[doc(alias = "dma_fence_chain_init")]
#[doc(alias = "dma_fence_chain_alloc")]
pub fn chain_create(prev: Option<Fence>, fence: Fence, seqno: u64) -> Fence {
    let prev_chain_seqno = prev.as_ref().filter(|p| is_chain(p)).map(Fence::seqno);
    let (context, seqno, prev_seqno) = match (prev.as_ref(), prev_chain_seqno) {
        (Some(p), Some(ps)) if seqno > ps => (p.context(), seqno, ps),
        (_, Some(ps)) => (context_alloc(1), seqno.max(ps), 0),
        (_, None) => (context_alloc(1), seqno, 0),
    };
    let ops = FenceChain {
        prev: Mutex::new(prev),
        prev_seqno,
        fence,
    };
    Fence::new64(Arc::new(ops), context, seqno)
}

/// The chain node behind `f`, or `None` if `f` is not a chain node. The
/// reference borrows `f`.
#[doc(alias = "to_dma_fence_chain")]
pub fn to_chain(f: &Fence) -> Option<&FenceChain> {
    f.ops_as::<FenceChain>()
}

/// Whether `f` is a chain node.
#[doc(alias = "dma_fence_is_chain")]
pub fn is_chain(f: &Fence) -> bool {
    to_chain(f).is_some()
}

/// A new reference to the fence contained in `f` if it is a chain node, or
/// to `f` itself otherwise.
#[doc(alias = "dma_fence_chain_contained")]
pub fn chain_contained(f: &Fence) -> Fence {
    match to_chain(f) {
        Some(c) => c.fence.clone(),
        None => f.clone(),
    }
}

/// Steps from the chain node `f` to the first predecessor that still
/// matters, collecting signalled links on the way (see the module
/// documentation): the kernel's `dma_fence_chain_walk`.
///
/// Consumes `f`. Returns `None` if `f` is not a chain node, or when no
/// pending predecessor remains. Takes each node's `prev` lock only briefly;
/// may signal fences found complete by their peek (running their callbacks
/// on this thread).
#[doc(alias = "dma_fence_chain_walk")]
pub fn chain_walk(f: Fence) -> Option<Fence> {
    let chain = to_chain(&f)?;
    loop {
        let prev = chain.prev()?;
        let replacement = match to_chain(&prev) {
            Some(pc) => {
                if !pc.fence.is_signaled() {
                    return Some(prev);
                }
                pc.prev()
            }
            None => {
                if !prev.is_signaled() {
                    return Some(prev);
                }
                None
            }
        };
        chain.swap_prev(&prev, replacement);
    }
}

/// Iterates over a timeline: `head` first (whatever its state), then each
/// [`chain_walk`] result. Yields new references.
#[doc(alias = "dma_fence_chain_for_each")]
pub fn chain_iter(head: &Fence) -> ChainIter {
    ChainIter {
        cur: Some(head.clone()),
        started: false,
    }
}

/// The iterator of [`chain_iter`]. It holds a reference to the current
/// element; each step may collect signalled links.
#[derive(Debug)]
pub struct ChainIter {
    cur: Option<Fence>,
    started: bool,
}

impl Iterator for ChainIter {
    type Item = Fence;

    fn next(&mut self) -> Option<Fence> {
        if self.started {
            let cur = self.cur.take()?;
            self.cur = chain_walk(cur);
        }
        self.started = true;
        self.cur.clone()
    }
}

impl std::iter::FusedIterator for ChainIter {}

/// Finds the node that signals point `seqno` of the timeline whose newest
/// node is `head`: the kernel's `dma_fence_chain_find_seqno`.
///
/// * `seqno == 0`: `Ok(Some(head))` (the current fence, binary semantics).
/// * Otherwise walks from `head` and returns the first element of another
///   context, or whose `prev_seqno` is below `seqno` (the oldest pending node
///   covering the point). `Ok(None)` means the walk ran off the end: the
///   point and every older one have signalled and been collected.
///
/// Collects signalled links on the way (see [`chain_walk`]).
///
/// # Errors
/// [`Error::Invalid`] (`-EINVAL`) when `seqno != 0` and `head` is not a chain
/// node, or `head.seqno() < seqno` (the point is not submitted yet).
#[doc(alias = "dma_fence_chain_find_seqno")]
pub fn find_seqno(head: &Fence, seqno: u64) -> Result<Option<Fence>> {
    if seqno == 0 {
        return Ok(Some(head.clone()));
    }
    if !is_chain(head) {
        return Err(Error::Invalid("not a fence chain"));
    }
    if head.seqno() < seqno {
        return Err(Error::Invalid("timeline point not submitted yet"));
    }
    Ok(chain_iter(head).find(|f| {
        // A plain fence never shares a chain's context unless a caller made
        // one up; stop there rather than read a prev_seqno it does not have.
        f.context() != head.context() || to_chain(f).map_or(true, |c| c.prev_seqno < seqno)
    }))
}

/// Loom models (`RUSTFLAGS="--cfg loom"`): two walkers collecting the same
/// links, a walk racing a signal, and enabling racing the contained fences.
#[cfg(all(test, loom))]
mod loom_models {
    use ::loom::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Mock;

    impl FenceOps for Mock {
        fn driver_name(&self) -> &str {
            "mock"
        }
        fn timeline_name(&self) -> &str {
            "mock"
        }
    }

    /// Three points: their contained fences and nodes, oldest first.
    fn timeline() -> (Vec<Fence>, Vec<Fence>) {
        let fences: Vec<Fence> = (0..3)
            .map(|i| Fence::new(Arc::new(Mock), 100 + i, 1))
            .collect();
        let mut nodes: Vec<Fence> = Vec::new();
        for (i, f) in fences.iter().enumerate() {
            nodes.push(chain_create(nodes.last().cloned(), f.clone(), i as u64 + 1));
        }
        (fences, nodes)
    }

    #[test]
    fn loom_chain_two_walkers_collect() {
        ::loom::model(|| {
            let (fences, nodes) = timeline();
            fences[1].signal().unwrap();
            let tail = nodes[2].clone();
            let t = ::loom::thread::spawn(move || chain_walk(tail));
            let mine = chain_walk(nodes[2].clone());
            let theirs = t.join().unwrap();
            assert!(mine.is_some_and(|f| f.ptr_eq(&nodes[0])));
            assert!(theirs.is_some_and(|f| f.ptr_eq(&nodes[0])));
            let prev = to_chain(&nodes[2]).unwrap().prev();
            assert!(prev.is_some_and(|p| p.ptr_eq(&nodes[0])));
        });
    }

    #[test]
    fn loom_chain_find_races_signal() {
        ::loom::model(|| {
            let (fences, nodes) = timeline();
            let f1 = fences[1].clone();
            let tail = nodes[2].clone();
            // The signalling thread also collects, so that the two threads
            // meet on the links' locks as well as on the fence's state.
            let t = ::loom::thread::spawn(move || {
                f1.signal().unwrap();
                chain_walk(tail)
            });
            let found = find_seqno(&nodes[2], 2).unwrap().expect("point 1 pending");
            assert!(found.ptr_eq(&nodes[1]) || found.ptr_eq(&nodes[0]));
            let walked = t.join().unwrap();
            assert!(walked.is_some_and(|f| f.ptr_eq(&nodes[0])));
            let next = chain_walk(nodes[2].clone());
            assert!(next.is_some_and(|f| f.ptr_eq(&nodes[0])));
        });
    }

    #[test]
    fn loom_chain_enable_races_signals() {
        ::loom::model(|| {
            let (fences, nodes) = timeline();
            fences[2].signal().unwrap();
            let (f0, f1) = (fences[0].clone(), fences[1].clone());
            let t = ::loom::thread::spawn(move || {
                f1.signal().unwrap();
                f0.signal().unwrap();
            });
            let hits = ::loom::sync::Arc::new(AtomicUsize::new(0));
            let h = hits.clone();
            let queued = nodes[2]
                .add_callback(move |_| {
                    h.fetch_add(1, Ordering::SeqCst);
                })
                .is_ok();
            t.join().unwrap();
            assert!(nodes[2].test_signaled_flag());
            assert_eq!(hits.load(Ordering::SeqCst), usize::from(queued));
            assert_eq!(nodes[2].status(), 1);
        });
    }
}
