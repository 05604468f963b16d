//! What `stat`, `fstat` and `statx` say about the virtual nodes and about
//! our fds.
//!
//! The files standing for them are memfds and pipes; the kernel's are
//! character devices (the DRM nodes, `/dev/udmabuf`, the system heap),
//! anonymous files with no file type (dma-bufs, sync files: mode 0600),
//! and debugfs files. Programs look: libdrm and Smithay's `DrmNode` take a
//! DRM fd for a DRM node only when `fstat` says character device 226:N,
//! and a dma-buf's size is its `st_size`. So the supervisor answers these
//! calls itself: it asks the kernel about its own copy of the file (inode,
//! device, owner, times and size stay the file's), or about the file whose
//! inode the kernel's files of that kind share (the supervisor's
//! `Templates::shared_inode`), and sets what differs, as an [`Identity`].
//!
//! The device numbers are the ones Linux 6.12 gives: DRM's fixed major 226
//! (minor 0 for the primary node, 128 for the render node), and the
//! numbers allocated at boot in the kernel oracle for udmabuf (a dynamic
//! misc minor) and the dma-heap class (a dynamic major).

use std::io;
use std::os::fd::BorrowedFd;

use crate::objects::Object;
use crate::paths::Node;
use crate::sys::files;
use crate::sysfs::Kind;

/// The DRM major.
const DRM_MAJOR: u32 = 226;
/// The render nodes' first minor.
const DRM_RENDER_MINOR: u32 = 128;
/// The misc devices' major, and udmabuf's dynamic minor under it.
const MISC_MAJOR: u32 = 10;
const UDMABUF_MINOR: u32 = 258;
/// The dma-heap class's dynamic major (the system heap is minor 0).
const DMA_HEAP_MAJOR: u32 = 251;

/// The size stat gives a sysfs attribute: a page.
pub(crate) const SYSFS_ATTR_SIZE: u64 = 4096;

/// tmpfs (devtmpfs) counts 20 bytes per directory entry, `.` and `..`
/// included, as a directory's size.
const BOGO_DIRENT_SIZE: u64 = 20;

/// What stat says of a node or an fd where it differs from the file that
/// stands for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The `S_IFMT` bits (0 for an anonymous file).
    fmt: u32,
    /// The permission bits.
    perm: u32,
    nlink: u32,
    /// Major and minor of a character device.
    rdev: (u32, u32),
    /// `None`: the file's own size.
    size: Option<u64>,
}

impl Identity {
    fn char_device(major: u32, minor: u32) -> Identity {
        Identity {
            fmt: libc::S_IFCHR,
            perm: 0o600,
            nlink: 1,
            rdev: (major, minor),
            size: Some(0),
        }
    }

    fn dir(entries: u64) -> Identity {
        Identity {
            fmt: libc::S_IFDIR,
            perm: 0o755,
            nlink: 2,
            rdev: (0, 0),
            size: Some(entries),
        }
    }

    fn regular(perm: u32) -> Identity {
        Identity {
            fmt: libc::S_IFREG,
            perm,
            nlink: 1,
            rdev: (0, 0),
            size: Some(0),
        }
    }

    /// An anonymous file (dma-buf, sync file): no file type, 0600.
    fn anonymous(size: Option<u64>) -> Identity {
        Identity {
            fmt: 0,
            perm: 0o600,
            nlink: 1,
            rdev: (0, 0),
            size,
        }
    }

    /// A virtual path. `None` for a missing one.
    pub(crate) fn of_node(node: Node) -> Option<Identity> {
        Some(match node {
            Node::Card0 => Identity::char_device(DRM_MAJOR, 0),
            Node::RenderD128 => Identity::char_device(DRM_MAJOR, DRM_RENDER_MINOR),
            Node::Udmabuf => Identity::char_device(MISC_MAJOR, UDMABUF_MINOR),
            Node::HeapSystem => Identity::char_device(DMA_HEAP_MAJOR, 0),
            Node::SwSync => Identity::regular(0o644),
            Node::Info => Identity::regular(0o444),
            // devtmpfs directories: ".", ".." and the nodes.
            Node::DriDir => Identity::dir(4 * BOGO_DIRENT_SIZE),
            Node::HeapDir => Identity::dir(3 * BOGO_DIRENT_SIZE),
            // debugfs directories have no size.
            Node::SyncDir => Identity::dir(0),
            Node::Sys(i) => match crate::sysfs::TREE[i as usize].kind {
                // sysfs (kernfs) and debugfs: directories have no size;
                // sysfs attributes say a page; links are 0777 and empty.
                Kind::Dir { nlink, .. } => Identity {
                    nlink,
                    ..Identity::dir(0)
                },
                Kind::File { perm, .. } => Identity {
                    size: Some(SYSFS_ATTR_SIZE),
                    ..Identity::regular(perm)
                },
                // debugfs files have no size.
                Kind::Debug { perm, .. } => Identity::regular(perm),
                Kind::Link(_) => Identity {
                    fmt: libc::S_IFLNK,
                    perm: 0o777,
                    ..Identity::regular(0)
                },
            },
            Node::Missing | Node::NotDir | Node::Outside => return None,
        })
    }

    /// One of our fds.
    pub(crate) fn of_object(obj: &Object) -> Identity {
        match obj {
            Object::SyncFile(_) => Identity::anonymous(Some(0)),
            Object::DmaBuf(_) => Identity::anonymous(None),
            // A timeline's file is the sw_sync debugfs file.
            Object::Timeline(_) => Identity::regular(0o644),
            Object::Drm(f) if f.file.is_render() => {
                Identity::char_device(DRM_MAJOR, DRM_RENDER_MINOR)
            }
            Object::Drm(_) => Identity::char_device(DRM_MAJOR, 0),
            Object::Heap => Identity::char_device(DMA_HEAP_MAJOR, 0),
            Object::Udmabuf => Identity::char_device(MISC_MAJOR, UDMABUF_MINOR),
            Object::PathOnly(node) => {
                Identity::of_node(*node).unwrap_or(Identity::anonymous(Some(0)))
            }
            Object::SysAttr(i) => {
                Identity::of_node(Node::Sys(*i)).unwrap_or(Identity::anonymous(Some(0)))
            }
        }
    }

    /// `struct stat` of `fd`, as this identity.
    pub(crate) fn stat(&self, fd: BorrowedFd<'_>) -> io::Result<Vec<u8>> {
        let mut st = files::fstat(fd)?;
        st.st_mode = self.fmt | self.perm;
        st.st_nlink = self.nlink.into();
        st.st_rdev = libc::makedev(self.rdev.0, self.rdev.1);
        if let Some(size) = self.size {
            st.st_size = size as libc::off_t;
        }
        st.st_blocks = self.blocks(st.st_size as u64) as libc::blkcnt_t;
        Ok(files::stat_bytes(&st))
    }

    /// `struct statx` of `fd` (`flags` and `mask` as the caller gave
    /// them), as this identity.
    pub(crate) fn statx(&self, fd: BorrowedFd<'_>, flags: i32, mask: u32) -> io::Result<Vec<u8>> {
        let mut b = files::statx_bytes(fd, flags, mask)?;
        self.patch_statx(&mut b);
        Ok(b)
    }

    /// Sets the fields of a `struct statx` (offsets fixed by the UAPI).
    fn patch_statx(&self, b: &mut [u8]) {
        let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
        put(STX_NLINK, &self.nlink.to_ne_bytes());
        put(STX_MODE, &((self.fmt | self.perm) as u16).to_ne_bytes());
        put(STX_RDEV_MAJOR, &self.rdev.0.to_ne_bytes());
        put(STX_RDEV_MINOR, &self.rdev.1.to_ne_bytes());
        if let Some(size) = self.size {
            put(STX_SIZE, &size.to_ne_bytes());
        }
        let size = u64::from_ne_bytes(b[STX_SIZE..STX_SIZE + 8].try_into().unwrap_or([0; 8]));
        let blocks = self.blocks(size);
        b[STX_BLOCKS..STX_BLOCKS + 8].copy_from_slice(&blocks.to_ne_bytes());
    }

    /// The 512-byte blocks stat counts for a file of `size` bytes: the
    /// kernel sets a dma-buf's inode bytes to its size whatever memory
    /// is populated; its devices, debugfs and anonymous files have none
    /// (the memfds standing for them count their pages).
    fn blocks(&self, size: u64) -> u64 {
        if self.fmt == 0 && self.size.is_none() {
            size / 512
        } else {
            0
        }
    }
}

// Offsets in `struct statx` (include/uapi/linux/stat.h).
const STX_NLINK: usize = 16;
const STX_MODE: usize = 28;
const STX_SIZE: usize = 40;
const STX_BLOCKS: usize = 48;
const STX_RDEV_MAJOR: usize = 128;
const STX_RDEV_MINOR: usize = 132;

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn statx_offsets_are_the_uapi_ones() {
        assert_eq!(std::mem::offset_of!(libc::statx, stx_nlink), STX_NLINK);
        assert_eq!(std::mem::offset_of!(libc::statx, stx_mode), STX_MODE);
        assert_eq!(std::mem::offset_of!(libc::statx, stx_size), STX_SIZE);
        assert_eq!(std::mem::offset_of!(libc::statx, stx_blocks), STX_BLOCKS);
        assert_eq!(
            std::mem::offset_of!(libc::statx, stx_rdev_major),
            STX_RDEV_MAJOR
        );
        assert_eq!(
            std::mem::offset_of!(libc::statx, stx_rdev_minor),
            STX_RDEV_MINOR
        );
        assert_eq!(std::mem::size_of::<libc::statx>(), files::STATX_SIZE);
    }

    #[test]
    fn a_render_node_is_char_226_128_with_the_files_inode() {
        let f = rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).expect("memfd");
        let own = files::fstat(f.as_fd()).expect("fstat");
        let id = Identity::of_node(Node::RenderD128).expect("a node");
        let b = id.stat(f.as_fd()).expect("stat");
        assert_eq!(b.len(), std::mem::size_of::<libc::stat>());
        let at = |off: usize, n: usize| {
            let mut v = [0u8; 8];
            v[..n].copy_from_slice(&b[off..off + n]);
            u64::from_ne_bytes(v)
        };
        let mode = at(std::mem::offset_of!(libc::stat, st_mode), 4) as u32;
        let rdev = at(std::mem::offset_of!(libc::stat, st_rdev), 8);
        let ino = at(std::mem::offset_of!(libc::stat, st_ino), 8);
        assert_eq!(mode, libc::S_IFCHR | 0o600);
        assert_eq!((libc::major(rdev), libc::minor(rdev)), (226, 128));
        assert_eq!(ino, own.st_ino, "the inode stays the file's");
        let x = id
            .statx(f.as_fd(), 0, libc::STATX_BASIC_STATS)
            .expect("statx");
        assert_eq!(
            u16::from_ne_bytes(x[STX_MODE..STX_MODE + 2].try_into().expect("2")),
            (libc::S_IFCHR | 0o600) as u16
        );
        assert_eq!(
            u32::from_ne_bytes(x[STX_RDEV_MINOR..STX_RDEV_MINOR + 4].try_into().expect("4")),
            128
        );
        assert_eq!(
            u64::from_ne_bytes(x[32..40].try_into().expect("8")),
            own.st_ino,
            "the inode stays the file's"
        );
    }

    #[test]
    fn a_dma_buf_keeps_its_size_and_has_no_file_type() {
        let f = rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).expect("memfd");
        rustix::fs::ftruncate(&f, 12288).expect("ftruncate");
        let id = Identity::anonymous(None);
        let x = id
            .statx(f.as_fd(), 0, libc::STATX_BASIC_STATS)
            .expect("statx");
        assert_eq!(
            u16::from_ne_bytes(x[STX_MODE..STX_MODE + 2].try_into().expect("2")),
            0o600
        );
        assert_eq!(
            u64::from_ne_bytes(x[STX_SIZE..STX_SIZE + 8].try_into().expect("8")),
            12288
        );
        assert_eq!(
            u64::from_ne_bytes(x[STX_BLOCKS..STX_BLOCKS + 8].try_into().expect("8")),
            24,
            "its size in blocks, no page being populated"
        );
    }
}

/// The file systems the kernel's files of our kinds live on, as `statfs`
/// and `fstatfs` report them (`f_type`). systemd's device code (libudev)
/// refuses a device directory that is not on sysfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fs {
    Sysfs,
    Debugfs,
    /// devtmpfs, which reports tmpfs's magic.
    Devtmpfs,
    DmaBuf,
    AnonInode,
}

impl Fs {
    /// The file system of a virtual path; `None` for a missing one.
    pub(crate) fn of_node(node: Node) -> Option<Fs> {
        Some(match node {
            Node::SyncDir | Node::SwSync | Node::Info => Fs::Debugfs,
            Node::HeapDir
            | Node::HeapSystem
            | Node::Udmabuf
            | Node::DriDir
            | Node::Card0
            | Node::RenderD128 => Fs::Devtmpfs,
            Node::Sys(i)
                if crate::sysfs::TREE[i as usize]
                    .path
                    .starts_with("/sys/kernel/debug/") =>
            {
                Fs::Debugfs
            }
            Node::Sys(_) => Fs::Sysfs,
            Node::Missing | Node::NotDir | Node::Outside => return None,
        })
    }

    /// The file system of one of our fds.
    pub(crate) fn of_object(obj: &Object) -> Option<Fs> {
        Some(match obj {
            Object::SyncFile(_) => Fs::AnonInode,
            Object::DmaBuf(_) => Fs::DmaBuf,
            Object::Timeline(_) => Fs::Debugfs,
            Object::Drm(_) | Object::Heap | Object::Udmabuf => Fs::Devtmpfs,
            Object::PathOnly(node) => return Fs::of_node(*node),
            Object::SysAttr(i) => return Fs::of_node(Node::Sys(*i)),
        })
    }

    /// `struct statfs` for this file system: the host's statistics of a
    /// file system of the same family (the pseudo file systems report
    /// no blocks or files), with the kernel's magic.
    pub(crate) fn statfs(self) -> io::Result<Vec<u8>> {
        const SYSFS_MAGIC: i64 = 0x6265_6572;
        const DEBUGFS_MAGIC: i64 = 0x6462_6720;
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        const DMA_BUF_MAGIC: i64 = 0x444d_4142;
        const ANON_INODE_FS_MAGIC: i64 = 0x0904_1934;
        let (path, magic) = match self {
            Fs::Sysfs => (c"/sys", SYSFS_MAGIC),
            Fs::Debugfs => (c"/sys", DEBUGFS_MAGIC),
            Fs::Devtmpfs => (c"/dev", TMPFS_MAGIC),
            Fs::DmaBuf => (c"/sys", DMA_BUF_MAGIC),
            Fs::AnonInode => (c"/sys", ANON_INODE_FS_MAGIC),
        };
        let mut b = files::statfs_bytes(path, Some(magic))?;
        if matches!(self, Fs::DmaBuf | Fs::AnonInode) {
            // The kernel's internal mounts (kern_mount) have no mount
            // flags: `f_flags` is ST_VALID alone, not /sys's.
            const ST_VALID: u64 = 0x20;
            let w = std::mem::size_of::<libc::c_long>();
            // `f_flags` follows `f_frsize` (libc's struct keeps it among
            // its spare words).
            let at = std::mem::offset_of!(libc::statfs, f_frsize) + w;
            b[at..at + w].copy_from_slice(&ST_VALID.to_ne_bytes()[..w]);
        }
        Ok(b)
    }
}
