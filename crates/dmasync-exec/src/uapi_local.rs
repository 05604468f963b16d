//! Minimal private copies of the UAPI argument structs and ioctl numbers
//! (kernel-spec §8), used until the model crate's `uapi` module is
//! available; this file goes away then.
#![allow(missing_docs)]

/// `_IOC_SIZE`.
pub const fn ioc_size(cmd: u32) -> usize {
    ((cmd >> 16) & 0x3fff) as usize
}
/// `_IOC_TYPE`.
pub const fn ioc_type(cmd: u32) -> u8 {
    (cmd >> 8) as u8
}
/// The user-to-kernel direction bit (`_IOW`).
pub const fn ioc_dir_write(cmd: u32) -> bool {
    cmd >> 30 & 1 != 0
}

pub const SW_SYNC_IOC_CREATE_FENCE: u32 = 0xC028_5700;
pub const SW_SYNC_IOC_INC: u32 = 0x4004_5701;
pub const SW_SYNC_GET_DEADLINE: u32 = 0xC010_5702;
pub const SYNC_IOC_MERGE: u32 = 0xC030_3E03;
pub const SYNC_IOC_FILE_INFO: u32 = 0xC038_3E04;
pub const SYNC_IOC_SET_DEADLINE: u32 = 0x4010_3E05;

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}
fn i32_at(b: &[u8], o: usize) -> i32 {
    i32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}
fn name_at(b: &[u8], o: usize) -> [u8; 32] {
    b[o..o + 32].try_into().expect("32 bytes")
}

/// A fixed-size argument struct.
pub trait Arg: Sized {
    /// Its size in bytes, as encoded in the ioctl number.
    const SIZE: usize;
    /// Decodes `b` (exactly `SIZE` bytes).
    fn from_bytes(b: &[u8]) -> Self;
    /// Encodes it.
    fn to_bytes(&self) -> Vec<u8>;
}

impl Arg for u32 {
    const SIZE: usize = 4;
    fn from_bytes(b: &[u8]) -> u32 {
        u32_at(b, 0)
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
}

#[derive(Clone, Debug)]
pub struct SwSyncCreateFenceData {
    pub value: u32,
    pub name: [u8; 32],
    pub fence: i32,
}
impl Arg for SwSyncCreateFenceData {
    const SIZE: usize = 40;
    fn from_bytes(b: &[u8]) -> Self {
        Self { value: u32_at(b, 0), name: name_at(b, 4), fence: i32_at(b, 36) }
    }
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(40);
        v.extend_from_slice(&self.value.to_le_bytes());
        v.extend_from_slice(&self.name);
        v.extend_from_slice(&self.fence.to_le_bytes());
        v
    }
}

#[derive(Clone, Debug)]
pub struct SwSyncGetDeadline {
    pub deadline_ns: u64,
    pub pad: u32,
    pub fence_fd: i32,
}
impl Arg for SwSyncGetDeadline {
    const SIZE: usize = 16;
    fn from_bytes(b: &[u8]) -> Self {
        Self { deadline_ns: u64_at(b, 0), pad: u32_at(b, 8), fence_fd: i32_at(b, 12) }
    }
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&self.deadline_ns.to_le_bytes());
        v.extend_from_slice(&self.pad.to_le_bytes());
        v.extend_from_slice(&self.fence_fd.to_le_bytes());
        v
    }
}

#[derive(Clone, Debug)]
pub struct SyncMergeData {
    pub name: [u8; 32],
    pub fd2: i32,
    pub fence: i32,
    pub flags: u32,
    pub pad: u32,
}
impl Arg for SyncMergeData {
    const SIZE: usize = 48;
    fn from_bytes(b: &[u8]) -> Self {
        Self { name: name_at(b, 0), fd2: i32_at(b, 32), fence: i32_at(b, 36), flags: u32_at(b, 40), pad: u32_at(b, 44) }
    }
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(48);
        v.extend_from_slice(&self.name);
        v.extend_from_slice(&self.fd2.to_le_bytes());
        v.extend_from_slice(&self.fence.to_le_bytes());
        v.extend_from_slice(&self.flags.to_le_bytes());
        v.extend_from_slice(&self.pad.to_le_bytes());
        v
    }
}

#[derive(Clone, Debug)]
pub struct SyncFileInfo {
    pub name: [u8; 32],
    pub status: i32,
    pub flags: u32,
    pub num_fences: u32,
    pub pad: u32,
    pub sync_fence_info: u64,
}
impl Arg for SyncFileInfo {
    const SIZE: usize = 56;
    fn from_bytes(b: &[u8]) -> Self {
        Self {
            name: name_at(b, 0),
            status: i32_at(b, 32),
            flags: u32_at(b, 36),
            num_fences: u32_at(b, 40),
            pad: u32_at(b, 44),
            sync_fence_info: u64_at(b, 48),
        }
    }
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(56);
        v.extend_from_slice(&self.name);
        v.extend_from_slice(&self.status.to_le_bytes());
        v.extend_from_slice(&self.flags.to_le_bytes());
        v.extend_from_slice(&self.num_fences.to_le_bytes());
        v.extend_from_slice(&self.pad.to_le_bytes());
        v.extend_from_slice(&self.sync_fence_info.to_le_bytes());
        v
    }
}

#[derive(Clone, Debug)]
pub struct SyncFenceInfo {
    pub obj_name: [u8; 32],
    pub driver_name: [u8; 32],
    pub status: i32,
    pub flags: u32,
    pub timestamp_ns: u64,
}
impl SyncFenceInfo {
    pub const SIZE: usize = 80;
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(80);
        v.extend_from_slice(&self.obj_name);
        v.extend_from_slice(&self.driver_name);
        v.extend_from_slice(&self.status.to_le_bytes());
        v.extend_from_slice(&self.flags.to_le_bytes());
        v.extend_from_slice(&self.timestamp_ns.to_le_bytes());
        v
    }
}

#[derive(Clone, Debug)]
pub struct SyncSetDeadline {
    pub deadline_ns: u64,
    pub pad: u64,
}
impl Arg for SyncSetDeadline {
    const SIZE: usize = 16;
    fn from_bytes(b: &[u8]) -> Self {
        Self { deadline_ns: u64_at(b, 0), pad: u64_at(b, 8) }
    }
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.deadline_ns.to_le_bytes().to_vec();
        v.extend_from_slice(&self.pad.to_le_bytes());
        v
    }
}

/// Copies `s` into a 32-byte NUL-terminated field, truncating to 31 bytes
/// (the kernel's `strscpy`).
pub fn name32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    let b = s.as_bytes();
    let n = b.len().min(31);
    out[..n].copy_from_slice(&b[..n]);
    out
}
