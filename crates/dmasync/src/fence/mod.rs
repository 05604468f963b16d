//! `dma_fence`: one-shot completion objects (drivers/dma-buf/dma-fence.c,
//! include/linux/dma-fence.h, Linux 6.12).
//!
//! # Overview
//!
//! A [`Fence`] stands for the completion of some work. It belongs to a
//! *context* (a timeline, see [`context_alloc`]) and has a *seqno*, its place
//! on that timeline; fences of one context complete in seqno order. A fence
//! signals exactly once; it may carry an error set before that, records the
//! CLOCK_MONOTONIC time at which it signalled, runs the callbacks queued on it
//! in order of addition, and wakes its waiters.
//!
//! What makes a fence signal is its *source*, a [`FenceOps`] implementation
//! (the kernel's `struct dma_fence_ops`): software timelines
//! ([`crate::fence::sw_sync`]), containers ([`mod@array`], [`mod@chain`]), or the
//! user's own engines. The source is asked, lazily and at most once, to
//! enable signalling when somebody first needs a notification.
//!
//! # Fence cross-driver contract
//!
//! * Fences must signal in reasonable time: work that may run for ever needs
//!   a timeout that force-completes its fences.
//! * Anybody may wait for a fence while holding a reservation lock, so code
//!   on the path to signalling must never take one (see [`signalling`]).
//! * Callbacks run on the signalling thread, right after the fence became
//!   signalled, with no lock of the fence held; they must not block.
//!
//! # State word
//!
//! | bit | set by | meaning |
//! |---|---|---|
//! | `SIGNALED` | signal, under the callback lock | terminal; the timestamp is valid |
//! | `ENABLE_SIGNAL` | first `add_callback`/`wait`/`enable_sw_signaling` | the source was asked to signal |
//! | `WAITERS` | a waiter, before it sleeps | signal must wake the futex |
//! | `SEQNO64` | construction | seqnos compare as 64-bit numbers |
//!
//! `SIGNALED` is only set with the callback lock held, after the timestamp
//! was stored, so a reader that sees it also sees the timestamp and error,
//! and `add_callback`, which checks it under the same lock, never queues a
//! callback that would not run.

pub mod array;
pub mod chain;
mod context;
pub mod merge;
pub mod signalling;
mod stub;
pub mod sw_sync;
pub mod unwrap;
mod wait;

#[cfg(all(test, loom))]
mod tests;

pub use array::{array_create, is_array, to_array, FenceArray};
pub use chain::{
    chain_contained, chain_create, chain_iter, chain_walk, find_seqno, is_chain, to_chain,
    FenceChain,
};
pub use context::context_alloc;
pub use merge::{dedup_array, unwrap_merge};
pub use stub::{allocate_private_stub, get_stub, is_stub};
pub use unwrap::{is_container, unwrap, Unwrap};
pub use wait::{wait_any_timeout, Interrupt};

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{errno, Error, Result};
use crate::sync::{AtomicI32, AtomicU64, Futex, Mutex, Ordering};

const SIGNALED: u32 = 1 << 0;
const ENABLE_SIGNAL: u32 = 1 << 1;
const WAITERS: u32 = 1 << 2;
const SEQNO64: u32 = 1 << 3;

/// A fence source: the kernel's `struct dma_fence_ops`.
///
/// One value may serve many fences (a timeline serves all its points) or one
/// (a container). Every method is called with no lock of the fence held.
pub trait FenceOps: Any + Send + Sync {
    /// Mandatory: the name of the implementation (`"sw_sync"`, `"vgem"`).
    #[doc(alias = "get_driver_name")]
    fn driver_name(&self) -> &str;

    /// Mandatory: the name of the fence's timeline.
    #[doc(alias = "get_timeline_name")]
    fn timeline_name(&self) -> &str;

    /// Optional: start the work that will signal `fence`.
    ///
    /// Called at most once per fence, the first time somebody needs a
    /// notification (a callback or a waiter), possibly after the fence has
    /// signalled concurrently. Returns `false` when the fence is already
    /// complete or can never be monitored: the core then signals it at once.
    /// It may set an error only when returning `false`. The default does
    /// nothing and returns `true`, for sources that signal on their own.
    fn enable_signaling(&self, fence: &Fence) -> bool {
        let _ = fence;
        true
    }

    /// Optional: a cheap peek at completion, for sources that can tell
    /// without being asked to signal. Must be monotonic. When it returns
    /// `true` the core signals the fence. The default returns `false`.
    fn signaled(&self, fence: &Fence) -> bool {
        let _ = fence;
        false
    }

    /// Optional: a deadline hint (absolute CLOCK_MONOTONIC nanoseconds). The
    /// core forwards only deadlines earlier than any before, and only while
    /// the fence is pending. The default ignores it.
    fn set_deadline(&self, fence: &Fence, deadline_ns: u64) {
        let _ = (fence, deadline_ns);
    }

    /// Optional: the fence `(context, seqno)` is being freed.
    fn release(&self, context: u64, seqno: u64) {
        let _ = (context, seqno);
    }
}

/// An internal observer of signals, queued without allocating a closure
/// (see `Fence::add_notify_passive`). `notify` runs like any callback:
/// on the signalling thread, with no lock of the fence held.
pub(crate) trait Notify: Send + Sync {
    /// The fence the registration `key` was queued on signalled.
    fn notify(&self, key: u32);
}

/// A queued callback; see [`Fence::add_callback`].
enum Callback {
    Boxed(Box<dyn FnOnce(&Fence) + Send>),
    Notify(Arc<dyn Notify>, u32),
}

impl Callback {
    fn call(self, fence: &Fence) {
        match self {
            Callback::Boxed(cb) => cb(fence),
            Callback::Notify(n, key) => n.notify(key),
        }
    }
}

/// Identifies a callback queued on one fence, for [`Fence::remove_callback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "dropping the id only loses the ability to remove the callback"]
pub struct CallbackId(u32);

#[derive(Default)]
struct Callbacks {
    list: Vec<(u32, Callback)>,
    next_id: u32,
}

struct FenceInner {
    /// The source; immutable.
    ops: Arc<dyn FenceOps>,
    /// Immutable.
    context: u64,
    /// Immutable.
    seqno: u64,
    /// The state word (see the module documentation); waiters sleep on it.
    state: Futex,
    /// 0, or the negative errno stored before signalling. Written under
    /// `callbacks`' lock while pending; read-only once `SIGNALED` is seen.
    error: AtomicI32,
    /// CLOCK_MONOTONIC ns of the signal; valid once `SIGNALED` is seen.
    timestamp: AtomicU64,
    /// Earliest deadline set while pending, `u64::MAX` if none.
    deadline: AtomicU64,
    /// The pending callbacks; also serialises signalling and `set_error`.
    callbacks: Mutex<Callbacks>,
}

/// A reference to a fence: cheap to clone, shared between threads.
///
/// Equality is identity (the kernel compares `struct dma_fence *`): two
/// fences with the same context and seqno are still two fences.
#[doc(alias = "dma_fence")]
#[derive(Clone)]
pub struct Fence(Arc<FenceInner>);

/// Nanoseconds of CLOCK_MONOTONIC, the kernel's `ktime_get_ns`.
#[doc(alias = "ktime_get_ns")]
pub fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Whether seqno `a` is later than `b`: a 64-bit comparison, or for 32-bit
/// timelines the kernel's wrap-around rule `(i32)(lo32(a) - lo32(b)) > 0`.
#[doc(alias = "__dma_fence_is_later")]
pub fn seqno_is_later(a: u64, b: u64, seqno64: bool) -> bool {
    if seqno64 {
        a > b
    } else {
        (a as u32).wrapping_sub(b as u32) as i32 > 0
    }
}

impl Fence {
    /// Creates a pending fence with 32-bit seqno semantics.
    #[doc(alias = "dma_fence_init")]
    pub fn new(ops: Arc<dyn FenceOps>, context: u64, seqno: u64) -> Fence {
        Fence::with_state(ops, context, seqno, 0)
    }

    /// Creates a pending fence whose seqnos compare as 64-bit numbers.
    #[doc(alias = "dma_fence_init64")]
    pub fn new64(ops: Arc<dyn FenceOps>, context: u64, seqno: u64) -> Fence {
        Fence::with_state(ops, context, seqno, SEQNO64)
    }

    fn with_state(ops: Arc<dyn FenceOps>, context: u64, seqno: u64, state: u32) -> Fence {
        Fence(Arc::new(FenceInner {
            ops,
            context,
            seqno,
            state: Futex::new(state),
            error: AtomicI32::new(0),
            timestamp: AtomicU64::new(0),
            deadline: AtomicU64::new(u64::MAX),
            callbacks: Mutex::new(Callbacks::default()),
        }))
    }

    /// The fence's context (timeline).
    pub fn context(&self) -> u64 {
        self.0.context
    }

    /// The fence's seqno on its context.
    pub fn seqno(&self) -> u64 {
        self.0.seqno
    }

    /// Whether seqnos of this fence compare as 64-bit numbers.
    pub fn is_seqno64(&self) -> bool {
        self.state() & SEQNO64 != 0
    }

    /// The fence's source.
    pub fn ops(&self) -> &Arc<dyn FenceOps> {
        &self.0.ops
    }

    /// The source as a concrete type, if it is one (`to_dma_fence_array`).
    pub fn ops_as<T: FenceOps>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.0.ops;
        any.downcast_ref::<T>()
    }

    /// The source's driver name.
    #[doc(alias = "dma_fence_driver_name")]
    pub fn driver_name(&self) -> &str {
        self.0.ops.driver_name()
    }

    /// The source's timeline name.
    #[doc(alias = "dma_fence_timeline_name")]
    pub fn timeline_name(&self) -> &str {
        self.0.ops.timeline_name()
    }

    /// Whether `self` and `other` are the same fence.
    pub fn ptr_eq(&self, other: &Fence) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A number unique to this fence among live fences (its address).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as *const () as usize
    }

    /// How many references to this fence exist.
    pub fn ref_count(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    fn state(&self) -> u32 {
        self.0.state.word().load(Ordering::Acquire)
    }

    /// Whether the SIGNALED bit is set, with no side effect.
    #[doc(alias = "dma_fence_test_signaled_flag")]
    pub fn test_signaled_flag(&self) -> bool {
        self.state() & SIGNALED != 0
    }

    /// Whether the fence has signalled. If not yet marked, asks the source's
    /// [`FenceOps::signaled`] peek, and signals the fence when it says yes.
    /// Does not enable signalling.
    #[doc(alias = "dma_fence_is_signaled")]
    pub fn is_signaled(&self) -> bool {
        if self.test_signaled_flag() {
            return true;
        }
        if self.0.ops.signaled(self) {
            let _ = self.signal();
            return true;
        }
        false
    }

    /// `1` if signalled without error, `0` if pending, the negative errno if
    /// signalled with an error: the kernel's `dma_fence_get_status`.
    #[doc(alias = "dma_fence_get_status")]
    pub fn status(&self) -> i32 {
        if !self.is_signaled() {
            return 0;
        }
        match self.0.error.load(Ordering::Acquire) {
            0 => 1,
            e => e,
        }
    }

    /// The error stored in the fence (0 if none).
    pub fn error(&self) -> i32 {
        self.0.error.load(Ordering::Acquire)
    }

    /// Stores an error to report when the fence signals.
    ///
    /// # Errors
    /// * [`Error::Invalid`] if `err` is not in `-4095..=-1` (the kernel warns
    ///   and stores it anyway; we refuse).
    /// * [`Error::AlreadySignaled`] if the fence has signalled (the kernel
    ///   warns; an error can only be set before signalling).
    #[doc(alias = "dma_fence_set_error")]
    pub fn set_error(&self, err: i32) -> Result<()> {
        if !(-errno::MAX_ERRNO..=-1).contains(&err) {
            return Err(Error::Invalid("fence error must be a negative errno"));
        }
        let _guard = self.0.callbacks.lock();
        if self.test_signaled_flag() {
            return Err(Error::AlreadySignaled);
        }
        self.0.error.store(err, Ordering::Release);
        Ok(())
    }

    /// The CLOCK_MONOTONIC nanoseconds at which the fence signalled, or
    /// `None` while it is pending.
    #[doc(alias = "dma_fence_timestamp")]
    pub fn timestamp(&self) -> Option<u64> {
        self.test_signaled_flag()
            .then(|| self.0.timestamp.load(Ordering::Acquire))
    }

    /// Signals the fence now.
    ///
    /// Wakes every waiter and runs every queued callback, in order of
    /// addition, on this thread. The whole call is a signalling critical
    /// section ([`signalling`]).
    ///
    /// # Errors
    /// [`Error::AlreadySignaled`] if it had signalled (the kernel's `-EINVAL`).
    #[doc(alias = "dma_fence_signal")]
    pub fn signal(&self) -> Result<()> {
        self.signal_timestamp(monotonic_ns())
    }

    /// Signals the fence with the given CLOCK_MONOTONIC timestamp.
    ///
    /// # Errors
    /// [`Error::AlreadySignaled`] if it had signalled.
    #[doc(alias = "dma_fence_signal_timestamp")]
    pub fn signal_timestamp(&self, timestamp_ns: u64) -> Result<()> {
        let _section = signalling::Section::begin();
        let list = {
            let mut cbs = self.0.callbacks.lock();
            let word = self.0.state.word();
            if word.load(Ordering::Relaxed) & SIGNALED != 0 {
                return Err(Error::AlreadySignaled);
            }
            self.0.timestamp.store(timestamp_ns, Ordering::Relaxed);
            let old = word.fetch_or(SIGNALED, Ordering::AcqRel);
            if old & WAITERS != 0 {
                self.0.state.wake_all();
            }
            std::mem::take(&mut cbs.list)
        };
        for (_, cb) in list {
            cb.call(self);
        }
        Ok(())
    }

    /// Asks the source to signal (once), and signals the fence at once if
    /// the source says it is already complete. Returns whether the fence is
    /// signalled.
    fn enable_signaling_inner(&self) -> bool {
        let old = self
            .0
            .state
            .word()
            .fetch_or(ENABLE_SIGNAL, Ordering::AcqRel);
        if old & SIGNALED != 0 {
            return true;
        }
        if old & ENABLE_SIGNAL == 0 && !self.0.ops.enable_signaling(self) {
            let _ = self.signal();
            return true;
        }
        false
    }

    /// Asks the source to signal the fence, as a waiter would.
    #[doc(alias = "dma_fence_enable_sw_signaling")]
    pub fn enable_sw_signaling(&self) {
        self.enable_signaling_inner();
    }

    /// Whether signalling has been enabled.
    pub fn is_signaling_enabled(&self) -> bool {
        self.state() & ENABLE_SIGNAL != 0
    }

    /// Queues `callback` to run once when the fence signals.
    ///
    /// Enables signalling first. Callbacks run in order of addition on the
    /// signalling thread, with no lock of the fence held.
    ///
    /// # Errors
    /// [`Error::AlreadySignaled`] (the kernel's `-ENOENT`) when the fence has
    /// signalled; the callback is then dropped without being called.
    #[doc(alias = "dma_fence_add_callback")]
    pub fn add_callback(
        &self,
        callback: impl FnOnce(&Fence) + Send + 'static,
    ) -> Result<CallbackId> {
        if self.enable_signaling_inner() {
            return Err(Error::AlreadySignaled);
        }
        let mut cbs = self.0.callbacks.lock();
        if self.test_signaled_flag() {
            return Err(Error::AlreadySignaled);
        }
        let id = cbs.next_id;
        cbs.next_id = cbs.next_id.wrapping_add(1);
        cbs.list.push((id, Callback::Boxed(Box::new(callback))));
        Ok(CallbackId(id))
    }

    /// Queues an internal observer like [`Fence::add_callback`] but
    /// without enabling signalling, so that it does not change the fence's
    /// state (the reservation object's index of signalled entries): on
    /// signal, `target.notify(key)` runs, with no closure allocated.
    ///
    /// # Errors
    /// [`Error::AlreadySignaled`] when the fence has signalled.
    pub(crate) fn add_notify_passive(
        &self,
        target: Arc<dyn Notify>,
        key: u32,
    ) -> Result<CallbackId> {
        self.queue_passive(Callback::Notify(target, key))
    }

    fn queue_passive(&self, callback: Callback) -> Result<CallbackId> {
        let mut cbs = self.0.callbacks.lock();
        if self.test_signaled_flag() {
            return Err(Error::AlreadySignaled);
        }
        let id = cbs.next_id;
        cbs.next_id = cbs.next_id.wrapping_add(1);
        cbs.list.push((id, callback));
        Ok(CallbackId(id))
    }

    /// Removes a queued callback. Returns `true` if it was still queued (it
    /// will never run), `false` if it has run or is running on the
    /// signalling thread.
    #[doc(alias = "dma_fence_remove_callback")]
    pub fn remove_callback(&self, id: CallbackId) -> bool {
        let removed = {
            let mut cbs = self.0.callbacks.lock();
            let pos = cbs.list.iter().position(|(i, _)| *i == id.0);
            pos.map(|pos| cbs.list.remove(pos))
        };
        // Dropped here, outside the lock: the closure may own fences.
        removed.is_some()
    }

    /// How many callbacks are queued.
    pub fn pending_callbacks(&self) -> usize {
        self.0.callbacks.lock().list.len()
    }

    /// Sets a deadline hint: absolute CLOCK_MONOTONIC nanoseconds by which
    /// the fence should signal. The earliest deadline is kept and forwarded
    /// to the source; a signalled fence ignores it.
    #[doc(alias = "dma_fence_set_deadline")]
    pub fn set_deadline(&self, deadline_ns: u64) {
        if self.is_signaled() {
            return;
        }
        let prev = self.0.deadline.fetch_min(deadline_ns, Ordering::AcqRel);
        if deadline_ns < prev {
            self.0.ops.set_deadline(self, deadline_ns);
        }
    }

    /// The earliest deadline set while the fence was pending.
    pub fn deadline(&self) -> Option<u64> {
        match self.0.deadline.load(Ordering::Acquire) {
            u64::MAX => None,
            d => Some(d),
        }
    }

    /// Whether `self` is later than `other` on the same context (`false` for
    /// different contexts, where the kernel warns).
    #[doc(alias = "dma_fence_is_later")]
    pub fn is_later(&self, other: &Fence) -> bool {
        self.context() == other.context()
            && seqno_is_later(self.seqno(), other.seqno(), self.is_seqno64())
    }

    /// `self` is `other`, or later than it.
    #[doc(alias = "dma_fence_is_later_or_same")]
    pub fn is_later_or_same(&self, other: &Fence) -> bool {
        self.ptr_eq(other) || self.is_later(other)
    }

    /// The later of two fences of one context, or `None` when that one has
    /// already signalled (or the contexts differ).
    #[doc(alias = "dma_fence_later")]
    pub fn later<'a>(a: &'a Fence, b: &'a Fence) -> Option<&'a Fence> {
        if a.context() != b.context() {
            return None;
        }
        let later = if a.is_later(b) { a } else { b };
        (!later.is_signaled()).then_some(later)
    }

    /// Waits for the fence: the kernel's `dma_fence_wait_timeout`.
    ///
    /// `timeout` `None` waits for ever. `intr` makes the wait interruptible.
    /// Enables signalling, even for a zero timeout.
    ///
    /// Returns the remaining time on success, at least 1 ns when a timeout
    /// was given (a signalled fence with a zero timeout gives 1 ns, as the
    /// kernel gives 1 jiffy), `None` when waiting for ever.
    ///
    /// # Errors
    /// * [`Error::TimedOut`] when the timeout passed (the kernel returns 0).
    /// * [`Error::Interrupted`] when `intr` was interrupted, checked before
    ///   the zero-timeout test as the kernel does (its `-ERESTARTSYS`).
    #[doc(alias = "dma_fence_wait_timeout")]
    pub fn wait_timeout(
        &self,
        timeout: Option<Duration>,
        intr: Option<&Interrupt>,
    ) -> Result<Option<Duration>> {
        wait::wait_timeout(self, timeout, intr)
    }

    /// Waits for ever for the fence to signal.
    #[doc(alias = "dma_fence_wait")]
    pub fn wait(&self) {
        let _ = wait::wait_timeout(self, None, None);
    }

    /// One line describing the fence, as debugfs prints it in 6.12:
    /// `"<driver> <timeline> seq <seqno> [un]signalled\n"`.
    #[doc(alias = "dma_fence_describe")]
    pub fn describe(&self) -> String {
        format!(
            "{} {} seq {} {}signalled\n",
            self.driver_name(),
            self.timeline_name(),
            self.seqno(),
            if self.is_signaled() { "" } else { "un" }
        )
    }
}

impl PartialEq for Fence {
    fn eq(&self, other: &Fence) -> bool {
        self.ptr_eq(other)
    }
}
impl Eq for Fence {}

impl fmt::Debug for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fence")
            .field("driver", &self.driver_name())
            .field("timeline", &self.timeline_name())
            .field("context", &self.context())
            .field("seqno", &self.seqno())
            .field("status", &self.status())
            .finish()
    }
}

/// The stand-in passed to the callbacks of a fence released while pending:
/// it keeps the released fence's names, context and seqno.
struct Released {
    driver: String,
    timeline: String,
}

impl FenceOps for Released {
    fn driver_name(&self) -> &str {
        &self.driver
    }
    fn timeline_name(&self) -> &str {
        &self.timeline
    }
}

impl Drop for FenceInner {
    /// The last reference to a pending fence with queued callbacks is gone:
    /// like the kernel, signal it with `-EDEADLK` so that its dependants do
    /// not hang for ever. The callbacks see a signalled stand-in with the
    /// same names, context and seqno, since the fence itself is being freed.
    fn drop(&mut self) {
        let pending = std::mem::take(&mut self.callbacks.lock().list);
        let state = self.state.word().load(Ordering::Acquire);
        if !pending.is_empty() && state & SIGNALED == 0 {
            let ops = Arc::new(Released {
                driver: self.ops.driver_name().to_owned(),
                timeline: self.ops.timeline_name().to_owned(),
            });
            let stand_in = Fence::with_state(
                ops,
                self.context,
                self.seqno,
                state & SEQNO64 | ENABLE_SIGNAL,
            );
            stand_in.0.error.store(-errno::EDEADLK, Ordering::Release);
            let _ = stand_in.signal();
            for (_, cb) in pending {
                cb.call(&stand_in);
            }
        }
        self.ops.release(self.context, self.seqno);
    }
}
