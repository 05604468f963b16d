//! `sw_sync`: the software timeline used to test explicit synchronisation
//! (drivers/dma-buf/sw_sync.c and sync_debug.c, Linux 6.12).
//!
//! # Overview
//!
//! A [`Timeline`] is what one `open()` of `<debugfs>/sync/sw_sync` creates: a
//! fence context of its own with a 32-bit counter, its *value*, starting at 0.
//! [`Timeline::create_fence`] makes a *point*, a fence that signals once the
//! value reaches the point's seqno (`SW_SYNC_IOC_CREATE_FENCE`);
//! [`Timeline::inc`] advances the value and signals every point it passed
//! (`SW_SYNC_IOC_INC`). Dropping the [`Timeline`] is closing its file: every
//! point still pending is signalled with error `-ENOENT`.
//!
//! Seqnos compare with the kernel's 32-bit wrap-around rule: a point is
//! signalled once `(i32)(seqno - value) <= 0`. Increments are therefore
//! applied in steps of at most `i32::MAX`, so that no pending point is ever
//! skipped over.
//!
//! # Lifetime
//!
//! The timeline's shared state (context, name, value and pending set) is
//! reference counted: the [`Timeline`] holds one reference and every point
//! holds one through its [`FenceOps`], so points outlive the timeline and keep
//! their driver and timeline names.
//!
//! The kernel's timeline does not hold references to its points: a point
//! whose last reference is dropped is freed and leaves the pending set. Here
//! the pending set owns one reference per point, and a point that nobody else
//! references any more (`ref_count() == 1` while the timeline's lock is held,
//! a state no other thread can leave) is treated as released: it is not
//! counted by [`Timeline::pending`] nor listed by [`Timeline::describe`],
//! [`Timeline::create_fence`] makes a new point rather than returning it, and
//! it is dropped instead of signalled when the value passes it or the timeline
//! closes. Dropping it then runs the core's release rule (a pending fence with
//! callbacks is signalled with `-EDEADLK`), later than the kernel would.
//!
//! # Pending set and memory
//!
//! The pending points are kept in a `VecDeque<Fence>` sorted by their
//! distance `seqno - value` (32-bit wrapping), which for every pending point
//! lies in `1..=i32::MAX`: the first entry is the oldest. This costs one
//! pointer per point (8 bytes, up to 16 while the deque's capacity doubles),
//! against 16 bytes of key and value plus half-full B-tree nodes (about 30
//! bytes) for an ordered map. Points are nearly always created in increasing
//! order, so insertion is a push at the back; a point created below others
//! costs a move of the entries after it. Signalled points are popped from the
//! front. Before the deque grows, released points are swept out, so its size
//! stays proportional to the live points. With the 112-byte fence allocation,
//! a pending point costs at most 128 bytes.
//!
//! # Locking
//!
//! One `crate::sync::Mutex` per timeline protects the value and the pending
//! set (the kernel's `obj->lock`, which is also the lock of every point).
//! Nothing calls into a fence while holding it: fences are signalled, their
//! status read and their last reference dropped only after it is released.
//! The value is mirrored in an atomic so that the [`FenceOps::signaled`] peek
//! never takes the lock.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;

use super::{context_alloc, seqno_is_later, Fence, FenceOps};
use crate::error::{errno, Error, Result};
use crate::sync::{AtomicU32, Mutex, Ordering};

/// The longest timeline name kept, in bytes: the kernel's `char name[32]`
/// without its terminating NUL.
pub const NAME_MAX: usize = 31;

/// The state shared by a timeline and its points; the [`FenceOps`] of every
/// point.
struct Shared {
    /// Immutable.
    context: u64,
    /// Immutable, at most [`NAME_MAX`] bytes.
    name: String,
    /// A copy of `State::value`, written with the lock held, read without it.
    value: AtomicU32,
    /// The value and the pending set.
    state: Mutex<State>,
}

struct State {
    /// The timeline's counter (the kernel's `int value`, used unsigned).
    value: u32,
    /// Pending points, sorted by `distance` (oldest first). Each holds a
    /// reference; see the module documentation.
    pending: VecDeque<Fence>,
}

/// How far `seqno` lies ahead of `value` (wrapping); `1..=i32::MAX` for a
/// pending point.
fn distance(seqno: u64, value: u32) -> u32 {
    (seqno as u32).wrapping_sub(value)
}

/// Whether the timeline's pending set holds the only reference to `f`. Only
/// meaningful with the timeline's lock held, or for a fence removed from the
/// pending set: nobody can then take a new reference.
fn released(f: &Fence) -> bool {
    f.ref_count() == 1
}

impl State {
    /// Removes the released points; they are returned so that the caller
    /// drops them after unlocking.
    fn sweep(&mut self) -> Vec<Fence> {
        let mut gone = Vec::new();
        self.pending.retain(|f| {
            if released(f) {
                // The clone keeps the point alive past the lock; the entry
                // itself is then not the last reference.
                gone.push(f.clone());
                false
            } else {
                true
            }
        });
        gone
    }
}

impl FenceOps for Shared {
    fn driver_name(&self) -> &str {
        "sw_sync"
    }

    fn timeline_name(&self) -> &str {
        &self.name
    }

    /// Signalled once the value is not before the seqno, in 32-bit
    /// wrap-around arithmetic.
    fn signaled(&self, fence: &Fence) -> bool {
        !seqno_is_later(
            fence.seqno(),
            u64::from(self.value.load(Ordering::Acquire)),
            false,
        )
    }
}

/// A software timeline: the open `sw_sync` debugfs file.
///
/// Not `Clone`: dropping it is closing the file, which signals every pending
/// point with error `-ENOENT` (status `-2`, timestamp set). Its points keep
/// the shared state alive, so they outlive it.
///
/// All methods take the timeline's lock briefly and never call into a fence
/// while holding it; they may be called from any thread, including from a
/// fence callback (a callback that calls [`Timeline::inc`] signals the
/// further points on that thread, nested).
#[doc(alias = "sync_timeline")]
pub struct Timeline {
    shared: Arc<Shared>,
}

impl Timeline {
    /// Opens a new timeline: a fresh context, value 0, and `name` truncated
    /// to [`NAME_MAX`] bytes (at a character boundary; the kernel uses the
    /// opening task's command name).
    #[doc(alias = "sync_timeline_create")]
    #[doc(alias = "sw_sync_debugfs_open")]
    pub fn new(name: &str) -> Timeline {
        let mut end = name.len().min(NAME_MAX);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        Timeline {
            shared: Arc::new(Shared {
                context: context_alloc(1),
                name: name[..end].to_owned(),
                value: AtomicU32::new(0),
                state: Mutex::new(State {
                    value: 0,
                    pending: VecDeque::new(),
                }),
            }),
        }
    }

    /// The timeline's fence context. Immutable; lock-free.
    pub fn context(&self) -> u64 {
        self.shared.context
    }

    /// The timeline's name, also the timeline name of its points.
    /// Immutable; lock-free; it lives as long as the timeline or any point.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The current value of the counter. Lock-free: a concurrent
    /// [`Timeline::inc`] may or may not be seen.
    pub fn value(&self) -> u32 {
        self.shared.value.load(Ordering::Acquire)
    }

    /// Makes the point for `value`: `SW_SYNC_IOC_CREATE_FENCE`.
    ///
    /// The point is a fence of this timeline's context with seqno `value`
    /// and 32-bit seqno semantics, driver name `"sw_sync"` and the
    /// timeline's name. If `value` is not after the current value (32-bit
    /// wrap-around), it is born signalled with the current time. Otherwise,
    /// if a pending point with the same value exists, that very fence is
    /// returned; else a new pending point is queued.
    ///
    /// # Locking
    /// Takes the timeline's lock; allocates. A born-signalled point is
    /// signalled after the lock is released, and points released by their
    /// owners are dropped then.
    #[doc(alias = "sync_pt_create")]
    #[doc(alias = "SW_SYNC_IOC_CREATE_FENCE")]
    pub fn create_fence(&self, value: u32) -> Fence {
        let ops: Arc<dyn FenceOps> = self.shared.clone();
        let mut swept = Vec::new();
        let mut replaced = None;
        let fence = {
            let mut st = self.shared.state.lock();
            let d = distance(u64::from(value), st.value);
            if d as i32 <= 0 {
                None
            } else {
                let at = st
                    .pending
                    .partition_point(|f| distance(f.seqno(), st.value) < d);
                match st.pending.get(at) {
                    Some(f) if distance(f.seqno(), st.value) == d && !released(f) => {
                        Some(f.clone())
                    }
                    Some(f) if distance(f.seqno(), st.value) == d => {
                        let fresh = Fence::new(ops, self.shared.context, u64::from(value));
                        replaced = st
                            .pending
                            .get_mut(at)
                            .map(|slot| std::mem::replace(slot, fresh.clone()));
                        Some(fresh)
                    }
                    _ => {
                        if st.pending.len() == st.pending.capacity() {
                            swept = st.sweep();
                        }
                        let at = st
                            .pending
                            .partition_point(|f| distance(f.seqno(), st.value) < d);
                        let fresh = Fence::new(ops, self.shared.context, u64::from(value));
                        st.pending.insert(at, fresh.clone());
                        Some(fresh)
                    }
                }
            }
        };
        // Released points die here, outside the lock.
        drop(swept);
        drop(replaced);
        fence.unwrap_or_else(|| {
            let f = Fence::new(self.shared.clone(), self.shared.context, u64::from(value));
            let _ = f.signal();
            f
        })
    }

    /// Advances the value by `by`: `SW_SYNC_IOC_INC`.
    ///
    /// Applied in steps of at most `i32::MAX` (so an increment above
    /// `INT_MAX` passes no point unseen). After each step the points it
    /// passed leave the pending set and are signalled, oldest first, on this
    /// thread. An increment of 0 changes nothing.
    ///
    /// # Locking
    /// Takes the timeline's lock once per step and signals after releasing
    /// it, so callbacks run on this thread with no timeline lock held and may
    /// use the timeline. Two concurrent calls may signal their points in
    /// either order; each call returns only after signalling its own.
    #[doc(alias = "sync_timeline_signal")]
    #[doc(alias = "SW_SYNC_IOC_INC")]
    pub fn inc(&self, by: u32) {
        let mut left = by;
        loop {
            let step = left.min(i32::MAX as u32);
            left -= step;
            let passed = {
                let mut st = self.shared.state.lock();
                st.value = st.value.wrapping_add(step);
                self.shared.value.store(st.value, Ordering::Release);
                let n = st
                    .pending
                    .iter()
                    .take_while(|f| distance(f.seqno(), st.value) as i32 <= 0)
                    .count();
                let passed: Vec<Fence> = st.pending.drain(..n).collect();
                let len = st.pending.len();
                if st.pending.capacity() > 64 && st.pending.capacity() / 4 > len {
                    st.pending.shrink_to(len * 2);
                }
                passed
            };
            for f in passed {
                if !released(&f) {
                    let _ = f.signal();
                }
            }
            if left == 0 {
                break;
            }
        }
    }

    /// How many points are pending (not released; see the module
    /// documentation).
    ///
    /// # Locking
    /// Takes the timeline's lock; O(pending).
    pub fn pending(&self) -> usize {
        let st = self.shared.state.lock();
        st.pending.iter().filter(|f| !released(f)).count()
    }

    /// This timeline's part of `<debugfs>/sync/info`: a line
    /// `"<name>: <value>"` (value as a signed decimal), one line
    /// `"  fence <status>[@<sec>.<nsec>]: <seqno> / <value>"` per pending point,
    /// oldest first (`<status>` is `active`, `signaled` or `error`; the
    /// timestamp appears once the point has one), then an empty line. The
    /// whole file is `"objs:\n--------------\n"`, every timeline's
    /// description, then `"fences:\n--------------\n"`.
    ///
    /// # Locking
    /// Takes a snapshot of the value and the points under the timeline's
    /// lock, and reads the points' status after releasing it.
    #[doc(alias = "sync_print_obj")]
    pub fn describe(&self) -> String {
        let (value, points) = {
            let st = self.shared.state.lock();
            let live: Vec<Fence> = st
                .pending
                .iter()
                .filter(|f| !released(f))
                .cloned()
                .collect();
            (st.value, live)
        };
        let mut out = format!("{}: {}\n", self.shared.name, value as i32);
        for f in &points {
            let status = match f.status() {
                0 => "active",
                s if s > 0 => "signaled",
                _ => "error",
            };
            let _ = write!(out, "  fence {status}");
            if let Some(ts) = f.timestamp() {
                let _ = write!(out, "@{}.{:09}", ts / 1_000_000_000, ts % 1_000_000_000);
            }
            let _ = writeln!(out, ": {} / {}", f.seqno(), value as i32);
        }
        out.push('\n');
        out
    }
}

impl Drop for Timeline {
    /// Closing the file: every pending point gets error `-ENOENT` and is
    /// signalled, oldest first, after the lock is released.
    #[doc(alias = "sw_sync_debugfs_release")]
    fn drop(&mut self) {
        let pending = std::mem::take(&mut self.shared.state.lock().pending);
        for f in pending {
            if !released(&f) && f.set_error(-errno::ENOENT).is_ok() {
                let _ = f.signal();
            }
        }
    }
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("context", &self.context())
            .field("name", &self.name())
            .field("value", &self.value())
            .finish()
    }
}

/// Whether `fence` is a point of some software timeline.
pub fn is_sw_sync(fence: &Fence) -> bool {
    fence.ops_as::<Shared>().is_some()
}

/// The earliest deadline set on a point while it was pending:
/// `SW_SYNC_GET_DEADLINE`. Like the kernel, it does not check which timeline
/// the point belongs to. Lock-free.
///
/// # Errors
/// * [`Error::Invalid`] (`-EINVAL`) if `fence` is not a sw_sync point (a
///   container, a stub, another driver's fence).
/// * [`Error::NotFound`] (`-ENOENT`) if no deadline was set while it was
///   pending (one set after it signalled is not recorded).
#[doc(alias = "sw_sync_ioctl_get_deadline")]
#[doc(alias = "SW_SYNC_GET_DEADLINE")]
pub fn get_deadline(fence: &Fence) -> Result<u64> {
    if !is_sw_sync(fence) {
        return Err(Error::Invalid("not a sw_sync fence"));
    }
    fence.deadline().ok_or(Error::NotFound)
}
