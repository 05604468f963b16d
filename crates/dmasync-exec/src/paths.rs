//! The virtual paths: which ones exist, and how a path given by the program
//! (relative to its cwd or to a directory fd) is resolved to one of them.

use crate::sysfs::{self, Kind};

/// The directory of the virtual sync files.
pub const SYNC_DIR: &str = "/sys/kernel/debug/sync";

/// A virtual path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// `/sys/kernel/debug/sync` (a directory).
    SyncDir,
    /// `/sys/kernel/debug/sync/sw_sync`: each open makes a timeline.
    SwSync,
    /// `/sys/kernel/debug/sync/info`: the timelines and their pending points.
    Info,
    /// Any other name under a virtual directory: does not exist.
    Missing,
    /// `/dev/dma_heap` (a directory).
    HeapDir,
    /// `/dev/dma_heap/system`: the system heap.
    HeapSystem,
    /// `/dev/udmabuf`.
    Udmabuf,
    /// `/dev/dri` (a directory).
    DriDir,
    /// `/dev/dri/card0`: the vgem device's primary node.
    Card0,
    /// `/dev/dri/renderD128`: its render node.
    RenderD128,
    /// An entry of the served sysfs tree (its index in
    /// [`crate::sysfs::TREE`]).
    Sys(u8),
    /// A path through a served sysfs file: ENOTDIR.
    NotDir,
    /// A path that goes through a served sysfs link out of the served
    /// tree (`device/subsystem`): the host's file at the resolved path.
    Outside,
}

/// The directory of the dma-heaps.
pub const HEAP_DIR: &str = "/dev/dma_heap";
/// The directory of the DRM nodes.
pub const DRI_DIR: &str = "/dev/dri";

impl Node {
    /// Whether the node is a directory.
    pub fn is_dir(self) -> bool {
        match self {
            Node::SyncDir | Node::HeapDir | Node::DriDir => true,
            Node::Sys(i) => matches!(sysfs::TREE[i as usize].kind, Kind::Dir { .. }),
            _ => false,
        }
    }

    /// Whether the node is a served sysfs link.
    pub fn is_link(self) -> bool {
        matches!(self, Node::Sys(i) if matches!(sysfs::TREE[i as usize].kind, Kind::Link(_)))
    }

    /// The node's absolute path (empty for [`Node::Missing`]).
    pub fn path(self) -> &'static str {
        match self {
            Node::SyncDir => SYNC_DIR,
            Node::SwSync => "/sys/kernel/debug/sync/sw_sync",
            Node::Info => "/sys/kernel/debug/sync/info",
            Node::Missing | Node::NotDir | Node::Outside => "",
            Node::Sys(i) => sysfs::TREE[i as usize].path,
            Node::HeapDir => HEAP_DIR,
            Node::HeapSystem => "/dev/dma_heap/system",
            Node::Udmabuf => "/dev/udmabuf",
            Node::DriDir => DRI_DIR,
            Node::Card0 => "/dev/dri/card0",
            Node::RenderD128 => "/dev/dri/renderD128",
        }
    }
}

/// The names of the virtual tree's last components: a path whose last
/// component is none of these is never virtual, which lets most calls
/// continue without resolving their path.
fn may_be_virtual(path: &[u8]) -> bool {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    let last = trimmed.rsplit(|&b| b == b'/').next().unwrap_or(trimmed);
    matches!(
        last,
        b"sync"
            | b"sw_sync"
            | b"info"
            | b"."
            | b".."
            | b"dma_heap"
            | b"system"
            | b"udmabuf"
            | b"dri"
            | b"card0"
            | b"renderD128"
    ) || [SYNC_DIR, HEAP_DIR, DRI_DIR]
        .iter()
        .any(|d| path.windows(d.len()).any(|w| w == d.as_bytes()))
        || sysfs::may_name(path, last)
}

/// Resolves `path` lexically against `base` (needed only for a relative
/// path), and removes `.`, `..` and repeated slashes.
pub fn normalize(base: Option<&[u8]>, path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let joined: Vec<u8>;
    let full: &[u8] = if path.first() == Some(&b'/') {
        path
    } else {
        let mut j = base.unwrap_or(b"/").to_vec();
        j.push(b'/');
        j.extend_from_slice(path);
        joined = j;
        &joined
    };
    for c in full.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = Vec::new();
    for p in parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// A virtual directory: its path, its node, its files' names and nodes.
type VirtualDir = (&'static str, Node, &'static [(&'static [u8], Node)]);

/// The virtual directories and their files.
const VIRTUAL_DIRS: &[VirtualDir] = &[
    (
        SYNC_DIR,
        Node::SyncDir,
        &[(b"sw_sync", Node::SwSync), (b"info", Node::Info)],
    ),
    (HEAP_DIR, Node::HeapDir, &[(b"system", Node::HeapSystem)]),
    (
        DRI_DIR,
        Node::DriDir,
        &[(b"card0", Node::Card0), (b"renderD128", Node::RenderD128)],
    ),
];

/// The names listed by a virtual directory's `getdents64`: `.`, `..`,
/// then its files, each with its `d_type`.
pub fn listing(dir: Node) -> Vec<(&'static [u8], u8)> {
    let mut v: Vec<(&'static [u8], u8)> = vec![(b".", libc::DT_DIR), (b"..", libc::DT_DIR)];
    if let Node::Sys(i) = dir {
        v.extend(sysfs::children(i as usize));
    } else if let Some((_, _, files)) = VIRTUAL_DIRS.iter().find(|d| d.1 == dir) {
        v.extend(files.iter().map(|(name, _)| (*name, libc::DT_REG)));
    }
    v
}

/// Encodes `names[from..]` as `linux_dirent64` records (inode `ino` for
/// all, `d_off` the index of the next one) into at most `room` bytes.
/// Returns the bytes and the index after the last record written.
pub fn dirents(names: &[(&[u8], u8)], from: usize, ino: u64, room: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut at = from;
    while let Some(&(name, d_type)) = names.get(at) {
        // d_ino, d_off, d_reclen, d_type, the name and its NUL, 8-aligned.
        let len = (8 + 8 + 2 + 1 + name.len() + 1 + 7) & !7;
        if out.len() + len > room {
            break;
        }
        let start = out.len();
        out.extend_from_slice(&ino.wrapping_add(at as u64).to_ne_bytes());
        out.extend_from_slice(&((at + 1) as i64).to_ne_bytes());
        out.extend_from_slice(&(len as u16).to_ne_bytes());
        out.push(d_type);
        out.extend_from_slice(name);
        out.resize(start + len, 0);
        at += 1;
    }
    (out, at)
}

/// The most links a path may go through (the kernel's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// Whether `path` is one of the served directories (virtual or sysfs).
fn is_served_dir(path: &[u8]) -> bool {
    VIRTUAL_DIRS.iter().any(|d| d.0.as_bytes() == path)
        || (path.starts_with(b"/sys/") && sysfs::find(path).is_some())
}

/// Resolves `path` against `base` (for a relative path) and removes `.`,
/// `..` and repeated slashes, following the served sysfs links on the way
/// (and the last component too when `follow_last`, or when the path ends
/// with a slash), as the kernel walks a path: `..` after a link leaves
/// the link's target. Returns the canonical path and whether the host
/// could not walk the path as given (a served link was followed, or `..`
/// left a served directory); `None` for a loop.
pub fn resolve(base: Option<&[u8]>, path: &[u8], follow_last: bool) -> Option<(Vec<u8>, bool)> {
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let push = |p: &[u8], pending: &mut Vec<Vec<u8>>| {
        for c in p.split(|&b| b == b'/').rev() {
            if !c.is_empty() && c != b"." {
                pending.push(c.to_vec());
            }
        }
    };
    push(path, &mut pending);
    if path.first() != Some(&b'/') {
        push(base.unwrap_or(b"/"), &mut pending);
    }
    let follow_last = follow_last || path.ends_with(b"/") || path.ends_with(b"/.");
    let mut cur: Vec<u8> = Vec::new();
    let mut links = 0;
    let mut followed = false;
    while let Some(c) = pending.pop() {
        if c == b".." {
            // Out of a served directory, which the host may lack.
            followed |= is_served_dir(&cur);
            let cut = cur.iter().rposition(|&b| b == b'/').unwrap_or(0);
            cur.truncate(cut);
            continue;
        }
        let parent = cur.len();
        cur.push(b'/');
        cur.extend_from_slice(&c);
        if !pending.is_empty() || follow_last {
            if let Some(target) = cur
                .starts_with(b"/sys/")
                .then(|| sysfs::link_target(&cur))
                .flatten()
            {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                followed = true;
                cur.truncate(if target.starts_with('/') { 0 } else { parent });
                push(target.as_bytes(), &mut pending);
            }
        }
    }
    if cur.is_empty() {
        cur.push(b'/');
    }
    Some((cur, followed))
}

/// A program's path, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// What it names.
    pub node: Node,
    /// Whether the path ended with a slash.
    pub slash: bool,
    /// The canonical path ([`Node::Outside`]: the host's file to use).
    pub abs: Vec<u8>,
}

/// What a program's path names. `base` is asked for the directory a
/// relative path starts from; it is only called when the path may be
/// virtual. `follow` follows a served link named by the last component.
pub fn classify(
    path: &[u8],
    follow: bool,
    base: impl FnOnce() -> Option<Vec<u8>>,
) -> Option<Place> {
    if path.is_empty() || !may_be_virtual(path) {
        return None;
    }
    let base = if path[0] == b'/' { None } else { Some(base()?) };
    let slash = path.ends_with(b"/");
    let place = |node, abs| Some(Place { node, slash, abs });
    let Some((abs, followed)) = resolve(base.as_deref(), path, follow) else {
        // A loop of links: none of the served links make one.
        return None;
    };
    if abs == b"/dev/udmabuf" {
        return place(Node::Udmabuf, abs);
    }
    for &(dir, node, files) in VIRTUAL_DIRS {
        if abs == dir.as_bytes() {
            return place(node, abs);
        }
        if let Some(rest) = abs
            .strip_prefix(dir.as_bytes())
            .and_then(|r| r.strip_prefix(b"/"))
        {
            // A path below one of the files: the walk finds no directory.
            let (name, below) = match rest.iter().position(|&b| b == b'/') {
                Some(at) => (&rest[..at], true),
                None => (rest, false),
            };
            let file = files.iter().find(|(n, _)| *n == name);
            return place(
                match file {
                    Some(_) if below => Node::NotDir,
                    Some((_, n)) => *n,
                    None => Node::Missing,
                },
                abs,
            );
        }
    }
    if let Some(i) = sysfs::find(&abs) {
        return place(Node::Sys(i as u8), abs);
    }
    match sysfs::missing(&abs) {
        Some(true) => place(Node::NotDir, abs),
        Some(false) => place(Node::Missing, abs),
        None if followed => place(Node::Outside, abs),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cl(path: &[u8], base: impl FnOnce() -> Option<Vec<u8>>) -> Option<(Node, bool)> {
        classify(path, true, base).map(|p| (p.node, p.slash))
    }

    fn sys(path: &str) -> Node {
        Node::Sys(sysfs::find(path.as_bytes()).expect("an entry") as u8)
    }

    #[test]
    fn a_path_below_a_virtual_file_is_not_a_directory() {
        let none = || None;
        assert_eq!(cl(b"/dev/dri/card0/x", none), Some((Node::NotDir, false)));
        assert_eq!(
            cl(b"/sys/kernel/debug/sync/sw_sync/x/", none),
            Some((Node::NotDir, true))
        );
        assert_eq!(cl(b"/dev/dri/card7/x", none), Some((Node::Missing, false)));
        assert_eq!(cl(b"/dev/dri/card0", none), Some((Node::Card0, false)));
    }

    #[test]
    fn dot_dot_out_of_a_virtual_directory_is_the_hosts_parent() {
        let none = || None;
        for (path, abs) in [
            (&b"/dev/dri/.."[..], &b"/dev"[..]),
            (b"/dev/dma_heap/../null", b"/dev/null"),
            (b"/sys/kernel/debug/sync/..", b"/sys/kernel/debug"),
        ] {
            let p = classify(path, false, none).expect("classified");
            assert_eq!((p.node, &p.abs[..]), (Node::Outside, abs));
        }
        assert_eq!(cl(b"/dev/dri/card0", none), Some((Node::Card0, false)));
        assert_eq!(cl(b"/dev/../dev/dri", none), Some((Node::DriDir, false)));
    }

    #[test]
    fn sysfs_links_are_followed_as_the_kernel_walks() {
        let none = || None;
        let card0 = "/sys/devices/platform/vgem/drm/card0";
        assert_eq!(cl(b"/sys/dev/char/226:0", none), Some((sys(card0), false)));
        assert_eq!(
            classify(b"/sys/dev/char/226:0", false, none).map(|p| p.node),
            Some(sys("/sys/dev/char/226:0"))
        );
        assert_eq!(
            classify(b"/sys/dev/char/226:0/", false, none).map(|p| p.node),
            Some(sys(card0))
        );
        assert_eq!(
            cl(b"/sys/class/drm/card0/device/drm", none),
            Some((sys("/sys/devices/platform/vgem/drm"), false))
        );
        // ".." leaves the link's target, not the link's directory.
        assert_eq!(
            cl(b"/sys/class/drm/card0/../../modalias", none),
            Some((sys("/sys/devices/platform/vgem/modalias"), false))
        );
        assert_eq!(
            cl(b"/sys/class/drm/card0/subsystem/version", none),
            Some((sys("/sys/class/drm/version"), false))
        );
        assert_eq!(
            cl(b"dev", || Some(b"/sys/class/drm/renderD128".to_vec())),
            Some((sys("/sys/devices/platform/vgem/drm/renderD128/dev"), false))
        );
        assert_eq!(
            cl(b"/sys/class/drm/card0/dev/x", none),
            Some((Node::NotDir, false))
        );
        assert_eq!(
            cl(b"/sys/class/drm/card1", none),
            Some((Node::Missing, false))
        );
        assert_eq!(
            cl(b"/sys/dev/char/226:1", none),
            Some((Node::Missing, false))
        );
        let out =
            classify(b"/sys/class/drm/card0/device/subsystem/devices", true, none).expect("served");
        assert_eq!(
            (out.node, &out.abs[..]),
            (Node::Outside, &b"/sys/bus/platform/devices"[..])
        );
        assert_eq!(cl(b"/sys/dev/char/1:3", none), None);
        assert_eq!(cl(b"/sys/bus/platform/uevent", none), None);
        assert_eq!(cl(b"/dev", none), None);
    }

    #[test]
    fn dirents_fill_the_room_and_resume() {
        let names = listing(Node::DriDir);
        assert_eq!(names[2], (&b"card0"[..], libc::DT_REG));
        let (all, next) = dirents(&names, 0, 100, 4096);
        assert_eq!(next, 4);
        // "." and ".." take 24 bytes each, "card0" 32, "renderD128" 32.
        assert_eq!(all.len(), 24 + 24 + 32 + 32);
        assert_eq!(&all[19..21], b".\0");
        assert_eq!(&all[24 + 19..24 + 22], b"..\0");
        let (some, next) = dirents(&names, 0, 100, 60);
        assert_eq!((some.len(), next), (48, 2));
        let (rest, next) = dirents(&names, 2, 100, 4096);
        assert_eq!((rest.len(), next), (64, 4));
        assert_eq!(&rest[19..24], b"card0");
        assert_eq!(u16::from_ne_bytes([rest[16], rest[17]]), 32);
        assert_eq!(dirents(&names, 4, 100, 4096).0.len(), 0);
    }

    #[test]
    fn paths_resolve_to_the_virtual_tree() {
        let none = || None;
        assert_eq!(
            cl(b"/sys/kernel/debug/sync/sw_sync", none),
            Some((Node::SwSync, false))
        );
        assert_eq!(
            cl(b"/sys//kernel/./debug/sync/sw_sync/", none),
            Some((Node::SwSync, true))
        );
        assert_eq!(
            cl(b"/sys/kernel/debug/sync", none),
            Some((Node::SyncDir, false))
        );
        assert_eq!(
            cl(b"/sys/kernel/debug/sync/info2", none),
            Some((Node::Missing, false))
        );
        assert_eq!(
            cl(b"/sys/kernel/debug/sync/info", none),
            Some((Node::Info, false))
        );
        assert_eq!(cl(b"/etc/passwd", none), None);
        assert_eq!(
            listing(Node::HeapDir),
            vec![
                (&b"."[..], libc::DT_DIR),
                (&b".."[..], libc::DT_DIR),
                (&b"system"[..], libc::DT_REG)
            ]
        );
        assert_eq!(cl(b"/tmp/sw_sync", none), None);
        assert_eq!(
            cl(b"sw_sync", || Some(b"/sys/kernel/debug/sync".to_vec())),
            Some((Node::SwSync, false))
        );
        assert_eq!(
            cl(b"../sync/sw_sync", || Some(b"/sys/kernel/debug/x".to_vec())),
            Some((Node::SwSync, false))
        );
        assert_eq!(cl(b"libc.so.6", || panic!("not asked")), None);
        assert_eq!(
            cl(b"/dev/dma_heap/system", none),
            Some((Node::HeapSystem, false))
        );
        assert_eq!(cl(b"/dev/dma_heap/", none), Some((Node::HeapDir, true)));
        assert_eq!(cl(b"/dev/dma_heap/cma", none), Some((Node::Missing, false)));
        assert_eq!(cl(b"/dev/udmabuf", none), Some((Node::Udmabuf, false)));
        assert_eq!(
            cl(b"renderD128", || Some(b"/dev/dri".to_vec())),
            Some((Node::RenderD128, false))
        );
        assert_eq!(cl(b"/dev/dri/card0", none), Some((Node::Card0, false)));
        assert_eq!(cl(b"/dev/dri/card1", none), Some((Node::Missing, false)));
        assert_eq!(cl(b"/dev/null", none), None);
    }
}
