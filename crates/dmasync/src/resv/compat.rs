//! The pre-5.19 exclusive/shared view as a thin layer over usages
//! (dma-resv.h of Linux 5.18 and older): **exclusive = KERNEL + WRITE**,
//! **shared = READ**. Unlike the old kernel, adding an exclusive fence
//! drops nothing and needs a reserved slot, as after the 5.19 conversion.

use std::time::Duration;

use super::{Resv, ResvGuard, Usage};
use crate::error::Result;
use crate::fence::{Fence, Interrupt};

impl Resv {
    /// The unsignalled exclusive fences (KERNEL and WRITE) and shared
    /// fences (READ), from one snapshot (the old `dma_resv_get_fences`
    /// with an `excl` out-pointer). Takes no lock.
    #[doc(alias = "dma_resv_get_fences_rcu")]
    pub fn get_fences_compat(&self) -> (Vec<Fence>, Vec<Fence>) {
        let mut it = self.iter_unlocked(Usage::Read);
        let (mut excl, mut shared) = (Vec::new(), Vec::new());
        while let Some(f) = it.next() {
            if it.is_restarted() {
                excl.clear();
                shared.clear();
            }
            if it.usage() <= Usage::Write {
                excl.push(f);
            } else {
                shared.push(f);
            }
        }
        (excl, shared)
    }

    /// One fence for the exclusive fences (`dma_resv_get_excl_unlocked`):
    /// [`Resv::get_singleton`] with [`Usage::Write`].
    ///
    /// # Errors
    /// As [`Resv::get_singleton`].
    #[doc(alias = "dma_resv_get_excl_unlocked")]
    pub fn get_excl_unlocked(&self) -> Result<Option<Fence>> {
        self.get_singleton(Usage::Write)
    }

    /// The old `dma_resv_test_signaled(obj, test_all)`: WRITE usage, or
    /// READ with `test_all`.
    pub fn test_signaled_compat(&self, test_all: bool) -> bool {
        self.test_signaled(Usage::rw(test_all))
    }

    /// The old `dma_resv_wait_timeout(obj, wait_all, intr, timeout)`.
    ///
    /// # Errors
    /// As [`Resv::wait_timeout`].
    pub fn wait_timeout_compat(
        &self,
        wait_all: bool,
        timeout: Option<Duration>,
        intr: Option<&Interrupt>,
    ) -> Result<Option<Duration>> {
        self.wait_timeout(Usage::rw(wait_all), timeout, intr)
    }
}

impl ResvGuard<'_> {
    /// The old `dma_resv_reserve_shared`: [`ResvGuard::reserve_fences`].
    ///
    /// # Errors
    /// As [`ResvGuard::reserve_fences`].
    #[doc(alias = "dma_resv_reserve_shared")]
    pub fn reserve_shared(&mut self, num: usize) -> Result<()> {
        self.reserve_fences(num)
    }

    /// The old `dma_resv_add_shared_fence`: a READ fence.
    ///
    /// # Errors
    /// As [`ResvGuard::add_fence`].
    #[doc(alias = "dma_resv_add_shared_fence")]
    pub fn add_shared_fence(&mut self, fence: Fence) -> Result<()> {
        self.add_fence(fence, Usage::Read)
    }

    /// The old `dma_resv_add_excl_fence`: a WRITE fence. It no longer drops
    /// the shared fences and needs a reserved slot.
    ///
    /// # Errors
    /// As [`ResvGuard::add_fence`].
    #[doc(alias = "dma_resv_add_excl_fence")]
    pub fn add_excl_fence(&mut self, fence: Fence) -> Result<()> {
        self.add_fence(fence, Usage::Write)
    }
}
