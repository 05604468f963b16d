//! Values transcribed from kernel-spec.md §8 and its vgem errata, checked
//! against what the encoders and the struct macro compute.

use super::dma_buf::*;
use super::dma_heap::*;
use super::drm::*;
use super::sw_sync::*;
use super::sync_file::*;
use super::udmabuf::*;
use super::*;

/// Every ioctl of the module with its value from the spec (6.12 sizes).
const SPEC_IOCTLS: &[(&str, u32)] = &[
    ("DMA_BUF_IOCTL_SYNC", 0x4008_6200),
    ("DMA_BUF_SET_NAME", 0x4008_6201),
    ("DMA_BUF_SET_NAME_A", 0x4004_6201),
    ("DMA_BUF_SET_NAME_B", 0x4008_6201),
    ("DMA_BUF_IOCTL_EXPORT_SYNC_FILE", 0xC008_6202),
    ("DMA_BUF_IOCTL_IMPORT_SYNC_FILE", 0x4008_6203),
    ("SYNC_IOC_MERGE", 0xC030_3E03),
    ("SYNC_IOC_FILE_INFO", 0xC038_3E04),
    ("SYNC_IOC_SET_DEADLINE", 0x4010_3E05),
    ("SW_SYNC_IOC_CREATE_FENCE", 0xC028_5700),
    ("SW_SYNC_IOC_INC", 0x4004_5701),
    ("SW_SYNC_GET_DEADLINE", 0xC010_5702),
    ("UDMABUF_CREATE", 0x4018_7542),
    ("UDMABUF_CREATE_LIST", 0x4008_7543),
    ("DMA_HEAP_IOCTL_ALLOC", 0xC018_4800),
    ("DRM_IOCTL_VERSION", 0xC040_6400),
    ("DRM_IOCTL_GET_UNIQUE", 0xC010_6401),
    ("DRM_IOCTL_GET_MAGIC", 0x8004_6402),
    ("DRM_IOCTL_GET_CLIENT", 0xC028_6405),
    ("DRM_IOCTL_SET_VERSION", 0xC010_6407),
    ("DRM_IOCTL_AUTH_MAGIC", 0x4004_6411),
    ("DRM_IOCTL_GEM_CLOSE", 0x4008_6409),
    ("DRM_IOCTL_GEM_FLINK", 0xC008_640A),
    ("DRM_IOCTL_GEM_OPEN", 0xC010_640B),
    ("DRM_IOCTL_GET_CAP", 0xC010_640C),
    ("DRM_IOCTL_PRIME_HANDLE_TO_FD", 0xC00C_642D),
    ("DRM_IOCTL_PRIME_FD_TO_HANDLE", 0xC00C_642E),
    ("DRM_IOCTL_MODE_CREATE_DUMB", 0xC020_64B2),
    ("DRM_IOCTL_MODE_MAP_DUMB", 0xC010_64B3),
    ("DRM_IOCTL_MODE_DESTROY_DUMB", 0xC004_64B4),
    ("DRM_IOCTL_SYNCOBJ_CREATE", 0xC008_64BF),
    ("DRM_IOCTL_SYNCOBJ_DESTROY", 0xC008_64C0),
    ("DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD", 0xC010_64C1),
    ("DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE", 0xC010_64C2),
    ("DRM_IOCTL_SYNCOBJ_WAIT", 0xC028_64C3),
    ("DRM_IOCTL_SYNCOBJ_RESET", 0xC010_64C4),
    ("DRM_IOCTL_SYNCOBJ_SIGNAL", 0xC010_64C5),
    ("DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT", 0xC030_64CA),
    ("DRM_IOCTL_SYNCOBJ_QUERY", 0xC018_64CB),
    ("DRM_IOCTL_SYNCOBJ_TRANSFER", 0xC020_64CC),
    ("DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL", 0xC018_64CD),
    ("DRM_IOCTL_SYNCOBJ_EVENTFD", 0xC018_64CF),
    ("DRM_IOCTL_VGEM_FENCE_ATTACH", 0xC010_6441),
    ("DRM_IOCTL_VGEM_FENCE_SIGNAL", 0x4008_6442),
];

/// Every struct with its size from the spec.
const SPEC_SIZES: &[(&str, usize)] = &[
    ("dma_buf_sync", 8),
    ("dma_buf_export_sync_file", 8),
    ("dma_buf_import_sync_file", 8),
    ("sync_merge_data", 48),
    ("sync_fence_info", 80),
    ("sync_file_info", 56),
    ("sync_set_deadline", 16),
    ("sw_sync_create_fence_data", 40),
    ("sw_sync_get_deadline", 16),
    ("udmabuf_create", 24),
    ("udmabuf_create_item", 24),
    ("udmabuf_create_list", 8),
    ("dma_heap_allocation_data", 24),
    ("drm_version", 64),
    ("drm_get_cap", 16),
    ("drm_unique", 16),
    ("drm_auth", 4),
    ("drm_client", 40),
    ("drm_set_version", 16),
    ("drm_gem_close", 8),
    ("drm_gem_flink", 8),
    ("drm_gem_open", 16),
    ("drm_prime_handle", 12),
    ("drm_mode_create_dumb", 32),
    ("drm_mode_map_dumb", 16),
    ("drm_mode_destroy_dumb", 4),
    ("drm_syncobj_create", 8),
    ("drm_syncobj_destroy", 8),
    ("drm_syncobj_handle", 16),
    ("drm_syncobj_transfer", 32),
    ("drm_syncobj_wait", 40),
    ("drm_syncobj_timeline_wait", 48),
    ("drm_syncobj_eventfd", 24),
    ("drm_syncobj_array", 16),
    ("drm_syncobj_timeline_array", 24),
    ("drm_vgem_fence_attach", 16),
    ("drm_vgem_fence_signal", 8),
];

#[test]
fn ioctl_numbers_match_the_spec() {
    for &(name, value) in SPEC_IOCTLS {
        let d = ioctls()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(d.cmd, value, "{name}: {:#010x} != {value:#010x}", d.cmd);
    }
    assert_eq!(
        ioctls().count(),
        SPEC_IOCTLS.len(),
        "an ioctl is not in the spec table"
    );
}

#[test]
fn ioctl_numbers_are_unique_per_family() {
    let all: Vec<_> = ioctls().collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            // Only SET_NAME's native alias may repeat a number.
            let alias = a.name == "DMA_BUF_SET_NAME" && b.name == "DMA_BUF_SET_NAME_B";
            assert!(a.cmd != b.cmd || alias, "{} and {} collide", a.name, b.name);
        }
    }
}

#[test]
fn struct_sizes_match_the_spec() {
    for &(name, size) in SPEC_SIZES {
        let d = structs()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(d.size, size, "{name}");
        let end = d.fields.last().map_or(0, |f| f.offset + f.size);
        assert_eq!(end, size, "{name}: trailing padding");
    }
    assert_eq!(structs().count(), SPEC_SIZES.len());
}

#[test]
fn field_offsets_match_the_spec() {
    let off = |s: &str, f: &str| {
        let d = structs().find(|d| d.name == s).unwrap();
        d.fields.iter().find(|x| x.name == f).unwrap().offset
    };
    assert_eq!(off("sync_merge_data", "fd2"), 32);
    assert_eq!(off("sync_merge_data", "pad"), 44);
    assert_eq!(off("sync_fence_info", "driver_name"), 32);
    assert_eq!(off("sync_fence_info", "timestamp_ns"), 72);
    assert_eq!(off("sync_file_info", "sync_fence_info"), 48);
    assert_eq!(off("sw_sync_create_fence_data", "name"), 4);
    assert_eq!(off("sw_sync_create_fence_data", "fence"), 36);
    assert_eq!(off("sw_sync_get_deadline", "fence_fd"), 12);
    assert_eq!(off("drm_syncobj_wait", "deadline_nsec"), 32);
    assert_eq!(off("drm_syncobj_timeline_wait", "deadline_nsec"), 40);
    assert_eq!(off("drm_syncobj_eventfd", "fd"), 16);
    assert_eq!(off("drm_syncobj_transfer", "flags"), 24);
    assert_eq!(off("drm_version", "name_len"), 16);
    assert_eq!(off("drm_vgem_fence_attach", "out_fence"), 8);
}

#[test]
fn flag_values_match_the_spec() {
    assert_eq!(
        [DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW],
        [1, 2, 3]
    );
    assert_eq!([DMA_BUF_SYNC_START, DMA_BUF_SYNC_END], [0, 4]);
    assert_eq!(DMA_BUF_SYNC_VALID_FLAGS_MASK, 7);
    assert_eq!(DMA_BUF_NAME_LEN, NAME_LEN);
    assert_eq!(DMA_BUF_MAGIC.to_be_bytes(), *b"DMAB");
    assert_eq!(UDMABUF_FLAGS_CLOEXEC, 1);
    assert_eq!(DMA_HEAP_VALID_FD_FLAGS, 0x80003);
    assert_eq!(DMA_HEAP_VALID_HEAP_FLAGS, 0);
    assert_eq!(DRM_SYNCOBJ_CREATE_SIGNALED, 1);
    assert_eq!(DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, 1);
    assert_eq!(DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, 1);
    assert_eq!(
        [
            DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
            DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
            DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
            DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE,
        ],
        [1, 2, 4, 8]
    );
    assert_eq!(DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED, 1);
    assert_eq!([DRM_CAP_SYNCOBJ, DRM_CAP_SYNCOBJ_TIMELINE], [0x13, 0x14]);
    assert_eq!((DRM_COMMAND_BASE, DRM_COMMAND_END), (0x40, 0xA0));
    assert_eq!(DRM_CLOEXEC | DRM_RDWR, 0x80002);
    assert_eq!(VGEM_FENCE_WRITE, 1);
}

#[test]
fn burned_sync_file_numbers_are_not_used() {
    for d in sync_file::IOCTLS {
        assert!(
            !SYNC_IOC_BURNED_NRS.contains(&ioctl::ioc_nr(d.cmd)),
            "{}",
            d.name
        );
    }
    assert_eq!(SYNC_IOC_LEGACY_FENCE_INFO, 0xC028_3E02);
    assert_eq!(ioctl_name(SYNC_IOC_LEGACY_FENCE_INFO), None);
}

#[test]
fn ioctl_name_finds_the_kernel_name() {
    assert_eq!(ioctl_name(0xC030_3E03), Some("SYNC_IOC_MERGE"));
    assert_eq!(ioctl_name(0x4008_6442), Some("DRM_IOCTL_VGEM_FENCE_SIGNAL"));
    assert_eq!(
        ioctl_name(0xC020_64C3),
        None,
        "the pre-6.5 WAIT size is not ours"
    );
}

/// Runs `$check` for every struct type of the module.
macro_rules! for_each_struct {
    ($check:ident) => {
        $check!(
            DmaBufSync,
            DmaBufExportSyncFile,
            DmaBufImportSyncFile,
            SyncMergeData,
            SyncFenceInfo,
            SyncFileInfo,
            SyncSetDeadline,
            SwSyncCreateFenceData,
            SwSyncGetDeadline,
            UdmabufCreate,
            UdmabufCreateItem,
            UdmabufCreateList,
            DmaHeapAllocationData,
            DrmVersion,
            DrmGetCap,
            DrmGemClose,
            DrmPrimeHandle,
            DrmModeCreateDumb,
            DrmModeMapDumb,
            DrmModeDestroyDumb,
            DrmSyncobjCreate,
            DrmSyncobjDestroy,
            DrmSyncobjHandle,
            DrmSyncobjTransfer,
            DrmSyncobjWait,
            DrmSyncobjTimelineWait,
            DrmSyncobjEventfd,
            DrmSyncobjArray,
            DrmSyncobjTimelineArray,
            DrmVgemFenceAttach,
            DrmVgemFenceSignal,
            DrmUnique,
            DrmAuth,
            DrmClient,
            DrmSetVersion,
            DrmGemFlink,
            DrmGemOpen
        )
    };
}

#[test]
fn bytes_round_trip_through_every_struct() {
    macro_rules! check {
        ($($t:ident),*) => {0usize $(+ {
            let pattern: Vec<u8> = (0..$t::SIZE + 3).map(|i| (i * 7 + 1) as u8).collect();
            let v = $t::from_bytes(&pattern).expect(stringify!($t));
            assert_ne!(v, $t::default(), stringify!($t));
            assert_eq!(&v.to_bytes()[..], &pattern[..$t::SIZE], stringify!($t));
            assert_eq!($t::from_bytes(&v.to_bytes()), Some(v), stringify!($t));
            assert_eq!($t::default().to_bytes(), [0; $t::SIZE], stringify!($t));
            1
        })*};
    }
    let count = for_each_struct!(check);
    assert_eq!(count, structs().count());
}

#[test]
fn short_buffer_gives_none() {
    macro_rules! check {
        ($($t:ident),*) => {$({
            let bytes = [0xA5u8; 128];
            for len in 0..$t::SIZE {
                assert_eq!($t::from_bytes(&bytes[..len]), None, "{} {len}", stringify!($t));
            }
            assert!($t::from_bytes(&bytes[..$t::SIZE]).is_some(), stringify!($t));
        })*};
    }
    for_each_struct!(check);
}

#[test]
fn fields_land_at_their_c_offsets() {
    let m = SyncMergeData {
        name: write_name("merged"),
        fd2: 0x0102_0304,
        fence: -1,
        flags: 0,
        pad: 0xAABB_CCDD,
    };
    let b = m.to_bytes();
    assert_eq!(&b[..7], b"merged\0");
    assert_eq!(b[32..36], 0x0102_0304i32.to_ne_bytes());
    assert_eq!(b[36..40], [0xFF; 4]);
    assert_eq!(b[44..48], 0xAABB_CCDDu32.to_ne_bytes());

    let w = DrmSyncobjWait {
        deadline_nsec: 0x1122_3344_5566_7788,
        ..Default::default()
    };
    assert_eq!(w.to_bytes()[32..40], 0x1122_3344_5566_7788u64.to_ne_bytes());
    let c = SwSyncCreateFenceData::from_bytes(&{
        let mut b = [0u8; 40];
        b[36..40].copy_from_slice(&7i32.to_ne_bytes());
        b
    })
    .unwrap();
    assert_eq!(c.fence, 7);
}

#[test]
fn names_are_read_up_to_nul_and_at_most_31_bytes() {
    let mut field = [b'x'; NAME_LEN];
    assert_eq!(read_name(&field).len(), 31, "byte 31 is the kernel's NUL");
    field[5] = 0;
    assert_eq!(read_name(&field), b"xxxxx");
    assert_eq!(read_name(&[0; NAME_LEN]), b"");
}

#[test]
fn names_are_written_truncated_with_a_terminator() {
    let long = "a".repeat(40);
    let f = write_name(&long);
    assert_eq!(&f[..31], "a".repeat(31).as_bytes());
    assert_eq!(f[31], 0);
    let f = write_name("ab\0cd");
    assert_eq!(&f[..3], b"ab\0");
    assert!(f[2..].iter().all(|&b| b == 0));
    assert_eq!(read_name(&write_name("timeline-7")), b"timeline-7");
}
