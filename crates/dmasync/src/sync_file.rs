//! `sync_file`: an explicit-sync handle on one fence (drivers/dma-buf/sync_file.c,
//! include/uapi/linux/sync_file.h, Linux 6.12).
//!
//! A [`SyncFile`] owns one fence reference (possibly a container) that never
//! changes for the life of the file, and an optional user name of at most 31
//! bytes. It is what `SYNC_IOC_MERGE`, `SW_SYNC_IOC_CREATE_FENCE` and
//! `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` hand out; the file-descriptor side (poll
//! reporting only POLLIN, passing between processes) belongs to the front
//! ends, which call this module for every answer.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::fence::merge::unwrap_merge;
use crate::fence::unwrap::unwrap;
use crate::fence::{Fence, Interrupt};

/// The longest name a sync file or a fence-info field holds, without the NUL.
pub const NAME_MAX: usize = 31;

/// An explicit-sync file: one immutable fence and a user name.
///
/// Cloning gives another handle on the same file (as `dup` does); the fence
/// is shared, never copied.
#[doc(alias = "sync_file")]
#[derive(Clone, Debug)]
pub struct SyncFile {
    fence: Fence,
    user_name: String,
}

/// What `SYNC_IOC_FILE_INFO` reports about one leaf fence.
#[doc(alias = "sync_fence_info")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FenceInfo {
    /// The fence's timeline name (`obj_name`).
    pub obj_name: String,
    /// The fence's driver name.
    pub driver_name: String,
    /// 1 signalled, 0 pending, negative errno if signalled with an error.
    pub status: i32,
    /// CLOCK_MONOTONIC ns of the signal, 0 while pending.
    pub timestamp_ns: u64,
}

/// What `SYNC_IOC_FILE_INFO` reports about the file.
#[doc(alias = "sync_file_info")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// [`SyncFile::name`].
    pub name: String,
    /// The file's status: in a query call (no entries asked for) the status
    /// of the whole fence; in a fetch call 1, or the status of the first leaf
    /// whose status is 0 or negative.
    pub status: i32,
    /// The number of leaf fences (containers unwrapped).
    pub num_fences: u32,
    /// One entry per leaf in unwrap order (fetch call), empty in a query call.
    pub fences: Vec<FenceInfo>,
}

impl SyncFile {
    /// A sync file holding its own reference to `fence`, with no user name.
    #[doc(alias = "sync_file_create")]
    pub fn new(fence: Fence) -> SyncFile {
        SyncFile {
            fence,
            user_name: String::new(),
        }
    }

    /// The file's fence.
    #[doc(alias = "sync_file_get_fence")]
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// The user name if one is set, else `"<driver>-<timeline><context>-<seqno>"`
    /// with the seqno printed as a signed 64-bit number, as the kernel
    /// synthesises it. Not truncated: the UAPI cuts it to 31 bytes.
    #[doc(alias = "sync_file_get_name")]
    pub fn name(&self) -> String {
        if !self.user_name.is_empty() {
            return self.user_name.clone();
        }
        let f = &self.fence;
        format!(
            "{}-{}{}-{}",
            f.driver_name(),
            f.timeline_name(),
            f.context(),
            f.seqno() as i64
        )
    }

    /// Merges two files into a new one named `name` (`SYNC_IOC_MERGE`): the
    /// pending leaves of both, one per context (the later), as one fence, an
    /// array when several remain, a signalled stub when none do (§2.4).
    /// `name` is cut at its first NUL and to 31 bytes; an empty name leaves
    /// the new file's name to be synthesised. Both inputs are unchanged.
    #[doc(alias = "SYNC_IOC_MERGE")]
    pub fn merge(&self, other: &SyncFile, name: &[u8]) -> SyncFile {
        let fence = unwrap_merge(&[self.fence.clone(), other.fence.clone()]);
        SyncFile {
            fence,
            user_name: name_from_bytes(name),
        }
    }

    /// The number of leaf fences (containers unwrapped).
    pub fn num_fences(&self) -> usize {
        unwrap(&self.fence).count()
    }

    /// `SYNC_IOC_FILE_INFO`: `num_fences` is the number of entries the caller
    /// has room for; 0 asks only for the count and the status.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) if `num_fences` is not 0 and smaller
    /// than the number of leaves.
    #[doc(alias = "SYNC_IOC_FILE_INFO")]
    pub fn info(&self, num_fences: u32) -> Result<FileInfo> {
        let leaves: Vec<Fence> = unwrap(&self.fence).collect();
        let count = leaves.len() as u32;
        if num_fences == 0 {
            return Ok(FileInfo {
                name: self.name(),
                status: self.fence.status(),
                num_fences: count,
                fences: Vec::new(),
            });
        }
        if num_fences < count {
            return Err(Error::Invalid(
                "num_fences smaller than the number of fences",
            ));
        }
        let fences: Vec<FenceInfo> = leaves
            .iter()
            .map(|f| {
                let status = f.status();
                FenceInfo {
                    obj_name: f.timeline_name().to_owned(),
                    driver_name: f.driver_name().to_owned(),
                    status,
                    timestamp_ns: if status != 0 {
                        f.timestamp().unwrap_or(0)
                    } else {
                        0
                    },
                }
            })
            .collect();
        let status = fences
            .iter()
            .map(|i| i.status)
            .find(|&s| s <= 0)
            .unwrap_or(1);
        Ok(FileInfo {
            name: self.name(),
            status,
            num_fences: count,
            fences,
        })
    }

    /// `SYNC_IOC_SET_DEADLINE`: forwards an absolute CLOCK_MONOTONIC deadline
    /// to the fence (containers forward it to their members).
    #[doc(alias = "SYNC_IOC_SET_DEADLINE")]
    pub fn set_deadline(&self, deadline_ns: u64) {
        self.fence.set_deadline(deadline_ns);
    }

    /// Whether the file would poll readable: its fence has signalled
    /// (with or without an error).
    pub fn is_signaled(&self) -> bool {
        self.fence.is_signaled()
    }

    /// Waits for the fence, as `poll(POLLIN)` with a timeout would
    /// (`None`: for ever). See [`Fence::wait_timeout`].
    ///
    /// # Errors
    /// [`Error::TimedOut`], or [`Error::Interrupted`] if `intr` was raised.
    pub fn wait(&self, timeout: Option<Duration>, intr: Option<&Interrupt>) -> Result<()> {
        self.fence.wait_timeout(timeout, intr).map(|_| ())
    }
}

/// A name field as the kernel reads it: up to the first NUL, at most 31
/// bytes, invalid UTF-8 replaced.
pub fn name_from_bytes(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(NAME_MAX)];
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
