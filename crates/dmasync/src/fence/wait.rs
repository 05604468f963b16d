//! Waiting for fences: `dma_fence_wait_timeout`, `dma_fence_default_wait`,
//! `dma_fence_wait_any_timeout`, and the user-space stand-in for signals that
//! interrupt a wait ([`Interrupt`]).
//!
//! A plain wait sleeps on the fence's own state word (a futex): signalling
//! sets `SIGNALED` and wakes it, one system call each way, as a bare futex
//! round trip. Waits for several events at once (any of N fences, or a fence
//! and an interrupt) queue a callback on each fence that wakes one
//! [`Parker`](crate::sync::Parker) owned by the waiting thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{signalling, Fence, SIGNALED, WAITERS};
use crate::error::{Error, Result};
use crate::sync::{deadline_after, AtomicBool, Mutex, Ordering, Parker};

/// A user-space stand-in for a pending signal: waits given this interrupt
/// return [`Error::Interrupted`] while it is raised (the kernel's
/// `-ERESTARTSYS` for interruptible waits).
///
/// Raising it wakes every wait currently using it; it stays raised, failing
/// later interruptible waits too, until [`Interrupt::clear`], as a pending
/// signal does until it is handled. Clones share the same state.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<InterruptInner>);

#[derive(Default)]
struct InterruptInner {
    raised: AtomicBool,
    /// The parkers of the waits in progress.
    waiters: Mutex<Registrations>,
}

/// The waits using an interrupt, each with a registration id.
#[derive(Default)]
struct Registrations {
    next_id: u64,
    parkers: Vec<(u64, Arc<Parker>)>,
}

impl Interrupt {
    /// A new interrupt, not raised.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Raises the interrupt and wakes every wait using it.
    pub fn raise(&self) {
        self.0.raised.store(true, Ordering::SeqCst);
        for (_, parker) in self.0.waiters.lock().parkers.iter() {
            parker.notify();
        }
    }

    /// Lowers the interrupt.
    pub fn clear(&self) {
        self.0.raised.store(false, Ordering::SeqCst);
    }

    /// Whether the interrupt is raised.
    pub fn is_raised(&self) -> bool {
        self.0.raised.load(Ordering::SeqCst)
    }

    pub(crate) fn register(&self, parker: &Arc<Parker>) -> u64 {
        let mut w = self.0.waiters.lock();
        let id = w.next_id;
        w.next_id += 1;
        w.parkers.push((id, parker.clone()));
        id
    }

    pub(crate) fn unregister(&self, id: u64) {
        self.0.waiters.lock().parkers.retain(|(i, _)| *i != id);
    }
}

impl std::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupt")
            .field("raised", &self.is_raised())
            .finish()
    }
}

/// What a successful wait reports: the time left of `timeout`, at least 1 ns
/// (the kernel's "positive remaining jiffies"), or `None` without a timeout.
fn remaining(timeout: Option<Duration>, start: Instant) -> Option<Duration> {
    timeout.map(|t| {
        t.saturating_sub(start.elapsed())
            .max(Duration::from_nanos(1))
    })
}

pub(super) fn wait_timeout(
    fence: &Fence,
    timeout: Option<Duration>,
    intr: Option<&Interrupt>,
) -> Result<Option<Duration>> {
    signalling::might_wait();
    let start = Instant::now();
    if fence.enable_signaling_inner() {
        return Ok(remaining(timeout, start));
    }
    if intr.is_some_and(Interrupt::is_raised) {
        return Err(Error::Interrupted);
    }
    if timeout == Some(Duration::ZERO) {
        return Err(Error::TimedOut);
    }
    let deadline = deadline_after(timeout);
    match intr {
        None => futex_wait(fence, deadline)?,
        Some(intr) => {
            wait_any_parked(std::slice::from_ref(fence), deadline, Some(intr))?;
        }
    }
    Ok(remaining(timeout, start))
}

/// Sleeps on the fence's state word until `SIGNALED` or the deadline.
fn futex_wait(fence: &Fence, deadline: Option<Instant>) -> Result<()> {
    let word = fence.0.state.word();
    loop {
        let s = word.load(Ordering::Acquire);
        if s & SIGNALED != 0 {
            return Ok(());
        }
        if s & WAITERS == 0
            && word
                .compare_exchange_weak(s, s | WAITERS, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            continue;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::TimedOut);
        }
        fence.0.state.wait(s | WAITERS, deadline);
    }
}

/// Waits until one of `fences` signals: the kernel's
/// `dma_fence_wait_any_timeout`.
///
/// Returns the index of the first signalled fence (the lowest signalled
/// index when woken; the first that was already signalled while queueing) and
/// the time left as [`Fence::wait_timeout`] reports it; if a fence had
/// signalled before the wait could queue on it, the whole `timeout` is
/// reported as left, as the kernel does.
///
/// # Errors
/// * [`Error::Invalid`] for an empty slice.
/// * [`Error::TimedOut`] when the timeout passed.
/// * [`Error::Interrupted`] when `intr` was raised.
#[doc(alias = "dma_fence_wait_any_timeout")]
pub fn wait_any_timeout(
    fences: &[Fence],
    timeout: Option<Duration>,
    intr: Option<&Interrupt>,
) -> Result<(usize, Option<Duration>)> {
    if fences.is_empty() {
        return Err(Error::Invalid("wait_any on no fences"));
    }
    signalling::might_wait();
    if timeout == Some(Duration::ZERO) {
        return match fences.iter().position(Fence::is_signaled) {
            Some(i) => Ok((i, remaining(timeout, Instant::now()))),
            None => Err(Error::TimedOut),
        };
    }
    let start = Instant::now();
    match wait_any_parked(fences, deadline_after(timeout), intr)? {
        Early(i) => Ok((i, timeout)),
        Woken(i) => Ok((i, remaining(timeout, start))),
    }
}

enum AnyOutcome {
    /// Fence `i` had signalled before a callback could be queued on it.
    Early(usize),
    /// Fence `i` was found signalled after sleeping.
    Woken(usize),
}
use AnyOutcome::{Early, Woken};

/// Queues one wake-up callback per fence and sleeps until one signals, the
/// deadline passes or `intr` is raised. Every callback is removed before
/// returning.
fn wait_any_parked(
    fences: &[Fence],
    deadline: Option<Instant>,
    intr: Option<&Interrupt>,
) -> Result<AnyOutcome> {
    let parker = Arc::new(Parker::default());
    let mut ids = Vec::with_capacity(fences.len());
    let mut outcome = None;
    for (i, fence) in fences.iter().enumerate() {
        let p = parker.clone();
        match fence.add_callback(move |_| p.notify()) {
            Ok(id) => ids.push(id),
            Err(_) => {
                outcome = Some(Ok(Early(i)));
                break;
            }
        }
    }
    let registration = intr.map(|i| (i, i.register(&parker)));
    let outcome = outcome.unwrap_or_else(|| loop {
        if let Some(i) = fences.iter().position(Fence::test_signaled_flag) {
            break Ok(Woken(i));
        }
        if intr.is_some_and(Interrupt::is_raised) {
            break Err(Error::Interrupted);
        }
        if !parker.park(deadline) {
            break match fences.iter().position(Fence::test_signaled_flag) {
                Some(i) => Ok(Woken(i)),
                None => Err(Error::TimedOut),
            };
        }
    });
    if let Some((i, id)) = registration {
        i.unregister(id);
    }
    for (fence, id) in fences.iter().zip(ids) {
        fence.remove_callback(id);
    }
    outcome
}
