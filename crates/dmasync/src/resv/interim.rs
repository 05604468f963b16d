//! Stand-ins, with the same signatures, for `fence::unwrap::{unwrap,
//! is_container}` and `fence::array::array_create`, which are written in
//! parallel on the main line. At merge, main's functions replace these and
//! this file goes away; until then every fence is treated as a leaf, and a
//! minimal "signal when all (or any) signal" array stands in for
//! `dma_fence_array`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::Result;
use crate::fence::{Fence, FenceOps};

/// The leaves of `head`: here, `head` itself.
pub(crate) fn unwrap(head: &Fence) -> impl Iterator<Item = Fence> {
    std::iter::once(head.clone())
}

/// Whether `f` is a container fence: here, never.
pub(crate) fn is_container(f: &Fence) -> bool {
    let _ = f;
    false
}

struct ArrayOps {
    fences: Vec<Fence>,
    signal_on_any: bool,
    pending: Arc<AtomicUsize>,
}

impl FenceOps for ArrayOps {
    fn driver_name(&self) -> &str {
        "dma_fence_array"
    }

    fn timeline_name(&self) -> &str {
        "unbound"
    }

    fn enable_signaling(&self, fence: &Fence) -> bool {
        if self.fences.is_empty() {
            return false;
        }
        for f in &self.fences {
            let array = fence.clone();
            let pending = self.pending.clone();
            let any = self.signal_on_any;
            let done = move |child: &Fence| {
                if child.error() != 0 {
                    let _ = array.set_error(child.error());
                }
                if any || pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                    let _ = array.signal();
                }
            };
            if f.add_callback(done).is_err() {
                if f.error() != 0 {
                    let _ = fence.set_error(f.error());
                }
                if self.signal_on_any || self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                    return false;
                }
            }
        }
        true
    }

    fn signaled(&self, _fence: &Fence) -> bool {
        if self.signal_on_any {
            self.fences.iter().any(Fence::test_signaled_flag)
        } else {
            self.fences.iter().all(Fence::test_signaled_flag)
        }
    }
}

/// A fence that signals when all of `fences` have (or any, with
/// `signal_on_any`).
pub(crate) fn array_create(
    fences: Vec<Fence>,
    context: u64,
    seqno: u64,
    signal_on_any: bool,
) -> Result<Fence> {
    let pending = Arc::new(AtomicUsize::new(fences.len()));
    let ops = ArrayOps {
        fences,
        signal_on_any,
        pending,
    };
    Ok(Fence::new(Arc::new(ops), context, seqno))
}
