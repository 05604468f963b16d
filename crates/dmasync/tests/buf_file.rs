//! File-level behaviour of dma-bufs (§4.1, §4.8, §4.11, §4.12 and
//! kernel-behaviour.md "File-level behaviour"): names, fdinfo, llseek,
//! inode numbers, bufinfo, the system heap's and udmabuf's creation rules.

mod buf_common;

use std::os::fd::{AsFd, OwnedFd};

use buf_common::*;
use dmasync::buf::udmabuf::{self, CreateItem, Limits};
use dmasync::buf::{
    debugfs, heap, live_buffers, llseek, O_CLOEXEC, O_RDWR, PAGE_SIZE, SEEK_CUR, SEEK_END, SEEK_SET,
};
use dmasync::uapi::dma_buf::DMA_BUF_SYNC_END;
use dmasync::uapi::dma_buf::DMA_BUF_SYNC_READ;
use dmasync::Error;
use rustix::fs::{MemfdFlags, SealFlags};

fn memfd(size: u64, seals: SealFlags) -> OwnedFd {
    let fd =
        rustix::fs::memfd_create("t", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    rustix::fs::ftruncate(&fd, size).unwrap();
    if !seals.is_empty() {
        rustix::fs::fcntl_add_seals(&fd, seals).unwrap();
    }
    fd
}

#[test]
fn set_name_limits_and_empty_name() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        assert_eq!(buf.name(), None);
        assert!(!buf.fdinfo().lines().any(|l| l.starts_with("name:")));
        assert_eq!(buf.dentry_name(), "/dmabuf:");
        buf.set_name(&[b'x'; 31]).unwrap();
        assert_eq!(buf.name().unwrap().len(), 31);
        assert!(matches!(buf.set_name(&[b'y'; 32]), Err(Error::Invalid(_))));
        assert_eq!(
            buf.name().unwrap(),
            "x".repeat(31),
            "a refused name changes nothing"
        );
        buf.set_name(b"abc\0def").unwrap();
        assert_eq!(buf.name().as_deref(), Some("abc"));
        assert_eq!(buf.dentry_name(), "/dmabuf:abc");
        buf.set_name(b"").unwrap();
        assert_eq!(buf.name().as_deref(), Some(""));
        assert!(buf.fdinfo().lines().any(|l| l == "name:\t"));
        // Attached buffers may be renamed (6.1+).
        let a = buf.attach("dev").unwrap();
        buf.set_name(b"attached").unwrap();
        drop(a);
    });
}

#[test]
fn fdinfo_lines() {
    no_fd_leak(|| {
        let buf = heap_buf(2 * PAGE_SIZE);
        let dup = buf.clone();
        buf.set_name(b"frame").unwrap();
        assert_eq!(
            buf.fdinfo(),
            format!(
                "size:\t{}\ncount:\t2\nexp_name:\tsystem\nname:\tframe\n",
                2 * PAGE_SIZE
            )
        );
        drop(dup);
        assert!(buf.fdinfo().contains("count:\t1\n"));
    });
}

#[test]
fn llseek_rules() {
    assert_eq!(llseek(8192, 0, SEEK_END), Ok(8192));
    assert_eq!(llseek(8192, 0, SEEK_SET), Ok(0));
    for (off, whence) in [
        (1, SEEK_SET),
        (-1, SEEK_END),
        (0, SEEK_CUR),
        (0, 3),
        (0, -1),
        (4096, SEEK_END),
    ] {
        assert!(
            matches!(llseek(8192, off, whence), Err(Error::Invalid(_))),
            "{off} {whence}"
        );
    }
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        assert_eq!(buf.llseek(0, SEEK_END), Ok(PAGE_SIZE));
    });
}

#[test]
fn inode_numbers_are_unique_and_shared_by_clones() {
    no_fd_leak(|| {
        let a = heap_buf(PAGE_SIZE);
        let b = heap_buf(PAGE_SIZE);
        assert_ne!(a.ino(), b.ino());
        assert!(a.ino() > 0);
        assert_eq!(a.clone().ino(), a.ino());
        assert!(b.ino() > a.ino(), "never reused, increasing");
    });
}

#[test]
fn bufinfo_format() {
    no_fd_leak(|| {
        let old = heap_buf(PAGE_SIZE);
        let buf = heap_buf(2 * PAGE_SIZE);
        buf.set_name(b"named").unwrap();
        let _a1 = buf.attach("dev-a").unwrap();
        let _a2 = buf.attach("dev-b").unwrap();
        let w = fence_attach(&buf, true);
        let text = debugfs::bufinfo().unwrap();
        assert!(text.starts_with(
            "\nDma-buf Objects:\nsize    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"
        ));
        let line = format!(
            "{:08}\t{:08x}\t{:08x}\t{:08}\tsystem\t{:08}\tnamed\n",
            2 * PAGE_SIZE,
            2,
            0x80007,
            3,
            buf.ino()
        );
        let at = text.find(&line).expect(&text);
        let rest = &text[at + line.len()..];
        assert!(rest.starts_with(&format!(
            "\twrite fence:sw_sync vgem seq 1 unsignalled\n\tAttached Devices:\n\tdev-b\n\tdev-a\nTotal 2 devices attached\n\n{:08}\t",
            PAGE_SIZE
        )), "{rest}");
        assert!(rest.contains("\t<none>\n\tAttached Devices:\nTotal 0 devices attached\n\n"));
        assert!(
            text.find(&format!("\t{:08}\tnamed", buf.ino())).unwrap()
                < text.find(&format!("\t{:08}\t<none>", old.ino())).unwrap(),
            "newest first"
        );
        let n = live_buffers().len();
        assert!(text.ends_with(&format!(
            "\nTotal {n} objects, {} bytes\n",
            live_buffers().iter().map(|b| b.size()).sum::<u64>()
        )));
        w.signal();
    });
}

#[test]
fn released_buffers_leave_the_list() {
    no_fd_leak(|| {
        let buf = heap_buf(PAGE_SIZE);
        let ino = buf.ino();
        assert!(live_buffers().iter().any(|b| b.ino() == ino));
        drop(buf);
        assert!(!live_buffers().iter().any(|b| b.ino() == ino));
    });
}

#[test]
fn heap_alloc_rules() {
    no_fd_leak(|| {
        assert!(matches!(heap::alloc(0, O_RDWR, 0), Err(Error::Invalid(_))));
        assert!(matches!(
            heap::alloc(1, O_RDWR | 0o100, 0),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(heap::alloc(1, O_RDWR, 1), Err(Error::Invalid(_))));
        assert!(matches!(
            heap::alloc(u64::MAX, O_RDWR, 0),
            Err(Error::Invalid(_))
        ));
        let b = heap::alloc(1, O_RDWR | O_CLOEXEC, 0).unwrap();
        assert_eq!(b.size(), PAGE_SIZE);
        assert_eq!(b.file_flags(), O_RDWR);
        assert_eq!(b.exp_name(), "system");
        let ro = heap::alloc(1, 0, 0).unwrap();
        assert_eq!((ro.file_flags(), ro.file_mode() & 3), (0, 1));
    });
}

#[test]
fn udmabuf_seal_rules() {
    no_fd_leak(|| {
        let none = memfd(PAGE_SIZE, SealFlags::empty());
        assert!(matches!(
            udmabuf::create(none.as_fd(), 0, 0, PAGE_SIZE),
            Err(Error::Invalid(_))
        ));
        for ok in [
            SealFlags::SHRINK,
            SealFlags::SHRINK | SealFlags::GROW,
            SealFlags::SHRINK | SealFlags::SEAL,
        ] {
            let fd = memfd(PAGE_SIZE, ok);
            let b = udmabuf::create(fd.as_fd(), 0, 0, PAGE_SIZE).unwrap();
            assert_eq!(b.exp_name(), "udmabuf");
            assert_eq!(b.file_flags(), O_RDWR);
        }
        for bad in [SealFlags::WRITE, SealFlags::FUTURE_WRITE] {
            let fd = memfd(PAGE_SIZE, SealFlags::SHRINK | bad);
            assert!(matches!(
                udmabuf::create(fd.as_fd(), 0, 0, PAGE_SIZE),
                Err(Error::Invalid(_))
            ));
        }
    });
}

#[test]
fn udmabuf_range_rules() {
    no_fd_leak(|| {
        let fd = memfd(4 * PAGE_SIZE, SealFlags::SHRINK);
        for (off, size) in [
            (0, 100),
            (100, PAGE_SIZE),
            (0, 0),
            (3 * PAGE_SIZE, 2 * PAGE_SIZE),
            (u64::MAX - 4095, PAGE_SIZE),
        ] {
            assert!(
                matches!(
                    udmabuf::create(fd.as_fd(), 0, off, size),
                    Err(Error::Invalid(_))
                ),
                "{off} {size}"
            );
        }
        let b = udmabuf::create(fd.as_fd(), 1 << 7, PAGE_SIZE, 2 * PAGE_SIZE).unwrap();
        assert_eq!(b.llseek(0, SEEK_END), Ok(2 * PAGE_SIZE));
        // The memfd's pages are shared.
        rustix::io::pwrite(&fd, b"shared", PAGE_SIZE + 10).unwrap();
        let mut out = [0u8; 6];
        b.read_at(10, &mut out).unwrap();
        assert_eq!(&out, b"shared");
        b.write_at(PAGE_SIZE, b"back").unwrap();
        let mut direct = [0u8; 4];
        rustix::io::pread(&fd, &mut direct, 2 * PAGE_SIZE).unwrap();
        assert_eq!(&direct, b"back");
    });
}

#[test]
fn udmabuf_rejects_files_that_are_not_memfds() {
    no_fd_leak(|| {
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert_eq!(
            udmabuf::create(r.as_fd(), 0, 0, PAGE_SIZE).err(),
            Some(Error::BadFdState)
        );
        assert_eq!(Error::BadFdState.errno(), 77);
        // A tmpfs file that is not a memfd: only F_SEAL_SEAL -> EINVAL.
        if let Ok(f) = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open("/dev/shm/dmasync-udmabuf-test")
        {
            let _ = std::fs::remove_file("/dev/shm/dmasync-udmabuf-test");
            f.set_len(PAGE_SIZE).unwrap();
            assert!(matches!(
                udmabuf::create(f.as_fd(), 0, 0, PAGE_SIZE),
                Err(Error::Invalid(_))
            ));
        }
        // A regular file elsewhere: not shmem.
        let f = std::fs::File::open("/proc/self/stat").unwrap();
        assert_eq!(
            udmabuf::create(f.as_fd(), 0, 0, PAGE_SIZE).err(),
            Some(Error::BadFdState)
        );
    });
}

fn item(fd: &OwnedFd, offset: u64, size: u64) -> CreateItem<'_> {
    CreateItem {
        memfd: fd.as_fd(),
        offset,
        size,
    }
}

#[test]
fn udmabuf_create_list_limits() {
    no_fd_leak(|| {
        let a = memfd(2 * PAGE_SIZE, SealFlags::SHRINK);
        let b = memfd(PAGE_SIZE, SealFlags::SHRINK);
        assert!(matches!(
            udmabuf::create_list(0, &[], Limits::default()),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            udmabuf::create_list(0, &[item(&a, 0, 0), item(&b, 0, 0)], Limits::default()),
            Err(Error::Invalid(_))
        ));
        let small = Limits {
            list_limit: 1,
            size_limit_mb: 64,
        };
        assert!(matches!(
            udmabuf::create_list(0, &[item(&a, 0, PAGE_SIZE), item(&b, 0, PAGE_SIZE)], small),
            Err(Error::Invalid(_))
        ));
        let tiny = Limits {
            list_limit: 8,
            size_limit_mb: 0,
        };
        assert!(matches!(
            udmabuf::create_list(0, &[item(&a, 0, PAGE_SIZE)], tiny),
            Err(Error::Invalid(_))
        ));
        // Alignment is checked for every item before any memfd.
        let (pipe, _w) = rustix::pipe::pipe().unwrap();
        let p = CreateItem {
            memfd: pipe.as_fd(),
            offset: 0,
            size: PAGE_SIZE,
        };
        assert!(matches!(
            udmabuf::create_list(0, &[p, item(&a, 1, PAGE_SIZE)], Limits::default()),
            Err(Error::Invalid(_))
        ));
        assert_eq!(
            udmabuf::create_list(0, &[item(&a, 0, PAGE_SIZE), p], Limits::default()).err(),
            Some(Error::BadFdState)
        );

        let buf = udmabuf::create_list(
            0,
            &[item(&a, PAGE_SIZE, PAGE_SIZE), item(&b, 0, PAGE_SIZE)],
            Limits::default(),
        )
        .unwrap();
        assert_eq!(buf.size(), 2 * PAGE_SIZE);
        assert_eq!(buf.memory().unwrap().segments().len(), 2);
        buf.write_at(PAGE_SIZE - 2, b"span").unwrap();
        let mut x = [0u8; 2];
        rustix::io::pread(&a, &mut x, 2 * PAGE_SIZE - 2).unwrap();
        assert_eq!(&x, b"sp");
        rustix::io::pread(&b, &mut x, 0).unwrap();
        assert_eq!(&x, b"an");
    });
}

#[test]
fn udmabuf_cpu_access_and_mmap() {
    no_fd_leak(|| {
        let fd = memfd(PAGE_SIZE, SealFlags::SHRINK);
        let b = udmabuf::create(fd.as_fd(), 0, 0, PAGE_SIZE).unwrap();
        assert!(matches!(
            b.sync(DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END),
            Err(Error::Invalid(_))
        ));
        b.sync(DMA_BUF_SYNC_READ).unwrap();
        b.sync(DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END).unwrap();
        b.sync(DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END).unwrap();
        assert!(matches!(
            b.mmap(0, PAGE_SIZE, false),
            Err(Error::Invalid(_))
        ));
        assert_eq!(b.mmap(0, PAGE_SIZE, true), Ok(()));
        let heap = heap_buf(PAGE_SIZE);
        assert_eq!(
            heap.sync(DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END),
            Ok(()),
            "only udmabuf checks END"
        );
    });
}
