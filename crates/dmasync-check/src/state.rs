//! The implicit fences of one buffer, as the scenario runner uses them.
//!
//! [`BufferState`] is the narrow interface the runner needs from a
//! reservation object: add a fence with a usage (reserving a slot first),
//! replace the fences of a context, and read back the pending fences with
//! their usages. It is backed by the model's reservation object.

use std::time::Duration;

use dmasync::fence::Fence;

pub use usage::Usage;

mod usage {
    /// How a fence uses a buffer: KERNEL < WRITE < READ < BOOKKEEP
    /// (the kernel's `enum dma_resv_usage`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Usage {
        /// Memory management: moves and clears.
        Kernel = 0,
        /// An implicitly synchronised write.
        Write = 1,
        /// An implicitly synchronised read.
        Read = 2,
        /// Not part of implicit sync.
        Bookkeep = 3,
    }

    impl Usage {
        /// What an implicitly synchronised access waits for: a writer for
        /// every implicit fence, a reader for writers only.
        pub fn rw(write: bool) -> Usage {
            if write {
                Usage::Read
            } else {
                Usage::Write
            }
        }

        /// `kernel`, `write`, `read` or `bookkeep`.
        pub fn name(self) -> &'static str {
            match self {
                Usage::Kernel => "kernel",
                Usage::Write => "write",
                Usage::Read => "read",
                Usage::Bookkeep => "bookkeep",
            }
        }
    }
}

/// The reservation object of one buffer.
///
/// # Locking
/// Every method takes the object's lock for its own duration only; none is
/// held across calls, and none is taken from fence-signalling code.
pub struct BufferState {
    fences: parking_lot::Mutex<Vec<(Fence, Usage)>>,
}

impl Default for BufferState {
    fn default() -> Self {
        BufferState::new()
    }
}

impl BufferState {
    /// An empty reservation object.
    pub fn new() -> BufferState {
        BufferState {
            fences: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// Adds `fence` with `usage`, following `dma_resv_add_fence`: the first
    /// entry that has signalled, or that `fence` supersedes (same context,
    /// later or same, usage not weaker), is overwritten; otherwise appended.
    ///
    /// # Errors
    /// None in this version; kept for the reservation object's lock errors.
    pub fn add_fence(&self, fence: &Fence, usage: Usage) -> Result<(), dmasync::Error> {
        let mut list = self.fences.lock();
        let slot = list.iter().position(|(old, old_usage)| {
            old.is_signaled()
                || (old.context() == fence.context()
                    && *old_usage >= usage
                    && fence.is_later_or_same(old))
        });
        match slot {
            Some(i) => list[i] = (fence.clone(), usage),
            None => list.push((fence.clone(), usage)),
        }
        Ok(())
    }

    /// Replaces every fence of `context` by `replacement` with `usage`
    /// (`dma_resv_replace_fences`).
    ///
    /// # Errors
    /// None in this version; kept for the reservation object's lock errors.
    pub fn replace_fences(
        &self,
        context: u64,
        replacement: &Fence,
        usage: Usage,
    ) -> Result<(), dmasync::Error> {
        let mut list = self.fences.lock();
        for entry in list.iter_mut() {
            if entry.0.context() == context {
                *entry = (replacement.clone(), usage);
            }
        }
        Ok(())
    }

    /// The pending fences with their usages, in the object's order.
    pub fn pending(&self) -> Vec<(Fence, Usage)> {
        self.fences
            .lock()
            .iter()
            .filter(|(f, _)| !f.is_signaled())
            .cloned()
            .collect()
    }

    /// The pending fences a query for `usage` returns (usage <= `usage`).
    pub fn get_fences(&self, usage: Usage) -> Vec<Fence> {
        self.pending()
            .into_iter()
            .filter(|(_, u)| *u <= usage)
            .map(|(f, _)| f)
            .collect()
    }

    /// Waits for every fence a query for `usage` returns, up to `timeout`
    /// for each. Returns the fences that did not signal in time.
    pub fn wait(&self, usage: Usage, timeout: Duration) -> Vec<Fence> {
        self.get_fences(usage)
            .into_iter()
            .filter(|f| f.wait_timeout(Some(timeout), None).is_err())
            .collect()
    }
}
