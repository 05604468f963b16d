//! Wound/wait mutexes in their wait-die flavour (`struct ww_mutex`,
//! `struct ww_acquire_ctx`, include/linux/ww_mutex.h and
//! kernel/locking/ww_mutex.h, Linux 6.12): the lock of every reservation
//! object, which lets a thread lock any set of objects, in any order,
//! without deadlock.
//!
//! # Protocol
//!
//! A thread that needs several locks of one [`WwClass`] creates an
//! [`AcquireCtx`], which draws a *stamp* from the class: smaller stamps are
//! older, and older contexts win. It then locks the objects one by one with
//! [`WwMutex::lock`]. When a lock is held by someone else:
//!
//! * a context that holds **no** lock yet simply waits, even behind an older
//!   holder or waiter;
//! * an *older* context waits;
//! * a *younger* context that already holds a lock, and would have to wait
//!   for a lock held by an older context or already queued for by one,
//!   *dies*: the call returns [`Error::Deadlock`] (`-EDEADLK`). The thread
//!   must then drop every lock of the context, sleep on the contended lock
//!   with [`WwMutex::lock_slow`] and lock the rest again
//!   ([`exec`](super::exec) does this loop).
//!
//! Waits only ever go from a context holding nothing, or from an older
//! context to a younger one, so no cycle of waits can form. When an older
//! context queues, younger waiters that hold locks are woken so that they
//! can die. Locks taken with no context never die and give no protection
//! against deadlock.
//!
//! # State
//!
//! `state` (a short-held mutex) holds the owner, if any, and the queue of
//! waiters, each with its context's stamp, whether that context held locks
//! when it queued, and a parker to wake it. Unlocking clears the owner
//! and wakes every waiter; each re-checks the rules above, so a newly
//! arrived older owner or older waiter is always noticed. The protected
//! value lives in a second mutex that only the owner ever takes.

use std::cell::Cell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering as StdOrdering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fence::Interrupt;
use crate::sync::{Mutex, MutexGuard, Parker};

/// A class of wound/wait mutexes: the locks one acquire context may take
/// together, and the counter their contexts draw stamps from.
///
/// Stamps only need to be unique and increasing, so the counter is a plain
/// `std` atomic even in model-checked builds. Classes live for the whole
/// program (`static`).
#[doc(alias = "ww_class")]
pub struct WwClass {
    name: &'static str,
    stamp: StdAtomicU64,
}

impl WwClass {
    /// A new class (the kernel's `DEFINE_WD_CLASS`).
    pub const fn new(name: &'static str) -> WwClass {
        WwClass {
            name,
            stamp: StdAtomicU64::new(1),
        }
    }

    /// The class's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Debug for WwClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WwClass").field("name", &self.name).finish()
    }
}

/// The class of every reservation object's lock.
#[doc(alias = "reservation_ww_class")]
pub static RESERVATION_WW_CLASS: WwClass = WwClass::new("reservation_ww_class");

/// Unique ids for locks (the contended-lock check of the slow path) and for
/// waiters.
static NEXT_ID: StdAtomicU64 = StdAtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, StdOrdering::Relaxed)
}

/// An acquire context: one thread's attempt to take a set of locks of one
/// class (`ww_acquire_init` .. `ww_acquire_fini`).
///
/// It belongs to the thread that created it (it is neither `Send` nor
/// `Sync`), and every guard taken with it borrows it, so it outlives them.
/// Contexts compare by age: the one created first (smaller stamp) wins.
#[doc(alias = "ww_acquire_ctx")]
pub struct AcquireCtx {
    class: &'static WwClass,
    stamp: u64,
    /// Locks currently held with this context.
    acquired: Cell<u32>,
    /// `ww_acquire_done` was called: no more locks may be taken.
    done: Cell<bool>,
    /// `fini` was called.
    finished: Cell<bool>,
    /// The lock whose contention made the last lock call return
    /// [`Error::Deadlock`]: the one [`WwMutex::lock_slow`] must be used on.
    contending: Cell<Option<u64>>,
}

impl AcquireCtx {
    /// Starts an acquire context of `class`, drawing the next stamp.
    #[doc(alias = "ww_acquire_init")]
    pub fn new(class: &'static WwClass) -> AcquireCtx {
        AcquireCtx {
            class,
            stamp: class.stamp.fetch_add(1, StdOrdering::Relaxed),
            acquired: Cell::new(0),
            done: Cell::new(false),
            finished: Cell::new(false),
            contending: Cell::new(None),
        }
    }

    /// A context of the reservation class, for locking [`Resv`](super::Resv)s.
    pub fn reservation() -> AcquireCtx {
        AcquireCtx::new(&RESERVATION_WW_CLASS)
    }

    /// The context's stamp (smaller is older).
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// How many locks the context holds.
    pub fn acquired(&self) -> u32 {
        self.acquired.get()
    }

    /// Marks the end of the acquire phase: later lock calls with this
    /// context fail with [`Error::Invalid`].
    #[doc(alias = "ww_acquire_done")]
    pub fn done(&self) {
        self.done.set(true);
    }

    /// Ends the context.
    ///
    /// # Errors
    /// [`Error::Busy`] (`-EBUSY`; the kernel warns) while the context still
    /// holds locks: they must be unlocked first. The context stays usable.
    #[doc(alias = "ww_acquire_fini")]
    pub fn fini(&self) -> Result<()> {
        if self.acquired.get() > 0 {
            return Err(Error::Busy);
        }
        self.finished.set(true);
        Ok(())
    }
}

impl fmt::Debug for AcquireCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireCtx")
            .field("class", &self.class.name)
            .field("stamp", &self.stamp)
            .field("acquired", &self.acquired.get())
            .finish()
    }
}

#[derive(Clone, Copy)]
struct Owner {
    /// The owning context's stamp; `None` for a lock taken without one.
    stamp: Option<u64>,
}

struct Waiter {
    id: u64,
    stamp: Option<u64>,
    /// The waiter's context held locks when it queued (it may have to die).
    holds: bool,
    parker: Arc<Parker>,
}

#[derive(Default)]
struct State {
    owner: Option<Owner>,
    waiters: Vec<Waiter>,
}

/// A wound/wait mutex (wait-die) protecting a `T`.
///
/// # Locking
/// Lock calls may sleep. A guard unlocks when dropped, on the thread that
/// locked (guards are not `Send`). Locks of one class taken with one
/// [`AcquireCtx`] never deadlock against each other; locks taken without a
/// context do not get that protection.
#[doc(alias = "ww_mutex")]
pub struct WwMutex<T> {
    class: &'static WwClass,
    id: u64,
    state: Mutex<State>,
    data: Mutex<T>,
}

impl<T: Default> Default for WwMutex<T> {
    fn default() -> Self {
        WwMutex::new(&RESERVATION_WW_CLASS, T::default())
    }
}

impl<T> fmt::Debug for WwMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WwMutex")
            .field("class", &self.class.name)
            .field("locked", &self.is_locked())
            .finish()
    }
}

impl<T> WwMutex<T> {
    /// A new unlocked mutex of `class` (`ww_mutex_init`).
    #[doc(alias = "ww_mutex_init")]
    pub fn new(class: &'static WwClass, value: T) -> WwMutex<T> {
        WwMutex {
            class,
            id: next_id(),
            state: Mutex::new(State::default()),
            data: Mutex::new(value),
        }
    }

    /// The mutex's class.
    pub fn class(&self) -> &'static WwClass {
        self.class
    }

    /// Locks the mutex, sleeping while another owner holds it.
    ///
    /// With `ctx`, follows the wait-die rules of the module documentation;
    /// with `None`, waits for the lock like a plain mutex.
    ///
    /// # Errors
    /// * [`Error::Deadlock`] (`-EDEADLK`): `ctx` is younger than the holder
    ///   of, or a waiter for, this lock and already holds a lock; back off.
    /// * [`Error::AlreadyLocked`] (`-EALREADY`): `ctx` holds this lock.
    /// * [`Error::Invalid`] (`-EINVAL`; kernel warnings): `ctx` is of another
    ///   class, was marked done, or was finished.
    #[doc(alias = "ww_mutex_lock")]
    pub fn lock<'a>(&'a self, ctx: Option<&'a AcquireCtx>) -> Result<WwMutexGuard<'a, T>> {
        self.lock_inner(ctx, None, false)
    }

    /// [`WwMutex::lock`], interruptible by `intr` while it sleeps.
    ///
    /// # Errors
    /// Those of [`WwMutex::lock`], and [`Error::Interrupted`] (`-EINTR`)
    /// when `intr` is raised while the call has to wait.
    #[doc(alias = "ww_mutex_lock_interruptible")]
    pub fn lock_interruptible<'a>(
        &'a self,
        ctx: Option<&'a AcquireCtx>,
        intr: &Interrupt,
    ) -> Result<WwMutexGuard<'a, T>> {
        self.lock_inner(ctx, Some(intr), false)
    }

    /// The back-off slow path: after [`Error::Deadlock`] and after dropping
    /// every lock of `ctx`, sleeps until this (the contended) lock is free.
    /// It never returns [`Error::Deadlock`].
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`; kernel warnings): `ctx` still holds
    ///   locks, or this is not the lock that made `ctx` back off, or the
    ///   errors of [`WwMutex::lock`]'s context checks.
    #[doc(alias = "ww_mutex_lock_slow")]
    pub fn lock_slow<'a>(&'a self, ctx: &'a AcquireCtx) -> Result<WwMutexGuard<'a, T>> {
        self.lock_inner(Some(ctx), None, true)
    }

    /// [`WwMutex::lock_slow`], interruptible by `intr`.
    ///
    /// # Errors
    /// Those of [`WwMutex::lock_slow`], and [`Error::Interrupted`].
    #[doc(alias = "ww_mutex_lock_slow_interruptible")]
    pub fn lock_slow_interruptible<'a>(
        &'a self,
        ctx: &'a AcquireCtx,
        intr: &Interrupt,
    ) -> Result<WwMutexGuard<'a, T>> {
        self.lock_inner(Some(ctx), Some(intr), true)
    }

    /// Takes the lock if it is free, without sleeping.
    ///
    /// # Errors
    /// * [`Error::Busy`] (`-EBUSY`; the kernel returns false) when it is held.
    /// * [`Error::AlreadyLocked`] when `ctx` holds it.
    /// * [`Error::Invalid`] for a context of another class, done or finished.
    #[doc(alias = "ww_mutex_trylock")]
    pub fn try_lock<'a>(&'a self, ctx: Option<&'a AcquireCtx>) -> Result<WwMutexGuard<'a, T>> {
        if let Some(c) = ctx {
            self.check_ctx(c)?;
        }
        let my_stamp = ctx.map(|c| c.stamp);
        {
            let mut st = self.state.lock();
            match st.owner {
                Some(o) if my_stamp.is_some() && o.stamp == my_stamp => {
                    return Err(Error::AlreadyLocked)
                }
                Some(_) => return Err(Error::Busy),
                None => st.owner = Some(Owner { stamp: my_stamp }),
            }
        }
        Ok(self.acquired(ctx))
    }

    /// Whether somebody holds the lock (a racy snapshot).
    #[doc(alias = "ww_mutex_is_locked")]
    pub fn is_locked(&self) -> bool {
        self.state.lock().owner.is_some()
    }

    /// The stamp of the context holding the lock, if it is held with one.
    #[doc(alias = "dma_resv_locking_ctx")]
    pub fn owner_stamp(&self) -> Option<u64> {
        self.state.lock().owner.and_then(|o| o.stamp)
    }

    /// Access to the value when no guard can exist (`&mut self`).
    pub fn with_mut<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.data.lock())
    }

    fn check_ctx(&self, c: &AcquireCtx) -> Result<()> {
        if !std::ptr::eq(c.class, self.class) {
            return Err(Error::Invalid("acquire context of another ww class"));
        }
        if c.finished.get() {
            return Err(Error::Invalid("acquire context already finished"));
        }
        if c.done.get() {
            return Err(Error::Invalid("lock after ww_acquire_done"));
        }
        Ok(())
    }

    fn acquired<'a>(&'a self, ctx: Option<&'a AcquireCtx>) -> WwMutexGuard<'a, T> {
        if let Some(c) = ctx {
            c.acquired.set(c.acquired.get() + 1);
        }
        WwMutexGuard {
            mutex: self,
            ctx,
            data: self.data.lock(),
        }
    }

    fn lock_inner<'a>(
        &'a self,
        ctx: Option<&'a AcquireCtx>,
        intr: Option<&Interrupt>,
        slow: bool,
    ) -> Result<WwMutexGuard<'a, T>> {
        if let Some(c) = ctx {
            self.check_ctx(c)?;
            if slow {
                if c.acquired.get() > 0 {
                    return Err(Error::Invalid("lock_slow while holding locks"));
                }
                if c.contending.get() != Some(self.id) {
                    return Err(Error::Invalid("lock_slow on a lock that was not contended"));
                }
            }
        }
        let my_stamp = ctx.map(|c| c.stamp);
        // Only a context holding locks can die (the 6.12 rule).
        let dying_stamp = ctx.filter(|c| c.acquired.get() > 0).map(|c| c.stamp);
        // (id, parker, interrupt registration) once queued.
        let mut queued: Option<(u64, Arc<Parker>, Option<u64>)> = None;
        let outcome = loop {
            let mut st = self.state.lock();
            let outcome = match st.owner {
                Some(o) if my_stamp.is_some() && o.stamp == my_stamp => {
                    Some(Err(Error::AlreadyLocked))
                }
                None => {
                    st.owner = Some(Owner { stamp: my_stamp });
                    Some(Ok(()))
                }
                Some(o) => {
                    let my_id = queued.as_ref().map(|q| q.0);
                    let must_die = dying_stamp.is_some_and(|s| {
                        o.stamp.is_some_and(|os| os < s)
                            || st
                                .waiters
                                .iter()
                                .any(|w| Some(w.id) != my_id && w.stamp.is_some_and(|ws| ws < s))
                    });
                    if must_die {
                        Some(Err(Error::Deadlock))
                    } else if intr.is_some_and(Interrupt::is_raised) {
                        Some(Err(Error::Interrupted))
                    } else {
                        None
                    }
                }
            };
            if let Some(outcome) = outcome {
                if let Some((id, _, _)) = &queued {
                    st.waiters.retain(|w| w.id != *id);
                }
                break outcome;
            }
            let parker = match &queued {
                Some((_, p, _)) => p.clone(),
                None => {
                    let id = next_id();
                    let parker = Arc::new(Parker::default());
                    st.waiters.push(Waiter {
                        id,
                        stamp: my_stamp,
                        holds: dying_stamp.is_some(),
                        parker: parker.clone(),
                    });
                    if let Some(s) = my_stamp {
                        // An older context queued: younger waiters holding
                        // locks must re-check and die.
                        for w in st.waiters.iter().filter(|w| w.holds) {
                            if w.stamp.is_some_and(|ws| ws > s) {
                                w.parker.notify();
                            }
                        }
                    }
                    let reg = intr.map(|i| i.register(&parker));
                    queued = Some((id, parker.clone(), reg));
                    parker
                }
            };
            drop(st);
            parker.park(None);
        };
        if let (Some(i), Some((_, _, Some(reg)))) = (intr, &queued) {
            i.unregister(*reg);
        }
        match outcome {
            Ok(()) => {
                if let Some(c) = ctx {
                    c.contending.set(None);
                }
                Ok(self.acquired(ctx))
            }
            Err(Error::Deadlock) => {
                if let Some(c) = ctx {
                    c.contending.set(Some(self.id));
                }
                Err(Error::Deadlock)
            }
            Err(e) => Err(e),
        }
    }

    fn unlock(&self) {
        let mut st = self.state.lock();
        st.owner = None;
        for w in &st.waiters {
            w.parker.notify();
        }
    }
}

/// Proof of holding a [`WwMutex`]: gives access to the value and unlocks
/// when dropped (`ww_mutex_unlock`).
///
/// Borrows the mutex and the acquire context, so neither can go away while
/// it lives; not `Send`: unlock happens on the locking thread.
#[must_use = "the lock is released when the guard is dropped"]
pub struct WwMutexGuard<'a, T> {
    mutex: &'a WwMutex<T>,
    ctx: Option<&'a AcquireCtx>,
    data: MutexGuard<'a, T>,
}

impl<'a, T> WwMutexGuard<'a, T> {
    /// The locked mutex.
    pub fn mutex(&self) -> &'a WwMutex<T> {
        self.mutex
    }

    /// The acquire context the lock was taken with.
    pub fn ctx(&self) -> Option<&'a AcquireCtx> {
        self.ctx
    }
}

impl<T> Deref for WwMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T> DerefMut for WwMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

impl<T> Drop for WwMutexGuard<'_, T> {
    #[doc(alias = "ww_mutex_unlock")]
    fn drop(&mut self) {
        // The value's own mutex is released right after this, when the
        // field drops; a new owner blocks on it only for that instant.
        self.mutex.unlock();
        if let Some(c) = self.ctx {
            c.acquired.set(c.acquired.get().saturating_sub(1));
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for WwMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WwMutexGuard")
            .field("value", &*self.data)
            .finish()
    }
}
