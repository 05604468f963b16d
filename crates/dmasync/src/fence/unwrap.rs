//! Iterating over the leaves of container fences
//! (drivers/dma-buf/dma-fence-unwrap.c, include/linux/dma-fence-unwrap.h,
//! Linux 6.12).
//!
//! A fence may be a chain of nodes whose contained fences may be arrays.
//! [`unwrap`] visits the *leaves*: the members of each array, or the
//! contained fence itself when it is not an array, node after node along
//! [`chain_walk`]. A plain fence is its own only leaf.
//!
//! Signalled leaves are visited when they are array members or belong to the
//! head node; nodes further down whose contained fence has signalled are
//! skipped (and unlinked: the walk collects them).

use super::array::{is_array, to_array};
use super::chain::{chain_contained, chain_walk, is_chain, to_chain};
use super::Fence;

/// Whether `f` is a container (an array or a chain node): the fences that
/// must not be nested in arrays or stored in reservation objects.
#[doc(alias = "dma_fence_is_container")]
pub fn is_container(f: &Fence) -> bool {
    is_array(f) || is_chain(f)
}

/// The leaves of `head` as a borrowed slice when no chain walk is needed:
/// the members of an array, or `head` itself when it is a plain fence.
/// `None` for a chain node, whose leaves only [`unwrap`] or
/// [`for_each_leaf`] can visit. Takes no reference and no lock.
pub(crate) fn leaf_slice(head: &Fence) -> Option<&[Fence]> {
    if let Some(a) = to_array(head) {
        return Some(a.fences());
    }
    if is_chain(head) {
        return None;
    }
    Some(std::slice::from_ref(head))
}

/// Calls `visit` on each leaf of `head`, in [`unwrap`]'s order, lending the
/// leaves instead of handing out new references. Only the walk of a chain
/// takes references (to its nodes), with [`unwrap`]'s side effects (garbage
/// collection of signalled links). Takes no lock across steps.
pub(crate) fn for_each_leaf(head: &Fence, mut visit: impl FnMut(&Fence)) {
    fn contained(f: &Fence, visit: &mut impl FnMut(&Fence)) -> bool {
        match to_array(f) {
            // An empty array ends the walk, as it does for `Unwrap`.
            Some(a) => {
                a.fences().iter().for_each(&mut *visit);
                !a.fences().is_empty()
            }
            None => {
                visit(f);
                true
            }
        }
    }
    if let Some(leaves) = leaf_slice(head) {
        leaves.iter().for_each(visit);
        return;
    }
    let mut node = Some(head.clone());
    while let Some(n) = node {
        let more = match to_chain(&n) {
            Some(c) => contained(c.fence(), &mut visit),
            None => contained(&n, &mut visit),
        };
        if !more {
            return;
        }
        node = chain_walk(n);
    }
}

/// An iterator over the leaves of `head`: the kernel's
/// `dma_fence_unwrap_for_each`. Yields new references.
///
/// The iterator holds a reference to the current chain node and its
/// contained fence; stepping past a node walks the chain, which may collect
/// signalled links and signal fences found complete by their peek. It takes
/// no lock across steps.
#[doc(alias = "dma_fence_unwrap_first")]
#[doc(alias = "dma_fence_unwrap_for_each")]
pub fn unwrap(head: &Fence) -> Unwrap {
    Unwrap {
        chain: Some(head.clone()),
        array: None,
        index: 0,
        state: State::Start,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Running,
    Done,
}

/// The cursor of [`unwrap`] (the kernel's `struct dma_fence_unwrap`).
#[derive(Debug)]
pub struct Unwrap {
    /// The current chain node (or the plain head).
    chain: Option<Fence>,
    /// The fence contained in `chain`: an array or a leaf.
    array: Option<Fence>,
    /// The position in `array`.
    index: usize,
    state: State,
}

impl Unwrap {
    /// Starts on the fence contained in the current node.
    fn enter(&mut self) -> Option<Fence> {
        let Some(chain) = self.chain.as_ref() else {
            self.array = None;
            self.state = State::Done;
            return None;
        };
        let contained = chain_contained(chain);
        self.index = 0;
        let first = match to_array(&contained) {
            Some(a) => a.fences().first().cloned(),
            None => Some(contained.clone()),
        };
        self.array = Some(contained);
        if first.is_none() {
            self.state = State::Done;
        }
        first
    }
}

impl Iterator for Unwrap {
    type Item = Fence;

    #[doc(alias = "dma_fence_unwrap_next")]
    fn next(&mut self) -> Option<Fence> {
        match self.state {
            State::Done => return None,
            State::Start => {
                self.state = State::Running;
                return self.enter();
            }
            State::Running => {}
        }
        self.index += 1;
        let member = self
            .array
            .as_ref()
            .and_then(to_array)
            .and_then(|a| a.fences().get(self.index).cloned());
        if member.is_some() {
            return member;
        }
        let chain = self.chain.take();
        self.chain = chain.and_then(chain_walk);
        self.enter()
    }
}

impl std::iter::FusedIterator for Unwrap {}
