//! The drm-rs differential probe: a client of the DRM UAPI written with the
//! `drm` crate (Smithay/drm-rs), as an unmodified program uses it, on
//! /dev/dri/card0 and /dev/dri/renderD128 of the vgem device. Every DRM call
//! goes through drm-rs's own API; only the dma-buf side (mmap of the PRIME
//! fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE) uses rustix. Its output is compared
//! with `tests/diff/golden/drm-rs.txt` of dmasync-exec, on the real kernel
//! (tests/diff/regenerate.sh) and under `dmasync exec` (tests/diff.rs).
//!
//! One observation per line: errno names, handle values (per-file, the
//! kernel gives the lowest free one), sizes; no fd numbers, addresses,
//! magic tokens or times.

use std::fs::{File, OpenOptions};
use std::io;
use std::num::NonZeroU32;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use drm::buffer::{Buffer, DrmFourcc};
use drm::control::{
    self, atomic, connector, crtc, dumbbuffer::DumbBuffer, framebuffer, plane, property, syncobj,
    AtomicCommitFlags, PageFlipFlags,
};
use drm::node::{DrmNode, NodeType};
use drm::{ClientCapability, DriverCapability, VblankWaitFlags, VblankWaitTarget};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::ioctl::{ioctl, opcode, Opcode, Updater};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

/// An open DRM node, as drm-rs's documentation has it.
struct Card(File);

impl AsFd for Card {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl drm::Device for Card {}
impl control::Device for Card {}

fn open_node(path: &str, flags: i32) -> io::Result<Card> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(flags)
        .open(path)
        .map(Card)
}

/// The kernel's name of an errno; the error kind for an error of drm-rs's
/// own making (no errno).
fn errname(e: &io::Error) -> String {
    let Some(n) = e.raw_os_error() else {
        return format!("{:?}", e.kind());
    };
    let name = match n {
        1 => "EPERM",
        2 => "ENOENT",
        4 => "EINTR",
        5 => "EIO",
        6 => "ENXIO",
        7 => "E2BIG",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
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

/// `ok` or the errno name.
fn rc<T>(r: &io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
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

fn raw(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("nonzero")
}

fn handle_of<T: From<NonZeroU32>>(n: u32) -> T {
    T::from(raw(n))
}

fn fatal(what: &str, e: &io::Error) -> ! {
    println!("FATAL {what}: {}", errname(e));
    std::process::exit(2)
}

/// `DRM_IOCTL_VERSION` and `DRM_IOCTL_GET_UNIQUE` through drm-rs.
fn driver(name: &str, card: &Card) {
    use drm::Device as _;
    match card.get_driver() {
        Ok(d) => println!(
            "{name}: get_driver name {} version {}.{}.{} date {} desc {}",
            d.name().to_string_lossy(),
            d.version.0,
            d.version.1,
            d.version.2,
            d.date().to_string_lossy(),
            d.description().to_string_lossy()
        ),
        Err(e) => println!("{name}: get_driver {}", errname(&e)),
    }
    match card.get_bus_id() {
        Ok(id) => println!("{name}: get_bus_id ok {:?}", id.to_string_lossy()),
        Err(e) => println!("{name}: get_bus_id {}", errname(&e)),
    }
}

const DRIVER_CAPS: &[DriverCapability] = &[
    DriverCapability::DumbBuffer,
    DriverCapability::VBlankHighCRTC,
    DriverCapability::DumbPreferredDepth,
    DriverCapability::DumbPreferShadow,
    DriverCapability::Prime,
    DriverCapability::MonotonicTimestamp,
    DriverCapability::ASyncPageFlip,
    DriverCapability::AtomicASyncPageFlip,
    DriverCapability::CursorWidth,
    DriverCapability::CursorHeight,
    DriverCapability::AddFB2Modifiers,
    DriverCapability::PageFlipTarget,
    DriverCapability::CRTCInVBlankEvent,
    DriverCapability::SyncObj,
    DriverCapability::TimelineSyncObj,
];

fn driver_caps(name: &str, card: &Card) {
    use drm::Device as _;
    for &cap in DRIVER_CAPS {
        match card.get_driver_capability(cap) {
            Ok(v) => println!("{name}: get_driver_capability {cap:?} {v}"),
            Err(e) => println!("{name}: get_driver_capability {cap:?} {}", errname(&e)),
        }
    }
}

fn client_caps(name: &str, card: &Card) {
    use drm::Device as _;
    // Writeback connectors and cursor hotspots need atomic first: asked
    // before and after it.
    for (cap, on) in [
        (ClientCapability::Stereo3D, true),
        (ClientCapability::UniversalPlanes, true),
        (ClientCapability::WritebackConnectors, true),
        (ClientCapability::CursorPlaneHotspot, true),
        (ClientCapability::Atomic, true),
        (ClientCapability::AspectRatio, true),
        (ClientCapability::WritebackConnectors, true),
        (ClientCapability::CursorPlaneHotspot, true),
        (ClientCapability::Stereo3D, false),
        (ClientCapability::UniversalPlanes, false),
        (ClientCapability::Atomic, false),
    ] {
        let r = card.set_client_capability(cap, on);
        println!("{name}: set_client_capability {cap:?} {on} {}", rc(&r));
    }
}

/// Authentication and the master lock: `card` is the first opener of
/// card0 (the master), `other` a second open of card0, `render` renderD128.
#[allow(deprecated)] // generate_auth_token: the primary-node way, still served
fn auth_and_master(card: &Card, other: &Card, render: &Card) {
    use drm::Device as _;
    for (name, c) in [
        ("card0", card),
        ("card0 again", other),
        ("renderD128", render),
    ] {
        match c.authenticated() {
            Ok(a) => println!("{name}: authenticated {}", yesno(a)),
            Err(e) => println!("{name}: authenticated {}", errname(&e)),
        }
    }
    let own = card.generate_auth_token();
    println!("card0: generate_auth_token {}", rc(&own));
    let again = card.generate_auth_token();
    println!(
        "card0: generate_auth_token again {}, same token {}",
        rc(&again),
        yesno(matches!((&own, &again), (Ok(a), Ok(b)) if a == b))
    );
    println!(
        "renderD128: generate_auth_token {}",
        rc(&render.generate_auth_token())
    );
    // Every line is printed whatever came before, so that the outputs align.
    let theirs = other.generate_auth_token();
    println!("card0 again: generate_auth_token {}", rc(&theirs));
    let differs = matches!((&own, &theirs), (Ok(a), Ok(b)) if a != b);
    println!("card0 again: token differs from card0's {}", yesno(differs));
    let auth = |who: &Card, t: &io::Result<drm::AuthToken>| match t {
        Ok(t) => rc(&who.authenticate_auth_token(*t)),
        Err(_) => "no token".to_string(),
    };
    println!(
        "card0 again: authenticate its own token {}",
        auth(other, &theirs)
    );
    println!(
        "renderD128: authenticate card0 again's token {}",
        auth(render, &theirs)
    );
    println!(
        "card0: authenticate card0 again's token {}",
        auth(card, &theirs)
    );
    println!("card0: authenticate it twice {}", auth(card, &theirs));
    match other.authenticated() {
        Ok(a) => println!("card0 again: authenticated {}", yesno(a)),
        Err(e) => println!("card0 again: authenticated {}", errname(&e)),
    }
    println!("card0: authenticate its own token {}", auth(card, &own));

    println!(
        "card0: acquire_master_lock as master {}",
        rc(&card.acquire_master_lock())
    );
    println!(
        "card0 again: acquire_master_lock while card0 is master {}",
        rc(&other.acquire_master_lock())
    );
    println!(
        "card0 again: release_master_lock, not master {}",
        rc(&other.release_master_lock())
    );
    println!(
        "renderD128: acquire_master_lock {}",
        rc(&render.acquire_master_lock())
    );
    println!(
        "renderD128: release_master_lock {}",
        rc(&render.release_master_lock())
    );
    println!(
        "card0: release_master_lock {}",
        rc(&card.release_master_lock())
    );
    println!(
        "card0: release_master_lock again {}",
        rc(&card.release_master_lock())
    );
    println!(
        "card0 again: acquire_master_lock {}",
        rc(&other.acquire_master_lock())
    );
    println!(
        "card0 again: release_master_lock {}",
        rc(&other.release_master_lock())
    );
    println!(
        "card0: acquire_master_lock again {}",
        rc(&card.acquire_master_lock())
    );
}

fn dumb_sizes(card: &Card) {
    use control::Device as _;
    for (w, h, bpp) in [
        (64, 64, 32),
        (1024, 1, 32),
        (1, 1, 8),
        (3, 5, 24),
        (7, 3, 1),
        (4096, 4096, 16),
        (0, 64, 32),
        (64, 0, 32),
        (64, 64, 0),
        (u32::MAX, 1, 8),
        (65536, 65536, 32),
        (u32::MAX, u32::MAX, u32::MAX),
    ] {
        match card.create_dumb_buffer((w, h), DrmFourcc::Xrgb8888, bpp) {
            Ok(b) => {
                let (bw, bh) = b.size();
                println!(
                    "card0: create_dumb_buffer {w}x{h}x{bpp} ok: size {bw}x{bh} pitch {} handle {}",
                    b.pitch(),
                    u32::from(b.handle())
                );
                println!(
                    "card0: destroy_dumb_buffer of it {}",
                    rc(&card.destroy_dumb_buffer(b))
                );
            }
            Err(e) => println!("card0: create_dumb_buffer {w}x{h}x{bpp} {}", errname(&e)),
        }
    }
}

/// The size of a dma-buf: `lseek(SEEK_END)`, as the kernel's dma-buf file
/// answers.
fn dma_buf_size(fd: &OwnedFd) -> String {
    match rustix::fs::seek(fd, rustix::fs::SeekFrom::End(0)) {
        Ok(n) => n.to_string(),
        Err(e) => errname(&e.into()),
    }
}

fn same_file(a: &OwnedFd, b: &OwnedFd) -> bool {
    match (rustix::fs::fstat(a), rustix::fs::fstat(b)) {
        (Ok(x), Ok(y)) => (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino),
        _ => false,
    }
}

/// A shared mapping of `len` bytes of `fd`; `None` after printing why not.
struct Map {
    ptr: *mut std::ffi::c_void,
    len: usize,
}

impl Map {
    fn new(label: &str, fd: BorrowedFd<'_>, len: usize) -> Option<Map> {
        // SAFETY: a new mapping chosen by the kernel, unmapped in drop.
        match unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                0,
            )
        } {
            Ok(ptr) => {
                println!("{label}: mmap shared ok");
                Some(Map { ptr, len })
            }
            Err(e) => {
                println!("{label}: mmap shared {}", errname(&e.into()));
                None
            }
        }
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is `len` bytes, readable and writable, and
        // lives as long as `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.cast(), self.len) }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: our own mapping; no slice of it outlives `self`.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

fn pattern(i: usize) -> u8 {
    (i * 7 + 3) as u8
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ExportSyncFile {
    flags: u32,
    fd: i32,
}

const DMA_BUF_IOCTL_EXPORT_SYNC_FILE: Opcode = opcode::read_write::<ExportSyncFile>(b'b', 2);
const DMA_BUF_SYNC_READ: u32 = 1;
const DMA_BUF_SYNC_WRITE: u32 = 2;

fn export_sync_file(label: &str, buf: &OwnedFd, flags: u32) {
    let mut arg = ExportSyncFile { flags, fd: -1 };
    // SAFETY: the argument of DMA_BUF_IOCTL_EXPORT_SYNC_FILE.
    match unsafe {
        ioctl(
            buf,
            Updater::<DMA_BUF_IOCTL_EXPORT_SYNC_FILE, _>::new(&mut arg),
        )
    } {
        Ok(()) => {
            // SAFETY: the ioctl just installed this fd for us.
            let sync: OwnedFd = unsafe { std::os::fd::FromRawFd::from_raw_fd(arg.fd) };
            let mut fds = [PollFd::new(&sync, PollFlags::IN)];
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let polled = match poll(&mut fds, Some(&zero)) {
                Ok(0) => "none".to_string(),
                Ok(_) if fds[0].revents().contains(PollFlags::IN) => "IN".to_string(),
                Ok(_) => "other".to_string(),
                Err(e) => errname(&e.into()),
            };
            println!("{label}: EXPORT_SYNC_FILE flags {flags} ok, poll {polled}");
        }
        Err(e) => println!(
            "{label}: EXPORT_SYNC_FILE flags {flags} {}",
            errname(&e.into())
        ),
    }
}

/// Dumb buffers, their mapping and PRIME between card0 and renderD128.
fn buffers(card: &Card, render: &Card) {
    use control::Device as _;
    let mut first = card
        .create_dumb_buffer((64, 64), DrmFourcc::Xrgb8888, 32)
        .unwrap_or_else(|e| fatal("create_dumb_buffer 64x64x32", &e));
    println!(
        "card0: create_dumb_buffer 64x64x32 handle {}",
        u32::from(first.handle())
    );
    let second = card
        .create_dumb_buffer((1024, 1), DrmFourcc::Argb8888, 32)
        .unwrap_or_else(|e| fatal("create_dumb_buffer 1024x1x32", &e));
    println!(
        "card0: create_dumb_buffer 1024x1x32 handle {}",
        u32::from(second.handle())
    );
    let on_render = render.create_dumb_buffer((64, 64), DrmFourcc::Xrgb8888, 32);
    println!("renderD128: create_dumb_buffer {}", rc(&on_render));

    // The DRM fd's own mapping (DRM_IOCTL_MODE_MAP_DUMB, then mmap).
    match card.map_dumb_buffer(&mut first) {
        Ok(mut m) => {
            println!("card0: map_dumb_buffer ok, {} bytes", m.len());
            for (i, b) in m.iter_mut().enumerate() {
                *b = pattern(i);
            }
            let back = m.iter().enumerate().all(|(i, &b)| b == pattern(i));
            println!("card0: dumb mapping reads back its writes {}", yesno(back));
        }
        Err(e) => println!("card0: map_dumb_buffer {}", errname(&e)),
    }

    // PRIME export, import on both nodes.
    let flags = drm::CLOEXEC | drm::RDWR;
    let prime = card
        .buffer_to_prime_fd(second.handle(), flags)
        .unwrap_or_else(|e| fatal("buffer_to_prime_fd", &e));
    println!(
        "card0: buffer_to_prime_fd ok, size {}",
        dma_buf_size(&prime)
    );
    let again = card.buffer_to_prime_fd(second.handle(), flags);
    println!(
        "card0: buffer_to_prime_fd again {}, same dma-buf {}",
        rc(&again),
        yesno(again.as_ref().is_ok_and(|a| same_file(a, &prime)))
    );
    let first_prime = card.buffer_to_prime_fd(first.handle(), drm::CLOEXEC);
    println!(
        "card0: buffer_to_prime_fd of the first without RDWR {}, same dma-buf {}",
        rc(&first_prime),
        yesno(first_prime.as_ref().is_ok_and(|a| same_file(a, &prime)))
    );
    match card.prime_fd_to_buffer(prime.as_fd()) {
        Ok(h) => println!(
            "card0: prime_fd_to_buffer ok, the same handle {}",
            yesno(h == second.handle())
        ),
        Err(e) => println!("card0: prime_fd_to_buffer {}", errname(&e)),
    }
    let imported = render.prime_fd_to_buffer(prime.as_fd());
    match &imported {
        Ok(h) => println!(
            "renderD128: prime_fd_to_buffer ok, handle {}",
            u32::from(*h)
        ),
        Err(e) => println!("renderD128: prime_fd_to_buffer {}", errname(e)),
    }
    if let Ok(h) = imported {
        let twice = render.prime_fd_to_buffer(prime.as_fd());
        println!(
            "renderD128: prime_fd_to_buffer again {}, the same handle {}",
            rc(&twice),
            yesno(twice.as_ref().is_ok_and(|t| *t == h))
        );
        let back = render.buffer_to_prime_fd(h, flags);
        println!(
            "renderD128: buffer_to_prime_fd of the import {}, the same dma-buf {}",
            rc(&back),
            yesno(back.as_ref().is_ok_and(|b| same_file(b, &prime)))
        );
    }
    println!(
        "card0: buffer_to_prime_fd of handle 999 {}",
        rc(&card.buffer_to_prime_fd(handle_of(999), flags))
    );
    println!(
        "card0: buffer_to_prime_fd flags 0x1 {}",
        rc(&card.buffer_to_prime_fd(second.handle(), 0x1))
    );
    println!(
        "card0: prime_fd_to_buffer of the card0 fd {}",
        rc(&card.prime_fd_to_buffer(card.as_fd()))
    );

    // The PRIME fd's mapping.
    let len = 4096;
    if let Some(mut m) = Map::new("prime fd", prime.as_fd(), len) {
        for (i, b) in m.bytes().iter_mut().enumerate() {
            *b = pattern(i);
        }
        let ok = m.bytes().iter().enumerate().all(|(i, &b)| b == pattern(i));
        println!("prime fd: mapping reads back its writes {}", yesno(ok));
    }
    if let Ok(fd) = &again {
        if let Some(mut m) = Map::new("prime fd again", fd.as_fd(), len) {
            let ok = m.bytes().iter().enumerate().all(|(i, &b)| b == pattern(i));
            println!(
                "prime fd again: a new mapping sees the writes {}",
                yesno(ok)
            );
        }
    }
    export_sync_file("prime fd", &prime, DMA_BUF_SYNC_READ);
    export_sync_file("prime fd", &prime, DMA_BUF_SYNC_WRITE);
    export_sync_file("prime fd", &prime, 0);

    // Closing handles.
    if let Ok(h) = imported {
        println!("renderD128: close_buffer {}", rc(&render.close_buffer(h)));
        println!(
            "renderD128: close_buffer again {}",
            rc(&render.close_buffer(h))
        );
    }
    println!(
        "card0: close_buffer of the first {}",
        rc(&card.close_buffer(first.handle()))
    );
    println!(
        "card0: destroy_dumb_buffer of the closed first {}",
        rc(&card.destroy_dumb_buffer(first))
    );
    println!(
        "card0: map_dumb_buffer of the closed first {}",
        rc(&card.map_dumb_buffer(&mut first).map(|_| ()))
    );
    println!(
        "card0: destroy_dumb_buffer of the second {}",
        rc(&card.destroy_dumb_buffer(second))
    );
    println!(
        "card0: destroy_dumb_buffer of the second again {}",
        rc(&card.destroy_dumb_buffer(second))
    );
    println!(
        "card0: close_buffer of the destroyed second {}",
        rc(&card.close_buffer(second.handle()))
    );
    if let Some(mut m) = Map::new("prime fd after the handles went", prime.as_fd(), len) {
        let ok = m.bytes().iter().enumerate().all(|(i, &b)| b == pattern(i));
        println!(
            "prime fd after the handles went: the data is there {}",
            yesno(ok)
        );
    }
    match card.prime_fd_to_buffer(prime.as_fd()) {
        Ok(h) => println!(
            "card0: prime_fd_to_buffer after close ok, handle {}",
            u32::from(h)
        ),
        Err(e) => println!("card0: prime_fd_to_buffer after close {}", errname(&e)),
    }
    let third = card.create_dumb_buffer((16, 16), DrmFourcc::Xrgb8888, 32);
    match &third {
        Ok(b) => println!(
            "card0: create_dumb_buffer after close ok, handle {}",
            u32::from(b.handle())
        ),
        Err(e) => println!("card0: create_dumb_buffer after close {}", errname(e)),
    }
}

/// Every syncobj call of drm-rs: vgem has no DRIVER_SYNCOBJ.
fn syncobjs(name: &str, card: &Card, some_fd: BorrowedFd<'_>) {
    use control::Device as _;
    let h: syncobj::Handle = handle_of(1);
    println!("{name}: create_syncobj {}", rc(&card.create_syncobj(false)));
    println!(
        "{name}: create_syncobj signalled {}",
        rc(&card.create_syncobj(true))
    );
    println!("{name}: destroy_syncobj {}", rc(&card.destroy_syncobj(h)));
    println!(
        "{name}: syncobj_to_fd {}",
        rc(&card.syncobj_to_fd(h, false))
    );
    println!(
        "{name}: syncobj_to_fd sync file {}",
        rc(&card.syncobj_to_fd(h, true))
    );
    println!(
        "{name}: fd_to_syncobj {}",
        rc(&card.fd_to_syncobj(some_fd, false))
    );
    println!(
        "{name}: fd_to_syncobj sync file {}",
        rc(&card.fd_to_syncobj(some_fd, true))
    );
    println!(
        "{name}: syncobj_wait {}",
        rc(&card.syncobj_wait(&[h], 0, true, false))
    );
    println!("{name}: syncobj_reset {}", rc(&card.syncobj_reset(&[h])));
    println!("{name}: syncobj_signal {}", rc(&card.syncobj_signal(&[h])));
    println!(
        "{name}: syncobj_timeline_wait {}",
        rc(&card.syncobj_timeline_wait(&[h], &[1], 0, true, false, false))
    );
    let mut points = [0u64];
    println!(
        "{name}: syncobj_timeline_query {}",
        rc(&card.syncobj_timeline_query(&[h], &mut points, false))
    );
    println!(
        "{name}: syncobj_timeline_transfer {}",
        rc(&card.syncobj_timeline_transfer(h, h, 1, 2))
    );
    println!(
        "{name}: syncobj_timeline_signal {}",
        rc(&card.syncobj_timeline_signal(&[h], &[1]))
    );
    match rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC) {
        Ok(efd) => println!(
            "{name}: syncobj_eventfd {}",
            rc(&card.syncobj_eventfd(h, 1, efd.as_fd(), false))
        ),
        Err(e) => println!("{name}: eventfd {}", errname(&e.into())),
    }
}

/// Every mode-setting call of drm-rs: vgem has no DRIVER_MODESET.
#[allow(deprecated)] // the legacy cursor calls are still served
fn modesetting(name: &str, card: &Card) {
    use control::Device as _;
    use drm::Device as _;
    let crtc: crtc::Handle = handle_of(1);
    let conn: connector::Handle = handle_of(1);
    let fb: framebuffer::Handle = handle_of(1);
    let pl: plane::Handle = handle_of(1);
    let prop: property::Handle = handle_of(1);
    let calls: Vec<(&str, io::Result<()>)> = vec![
        ("resource_handles", card.resource_handles().map(|_| ())),
        ("plane_handles", card.plane_handles().map(|_| ())),
        ("get_connector", card.get_connector(conn, false).map(|_| ())),
        ("get_encoder", card.get_encoder(handle_of(1)).map(|_| ())),
        ("get_crtc", card.get_crtc(crtc).map(|_| ())),
        ("set_crtc", card.set_crtc(crtc, None, (0, 0), &[], None)),
        ("get_framebuffer", card.get_framebuffer(fb).map(|_| ())),
        (
            "get_planar_framebuffer",
            card.get_planar_framebuffer(fb)
                .map(|_| ())
                .map_err(|e| match e {
                    control::GetPlanarFramebufferError::Io(e) => e,
                    other => io::Error::other(other.to_string()),
                }),
        ),
        ("dirty_framebuffer", card.dirty_framebuffer(fb, &[])),
        ("destroy_framebuffer", card.destroy_framebuffer(fb)),
        ("get_plane", card.get_plane(pl).map(|_| ())),
        (
            "set_plane",
            card.set_plane(pl, crtc, None, 0, (0, 0, 1, 1), (0, 0, 1, 1)),
        ),
        ("get_property", card.get_property(prop).map(|_| ())),
        ("set_property", card.set_property(crtc, prop, 0)),
        (
            "create_property_blob",
            card.create_property_blob(&[0u32; 4]).map(|_| ()),
        ),
        ("get_property_blob", card.get_property_blob(1).map(|_| ())),
        ("destroy_property_blob", card.destroy_property_blob(1)),
        ("get_modes", card.get_modes(conn).map(|_| ())),
        ("get_properties", card.get_properties(crtc).map(|_| ())),
        (
            "get_gamma",
            card.get_gamma(crtc, &mut [0; 256], &mut [0; 256], &mut [0; 256]),
        ),
        (
            "set_gamma",
            card.set_gamma(crtc, &[0; 256], &[0; 256], &[0; 256]),
        ),
        ("set_cursor", card.set_cursor::<DumbBuffer>(crtc, None)),
        (
            "set_cursor2",
            card.set_cursor2::<DumbBuffer>(crtc, None, (0, 0)),
        ),
        ("move_cursor", card.move_cursor(crtc, (0, 0))),
        (
            "page_flip",
            card.page_flip(crtc, fb, PageFlipFlags::EVENT, None),
        ),
        (
            "atomic_commit",
            card.atomic_commit(AtomicCommitFlags::TEST_ONLY, atomic::AtomicModeReq::new()),
        ),
        ("create_lease", card.create_lease(&[raw(1)], 0).map(|_| ())),
        ("list_lessees", card.list_lessees().map(|_| ())),
        ("revoke_lease", card.revoke_lease(raw(1))),
        (
            "wait_vblank",
            card.wait_vblank(
                VblankWaitTarget::Relative(0),
                VblankWaitFlags::empty(),
                0,
                0,
            )
            .map(|_| ()),
        ),
    ];
    for (call, r) in calls {
        println!("{name}: {call} {}", rc(&r));
    }
    if let Ok(b) = card.create_dumb_buffer((64, 64), DrmFourcc::Xrgb8888, 32) {
        println!(
            "{name}: add_framebuffer of a dumb buffer {}",
            rc(&card.add_framebuffer(&b, 24, 32))
        );
        let _ = card.destroy_dumb_buffer(b);
    }
}

/// `receive_events`: a read of the DRM fd, on a non-blocking open with no
/// event queued.
fn events() {
    use control::Device as _;
    match open_node("/dev/dri/card0", rustix::fs::OFlags::NONBLOCK.bits() as i32) {
        Ok(c) => match c.receive_events() {
            Ok(ev) => println!(
                "card0 non-blocking: receive_events ok, {} events",
                ev.count()
            ),
            Err(e) => println!("card0 non-blocking: receive_events {}", errname(&e)),
        },
        Err(e) => println!("card0 non-blocking: open {}", errname(&e)),
    }
}

/// One line per node: what drm-rs found, or why it refused.
fn show_node(label: &str, r: Result<DrmNode, drm::node::CreateDrmNodeError>) {
    let n = match r {
        Ok(n) => n,
        Err(drm::node::CreateDrmNodeError::Io(e)) => return println!("{label}: {}", errname(&e)),
        Err(e) => return println!("{label}: {e:?}"),
    };
    let path = |p: Option<std::path::PathBuf>| match p {
        Some(p) => p.display().to_string(),
        None => "none".to_string(),
    };
    let render = match n.node_with_type(NodeType::Render) {
        Some(Ok(r)) => r.to_string(),
        Some(Err(e)) => format!("{e:?}"),
        None => "none".to_string(),
    };
    println!(
        "{label}: ok {n} ty {:?} {}:{} dev_path {} primary {} control {} render {} has_render {} node_with_type Render {render}",
        n.ty(),
        n.major(),
        n.minor(),
        path(n.dev_path()),
        path(n.dev_path_with_type(NodeType::Primary)),
        path(n.dev_path_with_type(NodeType::Control)),
        path(n.dev_path_with_type(NodeType::Render)),
        yesno(n.has_render()),
    );
}

/// drm-rs's `DrmNode`: fstat/stat for the device number, then
/// /sys/dev/char/MAJ:MIN/device/drm (stat, and a listing for the paths).
fn nodes(card: &Card, render: &Card, other: BorrowedFd<'_>) {
    show_node("DrmNode::from_file card0", DrmNode::from_file(card.as_fd()));
    show_node(
        "DrmNode::from_file renderD128",
        DrmNode::from_file(render.as_fd()),
    );
    show_node(
        "DrmNode::from_path /dev/dri/renderD128",
        DrmNode::from_path("/dev/dri/renderD128"),
    );
    show_node(
        "DrmNode::from_dev_id 226:0",
        DrmNode::from_dev_id(rustix::fs::makedev(226, 0)),
    );
    show_node("DrmNode::from_file a dma-buf", DrmNode::from_file(other));
    show_node(
        "DrmNode::from_path /dev/null",
        DrmNode::from_path("/dev/null"),
    );
    println!(
        "is_device_drm 226:128 {}",
        yesno(drm::node::is_device_drm(rustix::fs::makedev(226, 128)))
    );
    println!(
        "path_to_type /dev/dri/card0 Render {:?}",
        drm::node::path_to_type("/dev/dri/card0", NodeType::Render).map_err(|e| errname(&e))
    );
}

fn main() {
    let card = match open_node("/dev/dri/card0", 0) {
        Ok(c) => c,
        Err(e) => fatal("open /dev/dri/card0", &e),
    };
    println!("open /dev/dri/card0 ok");
    let render = match open_node("/dev/dri/renderD128", 0) {
        Ok(c) => c,
        Err(e) => fatal("open /dev/dri/renderD128", &e),
    };
    println!("open /dev/dri/renderD128 ok");
    let other = match open_node("/dev/dri/card0", 0) {
        Ok(c) => c,
        Err(e) => fatal("open /dev/dri/card0 again", &e),
    };
    println!("open /dev/dri/card0 again ok");

    driver("card0", &card);
    driver("renderD128", &render);
    driver_caps("card0", &card);
    driver_caps("renderD128", &render);
    client_caps("card0", &card);
    client_caps("renderD128", &render);
    auth_and_master(&card, &other, &render);
    dumb_sizes(&card);
    buffers(&card, &render);
    let dma_buf = {
        use control::Device as _;
        let b = card
            .create_dumb_buffer((8, 8), DrmFourcc::Xrgb8888, 32)
            .unwrap_or_else(|e| fatal("create_dumb_buffer 8x8x32", &e));
        card.buffer_to_prime_fd(b.handle(), drm::CLOEXEC | drm::RDWR)
            .unwrap_or_else(|e| fatal("buffer_to_prime_fd", &e))
    };
    syncobjs("card0", &card, dma_buf.as_fd());
    syncobjs("renderD128", &render, dma_buf.as_fd());
    modesetting("card0", &card);
    modesetting("renderD128", &render);
    events();
    nodes(&card, &render, dma_buf.as_fd());
}
