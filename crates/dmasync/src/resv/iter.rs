//! Iterating over a reservation object's fences (`struct dma_resv_iter`).
//!
//! * [`UnlockedIter`] needs no lock. It walks a snapshot of the published
//!   list, skipping signalled fences and weaker usages, and hands out its
//!   own reference to each fence. After every step it checks whether a
//!   writer published a new list (reserve_fences growing it, copy_fences);
//!   if so it starts again from the beginning, and the first fence it
//!   returns after (re)starting reports [`UnlockedIter::is_restarted`].
//!   Callers that accumulate results must throw them away then.
//!   In-place overwrites do not restart: the walk sees the old or the new
//!   entry.
//! * [`LockedIter`] borrows a [`ResvGuard`](super::ResvGuard): the list
//!   cannot change, so it returns every entry of the requested usages in
//!   list order, signalled ones included.

use std::sync::Arc;

use super::{List, Resv, Slot, Usage};
use crate::fence::Fence;

/// An unlocked iterator (`dma_resv_iter_first_unlocked` /
/// `dma_resv_iter_next_unlocked`); see the module documentation.
///
/// # Locking
/// Takes no lock and never blocks writers. The fences it returns are owned
/// references, valid after the iterator is gone.
pub struct UnlockedIter<'a> {
    resv: &'a Resv,
    usage: Usage,
    /// The snapshot being walked; `None` before the first step.
    list: Option<Arc<List>>,
    /// Entries of the snapshot when the walk (re)started.
    num: usize,
    index: usize,
    is_restarted: bool,
    fence_usage: Usage,
    /// Test hook: make the next check see a changed list.
    #[cfg(test)]
    force_restart: bool,
}

impl<'a> UnlockedIter<'a> {
    pub(super) fn new(resv: &'a Resv, usage: Usage) -> UnlockedIter<'a> {
        UnlockedIter {
            resv,
            usage,
            list: None,
            num: 0,
            index: 0,
            is_restarted: false,
            fence_usage: usage,
            #[cfg(test)]
            force_restart: false,
        }
    }

    /// Whether the fence last returned is the first after a (re)start
    /// (`dma_resv_iter_is_restarted`).
    #[doc(alias = "dma_resv_iter_is_restarted")]
    pub fn is_restarted(&self) -> bool {
        self.is_restarted
    }

    /// The usage of the fence last returned (`dma_resv_iter_usage`).
    #[doc(alias = "dma_resv_iter_usage")]
    #[allow(clippy::misnamed_getters)]
    pub fn usage(&self) -> Usage {
        self.fence_usage
    }

    /// The number of entries of the snapshot being walked.
    pub(super) fn snapshot_len(&self) -> usize {
        self.num
    }

    /// Makes the next step behave as if a writer had replaced the list
    /// (st-dma-resv.c corrupts `cursor.fences` for this).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn force_restart(&mut self) {
        self.force_restart = true;
    }

    fn changed(&mut self) -> bool {
        #[cfg(test)]
        if std::mem::take(&mut self.force_restart) {
            return true;
        }
        match &self.list {
            None => true,
            Some(l) => !self.resv.list.is(l),
        }
    }

    fn restart(&mut self) {
        let list = self.resv.list.load();
        self.num = list.num();
        self.index = 0;
        self.list = Some(list);
    }

    fn walk(&mut self) -> Option<Fence> {
        let list = self.list.as_ref()?;
        while self.index < self.num {
            let i = self.index;
            self.index += 1;
            let Some(e) = list.get(i) else { continue };
            if e.usage > self.usage || e.fence.is_signaled() {
                continue;
            }
            self.fence_usage = e.usage;
            return Some(e.fence.clone());
        }
        None
    }
}

impl Iterator for UnlockedIter<'_> {
    type Item = Fence;

    fn next(&mut self) -> Option<Fence> {
        let mut restarted = false;
        loop {
            if self.changed() {
                self.restart();
                restarted = true;
            }
            let found = self.walk();
            if self.changed() {
                self.restart();
                restarted = true;
                continue;
            }
            self.is_restarted = restarted;
            return found;
        }
    }
}

/// A locked iterator (`dma_resv_iter_first` / `dma_resv_iter_next`,
/// `dma_resv_for_each_fence`): yields each entry of the requested usages,
/// in list order, signalled ones included, with its usage.
///
/// # Locking
/// Borrows the [`ResvGuard`](super::ResvGuard), so the lock is held for
/// its whole life.
pub struct LockedIter<'g> {
    slots: &'g [Slot],
    usage: Usage,
    index: usize,
    returned: usize,
}

impl<'g> LockedIter<'g> {
    pub(super) fn new(slots: &'g [Slot], usage: Usage) -> LockedIter<'g> {
        LockedIter {
            slots,
            usage,
            index: 0,
            returned: 0,
        }
    }

    /// True only for the first entry (the list cannot change under the
    /// lock).
    pub fn is_restarted(&self) -> bool {
        self.returned == 1
    }
}

impl<'g> Iterator for LockedIter<'g> {
    type Item = (&'g Fence, Usage);

    fn next(&mut self) -> Option<(&'g Fence, Usage)> {
        while let Some(slot) = self.slots.get(self.index) {
            self.index += 1;
            if slot.entry.usage <= self.usage {
                self.returned += 1;
                return Some((&slot.entry.fence, slot.entry.usage));
            }
        }
        None
    }
}
