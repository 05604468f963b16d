//! `poll`, `ppoll`, `select` and `pselect6` over the program's dma-bufs.
//!
//! A dma-buf handed to the program is a memfd, which always polls
//! POLLIN|POLLOUT; the kernel's dma-buf polls POLLIN only when no KERNEL or
//! WRITE fence is pending and POLLOUT only when no fence at all is. A BPF
//! filter cannot read the pollfd array, so every `poll`/`ppoll` is sent to
//! the supervisor, which:
//! * lets the call continue at once when no dma-buf is alive, without
//!   reading anything;
//! * otherwise reads the pollfd array once and fetches each fd
//!   (`pidfd_getfd`); when none is a dma-buf the call continues;
//! * otherwise emulates it: the dma-bufs' readiness comes from the model
//!   ([`DmaBuf::on_ready`]), the other fds are polled through the
//!   supervisor's copies together with an eventfd that the model's
//!   callbacks write to. A first round that does not wait runs on the
//!   listener's thread; a call that must wait is answered by a worker
//!   thread, which wakes at least every [`WAIT_CHECK`] to check that the
//!   call is still pending (`SECCOMP_IOCTL_NOTIF_ID_VALID`) and that no
//!   signal the thread catches has become pending (then the answer is
//!   `EINTR`, as the kernel's poll gives when a handler is to run).
//!
//! `select` and `pselect6` are the same over the fds of their sets (a
//! closed one is EBADF), with the kernel's classes: read = POLLIN, HUP,
//! ERR; write = POLLOUT, ERR; except = POLLPRI.
//!
//! Locking: no lock is held while waiting; the model's callbacks only
//! write to the eventfd.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dmasync::buf::{Events, OnReady};
use rustix::event::{PollFd, PollFlags};

use crate::objects::{DmaBufObj, Object, Registry};
use crate::sys::files::ProcStatus;
use crate::sys::mem;
use crate::sys::seccomp::{Answer, Listener, Notif};

/// How often a waiting worker checks its caller (ID_VALID, signals).
pub(crate) const WAIT_CHECK: Duration = Duration::from_millis(50);

/// More entries than this and the call is left to the kernel (which
/// checks `nfds` against RLIMIT_NOFILE).
const MAX_NFDS: u32 = 1 << 16;

const POLLNVAL: u16 = 0x20;
const SIZE_POLLFD: usize = 8;

/// One pollfd entry, as the supervisor sees it.
enum Entry {
    /// A negative fd: ignored, revents 0.
    Skip,
    /// Not open in the caller: POLLNVAL.
    Closed,
    /// Any other file: the supervisor's copy, polled natively.
    Native(OwnedFd),
    /// One of our dma-bufs, polled in the model.
    Buf(Arc<DmaBufObj>),
}

/// A `poll`/`ppoll` being emulated.
struct PollCall {
    pid: u32,
    id: u64,
    /// Where the results go.
    out: Output,
    /// A pollfd array (the caller's, or made from select's fd sets), its
    /// revents updated in place.
    raw: Vec<u8>,
    entries: Vec<Entry>,
    /// `None`: wait for ever.
    deadline: Option<Instant>,
    /// ppoll's or pselect6's timespec (select's timeval when `timeval`),
    /// to write the remaining time back to.
    ts_addr: Option<u64>,
    timeval: bool,
    /// The signals blocked during the call (ppoll's mask); `None`: the
    /// thread's own mask.
    blocked: Option<u64>,
    /// Written by the model's callbacks when a dma-buf may have become
    /// ready; made only when the call has to wait.
    wake: Option<Arc<OwnedFd>>,
    /// Settled before a worker answers (see `epoll_proxy`).
    refreshes: Arc<crate::epoll_proxy::Queued>,
}

/// Where the results of a call go.
enum Output {
    /// poll, ppoll: the revents of the caller's array at this address.
    Pollfd(u64),
    /// select, pselect6: the fd of each entry, the read, write and except
    /// sets' addresses (0: none) and their size in bytes.
    Select {
        fds: Vec<i32>,
        sets: [u64; 3],
        bytes: usize,
    },
}

// The kernel's select readiness classes (fs/select.c).
const POLLIN_SET: u16 = 0x0001 | 0x0040 | 0x0080 | 0x0010 | 0x0008;
const POLLOUT_SET: u16 = 0x0004 | 0x0100 | 0x0200 | 0x0008;
const POLLEX_SET: u16 = 0x0002;

fn events_of(raw: &[u8], i: usize) -> u16 {
    u16::from_ne_bytes([raw[i * SIZE_POLLFD + 4], raw[i * SIZE_POLLFD + 5]])
}

fn set_revents(raw: &mut [u8], i: usize, revents: u16) {
    raw[i * SIZE_POLLFD + 6..i * SIZE_POLLFD + 8].copy_from_slice(&revents.to_ne_bytes());
}

/// Handles the releases the program queued before this call: a close()
/// of a timeline queues its inotify event before it returns, and the
/// kernel's release of the sw_sync file signals the pending points (with
/// -ENOENT) within that close(). So a sync file of a closed timeline polls
/// POLLIN by the program's next poll, even one that does not wait, as in
/// the kernel.
fn settle_releases(registry: &Registry) {
    if registry.may_have_objects() {
        registry.on_inotify();
    }
}

/// Serves a trapped `poll` (`ppoll == false`: arguments fds, nfds, timeout
/// in ms) or `ppoll` (fds, nfds, timespec, sigmask, sigsetsize). `None`
/// when the caller is gone or a worker thread will answer.
pub(crate) fn serve(
    registry: &Registry,
    listener: &Arc<Listener>,
    n: &Notif,
    ppoll: bool,
) -> Option<Answer> {
    settle_releases(registry);
    if !registry.has_dma_bufs() {
        return Some(Answer::Continue);
    }
    let a = &n.args;
    let nfds = a[1] as u32;
    if nfds == 0 || nfds > MAX_NFDS {
        return Some(Answer::Continue);
    }
    let mut raw = vec![0u8; nfds as usize * SIZE_POLLFD];
    if mem::read(n.pid, a[0], &mut raw).is_err() {
        // The kernel reports EFAULT itself.
        return Some(Answer::Continue);
    }
    let fds: Vec<i32> = raw
        .chunks_exact(SIZE_POLLFD)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let Some(entries) = fetch(registry, n.pid, &fds) else {
        return Some(Answer::Continue);
    };
    let (deadline, ts_addr, blocked) = if ppoll {
        match ppoll_args(n) {
            Ok(t) => t,
            Err(e) => return Some(Answer::Error(e)),
        }
    } else {
        let ms = a[2] as i32;
        let deadline = (ms >= 0).then(|| Instant::now() + Duration::from_millis(ms as u64));
        (deadline, None, None)
    };
    if !listener.id_valid(n.id) {
        return None;
    }
    start(
        PollCall {
            pid: n.pid,
            id: n.id,
            out: Output::Pollfd(a[0]),
            raw,
            entries,
            deadline,
            ts_addr,
            timeval: false,
            blocked,
            wake: None,
            refreshes: registry.proxy_refreshes.clone(),
        },
        listener,
    )
}

/// Serves a trapped `select` (`pselect == false`: nfds, readfds,
/// writefds, exceptfds, timeval) or `pselect6` (nfds, the three sets,
/// timespec, `{sigmask, sigsetsize}`) as a poll of the fds of the sets.
/// `None` when the caller is gone or a worker thread will answer.
pub(crate) fn serve_select(
    registry: &Registry,
    listener: &Arc<Listener>,
    n: &Notif,
    pselect: bool,
) -> Option<Answer> {
    settle_releases(registry);
    if !registry.has_dma_bufs() {
        return Some(Answer::Continue);
    }
    let a = &n.args;
    let nfds = a[0] as i32;
    if nfds <= 0 || nfds as u32 > MAX_NFDS {
        return Some(Answer::Continue);
    }
    let bytes = (nfds as usize).div_ceil(64) * 8;
    let mut sets = [Vec::new(), Vec::new(), Vec::new()];
    for (k, set) in sets.iter_mut().enumerate() {
        if a[1 + k] != 0 {
            *set = vec![0u8; bytes];
            if mem::read(n.pid, a[1 + k], set).is_err() {
                return Some(Answer::Continue);
            }
        }
    }
    let bit = |set: &Vec<u8>, fd: usize| set.get(fd / 8).is_some_and(|b| b & (1 << (fd % 8)) != 0);
    let mut fds = Vec::new();
    let mut raw = Vec::new();
    for fd in 0..nfds as usize {
        let mut events = 0u16;
        for (set, class) in sets.iter().zip([POLLIN_SET, POLLOUT_SET, POLLEX_SET]) {
            if bit(set, fd) {
                events |= class;
            }
        }
        if events != 0 {
            fds.push(fd as i32);
            raw.extend_from_slice(&(fd as i32).to_ne_bytes());
            raw.extend_from_slice(&events.to_ne_bytes());
            raw.extend_from_slice(&[0, 0]);
        }
    }
    let Some(mut entries) = fetch(registry, n.pid, &fds) else {
        return Some(Answer::Continue);
    };
    let (deadline, ts_addr, blocked) = if pselect {
        match pselect_args(n) {
            Ok(t) => t,
            Err(e) => return Some(Answer::Error(e)),
        }
    } else {
        match timeval_arg(n) {
            Ok((d, t)) => (d, t, None),
            Err(e) => return Some(Answer::Error(e)),
        }
    };
    // A set bit for a closed fd is EBADF, unless past the fd table (the
    // kernel clamps nfds to its size).
    let mut fd_size = None;
    for (i, e) in entries.iter_mut().enumerate() {
        if matches!(e, Entry::Closed) {
            let size = *fd_size.get_or_insert_with(|| fd_table_size(n.pid));
            if (fds[i] as u64) < size {
                return Some(Answer::Error(libc::EBADF));
            }
            *e = Entry::Skip;
        }
    }
    if !listener.id_valid(n.id) {
        return None;
    }
    start(
        PollCall {
            pid: n.pid,
            id: n.id,
            out: Output::Select {
                fds,
                sets: [a[1], a[2], a[3]],
                bytes,
            },
            raw,
            entries,
            deadline,
            ts_addr,
            timeval: !pselect,
            blocked,
            wake: None,
            refreshes: registry.proxy_refreshes.clone(),
        },
        listener,
    )
}

/// The size of thread `tid`'s fd table (`FDSize`).
fn fd_table_size(tid: u32) -> u64 {
    ProcStatus::read(tid)
        .and_then(|s| s.field("FDSize").and_then(|v| v.parse().ok()))
        .unwrap_or(u64::MAX)
}

/// select's timeval: a negative field is EINVAL; microseconds past a
/// second carry over, as the kernel's.
fn timeval_arg(n: &Notif) -> Result<(Option<Instant>, Option<u64>), i32> {
    let addr = n.args[4];
    if addr == 0 {
        return Ok((None, None));
    }
    let mut tv = [0u8; 16];
    mem::read(n.pid, addr, &mut tv).map_err(|_| libc::EFAULT)?;
    let sec = i64::from_ne_bytes(tv[..8].try_into().expect("8 bytes"));
    let usec = i64::from_ne_bytes(tv[8..].try_into().expect("8 bytes"));
    if sec < 0 || usec < 0 {
        return Err(libc::EINVAL);
    }
    let d = Duration::from_secs(sec as u64).saturating_add(Duration::from_micros(usec as u64));
    let deadline = Instant::now().checked_add(d).unwrap_or_else(far_future);
    Ok((Some(deadline), (!d.is_zero()).then_some(addr)))
}

/// pselect6's timespec and `{sigmask, sigsetsize}`, checked as the kernel
/// does.
fn pselect_args(n: &Notif) -> Result<PpollArgs, i32> {
    let a = &n.args;
    let (deadline, ts_addr, _) = timespec_and_mask(n.pid, a[4], 0, 0)?;
    if a[5] == 0 {
        return Ok((deadline, ts_addr, None));
    }
    let mut sig = [0u8; 16];
    mem::read(n.pid, a[5], &mut sig).map_err(|_| libc::EFAULT)?;
    let ss = u64::from_ne_bytes(sig[..8].try_into().expect("8 bytes"));
    let len = u64::from_ne_bytes(sig[8..].try_into().expect("8 bytes"));
    let (_, _, blocked) = timespec_and_mask(n.pid, 0, ss, len)?;
    Ok((deadline, ts_addr, blocked))
}

/// The entries for the caller's `fds`; `None` when none is a dma-buf or
/// one cannot be fetched (the kernel then runs the call).
fn fetch(registry: &Registry, pid: u32, fds: &[i32]) -> Option<Vec<Entry>> {
    let mut entries = Vec::with_capacity(fds.len());
    let mut any_buf = false;
    for &fd in fds {
        if fd < 0 {
            entries.push(Entry::Skip);
            continue;
        }
        match registry.get_fd(pid, fd) {
            Ok(f) => match registry.object_of(f.as_fd()) {
                Some(Object::DmaBuf(b)) => {
                    any_buf = true;
                    entries.push(Entry::Buf(b));
                }
                _ => entries.push(Entry::Native(f)),
            },
            Err(libc::EBADF) => entries.push(Entry::Closed),
            Err(_) => return None,
        }
    }
    any_buf.then_some(entries)
}

/// Runs the first round on the calling thread; a worker thread goes on if
/// the call must wait.
fn start(mut call: PollCall, listener: &Arc<Listener>) -> Option<Answer> {
    call.round(Duration::ZERO);
    if call.ready() || call.expired() {
        return Some(call.finish(Ok(())));
    }
    match rustix::event::eventfd(
        0,
        rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
    ) {
        Ok(fd) => call.wake = Some(Arc::new(fd)),
        Err(e) => return Some(Answer::Error(e.raw_os_error())),
    }
    let listener = listener.clone();
    let spawned = std::thread::Builder::new()
        .name("dmasync-poll".into())
        .spawn(move || call.wait(&listener));
    match spawned {
        Ok(_) => None,
        Err(_) => Some(Answer::Error(libc::ENOMEM)),
    }
}

type PpollArgs = (Option<Instant>, Option<u64>, Option<u64>);

/// ppoll's timeout and signal mask, checked as the kernel does (EFAULT,
/// EINVAL).
fn ppoll_args(n: &Notif) -> Result<PpollArgs, i32> {
    let a = &n.args;
    timespec_and_mask(n.pid, a[2], a[3], a[4])
}

/// A timespec at `ts` (0: none) and a signal mask at `mask` (0: none) of
/// `size` bytes, checked as the kernel does (EFAULT, EINVAL).
fn timespec_and_mask(pid: u32, ts: u64, mask: u64, size: u64) -> Result<PpollArgs, i32> {
    let a = [0, 0, ts, mask, size];
    let mut deadline = None;
    let mut ts_addr = None;
    if a[2] != 0 {
        let mut ts = [0u8; 16];
        mem::read(pid, a[2], &mut ts).map_err(|_| libc::EFAULT)?;
        let sec = i64::from_ne_bytes(ts[..8].try_into().expect("8 bytes"));
        let nsec = i64::from_ne_bytes(ts[8..].try_into().expect("8 bytes"));
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(libc::EINVAL);
        }
        let d = Duration::new(sec as u64, nsec as u32);
        deadline = Some(Instant::now().checked_add(d).unwrap_or_else(far_future));
        if !d.is_zero() {
            ts_addr = Some(a[2]);
        }
    }
    let mut blocked = None;
    if a[3] != 0 {
        if a[4] != 8 {
            return Err(libc::EINVAL);
        }
        let mut set = [0u8; 8];
        mem::read(pid, a[3], &mut set).map_err(|_| libc::EFAULT)?;
        blocked = Some(u64::from_ne_bytes(set));
    }
    Ok((deadline, ts_addr, blocked))
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 86_400)
}

impl PollCall {
    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Computes every entry's revents, waiting up to `wait` (unless a
    /// dma-buf is ready) for a native fd or, once the eventfd is made, a
    /// dma-buf callback.
    fn round(&mut self, wait: Duration) {
        let mut waiters = Vec::new();
        let mut bufs_ready = false;
        for (i, e) in self.entries.iter().enumerate() {
            let Entry::Buf(b) = e else { continue };
            let want =
                Events::from_bits(u32::from(events_of(&self.raw, i))) & (Events::IN | Events::OUT);
            let mut rev = 0u16;
            if !want.is_empty() {
                let ready = match &self.wake {
                    // The first round does not wait: no callback needed.
                    None => b.buf.poll(want),
                    Some(wake) => {
                        let wake = wake.clone();
                        match b.buf.on_ready(want, move |_| {
                            let _ = rustix::io::write(&*wake, &1u64.to_ne_bytes());
                        }) {
                            OnReady::Ready(ev) => ev,
                            OnReady::Armed(w) => {
                                waiters.push(w);
                                Events::empty()
                            }
                        }
                    }
                };
                rev = (ready & (want | Events::ERR)).bits() as u16;
            }
            bufs_ready |= rev != 0;
            set_revents(&mut self.raw, i, rev);
        }
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        let mut at = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if let Entry::Native(f) = e {
                let ev = PollFlags::from_bits_retain(events_of(&self.raw, i));
                fds.push(PollFd::new(f, ev));
                at.push(i);
            }
        }
        if let Some(wake) = &self.wake {
            fds.push(PollFd::new(&**wake, PollFlags::IN));
        }
        let wait = if bufs_ready { Duration::ZERO } else { wait };
        let ts = rustix::event::Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: i64::from(wait.subsec_nanos()),
        };
        let skip = fds.is_empty() && wait.is_zero();
        if !skip && rustix::event::poll(&mut fds, Some(&ts)).is_err() {
            for f in fds.iter_mut() {
                f.clear_revents();
            }
        }
        let native: Vec<u16> = fds.iter().map(|f| f.revents().bits()).collect();
        drop(fds);
        for (k, &i) in at.iter().enumerate() {
            set_revents(&mut self.raw, i, native[k]);
        }
        for (i, e) in self.entries.iter().enumerate() {
            match e {
                Entry::Skip => set_revents(&mut self.raw, i, 0),
                Entry::Closed => set_revents(&mut self.raw, i, POLLNVAL),
                _ => {}
            }
        }
        for w in waiters {
            w.cancel();
        }
        if let Some(wake) = &self.wake {
            let mut drain = [0u8; 8];
            let _ = rustix::io::read(&**wake, &mut drain);
        }
    }

    /// The worker's loop: rounds of at most [`WAIT_CHECK`] until an entry
    /// is ready, the timeout passes, a caught signal is pending (EINTR)
    /// or the call is gone.
    fn wait(mut self, listener: &Listener) {
        loop {
            let wait = match self.deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(WAIT_CHECK),
                None => WAIT_CHECK,
            };
            self.round(wait);
            let answer = if self.ready() || self.expired() {
                Ok(())
            } else if !listener.id_valid(self.id) {
                return;
            } else if signal_caught_pending(self.pid, self.blocked) {
                Err(libc::EINTR)
            } else {
                continue;
            };
            let a = self.finish(answer);
            self.refreshes.settle();
            if listener.id_valid(self.id) {
                let _ = listener.answer(self.id, a);
            }
            return;
        }
    }

    fn revents(&self, i: usize) -> u16 {
        u16::from_ne_bytes([self.raw[i * SIZE_POLLFD + 6], self.raw[i * SIZE_POLLFD + 7]])
    }

    /// The call's result: entries with revents (poll), bits set (select).
    fn count(&self) -> usize {
        match &self.out {
            Output::Pollfd(_) => (0..self.entries.len())
                .filter(|&i| self.revents(i) != 0)
                .count(),
            Output::Select { .. } => (0..self.entries.len())
                .map(|i| {
                    let (ev, rev) = (events_of(&self.raw, i), self.revents(i));
                    [POLLIN_SET, POLLOUT_SET, POLLEX_SET]
                        .iter()
                        .filter(|&&class| ev & class != 0 && rev & class != 0)
                        .count()
                })
                .sum(),
        }
    }

    fn ready(&self) -> bool {
        self.count() > 0
    }

    /// Writes the results (and the remaining time) back to the caller.
    fn finish(&self, result: Result<(), i32>) -> Answer {
        if let (Some(addr), Some(d)) = (self.ts_addr, self.deadline) {
            let left = d.saturating_duration_since(Instant::now());
            let sub = if self.timeval {
                i64::from(left.subsec_micros())
            } else {
                i64::from(left.subsec_nanos())
            };
            let mut ts = [0u8; 16];
            ts[..8].copy_from_slice(&(left.as_secs() as i64).to_ne_bytes());
            ts[8..].copy_from_slice(&sub.to_ne_bytes());
            let _ = mem::write(self.pid, addr, &ts);
        }
        let count = self.count();
        let written = match &self.out {
            Output::Pollfd(addr) => mem::write(self.pid, *addr, &self.raw),
            Output::Select { fds, sets, bytes } => {
                let mut r = Ok(());
                for (k, class) in [POLLIN_SET, POLLOUT_SET, POLLEX_SET]
                    .into_iter()
                    .enumerate()
                {
                    if sets[k] == 0 {
                        continue;
                    }
                    let mut bits = vec![0u8; *bytes];
                    for (i, &fd) in fds.iter().enumerate() {
                        let (ev, rev) = (events_of(&self.raw, i), self.revents(i));
                        if ev & class != 0 && rev & class != 0 {
                            bits[fd as usize / 8] |= 1 << (fd % 8);
                        }
                    }
                    r = r.and(mem::write(self.pid, sets[k], &bits));
                }
                r
            }
        };
        if written.is_err() {
            return Answer::Error(libc::EFAULT);
        }
        match result {
            Ok(()) => Answer::Value(count as i64),
            Err(e) => Answer::Error(e),
        }
    }
}

/// Whether thread `tid` has a pending signal that `blocked` (its own mask
/// when `None`) does not block and that it catches: the kernel's poll
/// would return EINTR for it. Signals that kill are seen as ID_VALID
/// failing; ignored ones do not interrupt.
fn signal_caught_pending(tid: u32, blocked: Option<u64>) -> bool {
    let Some(status) = ProcStatus::read(tid) else {
        return false;
    };
    let field = |name: &str| status.mask(name).unwrap_or(0);
    let pending = field("SigPnd") | field("ShdPnd");
    let blocked = blocked.unwrap_or_else(|| field("SigBlk"));
    pending & !blocked & field("SigCgt") != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollfd_fields_are_read_and_written_in_place() {
        let mut raw = vec![0u8; 16];
        raw[12..14].copy_from_slice(&0x0005u16.to_ne_bytes());
        assert_eq!(events_of(&raw, 1), 5);
        set_revents(&mut raw, 1, POLLNVAL);
        assert_eq!(&raw[14..16], &POLLNVAL.to_ne_bytes());
        assert_eq!(events_of(&raw, 1), 5, "events untouched");
        assert_eq!(&raw[..8], &[0u8; 8]);
    }

    #[test]
    fn own_thread_has_no_caught_signal_pending() {
        let tid = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        assert!(!signal_caught_pending(tid, None));
        assert!(!signal_caught_pending(u32::MAX, Some(0)), "no such thread");
    }
}
