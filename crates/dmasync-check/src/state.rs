//! The implicit fences of one buffer, as the scenario runner uses them.
//!
//! [`BufferState`] is the narrow interface the runner needs from a
//! reservation object: add a fence with a usage (reserving a slot first, with
//! the lock held), replace the fences of a context, and read back the pending
//! fences with their usages. It is the model's [`Resv`], used exactly as a
//! driver uses `dma_resv`.

use std::time::Duration;

use dmasync::fence::Fence;
use dmasync::resv::Resv;

pub use dmasync::resv::Usage;

/// The reservation object of one buffer.
///
/// # Locking
/// Every method takes the object's lock (with no acquire context) for its own
/// duration only, or no lock at all for readers; none is held across calls,
/// and none is taken from fence-signalling code.
#[derive(Default)]
pub struct BufferState {
    resv: Resv,
}

impl BufferState {
    /// An empty reservation object.
    pub fn new() -> BufferState {
        BufferState { resv: Resv::new() }
    }

    /// The reservation object itself.
    pub fn resv(&self) -> &Resv {
        &self.resv
    }

    /// Adds `fence` with `usage` (`dma_resv_reserve_fences` then
    /// `dma_resv_add_fence`, under the lock).
    ///
    /// # Errors
    /// Those of locking and reserving ([`dmasync::Error`]); the fence is then
    /// not added.
    pub fn add_fence(&self, fence: &Fence, usage: Usage) -> dmasync::error::Result<()> {
        let mut g = self.resv.lock(None)?;
        g.reserve_fences(1)?;
        g.add_fence(fence.clone(), usage)
    }

    /// Replaces every fence of `context` by `replacement` with `usage`
    /// (`dma_resv_replace_fences`, under the lock).
    ///
    /// # Errors
    /// Those of locking, and [`dmasync::Error::Invalid`] for a container.
    pub fn replace_fences(
        &self,
        context: u64,
        replacement: &Fence,
        usage: Usage,
    ) -> dmasync::error::Result<()> {
        let mut g = self.resv.lock(None)?;
        g.replace_fences(context, replacement, usage)
    }

    /// The pending fences with their usages, in the object's order, from one
    /// consistent unlocked snapshot.
    pub fn pending(&self) -> Vec<(Fence, Usage)> {
        let mut it = self.resv.iter_unlocked(Usage::Bookkeep);
        let mut out = Vec::new();
        while let Some(f) = it.next() {
            if it.is_restarted() {
                out.clear();
            }
            out.push((f, it.usage()));
        }
        out
    }

    /// The pending fences a query for `usage` returns (`dma_resv_get_fences`).
    pub fn get_fences(&self, usage: Usage) -> Vec<Fence> {
        self.resv.get_fences(usage)
    }

    /// Waits for every fence a query for `usage` returns, up to `timeout` in
    /// all (`dma_resv_wait_timeout`). Returns whether they all signalled.
    pub fn wait(&self, usage: Usage, timeout: Duration) -> bool {
        self.resv.wait_timeout(usage, Some(timeout), None).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use dmasync::fence::array::array_create;
    use dmasync::fence::{context_alloc, Fence};

    use super::*;
    use crate::engine::EngineOps;

    fn fence(ctx: u64, seqno: u64) -> Fence {
        Fence::new(Arc::new(EngineOps::new("t")), ctx, seqno)
    }

    #[test]
    fn pending_gives_each_unsignalled_fence_with_its_usage() {
        let b = BufferState::new();
        let (c1, c2) = (context_alloc(1), context_alloc(1));
        let (w, r, done) = (fence(c1, 1), fence(c2, 1), fence(context_alloc(1), 1));
        b.add_fence(&w, Usage::Write).unwrap();
        b.add_fence(&r, Usage::Read).unwrap();
        b.add_fence(&done, Usage::Kernel).unwrap();
        done.signal().unwrap();
        let p = b.pending();
        assert_eq!(p.len(), 2);
        assert!(p[0].0.ptr_eq(&w) && p[0].1 == Usage::Write);
        assert!(p[1].0.ptr_eq(&r) && p[1].1 == Usage::Read);
        assert_eq!(b.get_fences(Usage::Write).len(), 1);
        assert!(!b.wait(Usage::Write, std::time::Duration::ZERO));
        w.signal().unwrap();
        assert!(b.wait(Usage::Write, std::time::Duration::ZERO));
    }

    #[test]
    fn replace_fences_swaps_a_context_and_refuses_containers() {
        let b = BufferState::new();
        let c1 = context_alloc(1);
        let old = fence(c1, 1);
        b.add_fence(&old, Usage::Write).unwrap();
        let new = fence(context_alloc(1), 1);
        b.replace_fences(c1, &new, Usage::Write).unwrap();
        let p = b.pending();
        assert_eq!(p.len(), 1);
        assert!(p[0].0.ptr_eq(&new));
        let arr = array_create(
            vec![fence(context_alloc(1), 1), fence(context_alloc(1), 1)],
            context_alloc(1),
            1,
            false,
        )
        .unwrap();
        assert_eq!(
            b.replace_fences(new.context(), &arr, Usage::Write)
                .unwrap_err()
                .errno(),
            22
        );
    }
}
