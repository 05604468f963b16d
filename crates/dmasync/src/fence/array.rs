//! `dma_fence_array`: one fence standing for a set of fences
//! (drivers/dma-buf/dma-fence-array.c, include/linux/dma-fence-array.h,
//! Linux 6.12).
//!
//! # Overview
//!
//! An array fence owns references to its *members* and signals when all of
//! them have signalled (the default), or when any one has (`signal_on_any`).
//! Its driver name is `"dma_fence_array"` and its timeline `"unbound"`.
//! Members must be plain fences: containers (arrays, chains) are refused, so
//! that completion never recurses through nested containers. Flatten first
//! with [`unwrap`](super::unwrap::unwrap) or
//! [`unwrap_merge`](super::merge::unwrap_merge).
//!
//! # State
//!
//! | field | starts at | changed by |
//! |---|---|---|
//! | `num_pending` | 1 (any) or the member count (all) | one decrement per member seen signalled, in `enable_signaling` or in a member callback |
//! | `error` | `PENDING` (1) | the first non-zero member error (compare-exchange from `PENDING`); set to 0 from `PENDING` when the array completes |
//!
//! The member that brings `num_pending` to 0 completes the array: in
//! `enable_signaling` by returning `false` (the core signals), in a member
//! callback by signalling the array itself. Exactly one decrement reaches 0,
//! so the array is signalled once. With `signal_on_any`, later members drive
//! the counter negative, harmlessly.
//!
//! # Errors and the peek quirk
//!
//! The array signals with the first member error *observed* (in registration
//! order while enabling, then in callback order). But when the array is
//! found complete by the cheap peek ([`Fence::is_signaled`] before anybody
//! enabled signalling), members are merely counted and no error is copied:
//! the array then reports status 1 even if members failed. 6.12 does the
//! same; it is kept on purpose.
//!
//! # Locking and lifetime
//!
//! The array takes no lock of its own. Enabling signalling queues one
//! callback per member, each holding a reference to the array, so an array
//! whose signalling was enabled lives at least until its members have
//! signalled (the kernel's extra reference per callback).

use std::sync::Arc;

use super::unwrap::is_container;
use super::{Fence, FenceOps};
use crate::error::{Error, Result};
use crate::sync::{AtomicI32, Ordering};

/// The internal "no error yet" value of [`FenceArray`]'s error (the kernel's
/// `PENDING_ERROR`): positive, so never a valid fence error.
const PENDING: i32 = 1;

/// The source of an array fence: its members and its completion state.
///
/// Obtained from an array fence with [`to_array`]. Immutable after creation
/// apart from two atomics (see the module documentation); it takes no lock.
#[doc(alias = "dma_fence_array")]
pub struct FenceArray {
    /// The members; immutable, owned until the array is freed.
    fences: Vec<Fence>,
    /// Immutable.
    signal_on_any: bool,
    /// Members still awaited (see the module documentation).
    num_pending: AtomicI32,
    /// `PENDING`, 0, or the first member error.
    error: AtomicI32,
}

impl FenceArray {
    /// The members, in the order given at creation. The array keeps its
    /// references until it is freed; callers clone what they keep.
    #[doc(alias = "dma_fence_array_for_each")]
    #[doc(alias = "dma_fence_array_first")]
    #[doc(alias = "dma_fence_array_next")]
    pub fn fences(&self) -> &[Fence] {
        &self.fences
    }

    /// Whether the array signals on the first member (`true`) or on all.
    pub fn signal_on_any(&self) -> bool {
        self.signal_on_any
    }

    /// Records a member error if none was recorded yet (first error wins).
    fn set_pending_error(&self, err: i32) {
        if err != 0 {
            let _ = self
                .error
                .compare_exchange(PENDING, err, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// Turns a still-`PENDING` error into "no error" and stores a recorded
    /// member error in `fence`, just before `fence` is signalled.
    fn settle_error(&self, fence: &Fence) {
        let _ = self
            .error
            .compare_exchange(PENDING, 0, Ordering::AcqRel, Ordering::Acquire);
        let err = self.error.load(Ordering::Acquire);
        if err < 0 {
            // Fails only if the array signalled concurrently (a racing peek);
            // the kernel's shared error field has the same window.
            let _ = fence.set_error(err);
        }
    }

    /// The member callback: record the member's error, count it, and
    /// complete the array when it was the last one awaited.
    fn member_signalled(&self, array: &Fence, member: &Fence) {
        self.set_pending_error(member.error());
        if self.num_pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.settle_error(array);
            let _ = array.signal();
        }
    }
}

impl FenceOps for FenceArray {
    fn driver_name(&self) -> &str {
        "dma_fence_array"
    }

    fn timeline_name(&self) -> &str {
        "unbound"
    }

    /// Queues a callback on each member in order. A member that has already
    /// signalled is counted at once; if that completes the array the
    /// remaining members are not visited and `false` is returned.
    fn enable_signaling(&self, fence: &Fence) -> bool {
        for member in &self.fences {
            let array = fence.clone();
            let queued = member.add_callback(move |m| {
                if let Some(a) = to_array(&array) {
                    a.member_signalled(&array, m);
                }
            });
            if queued.is_err() {
                self.set_pending_error(member.error());
                if self.num_pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                    self.settle_error(fence);
                    return false;
                }
            }
        }
        true
    }

    /// With signalling enabled: complete iff `num_pending <= 0`. Without:
    /// counts members that report signalled until the initial pending count
    /// is reached; member errors are then not copied (the quirk).
    fn signaled(&self, fence: &Fence) -> bool {
        let mut pending = self.num_pending.load(Ordering::Acquire);
        if fence.is_signaling_enabled() {
            if pending <= 0 {
                self.settle_error(fence);
                return true;
            }
            return false;
        }
        for member in &self.fences {
            if member.is_signaled() {
                pending -= 1;
                if pending == 0 {
                    self.settle_error(fence);
                    return true;
                }
            }
        }
        false
    }

    /// Forwards the deadline to every member.
    fn set_deadline(&self, _fence: &Fence, deadline_ns: u64) {
        for member in &self.fences {
            member.set_deadline(deadline_ns);
        }
    }
}

/// Creates an array fence over `fences`: the kernel's `dma_fence_array_create`.
///
/// The array takes over the references in `fences`. With `signal_on_any` it
/// signals when the first member signals, otherwise when all have; it
/// carries the first member error it observes (see the module
/// documentation for the peek quirk). The seqno compares with 32-bit
/// wrap-around, as the kernel's `unsigned` array seqno does.
///
/// Takes no lock and does not touch the members: signalling is enabled
/// lazily, the first time somebody waits or queues a callback.
///
/// # Errors
/// * [`Error::Invalid`] (`-EINVAL`) if `fences` is empty (the kernel warns
///   and returns NULL), holds more than `i32::MAX` fences (the kernel's
///   count is an `int`), or if a member is itself a container (array or
///   chain; the kernel warns).
#[doc(alias = "dma_fence_array_create")]
pub fn array_create(
    fences: Vec<Fence>,
    context: u64,
    seqno: u64,
    signal_on_any: bool,
) -> Result<Fence> {
    if fences.is_empty() {
        return Err(Error::Invalid("fence array without members"));
    }
    if i32::try_from(fences.len()).is_err() {
        return Err(Error::Invalid("too many fences for one array"));
    }
    if fences.iter().any(is_container) {
        return Err(Error::Invalid("container fence inside a fence array"));
    }
    Ok(new_array(fences, context, seqno, signal_on_any))
}

/// [`array_create`] for callers that have checked its preconditions.
pub(crate) fn new_array(
    fences: Vec<Fence>,
    context: u64,
    seqno: u64,
    signal_on_any: bool,
) -> Fence {
    let pending = if signal_on_any {
        1
    } else {
        i32::try_from(fences.len()).unwrap_or(i32::MAX)
    };
    let ops = FenceArray {
        fences,
        signal_on_any,
        num_pending: AtomicI32::new(pending),
        error: AtomicI32::new(PENDING),
    };
    Fence::new(Arc::new(ops), context, seqno)
}

/// The array behind `f`, or `None` if `f` is not an array fence. The
/// reference borrows `f`: the array lives as long as the fence.
#[doc(alias = "to_dma_fence_array")]
pub fn to_array(f: &Fence) -> Option<&FenceArray> {
    f.ops_as::<FenceArray>()
}

/// Whether `f` is an array fence.
#[doc(alias = "dma_fence_is_array")]
pub fn is_array(f: &Fence) -> bool {
    to_array(f).is_some()
}

/// Loom models (`RUSTFLAGS="--cfg loom"`): members signalling concurrently
/// complete the array once, with one of their errors; enabling races with
/// members signalling; the peek races with the callbacks.
#[cfg(all(test, loom))]
mod loom_models {
    use ::loom::sync::atomic::AtomicUsize;

    use super::*;

    struct Mock;

    impl FenceOps for Mock {
        fn driver_name(&self) -> &str {
            "mock"
        }
        fn timeline_name(&self) -> &str {
            "mock"
        }
    }

    fn mock(context: u64) -> Fence {
        Fence::new(Arc::new(Mock), context, 1)
    }

    fn counter(f: &Fence) -> Option<::loom::sync::Arc<AtomicUsize>> {
        let n = ::loom::sync::Arc::new(AtomicUsize::new(0));
        let c = n.clone();
        f.add_callback(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .ok()
        .map(|_| n)
    }

    #[test]
    fn loom_array_members_signal_concurrently() {
        ::loom::model(|| {
            let (a, b) = (mock(1), mock(2));
            let arr = new_array(vec![a.clone(), b.clone()], 3, 1, false);
            let hits = counter(&arr).expect("pending");
            let t = ::loom::thread::spawn(move || {
                a.set_error(-1).unwrap();
                a.signal().unwrap();
            });
            b.set_error(-2).unwrap();
            b.signal().unwrap();
            t.join().unwrap();
            assert_eq!(hits.load(Ordering::SeqCst), 1);
            assert!(matches!(arr.status(), -1 | -2));
        });
    }

    #[test]
    fn loom_array_enable_races_member_signal() {
        ::loom::model(|| {
            let (a, b) = (mock(1), mock(2));
            let arr = new_array(vec![a.clone(), b.clone()], 3, 1, false);
            let t = ::loom::thread::spawn(move || {
                a.set_error(-4).unwrap();
                a.signal().unwrap();
            });
            let hits = counter(&arr).expect("b is pending");
            b.signal().unwrap();
            t.join().unwrap();
            assert_eq!(hits.load(Ordering::SeqCst), 1);
            assert_eq!(arr.status(), -4);
        });
    }

    #[test]
    fn loom_array_peek_races_callbacks() {
        ::loom::model(|| {
            let a = mock(1);
            let arr = new_array(vec![a.clone()], 3, 1, true);
            let peeker = arr.clone();
            let t = ::loom::thread::spawn(move || peeker.is_signaled());
            let hits = counter(&arr);
            a.signal().unwrap();
            t.join().unwrap();
            assert!(arr.test_signaled_flag());
            if let Some(h) = hits {
                assert_eq!(h.load(Ordering::SeqCst), 1);
            }
            assert_eq!(arr.status(), 1);
        });
    }
}
