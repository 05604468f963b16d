//! Locking a whole set of wound/wait mutexes or reservation objects with
//! the back-off and retry loop: the job of `drm_exec`
//! (drivers/gpu/drm/drm_exec.c, Linux 6.12).
//!
//! [`Exec::lock_all`] locks the objects in the order given. When a lock
//! answers [`Error::Deadlock`], every lock taken so far is dropped, the
//! contended object is locked first with the slow path (which sleeps
//! instead of dying), and the others are locked again. Because the acquire
//! context keeps its stamp across retries, it only gets older relative to
//! newcomers, so it eventually wins.

use crate::error::{Error, Result};
use crate::fence::Interrupt;

use super::ww::{AcquireCtx, WwMutex, WwMutexGuard};

/// Something lockable with an acquire context: a [`WwMutex`] or a
/// [`Resv`](super::Resv).
pub trait WwLockable<'a> {
    /// The guard a successful lock returns.
    type Guard: 'a;

    /// Locks with `ctx`, interruptible when `intr` is given
    /// ([`WwMutex::lock`] / [`WwMutex::lock_interruptible`]).
    ///
    /// # Errors
    /// As [`WwMutex::lock_interruptible`].
    fn ww_lock(&'a self, ctx: &'a AcquireCtx, intr: Option<&Interrupt>) -> Result<Self::Guard>;

    /// The slow path ([`WwMutex::lock_slow`]).
    ///
    /// # Errors
    /// As [`WwMutex::lock_slow_interruptible`].
    fn ww_lock_slow(&'a self, ctx: &'a AcquireCtx, intr: Option<&Interrupt>)
        -> Result<Self::Guard>;
}

impl<'a, T: 'a> WwLockable<'a> for WwMutex<T> {
    type Guard = WwMutexGuard<'a, T>;

    fn ww_lock(&'a self, ctx: &'a AcquireCtx, intr: Option<&Interrupt>) -> Result<Self::Guard> {
        match intr {
            Some(i) => self.lock_interruptible(Some(ctx), i),
            None => self.lock(Some(ctx)),
        }
    }

    fn ww_lock_slow(
        &'a self,
        ctx: &'a AcquireCtx,
        intr: Option<&Interrupt>,
    ) -> Result<Self::Guard> {
        match intr {
            Some(i) => self.lock_slow_interruptible(ctx, i),
            None => self.lock_slow(ctx),
        }
    }
}

/// A set-locking helper bound to one acquire context (`struct drm_exec`).
///
/// # Locking
/// The guards returned borrow the context; drop them all before calling
/// [`AcquireCtx::fini`]. Calls may sleep.
#[doc(alias = "drm_exec")]
#[derive(Debug)]
pub struct Exec<'a> {
    ctx: &'a AcquireCtx,
    ignore_duplicates: bool,
    interrupt: Option<&'a Interrupt>,
    retries: u32,
}

impl<'a> Exec<'a> {
    /// A helper locking with `ctx` (`drm_exec_init`).
    #[doc(alias = "drm_exec_init")]
    pub fn new(ctx: &'a AcquireCtx) -> Exec<'a> {
        Exec {
            ctx,
            ignore_duplicates: false,
            interrupt: None,
            retries: 0,
        }
    }

    /// Objects listed twice are locked once instead of failing
    /// (`DRM_EXEC_IGNORE_DUPLICATES`).
    pub fn ignore_duplicates(mut self, yes: bool) -> Exec<'a> {
        self.ignore_duplicates = yes;
        self
    }

    /// Makes every wait interruptible by `intr`
    /// (`DRM_EXEC_INTERRUPTIBLE_WAIT`).
    pub fn interruptible(mut self, intr: &'a Interrupt) -> Exec<'a> {
        self.interrupt = Some(intr);
        self
    }

    /// How many times [`Exec::lock_all`] had to back off so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Locks every object of `objs`, backing off and retrying on
    /// [`Error::Deadlock`], and returns their guards in the order of
    /// `objs` (a duplicate, when ignored, has no guard of its own).
    ///
    /// # Errors
    /// * [`Error::AlreadyLocked`] (`-EALREADY`): an object is listed twice
    ///   (without [`Exec::ignore_duplicates`]) or the context already holds
    ///   one of them. Nothing stays locked by this call.
    /// * [`Error::Interrupted`] (`-EINTR`) when the interrupt was raised
    ///   during a wait.
    /// * [`Error::Invalid`] for a context of another class, done or finished.
    #[doc(alias = "drm_exec_lock_obj")]
    #[doc(alias = "drm_exec_until_all_locked")]
    pub fn lock_all<L>(&mut self, objs: &[&'a L]) -> Result<Vec<L::Guard>>
    where
        L: WwLockable<'a> + ?Sized,
    {
        let mut contended: Option<usize> = None;
        'retry: loop {
            let mut guards: Vec<Option<L::Guard>> = Vec::with_capacity(objs.len());
            guards.resize_with(objs.len(), || None);
            if let Some(c) = contended {
                guards[c] = Some(objs[c].ww_lock_slow(self.ctx, self.interrupt)?);
            }
            for (i, obj) in objs.iter().enumerate() {
                if Some(i) == contended {
                    continue;
                }
                match obj.ww_lock(self.ctx, self.interrupt) {
                    Ok(g) => guards[i] = Some(g),
                    Err(Error::AlreadyLocked) if self.ignore_duplicates && is_dup(objs, i) => {}
                    Err(Error::Deadlock) => {
                        drop(guards);
                        self.retries += 1;
                        contended = Some(i);
                        continue 'retry;
                    }
                    Err(e) => return Err(e),
                }
            }
            return Ok(guards.into_iter().flatten().collect());
        }
    }
}

/// Whether `objs[i]` also appears earlier in `objs`.
fn is_dup<T: ?Sized>(objs: &[&T], i: usize) -> bool {
    objs.iter()
        .enumerate()
        .any(|(j, o)| j != i && std::ptr::addr_eq(*o as *const T, objs[i] as *const T))
}

impl<'a> WwLockable<'a> for super::Resv {
    type Guard = super::ResvGuard<'a>;

    fn ww_lock(&'a self, ctx: &'a AcquireCtx, intr: Option<&Interrupt>) -> Result<Self::Guard> {
        match intr {
            Some(i) => self.lock_interruptible(Some(ctx), i),
            None => self.lock(Some(ctx)),
        }
    }

    fn ww_lock_slow(
        &'a self,
        ctx: &'a AcquireCtx,
        intr: Option<&Interrupt>,
    ) -> Result<Self::Guard> {
        match intr {
            Some(i) => self.lock_slow_interruptible(ctx, i),
            None => self.lock_slow(ctx),
        }
    }
}
