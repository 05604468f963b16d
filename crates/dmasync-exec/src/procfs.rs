//! What `/proc` says about our fds: the target of the `/proc/<pid>/fd/N`
//! links (`readlink`) and the text of `/proc/<pid>/fdinfo/N` (`open`).
//!
//! The files standing for our objects are memfds and pipes, whose links
//! read `/memfd:dmasync-system-heap (deleted)` or `pipe:[1234]`; the
//! kernel's read `/dmabuf:<name>`, `anon_inode:sync_file`, the device
//! node's path or the debugfs path. A dma-buf's fdinfo adds `size`,
//! `count`, `exp_name` and `name` lines to the generic ones. Tools and
//! programs look there (lsof, `dmabuf_dump`, compositors naming buffers),
//! so the supervisor answers both for an fd that is one of ours.
//!
//! Paths are recognised lexically: `/proc/self`, `/proc/thread-self`,
//! `/proc/<pid>` and `/proc/<pid>/task/<tid>`, each followed by `fd/N` or
//! `fdinfo/N`, absolute or relative to the caller's cwd or dirfd. The
//! program and the supervisor must share a pid namespace and a `/proc`
//! mounted at `/proc` (the supervisor names the same process by the same
//! number).

use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Weak;

use crate::objects::{DmaBufObj, Key, Object};
use crate::paths::Node;

/// Which entry of a process's directory a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `fd/N`: the link.
    Fd,
    /// `fdinfo/N`: the description's information.
    FdInfo,
}

/// One fd of one process, named through `/proc`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ProcFd {
    /// The process (or task) directory as the supervisor names it:
    /// `/proc/<pid>` or `/proc/<pid>/task/<tid>`.
    pub(crate) dir: String,
    /// The process whose fd table it is (the first number).
    pub(crate) pid: u32,
    /// Whether the path named the caller itself (`self`, `thread-self`,
    /// or its own thread id).
    pub(crate) own: bool,
    pub(crate) fd: i32,
    pub(crate) entry: Entry,
}

impl ProcFd {
    /// The path of this entry for the supervisor.
    pub(crate) fn path(&self) -> String {
        let e = match self.entry {
            Entry::Fd => "fd",
            Entry::FdInfo => "fdinfo",
        };
        format!("{}/{e}/{}", self.dir, self.fd)
    }

    /// The identity of the file behind the fd, or `None` when it is not
    /// open (or the supervisor may not look).
    pub(crate) fn key(&self) -> Option<Key> {
        let st = rustix::fs::stat(format!("{}/fd/{}", self.dir, self.fd)).ok()?;
        Some((st.st_dev, st.st_ino))
    }
}

fn is_number(s: &[u8]) -> bool {
    !s.is_empty() && s.len() <= 10 && s.iter().all(u8::is_ascii_digit)
}

/// A cheap test on the path as the program gave it: whether it may name
/// an fd entry of `/proc` (its last component is a number, and it is
/// relative or its previous component is `fd` or `fdinfo`).
pub(crate) fn may_name_fd(path: &[u8]) -> bool {
    let mut parts = path.rsplit(|&b| b == b'/');
    let Some(last) = parts.next() else {
        return false;
    };
    if !is_number(last) {
        return false;
    }
    match parts.next() {
        None => true,
        Some(prev) => prev == b"fd" || prev == b"fdinfo" || path[0] != b'/',
    }
}

/// A number as procfs spells a pid or an fd (digits only).
fn number(s: &str) -> Option<u32> {
    is_number(s.as_bytes())
        .then(|| s.parse::<u32>().ok())
        .flatten()
}

/// Splits an absolute, normalised path below a process directory: that
/// directory as the supervisor names it (`/proc/self` and
/// `/proc/thread-self` are the caller's), its pid, and the components
/// after it.
fn process_dir(abs: &[u8], caller: u32) -> Option<(String, u32, Vec<&str>)> {
    let text = std::str::from_utf8(abs).ok()?;
    let parts: Vec<&str> = text.split('/').skip(1).collect();
    match parts.as_slice() {
        ["proc", "self" | "thread-self", rest @ ..] => {
            Some((format!("/proc/{caller}"), caller, rest.to_vec()))
        }
        ["proc", p, "task", t, rest @ ..] => {
            let (p, t) = (number(p)?, number(t)?);
            Some((format!("/proc/{p}/task/{t}"), p, rest.to_vec()))
        }
        ["proc", p, rest @ ..] => {
            let p = number(p)?;
            Some((format!("/proc/{p}"), p, rest.to_vec()))
        }
        _ => None,
    }
}

/// Parses an absolute, normalised path. `caller` is the calling thread:
/// `/proc/self` and `/proc/thread-self` name its directory (the kernel's
/// `self` is the thread group's, whose fd table is the same unless the
/// thread unshared it).
pub(crate) fn parse(abs: &[u8], caller: u32) -> Option<ProcFd> {
    let (dir, pid, rest) = process_dir(abs, caller)?;
    let (entry, fd) = match rest.as_slice() {
        ["fd", n] => (Entry::Fd, n),
        ["fdinfo", n] => (Entry::FdInfo, n),
        _ => return None,
    };
    let fd = i32::try_from(number(fd)?).ok()?;
    Some(ProcFd {
        own: dir == format!("/proc/{caller}") || dir.ends_with(&format!("/task/{caller}")),
        dir,
        pid,
        fd,
        entry,
    })
}

/// Whether `pid` is the supervisor itself or one of its threads: its fds
/// are the objects' own files, never a program's.
pub(crate) fn is_supervisor(pid: u32) -> bool {
    pid == std::process::id() || std::path::Path::new(&format!("/proc/self/task/{pid}")).exists()
}

/// What the kernel's link says for `obj`: `d_path` of its file.
pub(crate) fn link_target(obj: &Object) -> Vec<u8> {
    let s: &str = match obj {
        // An anonymous inode's dentry name.
        Object::SyncFile(_) => "anon_inode:sync_file",
        // dmabuffs_dname: "/dmabuf:" and the name set, if any.
        Object::DmaBuf(b) => return b.buf.dentry_name().into_bytes(),
        Object::Timeline(_) => Node::SwSync.path(),
        Object::Drm(f) if f.file.is_render() => Node::RenderD128.path(),
        Object::Drm(_) => Node::Card0.path(),
        Object::Heap => Node::HeapSystem.path(),
        Object::Udmabuf => Node::Udmabuf.path(),
        Object::PathOnly(node) => node.path(),
        Object::SysAttr(i) => crate::sysfs::TREE[*i as usize].path,
    };
    s.as_bytes().to_vec()
}

/// The kernel's `O_LARGEFILE` as fdinfo prints it (it adds it at open();
/// a dma-buf or sync file is never opened). libc's constant is 0 on
/// 64-bit targets, where the flag is implied.
#[cfg(target_arch = "aarch64")]
const O_LARGEFILE: u32 = 0o400_000;
#[cfg(not(target_arch = "aarch64"))]
const O_LARGEFILE: u32 = 0o100_000;

/// The file status flags the kernel's file for `obj` has (what `F_GETFL`
/// and fdinfo's `flags` show, fdinfo adding `O_CLOEXEC`), from `real`,
/// those of the file standing for it.
pub(crate) fn status_flags(obj: &Object, real: u32) -> u32 {
    match obj {
        // The file was made by the exporter: access mode and O_NONBLOCK
        // only (no O_LARGEFILE).
        Object::DmaBuf(_) => real & !O_LARGEFILE,
        // anon_inode_getfile with no flags: O_RDONLY; the pipe standing
        // for it is always non-blocking, the kernel's file only when the
        // program asked.
        Object::SyncFile(f) => {
            let nonblock = if f.nonblock() {
                libc::O_NONBLOCK as u32
            } else {
                0
            };
            (real & !(O_LARGEFILE | libc::O_NONBLOCK as u32)) | nonblock
        }
        // Opened by the program: its access mode (the pipe's read end is
        // O_RDONLY) and O_LARGEFILE.
        Object::Drm(d) => (real & !(libc::O_ACCMODE as u32)) | d.access_mode() | O_LARGEFILE,
        _ => real,
    }
}

/// The text of `/proc/<pid>/fdinfo/N` for our `obj`, from the real
/// fdinfo `real` of the file standing for it (its generic lines: `pos`,
/// `flags`, `mnt_id`, `ino`; `ino` replaced by the given inode number when
/// the kernel's files of that kind share one). `refs` counts the references
/// the process holds (see [`process_refs`]).
pub(crate) fn fdinfo_text(obj: &Object, real: &str, refs: usize, ino: Option<u64>) -> String {
    let mut out = String::new();
    for line in real.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        let v = match (k, obj) {
            // The kernel's dma-buf llseek never moves the position.
            ("pos", Object::DmaBuf(_)) => "0".to_owned(),
            ("flags", _) => {
                let Ok(f) = u32::from_str_radix(v, 8) else {
                    continue;
                };
                format!("0{:o}", status_flags(obj, f))
            }
            // The inode the kernel's file shares with the others of its
            // kind, as fstat reports it.
            ("ino", _) => ino.map_or_else(|| v.to_owned(), |i| i.to_string()),
            ("pos" | "mnt_id", _) => v.to_owned(),
            // Lines of the standing-in file's own show_fdinfo (none for
            // memfds and pipes today).
            _ => continue,
        };
        out.push_str(&format!("{k}:\t{v}\n"));
    }
    if let Object::DmaBuf(b) = obj {
        // The model counts its own references (exporter caches, PRIME
        // handles, attachments, armed polls) plus the registry's one,
        // which stands for the file: that one is replaced by the
        // process's fds and mappings.
        let count = b.buf.file_count().saturating_sub(1) + refs;
        out.push_str(&format!(
            "size:\t{}\ncount:\t{count}\nexp_name:\t{}\n",
            b.buf.size(),
            b.buf.exp_name()
        ));
        if let Some(name) = b.buf.name() {
            out.push_str(&format!("name:\t{name}\n"));
        }
    }
    out
}

/// The references process directory `dir` holds to the file `key`: its
/// fds naming it and its mappings of it (each mapping holds the kernel's
/// file, as each fd does).
pub(crate) fn process_refs(dir: &str, key: Key) -> usize {
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(format!("{dir}/fd")) {
        for e in entries.flatten() {
            if let Ok(st) = rustix::fs::stat(e.path()) {
                if (st.st_dev, st.st_ino) == key {
                    n += 1;
                }
            }
        }
    }
    if let Ok(maps) = std::fs::read_to_string(format!("{dir}/maps")) {
        n += maps.lines().filter(|l| maps_line_is(l, key)).count();
    }
    n
}

/// Whether a line of `/proc/<pid>/maps` maps file `key`: fields address,
/// perms, offset, `major:minor` (hex), inode.
fn maps_line_is(line: &str, key: Key) -> bool {
    let mut f = line.split_ascii_whitespace().skip(3);
    let (Some(dev), Some(ino)) = (f.next(), f.next()) else {
        return false;
    };
    let Some((ma, mi)) = dev.split_once(':') else {
        return false;
    };
    let (Ok(ma), Ok(mi), Ok(ino)) = (
        u32::from_str_radix(ma, 16),
        u32::from_str_radix(mi, 16),
        ino.parse::<u64>(),
    ) else {
        return false;
    };
    ino == key.1 && libc::makedev(ma, mi) == key.0
}

/// How many injected mappings are remembered (the oldest are forgotten:
/// a mapping's end is not seen, `munmap` being native).
const INJECTED_MAX: usize = 1024;

/// What an injected mapping stands for in `/proc/<pid>/maps`.
#[derive(Clone)]
pub(crate) enum Shown {
    /// A range of a dma-buf (a udmabuf's memfd ranges): its file's path,
    /// read when shown (SET_NAME may rename it), and identity (its
    /// stand-in's, as fstat says), at `offset` in the buffer.
    DmaBuf {
        buf: Weak<DmaBufObj>,
        /// The path when the buffer is gone.
        path: String,
        key: Key,
        offset: u64,
    },
    /// A DRM node's mapping: the node (its identity is its template's) at
    /// the fake offset `offset`.
    Node { node: Node, offset: u64 },
}

impl Shown {
    /// The same, `delta` bytes further into the file.
    pub(crate) fn at(&self, delta: u64) -> Shown {
        let mut s = self.clone();
        match &mut s {
            Shown::DmaBuf { offset, .. } | Shown::Node { offset, .. } => *offset += delta,
        }
        s
    }
}

/// A mapping the supervisor made in a program (`crate::mmap`): the file
/// `key` at host offset `pgoff` (bytes), mapped at `start`.
struct Injected {
    start: u64,
    key: Key,
    pgoff: u64,
    shown: Shown,
}

/// The injected mappings, the newest last, shared by every process (a
/// fork's child has its parent's mappings at the same addresses). A line
/// of `/proc/<pid>/maps` is one of them when its start, file and offset
/// are the recorded ones. Locking: one short lock per record or look-up.
#[derive(Default)]
pub(crate) struct Injections(parking_lot::Mutex<VecDeque<Injected>>);

impl Injections {
    /// Records a mapping made at `start` of file `key` at `pgoff`.
    pub(crate) fn record(&self, start: u64, key: Key, pgoff: u64, shown: Shown) {
        let mut v = self.0.lock();
        v.retain(|i| !(i.start == start && i.key == key && i.pgoff == pgoff));
        if v.len() >= INJECTED_MAX {
            v.pop_front();
        }
        v.push_back(Injected {
            start,
            key,
            pgoff,
            shown,
        });
    }

    /// What the mapping at `start` of `key` at `pgoff` stands for.
    pub(crate) fn find(&self, start: u64, key: Key, pgoff: u64) -> Option<Shown> {
        self.0
            .lock()
            .iter()
            .rev()
            .find(|i| i.start == start && i.key == key && i.pgoff == pgoff)
            .map(|i| i.shown.clone())
    }

    /// Whether none is recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }
}

/// The entries of a process directory whose text names mapped files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapsEntry {
    /// `maps`.
    Maps,
    /// `smaps`: each entry's header line is a `maps` line.
    Smaps,
    /// `map_files/<start>-<end>`: a link to the mapped file.
    MapFile(u64, u64),
}

/// A cheap test on the path as the program gave it: whether it may name
/// `maps`, `smaps` or a `map_files` link.
pub(crate) fn may_name_maps(path: &[u8]) -> bool {
    let mut parts = path.rsplit(|&b| b == b'/');
    match parts.next() {
        Some(b"maps" | b"smaps") => true,
        Some(last) => {
            parts.next() == Some(b"map_files")
                || (path.first() != Some(&b'/')
                    && last.contains(&b'-')
                    && last.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-'))
        }
        None => false,
    }
}

/// Parses an absolute, normalised path naming a `maps`-like entry: the
/// process directory as the supervisor names it, its pid, and the entry.
pub(crate) fn parse_maps(abs: &[u8], caller: u32) -> Option<(String, u32, MapsEntry)> {
    let (dir, pid, rest) = process_dir(abs, caller)?;
    let entry = match rest.as_slice() {
        ["maps"] => MapsEntry::Maps,
        ["smaps"] => MapsEntry::Smaps,
        ["map_files", range] => {
            let (s, e) = range.split_once('-')?;
            MapsEntry::MapFile(
                u64::from_str_radix(s, 16).ok()?,
                u64::from_str_radix(e, 16).ok()?,
            )
        }
        _ => return None,
    };
    Some((dir, pid, entry))
}

/// The fields of a `maps` header line: start, file identity, offset
/// (bytes), and where the permissions and the address range end.
pub(crate) struct MapsLine<'a> {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) key: Key,
    pub(crate) pgoff: u64,
    /// `start-end perms`.
    head: &'a str,
}

/// Parses a `maps` header line (`start-end perms offset major:minor
/// inode [path]`); `None` for any other line (smaps' fields).
pub(crate) fn maps_line(line: &str) -> Option<MapsLine<'_>> {
    let mut f = line.split_ascii_whitespace();
    let range = f.next()?;
    let perms = f.next()?;
    let (off, dev, ino) = (f.next()?, f.next()?, f.next()?);
    let (s, e) = range.split_once('-')?;
    let start = u64::from_str_radix(s, 16).ok()?;
    let end = u64::from_str_radix(e, 16).ok()?;
    if perms.len() != 4 {
        return None;
    }
    let pgoff = u64::from_str_radix(off, 16).ok()?;
    let (ma, mi) = dev.split_once(':')?;
    let (ma, mi) = (
        u32::from_str_radix(ma, 16).ok()?,
        u32::from_str_radix(mi, 16).ok()?,
    );
    let ino = ino.parse::<u64>().ok()?;
    let head = &line[..line.find(perms)? + perms.len()];
    Some(MapsLine {
        start,
        end,
        key: (libc::makedev(ma, mi), ino),
        pgoff,
        head,
    })
}

/// A `maps` header line as `show_map_vma` prints it: the prefix (hex
/// offset of at least 8 digits, `major:minor` of at least 2, the inode)
/// padded to the kernel's width, one space, the path.
pub(crate) fn format_maps_line(head: &str, offset: u64, key: Key, path: &str) -> String {
    let (ma, mi) = (libc::major(key.0), libc::minor(key.0));
    let mut line = format!("{head} {offset:08x} {ma:02x}:{mi:02x} {} ", key.1);
    // seq_setwidth(25 + 6 * sizeof(void *) - 1), then seq_pad(' ').
    let width = 25 + 6 * std::mem::size_of::<usize>() - 1;
    while line.len() < width {
        line.push(' ');
    }
    line.push(' ');
    line.push_str(path);
    line
}

/// `text` (a `maps` or `smaps` file) with the header lines that `shown`
/// names (offset, identity, path) rewritten; `None` when no line is.
pub(crate) fn rewrite_maps(
    text: &str,
    shown: impl Fn(&MapsLine<'_>) -> Option<(u64, Key, String)>,
) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        match maps_line(body).and_then(|m| shown(&m).map(|s| (m, s))) {
            Some((m, (offset, key, path))) => {
                changed = true;
                out.push_str(&format_maps_line(m.head, offset, key, &path));
                out.push('\n');
            }
            None => out.push_str(line),
        }
    }
    changed.then_some(out)
}

/// A sealed, read-only memfd holding `text`, positioned at 0: the file a
/// program reads as a generated text (fdinfo, a sysfs attribute,
/// `sync/info`).
pub(crate) fn text_file(text: &str) -> io::Result<OwnedFd> {
    use rustix::fs::{MemfdFlags, Mode, SealFlags};
    let fd = rustix::fs::memfd_create("fdinfo", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o444))?;
    let mut written = 0;
    while written < text.len() {
        written += rustix::io::write(&fd, &text.as_bytes()[written..])?;
    }
    rustix::fs::seek(&fd, rustix::fs::SeekFrom::Start(0))?;
    rustix::fs::fcntl_add_seals(
        &fd,
        SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
    )?;
    // A read-only description: the program cannot write to it.
    let ro = rustix::fs::open(
        format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd)),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(ro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_paths_are_recognised() {
        assert!(may_name_fd(b"/proc/self/fd/3"));
        assert!(may_name_fd(b"/proc/12/task/13/fdinfo/45"));
        assert!(may_name_fd(b"3"));
        assert!(may_name_fd(b"fd/3"));
        assert!(!may_name_fd(b"/proc/self/fd/x"));
        assert!(!may_name_fd(b"/proc/self/exe"));
        assert!(!may_name_fd(b"/tmp/3"));
        assert!(!may_name_fd(b""));
        assert!(!may_name_fd(b"/proc/self/fd/99999999999"));
    }

    #[test]
    fn paths_name_the_process_and_the_fd() {
        assert_eq!(
            parse(b"/proc/self/fd/3", 101),
            Some(ProcFd {
                dir: "/proc/101".into(),
                pid: 101,
                own: true,
                fd: 3,
                entry: Entry::Fd
            })
        );
        let t = parse(b"/proc/thread-self/fdinfo/7", 101).expect("parsed");
        assert_eq!(
            (t.dir.as_str(), t.fd, t.entry, t.own),
            ("/proc/101", 7, Entry::FdInfo, true)
        );
        assert!(parse(b"/proc/100/task/101/fd/7", 101).expect("parsed").own);
        let t = parse(b"/proc/55/task/56/fd/0", 101).expect("parsed");
        assert_eq!(
            (t.dir.as_str(), t.pid, t.own),
            ("/proc/55/task/56", 55, false)
        );
        assert_eq!(t.path(), "/proc/55/task/56/fd/0");
        assert_eq!(parse(b"/proc/55/fd", 1), None);
        assert_eq!(parse(b"/proc/55/fd/3/x", 1), None);
        assert_eq!(parse(b"/proc/55/cwd/fd/3", 1), None);
        assert_eq!(parse(b"/proc/x/fd/3", 1), None);
        assert_eq!(parse(b"/sys/55/fd/3", 1), None);
        assert_eq!(parse(b"/proc/self/fd/-1", 1), None);
    }

    #[test]
    fn maps_lines_name_their_file() {
        let dev = libc::makedev(0, 1);
        let l = "7f0000000000-7f0000001000 r--s 00000000 00:01 4242     /memfd:x (deleted)";
        assert!(maps_line_is(l, (dev, 4242)));
        assert!(!maps_line_is(l, (dev, 4243)));
        assert!(!maps_line_is(l, (libc::makedev(0, 2), 4242)));
        assert!(!maps_line_is("garbage", (dev, 4242)));
    }

    #[test]
    fn maps_paths_are_recognised() {
        assert!(may_name_maps(b"/proc/self/maps"));
        assert!(may_name_maps(b"/proc/12/task/13/smaps"));
        assert!(may_name_maps(b"/proc/self/map_files/7f00-7f10"));
        assert!(may_name_maps(b"7f00-7f10"));
        assert!(!may_name_maps(b""));
        assert!(!may_name_maps(b"/"));
        assert!(!may_name_maps(b"/proc/self/smaps_rollup"));
        assert!(!may_name_maps(b"/tmp/7f00-7f10"));
        assert_eq!(
            parse_maps(b"/proc/self/maps", 7),
            Some(("/proc/7".into(), 7, MapsEntry::Maps))
        );
        assert_eq!(
            parse_maps(b"/proc/5/task/6/map_files/7f00-7f10", 7),
            Some((
                "/proc/5/task/6".into(),
                5,
                MapsEntry::MapFile(0x7f00, 0x7f10)
            ))
        );
        assert_eq!(parse_maps(b"/proc/5/map_files/x-1", 7), None);
        assert_eq!(parse_maps(b"/proc/5/numa_maps", 7), None);
    }

    #[test]
    fn maps_lines_are_rewritten_as_the_kernel_prints_them() {
        let dev = libc::makedev(0, 1);
        let text = "7f0000000000-7f0000002000 rw-s 00000000 00:01 4242                       /memfd:x (deleted)\n\
                    Size:                  8 kB\n\
                    7f0000002000-7f0000003000 r--p 00000000 08:01 17                         /usr/lib/libc.so\n";
        let out = rewrite_maps(text, |m| {
            (m.key == (dev, 4242)).then(|| {
                (
                    0x1_0000_0000,
                    (libc::makedev(0, 6), 103),
                    "/dev/dri/card0".into(),
                )
            })
        })
        .expect("rewritten");
        let mut lines = out.lines();
        let first = lines.next().expect("line");
        assert_eq!(
            first,
            "7f0000000000-7f0000002000 rw-s 100000000 00:06 103                       /dev/dri/card0"
        );
        assert_eq!(first.find('/'), Some(73));
        assert_eq!(lines.next(), Some("Size:                  8 kB"));
        assert!(lines.next().expect("line").ends_with("/usr/lib/libc.so"));
        assert_eq!(rewrite_maps(text, |_| None), None);
    }
}
