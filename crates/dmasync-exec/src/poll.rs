//! `poll` and `ppoll` over the program's dma-bufs.
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
//! Locking: no lock is held while waiting; the model's callbacks only
//! write to the eventfd.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dmasync::buf::{Events, OnReady};
use rustix::event::{PollFd, PollFlags};

use crate::objects::{DmaBufObj, Object, Registry};
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
    /// The caller's pollfd array and its copy (revents updated in place).
    addr: u64,
    raw: Vec<u8>,
    entries: Vec<Entry>,
    /// `None`: wait for ever.
    deadline: Option<Instant>,
    /// ppoll's timespec, to write the remaining time back to.
    ts_addr: Option<u64>,
    /// The signals blocked during the call (ppoll's mask); `None`: the
    /// thread's own mask.
    blocked: Option<u64>,
    /// Written by the model's callbacks when a dma-buf may have become
    /// ready; made only when the call has to wait.
    wake: Option<Arc<OwnedFd>>,
}

fn events_of(raw: &[u8], i: usize) -> u16 {
    u16::from_ne_bytes([raw[i * SIZE_POLLFD + 4], raw[i * SIZE_POLLFD + 5]])
}

fn set_revents(raw: &mut [u8], i: usize, revents: u16) {
    raw[i * SIZE_POLLFD + 6..i * SIZE_POLLFD + 8].copy_from_slice(&revents.to_ne_bytes());
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
    let mut entries = Vec::with_capacity(nfds as usize);
    let mut any_buf = false;
    for i in 0..nfds as usize {
        let fd = i32::from_ne_bytes(raw[i * SIZE_POLLFD..i * SIZE_POLLFD + 4].try_into().ok()?);
        if fd < 0 {
            entries.push(Entry::Skip);
            continue;
        }
        match registry.get_fd(n.pid, fd) {
            Ok(f) => match registry.object_of(f.as_fd()) {
                Some(Object::DmaBuf(b)) => {
                    any_buf = true;
                    entries.push(Entry::Buf(b));
                }
                _ => entries.push(Entry::Native(f)),
            },
            Err(libc::EBADF) => entries.push(Entry::Closed),
            // Cannot be fetched: let the kernel poll it as it is.
            Err(_) => return Some(Answer::Continue),
        }
    }
    if !any_buf {
        return Some(Answer::Continue);
    }
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
    let mut call = PollCall {
        pid: n.pid,
        id: n.id,
        addr: a[0],
        raw,
        entries,
        deadline,
        ts_addr,
        blocked,
        wake: None,
    };
    let count = call.round(Duration::ZERO);
    if count > 0 || call.expired() {
        return Some(call.finish(Ok(count)));
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
    let mut deadline = None;
    let mut ts_addr = None;
    if a[2] != 0 {
        let mut ts = [0u8; 16];
        mem::read(n.pid, a[2], &mut ts).map_err(|_| libc::EFAULT)?;
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
        mem::read(n.pid, a[3], &mut set).map_err(|_| libc::EFAULT)?;
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
    /// dma-buf callback. Returns the number of entries with revents.
    fn round(&mut self, wait: Duration) -> usize {
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
        (0..self.entries.len())
            .filter(|&i| {
                let off = i * SIZE_POLLFD + 6;
                self.raw[off] != 0 || self.raw[off + 1] != 0
            })
            .count()
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
            let count = self.round(wait);
            let answer = if count > 0 || self.expired() {
                Ok(count)
            } else if !listener.id_valid(self.id) {
                return;
            } else if signal_caught_pending(self.pid, self.blocked) {
                Err(libc::EINTR)
            } else {
                continue;
            };
            let a = self.finish(answer);
            if listener.id_valid(self.id) {
                let _ = listener.answer(self.id, a);
            }
            return;
        }
    }

    /// Writes the revents (and ppoll's remaining time) back to the caller.
    fn finish(&self, result: Result<usize, i32>) -> Answer {
        if let (Some(addr), Some(d)) = (self.ts_addr, self.deadline) {
            let left = d.saturating_duration_since(Instant::now());
            let mut ts = [0u8; 16];
            ts[..8].copy_from_slice(&(left.as_secs() as i64).to_ne_bytes());
            ts[8..].copy_from_slice(&i64::from(left.subsec_nanos()).to_ne_bytes());
            let _ = mem::write(self.pid, addr, &ts);
        }
        if mem::write(self.pid, self.addr, &self.raw).is_err() {
            return Answer::Error(libc::EFAULT);
        }
        match result {
            Ok(n) => Answer::Value(n as i64),
            Err(e) => Answer::Error(e),
        }
    }
}

/// Whether thread `tid` has a pending signal that `blocked` (its own mask
/// when `None`) does not block and that it catches: the kernel's poll
/// would return EINTR for it. Signals that kill are seen as ID_VALID
/// failing; ignored ones do not interrupt.
fn signal_caught_pending(tid: u32, blocked: Option<u64>) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{tid}/status")) else {
        return false;
    };
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let pending = field("SigPnd:") | field("ShdPnd:");
    let blocked = blocked.unwrap_or_else(|| field("SigBlk:"));
    pending & !blocked & field("SigCgt:") != 0
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
