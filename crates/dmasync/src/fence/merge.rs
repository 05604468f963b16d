//! The canonical merge of fences: the kernel's `dma_fence_unwrap_merge`
//! (drivers/dma-buf/dma-fence-unwrap.c, Linux 6.12 with its stable fixes),
//! used by `SYNC_IOC_MERGE`, syncobj transfers and drivers.
//!
//! # Result
//!
//! The inputs are unwrapped to their leaves and the pending ones kept:
//!
//! * no pending leaf: a new private stub fence (signalled, context 0,
//!   seqno 0, status 1) whose timestamp is the newest timestamp of the
//!   signalled leaves seen. Errors of signalled leaves are lost;
//! * exactly one pending leaf: that fence itself;
//! * otherwise the pending leaves sorted by context ascending, one per
//!   context (the latest), and then: one left, that fence; more, a new
//!   array with a fresh context, seqno 1, signalling when all have.
//!
//! The result is never a chain and never contains containers: a chain
//! wrongly nested in a chain (which the kernel warns about) is flattened too.

use super::array::is_array;
use super::array::new_array;
use super::unwrap::{self, is_container, leaf_slice};
use super::{allocate_private_stub, context_alloc, monotonic_ns, Fence};

/// Sorts `fences` by context ascending, the latest of each context first,
/// and keeps only that first fence of each context: the kernel's
/// `dma_fence_dedup_array`.
///
/// "Latest" is [`Fence::is_later`] (64-bit or 32-bit wrap-around per the
/// fence). Among fences of one context with equal seqnos the earliest in
/// `fences` is kept. Wrap-around comparison is not a total order, so the
/// latest of a context is chosen by a scan rather than by a sort, and
/// malformed input cannot make it panic. Dropped references are released
/// before returning. Takes no lock.
#[doc(alias = "dma_fence_dedup_array")]
pub fn dedup_array(fences: &mut Vec<Fence>) {
    fences.sort_by_key(Fence::context);
    // In place: `..kept` holds the fence kept for each context so far,
    // `kept..next` the ones set aside, `next..` those still to look at.
    let mut kept = 0;
    for next in 0..fences.len() {
        if kept > 0 && fences[kept - 1].context() == fences[next].context() {
            if fences[next].is_later(&fences[kept - 1]) {
                fences.swap(kept - 1, next);
            }
        } else {
            fences.swap(kept, next);
            kept += 1;
        }
    }
    fences.truncate(kept);
}

/// The timestamp of a signalled fence (the kernel's `dma_fence_timestamp`,
/// which reads the clock if the timestamp is not yet published).
fn timestamp_of(f: &Fence) -> u64 {
    f.timestamp().unwrap_or_else(monotonic_ns)
}

/// Visits the leaves of every input, flattening any container that shows
/// up as a leaf (a chain nested in a chain) right after the walk that
/// found it. Leaves are lent; only nested containers are referenced.
fn for_each_leaf<'f>(fences: impl IntoIterator<Item = &'f Fence>, mut visit: impl FnMut(&Fence)) {
    let mut stack: Vec<Fence> = Vec::new();
    let mut nested: Vec<Fence> = Vec::new();
    for head in fences {
        walk(head, &mut nested, &mut visit);
        if nested.is_empty() {
            continue;
        }
        stack.extend(nested.drain(..).rev());
        while let Some(head) = stack.pop() {
            walk(&head, &mut nested, &mut visit);
            stack.extend(nested.drain(..).rev());
        }
    }
}

/// Visits the leaves of `head`, setting aside the containers among them.
fn walk(head: &Fence, nested: &mut Vec<Fence>, visit: &mut impl FnMut(&Fence)) {
    // Array members are never containers, and a plain fence is its own
    // leaf: only a chain's leaves need checking.
    if let Some(leaves) = leaf_slice(head) {
        debug_assert!(is_array(head) || !is_container(head));
        leaves.iter().for_each(visit);
        return;
    }
    unwrap::for_each_leaf(head, |leaf| {
        if is_container(leaf) && !leaf.ptr_eq(head) {
            nested.push(leaf.clone());
        } else {
            visit(leaf);
        }
    });
}

/// Merges `fences` into one fence that signals when all of their pending
/// leaves have: the kernel's `dma_fence_unwrap_merge` (see the module
/// documentation for the exact result).
///
/// Every input stays valid and unchanged (apart from the garbage collection
/// of signalled chain links). An empty `fences` gives a stub with
/// timestamp 0. Takes no lock across calls into the inputs; may signal
/// leaves found complete by their peek.
#[doc(alias = "dma_fence_unwrap_merge")]
#[doc(alias = "__dma_fence_unwrap_merge")]
pub fn unwrap_merge(fences: &[Fence]) -> Fence {
    merge_refs(fences)
}

/// [`unwrap_merge`] of lent fences.
pub(crate) fn merge_refs<'f, I>(fences: I) -> Fence
where
    I: IntoIterator<Item = &'f Fence> + Copy,
{
    let mut timestamp = 0u64;
    let mut count = 0usize;
    let mut pending = None;
    for_each_leaf(fences, |leaf| {
        if leaf.is_signaled() {
            timestamp = timestamp.max(timestamp_of(leaf));
        } else {
            count += 1;
            // Only needed when it stays the only one.
            if count == 1 {
                pending = Some(leaf.clone());
            }
        }
    });
    match (count, pending) {
        (0, _) | (_, None) => return allocate_private_stub(timestamp),
        (1, Some(only)) => return only,
        _ => {}
    }

    // Leaves may have signalled since: collect again.
    let mut array = Vec::with_capacity(count);
    for_each_leaf(fences, |leaf| {
        if leaf.is_signaled() {
            timestamp = timestamp.max(timestamp_of(leaf));
        } else {
            array.push(leaf.clone());
        }
    });
    dedup_array(&mut array);
    match array.len() {
        0 => allocate_private_stub(timestamp),
        1 => array
            .pop()
            .unwrap_or_else(|| allocate_private_stub(timestamp)),
        _ => new_array(array, context_alloc(1), 1, false),
    }
}
