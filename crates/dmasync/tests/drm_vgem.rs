//! The vgem device: the DRM dispatcher rules (kernel-spec §8.5), GEM handles
//! and dumb buffers, GET_CAP / VERSION, and vgem's fences (the 6.12 errata's
//! vgem section, kernel-behaviour.md). Tests named `vgem_basic_*` /
//! `vgem_slow_*` mirror the IGT subtests of tests/vgem_basic.c and
//! vgem_slow.c.

use std::collections::BTreeMap;
use std::time::Duration;

use std::sync::Arc;

use dmasync::buf::{heap, DmaBuf, Events, O_ACCMODE, O_RDONLY, O_RDWR};
use dmasync::drm::gem::PAGE_SIZE;
use dmasync::drm::vgem::dumb_layout;
use dmasync::drm::{Caller, Device, DrmFile, NoMemory, Reply};
use dmasync::error::errno::*;
use dmasync::uapi::drm::*;
use dmasync::uapi::ioctl::{ior, iow, iowr};
use dmasync::{Error, Usage};

/// Sends `arg` as the argument of `cmd` and returns the reply.
fn call(file: &DrmFile, cmd: u32, arg: &[u8]) -> Reply {
    file.ioctl(cmd, arg, &mut NoMemory)
}

fn create_dumb(file: &DrmFile, width: u32, height: u32, bpp: u32) -> (i32, DrmModeCreateDumb) {
    let arg = DrmModeCreateDumb {
        width,
        height,
        bpp,
        ..Default::default()
    };
    let r = call(file, DRM_IOCTL_MODE_CREATE_DUMB, &arg.to_bytes());
    (r.ret(), DrmModeCreateDumb::from_bytes(&r.out).unwrap())
}

fn dumb(file: &DrmFile) -> u32 {
    let (ret, out) = create_dumb(file, 64, 64, 32);
    assert_eq!(ret, 0);
    out.handle
}

fn attach(file: &DrmFile, handle: u32, flags: u32) -> (i32, u32) {
    attach_pad(file, handle, flags, 0)
}

fn attach_pad(file: &DrmFile, handle: u32, flags: u32, pad: u32) -> (i32, u32) {
    let arg = DrmVgemFenceAttach {
        handle,
        flags,
        out_fence: 0,
        pad,
    };
    let r = call(file, DRM_IOCTL_VGEM_FENCE_ATTACH, &arg.to_bytes());
    (
        r.ret(),
        DrmVgemFenceAttach::from_bytes(&r.out).unwrap().out_fence,
    )
}

fn signal(file: &DrmFile, fence: u32, flags: u32) -> i32 {
    let arg = DrmVgemFenceSignal { fence, flags };
    let r = call(file, DRM_IOCTL_VGEM_FENCE_SIGNAL, &arg.to_bytes());
    assert!(r.out.is_empty(), "SIGNAL is _IOW: nothing is copied back");
    r.ret()
}

fn get_cap(file: &DrmFile, cap: u64) -> (i32, u64) {
    let arg = DrmGetCap {
        capability: cap,
        value: 0xdead,
    };
    let r = call(file, DRM_IOCTL_GET_CAP, &arg.to_bytes());
    (r.ret(), DrmGetCap::from_bytes(&r.out).unwrap().value)
}

// ---------------------------------------------------------------- dispatcher

#[test]
fn dispatcher_unknown_type_is_enotty() {
    let dev = Device::new();
    let f = dev.open(true);
    let cmd = iowr(b'>', 3, 16); // SYNC_IOC_MERGE's family
    let r = call(&f, cmd, &[0; 16]);
    assert_eq!(r.ret(), -ENOTTY);
    assert!(r.out.is_empty());
}

#[test]
fn dispatcher_core_nr_without_handler_or_out_of_range_is_einval() {
    let dev = Device::new();
    let f = dev.open(false);
    for nr in [0x0Eu8, 0x30, 0xD1, 0xE0, 0xFF] {
        let r = call(&f, iowr(b'd', nr, 16), &[0; 16]);
        assert_eq!(r.ret(), -EINVAL, "nr {nr:#x}");
        assert!(
            r.out.is_empty(),
            "nothing copied back before a handler is found"
        );
    }
}

/// The legacy ioctls 6.12 keeps (drm_ioctls[]): GET_STATS zeroes its
/// argument for anyone on the primary node; the no-ops succeed once their
/// flags permit (ROOT_ONLY ones for a privileged master, FINISH for an
/// authenticated file); SET_UNIQUE is EINVAL once permitted; all are
/// EACCES on the render node. The other legacy numbers have no handler.
#[test]
fn dispatcher_legacy_ioctls_kept_by_6_12() {
    let dev = Device::new();
    let root = dev.open_with(false, true);
    let user = dev.open_with(false, false);
    let render = dev.open(true);
    let stats = call(&root, ior(b'd', 0x06, 248), &[0xAA; 248]);
    assert_eq!(stats.ret(), 0);
    assert_eq!(stats.out, vec![0; 248], "GET_STATS zeroes the whole struct");
    assert_eq!(call(&user, ior(b'd', 0x06, 248), &[0; 248]).ret(), 0);
    let noops: [(u32, usize); 8] = [
        (iowr(b'd', 0x12, 4), 4),
        (iowr(b'd', 0x13, 4), 4),
        (iowr(b'd', 0x27, 4), 4),
        (iowr(b'd', 0x28, 4), 4),
        (iow(b'd', 0x2C, 8), 8),
        (iow(b'd', 0x3F, 24), 24),
        (iowr(b'd', 0xA8, 72), 72),
        (iowr(b'd', 0xA9, 72), 72),
    ];
    for (cmd, size) in noops {
        assert_eq!(call(&root, cmd, &vec![7; size]).ret(), 0, "{cmd:#x}");
        assert_eq!(
            call(&render, cmd, &vec![7; size]).ret(),
            -EACCES,
            "{cmd:#x}"
        );
    }
    let draw = call(&root, iowr(b'd', 0x27, 4), &[5, 0, 0, 0]);
    assert_eq!(
        draw.out,
        vec![5, 0, 0, 0],
        "ADD_DRAW copies its argument back"
    );
    // ROOT_ONLY: a file opened without CAP_SYS_ADMIN, master or not.
    assert_eq!(call(&user, iowr(b'd', 0x27, 4), &[0; 4]).ret(), -EACCES);
    // FINISH is DRM_AUTH only: the first opener is master, so authenticated.
    assert_eq!(call(&root, iow(b'd', 0x2C, 8), &[0; 8]).ret(), 0);
    assert_eq!(call(&root, iow(b'd', 0x10, 16), &[0; 16]).ret(), -EINVAL);
    assert_eq!(call(&render, iow(b'd', 0x10, 16), &[0; 16]).ret(), -EACCES);
    // Contexts, maps, LOCK, CONTROL: no handler.
    for nr in [0x20u8, 0x15, 0x2A, 0x14, 0x1A] {
        assert_eq!(
            call(&root, iowr(b'd', nr, 8), &[0; 8]).ret(),
            -EINVAL,
            "nr {nr:#x}"
        );
    }
}

#[test]
fn dispatcher_driver_nr_past_table_or_empty_slot_is_einval() {
    let dev = Device::new();
    let f = dev.open(true);
    for nr in [0x40u8, 0x43, 0x50, 0x9F] {
        let r = call(&f, iowr(b'd', nr, 16), &[0; 16]);
        assert_eq!(r.ret(), -EINVAL, "nr {nr:#x}");
        assert!(r.out.is_empty());
    }
}

#[test]
fn dispatcher_selects_by_type_and_nr_only() {
    let dev = Device::new();
    let f = dev.open(true);
    // GET_CAP's nr with a size of 32 and trailing garbage: the first 16
    // bytes are the kernel's struct; the rest comes back as it was sent.
    let mut arg = DrmGetCap {
        capability: DRM_CAP_PRIME,
        value: 7,
    }
    .to_bytes()
    .to_vec();
    arg.extend_from_slice(&[0xAB; 16]);
    let r = call(&f, iowr(b'd', 0x0C, 32), &arg);
    assert_eq!(r.ret(), 0);
    assert_eq!(r.out.len(), 32);
    assert_eq!(DrmGetCap::from_bytes(&r.out).unwrap().value, 3);
    assert_eq!(&r.out[16..], &[0xAB; 16]);
}

#[test]
fn dispatcher_short_struct_is_zero_filled_and_copied_back_short() {
    let dev = Device::new();
    let f = dev.open(true);
    let card = dev.open_with(false, true);
    let h = dumb(&card);
    // An 8-byte FENCE_ATTACH (handle, flags): pad reads as zero, so it
    // succeeds; out_fence is past the user's size and not copied back.
    let arg = &DrmVgemFenceAttach {
        handle: h,
        flags: VGEM_FENCE_WRITE,
        out_fence: 0,
        pad: 0,
    }
    .to_bytes()[..8];
    let r = call(&card, iowr(b'd', 0x41, 8), arg);
    assert_eq!(r.ret(), 0);
    assert_eq!(r.out, arg);
    assert!(card.fence(1).is_some(), "the fence was registered as id 1");
    // A 8-byte GET_CAP: value is zero-filled and not returned.
    let r = call(&f, iowr(b'd', 0x0C, 8), &DRM_CAP_PRIME.to_ne_bytes());
    assert_eq!(r.ret(), 0);
    assert_eq!(r.out, DRM_CAP_PRIME.to_ne_bytes());
}

#[test]
fn dispatcher_direction_bits_gate_the_copies() {
    let dev = Device::new();
    let f = dev.open(true);
    let arg = DrmGetCap {
        capability: DRM_CAP_TIMESTAMP_MONOTONIC,
        value: 0,
    }
    .to_bytes();
    // _IOW: copied in, not back.
    let r = call(&f, iow(b'd', 0x0C, 16), &arg);
    assert_eq!(r.ret(), 0);
    assert!(r.out.is_empty());
    // _IOR: nothing copied in; the handler sees capability 0 (unknown ->
    // EOPNOTSUPP on vgem) and the zeroed value comes back.
    let r = call(&f, ior(b'd', 0x0C, 16), &[]);
    assert_eq!(r.ret(), -EOPNOTSUPP);
    assert_eq!(r.out, [0u8; 16]);
}

#[test]
fn dispatcher_copies_back_after_a_failed_handler() {
    let dev = Device::new();
    let f = dev.open(true);
    let arg = DrmVgemFenceAttach {
        handle: 5,
        flags: 0x10,
        out_fence: 0x1234,
        pad: 0,
    }
    .to_bytes();
    let r = call(&f, DRM_IOCTL_VGEM_FENCE_ATTACH, &arg);
    assert_eq!(r.ret(), -EINVAL);
    assert_eq!(r.out, arg, "the argument comes back unchanged");
}

#[test]
fn dispatcher_permission_error_copies_back() {
    let dev = Device::new();
    let f = dev.open(true);
    let arg = DrmModeCreateDumb {
        width: 8,
        height: 8,
        bpp: 32,
        handle: 9,
        ..Default::default()
    }
    .to_bytes();
    let r = call(&f, DRM_IOCTL_MODE_CREATE_DUMB, &arg);
    assert_eq!(r.ret(), -EACCES);
    assert_eq!(r.out, arg);
    assert_eq!(f.handle_count(), 0);
}

#[test]
fn dispatcher_short_user_buffer_is_efault() {
    let dev = Device::new();
    let f = dev.open(true);
    let r = call(&f, DRM_IOCTL_GET_CAP, &[0; 8]);
    assert_eq!(r.ret(), -EFAULT);
    assert!(r.out.is_empty());
}

#[test]
fn syncobj_ioctls_are_eopnotsupp_on_both_nodes() {
    let dev = Device::new();
    for render in [false, true] {
        let f = dev.open(render);
        for d in dmasync::uapi::drm::IOCTLS
            .iter()
            .filter(|d| d.name.starts_with("DRM_IOCTL_SYNCOBJ"))
        {
            let size = dmasync::uapi::ioctl::ioc_size(d.cmd);
            let r = call(&f, d.cmd, &vec![0; size]);
            assert_eq!(r.ret(), -EOPNOTSUPP, "{}", d.name);
        }
    }
}

/// vgem has no DRIVER_MODESET: every mode-setting handler answers
/// EOPNOTSUPP once the permission check (DRM_MASTER, no DRM_RENDER_ALLOW)
/// has passed.
#[test]
fn mode_setting_ioctls_are_eopnotsupp_after_the_permission_check() {
    use dmasync::drm::{Op, CORE_IOCTLS, DRM_MASTER};
    let dev = Device::new();
    let master = dev.open(false);
    let other = dev.open(false);
    let render = dev.open(true);
    let mode: Vec<_> = CORE_IOCTLS
        .iter()
        .filter(|d| d.op == Op::NoModeset)
        .collect();
    assert!(mode.len() > 30);
    let getfb2 = DRM_IOCTL_BASE as u32 * 256 + 0xCE;
    let d = CORE_IOCTLS
        .iter()
        .find(|d| d.cmd & 0xFFFF == getfb2)
        .unwrap();
    let arg = vec![0; 104];
    assert_eq!(call(&master, d.cmd, &arg).ret(), -EINVAL, "GETFB2");
    assert_eq!(call(&render, d.cmd, &arg).ret(), -EACCES, "GETFB2");
    for d in mode {
        let arg = vec![0; dmasync::uapi::ioctl::ioc_size(d.cmd)];
        assert_eq!(call(&master, d.cmd, &arg).ret(), -EOPNOTSUPP, "{}", d.name);
        let want = if d.flags & DRM_MASTER != 0 {
            -EACCES
        } else {
            -EOPNOTSUPP
        };
        assert_eq!(call(&other, d.cmd, &arg).ret(), want, "{}", d.name);
        assert_eq!(call(&render, d.cmd, &arg).ret(), -EACCES, "{}", d.name);
    }
}

// ---------------------------------------------------------------- VERSION

/// A caller whose memory is a set of buffers at fixed addresses.
#[derive(Default)]
struct Buffers(BTreeMap<u64, Vec<u8>>);

impl Caller for Buffers {
    fn write_user(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Error> {
        let buf = self.0.get_mut(&addr).ok_or(Error::Fault)?;
        if bytes.len() > buf.len() {
            return Err(Error::Fault);
        }
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(())
    }
}

fn version(f: &DrmFile, arg: DrmVersion, mem: &mut Buffers) -> (i32, DrmVersion) {
    let r = f.ioctl(DRM_IOCTL_VERSION, &arg.to_bytes(), mem);
    (r.ret(), DrmVersion::from_bytes(&r.out).unwrap())
}

#[test]
fn version_two_call_protocol() {
    let dev = Device::new();
    let f = dev.open(true);
    let mut mem = Buffers::default();
    let (ret, v) = version(&f, DrmVersion::default(), &mut mem);
    assert_eq!(ret, 0);
    assert_eq!(
        (v.version_major, v.version_minor, v.version_patchlevel),
        (1, 0, 0)
    );
    assert_eq!((v.name_len, v.date_len, v.desc_len), (4, 1, 20));

    mem.0.insert(0x1000, vec![0; 4]);
    mem.0.insert(0x2000, vec![0; 1]);
    mem.0.insert(0x3000, vec![0; 20]);
    let arg = DrmVersion {
        name: 0x1000,
        name_len: 4,
        date: 0x2000,
        date_len: 1,
        desc: 0x3000,
        desc_len: 20,
        ..Default::default()
    };
    let (ret, _) = version(&f, arg, &mut mem);
    assert_eq!(ret, 0);
    assert_eq!(mem.0[&0x1000], b"vgem");
    assert_eq!(mem.0[&0x2000], b"0", "6.12.117 dropped the driver dates");
    assert_eq!(mem.0[&0x3000], b"Virtual GEM provider");
}

#[test]
fn version_truncates_to_the_user_length_and_reports_the_full_one() {
    let dev = Device::new();
    let f = dev.open(false);
    let mut mem = Buffers::default();
    mem.0.insert(0x1000, vec![b'-'; 4]);
    let arg = DrmVersion {
        name: 0x1000,
        name_len: 2,
        date: 0, // null pointer with a length: nothing is written
        date_len: 3,
        ..Default::default()
    };
    let (ret, v) = version(&f, arg, &mut mem);
    assert_eq!(ret, 0);
    assert_eq!(mem.0[&0x1000], b"vg--", "no NUL appended");
    assert_eq!((v.name_len, v.date_len, v.desc_len), (4, 1, 20));
}

#[test]
fn version_bad_pointer_is_efault_and_stops() {
    let dev = Device::new();
    let f = dev.open(true);
    let mut mem = Buffers::default();
    let arg = DrmVersion {
        name_len: 0,
        date: 0xbad,
        date_len: 8,
        desc_len: 1,
        ..Default::default()
    };
    let (ret, v) = version(&f, arg, &mut mem);
    assert_eq!(ret, -EFAULT);
    assert_eq!(v.name_len, 4, "the fields before the fault were filled");
    assert_eq!(v.desc_len, 1, "the fields after it were not");
}

// ---------------------------------------------------------------- GET_CAP

#[test]
fn get_cap_values_of_vgem() {
    let dev = Device::new();
    for render in [false, true] {
        let f = dev.open(render);
        assert_eq!(get_cap(&f, DRM_CAP_TIMESTAMP_MONOTONIC), (0, 1));
        assert_eq!(
            get_cap(&f, DRM_CAP_PRIME),
            (0, DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT)
        );
        assert_eq!(get_cap(&f, DRM_CAP_SYNCOBJ), (0, 0));
        assert_eq!(get_cap(&f, DRM_CAP_SYNCOBJ_TIMELINE), (0, 0));
        // vgem has no DRIVER_MODESET: every other capability, known or not,
        // is EOPNOTSUPP, and the value was zeroed first.
        for cap in [
            DRM_CAP_DUMB_BUFFER,
            DRM_CAP_DUMB_PREFERRED_DEPTH,
            DRM_CAP_CURSOR_WIDTH,
            DRM_CAP_ADDFB2_MODIFIERS,
            0,
            0x99,
            u64::MAX,
        ] {
            assert_eq!(get_cap(&f, cap), (-EOPNOTSUPP, 0), "cap {cap:#x}");
        }
    }
}

// ---------------------------------------------------------------- dumb buffers

#[test]
fn vgem_basic_create() {
    let dev = Device::new();
    let f = dev.open(false);
    let (ret, a) = create_dumb(&f, 64, 64, 32);
    assert_eq!(ret, 0);
    assert_eq!((a.handle, a.pitch, a.size), (1, 256, 16384));
    let (ret, b) = create_dumb(&f, 3, 1, 12);
    assert_eq!(ret, 0);
    assert_eq!(b.handle, 2);
    assert_eq!(b.pitch, 5, "pitch is ceil(width * bpp / 8)");
    assert_eq!(b.size, PAGE_SIZE);
    let obj = f.lookup(1).unwrap();
    assert_eq!(obj.size(), 16384);
    let st = rustix::fs::fstat(obj.memfd().unwrap()).unwrap();
    assert_eq!(
        st.st_size as u64, 16384,
        "the memory is a memfd of the object's size"
    );
}

#[test]
fn create_dumb_ignores_garbage_in_outputs_and_flags() {
    let dev = Device::new();
    let f = dev.open(false);
    let arg = DrmModeCreateDumb {
        width: 10,
        height: 10,
        bpp: 8,
        flags: 0xffff,
        handle: 77,
        pitch: 1,
        size: 1,
    };
    let r = call(&f, DRM_IOCTL_MODE_CREATE_DUMB, &arg.to_bytes());
    assert_eq!(r.ret(), 0);
    let out = DrmModeCreateDumb::from_bytes(&r.out).unwrap();
    assert_eq!((out.handle, out.pitch, out.size), (1, 10, PAGE_SIZE));
}

#[test]
fn create_dumb_rejects_zero_and_overflow_with_zeroed_outputs() {
    let dev = Device::new();
    let f = dev.open(false);
    let cases = [
        (0, 1, 32),
        (1, 0, 32),
        (1, 1, 0),
        (1, 1, u32::MAX - 7),   // bpp > U32_MAX - 8
        (u32::MAX, 1, 16),      // cpp * width overflows
        (0x1000_0000, 0x10, 8), // stride * height overflows
        (0xFFFF_F001, 1, 8),    // page-rounded size wraps to 0
    ];
    for (w, h, bpp) in cases {
        let arg = DrmModeCreateDumb {
            width: w,
            height: h,
            bpp,
            handle: 5,
            pitch: 6,
            size: 7,
            ..Default::default()
        };
        let r = call(&f, DRM_IOCTL_MODE_CREATE_DUMB, &arg.to_bytes());
        assert_eq!(r.ret(), -EINVAL, "{w}x{h}x{bpp}");
        let out = DrmModeCreateDumb::from_bytes(&r.out).unwrap();
        assert_eq!((out.handle, out.pitch, out.size), (0, 0, 0));
    }
    assert_eq!(f.handle_count(), 0);
    // The largest accepted size: exactly 0xFFFFF000 bytes.
    assert_eq!(dumb_layout(0x1000, 0xF_FFFF, 8), Ok((0x1000, 0xFFFF_F000)));
    // The shmem helper computes the pitch from width * bpp in 32 bits, so a
    // wide buffer that passed the core's checks gets a wrapped pitch.
    assert_eq!(
        dumb_layout(0xFFFF_F000, 1, 8),
        Ok((0x1FFF_F000, 0x1FFF_F000))
    );
}

#[test]
fn dumb_ioctls_are_not_allowed_on_render_nodes() {
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let render = dev.open(true);
    assert_eq!(create_dumb(&render, 8, 8, 32).0, -EACCES);
    let map = DrmModeMapDumb {
        handle: h,
        ..Default::default()
    };
    assert_eq!(
        call(&render, DRM_IOCTL_MODE_MAP_DUMB, &map.to_bytes()).ret(),
        -EACCES
    );
    let d = DrmModeDestroyDumb { handle: h };
    assert_eq!(
        call(&render, DRM_IOCTL_MODE_DESTROY_DUMB, &d.to_bytes()).ret(),
        -EACCES
    );
}

#[test]
fn vgem_basic_mmap() {
    let dev = Device::new();
    let f = dev.open(false);
    let a = dumb(&f);
    let b = dumb(&f);
    let map = |handle| {
        let arg = DrmModeMapDumb {
            handle,
            pad: 0,
            offset: 0x55,
        };
        let r = call(&f, DRM_IOCTL_MODE_MAP_DUMB, &arg.to_bytes());
        (r.ret(), DrmModeMapDumb::from_bytes(&r.out).unwrap().offset)
    };
    let (ret, oa) = map(a);
    assert_eq!(ret, 0);
    assert_eq!(oa, 1 << 32, "fake offsets start at 4 GiB");
    assert_eq!(map(a), (0, oa), "the offset is stable");
    let (_, ob) = map(b);
    assert_eq!(ob, oa + 16384);
    assert_eq!(map(99), (-ENOENT, 0));

    let obj = f.mmap(oa, 16384).unwrap();
    assert_eq!(obj.id(), f.lookup(a).unwrap().id());
    assert_eq!(
        f.mmap(oa, 16385).unwrap_err(),
        Error::Invalid("no GEM object at this mmap offset")
    );
    assert_eq!(f.mmap(0, 4096).unwrap_err().errno(), EINVAL);
    let other = dev.open(false);
    assert_eq!(
        other.mmap(oa, 4096).unwrap_err(),
        Error::Access,
        "no handle in that file"
    );
}

#[test]
fn destroy_dumb_and_gem_close_release_handles() {
    let dev = Device::new();
    let f = dev.open(false);
    let (a, b) = (dumb(&f), dumb(&f));
    assert_eq!((a, b), (1, 2));
    let d = DrmModeDestroyDumb { handle: a };
    assert_eq!(
        call(&f, DRM_IOCTL_MODE_DESTROY_DUMB, &d.to_bytes()).ret(),
        0
    );
    assert_eq!(
        call(&f, DRM_IOCTL_MODE_DESTROY_DUMB, &d.to_bytes()).ret(),
        -EINVAL
    );
    assert_eq!(dumb(&f), 1, "the lowest free handle is reused");
    // GEM_CLOSE does not check pad (6.12).
    let c = DrmGemClose { handle: b, pad: 1 };
    assert_eq!(call(&f, DRM_IOCTL_GEM_CLOSE, &c.to_bytes()).ret(), 0);
    assert_eq!(call(&f, DRM_IOCTL_GEM_CLOSE, &c.to_bytes()).ret(), -EINVAL);
    let c0 = DrmGemClose { handle: 0, pad: 0 };
    assert_eq!(call(&f, DRM_IOCTL_GEM_CLOSE, &c0.to_bytes()).ret(), -EINVAL);
    // GEM_CLOSE is allowed on render nodes (here: an unknown handle).
    let r = dev.open(true);
    assert_eq!(call(&r, DRM_IOCTL_GEM_CLOSE, &c.to_bytes()).ret(), -EINVAL);
}

#[test]
fn closing_a_file_releases_its_objects() {
    let dev = Device::new();
    let f = dev.open(false);
    let h = dumb(&f);
    let obj = f.lookup(h).unwrap();
    assert_eq!(obj.handle_count(), 1);
    drop(f);
    assert_eq!(obj.handle_count(), 0);
}

// ---------------------------------------------------------------- PRIME

/// A caller with an fd table of dma-bufs (fds from 3).
#[derive(Default)]
struct Fds {
    table: BTreeMap<i32, (DmaBuf, u32)>,
}

impl Caller for Fds {
    fn write_user(&mut self, _addr: u64, _bytes: &[u8]) -> Result<(), Error> {
        Err(Error::Fault)
    }
    fn install_dma_buf(&mut self, buf: DmaBuf, flags: u32) -> Result<i32, Error> {
        let fd = (3..).find(|fd| !self.table.contains_key(fd)).unwrap();
        self.table.insert(fd, (buf, flags));
        Ok(fd)
    }
    fn dma_buf_from_fd(&mut self, fd: i32) -> Result<DmaBuf, Error> {
        self.table.get(&fd).map(|e| e.0.clone()).ok_or(Error::BadFd)
    }
}

impl Fds {
    fn buf(&self, fd: i32) -> DmaBuf {
        self.table[&fd].0.clone()
    }
}

fn to_fd(f: &DrmFile, fds: &mut Fds, handle: u32, flags: u32) -> (i32, i32) {
    let arg = DrmPrimeHandle {
        handle,
        flags,
        fd: -1,
    };
    let r = f.ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &arg.to_bytes(), fds);
    (r.ret(), DrmPrimeHandle::from_bytes(&r.out).unwrap().fd)
}

fn to_handle(f: &DrmFile, fds: &mut Fds, fd: i32) -> (i32, u32) {
    let arg = DrmPrimeHandle {
        handle: 0,
        flags: 0xffff_ffff, // ignored
        fd,
    };
    let r = f.ioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE, &arg.to_bytes(), fds);
    (r.ret(), DrmPrimeHandle::from_bytes(&r.out).unwrap().handle)
}

#[test]
fn prime_handle_to_fd_checks_flags_then_handle() {
    let dev = Device::new();
    let f = dev.open(true);
    let mut fds = Fds::default();
    assert_eq!(to_fd(&f, &mut fds, 1, 0x4).0, -EINVAL);
    assert_eq!(to_fd(&f, &mut fds, 1, DRM_CLOEXEC | DRM_RDWR).0, -ENOENT);
    let card = dev.open(false);
    let h = dumb(&card);
    assert_eq!(
        to_fd(&card, &mut fds, h, 0x8000_0000).0,
        -EINVAL,
        "flags before the handle"
    );
    assert!(fds.table.is_empty());
}

#[test]
fn vgem_basic_dmabuf_export() {
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let obj = card.lookup(h).unwrap();
    let mut fds = Fds::default();
    let (ret, fd1) = to_fd(&card, &mut fds, h, DRM_CLOEXEC | DRM_RDWR);
    assert_eq!(ret, 0);
    assert_eq!(
        fds.table[&fd1].1,
        DRM_CLOEXEC | DRM_RDWR,
        "fd flags reach the caller"
    );
    let (ret, fd2) = to_fd(&card, &mut fds, h, 0);
    assert_eq!(ret, 0);
    assert_ne!(fd1, fd2);
    let (b1, b2) = (fds.buf(fd1), fds.buf(fd2));
    assert_eq!(b1, b2, "one object, one dma-buf");
    assert_eq!(b1.ino(), b2.ino());
    assert_eq!(b1.size(), obj.size());
    assert_eq!(b1.exp_name(), "drm");
    assert_eq!(
        b1.file_flags() & O_ACCMODE,
        O_RDWR,
        "the first export decides"
    );
    assert!(
        Arc::ptr_eq(b1.resv(), obj.resv()),
        "the dma-buf shares the object's resv"
    );
    // Another file exporting the same object (through its own handle) gets
    // the same dma-buf too.
    let other = dev.open(false);
    let (_, h2) = to_handle(&other, &mut fds, fd1);
    let (_, fd3) = to_fd(&other, &mut fds, h2, 0);
    assert_eq!(fds.buf(fd3), b1);
}

#[test]
fn prime_export_read_only_without_drm_rdwr() {
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let mut fds = Fds::default();
    let (_, fd) = to_fd(&card, &mut fds, h, DRM_CLOEXEC);
    assert_eq!(fds.buf(fd).file_flags() & O_ACCMODE, O_RDONLY);
}

#[test]
fn vgem_basic_dmabuf_mmap() {
    // The dma-buf's memory is the object's memfd: a write through one is
    // read through the other.
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let obj = card.lookup(h).unwrap();
    let mut fds = Fds::default();
    let (_, fd) = to_fd(&card, &mut fds, h, DRM_RDWR);
    rustix::io::pwrite(obj.memfd().unwrap(), b"vgem", 100).unwrap();
    let mut got = [0u8; 4];
    fds.buf(fd).read_at(100, &mut got).unwrap();
    assert_eq!(&got, b"vgem");
}

#[test]
fn prime_import_of_own_dmabuf_gives_the_original_handle() {
    let dev = Device::new();
    let card = dev.open(false);
    let _first = dumb(&card);
    let h = dumb(&card);
    let mut fds = Fds::default();
    let (_, fd) = to_fd(&card, &mut fds, h, 0);
    assert_eq!(to_handle(&card, &mut fds, fd), (0, h));
    assert_eq!(card.handle_count(), 2, "no new handle");
    // Another file gets a new handle to the very same object.
    let render = dev.open(true);
    let (ret, rh) = to_handle(&render, &mut fds, fd);
    assert_eq!((ret, rh), (0, 1));
    assert_eq!(
        render.lookup(rh).unwrap().id(),
        card.lookup(h).unwrap().id()
    );
    assert_eq!(card.lookup(h).unwrap().handle_count(), 2);
    assert_eq!(to_handle(&render, &mut fds, fd), (0, rh), "known now");
}

#[test]
fn prime_fd_to_handle_bad_fd_is_ebadf() {
    let dev = Device::new();
    let f = dev.open(true);
    let mut fds = Fds::default();
    assert_eq!(to_handle(&f, &mut fds, 42).0, -EBADF);
    let r = f.ioctl(
        DRM_IOCTL_PRIME_FD_TO_HANDLE,
        &DrmPrimeHandle::default().to_bytes(),
        &mut NoMemory,
    );
    assert_eq!(r.ret(), -EBADF);
}

#[test]
fn prime_dmabuf_outlives_the_handles_and_lets_go_of_the_object() {
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let obj = card.lookup(h).unwrap();
    let mut fds = Fds::default();
    let (_, fd) = to_fd(&card, &mut fds, h, 0);
    let buf = fds.buf(fd);
    assert_eq!(obj.dma_buf(), Some(buf.clone()));
    let c = DrmGemClose { handle: h, pad: 0 };
    assert_eq!(call(&card, DRM_IOCTL_GEM_CLOSE, &c.to_bytes()).ret(), 0);
    assert_eq!(
        obj.dma_buf(),
        None,
        "the last handle drops the object's reference"
    );
    // The fd still works: importing it again finds the same object.
    let (ret, h2) = to_handle(&card, &mut fds, fd);
    assert_eq!(ret, 0);
    assert_eq!(card.lookup(h2).unwrap().id(), obj.id());
    assert_eq!(obj.dma_buf(), Some(buf.clone()));
    let (_, fd2) = to_fd(&card, &mut fds, h2, 0);
    assert_eq!(fds.buf(fd2), buf);
    // Once every handle and fd is gone, nothing holds the object but us.
    drop(card);
    fds.table.clear();
    drop(buf);
    assert_eq!(Arc::strong_count(&obj), 1);
}

#[test]
fn prime_import_of_a_foreign_dmabuf() {
    let dev = Device::new();
    let card = dev.open(false);
    let heap_buf = heap::alloc(3 * 4096, O_RDWR, 0).unwrap();
    let mut fds = Fds::default();
    let fd = fds.install_dma_buf(heap_buf.clone(), 0).unwrap();
    let (ret, h) = to_handle(&card, &mut fds, fd);
    assert_eq!((ret, h), (0, 1));
    let obj = card.lookup(h).unwrap();
    assert!(obj.is_imported());
    assert_eq!(obj.size(), 3 * 4096);
    assert!(
        Arc::ptr_eq(obj.resv(), heap_buf.resv()),
        "shares the buffer's resv"
    );
    assert_eq!(heap_buf.attachments().len(), 1, "the device attached");
    // MAP_DUMB refuses an imported object.
    let map = DrmModeMapDumb {
        handle: h,
        ..Default::default()
    };
    assert_eq!(
        call(&card, DRM_IOCTL_MODE_MAP_DUMB, &map.to_bytes()).ret(),
        -EINVAL
    );
    // Exporting it gives the original buffer back.
    let (_, fd2) = to_fd(&card, &mut fds, h, 0);
    assert_eq!(fds.buf(fd2), heap_buf);
    // vgem fences on it land in the buffer's resv.
    let (ret, id) = attach(&card, h, VGEM_FENCE_WRITE);
    assert_eq!(ret, 0);
    assert_eq!(heap_buf.poll(Events::IN | Events::OUT), Events::empty());
    assert_eq!(signal(&card, id, 0), 0);
    assert_eq!(
        heap_buf.poll(Events::IN | Events::OUT),
        Events::IN | Events::OUT
    );
    // Closing the handle detaches.
    drop(obj);
    let c = DrmGemClose { handle: h, pad: 0 };
    assert_eq!(call(&card, DRM_IOCTL_GEM_CLOSE, &c.to_bytes()).ret(), 0);
    assert!(heap_buf.attachments().is_empty());
}

#[test]
fn vgem_basic_dmabuf_fence() {
    // Fences attached through vgem show on the exported dma-buf: a WRITE
    // fence blocks both poll directions, a READ fence only POLLOUT, and the
    // sync-file export returns the vgem fence.
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let mut fds = Fds::default();
    let (_, fd) = to_fd(&card, &mut fds, h, DRM_RDWR);
    let buf = fds.buf(fd);
    assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN | Events::OUT);
    let (_, w) = attach(&card, h, VGEM_FENCE_WRITE);
    assert_eq!(buf.poll(Events::IN | Events::OUT), Events::empty());
    let sf = buf
        .export_sync_file(dmasync::uapi::dma_buf::DMA_BUF_SYNC_READ as u32)
        .unwrap();
    assert_eq!(sf.fence(), &card.fence(w).unwrap());
    assert_eq!(signal(&card, w, 0), 0);
    let (_, r) = attach(&card, h, 0);
    assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN);
    assert_eq!(signal(&card, r, 0), 0);
    assert_eq!(buf.poll(Events::IN | Events::OUT), Events::IN | Events::OUT);
}

// ---------------------------------------------------------------- fences

#[test]
fn fence_attach_checks_flags_then_pad_then_handle() {
    let dev = Device::new();
    let f = dev.open(true);
    assert_eq!(attach_pad(&f, 99, 2, 1).0, -EINVAL, "flags first");
    assert_eq!(
        attach_pad(&f, 99, VGEM_FENCE_WRITE, 1).0,
        -EINVAL,
        "then pad"
    );
    assert_eq!(
        attach(&f, 99, VGEM_FENCE_WRITE).0,
        -ENOENT,
        "then the handle"
    );
    assert_eq!(attach(&f, 0, 0).0, -ENOENT);
}

#[test]
fn fence_attach_adds_a_vgem_fence_with_write_or_read_usage() {
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let obj = card.lookup(h).unwrap();
    let (ret, id) = attach(&card, h, VGEM_FENCE_WRITE);
    assert_eq!((ret, id), (0, 1));
    let w = card.fence(id).unwrap();
    assert_eq!(
        (w.driver_name(), w.timeline_name(), w.seqno()),
        ("vgem", "unbound", 1)
    );
    assert!(!w.is_signaled(), "the timer has not fired yet");
    assert_eq!(obj.resv().get_fences(Usage::Write), vec![w.clone()]);
    assert!(!obj.resv().test_signaled(Usage::Write));

    assert_eq!(signal(&card, id, 0), 0);
    let (ret, r1) = attach(&card, h, 0);
    let (ret2, r2) = attach(&card, h, 0);
    assert_eq!((ret, r1, ret2, r2), (0, 2, 0, 3), "readers beside readers");
    let (f1, f2) = (card.fence(r1).unwrap(), card.fence(r2).unwrap());
    assert_ne!(f1.context(), f2.context(), "each fence has its own context");
    assert_ne!(f1.context(), w.context());
    assert!(
        obj.resv().test_signaled(Usage::Write),
        "READ fences are not writers"
    );
    assert_eq!(obj.resv().get_fences(Usage::Read).len(), 2);
}

#[test]
fn vgem_basic_busy_fence() {
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let (ret, id) = attach(&card, h, VGEM_FENCE_WRITE);
    assert_eq!(ret, 0);
    assert_eq!(
        attach(&card, h, 0),
        (-EBUSY, 0),
        "a reader waits for the writer"
    );
    assert_eq!(attach(&card, h, VGEM_FENCE_WRITE), (-EBUSY, 0));
    assert_eq!(signal(&card, id, 0), 0);
    let (ret, rid) = attach(&card, h, 0);
    assert_eq!(ret, 0);
    assert_eq!(
        attach(&card, h, VGEM_FENCE_WRITE),
        (-EBUSY, 0),
        "a writer waits for readers"
    );
    assert_eq!(signal(&card, rid, 0), 0);
    let (ret, wid) = attach(&card, h, VGEM_FENCE_WRITE);
    assert_eq!(ret, 0);
    assert!(wid > rid, "ids are never reused, failures use none");
}

#[test]
fn fence_signal_rules() {
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let (_, id) = attach(&card, h, VGEM_FENCE_WRITE);
    let fence = card.fence(id).unwrap();
    assert_eq!(signal(&card, id, 1), -EINVAL);
    assert_eq!(signal(&card, 0, 0), -ENOENT);
    assert_eq!(signal(&card, 99, 0), -ENOENT);
    assert_eq!(signal(&card, u32::MAX, 0), -ENOENT);
    assert!(!fence.is_signaled());
    assert_eq!(signal(&card, id, 0), 0);
    assert!(fence.is_signaled());
    assert_eq!(fence.status(), 1);
    assert_eq!(signal(&card, id, 0), -ENOENT, "consumed");
    assert!(card.fence(id).is_none());
    let (_, next) = attach(&card, h, VGEM_FENCE_WRITE);
    assert_eq!(next, id + 1, "ids are never reused within a file");
}

#[test]
fn fence_ids_are_per_file() {
    let dev = Device::new();
    let a = dev.open_with(false, true);
    let b = dev.open_with(false, true);
    let (ha, hb) = (dumb(&a), dumb(&b));
    assert_eq!(attach(&a, ha, 0), (0, 1));
    assert_eq!(attach(&b, hb, 0), (0, 1));
    assert_eq!(signal(&b, 1, 0), 0);
    assert!(a.fence(1).is_some(), "b's SIGNAL does not touch a's id 1");
}

#[test]
fn closing_the_file_signals_registered_fences() {
    let dev = Device::new();
    let card = dev.open(false);
    let h = dumb(&card);
    let obj = card.lookup(h).unwrap();
    let (_, id) = attach(&card, h, VGEM_FENCE_WRITE);
    let fence = card.fence(id).unwrap();
    drop(card);
    assert!(fence.is_signaled());
    assert_eq!(fence.status(), 1);
    assert!(obj.resv().test_signaled(Usage::Bookkeep));
}

#[test]
fn vgem_slow_nohang() {
    // A fence nobody signals expires by the device's timer, with no error;
    // SIGNAL then answers ETIMEDOUT, and again ENOENT.
    let dev = Device::with_fence_timeout(Duration::from_millis(20));
    let card = dev.open(false);
    let h = dumb(&card);
    let (_, id) = attach(&card, h, VGEM_FENCE_WRITE);
    let fence = card.fence(id).unwrap();
    fence.wait();
    assert_eq!(fence.status(), 1);
    assert_eq!(signal(&card, id, 0), -ETIMEDOUT);
    assert_eq!(signal(&card, id, 0), -ENOENT);
    // The expired fence no longer blocks a writer.
    assert_eq!(attach(&card, h, VGEM_FENCE_WRITE).0, 0);
}

#[test]
fn many_fences_share_one_timer_and_all_expire() {
    let dev = Device::with_fence_timeout(Duration::from_millis(10));
    let card = dev.open(false);
    let fences: Vec<_> = (0..32)
        .map(|_| {
            let h = dumb(&card);
            let (ret, id) = attach(&card, h, 0);
            assert_eq!(ret, 0);
            card.fence(id).unwrap()
        })
        .collect();
    for f in &fences {
        f.wait();
    }
    assert!(fences.iter().all(|f| f.status() == 1));
}

// ---------------------------------------------------------------- clients

#[test]
fn vgem_basic_second_client() {
    let dev = Device::new();
    let master = dev.open(false);
    assert!(master.is_master());
    let second = dev.open(false);
    assert!(!second.is_master());
    let h = dumb(&second);
    // FENCE_ATTACH is DRM_AUTH: an unauthenticated primary client is refused.
    assert_eq!(attach(&second, h, 0).0, -EACCES);
    let hm = dumb(&master);
    assert_eq!(attach(&master, hm, 0).0, 0);
    let root = dev.open_with(false, true);
    let hr = dumb(&root);
    assert_eq!(attach(&root, hr, 0).0, 0, "CAP_SYS_ADMIN is authenticated");
    // Mastership passes to the next primary opener once the master closes.
    drop(master);
    let next = dev.open(false);
    assert!(next.is_master());
    let render = dev.open(true);
    assert!(!render.is_master());
}

#[test]
fn render_clients_need_no_authentication() {
    let dev = Device::new();
    let _master = dev.open(false);
    let render = dev.open(true);
    // A render client cannot create dumb buffers; it sees ENOENT for a
    // handle it does not have, so the AUTH check passed.
    assert_eq!(attach(&render, 1, 0).0, -ENOENT);
    assert_eq!(signal(&render, 1, 0), -ENOENT);
}

// ---------------------------------------------------------------- masters and authentication

fn get_magic(file: &DrmFile) -> (i32, u32) {
    let r = call(file, DRM_IOCTL_GET_MAGIC, &[]);
    let magic = DrmAuth::from_bytes(&r.out).map_or(0, |a| a.magic);
    (r.ret(), magic)
}

fn auth_magic(file: &DrmFile, magic: u32) -> i32 {
    let r = call(file, DRM_IOCTL_AUTH_MAGIC, &DrmAuth { magic }.to_bytes());
    assert!(
        r.out.is_empty(),
        "AUTH_MAGIC is _IOW: nothing is copied back"
    );
    r.ret()
}

fn set_master(file: &DrmFile) -> i32 {
    call(file, DRM_IOCTL_SET_MASTER, &[]).ret()
}

fn drop_master(file: &DrmFile) -> i32 {
    call(file, DRM_IOCTL_DROP_MASTER, &[]).ret()
}

fn get_client(file: &DrmFile, idx: i32, caller: &mut dyn Caller) -> (i32, DrmClient) {
    let arg = DrmClient {
        idx,
        auth: 7,
        pid: 7,
        uid: 7,
        magic: 7,
        iocs: 7,
    };
    let r = file.ioctl(DRM_IOCTL_GET_CLIENT, &arg.to_bytes(), caller);
    (r.ret(), DrmClient::from_bytes(&r.out).unwrap())
}

/// A caller that says its pid.
struct Pid(u32);

impl Caller for Pid {
    fn write_user(&mut self, _addr: u64, _bytes: &[u8]) -> Result<(), Error> {
        Err(Error::Fault)
    }
    fn pid_vnr(&self) -> Option<u32> {
        Some(self.0)
    }
}

#[test]
fn first_primary_opener_is_master_and_authenticated() {
    let dev = Device::new();
    let render = dev.open(true);
    assert!(!render.is_master(), "a render file never becomes master");
    let master = dev.open(false);
    assert!(master.is_master() && master.was_master() && master.is_authenticated());
    let second = dev.open(false);
    assert!(!second.is_master() && !second.was_master() && !second.is_authenticated());
    let root = dev.open_with(false, true);
    assert!(!root.is_master() && root.is_authenticated());
}

#[test]
fn get_magic_is_per_file_from_one_and_stable() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    assert_eq!(get_magic(&master), (0, 1));
    assert_eq!(get_magic(&master), (0, 1), "the same magic on every call");
    assert_eq!(get_magic(&second), (0, 2));
    // GET_MAGIC is _IOR: the user's bytes are not read; a longer struct
    // gets the magic and zeroes.
    let r = call(&second, ior(b'd', 0x02, 8), &[0xFF; 8]);
    assert_eq!(r.ret(), 0);
    assert_eq!(r.out, [2, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn auth_magic_authenticates_once() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    let h = dumb(&second);
    assert_eq!(attach(&second, h, 0).0, -EACCES, "DRM_AUTH before");
    let (_, magic) = get_magic(&second);
    assert_eq!(
        auth_magic(&second, magic),
        -EACCES,
        "DRM_MASTER: not master"
    );
    assert_eq!(auth_magic(&master, magic), 0);
    assert!(second.is_authenticated());
    assert_eq!(attach(&second, h, 0).0, 0, "DRM_AUTH after");
    assert_eq!(auth_magic(&master, magic), -EINVAL, "a magic is used once");
    assert_eq!(
        get_magic(&second),
        (0, magic),
        "the used magic stays the file's"
    );
}

#[test]
fn auth_magic_bad_magics_are_einval() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    assert_eq!(auth_magic(&master, 0), -EINVAL);
    assert_eq!(auth_magic(&master, 1), -EINVAL, "not given out yet");
    assert_eq!(auth_magic(&master, u32::MAX), -EINVAL);
    assert!(!second.is_authenticated());
    // The master may authenticate its own magic (it already is).
    let (_, own) = get_magic(&master);
    assert_eq!(auth_magic(&master, own), 0);
    // A short user struct reads as zeroes: magic 0.
    let r = call(&master, iow(b'd', 0x11, 0), &[]);
    assert_eq!(r.ret(), -EINVAL);
}

#[test]
fn magic_of_a_closed_file_is_gone_and_reused() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    let (_, m2) = get_magic(&second);
    drop(second);
    assert_eq!(auth_magic(&master, m2), -EINVAL);
    let third = dev.open(false);
    assert_eq!(get_magic(&third), (0, m2), "the lowest free magic again");
    assert_eq!(auth_magic(&master, m2), 0);
    assert!(third.is_authenticated());
}

#[test]
fn magic_maps_are_per_master() {
    let dev = Device::new();
    let a = dev.open(false);
    let old = dev.open(false);
    let root = dev.open_with(false, true);
    let (_, m_old) = get_magic(&old);
    assert_eq!(m_old, 1);
    assert_eq!(get_magic(&root), (0, 2));
    assert_eq!(drop_master(&a), 0);
    // A CAP_SYS_ADMIN file of master a makes a master of its own.
    assert_eq!(set_master(&root), 0);
    assert!(root.is_master() && !a.is_master());
    assert_eq!(
        auth_magic(&root, m_old),
        -EINVAL,
        "old's magic is in a's map"
    );
    // A file opened now belongs to root's master, whose map is empty.
    let new = dev.open(false);
    assert_eq!(get_magic(&new), (0, 1));
    assert_eq!(auth_magic(&root, 1), 0);
    assert!(new.is_authenticated() && !old.is_authenticated());
    // Root keeps the magic it got from a's map.
    assert_eq!(get_magic(&root), (0, 2));
    // Back to a: its map still has old's magic.
    assert_eq!(drop_master(&root), 0);
    assert_eq!(set_master(&a), 0);
    assert_eq!(auth_magic(&a, m_old), 0);
    assert!(old.is_authenticated());
}

#[test]
fn set_and_drop_master_by_a_former_master() {
    let dev = Device::new();
    let master = dev.open(false);
    assert_eq!(set_master(&master), 0, "already master");
    assert_eq!(drop_master(&master), 0);
    assert!(!master.is_master() && master.was_master());
    assert_eq!(drop_master(&master), -EINVAL, "not master any more");
    assert_eq!(
        set_master(&master),
        0,
        "was master: no CAP_SYS_ADMIN needed"
    );
    assert!(master.is_master());
}

#[test]
fn set_and_drop_master_need_cap_sys_admin_otherwise() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    let root = dev.open_with(false, true);
    assert_eq!(set_master(&second), -EACCES);
    assert_eq!(drop_master(&second), -EACCES);
    assert_eq!(drop_master(&master), 0);
    assert_eq!(set_master(&second), -EACCES, "even with no master");
    assert_eq!(drop_master(&root), -EINVAL, "CAP_SYS_ADMIN, not master");
    assert_eq!(set_master(&root), 0);
    assert!(root.is_master() && root.is_authenticated() && root.was_master());
    assert_eq!(set_master(&master), -EBUSY, "another file is master");
}

#[test]
fn set_master_while_another_is_master_is_ebusy() {
    let dev = Device::new();
    let master = dev.open(false);
    let root = dev.open_with(false, true);
    assert_eq!(set_master(&root), -EBUSY);
    assert_eq!(drop_master(&root), -EINVAL);
    assert!(master.is_master() && !root.is_master());
}

#[test]
fn closing_the_master_leaves_the_device_without_master() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    let root = dev.open_with(false, true);
    drop(master);
    assert!(
        !second.is_master() && !root.is_master(),
        "nobody inherits it"
    );
    assert_eq!(set_master(&second), -EACCES);
    // The next primary opener becomes master...
    let next = dev.open(false);
    assert!(next.is_master() && next.is_authenticated());
    drop(next);
    // ... or a CAP_SYS_ADMIN file takes it.
    assert_eq!(set_master(&root), 0);
    let after = dev.open(false);
    assert!(!after.is_master());
}

#[test]
fn dropped_master_is_not_closed_master() {
    // A file that dropped mastership and closes does not disturb the new master.
    let dev = Device::new();
    let master = dev.open(false);
    assert_eq!(drop_master(&master), 0);
    let root = dev.open_with(false, true);
    assert_eq!(set_master(&root), 0);
    drop(master);
    assert!(root.is_master());
}

#[test]
fn get_client_reports_index_zero_only() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    let (ret, c) = get_client(&master, 0, &mut Pid(4321));
    assert_eq!(ret, 0);
    assert_eq!(
        (c.idx, c.auth, c.pid, c.uid, c.magic, c.iocs),
        (0, 1, 4321, 65534, 0, 0)
    );
    let (ret, c) = get_client(&second, 0, &mut NoMemory);
    assert_eq!((ret, c.auth, c.pid), (0, 0, 0));
    let (ret, c) = get_client(&master, 1, &mut NoMemory);
    assert_eq!(ret, -EINVAL);
    assert_eq!((c.idx, c.auth, c.pid), (1, 7, 7), "copied back unchanged");
    assert_eq!(get_client(&master, -1, &mut NoMemory).0, -EINVAL);
}

#[test]
fn get_unique_is_empty() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    for f in [&master, &second] {
        let arg = DrmUnique {
            unique_len: 64,
            unique: 0x1000,
        };
        // NoMemory faults every write: nothing is written.
        let r = call(f, DRM_IOCTL_GET_UNIQUE, &arg.to_bytes());
        assert_eq!(r.ret(), 0);
        let out = DrmUnique::from_bytes(&r.out).unwrap();
        assert_eq!((out.unique_len, out.unique), (0, 0x1000));
    }
}

fn set_version(file: &DrmFile, di: (i32, i32), dd: (i32, i32)) -> (i32, DrmSetVersion) {
    let arg = DrmSetVersion {
        drm_di_major: di.0,
        drm_di_minor: di.1,
        drm_dd_major: dd.0,
        drm_dd_minor: dd.1,
    };
    let r = call(file, DRM_IOCTL_SET_VERSION, &arg.to_bytes());
    (r.ret(), DrmSetVersion::from_bytes(&r.out).unwrap())
}

/// GET_UNIQUE through a caller whose buffer at 0x1000 has `cap` bytes:
/// the result, the length reported and the buffer.
fn get_unique(file: &DrmFile, cap: usize) -> (i32, u64, Vec<u8>) {
    let mut mem = Buffers(BTreeMap::from([(0x1000, vec![0u8; cap])]));
    let arg = DrmUnique {
        unique_len: cap as u64,
        unique: 0x1000,
    };
    let r = file.ioctl(DRM_IOCTL_GET_UNIQUE, &arg.to_bytes(), &mut mem);
    let len = DrmUnique::from_bytes(&r.out).unwrap().unique_len;
    (r.ret(), len, mem.0.remove(&0x1000).unwrap())
}

#[test]
fn set_version_sets_the_masters_bus_id() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    let render = dev.open(true);
    // The current master only.
    assert_eq!(set_version(&second, (1, 4), (-1, -1)).0, -EACCES);
    assert_eq!(set_version(&render, (1, 4), (-1, -1)).0, -EACCES);
    // Interface 1.0 checks the version and sets nothing.
    let (ret, v) = set_version(&master, (1, 0), (-1, -1));
    assert_eq!(ret, 0);
    assert_eq!(
        (
            v.drm_di_major,
            v.drm_di_minor,
            v.drm_dd_major,
            v.drm_dd_minor
        ),
        (1, 4, 1, 0)
    );
    assert_eq!(get_unique(&master, 16), (0, 0, vec![0; 16]));
    // From 1.1: the master's bus id, seen by every file of the master.
    assert_eq!(set_version(&master, (1, 4), (-1, -1)).0, 0);
    for f in [&master, &second] {
        let (ret, len, buf) = get_unique(f, 16);
        assert_eq!((ret, len), (0, 4));
        assert_eq!(&buf[..5], b"vgem\0");
    }
    // A short buffer gets the length only.
    assert_eq!(get_unique(&master, 3), (0, 4, vec![0; 3]));
    // Out of range: EINVAL, and the versions are reported anyway.
    for (di, dd) in [
        ((2, 0), (-1, -1)),
        ((1, 5), (-1, -1)),
        ((1, -1), (-1, -1)),
        ((-1, -1), (1, 1)),
        ((-1, -1), (2, 0)),
    ] {
        let (ret, v) = set_version(&master, di, dd);
        assert_eq!(ret, -EINVAL, "{di:?} {dd:?}");
        assert_eq!(
            (
                v.drm_di_major,
                v.drm_di_minor,
                v.drm_dd_major,
                v.drm_dd_minor
            ),
            (1, 4, 1, 0)
        );
    }
    assert_eq!(set_version(&master, (-1, -1), (1, 0)).0, 0);
    // A new master starts without a bus id.
    drop((master, second));
    let next = dev.open(false);
    assert!(next.is_master());
    assert_eq!(get_unique(&next, 16).1, 0);
}

#[test]
fn auth_ioctls_are_eacces_on_the_render_node() {
    let dev = Device::new();
    let _master = dev.open(false);
    let render = dev.open(true);
    for cmd in [
        DRM_IOCTL_GET_UNIQUE,
        DRM_IOCTL_GET_MAGIC,
        DRM_IOCTL_GET_CLIENT,
        DRM_IOCTL_AUTH_MAGIC,
        DRM_IOCTL_SET_MASTER,
        DRM_IOCTL_DROP_MASTER,
        DRM_IOCTL_GEM_FLINK,
        DRM_IOCTL_GEM_OPEN,
    ] {
        let size = dmasync::uapi::ioctl::ioc_size(cmd);
        assert_eq!(
            call(&render, cmd, &vec![0; size]).ret(),
            -EACCES,
            "{cmd:#x}"
        );
    }
}

fn flink(file: &DrmFile, handle: u32) -> (i32, u32) {
    let r = call(
        file,
        DRM_IOCTL_GEM_FLINK,
        &DrmGemFlink { handle, name: 0 }.to_bytes(),
    );
    (r.ret(), DrmGemFlink::from_bytes(&r.out).unwrap().name)
}

fn gem_open(file: &DrmFile, name: u32) -> (i32, DrmGemOpen) {
    let arg = DrmGemOpen {
        name,
        ..Default::default()
    };
    let r = call(file, DRM_IOCTL_GEM_OPEN, &arg.to_bytes());
    (r.ret(), DrmGemOpen::from_bytes(&r.out).unwrap())
}

#[test]
fn flink_and_open_share_an_object_between_files() {
    let dev = Device::new();
    let master = dev.open(false);
    let second = dev.open(false);
    let h = dumb(&master);
    assert_eq!(flink(&master, h), (0, 1));
    assert_eq!(flink(&master, h), (0, 1), "the name is stable");
    assert_eq!(gem_open(&second, 1).0, -EACCES, "DRM_AUTH");
    let (_, magic) = get_magic(&second);
    assert_eq!(auth_magic(&master, magic), 0);
    let (ret, a) = gem_open(&second, 1);
    assert_eq!((ret, a.handle, a.size), (0, 1, 16384));
    let (ret, b) = gem_open(&second, 1);
    assert_eq!((ret, b.handle), (0, 2), "a new handle on every open");
    assert!(Arc::ptr_eq(
        &second.lookup(1).unwrap(),
        &master.lookup(h).unwrap()
    ));
    assert_eq!(flink(&second, 2), (0, 1), "one name per object");
}

#[test]
fn flink_and_open_bad_inputs() {
    let dev = Device::new();
    let master = dev.open(false);
    assert_eq!(flink(&master, 0).0, -ENOENT);
    assert_eq!(flink(&master, 5).0, -ENOENT);
    for name in [0, 1, i32::MAX as u32 + 1, u32::MAX] {
        let (ret, out) = gem_open(&master, name);
        assert_eq!((ret, out.handle, out.size), (-ENOENT, 0, 0), "name {name}");
    }
}

#[test]
fn flink_name_goes_with_the_last_handle() {
    let dev = Device::new();
    let master = dev.open(false);
    let root = dev.open_with(false, true);
    let h = dumb(&master);
    let (_, name) = flink(&master, h);
    assert_eq!(gem_open(&root, name).0, 0);
    let close = DrmGemClose { handle: h, pad: 0 };
    assert_eq!(
        call(&master, DRM_IOCTL_GEM_CLOSE, &close.to_bytes()).ret(),
        0
    );
    assert_eq!(gem_open(&root, name).0, 0, "root still has a handle");
    drop(root);
    assert_eq!(gem_open(&master, name).0, -ENOENT, "the last handle went");
    let h2 = dumb(&master);
    assert_eq!(flink(&master, h2), (0, name), "the name is free again");
}

/// drm_debugfs.c's `name`: the master's bus id appears once SET_VERSION
/// gave it one, and goes with the master.
#[test]
fn debugfs_name_shows_the_masters_bus_id() {
    let dev = Device::new();
    assert_eq!(dev.name_info(), "vgem dev=vgem unique=vgem\n");
    let master = dev.open(false);
    assert_eq!(dev.name_info(), "vgem dev=vgem unique=vgem\n");
    assert_eq!(set_version(&master, (1, 4), (-1, -1)).0, 0);
    assert_eq!(dev.name_info(), "vgem dev=vgem master=vgem unique=vgem\n");
    assert_eq!(call(&master, DRM_IOCTL_DROP_MASTER, &[]).ret(), 0);
    assert_eq!(dev.name_info(), "vgem dev=vgem unique=vgem\n");
}

/// drm_debugfs.c's `gem_names`: one line per name, with the handle count
/// and the references of the handles (one) and of an exported dma-buf
/// (kept while the object has handles).
#[test]
fn debugfs_gem_names_count_handles_and_the_export() {
    let dev = Device::new();
    let master = dev.open_with(false, true);
    let other = dev.open_with(false, true);
    let header = "  name     size handles refcount\n";
    assert_eq!(dev.gem_names_info(), header);
    let h = dumb(&master);
    assert_eq!(dev.gem_names_info(), header, "no name yet");
    let (_, name) = flink(&master, h);
    assert_eq!(
        dev.gem_names_info(),
        format!("{header}     1    16384       1        1\n")
    );
    assert_eq!(gem_open(&other, name).0, 0);
    let buf = master.prime_handle_to_fd(h, 0).expect("export");
    drop(buf);
    assert_eq!(
        dev.gem_names_info(),
        format!("{header}     1    16384       2        2\n")
    );
    drop(other);
    assert_eq!(
        dev.gem_names_info(),
        format!("{header}     1    16384       1        2\n")
    );
    drop(master);
    assert_eq!(dev.gem_names_info(), header);
}

/// drm_debugfs.c's `clients` reads each file's minor and magic.
#[test]
fn debugfs_clients_minor_and_magic() {
    let dev = Device::new();
    let primary = dev.open(false);
    let render = dev.open(true);
    assert_eq!((primary.minor_index(), render.minor_index()), (0, 128));
    assert_eq!(primary.magic(), 0);
    let (_, magic) = get_magic(&primary);
    assert_eq!(primary.magic(), magic);
}

// ---------------------------------------------------------------- fuzzing the dispatcher

mod dispatch_props {
    use super::*;
    use dmasync::uapi::ioctl::{ioc_dir, ioc_size, IOC_READ};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any command and argument bytes: no panic; the reply copies back
        /// either nothing or exactly the user's size, and only for a
        /// command with the OUT bit.
        #[test]
        fn any_command_gets_a_well_formed_reply(
            nr in any::<u8>(),
            dir in 0u32..4,
            size in 0usize..64,
            render in any::<bool>(),
            fill in any::<u8>(),
        ) {
            let dev = Device::new();
            let f = dev.open(render);
            let _h = (!render).then(|| dumb(&f));
            let cmd = dmasync::uapi::ioctl::ioc(dir, b'd', nr, size);
            let arg = vec![fill; size];
            let r = f.ioctl(cmd, &arg, &mut NoMemory);
            prop_assert!(r.out.is_empty() || r.out.len() == ioc_size(cmd));
            if ioc_dir(cmd) & IOC_READ == 0 {
                prop_assert!(r.out.is_empty());
            }
            prop_assert!(r.ret() <= 0);
        }
    }
}
