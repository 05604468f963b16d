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

use super::array::new_array;
use super::unwrap::{is_container, unwrap};
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
    let mut kept: Vec<Fence> = Vec::with_capacity(fences.len());
    for f in fences.drain(..) {
        match kept.last_mut() {
            Some(last) if last.context() == f.context() => {
                if f.is_later(last) {
                    *last = f;
                }
            }
            _ => kept.push(f),
        }
    }
    *fences = kept;
}

/// The timestamp of a signalled fence (the kernel's `dma_fence_timestamp`,
/// which reads the clock if the timestamp is not yet published).
fn timestamp_of(f: &Fence) -> u64 {
    f.timestamp().unwrap_or_else(monotonic_ns)
}

/// Visits the leaves of every input, flattening any container that shows
/// up as a leaf (a chain nested in a chain).
fn for_each_leaf(fences: &[Fence], mut visit: impl FnMut(Fence)) {
    let mut stack: Vec<Fence> = fences.iter().rev().cloned().collect();
    while let Some(head) = stack.pop() {
        let mut nested = Vec::new();
        for leaf in unwrap(&head) {
            if is_container(&leaf) && !leaf.ptr_eq(&head) {
                nested.push(leaf);
            } else {
                visit(leaf);
            }
        }
        stack.extend(nested.into_iter().rev());
    }
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
    let mut timestamp = 0u64;
    let mut count = 0usize;
    let mut pending = None;
    for_each_leaf(fences, |leaf| {
        if leaf.is_signaled() {
            timestamp = timestamp.max(timestamp_of(&leaf));
        } else {
            count += 1;
            pending = Some(leaf);
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
            timestamp = timestamp.max(timestamp_of(&leaf));
        } else {
            array.push(leaf);
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
