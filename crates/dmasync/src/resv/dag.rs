//! The DAG checker (contract rule C6, §9): in checking mode, a KERNEL or
//! WRITE fence must be ordered after the previous fence of the same or a
//! stronger usage, or the memory the older fence still uses can be freed
//! or moved while a device reads it.
//!
//! "Ordered after" means: the old fence has signalled, or the new fence (or
//! one of its leaves) is the old one or later than it on the same context,
//! or depends on it (the old fence is one of the new fence's leaves). This
//! is the old model's rule for the exclusive slot (exclusive = KERNEL +
//! WRITE); the 5.19+ kernel keeps every fence instead and does not check
//! it, so a violation is a report, never a refusal: the fence is added.
//!
//! Checking is switched on per object ([`Resv::set_dag_checking`]) or for
//! every object ([`set_dag_checking_global`]); violations are kept in the
//! object and collected with [`Resv::take_dag_violations`].
//!
//! [`Resv::set_dag_checking`]: super::Resv::set_dag_checking
//! [`Resv::take_dag_violations`]: super::Resv::take_dag_violations

use std::sync::atomic::{AtomicBool, Ordering};

use super::Usage;
use crate::fence::Fence;

static GLOBAL: AtomicBool = AtomicBool::new(false);

/// Turns DAG checking on or off for every reservation object.
pub fn set_dag_checking_global(enabled: bool) {
    GLOBAL.store(enabled, Ordering::SeqCst);
}

/// Whether DAG checking is on for every reservation object.
pub fn dag_checking_global() -> bool {
    GLOBAL.load(Ordering::Relaxed)
}

/// A KERNEL or WRITE fence added without being ordered after the previous
/// one of the same or a stronger usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DagViolation {
    /// The usage the new fence was added with.
    pub usage: Usage,
    /// The new fence's context.
    pub new_context: u64,
    /// The new fence's seqno.
    pub new_seqno: u64,
    /// The usage of the previous fence it is not ordered after.
    pub old_usage: Usage,
    /// The previous fence's context.
    pub old_context: u64,
    /// The previous fence's seqno.
    pub old_seqno: u64,
}

/// The previous KERNEL fence and the previous KERNEL-or-WRITE fence, as
/// their leaves. Protected by the object's lock.
#[derive(Default)]
pub(super) struct History {
    kernel: Vec<Fence>,
    kernel_or_write: Vec<(Fence, Usage)>,
}

impl History {
    /// Checks `fence` (whose leaves are `leaves`) added with `usage`, and
    /// records it as the new previous fence. Returns the violations.
    pub(super) fn check_and_record(
        &mut self,
        fence: &Fence,
        leaves: &[Fence],
        usage: Usage,
    ) -> Vec<DagViolation> {
        let previous: Vec<(Fence, Usage)> = match usage {
            Usage::Kernel => self
                .kernel
                .iter()
                .map(|f| (f.clone(), Usage::Kernel))
                .collect(),
            Usage::Write => self.kernel_or_write.clone(),
            Usage::Read | Usage::Bookkeep => return Vec::new(),
        };
        let violations = previous
            .iter()
            .filter(|(old, _)| !is_ordered_after(fence, leaves, old))
            .map(|(old, old_usage)| DagViolation {
                usage,
                new_context: fence.context(),
                new_seqno: fence.seqno(),
                old_usage: *old_usage,
                old_context: old.context(),
                old_seqno: old.seqno(),
            })
            .collect();
        if usage == Usage::Kernel {
            self.kernel = leaves.to_vec();
        }
        self.kernel_or_write = leaves.iter().map(|f| (f.clone(), usage)).collect();
        violations
    }
}

fn is_ordered_after(new: &Fence, leaves: &[Fence], old: &Fence) -> bool {
    old.is_signaled() || new.is_later_or_same(old) || leaves.iter().any(|l| l.is_later_or_same(old))
}
