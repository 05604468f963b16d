//! The one place that chooses between std's synchronisation primitives and
//! loom's model-checked ones (`--cfg loom`), so that the signalling, callback
//! and waiting paths run unchanged under the model checker.
//!
//! Besides re-exports it provides the two waiting primitives the fence layer is
//! built on:
//!
//! * [`Futex`]: a 32-bit state word that threads can sleep on until it changes
//!   (the Linux futex; under loom a mutex and condition variable emulate it).
//! * [`Parker`]: a one-shot wake-up for a single waiting thread, used where one
//!   thread waits for any of several events (`wait_any`, interruptible waits).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64};

pub(crate) use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A mutex whose `lock` cannot fail: poisoning is not part of the model (no
/// code of ours panics while holding it).
#[derive(Debug, Default)]
pub(crate) struct Mutex<T> {
    #[cfg(not(loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex {
            #[cfg(not(loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(loom))]
        return self.inner.lock();
        #[cfg(loom)]
        return self.inner.lock().unwrap_or_else(|e| e.into_inner());
    }
}

/// A 32-bit word that threads can wait on until its value changes.
///
/// Protocol (the futex protocol): a waiter reads the word, decides to sleep,
/// and calls [`Futex::wait`] with the value it read; the call returns at once
/// if the word no longer holds that value. A waker changes the word first and
/// then calls [`Futex::wake_all`]. Because the comparison and the sleep are one
/// atomic step, no wake-up is lost.
#[derive(Debug, Default)]
pub(crate) struct Futex {
    word: AtomicU32,
    #[cfg(loom)]
    lock: loom::sync::Mutex<()>,
    #[cfg(loom)]
    cond: loom::sync::Condvar,
}

impl Futex {
    pub(crate) fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
            #[cfg(loom)]
            lock: loom::sync::Mutex::new(()),
            #[cfg(loom)]
            cond: loom::sync::Condvar::new(),
        }
    }

    /// The state word itself, for atomic reads and updates.
    pub(crate) fn word(&self) -> &AtomicU32 {
        &self.word
    }

    /// Sleeps while the word equals `expected`, until woken or until
    /// `deadline`. Spurious returns are allowed: callers re-check the word.
    pub(crate) fn wait(&self, expected: u32, deadline: Option<Instant>) {
        #[cfg(not(loom))]
        {
            let timeout = match deadline {
                None => None,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    Some(rustix::thread::futex::Timespec {
                        tv_sec: left.as_secs() as i64,
                        tv_nsec: left.subsec_nanos() as i64,
                    })
                }
            };
            // EAGAIN (value changed), EINTR and ETIMEDOUT all mean: re-check.
            let _ = rustix::thread::futex::wait(
                &self.word,
                rustix::thread::futex::Flags::PRIVATE,
                expected,
                timeout.as_ref(),
            );
        }
        #[cfg(loom)]
        {
            // Loom has no time: a deadline is modelled as "may return early".
            let _ = deadline;
            let guard = self.lock.lock().unwrap();
            if self.word.load(Ordering::SeqCst) == expected {
                drop(self.cond.wait(guard).unwrap());
            }
        }
    }

    /// Wakes every thread sleeping in [`Futex::wait`].
    pub(crate) fn wake_all(&self) {
        #[cfg(not(loom))]
        {
            let _ = rustix::thread::futex::wake(
                &self.word,
                rustix::thread::futex::Flags::PRIVATE,
                i32::MAX as u32,
            );
        }
        #[cfg(loom)]
        {
            let _guard = self.lock.lock().unwrap();
            self.cond.notify_all();
        }
    }
}

/// A wake-up for one waiting thread.
///
/// [`Parker::notify`] may be called from any thread, any number of times; the
/// next [`Parker::park`] consumes the notification (or sleeps until one
/// comes), so a notification is never lost and never seen twice.
#[derive(Debug)]
pub(crate) struct Parker {
    futex: Futex,
}

impl Default for Parker {
    fn default() -> Self {
        Parker {
            futex: Futex::new(0),
        }
    }
}

impl Parker {
    /// Leaves a notification and wakes the waiter.
    pub(crate) fn notify(&self) {
        if self.futex.word().swap(1, Ordering::AcqRel) == 0 {
            self.futex.wake_all();
        }
    }

    /// Sleeps until notified or until `deadline`; returns whether a
    /// notification was consumed.
    pub(crate) fn park(&self, deadline: Option<Instant>) -> bool {
        loop {
            if self.futex.word().swap(0, Ordering::AcqRel) == 1 {
                return true;
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return false;
                }
            }
            self.futex.wait(0, deadline);
            #[cfg(loom)]
            if deadline.is_some() {
                return self.futex.word().swap(0, Ordering::AcqRel) == 1;
            }
        }
    }
}

/// Converts a relative timeout into an absolute deadline (`None`: forever).
pub(crate) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}
