//! `sync_file`: an explicit-sync handle on one fence (drivers/dma-buf/sync_file.c,
//! include/uapi/linux/sync_file.h, Linux 6.12).
//!
//! A [`SyncFile`] owns one fence reference (possibly a container) that never
//! changes for the life of the file, and an optional user name of at most 31
//! bytes. It is what `SYNC_IOC_MERGE`, `SW_SYNC_IOC_CREATE_FENCE` and
//! `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` hand out; the file-descriptor side (poll
//! reporting only POLLIN, passing between processes) belongs to the front
//! ends, which call this module for every answer.

use std::borrow::Cow;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fence::merge::merge_refs;
use crate::fence::unwrap::{for_each_leaf, leaf_slice, unwrap};
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
///
/// # Lifetime
/// The names borrow from the [`SyncFile`] queried when its leaves can be
/// reached without walking a chain (a plain fence or an array); a chain's
/// leaves are owned copies. [`FenceInfo::into_owned`] detaches an entry.
#[doc(alias = "sync_fence_info")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FenceInfo<'a> {
    /// The fence's timeline name (`obj_name`).
    pub obj_name: Cow<'a, str>,
    /// The fence's driver name.
    pub driver_name: Cow<'a, str>,
    /// 1 signalled, 0 pending, negative errno if signalled with an error.
    pub status: i32,
    /// CLOCK_MONOTONIC ns of the signal, 0 while pending.
    pub timestamp_ns: u64,
}

impl<'a> FenceInfo<'a> {
    /// The entry of `f`, its status read now, names borrowed from `f`.
    fn borrowed(f: &'a Fence) -> FenceInfo<'a> {
        FenceInfo::with_names(
            f,
            Cow::Borrowed(f.timeline_name()),
            Cow::Borrowed(f.driver_name()),
        )
    }

    fn with_names(f: &Fence, obj_name: Cow<'a, str>, driver_name: Cow<'a, str>) -> FenceInfo<'a> {
        let status = f.status();
        FenceInfo {
            obj_name,
            driver_name,
            status,
            timestamp_ns: if status != 0 {
                f.timestamp().unwrap_or(0)
            } else {
                0
            },
        }
    }

    /// The entry of `f`, its status read now, names copied.
    fn copied(f: &Fence) -> FenceInfo<'a> {
        FenceInfo::with_names(
            f,
            Cow::Owned(f.timeline_name().to_owned()),
            Cow::Owned(f.driver_name().to_owned()),
        )
    }

    /// The same entry owning its names, free of the file's lifetime.
    pub fn into_owned(self) -> FenceInfo<'static> {
        FenceInfo {
            obj_name: Cow::Owned(self.obj_name.into_owned()),
            driver_name: Cow::Owned(self.driver_name.into_owned()),
            status: self.status,
            timestamp_ns: self.timestamp_ns,
        }
    }
}

/// What `SYNC_IOC_FILE_INFO` reports about the file.
///
/// # Lifetime
/// Borrows from the [`SyncFile`] queried (see [`FenceInfo`]);
/// [`FileInfo::into_owned`] detaches it.
#[doc(alias = "sync_file_info")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo<'a> {
    /// [`SyncFile::name`].
    pub name: Cow<'a, str>,
    /// The file's status: in a query call (no entries asked for) the status
    /// of the whole fence; in a fetch call 1, or the status of the first leaf
    /// whose status is 0 or negative.
    pub status: i32,
    /// The number of leaf fences (containers unwrapped).
    pub num_fences: u32,
    /// One entry per leaf in unwrap order (fetch call), empty in a query call.
    pub fences: Vec<FenceInfo<'a>>,
}

impl FileInfo<'_> {
    /// The same answer owning its strings, free of the file's lifetime.
    pub fn into_owned(self) -> FileInfo<'static> {
        FileInfo {
            name: Cow::Owned(self.name.into_owned()),
            status: self.status,
            num_fences: self.num_fences,
            fences: self.fences.into_iter().map(FenceInfo::into_owned).collect(),
        }
    }
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
        self.name_cow().into_owned()
    }

    /// [`SyncFile::name`], borrowed when it is the user name.
    fn name_cow(&self) -> Cow<'_, str> {
        if !self.user_name.is_empty() {
            return Cow::Borrowed(&self.user_name);
        }
        let f = &self.fence;
        let (driver, timeline) = (f.driver_name(), f.timeline_name());
        // "<driver>-<timeline><context>-<seqno as i64>", without the
        // formatting machinery: this is on FILE_INFO's path.
        let mut name = String::with_capacity(driver.len() + timeline.len() + 42);
        name.push_str(driver);
        name.push('-');
        name.push_str(timeline);
        push_decimal(&mut name, f.context(), false);
        name.push('-');
        let seqno = f.seqno() as i64;
        push_decimal(&mut name, seqno.unsigned_abs(), seqno < 0);
        Cow::Owned(name)
    }

    /// Merges two files into a new one named `name` (`SYNC_IOC_MERGE`): the
    /// pending leaves of both, one per context (the later), as one fence, an
    /// array when several remain, a signalled stub when none do (§2.4).
    /// `name` is cut at its first NUL and to 31 bytes; an empty name leaves
    /// the new file's name to be synthesised. Both inputs are unchanged.
    #[doc(alias = "SYNC_IOC_MERGE")]
    pub fn merge(&self, other: &SyncFile, name: &[u8]) -> SyncFile {
        let fence = merge_refs([&self.fence, &other.fence]);
        SyncFile {
            fence,
            user_name: name_from_bytes(name),
        }
    }

    /// The number of leaf fences (containers unwrapped).
    pub fn num_fences(&self) -> usize {
        let mut n = 0;
        for_each_leaf(&self.fence, |_| n += 1);
        n
    }

    /// `SYNC_IOC_FILE_INFO`: `num_fences` is the number of entries the caller
    /// has room for; 0 asks only for the count and the status.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) if `num_fences` is not 0 and smaller
    /// than the number of leaves.
    #[doc(alias = "SYNC_IOC_FILE_INFO")]
    pub fn info(&self, num_fences: u32) -> Result<FileInfo<'_>> {
        // Plain fences and arrays lend their leaves and names; a chain is
        // walked once and its leaves' names are copied.
        match leaf_slice(&self.fence) {
            Some(leaves) => self.info_of(leaves, num_fences, FenceInfo::borrowed),
            None => {
                let walked: Vec<Fence> = unwrap(&self.fence).collect();
                self.info_of(&walked, num_fences, FenceInfo::copied)
            }
        }
    }

    fn info_of<'a, 'l>(
        &'a self,
        leaves: &'l [Fence],
        num_fences: u32,
        entry: impl Fn(&'l Fence) -> FenceInfo<'a>,
    ) -> Result<FileInfo<'a>> {
        let count = leaves.len() as u32;
        if num_fences == 0 {
            return Ok(FileInfo {
                name: self.name_cow(),
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
        let fences: Vec<FenceInfo<'a>> = leaves.iter().map(entry).collect();
        let status = fences
            .iter()
            .map(|i| i.status)
            .find(|&s| s <= 0)
            .unwrap_or(1);
        Ok(FileInfo {
            name: self.name_cow(),
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

/// Appends `value` in decimal, after a minus sign if `negative`.
fn push_decimal(out: &mut String, mut value: u64, negative: bool) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        out.push('-');
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// A name field as the kernel reads it: up to the first NUL, at most 31
/// bytes, invalid UTF-8 replaced.
pub fn name_from_bytes(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(NAME_MAX)];
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::fence::{array_create, chain_create, context_alloc, FenceOps};

    struct Named;

    impl FenceOps for Named {
        fn driver_name(&self) -> &str {
            "drv"
        }
        fn timeline_name(&self) -> &str {
            "tl"
        }
    }

    fn fence(context: u64, seqno: u64) -> Fence {
        Fence::new64(Arc::new(Named), context, seqno)
    }

    /// `sync_file_get_name`: the synthesised name prints the context as an
    /// unsigned and the seqno as a signed 64-bit number.
    #[test]
    fn sync_file_get_name_synthesised() {
        for (ctx, seqno) in [
            (0, 0),
            (7, 1),
            (u64::MAX, u64::MAX),
            (10, 1 << 63),
            (123_456_789, 9_999_999_999),
        ] {
            let file = SyncFile::new(fence(ctx, seqno));
            assert_eq!(file.name(), format!("drv-tl{ctx}-{}", seqno as i64));
        }
    }

    /// `sync_file_ioctl_fence_info` over a plain fence, an array and a
    /// chain: the same entries whether names are lent or copied.
    #[test]
    fn sync_file_ioctl_fence_info_entries() {
        let a = fence(context_alloc(1), 1);
        let b = fence(context_alloc(1), 2);
        b.signal().unwrap();
        let array = array_create(vec![a.clone(), b.clone()], context_alloc(1), 1, false).unwrap();
        let chain = chain_create(Some(a.clone()), b.clone(), 5);
        for f in [array, chain] {
            let file = SyncFile::new(f);
            let info = file.info(2).unwrap();
            assert_eq!(info.num_fences, 2);
            assert_eq!(info.status, 0);
            let statuses: Vec<i32> = info.fences.iter().map(|i| i.status).collect();
            assert!(statuses.contains(&0) && statuses.contains(&1));
            for i in &info.fences {
                assert_eq!(i.obj_name, "tl");
                assert_eq!(i.driver_name, "drv");
                assert_eq!(i.timestamp_ns != 0, i.status == 1);
            }
            assert_eq!(info.clone().into_owned(), info);
            assert!(matches!(file.info(1), Err(Error::Invalid(_))));
        }
        let plain = SyncFile::new(a);
        let info = plain.info(0).unwrap();
        assert_eq!((info.num_fences, info.status), (1, 0));
        assert!(info.fences.is_empty());
    }
}
