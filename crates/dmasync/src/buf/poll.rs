//! `poll()` on a dma-buf (`dma_buf_poll`, `dma_buf_poll_cb`; §4.6).
//!
//! # Readiness
//!
//! * [`Events::OUT`] ("may write") is ready when every KERNEL, WRITE and
//!   READ fence has signalled;
//! * [`Events::IN`] ("may read") when every KERNEL and WRITE fence has.
//!
//! BOOKKEEP fences are ignored. Other events are never reported.
//!
//! # The two callback slots
//!
//! Each of OUT and IN has one slot. A poll of an event whose slot is armed
//! (by an earlier poll, for a fence still pending) reports it *not ready*.
//! Otherwise the poll arms the slot and walks the fences of the event's
//! usage, in list order and signalled ones included, trying to queue a
//! callback on each; the first that takes it makes the event not ready. If
//! none does, the event is ready and every waiter on it is woken at once.
//! When the armed fence signals, its callback disarms the slot and wakes
//! the waiters; the next poll scans again (and may arm on another pending
//! fence). An armed slot holds a reference to the buffer (the kernel's
//! `get_file`), visible in [`DmaBuf::file_count`].
//!
//! # Use from a front end that serves real file descriptors
//!
//! To make a real fd (an eventfd, a pipe) readable when the buffer is:
//!
//! ```no_run
//! # use dmasync::buf::{DmaBuf, Events, OnReady};
//! fn arm(buf: &DmaBuf, events: Events, notify: impl Fn() + Send + Sync + Clone + 'static) {
//!     match buf.on_ready(events, {
//!         let notify = notify.clone();
//!         move |_woken| notify() // then call `arm` again (or poll) to re-check
//!     }) {
//!         OnReady::Ready(ready) => { /* `ready` is what poll() returns now */ let _ = ready; }
//!         OnReady::Armed(_waiter) => { /* keep `_waiter` to cancel it */ }
//!     }
//! }
//! ```
//!
//! A wake-up means "poll again": after one of several fences signalled the
//! event may still be blocked, and the next [`DmaBuf::poll`] arms the next
//! fence. Callbacks run on the thread that signals the fence, inside its
//! signalling section: they must not block nor take a reservation lock.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{next_id, DmaBuf, Inner};
use crate::resv::Usage;
use crate::sync::{deadline_after, Mutex, Parker};

/// Poll events, with the kernel's `EPOLL*` bit values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Events(u32);

impl Events {
    /// `EPOLLIN` (0x001): readable: no pending KERNEL or WRITE fence.
    pub const IN: Events = Events(0x001);
    /// `EPOLLOUT` (0x004): writable: no pending KERNEL, WRITE or READ fence.
    pub const OUT: Events = Events(0x004);
    /// `EPOLLERR` (0x008): a buffer without reservation object (never here).
    pub const ERR: Events = Events(0x008);

    /// No event.
    pub const fn empty() -> Events {
        Events(0)
    }

    /// The bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Events from raw bits (unknown bits kept: they are never reported).
    pub const fn from_bits(bits: u32) -> Events {
        Events(bits)
    }

    /// Whether every event of `other` is set.
    pub const fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any event of `other` is set.
    pub const fn intersects(self, other: Events) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no event is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn remove(&mut self, other: Events) {
        self.0 &= !other.0;
    }
}

impl BitOr for Events {
    type Output = Events;
    fn bitor(self, rhs: Events) -> Events {
        Events(self.0 | rhs.0)
    }
}

impl BitOrAssign for Events {
    fn bitor_assign(&mut self, rhs: Events) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Events {
    type Output = Events;
    fn bitand(self, rhs: Events) -> Events {
        Events(self.0 & rhs.0)
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        if self.contains(Events::IN) {
            names.push("IN");
        }
        if self.contains(Events::OUT) {
            names.push("OUT");
        }
        if self.contains(Events::ERR) {
            names.push("ERR");
        }
        write!(f, "Events({})", names.join("|"))
    }
}

type WakeFn = Box<dyn FnOnce(Events) + Send>;

struct Waiter {
    id: u64,
    mask: Events,
    wake: WakeFn,
}

#[derive(Default)]
struct Slots {
    in_active: bool,
    out_active: bool,
    waiters: Vec<Waiter>,
}

impl Slots {
    fn active(&mut self, ev: Events) -> &mut bool {
        if ev == Events::OUT {
            &mut self.out_active
        } else {
            &mut self.in_active
        }
    }
}

/// The poll slots and wait queue of one buffer (`dmabuf->poll`,
/// `cb_in`, `cb_out`).
#[derive(Default)]
pub(crate) struct PollState {
    slots: Mutex<Slots>,
}

/// The outcome of [`DmaBuf::on_ready`].
#[derive(Debug)]
#[must_use = "an armed waiter can be cancelled only through its handle"]
pub enum OnReady {
    /// Some requested events are ready now (what poll returns); the
    /// callback was not queued.
    Ready(Events),
    /// Nothing requested is ready: the callback is queued and runs once,
    /// when a fence an event waits for signals.
    Armed(PollWaiter),
}

/// A callback queued by [`DmaBuf::on_ready`]. Dropping the handle leaves
/// the callback queued; [`PollWaiter::cancel`] removes it.
#[derive(Debug)]
pub struct PollWaiter {
    buf: Weak<Inner>,
    id: u64,
}

impl PollWaiter {
    /// Removes the callback if it has not run; returns whether it was
    /// still queued.
    pub fn cancel(self) -> bool {
        match self.buf.upgrade() {
            Some(inner) => {
                let w = {
                    let mut s = inner.poll.slots.lock();
                    let pos = s.waiters.iter().position(|w| w.id == self.id);
                    pos.map(|p| s.waiters.remove(p))
                };
                w.is_some()
            }
            None => false,
        }
    }
}

impl DmaBuf {
    /// The wake-up of one slot (`dma_buf_poll_cb`): disarm, wake the
    /// waiters of `ev` (except `exclude`), drop the slot's reference.
    fn poll_wake(&self, ev: Events, exclude: Option<u64>) {
        self.poll_wake_all(ev, exclude);
    }

    /// [`DmaBuf::poll_wake`] for each event of `ready`, OUT first then IN,
    /// under one acquisition of the slots' lock: disarms each slot and
    /// wakes, in that order, the waiters of OUT and then the remaining
    /// waiters of IN.
    fn poll_wake_all(&self, ready: Events, exclude: Option<u64>) {
        let mut woken: Vec<(Events, Waiter)> = Vec::new();
        {
            let mut s = self.inner.poll.slots.lock();
            for ev in [Events::OUT, Events::IN] {
                if !ready.contains(ev) {
                    continue;
                }
                *s.active(ev) = false;
                if s.waiters.is_empty() {
                    continue;
                }
                let all = std::mem::take(&mut s.waiters);
                let (hit, kept): (Vec<Waiter>, Vec<Waiter>) = all
                    .into_iter()
                    .partition(|w| w.mask.intersects(ev) && Some(w.id) != exclude);
                s.waiters = kept;
                woken.extend(hit.into_iter().map(|w| (ev, w)));
            }
        }
        for (ev, w) in woken {
            (w.wake)(ev);
        }
    }

    fn poll_inner(&self, requested: Events, exclude: Option<u64>) -> Events {
        let mut events = requested & (Events::IN | Events::OUT);
        if events.is_empty() {
            return events;
        }
        let Ok(guard) = self.resv().lock(None) else {
            return Events::ERR;
        };
        // Claim the slots that are not armed; an armed one is not ready.
        {
            let mut s = self.inner.poll.slots.lock();
            if guard.num_fences() == 0 && s.waiters.is_empty() {
                // No fence to arm a slot on and nobody to wake: arming
                // and disarming at once would change nothing.
                if s.out_active {
                    events.remove(Events::OUT);
                }
                if s.in_active {
                    events.remove(Events::IN);
                }
                return events;
            }
            for ev in [Events::OUT, Events::IN] {
                if events.contains(ev) {
                    let active = s.active(ev);
                    if *active {
                        events.remove(ev);
                    } else {
                        *active = true;
                    }
                }
            }
        }
        // Arm each claimed slot on the first fence that takes a callback.
        for (ev, usage) in [(Events::OUT, Usage::Read), (Events::IN, Usage::Write)] {
            if !events.contains(ev) {
                continue;
            }
            for (fence, _) in guard.iter(usage) {
                let file = self.clone();
                if fence
                    .add_callback(move |_| file.poll_wake(ev, None))
                    .is_ok()
                {
                    events.remove(ev);
                    break;
                }
            }
        }
        // The claimed slots left unarmed are ready.
        if !events.is_empty() {
            self.poll_wake_all(events, exclude);
        }
        events
    }

    /// `poll()` on the buffer: which of `events` ([`Events::IN`],
    /// [`Events::OUT`]) are ready now, arming the slot of each event that
    /// is not (see the module documentation).
    ///
    /// # Locking
    /// Takes the reservation lock (no context), which must not be held by
    /// the caller.
    #[doc(alias = "dma_buf_poll")]
    pub fn poll(&self, events: Events) -> Events {
        self.poll_inner(events, None)
    }

    /// Poll with a wake-up: queues `wake` on the buffer's wait queue (as
    /// `poll_wait`), then polls `events`. If some are ready, `wake` is
    /// removed and the ready events returned ([`OnReady::Ready`]).
    /// Otherwise `wake` runs once, with the event whose fence signalled,
    /// when an armed slot fires ([`OnReady::Armed`]); the caller should
    /// then poll again. A fence signalling exactly while this returns
    /// `Ready` may also run `wake` once.
    ///
    /// # Locking
    /// As [`DmaBuf::poll`]. `wake` runs on the signalling thread, inside a
    /// fence signalling section: it must not block.
    pub fn on_ready(&self, events: Events, wake: impl FnOnce(Events) + Send + 'static) -> OnReady {
        let id = next_id();
        self.inner.poll.slots.lock().waiters.push(Waiter {
            id,
            mask: events & (Events::IN | Events::OUT),
            wake: Box::new(wake),
        });
        let ready = self.poll_inner(events, Some(id));
        let waiter = PollWaiter {
            buf: Arc::downgrade(&self.inner),
            id,
        };
        if ready.is_empty() {
            OnReady::Armed(waiter)
        } else {
            waiter.cancel();
            OnReady::Ready(ready)
        }
    }

    /// A blocking `poll()`: waits up to `timeout` (`None`: for ever) until
    /// some of `events` are ready, and returns them (empty on timeout).
    ///
    /// # Locking
    /// As [`DmaBuf::poll`]; sleeps.
    pub fn poll_wait(&self, events: Events, timeout: Option<Duration>) -> Events {
        let deadline = deadline_after(timeout);
        loop {
            let parker = Arc::new(Parker::default());
            let p = parker.clone();
            match self.on_ready(events, move |_| p.notify()) {
                OnReady::Ready(e) => return e,
                OnReady::Armed(w) => {
                    if !parker.park(deadline) {
                        w.cancel();
                        return Events::empty();
                    }
                }
            }
        }
    }

    /// Whether the OUT and IN slots are armed (`cb_out.active`,
    /// `cb_in.active`).
    pub fn poll_armed(&self) -> (bool, bool) {
        let s = self.inner.poll.slots.lock();
        (s.out_active, s.in_active)
    }
}
