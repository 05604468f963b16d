//! Fence signalling critical sections: the kernel's `dma_fence_begin_signalling`
//! / `dma_fence_end_signalling` lockdep annotations, as an opt-in checker.
//!
//! Code that must run for a fence to signal (from the moment the fence is
//! visible to others until [`Fence::signal`](super::Fence::signal)) is
//! bracketed by a [`Section`]. Inside one, waiting for a fence or taking a
//! reservation lock can deadlock: whoever holds that lock may be waiting for
//! this very fence. With checking enabled ([`set_checking`]), every such
//! wait or lock inside a section is recorded as a [`Violation`], to be
//! collected with [`take_violations`]. [`Fence::signal`](super::Fence::signal)
//! is itself a section, so callbacks that wait are reported too.
//!
//! Sections nest; they are per thread. With checking disabled (the default)
//! a section costs one relaxed atomic load.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

static CHECKING: AtomicBool = AtomicBool::new(false);
static VIOLATIONS: Mutex<Vec<Violation>> = Mutex::new(Vec::new());

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// What was done inside a signalling critical section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A fence wait inside a section (contract rule C10).
    WaitInSignalling {
        /// The thread's name, if it has one.
        thread: Option<String>,
    },
    /// A reservation lock taken inside a section (contract rule C10).
    ResvLockInSignalling {
        /// The thread's name, if it has one.
        thread: Option<String>,
    },
}

/// Turns the checker on or off for the whole process.
pub fn set_checking(enabled: bool) {
    CHECKING.store(enabled, Ordering::SeqCst);
}

/// Whether the checker is on.
pub fn checking() -> bool {
    CHECKING.load(Ordering::Relaxed)
}

/// Removes and returns the violations recorded so far.
pub fn take_violations() -> Vec<Violation> {
    std::mem::take(&mut *VIOLATIONS.lock())
}

/// A signalling critical section, ended when dropped.
#[doc(alias = "dma_fence_begin_signalling")]
#[must_use = "the section ends when the value is dropped"]
pub struct Section {
    /// Whether this level took the annotation (the kernel's cookie).
    took: bool,
}

impl Section {
    /// Begins a section on this thread.
    pub fn begin() -> Section {
        let took = checking();
        if took {
            DEPTH.with(|d| d.set(d.get() + 1));
        }
        Section { took }
    }
}

impl Drop for Section {
    #[doc(alias = "dma_fence_end_signalling")]
    fn drop(&mut self) {
        if self.took {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
}

/// Whether this thread is inside a section (with checking on).
pub fn in_section() -> bool {
    checking() && DEPTH.with(|d| d.get() > 0)
}

fn record(v: fn(Option<String>) -> Violation) {
    if in_section() {
        let name = std::thread::current().name().map(str::to_owned);
        VIOLATIONS.lock().push(v(name));
    }
}

/// Annotates a fence wait (`__dma_fence_might_wait`).
pub(crate) fn might_wait() {
    record(|thread| Violation::WaitInSignalling { thread });
}

/// Annotates taking a reservation lock.
pub fn might_lock_resv() {
    record(|thread| Violation::ResvLockInSignalling { thread });
}
