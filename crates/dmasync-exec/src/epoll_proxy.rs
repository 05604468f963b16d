//! `epoll_ctl` of a dma-buf: a proxy socket stands for the buffer in the
//! program's own epoll instance.
//!
//! The memfd standing for a dma-buf cannot be added to an epoll (regular
//! files: EPERM). So `epoll_ctl(ADD)` of a dma-buf registers, in the
//! caller's epoll instance (fetched with `pidfd_getfd`: the same open
//! description), one end `p` of a `SOCK_DGRAM` socketpair with the caller's
//! `epoll_event` (events and data), and the supervisor drives its
//! readiness from the model:
//! * `p` is readable (POLLIN) while a datagram the supervisor sent from the
//!   other end `d` is queued: exactly while the buffer polls POLLIN;
//! * `p` is writable (POLLOUT) unless the supervisor filled its send buffer
//!   with datagrams to `d` (a small SO_SNDBUF; a unix socket is writable
//!   while a quarter of its send buffer is free): exactly while the buffer
//!   polls POLLOUT.
//!
//! The kernel then does the epoll part itself: reports at every
//! `epoll_wait` while ready, EPOLLONESHOT, data, nested epolls. A proxy is
//! always registered level-triggered: the kernel's dma-buf poll, whenever
//! it finds the buffer ready, wakes its own wait queue, which puts an
//! edge-triggered registration back on the ready list, so such a
//! registration too reports at every `epoll_wait` while the buffer is
//! ready. The readiness is kept in step by [`DmaBuf::on_ready`] callbacks,
//! which send the proxy's id to a driver thread (callbacks must not
//! block); the driver polls the buffer again and moves the datagrams.
//! Before the supervisor answers a call it lets the driver finish
//! ([`Queued::settle`]), and after it served an ioctl of a dma-buf or DRM
//! file (which may have added fences) it polls again the proxies that were
//! ready
//! ([`Proxies::restate`]): a program sees in its epoll what a poll of the
//! buffer answers, as soon as its own calls return.
//!
//! A registration is found again (MOD, DEL, EEXIST) through the epoll's
//! `/proc/self/fdinfo`, which lists the inode of every registered file:
//! the proxies registered there, for the caller's fd number and buffer.
//!
//! Limits: a fence signalled or added by no call of the program (a vgem
//! fence's expiry, a timeline released by its last close) reaches the
//! proxy a moment later, when the driver has run. The proxy outlives a close of the dma-buf fd (the kernel
//! removes a closed file from every epoll) until DEL, or until the buffer
//! itself is released (the registry's release of the buffer drops its
//! proxies); an epoll closed without DEL keeps its proxies until then too.
//! Only `epoll_ctl` is trapped: `epoll_wait` runs natively.
//!
//! Locking: one mutex over the proxy map, taken for lookups and updates
//! (and by the registry's release of a buffer, under its `releasing`);
//! each proxy's state has its own mutex, taken while it is refreshed (a
//! model poll, which takes the reservation lock); never the map's while a
//! proxy's is held.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use dmasync::buf::{Events, OnReady, PollWaiter};
use parking_lot::{Condvar, Mutex};
use rustix::event::epoll;

use crate::objects::{DmaBufObj, Object, Registry};
use crate::sys::seccomp::{Answer, Listener, Notif};
use crate::sys::{dgram, mem};

const EPOLL_CTL_ADD: u64 = 1;
const EPOLL_CTL_DEL: u64 = 2;
const EPOLL_CTL_MOD: u64 = 3;

/// `struct epoll_event`: packed on x86-64 (12 bytes), padded elsewhere.
#[cfg(target_arch = "x86_64")]
const EVENT_SIZE: usize = 12;
#[cfg(not(target_arch = "x86_64"))]
const EVENT_SIZE: usize = 16;
const DATA_AT: usize = EVENT_SIZE - 8;

/// A registration of a dma-buf in one epoll instance.
struct Proxy {
    id: u64,
    /// The end registered in the program's epoll.
    p: OwnedFd,
    /// The supervisor's end.
    d: OwnedFd,
    /// `p`'s inode, as the epoll's fdinfo lists it.
    p_ino: u64,
    /// The caller's fd number and the buffer registered.
    fd: i32,
    buf: Arc<DmaBufObj>,
    state: Mutex<State>,
}

struct State {
    /// The events followed (the registration's POLLIN/POLLOUT).
    want: Events,
    waiter: Option<PollWaiter>,
    readable: bool,
    writable: bool,
}

/// The proxies of every epoll registration of a dma-buf, and the driver
/// thread that refreshes them.
pub(crate) struct Proxies {
    map: Arc<Mutex<HashMap<u64, Arc<Proxy>>>>,
    driver: Mutex<Option<Sender<u64>>>,
    queued: Arc<Queued>,
}

/// The proxy refreshes sent to the driver and not yet done. One per
/// [`Registry`], which the threads that answer calls reach.
#[derive(Default)]
pub(crate) struct Queued {
    count: Mutex<u64>,
    done: Condvar,
}

impl Queued {
    /// Waits until the driver has done every refresh queued so far, so
    /// that the proxies poll as their buffers do. Called before a call is
    /// answered.
    pub(crate) fn settle(&self) {
        let mut c = self.count.lock();
        while *c != 0 {
            self.done.wait(&mut c);
        }
    }

    fn send(&self, tx: &Sender<u64>, id: u64) {
        *self.count.lock() += 1;
        if tx.send(id).is_err() {
            self.finish();
        }
    }

    fn finish(&self) {
        let mut c = self.count.lock();
        *c -= 1;
        if *c == 0 {
            self.done.notify_all();
        }
    }
}

/// What a refresh needs to arm the next callback.
struct Driver<'a> {
    tx: &'a Sender<u64>,
    queued: &'a Arc<Queued>,
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Proxy {
    /// Polls the buffer and moves datagrams so that `p` polls as it does;
    /// arms a callback for the events not ready.
    fn refresh(self: &Arc<Proxy>, driver: &Driver<'_>) {
        let mut st = self.state.lock();
        if let Some(w) = st.waiter.take() {
            w.cancel();
        }
        let mut ready = Events::empty();
        let mut rest = st.want;
        while !rest.is_empty() {
            let tx = driver.tx.clone();
            let queued = driver.queued.clone();
            let id = self.id;
            match self.buf.buf.on_ready(rest, move |_| queued.send(&tx, id)) {
                OnReady::Ready(ev) => {
                    let ev = ev & rest;
                    if ev.is_empty() {
                        break;
                    }
                    ready |= ev;
                    rest = Events::from_bits(rest.bits() & !ev.bits());
                }
                OnReady::Armed(w) => {
                    st.waiter = Some(w);
                    break;
                }
            }
        }
        let writable = ready.contains(Events::OUT) || !st.want.contains(Events::OUT);
        if writable != st.writable {
            if writable {
                dgram::drain(&self.d);
            } else {
                while dgram::send_byte(&self.p) {}
            }
            st.writable = writable;
        }
        let readable = ready.contains(Events::IN);
        if readable != st.readable {
            if readable {
                dgram::send_byte(&self.d);
            } else {
                dgram::drain(&self.p);
            }
            st.readable = readable;
        }
    }

    fn cancel(&self) {
        if let Some(w) = self.state.lock().waiter.take() {
            w.cancel();
        }
    }

    /// Whether an event followed polled ready at the last refresh.
    fn is_ready(&self) -> bool {
        let st = self.state.lock();
        st.readable || (st.writable && st.want.contains(Events::OUT))
    }
}

/// The inodes of the files registered in the epoll `ep` (its fdinfo's
/// `ino:` fields, hexadecimal).
fn registered_inodes(ep: &OwnedFd) -> Option<Vec<u64>> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", ep.as_raw_fd())).ok()?;
    Some(
        info.lines()
            .filter(|l| l.starts_with("tfd:"))
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("ino:"))
                    .and_then(|v| u64::from_str_radix(v, 16).ok())
            })
            .collect(),
    )
}

fn is_epoll(fd: &OwnedFd) -> bool {
    rustix::fs::readlink(format!("/proc/self/fd/{}", fd.as_raw_fd()), Vec::new())
        .map(|l| l.as_bytes() == b"anon_inode:[eventpoll]")
        .unwrap_or(false)
}

impl Proxies {
    /// The proxies of `registry`'s dma-bufs; a buffer's proxies are
    /// dropped when the registry releases the buffer.
    pub(crate) fn new(registry: &Registry) -> Proxies {
        let map: Arc<Mutex<HashMap<u64, Arc<Proxy>>>> = Arc::default();
        let weak = Arc::downgrade(&map);
        registry.set_on_buf_released(Box::new(move |buf| {
            let Some(map) = weak.upgrade() else {
                return;
            };
            let dead: Vec<Arc<Proxy>> = {
                let mut m = map.lock();
                let ids: Vec<u64> = m
                    .values()
                    .filter(|p| Arc::ptr_eq(&p.buf, buf))
                    .map(|p| p.id)
                    .collect();
                ids.iter().filter_map(|id| m.remove(id)).collect()
            };
            for p in dead {
                p.cancel();
            }
        }));
        Proxies {
            map,
            driver: Mutex::default(),
            queued: registry.proxy_refreshes.clone(),
        }
    }

    fn driver(&self) -> Sender<u64> {
        let mut d = self.driver.lock();
        if let Some(tx) = &*d {
            return tx.clone();
        }
        let (tx, rx) = channel::<u64>();
        let map = self.map.clone();
        let tx2 = tx.clone();
        let queued = self.queued.clone();
        let _ = std::thread::Builder::new()
            .name("dmasync-epoll".into())
            .spawn(move || {
                let driver = Driver {
                    tx: &tx2,
                    queued: &queued,
                };
                while let Ok(id) = rx.recv() {
                    let p = map.lock().get(&id).cloned();
                    if let Some(p) = p {
                        p.refresh(&driver);
                    }
                    queued.finish();
                }
            });
        *d = Some(tx.clone());
        tx
    }

    fn refresh(&self, p: &Arc<Proxy>) {
        let tx = self.driver();
        p.refresh(&Driver {
            tx: &tx,
            queued: &self.queued,
        });
    }

    /// Polls again the proxies that were ready: a served ioctl may have
    /// added a fence to their buffer, and no callback tells of that.
    pub(crate) fn restate(&self) {
        let ready: Vec<Arc<Proxy>> = {
            let m = self.map.lock();
            if m.is_empty() {
                return;
            }
            m.values().filter(|p| p.is_ready()).cloned().collect()
        };
        for p in &ready {
            self.refresh(p);
        }
    }

    /// Drops the proxies of buffers that are released (closing `p` takes
    /// it out of its epoll).
    fn sweep(&self, registry: &Registry) {
        let dead: Vec<Arc<Proxy>> = {
            let mut m = self.map.lock();
            let ids: Vec<u64> = m
                .values()
                .filter(|p| !registry.is_live(&p.buf))
                .map(|p| p.id)
                .collect();
            ids.iter().filter_map(|id| m.remove(id)).collect()
        };
        for p in dead {
            p.cancel();
        }
    }

    /// Serves a trapped `epoll_ctl(epfd, op, fd, event)`: CONTINUE unless
    /// `fd` is one of our dma-bufs. `None` when the caller is gone.
    pub(crate) fn serve(
        &self,
        registry: &Registry,
        listener: &Arc<Listener>,
        n: &Notif,
    ) -> Option<Answer> {
        if !registry.has_dma_bufs() {
            return Some(Answer::Continue);
        }
        let a = &n.args;
        let (op, fd) = (a[1], a[2] as i32);
        if !(EPOLL_CTL_ADD..=EPOLL_CTL_MOD).contains(&op) || fd < 0 {
            return Some(Answer::Continue);
        }
        let Ok(Some(Object::DmaBuf(buf))) = registry.lookup_open(n.pid, fd) else {
            return Some(Answer::Continue);
        };
        let mut event = [0u8; EVENT_SIZE];
        if op != EPOLL_CTL_DEL && mem::read(n.pid, a[3], &mut event).is_err() {
            return Some(Answer::Error(libc::EFAULT));
        }
        let ep = match registry.get_fd(n.pid, a[0] as i32) {
            Ok(ep) => ep,
            Err(e) => return Some(Answer::Error(e)),
        };
        if !is_epoll(&ep) {
            return Some(Answer::Error(libc::EINVAL));
        }
        if !listener.id_valid(n.id) {
            return None;
        }
        self.sweep(registry);
        let flags = u32::from_ne_bytes(event[..4].try_into().expect("4 bytes"));
        let data = u64::from_ne_bytes(event[DATA_AT..].try_into().expect("8 bytes"));
        let inos = registered_inodes(&ep).unwrap_or_default();
        let existing = self
            .map
            .lock()
            .values()
            .find(|p| p.fd == fd && Arc::ptr_eq(&p.buf, &buf) && inos.contains(&p.p_ino))
            .cloned();
        let want = Events::from_bits(flags) & (Events::IN | Events::OUT);
        // Level-triggered: see the module's documentation.
        let ev_flags = epoll::EventFlags::from_bits_retain(flags).difference(epoll::EventFlags::ET);
        let errno = |e: rustix::io::Errno| Some(Answer::Error(e.raw_os_error()));
        match (op, existing) {
            (EPOLL_CTL_ADD, Some(_)) => Some(Answer::Error(libc::EEXIST)),
            (EPOLL_CTL_ADD, None) => {
                let proxy = match new_proxy(fd, buf, want) {
                    Ok(p) => Arc::new(p),
                    Err(e) => return errno(e),
                };
                // Ready or not before it is visible.
                self.refresh(&proxy);
                self.map.lock().insert(proxy.id, proxy.clone());
                match epoll::add(&ep, &proxy.p, epoll::EventData::new_u64(data), ev_flags) {
                    Ok(()) => {
                        // Released meanwhile (a close on another thread):
                        // the release found no proxy to drop.
                        if !registry.is_live(&proxy.buf) {
                            self.map.lock().remove(&proxy.id);
                            proxy.cancel();
                        }
                        Some(Answer::Value(0))
                    }
                    Err(e) => {
                        self.map.lock().remove(&proxy.id);
                        proxy.cancel();
                        errno(e)
                    }
                }
            }
            (_, None) => Some(Answer::Error(libc::ENOENT)),
            (EPOLL_CTL_DEL, Some(p)) => {
                let r = epoll::delete(&ep, &p.p);
                self.map.lock().remove(&p.id);
                p.cancel();
                match r {
                    Ok(()) => Some(Answer::Value(0)),
                    Err(e) => errno(e),
                }
            }
            (_, Some(p)) => {
                if let Err(e) = epoll::modify(&ep, &p.p, epoll::EventData::new_u64(data), ev_flags)
                {
                    return errno(e);
                }
                p.state.lock().want = want;
                self.refresh(&p);
                Some(Answer::Value(0))
            }
        }
    }
}

fn new_proxy(fd: i32, buf: Arc<DmaBufObj>, want: Events) -> rustix::io::Result<Proxy> {
    // The smallest send buffer: a few datagrams fill it.
    let (p, d) = dgram::pair().map_err(|e| {
        rustix::io::Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::ENOMEM))
    })?;
    let p_ino = rustix::fs::fstat(&p)?.st_ino;
    Ok(Proxy {
        id: next_id(),
        p,
        d,
        p_ino,
        fd,
        buf,
        state: Mutex::new(State {
            want,
            waiter: None,
            readable: false,
            writable: true,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_inodes_lists_the_epolls_files() {
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).expect("epoll");
        let (a, _b) = rustix::pipe::pipe().expect("pipe");
        assert!(is_epoll(&ep));
        assert!(!is_epoll(&a));
        assert_eq!(registered_inodes(&ep), Some(vec![]));
        epoll::add(&ep, &a, epoll::EventData::new_u64(7), epoll::EventFlags::IN).expect("add");
        let ino = rustix::fs::fstat(&a).expect("fstat").st_ino;
        assert_eq!(registered_inodes(&ep), Some(vec![ino]));
    }

    #[test]
    fn a_filled_proxy_is_not_writable_and_a_drained_one_is() {
        use rustix::event::{poll, PollFd, PollFlags};
        let (p, d) = dgram::pair().expect("socketpair");
        let out = |fd: &OwnedFd| {
            let mut f = [PollFd::new(fd, PollFlags::IN | PollFlags::OUT)];
            poll(&mut f, Some(&rustix::event::Timespec::default())).expect("poll");
            f[0].revents()
        };
        assert_eq!(out(&p), PollFlags::OUT);
        while dgram::send_byte(&p) {}
        assert_eq!(out(&p), PollFlags::empty(), "full: neither IN nor OUT");
        dgram::drain(&d);
        assert!(dgram::send_byte(&d));
        assert_eq!(out(&p), PollFlags::IN | PollFlags::OUT);
    }
}
