//! The stub fences (`dma_fence_get_stub`, `dma_fence_allocate_private_stub`):
//! always signalled, context 0, seqno 0, driver and timeline `"stub"`.

use std::sync::{Arc, OnceLock};

use super::{monotonic_ns, Fence, FenceOps, ENABLE_SIGNAL};

struct StubOps;

impl FenceOps for StubOps {
    fn driver_name(&self) -> &str {
        "stub"
    }
    fn timeline_name(&self) -> &str {
        "stub"
    }
}

static STUB: OnceLock<Fence> = OnceLock::new();

/// A new reference to the one global stub fence. It is created, and its
/// timestamp taken, on first use (6.12's lazy initialisation).
#[doc(alias = "dma_fence_get_stub")]
pub fn get_stub() -> Fence {
    STUB.get_or_init(|| allocate_private_stub(monotonic_ns()))
        .clone()
}

/// A new signalled stub fence with the given timestamp.
#[doc(alias = "dma_fence_allocate_private_stub")]
pub fn allocate_private_stub(timestamp_ns: u64) -> Fence {
    let fence = Fence::with_state(Arc::new(StubOps), 0, 0, ENABLE_SIGNAL);
    let _ = fence.signal_timestamp(timestamp_ns);
    fence
}

/// Whether `fence` is a stub (global or private).
pub fn is_stub(fence: &Fence) -> bool {
    fence.ops_as::<StubOps>().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_are_signalled_on_context_zero() {
        let g = get_stub();
        assert!(g.is_signaled());
        assert_eq!((g.context(), g.seqno(), g.status()), (0, 0, 1));
        assert_eq!((g.driver_name(), g.timeline_name()), ("stub", "stub"));
        assert!(g.ptr_eq(&get_stub()));
        assert!(is_stub(&g));
        let p = allocate_private_stub(42);
        assert_eq!(p.timestamp(), Some(42));
        assert!(!p.ptr_eq(&g));
        assert!(p.add_callback(|_| panic!("must not run")).is_err());
    }
}
