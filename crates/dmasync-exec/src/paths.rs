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
    /// Any other name under the sync directory: does not exist.
    Missing,
}

/// The names of the virtual tree's last components: a path whose last
/// component is none of these is never virtual, which lets most calls
/// continue without resolving their path.
fn may_be_virtual(path: &[u8]) -> bool {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    let last = trimmed.rsplit(|&b| b == b'/').next().unwrap_or(trimmed);
    matches!(last, b"sync" | b"sw_sync" | b"info" | b"." | b"..")
        || path
            .windows(SYNC_DIR.len())
            .any(|w| w == SYNC_DIR.as_bytes())
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
    let dir = SYNC_DIR.as_bytes();
    if abs == dir {
        return Some((Node::SyncDir, slash));
    }
    let rest = abs.strip_prefix(dir)?.strip_prefix(b"/")?;
    Some((
        match rest {
            b"sw_sync" => Node::SwSync,
            b"info" => Node::Info,
            _ => Node::Missing,
        },
        slash,
    ))
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
    }
}
