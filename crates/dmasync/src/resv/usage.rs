//! `enum dma_resv_usage` (include/linux/dma-resv.h, Linux 6.12): how a fence
//! in a reservation object is used, and which fences a query returns.

use std::fmt;

/// How a fence in a [`Resv`](super::Resv) uses the resource.
///
/// The numeric order matters: **KERNEL < WRITE < READ < BOOKKEEP**. A query
/// for a usage returns every fence of that usage *and of every stronger
/// (smaller) one*, so [`Usage::Read`] returns KERNEL, WRITE and READ fences.
///
/// Re-adding a fence with a smaller usage promotes it; a fence is never
/// degraded to a larger one (a pending WRITE never becomes READ).
///
/// Plain data: no locking rules.
#[doc(alias = "dma_resv_usage")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Usage {
    /// Kernel memory management (moves, clears): everyone waits for these
    /// before touching the memory, unless they hold it pinned.
    #[doc(alias = "DMA_RESV_USAGE_KERNEL")]
    Kernel = 0,
    /// An implicitly synchronised write.
    #[doc(alias = "DMA_RESV_USAGE_WRITE")]
    Write = 1,
    /// An implicitly synchronised read.
    #[doc(alias = "DMA_RESV_USAGE_READ")]
    Read = 2,
    /// Not part of implicit sync: preemption fences, page-table updates,
    /// explicitly synchronised submissions. Memory management waits for them.
    #[doc(alias = "DMA_RESV_USAGE_BOOKKEEP")]
    Bookkeep = 3,
}

impl Usage {
    /// Every usage, strongest first.
    pub const ALL: [Usage; 4] = [Usage::Kernel, Usage::Write, Usage::Read, Usage::Bookkeep];

    /// The usage to query before an implicitly synchronised access: a new
    /// writer (`write == true`) waits for every implicit fence
    /// ([`Usage::Read`]), a new reader only for writers ([`Usage::Write`]).
    #[doc(alias = "dma_resv_usage_rw")]
    pub fn rw(write: bool) -> Usage {
        if write {
            Usage::Read
        } else {
            Usage::Write
        }
    }

    /// Whether a query for `query` returns fences of this usage
    /// (`self <= query`).
    pub fn is_included_in(self, query: Usage) -> bool {
        self <= query
    }

    /// The name debugfs prints (`kernel`, `write`, `read`, `bookkeep`).
    pub fn name(self) -> &'static str {
        match self {
            Usage::Kernel => "kernel",
            Usage::Write => "write",
            Usage::Read => "read",
            Usage::Bookkeep => "bookkeep",
        }
    }

    /// The usage with the kernel's numeric value, if there is one.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) (`-EINVAL`) for a value above 3.
    pub fn from_raw(value: u32) -> crate::error::Result<Usage> {
        match value {
            0 => Ok(Usage::Kernel),
            1 => Ok(Usage::Write),
            2 => Ok(Usage::Read),
            3 => Ok(Usage::Bookkeep),
            _ => Err(crate::Error::Invalid("unknown dma_resv usage")),
        }
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_order_and_rw() {
        assert!(Usage::Kernel < Usage::Write);
        assert!(Usage::Write < Usage::Read);
        assert!(Usage::Read < Usage::Bookkeep);
        assert_eq!(Usage::rw(true), Usage::Read);
        assert_eq!(Usage::rw(false), Usage::Write);
        assert!(Usage::Kernel.is_included_in(Usage::Write));
        assert!(!Usage::Read.is_included_in(Usage::Write));
        for (i, u) in Usage::ALL.iter().enumerate() {
            assert_eq!(*u as u32, i as u32);
            assert_eq!(Usage::from_raw(i as u32), Ok(*u));
        }
        assert!(Usage::from_raw(4).is_err());
        assert_eq!(Usage::Bookkeep.to_string(), "bookkeep");
    }
}
