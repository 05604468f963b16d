//! `dma_resv`: the reservation object (drivers/dma-buf/dma-resv.c,
//! include/linux/dma-resv.h, Linux 6.12).
//!
//! # Overview
//!
//! A [`Resv`] is attached to a resource (a buffer) and holds the fences of
//! every operation that uses it, each with a [`Usage`], plus a wound/wait
//! lock ([`ww`]). Writers hold the lock; readers never take it and never
//! block: they read a snapshot of the list and take their own references.
//!
//! # Usages
//!
//! **KERNEL < WRITE < READ < BOOKKEEP.** A query for a usage returns every
//! fence of that usage and of every stronger one: [`Usage::Write`] returns
//! KERNEL and WRITE fences, what a new reader waits for; [`Usage::Read`]
//! returns every implicit-sync fence, what a new writer waits for
//! ([`Usage::rw`]). The old exclusive/shared view survives as a thin layer
//! (exclusive = KERNEL + WRITE, shared = READ; see `compat.rs`).
//!
//! # Mutation contract (lock held: methods of [`ResvGuard`])
//!
//! * [`ResvGuard::reserve_fences`] makes room for `n` more fences; the
//!   reservation is only good until the lock is dropped (debug builds take
//!   back the spare slots on unlock, `dma_resv_reset_max_fences`, so a
//!   missing reserve fails at once).
//! * [`ResvGuard::add_fence`] overwrites the **first** entry, in list order,
//!   that either has signalled or is superseded by the new fence (same
//!   context, new one later-or-same, old usage not stronger); otherwise it
//!   appends into a reserved slot, and without one it fails with
//!   [`Error::NotReserved`] (the kernel BUG()s). Container fences are not
//!   stored: their leaves are, one slot each.
//! * Nothing else removes an unsignalled fence, except
//!   [`ResvGuard::replace_fences`] and [`ResvGuard::copy_fences`].
//!
//! # Design: publication and readers (RCU's role)
//!
//! The fences live in a *published list*, `List`: a fixed array of slots,
//! each an atomically replaceable `Option<Arc<Entry>>` (fence and usage),
//! and a count `num`. The list itself is reached through an atomically
//! replaceable `Arc<List>` (`cell.rs` uses arc-swap). This is the kernel's
//! `dma_resv_list` with `rcu_assign_pointer` on every store:
//!
//! * **in-place overwrite** (add_fence replacing an entry, replace_fences)
//!   swaps one slot: a concurrent reader sees the old entry or the new one,
//!   never a mix, and the list pointer does not change (no restart);
//! * **append** stores the new slot, then publishes `num + 1` with release
//!   ordering: a reader that sees the count sees the slot;
//! * **reallocation** (reserve_fences growing the list, copy_fences) builds
//!   a whole new list, copying only unsignalled entries, and swaps the
//!   list pointer. Readers holding the old list keep it alive (the grace
//!   period); an unlocked iterator notices the new pointer after its next
//!   step and restarts ([`UnlockedIter::is_restarted`]).
//!
//! Copy-on-write of the whole list on every add would make each add cost
//! O(n); the per-slot cells make it O(1).
//!
//! [`Resv::get_fences`] (EXPORT_SYNC_FILE, get_singleton) also keeps a
//! *snapshot*: a plain copy of the whole list that a reader builds once
//! the list has stayed the same for a few reads, and that later readers
//! use with one cell read instead of one per slot. It is valid for one
//! *write generation*, a counter the lock holder makes odd before its
//! first change and even again at unlock; a reader uses a snapshot only
//! if its generation is the current one, and builds one only from a walk
//! that started and ended in the same even generation. The writer drops
//! the published snapshot at its first change, so no copy outlives the
//! entries it holds (a generation word with a "published" bit, changed by
//! read-modify-writes only, lets writer and publishing reader never both
//! miss each other; see the loom model `loom_snapshot_is_never_stale_nor_kept`).
//!
//! # Design: the writer's index
//!
//! The kernel scans the list linearly on every add. Under the lock, the
//! writer keeps beside the list a mirror of its entries, a map from context
//! to the slots of that context (ascending), and the set of slots known to
//! have signalled, fed by a callback queued on every stored fence (one
//! that does not enable signalling). The entry the kernel's scan would pick
//! is the smaller of the first superseded slot of the new fence's context
//! and the first signalled slot, so add_fence costs the same whatever the
//! number of contexts, with the kernel's result. One difference: the
//! kernel's scan also polls every entry's `signaled` peek
//! ([`FenceOps::signaled`](crate::FenceOps::signaled)) and so sees a fence
//! whose source has finished but not yet called signal; the index only
//! sees it once signalled, as if the add had run an instant earlier.
//!
//! # Locking
//!
//! Taking the lock calls [`might_lock_resv`](crate::fence::signalling::might_lock_resv)
//! (a violation inside a fence signalling section). It is legal to wait for
//! fences while holding it, and illegal to take it on a path a fence needs
//! to signal. Lock many objects with one [`AcquireCtx`] and
//! [`exec::Exec`].

mod cell;
mod compat;
mod dag;
pub mod exec;

mod iter;
mod usage;
pub mod ww;

#[cfg(test)]
mod tests;

pub use dag::{dag_checking_global, set_dag_checking_global, DagViolation};
pub use iter::{LockedIter, UnlockedIter};
pub use usage::Usage;
pub use ww::{AcquireCtx, WwClass, WwMutex, WwMutexGuard, RESERVATION_WW_CLASS};

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fence::unwrap::leaf_slice;
use crate::fence::{
    context_alloc, seqno_is_later, signalling, CallbackId, Fence, Interrupt, Notify,
};
use crate::sync::{AtomicBool, AtomicU32, AtomicU64, Mutex, Ordering};

use crate::fence::array::new_array;
use crate::fence::{is_container, unwrap};
use cell::{ArcCell, OptionCell};

/// One stored fence and its usage; immutable once published.
pub(crate) struct Entry {
    fence: Fence,
    usage: Usage,
}

/// The published list (`struct dma_resv_list`).
pub(crate) struct List {
    /// `slots.len()` is the allocated capacity; slots below `num` are set.
    slots: Box<[OptionCell<Entry>]>,
    /// Entries in use; published with release ordering after the slot.
    num: AtomicU32,
}

impl List {
    fn with_capacity(max: usize) -> List {
        List {
            slots: (0..max).map(|_| OptionCell::empty()).collect(),
            num: AtomicU32::new(0),
        }
    }

    fn num(&self) -> usize {
        self.num.load(Ordering::Acquire) as usize
    }

    fn get(&self, i: usize) -> Option<Arc<Entry>> {
        self.slots.get(i).and_then(OptionCell::load)
    }
}

/// A copy of the whole published list (every entry, signalled ones
/// included, in list order), built by a reader of [`Resv::get_fences`] and
/// valid while the object's write generation is still `gen`.
pub(crate) struct Snapshot {
    gen: u64,
    entries: Vec<(Fence, Usage)>,
}

/// A value alone on its cache lines: the words readers write (`seen`) and
/// the word the writer changes on every locked section (`state`) must not
/// share a line with the lock or the list pointer.
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// See `Resv::seen`.
const STABLE_READS: u64 = 4;

/// Signals reported by the callbacks queued on stored fences.
#[derive(Default)]
struct Tracker {
    dirty: AtomicBool,
    /// The slot of each fence that signalled. A report may be stale (the
    /// slot was overwritten while its old fence was signalling): the
    /// writer checks the slot's current fence before believing it.
    slots: Mutex<Vec<u32>>,
}

impl Notify for Tracker {
    fn notify(&self, slot: u32) {
        self.slots.lock().push(slot);
        self.dirty.store(true, Ordering::Release);
    }
}

/// The hash of the context index: contexts are small integers handed out
/// in sequence, for which a multiplicative hash is enough (and much cheaper
/// than SipHash on add_fence's path).
#[derive(Default)]
struct ContextHasher(u64);

impl Hasher for ContextHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type ContextMap<V> = HashMap<u64, V, BuildHasherDefault<ContextHasher>>;

/// The slots of one context, ascending. The first is kept inline: a
/// context usually has one slot, and add_fence then follows no pointer.
struct ContextSlots {
    first: u32,
    rest: Vec<u32>,
}

impl ContextSlots {
    fn new(slot: u32) -> ContextSlots {
        ContextSlots {
            first: slot,
            rest: Vec::new(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.first).chain(self.rest.iter().copied())
    }

    /// Adds `slot` if absent.
    fn insert(&mut self, slot: u32) {
        if slot < self.first {
            self.rest.insert(0, self.first);
            self.first = slot;
        } else if slot > self.first {
            if let Err(pos) = self.rest.binary_search(&slot) {
                self.rest.insert(pos, slot);
            }
        }
    }

    /// Removes `slot` if present; returns whether none is left.
    fn remove(&mut self, slot: u32) -> bool {
        if slot == self.first {
            if self.rest.is_empty() {
                return true;
            }
            self.first = self.rest.remove(0);
        } else if let Ok(pos) = self.rest.binary_search(&slot) {
            self.rest.remove(pos);
        }
        false
    }
}

/// One slot as the writer sees it.
struct Slot {
    entry: Arc<Entry>,
    /// Copies of `entry`'s usage and of its fence's identity, context and
    /// seqno, so that planning an add reads only the mirror.
    usage: Usage,
    fence_id: usize,
    context: u64,
    seqno: u64,
    /// The callback reporting the fence's signal; `None` if it had
    /// signalled when stored.
    cb: Option<CallbackId>,
}

/// Writer-side state, protected by the object's lock.
struct Writer {
    /// The published list; the same object as `Resv::list`.
    list: Arc<List>,
    /// Mirror of the published entries `0..num`.
    slots: Vec<Slot>,
    /// Logical capacity: slots reserved (`max_fences`).
    max: usize,
    /// Context -> its slots, ascending.
    by_context: ContextMap<ContextSlots>,
    /// Slots whose fence is known to have signalled.
    signalled: BTreeSet<u32>,
    tracker: Arc<Tracker>,
    history: dag::History,
}

impl Writer {
    fn new(list: Arc<List>) -> Writer {
        Writer {
            list,
            slots: Vec::new(),
            max: 0,
            by_context: ContextMap::default(),
            signalled: BTreeSet::new(),
            tracker: Arc::new(Tracker::default()),
            history: dag::History::default(),
        }
    }

    /// Moves the signal reports into `signalled`.
    fn drain(&mut self) {
        // A plain load first: the swap is a locked instruction, and there
        // is usually nothing to drain.
        if !self.tracker.dirty.load(Ordering::Relaxed)
            || !self.tracker.dirty.swap(false, Ordering::AcqRel)
        {
            return;
        }
        let reports = std::mem::take(&mut *self.tracker.slots.lock());
        for s in reports {
            // A report is only a hint: the slot's current fence decides.
            if self
                .slots
                .get(s as usize)
                .is_some_and(|x| x.entry.fence.test_signaled_flag())
            {
                self.signalled.insert(s);
            }
        }
    }

    /// Creates the writer's record for `entry` stored in slot `index`,
    /// queueing the signal-report callback and, with `index_context`,
    /// adding the slot to its context's list.
    fn register(&mut self, index: u32, entry: Arc<Entry>, index_context: bool) -> Slot {
        let cb = match entry.fence.add_notify_passive(self.tracker.clone(), index) {
            Ok(id) => Some(id),
            Err(_) => {
                self.signalled.insert(index);
                None
            }
        };
        let context = entry.fence.context();
        if index_context {
            self.by_context
                .entry(context)
                .and_modify(|c| c.insert(index))
                .or_insert_with(|| ContextSlots::new(index));
        }
        Slot {
            usage: entry.usage,
            fence_id: entry.fence.id(),
            context,
            seqno: entry.fence.seqno(),
            entry,
            cb,
        }
    }

    /// Undoes [`Writer::register`] for slot `index`.
    fn unregister(&mut self, index: u32, index_context: bool) {
        let slot = &mut self.slots[index as usize];
        if let Some(id) = slot.cb.take() {
            slot.entry.fence.remove_callback(id);
        }
        let ctx = slot.context;
        if !self.signalled.is_empty() {
            self.signalled.remove(&index);
        }
        if !index_context {
            return;
        }
        if self
            .by_context
            .get_mut(&ctx)
            .is_some_and(|c| c.remove(index))
        {
            self.by_context.remove(&ctx);
        }
    }

    /// Drops every callback (the object is going away or its list is
    /// replaced wholesale) and clears the indexes.
    fn release_all(&mut self) {
        for slot in &self.slots {
            if let Some(id) = slot.cb {
                slot.entry.fence.remove_callback(id);
            }
        }
        self.slots.clear();
        self.by_context.clear();
        self.signalled.clear();
        self.drain();
        self.tracker.slots.lock().clear();
    }

    /// The slot the kernel's scan would overwrite with `fence` at `usage`.
    fn find_slot(&self, fence: &Fence, usage: Usage) -> Option<u32> {
        // `fence.is_later_or_same(stored)` on the mirror's copies: the
        // context is the same, so it is identity or a later seqno.
        let (id, seqno, seqno64) = (fence.id(), fence.seqno(), fence.is_seqno64());
        let superseded = self.by_context.get(&fence.context()).and_then(|c| {
            c.iter().find(|&s| {
                let e = &self.slots[s as usize];
                e.usage >= usage && (e.fence_id == id || seqno_is_later(seqno, e.seqno, seqno64))
            })
        });
        let signalled = self.signalled.first().copied();
        match (superseded, signalled) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Stores `entry` in slot `index` in place, publishing it.
    fn overwrite(&mut self, index: u32, entry: Arc<Entry>) {
        let moves = self.slots[index as usize].context != entry.fence.context();
        self.unregister(index, moves);
        self.list.slots[index as usize].store(Some(entry.clone()));
        let slot = self.register(index, entry, moves);
        let old = std::mem::replace(&mut self.slots[index as usize], slot);
        // The old fence's reference goes here, after publication.
        drop(old);
    }

    /// Appends `entry`; the caller checked the reservation.
    fn append(&mut self, entry: Arc<Entry>) {
        let index = self.slots.len();
        self.list.slots[index].store(Some(entry.clone()));
        self.list.num.store(index as u32 + 1, Ordering::Release);
        let slot = self.register(index as u32, entry, true);
        self.slots.push(slot);
    }

    /// Where `dma_resv_add_fence` would put `fence`: `Ok(Some(slot))` to
    /// overwrite, `Ok(None)` to append.
    ///
    /// # Errors
    /// [`Error::NotReserved`] when it must append and no slot is reserved.
    fn plan(&mut self, fence: &Fence, usage: Usage) -> Result<Option<u32>> {
        self.drain();
        let target = self.find_slot(fence, usage);
        if target.is_none() && self.slots.len() >= self.max {
            return Err(Error::NotReserved);
        }
        Ok(target)
    }

    /// Whether storing `fence` with `usage` in `target` would change
    /// nothing: the slot already holds that very fence with that usage.
    fn holds(&self, target: Option<u32>, fence: &Fence, usage: Usage) -> bool {
        target.is_some_and(|t| {
            let e = &self.slots[t as usize];
            e.usage == usage && e.fence_id == fence.id()
        })
    }

    /// [`Writer::store`] taking a new reference only if the list changes.
    fn store_ref(&mut self, target: Option<u32>, fence: &Fence, usage: Usage) {
        if !self.holds(target, fence, usage) {
            self.store(target, fence.clone(), usage);
        }
    }

    /// Stores `fence` where [`Writer::plan`] said. Overwriting an entry
    /// with the same fence and usage is skipped: readers would see the
    /// same list, and the slot keeps its registration.
    fn store(&mut self, target: Option<u32>, fence: Fence, usage: Usage) {
        if self.holds(target, &fence, usage) {
            return;
        }
        let entry = Arc::new(Entry { fence, usage });
        match target {
            Some(t) => self.overwrite(t, entry),
            None => self.append(entry),
        }
    }

    /// Replaces the whole list by `entries` in a new list of capacity
    /// `max`, and publishes it through `cell`.
    fn rebuild(&mut self, entries: Vec<Arc<Entry>>, max: usize, cell: &ArcCell<List>) {
        let list = Arc::new(List::with_capacity(max));
        for (i, e) in entries.iter().enumerate() {
            list.slots[i].store(Some(e.clone()));
        }
        list.num.store(entries.len() as u32, Ordering::Release);
        self.release_all();
        self.list = list.clone();
        self.max = max;
        for (i, e) in entries.into_iter().enumerate() {
            let slot = self.register(i as u32, e, true);
            self.slots.push(slot);
        }
        cell.store(list);
    }
}

/// A reservation object (`struct dma_resv`).
///
/// # Locking and lifetime
/// Queries (`get_fences`, `wait_timeout`, iteration) take no lock and
/// never block writers. Mutations need the lock: they are methods of the
/// [`ResvGuard`] that [`Resv::lock`] returns. Dropping the object drops its
/// references to its fences.
#[doc(alias = "dma_resv")]
pub struct Resv {
    lock: WwMutex<Writer>,
    list: ArcCell<List>,
    /// `gen << 1 | published`. The write generation `gen` is odd while a
    /// lock holder may be changing the list (from its first mutation to
    /// the unlock), even otherwise; `published` is set by a reader that
    /// published a snapshot of generation `gen`, and tells the next writer
    /// to drop it. One word, changed by read-modify-writes only, so that
    /// a reader and a writer cannot both miss each other.
    state: Padded<AtomicU64>,
    /// A reader-built [`Snapshot`]; see [`Resv::get_fences`].
    snapshot: OptionCell<Snapshot>,
    /// `gen << 4 | streak`: how many snapshot-less readers in a row saw
    /// generation `gen`; a reader builds a snapshot only after
    /// [`STABLE_READS`] of them, so that a list changing between reads
    /// does not make readers copy it for nothing.
    seen: Padded<AtomicU64>,
    dag_checking: AtomicBool,
    violations: Mutex<Vec<DagViolation>>,
}

impl Default for Resv {
    fn default() -> Self {
        Resv::new()
    }
}

impl fmt::Debug for Resv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resv")
            .field("num_fences", &self.list.load().num())
            .field("locked", &self.is_locked())
            .finish()
    }
}

impl Drop for Resv {
    #[doc(alias = "dma_resv_fini")]
    fn drop(&mut self) {
        self.lock.with_mut(Writer::release_all);
    }
}

impl Resv {
    /// A new, empty, unlocked object (`dma_resv_init`).
    #[doc(alias = "dma_resv_init")]
    pub fn new() -> Resv {
        let list = Arc::new(List::with_capacity(0));
        Resv {
            lock: WwMutex::new(&RESERVATION_WW_CLASS, Writer::new(list.clone())),
            list: ArcCell::new(list),
            state: Padded(AtomicU64::new(0)),
            snapshot: OptionCell::empty(),
            seen: Padded(AtomicU64::new(u64::MAX)),
            dag_checking: AtomicBool::new(false),
            violations: Mutex::new(Vec::new()),
        }
    }

    fn guard<'a>(&'a self, w: WwMutexGuard<'a, Writer>) -> ResvGuard<'a> {
        ResvGuard {
            resv: self,
            w,
            writing: false,
        }
    }

    /// Locks the object (`dma_resv_lock`): see [`WwMutex::lock`]. With
    /// `ctx == None` it never returns [`Error::Deadlock`].
    ///
    /// # Errors
    /// [`Error::Deadlock`], [`Error::AlreadyLocked`], [`Error::Invalid`] as
    /// [`WwMutex::lock`].
    #[doc(alias = "dma_resv_lock")]
    pub fn lock<'a>(&'a self, ctx: Option<&'a AcquireCtx>) -> Result<ResvGuard<'a>> {
        signalling::might_lock_resv();
        self.lock.lock(ctx).map(|w| self.guard(w))
    }

    /// [`Resv::lock`], interruptible by `intr` while waiting.
    ///
    /// # Errors
    /// Those of [`Resv::lock`] and [`Error::Interrupted`] (`-EINTR`).
    #[doc(alias = "dma_resv_lock_interruptible")]
    pub fn lock_interruptible<'a>(
        &'a self,
        ctx: Option<&'a AcquireCtx>,
        intr: &Interrupt,
    ) -> Result<ResvGuard<'a>> {
        signalling::might_lock_resv();
        self.lock
            .lock_interruptible(ctx, intr)
            .map(|w| self.guard(w))
    }

    /// The back-off slow path (`dma_resv_lock_slow`): see
    /// [`WwMutex::lock_slow`].
    ///
    /// # Errors
    /// [`Error::Invalid`] when `ctx` still holds locks or this object is
    /// not the contended one.
    #[doc(alias = "dma_resv_lock_slow")]
    pub fn lock_slow<'a>(&'a self, ctx: &'a AcquireCtx) -> Result<ResvGuard<'a>> {
        signalling::might_lock_resv();
        self.lock.lock_slow(ctx).map(|w| self.guard(w))
    }

    /// [`Resv::lock_slow`], interruptible.
    ///
    /// # Errors
    /// Those of [`Resv::lock_slow`] and [`Error::Interrupted`].
    #[doc(alias = "dma_resv_lock_slow_interruptible")]
    pub fn lock_slow_interruptible<'a>(
        &'a self,
        ctx: &'a AcquireCtx,
        intr: &Interrupt,
    ) -> Result<ResvGuard<'a>> {
        signalling::might_lock_resv();
        self.lock
            .lock_slow_interruptible(ctx, intr)
            .map(|w| self.guard(w))
    }

    /// Takes the lock if free, with no context (`dma_resv_trylock`).
    ///
    /// # Errors
    /// [`Error::Busy`] (`-EBUSY`; the kernel returns false) when held.
    #[doc(alias = "dma_resv_trylock")]
    pub fn try_lock(&self) -> Result<ResvGuard<'_>> {
        signalling::might_lock_resv();
        self.lock.try_lock(None).map(|w| self.guard(w))
    }

    /// Whether the object is locked (a racy snapshot).
    #[doc(alias = "dma_resv_is_locked")]
    pub fn is_locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// The stamp of the acquire context holding the lock, if any.
    #[doc(alias = "dma_resv_locking_ctx")]
    pub fn locking_ctx(&self) -> Option<u64> {
        self.lock.owner_stamp()
    }

    /// An unlocked iterator over the unsignalled fences of usage `usage`
    /// or stronger (`dma_resv_iter_begin` + `for_each_fence_unlocked`).
    pub fn iter_unlocked(&self, usage: Usage) -> UnlockedIter<'_> {
        UnlockedIter::new(self, usage)
    }

    /// References to every unsignalled fence of `usage` or stronger, in
    /// list order, from one consistent snapshot (`dma_resv_get_fences`).
    /// Takes no lock.
    #[doc(alias = "dma_resv_get_fences")]
    pub fn get_fences(&self, usage: Usage) -> Vec<Fence> {
        // Fast path: a snapshot built by an earlier reader, valid while no
        // lock holder has written since (its generation is current). One
        // cell read instead of one per slot.
        // Only marked snapshots are looked for: one published but not yet
        // marked is skipped, at worst.
        let state = self.state.load(Ordering::Acquire);
        let hit = (state & 1 != 0).then(|| {
            self.snapshot.with(|snap| {
                let snap = snap?;
                if self.gen() != snap.gen {
                    return None;
                }
                let mut out = Vec::with_capacity(snap.entries.len());
                for (fence, u) in &snap.entries {
                    if *u <= usage && !fence.is_signaled() {
                        out.push(fence.clone());
                    }
                }
                Some(out)
            })
        });
        if let Some(Some(out)) = hit {
            return out;
        }
        // The unlocked iterator's walk, checking for a new list once at the
        // end rather than after every step: a replaced list is never
        // published again, so both see the same snapshots.
        loop {
            let gen = self.gen();
            // Build a snapshot only when no writer is active and the list
            // did not change since the previous reader looked: a list that
            // changes between reads would only waste the copies.
            let build = gen % 2 == 0 && self.stable_for(gen);
            let list = self.list.load();
            let num = list.num();
            let mut out = Vec::with_capacity(num);
            let mut all = Vec::with_capacity(if build { num } else { 0 });
            for slot in &list.slots[..num.min(list.slots.len())] {
                slot.with(|e| {
                    if let Some(e) = e {
                        if build {
                            all.push((e.fence.clone(), e.usage));
                        }
                        if e.usage <= usage && !e.fence.is_signaled() {
                            out.push(e.fence.clone());
                        }
                    }
                });
            }
            if !self.list.is(&list) {
                continue;
            }
            if build && self.gen() == gen {
                self.publish(Snapshot { gen, entries: all });
            }
            return out;
        }
    }

    /// Publishes a reader-built snapshot, then withdraws it if a writer
    /// started meanwhile (the writer's `begin_write` may have missed it).
    fn publish(&self, snap: Snapshot) {
        let gen = snap.gen;
        self.snapshot.store(Some(Arc::new(snap)));
        let marked = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s >> 1 == gen).then_some(s | 1)
            });
        if marked.is_err() {
            self.snapshot.store(None);
        }
    }

    /// Whether snapshot-less readers saw generation `gen` [`STABLE_READS`]
    /// times in a row, counting this one. A hint: racing readers may lose
    /// counts.
    fn stable_for(&self, gen: u64) -> bool {
        let seen = self.seen.load(Ordering::Relaxed);
        let streak = if seen >> 4 == gen { (seen & 15) + 1 } else { 1 };
        if streak >= STABLE_READS {
            return true;
        }
        self.seen.store(gen << 4 | streak, Ordering::Relaxed);
        false
    }

    /// The current write generation.
    fn gen(&self) -> u64 {
        self.state.load(Ordering::Acquire) >> 1
    }

    /// One fence standing for every unsignalled fence of `usage` or
    /// stronger (`dma_resv_get_singleton`): `None` when there is none, the
    /// fence itself when there is one, otherwise a new array fence (fresh
    /// context, seqno 1, signalling when all have). The array is a
    /// container: never add it back to a reservation object as such.
    ///
    /// # Errors
    /// Those of the array's creation ([`Error::NoMemory`]).
    #[doc(alias = "dma_resv_get_singleton")]
    pub fn get_singleton(&self, usage: Usage) -> Result<Option<Fence>> {
        let mut fences = self.get_fences(usage);
        match fences.len() {
            0 => Ok(None),
            1 => Ok(fences.pop()),
            // Stored fences are never containers: no need for
            // array_create's checks of each member.
            _ => Ok(Some(new_array(fences, context_alloc(1), 1, false))),
        }
    }

    /// Waits for every unsignalled fence of `usage` or stronger
    /// (`dma_resv_wait_timeout`), with [`Fence::wait_timeout`]'s
    /// conventions: `Ok` with the time left (at least 1 ns; `None` with no
    /// timeout). A zero timeout succeeds iff every such fence has
    /// signalled. Every fence visited gets signalling enabled. Takes no
    /// lock; may sleep.
    ///
    /// # Errors
    /// * [`Error::TimedOut`] when the timeout passed (the kernel returns 0).
    /// * [`Error::Interrupted`] when `intr` was raised (`-ERESTARTSYS`).
    #[doc(alias = "dma_resv_wait_timeout")]
    pub fn wait_timeout(
        &self,
        usage: Usage,
        timeout: Option<Duration>,
        intr: Option<&Interrupt>,
    ) -> Result<Option<Duration>> {
        let mut left = timeout;
        let mut ret = timeout.map(|t| t.max(Duration::from_nanos(1)));
        for f in self.iter_unlocked(usage) {
            ret = f.wait_timeout(left, intr)?;
            if left.is_some_and(|t| !t.is_zero()) {
                left = ret;
            }
        }
        Ok(ret)
    }

    /// Whether every fence of `usage` or stronger has signalled
    /// (`dma_resv_test_signaled`). Takes no lock.
    #[doc(alias = "dma_resv_test_signaled")]
    pub fn test_signaled(&self, usage: Usage) -> bool {
        self.iter_unlocked(usage).next().is_none()
    }

    /// Passes a deadline hint (absolute CLOCK_MONOTONIC ns) to every
    /// unsignalled fence of `usage` or stronger (`dma_resv_set_deadline`).
    #[doc(alias = "dma_resv_set_deadline")]
    pub fn set_deadline(&self, usage: Usage, deadline_ns: u64) {
        for f in self.iter_unlocked(usage) {
            f.set_deadline(deadline_ns);
        }
    }

    /// Switches DAG checking (rule C6, see `dag.rs`) on or off for this
    /// object.
    pub fn set_dag_checking(&self, enabled: bool) {
        self.dag_checking.store(enabled, Ordering::SeqCst);
    }

    /// Whether DAG checking is on for this object (itself or globally).
    pub fn dag_checking(&self) -> bool {
        self.dag_checking.load(Ordering::Relaxed) || dag_checking_global()
    }

    /// Removes and returns the DAG violations recorded so far.
    pub fn take_dag_violations(&self) -> Vec<DagViolation> {
        std::mem::take(&mut *self.violations.lock())
    }
}

/// The lock of a [`Resv`], held: the mutation API
/// (`dma_resv_assert_held` is implied by the type).
///
/// Unlocks when dropped; in debug builds it then takes back the spare
/// reserved slots (`dma_resv_reset_max_fences`). Not `Send`.
#[must_use = "the lock is released when the guard is dropped"]
pub struct ResvGuard<'a> {
    resv: &'a Resv,
    w: WwMutexGuard<'a, Writer>,
    /// Whether this holder made the write generation odd.
    writing: bool,
}

impl fmt::Debug for ResvGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResvGuard")
            .field("num_fences", &self.w.slots.len())
            .field("max_fences", &self.w.max)
            .finish()
    }
}

impl Drop for ResvGuard<'_> {
    #[doc(alias = "dma_resv_unlock")]
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        {
            let num = self.w.slots.len();
            self.w.max = num;
        }
        if self.writing {
            // Even again: the list is stable until the next holder writes.
            // No reader marks an odd generation: `published` is clear.
            self.resv.state.fetch_add(2, Ordering::Release);
        }
    }
}

impl<'a> ResvGuard<'a> {
    /// Called before anything that may change the published list: makes
    /// the write generation odd (so that readers neither use nor build a
    /// snapshot) and drops a published snapshot, whose references must not
    /// outlive the entries they copy.
    fn begin_write(&mut self) {
        if self.writing {
            return;
        }
        self.writing = true;
        // Odd generation, `published` cleared, in one step: a reader
        // publishing a snapshot either marked it before (and this drops
        // it) or fails to mark it (and drops it itself).
        let prev = self
            .resv
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |s| {
                Some(((s >> 1).wrapping_add(1)) << 1)
            })
            .unwrap_or_else(|s| s);
        if prev & 1 != 0 {
            self.resv.snapshot.store(None);
        }
    }

    /// The locked object.
    pub fn resv(&self) -> &'a Resv {
        self.resv
    }

    /// Number of entries in the list (signalled ones included).
    pub fn num_fences(&self) -> usize {
        self.w.slots.len()
    }

    /// Number of slots reserved (`max_fences`).
    pub fn max_fences(&self) -> usize {
        self.w.max
    }

    /// Makes room for `num` more [`ResvGuard::add_fence`] calls
    /// (`dma_resv_reserve_fences`). When the list is too small, a new one
    /// of capacity `max(num_fences + num, 2 * max_fences)` (first time:
    /// `max(4, num.next_power_of_two())`) is published holding only the
    /// unsignalled entries, in order; readers then restart. Reservations
    /// last until the lock is dropped.
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`) for `num == 0`.
    /// * [`Error::NoMemory`] (`-ENOMEM`) past 2^32 - 1 entries.
    #[doc(alias = "dma_resv_reserve_fences")]
    pub fn reserve_fences(&mut self, num: usize) -> Result<()> {
        if num == 0 {
            return Err(Error::Invalid("reserve_fences(0)"));
        }
        let w = &mut *self.w;
        let count = w.slots.len();
        let need = count
            .checked_add(num)
            .filter(|n| *n <= u32::MAX as usize)
            .ok_or(Error::NoMemory)?;
        if w.max > 0 && need <= w.max {
            return Ok(());
        }
        self.begin_write();
        let w = &mut *self.w;
        let max = if w.max > 0 {
            need.max(w.max.saturating_mul(2))
        } else {
            num.checked_next_power_of_two().unwrap_or(need).max(4)
        }
        .min(u32::MAX as usize);
        let keep: Vec<Arc<Entry>> = w
            .slots
            .iter()
            .filter(|s| !s.entry.fence.is_signaled())
            .map(|s| s.entry.clone())
            .collect();
        w.rebuild(keep, max, &self.resv.list);
        Ok(())
    }

    /// Adds `fence` with `usage` (`dma_resv_add_fence`).
    ///
    /// Overwrites the first entry, in list order, that has signalled or
    /// that `fence` supersedes (same context, `fence` later or the same,
    /// stored usage the same as or weaker than `usage`);
    /// otherwise appends into a reserved slot. An older fence of the same
    /// context behind a signalled entry stays. A container fence is not
    /// stored: each of its leaves is added in turn, and it needs one
    /// reserved slot per leaf. With DAG checking on, a KERNEL or WRITE
    /// fence not ordered after the previous one is recorded (and added).
    ///
    /// # Errors
    /// [`Error::NotReserved`] (`-ENOSPC`; the kernel BUG()s) when the fence
    /// must be appended and no reserved slot is left, or a container has
    /// more leaves than free slots; nothing is added.
    #[doc(alias = "dma_resv_add_fence")]
    pub fn add_fence(&mut self, fence: Fence, usage: Usage) -> Result<()> {
        self.begin_write();
        if !is_container(&fence) {
            let target = self.w.plan(&fence, usage)?;
            self.check_dag(&fence, std::slice::from_ref(&fence), usage);
            self.w.store(target, fence, usage);
            return Ok(());
        }
        self.add_container(&fence, usage)
    }

    /// [`ResvGuard::add_fence`] of a borrowed fence: a new reference is
    /// taken only for what is stored (IMPORT_SYNC_FILE's path).
    ///
    /// # Errors
    /// As [`ResvGuard::add_fence`].
    pub(crate) fn add_fence_ref(&mut self, fence: &Fence, usage: Usage) -> Result<()> {
        self.begin_write();
        if !is_container(fence) {
            return self.add_leaf(fence, usage);
        }
        self.add_container(fence, usage)
    }

    /// [`ResvGuard::add_fence_ref`] of a fence the caller knows is not a
    /// container: one that [`leaf_slice`] lent (array members never are).
    ///
    /// # Errors
    /// As [`ResvGuard::add_fence`].
    pub(crate) fn add_leaf(&mut self, leaf: &Fence, usage: Usage) -> Result<()> {
        debug_assert!(!is_container(leaf));
        self.begin_write();
        let target = self.w.plan(leaf, usage)?;
        self.check_dag(leaf, std::slice::from_ref(leaf), usage);
        self.w.store_ref(target, leaf, usage);
        Ok(())
    }

    /// Adds each leaf of the container `fence` in turn.
    fn add_container(&mut self, fence: &Fence, usage: Usage) -> Result<()> {
        let walked: Vec<Fence>;
        let leaves = match leaf_slice(fence) {
            Some(leaves) => leaves,
            None => {
                walked = unwrap(fence).collect();
                &walked
            }
        };
        if leaves.len() > self.w.max - self.w.slots.len() {
            return Err(Error::NotReserved);
        }
        self.check_dag(fence, leaves, usage);
        for leaf in leaves {
            let target = self.w.plan(leaf, usage)?;
            self.w.store_ref(target, leaf, usage);
        }
        Ok(())
    }

    fn check_dag(&mut self, fence: &Fence, leaves: &[Fence], usage: Usage) {
        if usage <= Usage::Write && self.resv.dag_checking() {
            let v = self.w.history.check_and_record(fence, leaves, usage);
            if !v.is_empty() {
                self.resv.violations.lock().extend(v);
            }
        }
    }

    /// Makes every entry of `context` `(replacement, usage)`, whatever its
    /// order or usage (`dma_resv_replace_fences`). Only legal when the
    /// replaced operations lose access to the resource once `replacement`
    /// completes (a preemption fence swapped for a page-table update). Uses
    /// no reservation.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) when `replacement` is a container,
    /// which a slot cannot hold.
    #[doc(alias = "dma_resv_replace_fences")]
    pub fn replace_fences(
        &mut self,
        context: u64,
        replacement: &Fence,
        usage: Usage,
    ) -> Result<()> {
        if is_container(replacement) {
            return Err(Error::Invalid("replacement fence is a container"));
        }
        self.begin_write();
        let w = &mut *self.w;
        w.drain();
        let slots: Vec<u32> = w
            .by_context
            .get(&context)
            .map(|c| c.iter().collect())
            .unwrap_or_default();
        for s in slots {
            let entry = Arc::new(Entry {
                fence: replacement.clone(),
                usage,
            });
            w.overwrite(s, entry);
        }
        Ok(())
    }

    /// Replaces this object's whole list with the unsignalled fences of
    /// every usage of `src`, taken from an unlocked snapshot that is
    /// retaken if `src` changes meanwhile (`dma_resv_copy_fences`). The
    /// fences this object held are dropped. `src` may be this object.
    ///
    /// # Errors
    /// None in this model; the kernel may return `-ENOMEM`.
    #[doc(alias = "dma_resv_copy_fences")]
    pub fn copy_fences(&mut self, src: &Resv) -> Result<()> {
        let mut it = src.iter_unlocked(Usage::Bookkeep);
        let mut entries = Vec::new();
        while let Some(fence) = it.next() {
            if it.is_restarted() {
                entries.clear();
            }
            entries.push(Arc::new(Entry {
                fence,
                usage: it.usage(),
            }));
        }
        let max = it.snapshot_len().max(entries.len());
        self.begin_write();
        self.w.rebuild(entries, max, &self.resv.list);
        Ok(())
    }

    /// Iterates, in list order, over the entries of `usage` or stronger,
    /// signalled ones included (`dma_resv_for_each_fence`).
    pub fn iter(&self, usage: Usage) -> LockedIter<'_> {
        LockedIter::new(&self.w.slots, usage)
    }

    /// The debugfs description (`dma_resv_describe`): for each entry of
    /// usage READ or stronger, signalled ones included, one line
    /// `"\t<usage> fence:"` followed by [`Fence::describe`].
    #[doc(alias = "dma_resv_describe")]
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (fence, usage) in self.iter(Usage::Read) {
            out.push('\t');
            out.push_str(usage.name());
            out.push_str(" fence:");
            out.push_str(&fence.describe());
        }
        out
    }
}
