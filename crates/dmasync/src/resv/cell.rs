//! The two lock-free cells the published fence list is built from, in one
//! place so that model-checked builds (`--cfg loom`) can swap them.
//!
//! * [`ArcCell`]: an `Arc<T>` that writers replace and readers load without
//!   blocking (the kernel's `rcu_assign_pointer` / `rcu_dereference`).
//! * [`OptionCell`]: the same for an `Option<Arc<T>>`, one per list slot.
//!
//! Normal builds use `arc-swap`: a load never blocks and never sees a torn
//! value, and the old value is freed when its last reader lets go, which is
//! RCU's grace period. Loom builds use a mutex per cell: loom then checks
//! the algorithm built on the cells (publication order, restarts), not
//! arc-swap's internals.

use std::sync::Arc;

/// A replaceable `Arc<T>`; see the module documentation.
pub(crate) struct ArcCell<T> {
    #[cfg(not(loom))]
    inner: arc_swap::ArcSwap<T>,
    #[cfg(loom)]
    inner: crate::sync::Mutex<Arc<T>>,
}

impl<T> ArcCell<T> {
    pub(crate) fn new(value: Arc<T>) -> Self {
        ArcCell {
            #[cfg(not(loom))]
            inner: arc_swap::ArcSwap::new(value),
            #[cfg(loom)]
            inner: crate::sync::Mutex::new(value),
        }
    }

    /// The current value.
    pub(crate) fn load(&self) -> Arc<T> {
        #[cfg(not(loom))]
        return self.inner.load_full();
        #[cfg(loom)]
        return self.inner.lock().clone();
    }

    /// Publishes `value`; readers that loaded the old one keep it alive.
    pub(crate) fn store(&self, value: Arc<T>) {
        #[cfg(not(loom))]
        self.inner.store(value);
        #[cfg(loom)]
        {
            *self.inner.lock() = value;
        }
    }

    /// Whether the current value is `other` (pointer identity).
    pub(crate) fn is(&self, other: &Arc<T>) -> bool {
        #[cfg(not(loom))]
        return Arc::ptr_eq(&self.inner.load(), other);
        #[cfg(loom)]
        return Arc::ptr_eq(&self.inner.lock(), other);
    }
}

/// A replaceable `Option<Arc<T>>`; see the module documentation.
pub(crate) struct OptionCell<T> {
    #[cfg(not(loom))]
    inner: arc_swap::ArcSwapOption<T>,
    #[cfg(loom)]
    inner: crate::sync::Mutex<Option<Arc<T>>>,
}

impl<T> OptionCell<T> {
    pub(crate) fn empty() -> Self {
        OptionCell {
            #[cfg(not(loom))]
            inner: arc_swap::ArcSwapOption::empty(),
            #[cfg(loom)]
            inner: crate::sync::Mutex::new(None),
        }
    }

    pub(crate) fn load(&self) -> Option<Arc<T>> {
        #[cfg(not(loom))]
        return self.inner.load_full();
        #[cfg(loom)]
        return self.inner.lock().clone();
    }

    /// Calls `f` with the current value, lent rather than cloned (no
    /// reference count is taken on the normal path).
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        #[cfg(not(loom))]
        return f(self.inner.load().as_deref());
        #[cfg(loom)]
        return f(self.inner.lock().as_deref());
    }

    pub(crate) fn store(&self, value: Option<Arc<T>>) {
        #[cfg(not(loom))]
        self.inner.store(value);
        #[cfg(loom)]
        {
            *self.inner.lock() = value;
        }
    }
}
