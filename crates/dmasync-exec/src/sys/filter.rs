//! The classic-BPF program that decides which system calls leave the
//! program for the supervisor. Pure data: no system call is made here.
//!
//! What is sent (SECCOMP_RET_USER_NOTIF), on the native architecture only:
//! * `open`, `openat`, `openat2`: the virtual paths are opened by the supervisor;
//! * `ioctl` whose request has one of the magic types of [`IOCTL_TYPES`],
//!   and [`FIONREAD`];
//! * `lseek`: our dma-bufs, timelines, devices and DRM files seek as the
//!   kernel's do; `fallocate`: they refuse it as the kernel's do;
//! * `stat`, `lstat`, `newfstatat`, `statx` and `fstat`: the virtual paths
//!   must exist, and the virtual nodes and our fds must say what the
//!   kernel's say (character devices, anonymous files; src/stat.rs);
//!   `access`, `faccessat`, `faccessat2`, and the path forms of
//!   `getxattr`, `listxattr` and `readlink`: the virtual paths must exist;
//! * `poll`, `ppoll`, `select` and `pselect6`, always (a filter cannot
//!   read the pollfd array or the fd sets):
//!   the ones that name a dma-buf are emulated (src/poll.rs);
//! * `epoll_ctl`, always: a dma-buf is registered through a proxy
//!   (src/epoll_proxy.rs);
//! * `mmap` of a file (not MAP_ANONYMOUS, fd not -1): a dma-buf's bounds are
//!   checked, and a udmabuf or a DRM file is mapped by the program itself
//!   on the supervisor's behalf (src/mmap.rs).
//!
//! Everything else, and every call of another architecture (i386 or x32
//! system calls of an x86-64 program), is allowed natively.

/// The ioctl magic types served by the supervisor: dma-buf, sync_file,
/// sw_sync, udmabuf, dma-heap and DRM.
pub const IOCTL_TYPES: [u8; 6] = [b'b', b'>', b'W', b'u', b'H', b'd'];

/// `FIONREAD`, the one ioctl of another type that is sent: the VFS answers
/// it for a regular file (our memfds), where our files' kernels answer
/// ENOTTY or EINVAL.
pub const FIONREAD: u32 = libc::FIONREAD as u32;

/// The `fcntl` commands that are sent: the kernel's dma-bufs, devices and
/// debugfs files have no seals (their stand-ins are memfds), and their
/// status flags are not their stand-ins' (`O_LARGEFILE`, a pipe's
/// `O_NONBLOCK`).
pub const FCNTL_CMDS: [u32; 4] = [
    libc::F_GETFL as u32,
    libc::F_SETFL as u32,
    libc::F_GET_SEALS as u32,
    libc::F_ADD_SEALS as u32,
];

/// One instruction of a classic-BPF program (`struct sock_filter`).
pub type Insn = libc::sock_filter;

// BPF opcodes (linux/bpf_common.h).
const BPF_LD: u16 = 0x00;
const BPF_W: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_ALU: u16 = 0x04;
const BPF_AND: u16 = 0x50;
const BPF_RSH: u16 = 0x70;
const BPF_K: u16 = 0x00;
const BPF_JMP: u16 = 0x05;
const BPF_JEQ: u16 = 0x10;
const BPF_JSET: u16 = 0x40;
const BPF_RET: u16 = 0x06;

const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_NATIVE: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH_NATIVE: u32 = 0xc000_00b7;
#[cfg(target_arch = "riscv64")]
const AUDIT_ARCH_NATIVE: u32 = 0xc000_00f3;

/// x32 system calls carry this bit in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

// Offsets in `struct seccomp_data` (little-endian: the low word of an
// argument is at its start).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const fn off_arg_lo(n: u32) -> u32 {
    16 + 8 * n
}

/// Where a jump goes.
#[derive(Clone, Copy)]
enum To {
    Next,
    Notify,
    Allow,
    Label(&'static str),
}

enum Op {
    Stmt(u16, u32),
    Jump(u16, u32, To, To),
    Label(&'static str),
}

fn resolve(ops: &[Op]) -> Vec<Insn> {
    // Index of every real instruction and label; the program ends with
    // `ret NOTIFY; ret ALLOW`.
    let mut labels = Vec::new();
    let mut n = 0usize;
    for op in ops {
        match op {
            Op::Label(name) => labels.push((*name, n)),
            _ => n += 1,
        }
    }
    let notify_at = n;
    let allow_at = n + 1;
    let target = |to: To, at: usize| -> u8 {
        let dest = match to {
            To::Next => at + 1,
            To::Notify => notify_at,
            To::Allow => allow_at,
            To::Label(l) => labels
                .iter()
                .find(|(name, _)| *name == l)
                .map(|(_, i)| *i)
                .expect("label"),
        };
        u8::try_from(dest - (at + 1)).expect("BPF jump too long")
    };
    let mut out = Vec::with_capacity(n + 2);
    for op in ops {
        let at = out.len();
        match *op {
            Op::Stmt(code, k) => out.push(Insn {
                code,
                jt: 0,
                jf: 0,
                k,
            }),
            Op::Jump(code, k, jt, jf) => out.push(Insn {
                code,
                jt: target(jt, at),
                jf: target(jf, at),
                k,
            }),
            Op::Label(_) => {}
        }
    }
    out.push(Insn {
        code: BPF_RET | BPF_K,
        jt: 0,
        jf: 0,
        k: SECCOMP_RET_USER_NOTIF,
    });
    out.push(Insn {
        code: BPF_RET | BPF_K,
        jt: 0,
        jf: 0,
        k: SECCOMP_RET_ALLOW,
    });
    out
}

/// System calls sent whatever their arguments.
fn always_notified() -> Vec<u32> {
    let mut v = vec![
        libc::SYS_openat as u32,
        libc::SYS_openat2 as u32,
        libc::SYS_faccessat as u32,
        libc::SYS_faccessat2 as u32,
        libc::SYS_getxattr as u32,
        libc::SYS_lgetxattr as u32,
        libc::SYS_listxattr as u32,
        libc::SYS_llistxattr as u32,
        libc::SYS_readlinkat as u32,
        // A dma-buf seeks only to 0 or its end; the timelines and devices
        // not at all (their stand-ins are memfds or pipes).
        libc::SYS_lseek as u32,
        // The kernel's files have no fallocate; their stand-ins do.
        libc::SYS_fallocate as u32,
        libc::SYS_newfstatat as u32,
        libc::SYS_statx as u32,
        libc::SYS_fstat as u32,
        // The pollfd array is out of the filter's reach: every call goes.
        libc::SYS_ppoll as u32,
        libc::SYS_pselect6 as u32,
        // Which fd is added is known only from its file.
        libc::SYS_epoll_ctl as u32,
        // Only the file tells whether it is a virtual directory.
        libc::SYS_getdents64 as u32,
        // The virtual files' file systems (sysfs, debugfs, devtmpfs).
        libc::SYS_statfs as u32,
        libc::SYS_fstatfs as u32,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        libc::SYS_open as u32,
        libc::SYS_stat as u32,
        libc::SYS_lstat as u32,
        libc::SYS_access as u32,
        libc::SYS_readlink as u32,
        libc::SYS_poll as u32,
        libc::SYS_select as u32,
    ]);
    v
}

/// Builds the filter program.
pub fn program() -> Vec<Insn> {
    use To::*;
    let ld = |off| Op::Stmt(BPF_LD | BPF_W | BPF_ABS, off);
    let jeq = |k, jt, jf| Op::Jump(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf);
    let jset = |k, jt, jf| Op::Jump(BPF_JMP | BPF_JSET | BPF_K, k, jt, jf);
    let ret_allow = Op::Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, Allow, Allow);

    let mut ops = vec![
        ld(OFF_ARCH),
        jeq(AUDIT_ARCH_NATIVE, Next, Allow),
        ld(OFF_NR),
        jset(X32_SYSCALL_BIT, Allow, Next),
        jeq(libc::SYS_ioctl as u32, Label("ioctl"), Next),
        jeq(libc::SYS_mmap as u32, Label("mmap"), Next),
        jeq(libc::SYS_fcntl as u32, Label("fcntl"), Next),
    ];
    for nr in always_notified() {
        ops.push(jeq(nr, Notify, Next));
    }
    ops.push(ret_allow);

    ops.push(Op::Label("ioctl"));
    ops.push(ld(off_arg_lo(1)));
    ops.push(jeq(FIONREAD, Notify, Next));
    ops.push(Op::Stmt(BPF_ALU | BPF_RSH | BPF_K, 8));
    ops.push(Op::Stmt(BPF_ALU | BPF_AND | BPF_K, 0xff));
    for t in IOCTL_TYPES {
        ops.push(jeq(u32::from(t), Notify, Next));
    }
    ops.push(Op::Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, Allow, Allow));

    // fcntl: the commands whose answer differs for the files standing for
    // ours (seals, the status flags); the others stay native.
    ops.push(Op::Label("fcntl"));
    ops.push(ld(off_arg_lo(1)));
    for cmd in FCNTL_CMDS {
        ops.push(jeq(cmd, Notify, Next));
    }
    ops.push(Op::Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, Allow, Allow));

    // mmap of a file: anonymous mappings (MAP_ANONYMOUS, or fd -1) stay
    // native.
    ops.push(Op::Label("mmap"));
    ops.push(ld(off_arg_lo(3)));
    ops.push(jset(libc::MAP_ANONYMOUS as u32, Allow, Next));
    ops.push(ld(off_arg_lo(4)));
    ops.push(jeq(u32::MAX, Allow, Notify));
    resolve(&ops)
}

/// Runs `prog` on `data` the way the kernel would: returns the action.
/// Used by the tests to check the program without installing it.
#[cfg(test)]
pub fn interpret(prog: &[Insn], data: &libc::seccomp_data) -> u32 {
    let word = |off: u32| -> u32 {
        let mut bytes = [0u8; 64];
        bytes[0..4].copy_from_slice(&data.nr.to_ne_bytes());
        bytes[4..8].copy_from_slice(&data.arch.to_ne_bytes());
        bytes[8..16].copy_from_slice(&data.instruction_pointer.to_ne_bytes());
        for (i, a) in data.args.iter().enumerate() {
            bytes[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let o = off as usize;
        u32::from_ne_bytes(bytes[o..o + 4].try_into().expect("4 bytes"))
    };
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let i = prog[pc];
        pc += 1;
        match i.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => acc = word(i.k),
            c if c == BPF_ALU | BPF_RSH | BPF_K => acc >>= i.k,
            c if c == BPF_ALU | BPF_AND | BPF_K => acc &= i.k,
            c if c == BPF_JMP | BPF_JEQ | BPF_K => {
                pc += usize::from(if acc == i.k { i.jt } else { i.jf })
            }
            c if c == BPF_JMP | BPF_JSET | BPF_K => {
                pc += usize::from(if acc & i.k != 0 { i.jt } else { i.jf })
            }
            c if c == BPF_RET | BPF_K => return i.k,
            _ => unreachable!("unknown BPF opcode"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(nr: i64, args: [u64; 6]) -> libc::seccomp_data {
        libc::seccomp_data {
            nr: nr as i32,
            arch: AUDIT_ARCH_NATIVE,
            instruction_pointer: 0,
            args,
        }
    }

    #[test]
    fn filter_sends_only_served_calls() {
        let p = program();
        assert!(p.len() < 64);
        let notify = |d| interpret(&p, &d) == SECCOMP_RET_USER_NOTIF;
        assert!(notify(call(libc::SYS_openat, [0; 6])));
        assert!(notify(call(libc::SYS_ioctl, [3, 0xC0285700, 0, 0, 0, 0])));
        assert!(notify(call(
            libc::SYS_ioctl,
            [3, 0xffff_ffff_c038_3e04, 0, 0, 0, 0]
        )));
        assert!(notify(call(libc::SYS_ioctl, [3, 0x4018_7542, 0, 0, 0, 0])));
        assert!(
            !notify(call(libc::SYS_ioctl, [3, 0x5401, 0, 0, 0, 0])),
            "TCGETS stays native"
        );
        assert!(notify(call(libc::SYS_ioctl, [3, 0x541B, 0, 0, 0, 0])));
        assert!(
            !notify(call(libc::SYS_ioctl, [3, 0x5401, 0, 0, 0, 0])),
            "TCGETS stays native"
        );
        assert!(notify(call(libc::SYS_lseek, [3, 0, 0, 0, 0, 0])));
        assert!(notify(call(libc::SYS_fallocate, [3, 0, 0, 4096, 0, 0])));
        for cmd in [
            libc::F_GETFL,
            libc::F_SETFL,
            libc::F_GET_SEALS,
            libc::F_ADD_SEALS,
        ] {
            assert!(notify(call(libc::SYS_fcntl, [3, cmd as u64, 0, 0, 0, 0])));
        }
        for cmd in [
            libc::F_GETFD,
            libc::F_SETFD,
            libc::F_DUPFD_CLOEXEC,
            libc::F_SETLK,
        ] {
            assert!(
                !notify(call(libc::SYS_fcntl, [3, cmd as u64, 0, 0, 0, 0])),
                "fcntl {cmd} stays native"
            );
        }
        assert!(!notify(call(libc::SYS_read, [0; 6])));
        assert!(!notify(call(libc::SYS_getppid, [0; 6])));
        assert!(notify(call(libc::SYS_newfstatat, [0, 0, 0, 0, 0, 0])));
        assert!(notify(call(
            libc::SYS_newfstatat,
            [0, 0, 0, libc::AT_EMPTY_PATH as u64, 0, 0]
        )));
        assert!(notify(call(libc::SYS_statx, [0, 0, 0, 0, 0, 0])));
        assert!(notify(call(
            libc::SYS_statx,
            [0, 0, libc::AT_EMPTY_PATH as u64, 0, 0, 0]
        )));
        assert!(notify(call(libc::SYS_fstat, [0; 6])));
        let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        assert!(!notify(call(
            libc::SYS_mmap,
            [0, 4096, 3, anon as u64, u64::MAX, 0]
        )));
        assert!(!notify(call(
            libc::SYS_mmap,
            [0, 4096, 3, anon as u64, 3, 0]
        )));
        assert!(notify(call(
            libc::SYS_mmap,
            [0, 4096, 3, libc::MAP_SHARED as u64, 3, 0]
        )));
        assert!(!notify(call(
            libc::SYS_mmap,
            [0, 4096, 3, libc::MAP_SHARED as u64, u32::MAX as u64, 0]
        )));
        assert!(notify(call(libc::SYS_faccessat2, [0; 6])));
        assert!(notify(call(libc::SYS_ppoll, [0; 6])));
        #[cfg(target_arch = "x86_64")]
        assert!(notify(call(libc::SYS_poll, [0; 6])));
        assert!(notify(call(libc::SYS_epoll_ctl, [0; 6])));
        assert!(notify(call(libc::SYS_pselect6, [0; 6])));
        assert!(notify(call(libc::SYS_getdents64, [0; 6])));
        assert!(!notify(call(libc::SYS_epoll_pwait, [0; 6])));
        let mut other_arch = call(libc::SYS_openat, [0; 6]);
        other_arch.arch = 0x4000_0003;
        assert!(!notify(other_arch), "i386 calls stay native");
        assert!(!notify(call(
            libc::SYS_openat | X32_SYSCALL_BIT as i64,
            [0; 6]
        )));
    }
}
