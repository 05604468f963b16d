//! The sw_sync/sync_file differential probe in Rust: the same observations,
//! in the same order and form, as `crates/dmasync-exec/tests/diff/sync.c`,
//! with every ioctl made through `rustix::ioctl` (no libc). Its output is
//! compared with `tests/diff/golden/sync.txt` of dmasync-exec, on the real
//! kernel (tests/diff/regenerate.sh) and under `dmasync exec`
//! (tests/diff.rs).
//!
//! Normalisation (see tests/diff/probe.h): fence contexts are renumbered in
//! order of first appearance (`<c0>`...), the command name (the name of the
//! program's timelines) is printed as `<comm>`, timestamps as `ts=0`/`ts>0`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::{open, Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Opcode, Setter, Updater};
use rustix::time::{clock_gettime, ClockId, Timespec};

const SW_SYNC: &str = "/sys/kernel/debug/sync/sw_sync";

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CreateFenceData {
    value: u32,
    name: [u8; 32],
    fence: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct GetDeadline {
    deadline_ns: u64,
    pad: u32,
    fence_fd: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct MergeData {
    name: [u8; 32],
    fd2: i32,
    fence: i32,
    flags: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct FenceInfo {
    obj_name: [u8; 32],
    driver_name: [u8; 32],
    status: i32,
    flags: u32,
    timestamp_ns: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct FileInfo {
    name: [u8; 32],
    status: i32,
    flags: u32,
    num_fences: u32,
    pad: u32,
    sync_fence_info: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SetDeadline {
    deadline_ns: u64,
    pad: u64,
}

const SW_SYNC_IOC_CREATE_FENCE: Opcode = opcode::read_write::<CreateFenceData>(b'W', 0);
const SW_SYNC_IOC_INC: Opcode = opcode::write::<u32>(b'W', 1);
const SW_SYNC_GET_DEADLINE: Opcode = opcode::read_write::<GetDeadline>(b'W', 2);
const SYNC_IOC_MERGE: Opcode = opcode::read_write::<MergeData>(b'>', 3);
const SYNC_IOC_FILE_INFO: Opcode = opcode::read_write::<FileInfo>(b'>', 4);
const SYNC_IOC_SET_DEADLINE: Opcode = opcode::write::<SetDeadline>(b'>', 5);

const EMPTY_FENCE: FenceInfo = FenceInfo {
    obj_name: [0; 32],
    driver_name: [0; 32],
    status: 0,
    flags: 0,
    timestamp_ns: 0,
};

/// The kernel's names of the errnos the probe can see.
fn errname(e: Errno) -> String {
    let n = e.raw_os_error();
    let name = match n {
        1 => "EPERM",
        2 => "ENOENT",
        4 => "EINTR",
        5 => "EIO",
        6 => "ENXIO",
        7 => "E2BIG",
        9 => "EBADF",
        10 => "ECHILD",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        24 => "EMFILE",
        25 => "ENOTTY",
        28 => "ENOSPC",
        29 => "ESPIPE",
        34 => "ERANGE",
        38 => "ENOSYS",
        75 => "EOVERFLOW",
        77 => "EBADFD",
        95 => "EOPNOTSUPP",
        110 => "ETIMEDOUT",
        _ => return format!("E{n}"),
    };
    name.to_string()
}

fn rc(r: rustix::io::Result<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => errname(e),
    }
}

fn yesno(c: bool) -> &'static str {
    if c {
        "yes"
    } else {
        "no"
    }
}

fn ts(t: u64) -> &'static str {
    if t != 0 {
        "ts>0"
    } else {
        "ts=0"
    }
}

fn now_ns() -> u64 {
    let t: Timespec = clock_gettime(ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn cstr(b: &[u8]) -> &[u8] {
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..n]
}

/// A name as it is (escaped when not printable): driver names, which are
/// never the command name even when they equal it.
fn plain_name(raw: &[u8]) -> String {
    let mut o = String::new();
    for &c in cstr(raw) {
        if (0x20..0x7f).contains(&c) && c != b'\\' {
            o.push(c as char);
        } else {
            o.push_str(&format!("\\x{c:02x}"));
        }
    }
    o
}

/// The probe's state: its command name and the contexts seen so far.
struct Probe {
    comm: Vec<u8>,
    contexts: Vec<u64>,
}

/// A fence's file info: the header and its entries.
struct Info {
    header: FileInfo,
    fences: Vec<FenceInfo>,
}

impl Probe {
    fn new() -> Probe {
        let comm = rustix::thread::name()
            .map(|c| c.into_bytes())
            .unwrap_or_default();
        Probe {
            comm,
            contexts: Vec::new(),
        }
    }

    fn ctx_token(&mut self, ctx: u64) -> usize {
        if let Some(i) = self.contexts.iter().position(|&c| c == ctx) {
            return i;
        }
        self.contexts.push(ctx);
        self.contexts.len() - 1
    }

    fn norm_word(&self, w: &[u8]) -> String {
        if w == self.comm.as_slice() {
            "<comm>".into()
        } else {
            String::from_utf8_lossy(w).into_owned()
        }
    }

    /// The normalised form of a name (as `norm_name` in probe.h).
    fn norm_name(&mut self, raw: &[u8]) -> String {
        let name = cstr(raw);
        let n = name.len();
        let first = name.iter().position(|&c| c == b'-');
        let last = name.iter().rposition(|&c| c == b'-');
        if let (Some(first), Some(last)) = (first, last) {
            if last > first + 1 && last + 1 < n {
                let seq_ok = name[last + 1..]
                    .iter()
                    .enumerate()
                    .all(|(i, &c)| c.is_ascii_digit() || (i == 0 && c == b'-'));
                let mut d = last;
                while d > first + 1 && name[d - 1].is_ascii_digit() {
                    d -= 1;
                }
                if seq_ok && d < last {
                    let ctx: u64 = std::str::from_utf8(&name[d..last])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(u64::MAX);
                    let word = self.norm_word(&name[first + 1..d]);
                    let tok = self.ctx_token(ctx);
                    return format!(
                        "{}-{}<c{}>{}",
                        String::from_utf8_lossy(&name[..first]),
                        word,
                        tok,
                        String::from_utf8_lossy(&name[last..])
                    );
                }
            }
        }
        let word = self.norm_word(name);
        let mut o = String::new();
        for &c in word.as_bytes() {
            if (0x20..0x7f).contains(&c) && c != b'\\' {
                o.push(c as char);
            } else {
                o.push_str(&format!("\\x{c:02x}"));
            }
        }
        o
    }

    /// FILE_INFO in two calls; the status is -1000-errno on failure.
    fn file_info(&self, fd: BorrowedFd<'_>) -> Info {
        let mut h = FileInfo::default();
        // SAFETY: FileInfo is the argument of SYNC_IOC_FILE_INFO; with
        // num_fences 0 the kernel writes no entries.
        if let Err(e) = unsafe { ioctl(fd, Updater::<SYNC_IOC_FILE_INFO, _>::new(&mut h)) } {
            h.status = -1000 - e.raw_os_error();
            return Info {
                header: h,
                fences: Vec::new(),
            };
        }
        let mut fences = vec![EMPTY_FENCE; h.num_fences.min(256) as usize];
        h.num_fences = fences.len() as u32;
        h.sync_fence_info = fences.as_mut_ptr() as u64;
        // SAFETY: the buffer holds num_fences entries and outlives the call.
        if let Err(e) = unsafe { ioctl(fd, Updater::<SYNC_IOC_FILE_INFO, _>::new(&mut h)) } {
            h.status = -1000 - e.raw_os_error();
        }
        fences.truncate(h.num_fences as usize);
        Info { header: h, fences }
    }

    fn show_file(&mut self, label: &str, fd: BorrowedFd<'_>) {
        let info = self.file_info(fd);
        let h = info.header;
        if h.status <= -1000 {
            println!(
                "{label}: FILE_INFO {}",
                errname(Errno::from_raw_os_error(-1000 - h.status))
            );
            return;
        }
        let name = self.norm_name(&h.name);
        println!(
            "{label}: name={name} status={} num_fences={} flags={}",
            h.status, h.num_fences, h.flags
        );
        for (i, f) in info.fences.iter().enumerate() {
            let obj = self.norm_name(&f.obj_name);
            let drv = plain_name(&f.driver_name);
            println!(
                "{label}[{i}]: obj={obj} driver={drv} status={} flags={} {}",
                f.status,
                f.flags,
                ts(f.timestamp_ns)
            );
        }
    }
}

fn file_status(p: &Probe, fd: &OwnedFd) -> i32 {
    p.file_info(fd.as_fd()).header.status
}

fn file_count(p: &Probe, fd: &OwnedFd) -> u32 {
    p.file_info(fd.as_fd()).header.num_fences
}

fn fence_ts(p: &Probe, fd: &OwnedFd, i: usize) -> u64 {
    p.file_info(fd.as_fd())
        .fences
        .get(i)
        .map_or(0, |f| f.timestamp_ns)
}

fn open_timeline() -> OwnedFd {
    match open(SW_SYNC, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            println!("FATAL open sw_sync: {}", errname(e));
            std::process::exit(2)
        }
    }
}

/// Takes ownership of an fd number the kernel returned in an argument.
fn own(fd: i32) -> OwnedFd {
    // SAFETY: the ioctl just installed this fd for us and nothing else owns it.
    unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) }
}

fn create_named(tl: &OwnedFd, value: u32, name: &str) -> OwnedFd {
    let mut d = CreateFenceData {
        value,
        ..Default::default()
    };
    d.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: the argument of SW_SYNC_IOC_CREATE_FENCE.
    match unsafe { ioctl(tl, Updater::<SW_SYNC_IOC_CREATE_FENCE, _>::new(&mut d)) } {
        Ok(()) => own(d.fence),
        Err(e) => {
            println!("FATAL SW_SYNC_IOC_CREATE_FENCE: {}", errname(e));
            std::process::exit(2)
        }
    }
}

fn create_fence(tl: &OwnedFd, value: u32) -> OwnedFd {
    create_named(tl, value, "")
}

fn inc(tl: &OwnedFd, by: u32) -> rustix::io::Result<()> {
    // SAFETY: SW_SYNC_IOC_INC reads one u32 through the pointer.
    unsafe { ioctl(tl, Setter::<SW_SYNC_IOC_INC, u32>::new(by)) }
}

fn merge_raw(a: &OwnedFd, d: &mut MergeData) -> rustix::io::Result<()> {
    // SAFETY: the argument of SYNC_IOC_MERGE.
    unsafe { ioctl(a, Updater::<SYNC_IOC_MERGE, _>::new(d)) }
}

fn merge(name: &str, a: &OwnedFd, b: &OwnedFd) -> OwnedFd {
    let mut d = MergeData {
        fd2: b.as_raw_fd(),
        ..Default::default()
    };
    d.name[..name.len()].copy_from_slice(name.as_bytes());
    match merge_raw(a, &mut d) {
        Ok(()) => own(d.fence),
        Err(e) => {
            println!("FATAL SYNC_IOC_MERGE: {}", errname(e));
            std::process::exit(2)
        }
    }
}

fn get_deadline(tl: &OwnedFd, fence: &OwnedFd) -> String {
    let mut g = GetDeadline {
        fence_fd: fence.as_raw_fd(),
        ..Default::default()
    };
    // SAFETY: the argument of SW_SYNC_GET_DEADLINE.
    match unsafe { ioctl(tl, Updater::<SW_SYNC_GET_DEADLINE, _>::new(&mut g)) } {
        Ok(()) => g.deadline_ns.to_string(),
        Err(e) => errname(e),
    }
}

fn set_deadline(fd: &OwnedFd, ns: u64) -> String {
    let s = SetDeadline {
        deadline_ns: ns,
        pad: 0,
    };
    // SAFETY: SYNC_IOC_SET_DEADLINE reads the struct through the pointer.
    rc(unsafe { ioctl(fd, Setter::<SYNC_IOC_SET_DEADLINE, _>::new(s)) })
}

fn revents(r: PollFlags) -> String {
    let mut parts = Vec::new();
    for (flag, name) in [
        (PollFlags::IN, "IN"),
        (PollFlags::OUT, "OUT"),
        (PollFlags::ERR, "ERR"),
        (PollFlags::HUP, "HUP"),
        (PollFlags::NVAL, "NVAL"),
        (PollFlags::PRI, "PRI"),
    ] {
        if r.contains(flag) {
            parts.push(name);
        }
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("|")
    }
}

/// poll once, timeout 0 or blocking (`block`).
fn poll_now(fd: &OwnedFd, events: PollFlags, block: bool) -> String {
    let mut fds = [PollFd::new(fd, events)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match poll(&mut fds, if block { None } else { Some(&zero) }) {
        Ok(0) => "none".into(),
        Ok(_) => revents(fds[0].revents()),
        Err(e) => errname(e),
    }
}

const IN_OUT: PollFlags = PollFlags::IN.union(PollFlags::OUT);

fn timelines(p: &mut Probe) {
    let tl = open_timeline();
    let f1 = create_fence(&tl, 1);
    p.show_file("fence at 1", f1.as_fd());
    println!("fence at 1: poll IN|OUT {}", poll_now(&f1, IN_OUT, false));
    let f2 = create_named(&tl, 2, "ignored");
    p.show_file("fence at 2 named 'ignored'", f2.as_fd());

    let before = now_ns();
    let f0 = create_fence(&tl, 0);
    let after = now_ns();
    p.show_file("fence at 0 (born signalled)", f0.as_fd());
    let t = fence_ts(p, &f0, 0);
    println!(
        "fence at 0: ts in creation window {}",
        yesno(t >= before && t <= after)
    );

    let before = now_ns();
    println!("INC 1: {}", rc(inc(&tl, 1)));
    let after = now_ns();
    p.show_file("fence at 1 after INC 1", f1.as_fd());
    let t = fence_ts(p, &f1, 0);
    println!(
        "fence at 1: ts in INC window {}",
        yesno(t >= before && t <= after)
    );
    println!("fence at 1: poll IN|OUT {}", poll_now(&f1, IN_OUT, false));
    println!(
        "fence at 1: poll OUT {}",
        poll_now(&f1, PollFlags::OUT, false)
    );
    println!(
        "fence at 1: poll IN {}",
        poll_now(&f1, PollFlags::IN, false)
    );
    println!("fence at 2: status {}", file_status(p, &f2));
    println!("INC 0: {}", rc(inc(&tl, 0)));
    println!("fence at 2 after INC 0: status {}", file_status(p, &f2));
    let g = create_fence(&tl, 1);
    println!(
        "new fence at 1 (current value): status {}",
        file_status(p, &g)
    );
    drop(g);

    let tl2 = open_timeline();
    let g = create_fence(&tl2, 1);
    p.show_file("second timeline, fence at 1", g.as_fd());
    drop(g);
    let g = create_fence(&tl, 3);
    p.show_file("first timeline, fence at 3", g.as_fd());
}

fn big_values(p: &mut Probe) {
    let values: [u32; 5] = [5, 0x7fff_ffff, 0x8000_0000, 0x8000_0003, 0xffff_fff0];
    let tl = open_timeline();
    let mut f = Vec::new();
    for v in values {
        let fd = create_fence(&tl, v);
        println!(
            "big: fence at {v:#x} on a fresh timeline: status {}",
            file_status(p, &fd)
        );
        f.push(fd);
    }
    for by in [0x8000_0001u32, 0x7fff_fff0] {
        println!("big: INC {by:#x}: {}", rc(inc(&tl, by)));
        for (v, fd) in values.iter().zip(&f) {
            println!(
                "big: fence at {v:#x} after INC {by:#x}: status {}",
                file_status(p, fd)
            );
        }
    }
    let g = create_fence(&tl, 0xffff_fff5);
    println!(
        "big: new fence at 0xfffffff5: status {}",
        file_status(p, &g)
    );
    drop(g);
    let g = create_fence(&tl, 2);
    println!("big: new fence at 2: status {}", file_status(p, &g));
    drop(g);
    drop(f);
    drop(tl);

    let tl = open_timeline();
    let a = create_fence(&tl, 0xffff_fffe);
    let b = create_fence(&tl, 3);
    println!("big: INC 0xffffffff: {}", rc(inc(&tl, 0xffff_ffff)));
    println!(
        "big: fence at 0xfffffffe after INC 0xffffffff: status {}",
        file_status(p, &a)
    );
    println!(
        "big: fence at 3 after INC 0xffffffff: status {}",
        file_status(p, &b)
    );
    let g = create_fence(&tl, 0xffff_ffff);
    println!(
        "big: new fence at 0xffffffff: status {}",
        file_status(p, &g)
    );
}

fn closing(p: &mut Probe) {
    let tl = open_timeline();
    let g = create_fence(&tl, 10);
    let h = create_fence(&tl, 0);
    println!("close: pending fence status before {}", file_status(p, &g));
    drop(tl);
    println!("close: close timeline ok");
    println!(
        "close: poll IN (blocking) {}",
        poll_now(&g, PollFlags::IN, true)
    );
    p.show_file("close: pending fence after close", g.as_fd());
    p.show_file("close: signalled fence after close", h.as_fd());
}

fn deadlines() {
    let tl = open_timeline();
    let tl2 = open_timeline();
    let d = create_fence(&tl, 1);
    println!("deadline: GET with none set {}", get_deadline(&tl, &d));
    println!("deadline: SET 2000 {}", set_deadline(&d, 2000));
    println!("deadline: GET {}", get_deadline(&tl, &d));
    println!("deadline: SET 3000 {}", set_deadline(&d, 3000));
    println!(
        "deadline: GET after later deadline {}",
        get_deadline(&tl, &d)
    );
    println!("deadline: SET 1000 {}", set_deadline(&d, 1000));
    println!(
        "deadline: GET after earlier deadline {}",
        get_deadline(&tl, &d)
    );
    println!(
        "deadline: GET through another timeline {}",
        get_deadline(&tl2, &d)
    );
    let e = create_fence(&tl, 0);
    println!(
        "deadline: SET on a signalled fence {}",
        set_deadline(&e, 500)
    );
    println!(
        "deadline: GET of a signalled fence {}",
        get_deadline(&tl, &e)
    );
    let o = create_fence(&tl2, 1);
    let m = merge("pair", &d, &o);
    println!("deadline: SET 700 on a merge {}", set_deadline(&m, 700));
    println!("deadline: GET of the merge {}", get_deadline(&tl, &m));
    println!("deadline: GET of its first fence {}", get_deadline(&tl, &d));
    println!(
        "deadline: GET of its second fence {}",
        get_deadline(&tl2, &o)
    );
    println!("deadline: SET 0 {}", set_deadline(&o, 0));
    println!("deadline: GET after SET 0 {}", get_deadline(&tl2, &o));
    let _ = inc(&tl, 1);
    println!(
        "deadline: GET after the fence signalled {}",
        get_deadline(&tl, &d)
    );
}

fn info_counts(p: &mut Probe) {
    let a = open_timeline();
    let b = open_timeline();
    let fa = create_fence(&a, 1);
    let fb = create_fence(&b, 1);
    let m = merge("ab", &fa, &fb);
    let mut fi = [FenceInfo {
        obj_name: [0xaa; 32],
        driver_name: [0xaa; 32],
        status: -0x5555_5556,
        flags: 0xaaaa_aaaa,
        timestamp_ns: 0xaaaa_aaaa_aaaa_aaaa,
    }; 5];
    let mut info = FileInfo {
        sync_fence_info: fi.as_mut_ptr() as u64,
        ..Default::default()
    };
    let file_info = |info: &mut FileInfo| {
        // SAFETY: fi holds 5 entries and outlives the calls.
        rc(unsafe { ioctl(&m, Updater::<SYNC_IOC_FILE_INFO, _>::new(info)) })
    };
    println!("info: num_fences 0: {}", file_info(&mut info));
    let name = p.norm_name(&info.name);
    // Read the entries through the pointer the kernel was given.
    let first_byte = |i: usize| {
        // SAFETY: the ioctls are done; fi is not otherwise borrowed.
        unsafe {
            *(info.sync_fence_info as *const FenceInfo)
                .add(i)
                .cast::<u8>()
        }
    };
    println!(
        "info: num_fences 0: name={name} status={} num_fences={} entries untouched {}",
        info.status,
        info.num_fences,
        yesno(first_byte(0) == 0xaa)
    );
    info.num_fences = 1;
    println!("info: num_fences 1 of 2: {}", file_info(&mut info));
    println!("info: num_fences after failure {}", info.num_fences);
    info.num_fences = 5;
    println!("info: num_fences 5 of 2: {}", file_info(&mut info));
    let untouched = {
        // SAFETY: as above.
        unsafe {
            *(info.sync_fence_info as *const FenceInfo)
                .add(2)
                .cast::<u8>()
        }
    } == 0xaa;
    println!(
        "info: num_fences rewritten to {}, entry 2 untouched {}",
        info.num_fences,
        yesno(untouched)
    );
    p.show_file("info: both pending", m.as_fd());
    let _ = inc(&a, 1);
    p.show_file("info: first signalled", m.as_fd());
    let _ = inc(&b, 1);
    p.show_file("info: both signalled", m.as_fd());
    drop(m);

    let fa = create_fence(&a, 2);
    let fb = create_fence(&b, 2);
    let m = merge("ab2", &fa, &fb);
    let _ = inc(&b, 1);
    p.show_file("info: second signalled", m.as_fd());
}

fn merges(p: &mut Probe) {
    let tl = open_timeline();
    let tl2 = open_timeline();
    let tl3 = open_timeline();
    let p3 = create_fence(&tl, 3);
    let p5 = create_fence(&tl, 5);
    let q = create_fence(&tl2, 1);
    let r = create_fence(&tl3, 1);

    let mut md = MergeData {
        name: [b'x'; 32],
        fd2: q.as_raw_fd(),
        ..Default::default()
    };
    println!("merge: unterminated name {}", rc(merge_raw(&p3, &mut md)));
    let m = own(md.fence);
    let info = p.file_info(m.as_fd());
    println!(
        "merge: unterminated name gives {} (length {})",
        p.norm_name(&info.header.name),
        cstr(&info.header.name).len()
    );
    drop(m);

    let m = merge("3+5", &p3, &p5);
    p.show_file("merge: points 3 and 5 of one timeline", m.as_fd());
    drop(m);
    let m = merge("5+3", &p5, &p3);
    p.show_file("merge: points 5 and 3 of one timeline", m.as_fd());
    drop(m);
    let m = merge("self", &q, &q);
    p.show_file("merge: a file with itself", m.as_fd());
    let m2 = merge("", &q, &r);
    p.show_file("merge: unnamed, two timelines", m2.as_fd());
    drop(m);
    let m = merge("pair-self", &m2, &m2);
    println!(
        "merge: a pair with itself: num_fences {}",
        file_count(p, &m)
    );
    drop(m);
    let m = merge("three", &m2, &p5);
    p.show_file("merge: three timelines", m.as_fd());
    drop(m);
    drop(m2);
    let m = merge("", &p3, &p5);
    p.show_file("merge: unnamed, one timeline", m.as_fd());
    drop(m);

    let s1 = create_fence(&tl3, 0);
    let m = merge("pending+signalled", &q, &s1);
    p.show_file("merge: pending and signalled", m.as_fd());
    drop(m);
    let m = merge("signalled+pending", &s1, &q);
    p.show_file("merge: signalled and pending", m.as_fd());
    drop(m);

    let _ = inc(&tl2, 1);
    let _ = inc(&tl3, 1);
    let t1 = fence_ts(p, &q, 0);
    let t2 = fence_ts(p, &r, 0);
    let m = merge("signalled+signalled", &q, &r);
    p.show_file("merge: two signalled", m.as_fd());
    println!(
        "merge: two signalled: ts is the newest input's {}",
        yesno(fence_ts(p, &m, 0) == t1.max(t2))
    );
    drop(m);
    let m = merge("", &r, &q);
    p.show_file("merge: two signalled, unnamed", m.as_fd());
    drop(m);
    let s2 = create_fence(&tl2, 0);
    let m = merge("same-signalled", &s2, &s2);
    p.show_file("merge: a signalled file with itself", m.as_fd());
    drop(m);

    let te = open_timeline();
    let e = create_fence(&te, 1);
    let pend = create_fence(&tl, 10);
    drop(te);
    let _ = poll_now(&e, PollFlags::IN, true);
    println!("merge: errored input status {}", file_status(p, &e));
    let m = merge("errored+pending", &e, &pend);
    p.show_file("merge: errored and pending", m.as_fd());
    let _ = inc(&tl, 10);
    p.show_file(
        "merge: errored and pending, after the pending one signals",
        m.as_fd(),
    );
    drop(m);
    let m = merge("errored+signalled", &e, &pend);
    p.show_file("merge: errored and signalled", m.as_fd());
}

fn sixty_four(p: &mut Probe) {
    let mut tls = Vec::new();
    let mut acc: Option<OwnedFd> = None;
    for _ in 0..64 {
        let tl = open_timeline();
        let f = create_fence(&tl, 1);
        acc = Some(match acc {
            None => f,
            Some(a) => merge("64", &a, &f),
        });
        tls.push(tl);
    }
    let acc = acc.expect("64 fences");
    let line = |p: &Probe| {
        format!(
            "num_fences {} status {}",
            file_count(p, &acc),
            file_status(p, &acc)
        )
    };
    println!("64: {}", line(p));
    for tl in &tls[..63] {
        let _ = inc(tl, 1);
    }
    println!("64: after 63 signal: {}", line(p));
    println!("64: poll IN {}", poll_now(&acc, PollFlags::IN, false));
    let _ = inc(&tls[63], 1);
    println!("64: after 64 signal: {}", line(p));
    println!("64: poll IN {}", poll_now(&acc, PollFlags::IN, false));
}

fn main() {
    let mut p = Probe::new();
    timelines(&mut p);
    big_values(&mut p);
    closing(&mut p);
    deadlines();
    info_counts(&mut p);
    merges(&mut p);
    sixty_four(&mut p);
    println!("end");
}
