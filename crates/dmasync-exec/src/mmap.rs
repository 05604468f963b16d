//! `mmap` of our fds.
//!
//! Every `mmap` of a file comes here (the filter lets anonymous mappings
//! run natively). While no fd of ours can exist, or the fd is not ours,
//! the call continues. For ours:
//! * a dma-buf whose memory is its own memfd (system heap, vgem): the
//!   kernel's checks (a range within the buffer, no private mapping of a
//!   vgem buffer), then the call continues on the memfd;
//! * a udmabuf: its memory is ranges of the program's memfds, and the fd
//!   the program holds is only a stand-in; the mapping must be of those
//!   ranges, laid end to end, so that the program's writes through the
//!   memfd and through the buffer meet, as the kernel's udmabuf pages are
//!   the memfd's;
//! * a DRM file at a MAP_DUMB offset: the mapping must be of the GEM
//!   object's memfd, from the object's start (the kernel's
//!   `drm_gem_mmap`), so it shares pages with the object's PRIME dma-buf;
//! * a timeline or a device that has no mmap (heap, udmabuf): ENODEV, as
//!   the kernel's, where their stand-in memfds would map.
//!
//! No answer to a notification can change a call's file or offset, so the
//! last two are made by the program's own thread, injected
//! ([`crate::sys::inject`]) on a worker thread: the memfds are installed in
//! the program (ADDFD), the call is answered, the thread maps them (one
//! `mmap`, or a reservation and one `MAP_FIXED` mapping a range), closes
//! them and returns the mapping as its call's result. When the thread
//! cannot be traced (already traced, ptrace refused, another
//! architecture) a DRM file's mapping fails with EACCES and a udmabuf's
//! maps its stand-in (a copy made at creation), as before.
//!
//! The generic checks of the kernel's `do_mmap` that a DRM file's stand-in
//! (a read-only pipe end) would answer wrongly are made here first: a
//! zero length or unaligned offset (EINVAL), an unknown mapping type
//! (EINVAL), the access mode (EACCES).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::objects::{Object, Registry};
use crate::paths::Node;
use crate::procfs::Shown;
use crate::sys::inject::Seized;
use crate::sys::seccomp::{Answer, Listener, Notif};

const PAGE: u64 = 4096;

/// A range of a memfd, mapped at the next place of the mapping.
struct Piece {
    fd: OwnedFd,
    offset: u64,
    len: u64,
}

/// What to do with a trapped `mmap`.
enum Plan {
    /// The call is the kernel's (not ours, or ours and mapped as is).
    Continue,
    /// Map these pieces in the caller; `fallback` when it cannot be done.
    Inject {
        pieces: Vec<Piece>,
        fallback: Answer,
        /// What the mapping's start is, as `/proc/<pid>/maps` shows it.
        shown: Shown,
    },
}

/// `mmap` arguments.
#[derive(Clone, Copy)]
struct Args {
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: i32,
    offset: u64,
}

impl Args {
    fn of(n: &Notif) -> Args {
        let a = &n.args;
        Args {
            addr: a[0],
            len: a[1],
            prot: a[2],
            flags: a[3],
            fd: a[4] as i32,
            offset: a[5],
        }
    }

    fn shared(&self) -> bool {
        let t = self.flags as i32 & libc::MAP_TYPE;
        t == libc::MAP_SHARED || t == libc::MAP_SHARED_VALIDATE
    }

    /// The length in whole pages (bytes).
    fn pages_len(&self) -> u64 {
        self.len.div_ceil(PAGE) * PAGE
    }

    /// `do_mmap`'s checks that come before the file's own, for a file
    /// opened with `access` (`O_ACCMODE` bits).
    fn generic_check(&self, access: u32) -> Result<(), i32> {
        let t = self.flags as i32 & libc::MAP_TYPE;
        if self.len == 0
            || self.offset % PAGE != 0
            || self.offset.checked_add(self.pages_len()).is_none()
            || ![
                libc::MAP_SHARED,
                libc::MAP_PRIVATE,
                libc::MAP_SHARED_VALIDATE,
            ]
            .contains(&t)
        {
            return Err(libc::EINVAL);
        }
        let access = access as i32;
        if access == libc::O_WRONLY {
            return Err(libc::EACCES);
        }
        if self.shared() && self.prot & libc::PROT_WRITE as u64 != 0 && access != libc::O_RDWR {
            return Err(libc::EACCES);
        }
        Ok(())
    }

    /// The kernel's dma-buf check: the range lies within `size`.
    fn within(&self, size: u64) -> bool {
        self.offset
            .checked_add(self.pages_len())
            .is_some_and(|end| end <= size.div_ceil(PAGE) * PAGE)
    }
}

fn dup(fd: std::os::fd::BorrowedFd<'_>) -> Result<OwnedFd, i32> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| e.raw_os_error())
}

/// The plan for an `mmap` of our `obj`, whose program-side description
/// has `access` (`Named::access_mode`).
fn plan(obj: &Object, file: BorrowedFd<'_>, a: &Args, access: u32) -> Result<Plan, i32> {
    match obj {
        Object::DmaBuf(b) => {
            a.generic_check(access)?;
            let buf = &b.buf;
            if !a.within(buf.size()) {
                return Err(libc::EINVAL);
            }
            let exporter = buf.exp_name();
            let udmabuf = exporter == dmasync::buf::udmabuf::UDMABUF_NAME;
            // udmabuf wants a shared mapping; drm_gem_shmem refuses a
            // private (copy-on-write) one.
            if (udmabuf || exporter == "drm") && !a.shared() {
                return Err(libc::EINVAL);
            }
            if !udmabuf {
                return Ok(Plan::Continue);
            }
            let Some(mem) = buf.memory() else {
                return Ok(Plan::Continue);
            };
            let (start, end) = (a.offset, a.offset + a.pages_len());
            let mut pieces = Vec::new();
            let mut at = 0u64;
            for seg in mem.segments() {
                let (s, e) = (at, at + seg.len());
                at = e;
                if e <= start || s >= end {
                    continue;
                }
                let from = start.max(s);
                let to = end.min(e);
                pieces.push(Piece {
                    fd: dup(seg.fd().as_fd())?,
                    offset: seg.offset() + (from - s),
                    len: to - from,
                });
            }
            Ok(Plan::Inject {
                pieces,
                fallback: Answer::Continue,
                shown: Shown::DmaBuf {
                    buf: Arc::downgrade(b),
                    path: buf.dentry_name(),
                    key: crate::objects::key_of(file)
                        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?,
                    offset: a.offset,
                },
            })
        }
        Object::Drm(f) => {
            a.generic_check(access)?;
            let obj = f
                .file
                .mmap(a.offset, a.pages_len())
                .map_err(|e| e.errno().unsigned_abs() as i32)?;
            if !a.shared() {
                return Err(libc::EINVAL);
            }
            let (Some(fd), Some(start)) = (obj.memfd(), obj.mmap_start()) else {
                return Err(libc::EINVAL);
            };
            Ok(Plan::Inject {
                pieces: vec![Piece {
                    fd: dup(fd)?,
                    offset: a.offset - start,
                    len: a.pages_len(),
                }],
                fallback: Answer::Error(libc::EACCES),
                // The kernel's vma keeps the fake offset.
                shown: Shown::Node {
                    node: if f.file.is_render() {
                        Node::RenderD128
                    } else {
                        Node::Card0
                    },
                    offset: a.offset,
                },
            })
        }
        // Files without an mmap: the debugfs timeline, the heap and
        // udmabuf devices, a sysfs attribute (ENODEV after the generic
        // checks); an O_PATH
        // file is not open for mapping at all.
        // A sysfs attribute: kernfs maps only binary attributes.
        Object::Timeline(_) | Object::Heap | Object::Udmabuf | Object::SysAttr(_) => {
            a.generic_check(access)?;
            Err(libc::ENODEV)
        }
        Object::PathOnly(_) => Err(libc::EBADF),
        // A sync file is a pipe: ENODEV already.
        Object::SyncFile(_) => Ok(Plan::Continue),
    }
}

/// Serves a trapped `mmap`. `None` when the caller is gone or a worker
/// answers.
pub(crate) fn serve(registry: &Registry, listener: &Arc<Listener>, n: &Notif) -> Option<Answer> {
    let a = Args::of(n);
    let named = match registry.served_fd(n.pid, a.fd) {
        Ok(named) => named,
        Err(answer) => return Some(answer),
    };
    let (pieces, fallback, shown) =
        match plan(&named.obj, named.file.as_fd(), &a, named.access_mode()) {
            Ok(Plan::Continue) => return Some(Answer::Continue),
            Err(e) => return Some(Answer::Error(e)),
            Ok(Plan::Inject {
                pieces,
                fallback,
                shown,
            }) => (pieces, fallback, shown),
        };
    if !listener.id_valid(n.id) {
        return None;
    }
    let listener = listener.clone();
    let injected = registry.injected.clone();
    let (id, tid) = (n.id, n.pid);
    let spawned = std::thread::Builder::new()
        .name("dmasync-mmap".into())
        .spawn(move || {
            let made = Made {
                injected: &injected,
                shown: &shown,
            };
            inject(&listener, id, tid, a, &pieces, fallback, made);
        });
    match spawned {
        Ok(_) => None,
        Err(_) => Some(Answer::Error(libc::ENOMEM)),
    }
}

/// Records the pieces mapped from `start` for `/proc/<pid>/maps`: each is
/// a mapping of its memfd range, standing for the next range of `shown`.
fn record(injected: &crate::procfs::Injections, start: u64, pieces: &[Piece], shown: &Shown) {
    let mut at = 0;
    for p in pieces {
        if let Ok(key) = crate::objects::key_of(p.fd.as_fd()) {
            injected.record(start + at, key, p.offset, shown.at(at));
        }
        at += p.len;
    }
}

/// Where a mapping made is recorded, and what it stands for.
struct Made<'a> {
    injected: &'a crate::procfs::Injections,
    shown: &'a Shown,
}

/// Maps `pieces` in thread `tid`, stopped in notified call `id`, and makes
/// the mapping's address (or an error) the call's result; a mapping made
/// is recorded (`made`) before the thread runs on.
fn inject(
    listener: &Listener,
    id: u64,
    tid: u32,
    a: Args,
    pieces: &[Piece],
    fallback: Answer,
    made: Made<'_>,
) {
    // The tracer must be this thread: every ptrace request comes from it.
    let seized = match Seized::new(tid) {
        Ok(s) => s,
        Err(_) => {
            let _ = listener.answer(id, fallback);
            return;
        }
    };
    let mut nums = Vec::with_capacity(pieces.len());
    let mut installed = true;
    for p in pieces {
        match listener.add_fd(id, p.fd.as_fd(), true) {
            Ok(n) => nums.push(n),
            Err(_) => {
                installed = false;
                break;
            }
        }
    }
    if listener.answer(id, Answer::Value(0)).is_err() {
        // The caller is gone (or its call was interrupted): nothing stops.
        drop(seized);
        return;
    }
    let Ok(mut st) = seized.stopped() else {
        return;
    };
    let result = if installed {
        map_pieces(&mut st, &a, pieces, &nums)
    } else {
        -i64::from(libc::EMFILE)
    };
    for n in nums {
        let _ = st.syscall(libc::SYS_close, [n as u64, 0, 0, 0, 0, 0]);
    }
    if !failed(result) {
        record(made.injected, result as u64, pieces, made.shown);
    }
    st.finish(result);
}

fn failed(r: i64) -> bool {
    (-4095..0).contains(&r)
}

/// The injected mappings: one `mmap` for one piece; otherwise a
/// reservation of the whole length and one fixed mapping a piece.
fn map_pieces(
    st: &mut crate::sys::inject::Stopped,
    a: &Args,
    pieces: &[Piece],
    nums: &[i32],
) -> i64 {
    let call = |st: &mut crate::sys::inject::Stopped, args: [u64; 6]| {
        st.syscall(libc::SYS_mmap, args)
            .unwrap_or(-i64::from(libc::EFAULT))
    };
    if let ([p], [n]) = (pieces, nums) {
        return call(st, [a.addr, a.len, a.prot, a.flags, *n as u64, p.offset]);
    }
    let placement = a.flags & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) as u64;
    let reserve = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64 | placement;
    let base = call(
        st,
        [
            a.addr,
            a.pages_len(),
            libc::PROT_NONE as u64,
            reserve,
            u64::MAX,
            0,
        ],
    );
    if failed(base) {
        return base;
    }
    let fixed = (a.flags & !(libc::MAP_FIXED_NOREPLACE as u64)) | libc::MAP_FIXED as u64;
    let mut at = base as u64;
    for (p, n) in pieces.iter().zip(nums) {
        let r = call(st, [at, p.len, a.prot, fixed, *n as u64, p.offset]);
        if failed(r) {
            let _ = st.syscall(libc::SYS_munmap, [base as u64, a.pages_len(), 0, 0, 0, 0]);
            return r;
        }
        at += p.len;
    }
    base
}
