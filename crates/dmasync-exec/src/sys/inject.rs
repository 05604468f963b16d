//! System calls run by a thread of the program on the supervisor's behalf:
//! ptrace syscall injection, for what no seccomp answer can do (an `mmap`
//! whose file or offset is not the one the program gave).
//!
//! The thread is stopped in a notified call. [`Seized::new`] attaches to it
//! (`PTRACE_SEIZE`) and asks it to stop (`PTRACE_INTERRUPT`); the wait of a
//! received notification is killable only, so the request stays pending
//! until the call is answered. The caller then answers; the thread returns
//! from the call and stops before it runs any instruction of its own
//! ([`Seized::stopped`]). [`Stopped::syscall`] points it back at the
//! `syscall` instruction it came from with other registers and runs it to
//! the call's exit; [`Stopped::finish`] puts its registers back with the
//! result the program must see and detaches. Signals that arrive meanwhile
//! are held and delivered at the detach (the first one as the detach's
//! signal, any other one sent again to the thread).
//!
//! An injected call goes through the program's seccomp filter like any
//! other: whoever serves the notifications must keep serving while an
//! injection runs (so an injection runs on a thread of its own).
//!
//! x86-64 only; elsewhere [`Seized::new`] fails with ENOSYS and the caller
//! falls back.

use std::io;

/// A thread attached with a stop requested.
pub struct Seized {
    tid: i32,
}

/// A thread stopped after its notified call, ready for injections.
pub struct Stopped {
    tid: i32,
    #[cfg(target_arch = "x86_64")]
    saved: libc::user_regs_struct,
    /// Signals that arrived during the injections, delivered at detach.
    held: Vec<i32>,
}

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn ptrace(req: libc::c_uint, tid: i32, addr: usize, data: usize) -> io::Result<libc::c_long> {
    // SAFETY: the requests used here take integers, or (GETREGS/SETREGS)
    // a pointer to a `user_regs_struct` that outlives the call.
    check(unsafe { libc::ptrace(req, tid, addr, data) })
}

/// Waits for the next stop of `tid`; its `waitpid` status.
fn wait(tid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if r == tid {
            return Ok(status);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

impl Seized {
    /// Attaches to thread `tid` (stopped in a notified call that is not yet
    /// answered) and requests a stop.
    ///
    /// # Errors
    /// The thread cannot be traced (traced already, or ptrace refused);
    /// ENOSYS on an architecture without injection.
    pub fn new(tid: u32) -> io::Result<Seized> {
        if !cfg!(target_arch = "x86_64") {
            return Err(io::Error::from_raw_os_error(libc::ENOSYS));
        }
        let tid = tid as i32;
        ptrace(
            libc::PTRACE_SEIZE,
            tid,
            0,
            libc::PTRACE_O_TRACESYSGOOD as usize,
        )?;
        let s = Seized { tid };
        ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0)?;
        Ok(s)
    }

    /// After the notification was answered: waits until the thread stops
    /// on its way back to the program.
    ///
    /// # Errors
    /// The thread died.
    pub fn stopped(self) -> io::Result<Stopped> {
        let tid = self.tid;
        std::mem::forget(self);
        let mut held = Vec::new();
        loop {
            let status = wait(tid)?;
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            // PTRACE_EVENT_STOP: the requested stop.
            if status >> 16 == libc::PTRACE_EVENT_STOP {
                break;
            }
            // A signal-delivery stop: hold the signal, go on to the stop.
            held.push(libc::WSTOPSIG(status));
            ptrace(libc::PTRACE_CONT, tid, 0, 0)?;
        }
        Stopped::new(tid, held)
    }
}

impl Drop for Seized {
    /// Not stopped yet (the answer failed): detach at once.
    fn drop(&mut self) {
        let _ = ptrace(libc::PTRACE_DETACH, self.tid, 0, 0);
    }
}

#[cfg(target_arch = "x86_64")]
impl Stopped {
    fn new(tid: i32, held: Vec<i32>) -> io::Result<Stopped> {
        let saved = getregs(tid)?;
        // The two bytes before the resume address must be `syscall`
        // (0f 05): the injections re-run that instruction.
        let at = (saved.rip as usize).checked_sub(2);
        let word = match at {
            Some(at) => peek(tid, at)?,
            None => 0,
        };
        if word & 0xffff != 0x050f {
            let s = Stopped { tid, saved, held };
            s.detach();
            return Err(io::Error::from_raw_os_error(libc::ENOSYS));
        }
        Ok(Stopped { tid, saved, held })
    }

    /// Runs system call `nr` with `args` in the thread; its raw result
    /// (a negative errno on failure).
    ///
    /// # Errors
    /// The thread died or could not be controlled.
    pub fn syscall(&mut self, nr: i64, args: [u64; 6]) -> io::Result<i64> {
        let mut r = self.saved;
        // Checked in `new`: the two bytes before are `syscall`.
        r.rip -= 2;
        r.rax = nr as u64;
        r.orig_rax = u64::MAX;
        r.rdi = args[0];
        r.rsi = args[1];
        r.rdx = args[2];
        r.r10 = args[3];
        r.r8 = args[4];
        r.r9 = args[5];
        setregs(self.tid, &r)?;
        // To the call's entry, then to its exit.
        let mut exits = 0;
        while exits < 2 {
            ptrace(libc::PTRACE_SYSCALL, self.tid, 0, 0)?;
            let status = wait(self.tid)?;
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            if libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP | 0x80 {
                exits += 1;
            } else if libc::WIFSTOPPED(status) && status >> 16 == 0 {
                self.held.push(libc::WSTOPSIG(status));
            }
        }
        Ok(getregs(self.tid)?.rax as i64)
    }

    /// Puts the thread back where it stopped, with `result` as its
    /// notified call's return value, and detaches (delivering a held
    /// signal).
    pub fn finish(mut self, result: i64) {
        self.saved.rax = result as u64;
        let _ = setregs(self.tid, &self.saved);
        self.detach();
    }

    fn detach(self) {
        detach(self.tid, &self.held);
    }
}

#[cfg(not(target_arch = "x86_64"))]
impl Stopped {
    fn new(tid: i32, held: Vec<i32>) -> io::Result<Stopped> {
        detach(tid, &held);
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }

    /// Not available on this architecture.
    pub fn syscall(&mut self, _nr: i64, _args: [u64; 6]) -> io::Result<i64> {
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }

    /// Detaches.
    pub fn finish(self, _result: i64) {
        detach(self.tid, &self.held);
    }
}

/// Detaches from `tid`, delivering the signals held: the first with the
/// detach, the others sent to the thread again.
fn detach(tid: i32, held: &[i32]) {
    let first = held.first().copied().unwrap_or(0);
    let _ = ptrace(libc::PTRACE_DETACH, tid, 0, first as usize);
    if held.len() > 1 {
        let tgid = tgid_of(tid);
        for &sig in &held[1..] {
            // SAFETY: tgkill takes integers only.
            unsafe {
                libc::syscall(libc::SYS_tgkill, tgid, tid, sig);
            }
        }
    }
}

/// The thread group of thread `tid` (its `/proc/<tid>/status` `Tgid`).
fn tgid_of(tid: i32) -> i32 {
    super::files::ProcStatus::read(tid as u32)
        .and_then(|s| s.field("Tgid").and_then(|v| v.parse().ok()))
        .unwrap_or(tid)
}

#[cfg(target_arch = "x86_64")]
fn getregs(tid: i32) -> io::Result<libc::user_regs_struct> {
    // SAFETY: all-zero is a valid `user_regs_struct` (integers only).
    let mut r: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    ptrace(
        libc::PTRACE_GETREGS,
        tid,
        0,
        &mut r as *mut libc::user_regs_struct as usize,
    )?;
    Ok(r)
}

#[cfg(target_arch = "x86_64")]
fn setregs(tid: i32, r: &libc::user_regs_struct) -> io::Result<()> {
    ptrace(
        libc::PTRACE_SETREGS,
        tid,
        0,
        r as *const libc::user_regs_struct as usize,
    )
    .map(drop)
}

#[cfg(target_arch = "x86_64")]
fn peek(tid: i32, addr: usize) -> io::Result<u64> {
    // PEEKTEXT returns the word; -1 is also a valid word, so errno tells.
    // SAFETY: errno is thread-local; writing it is allowed.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: PEEKTEXT takes an address in the tracee, not ours.
    let w = unsafe { libc::ptrace(libc::PTRACE_PEEKTEXT, tid, addr, 0) };
    if w == -1 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(0) {
            return Err(e);
        }
    }
    Ok(w as u64)
}
