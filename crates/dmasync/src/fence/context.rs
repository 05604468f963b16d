//! Fence context allocation (`dma_fence_context_alloc`).

use std::sync::atomic::{AtomicU64, Ordering};

/// The next free context. It starts at 1: context 0 is never handed out and
/// belongs to the stub fences.
static NEXT_CONTEXT: AtomicU64 = AtomicU64::new(1);

/// Reserves `num` consecutive, never recycled fence contexts and returns the
/// first. `num == 0` reserves nothing and returns the next free context (the
/// kernel warns).
#[doc(alias = "dma_fence_context_alloc")]
pub fn context_alloc(num: u64) -> u64 {
    NEXT_CONTEXT.fetch_add(num, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_are_unique_consecutive_and_never_zero() {
        let a = context_alloc(1);
        let b = context_alloc(3);
        let c = context_alloc(1);
        assert!(a >= 1);
        assert!(b > a);
        assert!(c >= b + 3);
    }
}
