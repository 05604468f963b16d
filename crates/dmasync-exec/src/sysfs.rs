//! The sysfs view of the vgem device: what DRM clients read under `/sys`
//! to tell a DRM node and find its siblings (drm-rs's `DrmNode`, libdrm's
//! `drmGetDevice2`, `drmGetNodeTypeFromFd`, `drmGet*DeviceNameFromFd`,
//! Mesa's loader, libudev).
//!
//! The tree is what Linux 6.12 shows for vgem in the kernel oracle
//! (tests/diff/golden/sysfs.txt): the device `/sys/devices/platform/vgem`
//! with its `drm/card0` and `drm/renderD128` minors, the class directory
//! `/sys/class/drm`, and the links `/sys/dev/char/226:0` and `226:128`.
//! Directories are listed in the kernel's order (kernfs sorts a
//! directory's children by a hash of their names). The `power`
//! directories hold the runtime-PM attributes of a device without
//! runtime PM, but `autosuspend_delay_ms` (whose read fails with EIO: a
//! program that reads every attribute, such as `udevadm info -a`, skips
//! it).

/// What a sysfs entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory: its link count and its children, in the kernel's
    /// `getdents` order.
    Dir {
        nlink: u32,
        children: &'static [&'static str],
    },
    /// A symbolic link and its target (relative to the link's directory).
    Link(&'static str),
    /// A read-only attribute: its permission bits and its text.
    File { perm: u32, text: &'static str },
    /// A debugfs file whose text is made as it is opened (a `seq_file`):
    /// its permission bits and what it shows.
    Debug { perm: u32, file: DebugFile },
}

/// The generated files of the DRM device's debugfs directory
/// (drm_debugfs.c), each a snapshot of the device taken at open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugFile {
    /// `name` (`drm_name_info`): driver, device, master's and device's bus
    /// ids.
    Name,
    /// `clients` (`drm_clients_info`): the open files, oldest first.
    Clients,
    /// `gem_names` (`drm_gem_name_info`): the flink names.
    GemNames,
}

/// One entry of the served tree, by its canonical path.
#[derive(Debug)]
pub struct Entry {
    pub path: &'static str,
    pub kind: Kind,
}

const VGEM: &str = "/sys/devices/platform/vgem";
const MINOR_CHILDREN: &[&str] = &["uevent", "power", "dev", "device", "subsystem"];
/// A `power` directory's attributes, in the kernel's order (less
/// `autosuspend_delay_ms`).
const POWER: &[&str] = &[
    "runtime_active_time",
    "runtime_active_kids",
    "runtime_usage",
    "runtime_status",
    "async",
    "runtime_suspended_time",
    "runtime_enabled",
    "control",
];

const fn dir(path: &'static str, nlink: u32, children: &'static [&'static str]) -> Entry {
    Entry {
        path,
        kind: Kind::Dir { nlink, children },
    }
}

const fn link(path: &'static str, target: &'static str) -> Entry {
    Entry {
        path,
        kind: Kind::Link(target),
    }
}

const fn file(path: &'static str, perm: u32, text: &'static str) -> Entry {
    Entry {
        path,
        kind: Kind::File { perm, text },
    }
}

const fn debug(path: &'static str, file: DebugFile) -> Entry {
    Entry {
        path,
        kind: Kind::Debug { perm: 0o444, file },
    }
}

/// The DRM debugfs directory: one directory per device, named after it,
/// and a link to it per minor (Linux 6.12's layout).
const DRI_DEBUG: &str = "/sys/kernel/debug/dri";

/// The served entries. Directories first (their index is their
/// template's).
pub static TREE: &[Entry] = &[
    dir("/sys/class/drm", 2, &["renderD128", "card0", "version"]),
    dir(
        VGEM,
        4,
        &[
            "uevent",
            "power",
            "driver_override",
            "subsystem",
            "modalias",
            "drm",
        ],
    ),
    dir("/sys/devices/platform/vgem/power", 2, POWER),
    dir(
        "/sys/devices/platform/vgem/drm",
        4,
        &["renderD128", "card0"],
    ),
    dir("/sys/devices/platform/vgem/drm/card0", 3, MINOR_CHILDREN),
    dir("/sys/devices/platform/vgem/drm/card0/power", 2, POWER),
    dir(
        "/sys/devices/platform/vgem/drm/renderD128",
        3,
        MINOR_CHILDREN,
    ),
    dir("/sys/devices/platform/vgem/drm/renderD128/power", 2, POWER),
    // debugfs lists the newest entry first: the device's directory was
    // made first, then the render minor's link, then the primary's; the
    // files in the reverse of drm_debugfs_list's order.
    dir(DRI_DEBUG, 3, &["0", "128", "vgem"]),
    dir(
        "/sys/kernel/debug/dri/vgem",
        2,
        &["gem_names", "clients", "name"],
    ),
    link(
        "/sys/bus/platform/devices/vgem",
        "../../../devices/platform/vgem",
    ),
    link(
        "/sys/dev/char/226:0",
        "../../devices/platform/vgem/drm/card0",
    ),
    link(
        "/sys/dev/char/226:128",
        "../../devices/platform/vgem/drm/renderD128",
    ),
    link(
        "/sys/class/drm/card0",
        "../../devices/platform/vgem/drm/card0",
    ),
    link(
        "/sys/class/drm/renderD128",
        "../../devices/platform/vgem/drm/renderD128",
    ),
    link("/sys/kernel/debug/dri/0", "vgem"),
    link("/sys/kernel/debug/dri/128", "vgem"),
    debug("/sys/kernel/debug/dri/vgem/name", DebugFile::Name),
    debug("/sys/kernel/debug/dri/vgem/clients", DebugFile::Clients),
    debug("/sys/kernel/debug/dri/vgem/gem_names", DebugFile::GemNames),
    file("/sys/class/drm/version", 0o444, "drm 1.1.0 20060810\n"),
    file(
        "/sys/devices/platform/vgem/uevent",
        0o644,
        "MODALIAS=platform:vgem\n",
    ),
    file(
        "/sys/devices/platform/vgem/driver_override",
        0o644,
        "(null)\n",
    ),
    link(
        "/sys/devices/platform/vgem/subsystem",
        "../../../bus/platform",
    ),
    file(
        "/sys/devices/platform/vgem/modalias",
        0o444,
        "platform:vgem\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/card0/uevent",
        0o644,
        "MAJOR=226\nMINOR=0\nDEVNAME=dri/card0\nDEVTYPE=drm_minor\n",
    ),
    file("/sys/devices/platform/vgem/drm/card0/dev", 0o444, "226:0\n"),
    link(
        "/sys/devices/platform/vgem/drm/card0/device",
        "../../../vgem",
    ),
    link(
        "/sys/devices/platform/vgem/drm/card0/subsystem",
        "../../../../../class/drm",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/uevent",
        0o644,
        "MAJOR=226\nMINOR=128\nDEVNAME=dri/renderD128\nDEVTYPE=drm_minor\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/dev",
        0o444,
        "226:128\n",
    ),
    link(
        "/sys/devices/platform/vgem/drm/renderD128/device",
        "../../../vgem",
    ),
    link(
        "/sys/devices/platform/vgem/drm/renderD128/subsystem",
        "../../../../../class/drm",
    ),
    // The runtime-PM attributes (see [`POWER`]).
    file(
        "/sys/devices/platform/vgem/power/runtime_active_time",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/power/runtime_active_kids",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/power/runtime_usage",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/power/runtime_status",
        0o444,
        "unsupported\n",
    ),
    file(
        "/sys/devices/platform/vgem/power/async",
        0o644,
        "disabled\n",
    ),
    file(
        "/sys/devices/platform/vgem/power/runtime_suspended_time",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/power/runtime_enabled",
        0o444,
        "disabled\n",
    ),
    file("/sys/devices/platform/vgem/power/control", 0o644, "auto\n"),
    file(
        "/sys/devices/platform/vgem/drm/card0/power/runtime_active_time",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/card0/power/runtime_active_kids",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/card0/power/runtime_usage",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/card0/power/runtime_status",
        0o444,
        "unsupported\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/card0/power/async",
        0o644,
        "disabled\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/card0/power/runtime_suspended_time",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/card0/power/runtime_enabled",
        0o444,
        "disabled\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/card0/power/control",
        0o644,
        "auto\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/power/runtime_active_time",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/power/runtime_active_kids",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/power/runtime_usage",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/power/runtime_status",
        0o444,
        "unsupported\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/power/async",
        0o644,
        "disabled\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/power/runtime_suspended_time",
        0o444,
        "0\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/power/runtime_enabled",
        0o444,
        "disabled\n",
    ),
    file(
        "/sys/devices/platform/vgem/drm/renderD128/power/control",
        0o644,
        "auto\n",
    ),
];

/// A host sysfs directory that holds served entries: its listing
/// (`getdents64`) gains them, in the kernel's order, and loses the host's
/// names that are hidden.
#[derive(Debug)]
pub struct HostDir {
    pub path: &'static str,
    /// The served entries in it: name, `d_type` and the kernfs hash of the
    /// name (its position in the directory: kernfs lists a directory in
    /// order of its children's name hashes, the same on every kernel; the
    /// values are the positions Linux 6.12 gave them in the oracle).
    pub added: &'static [(&'static str, u8, u32)],
    /// A prefix of the host's names that are not listed (the host's DRM
    /// minors, whose nodes `/dev/dri` hides).
    pub hides: Option<&'static str>,
}

/// The host directories that hold served entries. Without them a program
/// that enumerates devices by listing `/sys/class` (libudev's
/// enumerator, IGT's `lsgpu`) never finds `drm` on a host without a GPU.
pub static HOST_DIRS: &[HostDir] = &[
    HostDir {
        path: "/sys/class",
        added: &[("drm", libc::DT_DIR, 2128581942)],
        hides: None,
    },
    HostDir {
        path: "/sys/devices/platform",
        added: &[("vgem", libc::DT_DIR, 2079486081)],
        hides: None,
    },
    HostDir {
        path: "/sys/bus/platform/devices",
        added: &[("vgem", libc::DT_LNK, 2079486081)],
        hides: None,
    },
    HostDir {
        path: CHAR_DIR,
        added: &[
            ("226:0", libc::DT_LNK, 1609872069),
            ("226:128", libc::DT_LNK, 1837152957),
        ],
        hides: Some(HIDDEN_PREFIX),
    },
];

/// The directory whose names starting with [`HIDDEN_PREFIX`] are all
/// ours: the host's other DRM minors are hidden, as `/dev/dri` hides
/// their nodes.
const CHAR_DIR: &str = "/sys/dev/char";
const HIDDEN_PREFIX: &str = "226:";

/// The index of the entry at canonical path `abs`.
pub fn find(abs: &[u8]) -> Option<usize> {
    TREE.iter().position(|e| e.path.as_bytes() == abs)
}

/// The target of the served link at canonical path `abs`.
pub fn link_target(abs: &[u8]) -> Option<&'static str> {
    match TREE[find(abs)?].kind {
        Kind::Link(t) => Some(t),
        _ => None,
    }
}

/// What a canonical path that is not an entry is, when it is under the
/// served tree: `Some(true)` when a served file or link stands where a
/// directory is needed (ENOTDIR), `Some(false)` when it does not exist,
/// `None` when the host's own `/sys` answers.
pub fn missing(abs: &[u8]) -> Option<bool> {
    let mut at = abs.len();
    while let Some(slash) = abs[..at].iter().rposition(|&b| b == b'/') {
        let parent = &abs[..slash];
        if let Some(i) = find(parent) {
            return Some(!matches!(TREE[i].kind, Kind::Dir { .. }));
        }
        if parent == CHAR_DIR.as_bytes() && abs[slash + 1..].starts_with(HIDDEN_PREFIX.as_bytes()) {
            return Some(false);
        }
        at = slash;
    }
    None
}

/// Whether `path` (as the program gave it) may name a served entry:
/// it contains a served top directory, or its last component is the name
/// of a served entry.
pub fn may_name(path: &[u8], last: &[u8]) -> bool {
    const TOPS: &[&str] = &[
        "/sys/class/drm",
        "/sys/dev/char/226:",
        VGEM,
        DRI_DEBUG,
        "/sys/bus/platform/devices/vgem",
    ];
    const NAMES: &[&[u8]] = &[
        b"0",
        b"128",
        b"name",
        b"clients",
        b"gem_names",
        b"drm",
        b"version",
        b"226:0",
        b"226:128",
        b"vgem",
        b"driver_override",
        b"modalias",
        b"power",
        b"subsystem",
        b"uevent",
        b"device",
        b"dev",
    ];
    NAMES.contains(&last)
        || POWER.iter().any(|n| n.as_bytes() == last)
        || TOPS
            .iter()
            .any(|d| path.windows(d.len()).any(|w| w == d.as_bytes()))
}

/// The children of directory entry `i` with their `d_type`.
pub fn children(i: usize) -> Vec<(&'static [u8], u8)> {
    let Kind::Dir { children, .. } = TREE[i].kind else {
        return Vec::new();
    };
    let parent = TREE[i].path;
    children
        .iter()
        .map(|name| {
            let kind = find(format!("{parent}/{name}").as_bytes()).map(|c| TREE[c].kind);
            let t = match kind {
                Some(Kind::Dir { .. }) => libc::DT_DIR,
                Some(Kind::Link(_)) => libc::DT_LNK,
                _ => libc::DT_REG,
            };
            (name.as_bytes(), t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_child_is_an_entry_and_every_entry_a_child() {
        for (i, e) in TREE.iter().enumerate() {
            if let Kind::Dir { children, .. } = e.kind {
                for c in children {
                    assert!(
                        find(format!("{}/{c}", e.path).as_bytes()).is_some(),
                        "{}/{c}",
                        e.path
                    );
                }
                assert_eq!(find(e.path.as_bytes()), Some(i));
            }
            let (parent, name) = e.path.rsplit_once('/').expect("absolute");
            if let Some(p) = find(parent.as_bytes()) {
                let Kind::Dir { children, .. } = TREE[p].kind else {
                    panic!("{parent} is not a directory");
                };
                assert!(children.contains(&name), "{} is listed", e.path);
            }
        }
    }

    #[test]
    fn missing_names_under_the_tree() {
        assert_eq!(missing(b"/sys/class/drm/card1"), Some(false));
        assert_eq!(missing(b"/sys/class/drm/card1/dev"), Some(false));
        assert_eq!(
            missing(b"/sys/devices/platform/vgem/drm/card0/dev/x"),
            Some(true)
        );
        assert_eq!(missing(b"/sys/dev/char/226:1"), Some(false));
        assert_eq!(missing(b"/sys/dev/char/1:3"), None);
        assert_eq!(missing(b"/sys/class/net"), None);
        assert_eq!(missing(b"/sys/devices/platform/vgem2"), None);
    }
}
