//! Test helpers shared by the container-fence tests: a minimal fence source
//! whose fences signal only when a test says so, and a small deterministic
//! pseudo-random generator.
#![allow(dead_code)]

use std::sync::Arc;

use dmasync::fence::context_alloc;
use dmasync::{Fence, FenceOps};

/// A fence source that never signals on its own (the selftests' mock ops).
pub struct MockOps;

impl FenceOps for MockOps {
    fn driver_name(&self) -> &str {
        "mock"
    }
    fn timeline_name(&self) -> &str {
        "mock"
    }
}

/// A pending mock fence on its own fresh context, seqno 1.
pub fn mock_fence() -> Fence {
    mock_fence_at(context_alloc(1), 1)
}

/// A pending mock fence with the given context and seqno (32-bit seqnos).
pub fn mock_fence_at(context: u64, seqno: u64) -> Fence {
    Fence::new(Arc::new(MockOps), context, seqno)
}

/// xorshift64*: deterministic, seedable, good enough to pick indices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
