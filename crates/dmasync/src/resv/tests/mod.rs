//! Tests of the reservation object, named after the kernel selftests they
//! mirror where there is one (drivers/dma-buf/st-dma-resv.c).

#[cfg(not(loom))]
mod add_fence;
#[cfg(loom)]
mod loom_reader_writer;
#[cfg(loom)]
mod loom_ww;
#[cfg(not(loom))]
mod model;
#[cfg(not(loom))]
mod queries;
#[cfg(not(loom))]
mod st_dma_resv;
#[cfg(not(loom))]
mod ww;

use std::sync::Arc;

use crate::fence::{Fence, FenceOps};

/// The selftests' fence source: names only, signalled by hand.
pub(super) struct SelftestOps;

impl FenceOps for SelftestOps {
    fn driver_name(&self) -> &str {
        "selftest"
    }
    fn timeline_name(&self) -> &str {
        "selftest"
    }
}

/// `alloc_fence()` of st-dma-resv.c: context 0, seqno 0.
#[cfg(not(loom))]
pub(super) fn alloc_fence() -> Fence {
    fence(0, 0)
}

/// A pending fence on `context` with `seqno`.
pub(super) fn fence(context: u64, seqno: u64) -> Fence {
    Fence::new(Arc::new(SelftestOps), context, seqno)
}
