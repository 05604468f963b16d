//! seccomp user notification: installing the filter (in the child) and the
//! listener's ioctls (in the supervisor).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::filter::Insn;

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
/// Once the supervisor has received a call, only a fatal signal interrupts
/// the caller's wait (5.19+). Without it, a signal arriving while a call is
/// served restarts the call and runs its side effects (an INC, a new fd)
/// twice.
const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;
const SECCOMP_GET_NOTIF_SIZES: libc::c_ulong = 3;

// The listener's ioctls (linux/seccomp.h, magic '!').
const NOTIF_RECV: libc::c_ulong = 0xC050_2100;
const NOTIF_SEND: libc::c_ulong = 0xC018_2101;
/// ID_VALID moved from `_IOR` (5.0-5.16 headers) to `_IOW`; kernels accept
/// both encodings, some only one of them.
const NOTIF_ID_VALID_W: libc::c_ulong = 0x4008_2102;
const NOTIF_ID_VALID_R: libc::c_ulong = 0x8008_2102;
const NOTIF_ADDFD: libc::c_ulong = 0x4018_2103;
const NOTIF_SET_FLAGS: libc::c_ulong = 0x4008_2104;
const USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

const USER_NOTIF_FLAG_CONTINUE: u32 = 1;
const ADDFD_FLAG_SEND: u32 = 2;

const _: () = assert!(std::mem::size_of::<libc::seccomp_notif>() == 80);
const _: () = assert!(std::mem::size_of::<libc::seccomp_notif_resp>() == 24);
const _: () = assert!(std::mem::size_of::<libc::seccomp_notif_addfd>() == 24);

/// The BPF program in the form `seccomp(2)` takes. Built before `fork` so
/// the child allocates nothing.
pub struct Program {
    insns: Vec<Insn>,
}

impl Program {
    /// Wraps a built program.
    pub fn new(insns: Vec<Insn>) -> Program {
        Program { insns }
    }

    /// Sets no_new_privs and installs the filter on the calling thread,
    /// returning the listener fd. Async-signal-safe: only raw system calls,
    /// no allocation, so it may run between `fork` and `exec`.
    pub fn install(&self) -> io::Result<RawFd> {
        let prog = libc::sock_fprog {
            len: self.insns.len() as libc::c_ushort,
            filter: self.insns.as_ptr() as *mut Insn,
        };
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut last = io::Error::from_raw_os_error(libc::EINVAL);
        for flags in [
            SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
            SECCOMP_FILTER_FLAG_NEW_LISTENER,
        ] {
            // SAFETY: `prog` points at `self.insns`, alive for the call; the
            // kernel copies the program.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    SECCOMP_SET_MODE_FILTER,
                    flags,
                    &prog as *const libc::sock_fprog,
                )
            };
            if fd >= 0 {
                return Ok(fd as RawFd);
            }
            last = io::Error::last_os_error();
            if last.raw_os_error() != Some(libc::EINVAL) {
                break;
            }
        }
        Err(last)
    }
}

/// Checks that the kernel's notification structures have the sizes this
/// code was written for.
pub fn check_sizes() -> io::Result<()> {
    let mut sizes = libc::seccomp_notif_sizes {
        seccomp_notif: 0,
        seccomp_notif_resp: 0,
        seccomp_data: 0,
    };
    // SAFETY: the kernel writes a `struct seccomp_notif_sizes` into `sizes`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_NOTIF_SIZES,
            0,
            &mut sizes as *mut libc::seccomp_notif_sizes,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    if sizes.seccomp_notif as usize > std::mem::size_of::<libc::seccomp_notif>()
        || sizes.seccomp_notif_resp as usize > std::mem::size_of::<libc::seccomp_notif_resp>()
    {
        return Err(io::Error::other("seccomp notification structures grew"));
    }
    Ok(())
}

/// One trapped system call, as received.
#[derive(Clone, Copy, Debug)]
pub struct Notif {
    /// The notification's cookie.
    pub id: u64,
    /// The calling thread's id, in the supervisor's pid namespace.
    pub pid: u32,
    /// The system call number.
    pub nr: i64,
    /// Its six arguments.
    pub args: [u64; 6],
}

/// The answer to a notification.
#[derive(Debug)]
pub enum Answer {
    /// Let the kernel run the call as if no filter were there.
    Continue,
    /// Fail with this (positive) errno.
    Error(i32),
    /// Succeed with this return value.
    Value(i64),
    /// Install the fd in the caller and return its number as the result.
    Fd {
        /// The supervisor's fd to install (a new reference to its file).
        fd: OwnedFd,
        /// Whether the new fd is close-on-exec.
        cloexec: bool,
    },
}

/// Whether a caller whose notification was received waits for its
/// answer killably (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, Linux 5.19+,
/// which [`Program::install`] asks for first): no signal then ends the
/// call between an ADDFD and the answer.
fn waits_killably() -> bool {
    static KILLABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KILLABLE.get_or_init(|| {
        let uname = rustix::system::uname();
        let release = uname.release().to_string_lossy();
        let mut parts = release
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (5, 19)
    })
}

/// The listener fd of one filter.
pub struct Listener {
    fd: OwnedFd,
}

fn ioctl(fd: RawFd, req: libc::c_ulong, arg: *mut libc::c_void) -> io::Result<libc::c_int> {
    // SAFETY: each caller passes a pointer to the structure `req` expects.
    let r = unsafe { libc::ioctl(fd, req, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Listener {
    /// Takes ownership of a listener fd.
    pub fn new(fd: OwnedFd) -> Listener {
        Listener { fd }
    }

    /// The listener as a borrowed fd (for poll).
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// Asks the kernel to switch to the supervisor on the caller's CPU when
    /// a call arrives (6.6+), which saves a cross-CPU wake-up per call.
    /// Returns whether the kernel accepted it.
    pub fn set_sync_wakeup(&self) -> bool {
        // The flags are passed by value, not through a pointer.
        ioctl(
            self.fd.as_raw_fd(),
            NOTIF_SET_FLAGS,
            USER_NOTIF_FD_SYNC_WAKE_UP as usize as *mut libc::c_void,
        )
        .is_ok()
    }

    /// Waits for the next notification. `EINTR` and `ENOENT` (the caller
    /// died before it was received) are reported as `Ok(None)`.
    pub fn recv(&self) -> io::Result<Option<Notif>> {
        // SAFETY: all-zero is a valid `seccomp_notif` (plain integers); the
        // kernel requires the buffer zeroed.
        let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        match ioctl(
            self.fd.as_raw_fd(),
            NOTIF_RECV,
            (&mut n as *mut libc::seccomp_notif).cast(),
        ) {
            Ok(_) => Ok(Some(Notif {
                id: n.id,
                pid: n.pid,
                nr: i64::from(n.data.nr),
                args: n.data.args,
            })),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::ENOENT)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the notification is still pending: its caller has not died
    /// or been interrupted. Check it after reading the caller's memory and
    /// before acting on what was read.
    pub fn id_valid(&self, id: u64) -> bool {
        let mut id = id;
        for req in [NOTIF_ID_VALID_W, NOTIF_ID_VALID_R] {
            match ioctl(self.fd.as_raw_fd(), req, (&mut id as *mut u64).cast()) {
                Ok(_) => return true,
                Err(e)
                    if e.raw_os_error() == Some(libc::ENOTTY)
                        || e.raw_os_error() == Some(libc::EINVAL) =>
                {
                    continue
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Installs `fd` in the caller without answering; returns its number
    /// there.
    pub fn add_fd(&self, id: u64, fd: BorrowedFd<'_>, cloexec: bool) -> io::Result<i32> {
        let mut a = libc::seccomp_notif_addfd {
            id,
            flags: 0,
            srcfd: fd.as_raw_fd() as u32,
            newfd: 0,
            newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
        };
        ioctl(
            self.fd.as_raw_fd(),
            NOTIF_ADDFD,
            (&mut a as *mut libc::seccomp_notif_addfd).cast(),
        )
    }

    /// Answers a notification. An error means the caller is gone (its call
    /// was interrupted or it died): nothing to do then.
    pub fn answer(&self, id: u64, answer: Answer) -> io::Result<()> {
        let (val, error, flags) = match answer {
            Answer::Continue => (0, 0, USER_NOTIF_FLAG_CONTINUE),
            Answer::Error(e) => (0, -e, 0),
            Answer::Value(v) => (v, 0, 0),
            // Installing, then answering, is one hand-off less on the
            // caller's critical path than ADDFD_FLAG_SEND (whose caller
            // runs on while the supervisor is still being woken): about
            // half the cost of an open on these VMs. Safe only when the
            // caller cannot be interrupted between the two (5.19+).
            Answer::Fd { fd, cloexec } if waits_killably() => (
                i64::from(self.add_fd(id, std::os::fd::AsFd::as_fd(&fd), cloexec)?),
                0,
                0,
            ),
            Answer::Fd { fd, cloexec } => {
                let mut a = libc::seccomp_notif_addfd {
                    id,
                    flags: ADDFD_FLAG_SEND,
                    srcfd: fd.as_raw_fd() as u32,
                    newfd: 0,
                    newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
                };
                ioctl(
                    self.fd.as_raw_fd(),
                    NOTIF_ADDFD,
                    (&mut a as *mut libc::seccomp_notif_addfd).cast(),
                )?;
                return Ok(());
            }
        };
        let mut r = libc::seccomp_notif_resp {
            id,
            val,
            error,
            flags,
        };
        ioctl(
            self.fd.as_raw_fd(),
            NOTIF_SEND,
            (&mut r as *mut libc::seccomp_notif_resp).cast(),
        )
        .map(|_| ())
    }
}
