//! Compares `dmasync::uapi` with the installed kernel headers: builds
//! tests/uapi_layout.c with the system C compiler, runs it, and checks every
//! struct size, field offset and size, ioctl number and constant it prints.
//!
//! Headers older than 6.12 lack some items (the program says `absent`):
//! those are skipped, and a struct that grew since is compared up to the
//! header's end. Without a C compiler, or without the DRM headers (Debian:
//! libdrm-dev), the test says what it skipped.

use dmasync::uapi::{self, dma_buf, dma_heap, drm, ioctl, sw_sync, sync_file, udmabuf};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// What the C program printed.
#[derive(Default)]
struct Header {
    structs: BTreeMap<String, usize>,
    fields: BTreeMap<(String, String), (usize, usize)>,
    ioctls: BTreeMap<String, u32>,
    consts: BTreeMap<String, i128>,
    absent_structs: BTreeSet<String>,
    absent_ioctls: BTreeSet<String>,
    absent_consts: BTreeSet<String>,
    absent_fields: BTreeSet<(String, String)>,
    grown_fields: BTreeMap<(String, String), usize>,
    missing_families: BTreeSet<String>,
    own: BTreeSet<String>,
}

fn parse(text: &str) -> Header {
    let mut h = Header::default();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let s = |i: usize| w[i].to_string();
        let n = |i: usize| {
            w[i].parse::<u64>()
                .unwrap_or_else(|_| panic!("bad line {line:?}"))
        };
        match w[0] {
            "struct" => drop(h.structs.insert(s(1), n(2) as usize)),
            "field" => drop(
                h.fields
                    .insert((s(1), s(2)), (n(3) as usize, n(4) as usize)),
            ),
            "ioctl" => drop(h.ioctls.insert(s(1), n(2) as u32)),
            "const" => drop(h.consts.insert(s(1), w[2].parse().unwrap())),
            "absent-struct" => drop(h.absent_structs.insert(s(1))),
            "absent-ioctl" => drop(h.absent_ioctls.insert(s(1))),
            "absent-const" => drop(h.absent_consts.insert(s(1))),
            "absent" => drop(h.absent_fields.insert((s(1), s(2)))),
            "grown" => drop(h.grown_fields.insert((s(1), s(2)), n(3) as usize)),
            "missing-family" => drop(h.missing_families.insert(s(1))),
            "own" => drop(h.own.insert(s(1))),
            _ => panic!("unknown line {line:?}"),
        }
    }
    h
}

/// Builds and runs the C program; `None` (after saying why) without a compiler.
fn c_output() -> Option<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/uapi_layout.c");
    let exe =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("uapi_layout-{}", std::process::id()));
    let Some(cc) = ["cc", "gcc"]
        .into_iter()
        .find(|cc| Command::new(cc).arg("--version").output().is_ok())
    else {
        println!("skipped: no C compiler (cc or gcc) to build tests/uapi_layout.c");
        return None;
    };
    let built = Command::new(cc)
        .args(["-std=gnu11", "-Wall", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run the C compiler");
    assert!(
        built.status.success(),
        "{cc} failed on {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(&exe).output().expect("run uapi_layout");
    let _ = std::fs::remove_file(&exe);
    assert!(run.status.success(), "uapi_layout failed");
    Some(String::from_utf8(run.stdout).expect("ASCII output"))
}

/// Every constant that the headers define, with its Rust value.
macro_rules! consts {
    ($($family:literal: $($m:ident::$name:ident),* ;)*) => {
        vec![$($(($family, stringify!($name), $m::$name as i128)),*),*]
    };
}

fn rust_consts() -> Vec<(&'static str, &'static str, i128)> {
    consts! {
        "dma_buf": dma_buf::DMA_BUF_BASE, dma_buf::DMA_BUF_SYNC_READ, dma_buf::DMA_BUF_SYNC_WRITE,
            dma_buf::DMA_BUF_SYNC_RW, dma_buf::DMA_BUF_SYNC_START, dma_buf::DMA_BUF_SYNC_END,
            dma_buf::DMA_BUF_SYNC_VALID_FLAGS_MASK, dma_buf::DMA_BUF_NAME_LEN,
            dma_buf::DMA_BUF_MAGIC;
        "sync_file": sync_file::SYNC_IOC_MAGIC;
        "sw_sync": sw_sync::SW_SYNC_IOC_MAGIC;
        "udmabuf": udmabuf::UDMABUF_FLAGS_CLOEXEC;
        "dma_heap": dma_heap::DMA_HEAP_IOC_MAGIC, dma_heap::DMA_HEAP_VALID_FD_FLAGS,
            dma_heap::DMA_HEAP_VALID_HEAP_FLAGS;
        "drm": drm::DRM_IOCTL_BASE, drm::DRM_COMMAND_BASE, drm::DRM_COMMAND_END,
            drm::DRM_CLOEXEC, drm::DRM_RDWR, drm::DRM_IOCTL_SET_MASTER,
            drm::DRM_IOCTL_DROP_MASTER, drm::DRM_CAP_DUMB_BUFFER,
            drm::DRM_CAP_VBLANK_HIGH_CRTC, drm::DRM_CAP_DUMB_PREFERRED_DEPTH,
            drm::DRM_CAP_DUMB_PREFER_SHADOW, drm::DRM_CAP_PRIME, drm::DRM_PRIME_CAP_IMPORT,
            drm::DRM_PRIME_CAP_EXPORT, drm::DRM_CAP_TIMESTAMP_MONOTONIC,
            drm::DRM_CAP_ASYNC_PAGE_FLIP, drm::DRM_CAP_CURSOR_WIDTH, drm::DRM_CAP_CURSOR_HEIGHT,
            drm::DRM_CAP_ADDFB2_MODIFIERS, drm::DRM_CAP_PAGE_FLIP_TARGET,
            drm::DRM_CAP_CRTC_IN_VBLANK_EVENT, drm::DRM_CAP_SYNCOBJ,
            drm::DRM_CAP_SYNCOBJ_TIMELINE, drm::DRM_SYNCOBJ_CREATE_SIGNALED,
            drm::DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
            drm::DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
            drm::DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, drm::DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
            drm::DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE, drm::DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE,
            drm::DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED, drm::DRM_VGEM_FENCE_ATTACH,
            drm::DRM_VGEM_FENCE_SIGNAL, drm::VGEM_FENCE_WRITE;
    }
}

/// Gaps between the fields the header declares (implicit padding).
fn holes(h: &Header, s: &str) -> Vec<(usize, usize)> {
    let mut fields: Vec<_> = h
        .fields
        .iter()
        .filter(|(k, _)| k.0 == s)
        .map(|(_, v)| *v)
        .collect();
    fields.sort();
    let mut end = 0;
    let mut out = Vec::new();
    for (off, size) in fields {
        if off > end {
            out.push((end, off - end));
        }
        end = end.max(off + size);
    }
    out
}

#[test]
fn uapi_matches_installed_headers() {
    let Some(text) = c_output() else { return };
    let h = parse(&text);
    let drm_missing = h.missing_families.contains("drm");
    let is_drm_struct = |n: &str| drm::STRUCTS.iter().any(|s| s.name == n);
    let mut skipped = Vec::new();
    let (mut n_structs, mut n_fields, mut n_ioctls, mut n_consts) = (0, 0, 0, 0);

    for s in uapi::structs() {
        if (drm_missing && is_drm_struct(s.name)) || h.absent_structs.contains(s.name) {
            skipped.push(s.name.to_string());
            continue;
        }
        let c_size = *h
            .structs
            .get(s.name)
            .unwrap_or_else(|| panic!("header lacks {}", s.name));
        let mut rust_end = s.size;
        for f in s.fields {
            let key = (s.name.to_string(), f.name.to_string());
            if h.absent_fields.contains(&key) {
                skipped.push(format!("{}.{}", s.name, f.name));
                rust_end = rust_end.min(f.offset);
                continue;
            }
            match h.fields.get(&key) {
                Some(&c) => assert_eq!(
                    (f.offset, f.size),
                    c,
                    "{}.{} (offset, size)",
                    s.name,
                    f.name
                ),
                None => assert!(
                    holes(&h, s.name).contains(&(f.offset, f.size)),
                    "{}.{} is neither in the header nor its padding",
                    s.name,
                    f.name
                ),
            }
            n_fields += 1;
        }
        for ((cs, cf), _) in h.fields.iter().filter(|(k, _)| k.0 == s.name) {
            assert!(
                s.fields.iter().any(|f| f.name == cf),
                "{cs}.{cf} missing in Rust"
            );
        }
        let c_end = h
            .grown_fields
            .iter()
            .filter(|(k, _)| k.0 == s.name)
            .map(|(_, &off)| off)
            .min()
            .unwrap_or(c_size);
        assert_eq!(
            rust_end, c_end,
            "sizeof {} (Rust {}, header {c_size})",
            s.name, s.size
        );
        n_structs += 1;
    }
    for c in h.structs.keys() {
        assert!(
            uapi::structs().any(|s| s.name == c),
            "struct {c} missing in Rust"
        );
    }

    for d in uapi::ioctls() {
        let is_drm = drm::IOCTLS.contains(d);
        if (drm_missing && is_drm) || h.absent_ioctls.contains(d.name) {
            skipped.push(d.name.to_string());
            continue;
        }
        let c = *h
            .ioctls
            .get(d.name)
            .unwrap_or_else(|| panic!("header lacks {}", d.name));
        let resized = h
            .absent_fields
            .iter()
            .chain(h.grown_fields.keys())
            .any(|k| k.0 == d.arg);
        if resized {
            // Same command, encoded with the header's (older or newer) size.
            let same = |x: u32| (ioctl::ioc_dir(x), ioctl::ioc_type(x), ioctl::ioc_nr(x));
            assert_eq!(same(d.cmd), same(c), "{}", d.name);
            assert_eq!(ioctl::ioc_size(c), h.structs[d.arg], "{} size", d.name);
        } else {
            assert_eq!(
                d.cmd, c,
                "{}: Rust {:#010x}, header {c:#010x}",
                d.name, d.cmd
            );
        }
        n_ioctls += 1;
    }
    for c in h.ioctls.keys() {
        assert!(
            uapi::ioctls().any(|d| d.name == c),
            "ioctl {c} missing in Rust"
        );
    }

    let consts = rust_consts();
    for &(family, name, value) in &consts {
        if (drm_missing && family == "drm") || h.absent_consts.contains(name) {
            skipped.push(name.to_string());
            continue;
        }
        let c = *h
            .consts
            .get(name)
            .unwrap_or_else(|| panic!("header lacks {name}"));
        assert_eq!(value, c, "{name}");
        n_consts += 1;
    }
    for c in h.consts.keys() {
        assert!(consts.iter().any(|x| x.1 == c), "const {c} missing in Rust");
    }

    println!(
        "checked {n_structs} structs, {n_fields} fields, {n_ioctls} ioctls, {n_consts} constants"
    );
    if !h.own.is_empty() {
        println!("defined by the test program, not a header: {:?}", h.own);
    }
    if drm_missing {
        println!("skipped: no DRM headers (Debian: apt-get install libdrm-dev)");
    }
    if !skipped.is_empty() {
        println!("not in the installed headers (older than 6.12): {skipped:?}");
    }
    // Everything outside DRM comes from headers every Linux C toolchain has.
    assert!(n_structs >= 12 && n_ioctls >= 14 && n_consts >= 14);
}
