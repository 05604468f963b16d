//! The virtual paths: which ones exist, and how a path given by the program
//! (relative to its cwd or to a directory fd) is resolved to one of them.

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
}

/// The directory of the dma-heaps.
pub const HEAP_DIR: &str = "/dev/dma_heap";
/// The directory of the DRM nodes.
pub const DRI_DIR: &str = "/dev/dri";

impl Node {
    /// Whether the node is a directory.
    pub fn is_dir(self) -> bool {
        matches!(self, Node::SyncDir | Node::HeapDir | Node::DriDir)
    }

    /// The node's absolute path (empty for [`Node::Missing`]).
    pub fn path(self) -> &'static str {
        match self {
            Node::SyncDir => SYNC_DIR,
            Node::SwSync => "/sys/kernel/debug/sync/sw_sync",
            Node::Info => "/sys/kernel/debug/sync/info",
            Node::Missing => "",
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
/// then its files, each with whether it is a directory.
pub fn listing(dir: Node) -> Vec<(&'static [u8], bool)> {
    let mut v: Vec<(&'static [u8], bool)> = vec![(b".", true), (b"..", true)];
    if let Some((_, _, files)) = VIRTUAL_DIRS.iter().find(|d| d.1 == dir) {
        v.extend(files.iter().map(|(name, _)| (*name, false)));
    }
    v
}

/// Encodes `names[from..]` as `linux_dirent64` records (inode `ino` for
/// all, `d_off` the index of the next one) into at most `room` bytes.
/// Returns the bytes and the index after the last record written.
pub fn dirents(names: &[(&[u8], bool)], from: usize, ino: u64, room: usize) -> (Vec<u8>, usize) {
    const DT_DIR: u8 = 4;
    const DT_REG: u8 = 8;
    let mut out = Vec::new();
    let mut at = from;
    while let Some(&(name, is_dir)) = names.get(at) {
        // d_ino, d_off, d_reclen, d_type, the name and its NUL, 8-aligned.
        let len = (8 + 8 + 2 + 1 + name.len() + 1 + 7) & !7;
        if out.len() + len > room {
            break;
        }
        let start = out.len();
        out.extend_from_slice(&ino.wrapping_add(at as u64).to_ne_bytes());
        out.extend_from_slice(&((at + 1) as i64).to_ne_bytes());
        out.extend_from_slice(&(len as u16).to_ne_bytes());
        out.push(if is_dir { DT_DIR } else { DT_REG });
        out.extend_from_slice(name);
        out.resize(start + len, 0);
        at += 1;
    }
    (out, at)
}

/// What a program's path names, and whether it ended with a slash.
/// `base` is asked for the directory a relative path starts from; it is
/// only called when the path may be virtual.
pub fn classify(path: &[u8], base: impl FnOnce() -> Option<Vec<u8>>) -> Option<(Node, bool)> {
    if path.is_empty() || !may_be_virtual(path) {
        return None;
    }
    let base = if path[0] == b'/' { None } else { Some(base()?) };
    let abs = normalize(base.as_deref(), path);
    let slash = path.ends_with(b"/");
    if abs == b"/dev/udmabuf" {
        return Some((Node::Udmabuf, slash));
    }
    for &(dir, node, files) in VIRTUAL_DIRS {
        if abs == dir.as_bytes() {
            return Some((node, slash));
        }
        if let Some(rest) = abs
            .strip_prefix(dir.as_bytes())
            .and_then(|r| r.strip_prefix(b"/"))
        {
            let file = files.iter().find(|(name, _)| *name == rest);
            return Some((file.map_or(Node::Missing, |(_, n)| *n), slash));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirents_fill_the_room_and_resume() {
        let names = listing(Node::DriDir);
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
            classify(b"/sys/kernel/debug/sync/sw_sync", none),
            Some((Node::SwSync, false))
        );
        assert_eq!(
            classify(b"/sys//kernel/./debug/sync/sw_sync/", none),
            Some((Node::SwSync, true))
        );
        assert_eq!(
            classify(b"/sys/kernel/debug/sync", none),
            Some((Node::SyncDir, false))
        );
        assert_eq!(
            classify(b"/sys/kernel/debug/sync/info2", none),
            Some((Node::Missing, false))
        );
        assert_eq!(
            classify(b"/sys/kernel/debug/sync/info", none),
            Some((Node::Info, false))
        );
        assert_eq!(classify(b"/etc/passwd", none), None);
        assert_eq!(
            listing(Node::HeapDir),
            vec![
                (&b"."[..], true),
                (&b".."[..], true),
                (&b"system"[..], false)
            ]
        );
        assert_eq!(classify(b"/tmp/sw_sync", none), None);
        assert_eq!(
            classify(b"sw_sync", || Some(b"/sys/kernel/debug/sync".to_vec())),
            Some((Node::SwSync, false))
        );
        assert_eq!(
            classify(b"../sync/sw_sync", || Some(b"/sys/kernel/debug/x".to_vec())),
            Some((Node::SwSync, false))
        );
        assert_eq!(classify(b"libc.so.6", || panic!("not asked")), None);
        assert_eq!(
            classify(b"/dev/dma_heap/system", none),
            Some((Node::HeapSystem, false))
        );
        assert_eq!(
            classify(b"/dev/dma_heap/", none),
            Some((Node::HeapDir, true))
        );
        assert_eq!(
            classify(b"/dev/dma_heap/cma", none),
            Some((Node::Missing, false))
        );
        assert_eq!(
            classify(b"/dev/udmabuf", none),
            Some((Node::Udmabuf, false))
        );
        assert_eq!(
            classify(b"renderD128", || Some(b"/dev/dri".to_vec())),
            Some((Node::RenderD128, false))
        );
        assert_eq!(
            classify(b"/dev/dri/card0", none),
            Some((Node::Card0, false))
        );
        assert_eq!(
            classify(b"/dev/dri/card1", none),
            Some((Node::Missing, false))
        );
        assert_eq!(classify(b"/dev/null", none), None);
    }
}
