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
    let dirs: [VirtualDir; 3] = [
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
    for (dir, node, files) in dirs {
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
