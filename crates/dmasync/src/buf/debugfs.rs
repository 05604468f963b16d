//! debugfs `dma_buf/bufinfo` (`dma_buf_debug_show`, §4.11): every live
//! buffer, newest first.
//!
//! Format, per buffer: `size flags mode count exp_name ino name` (size,
//! count and inode decimal zero-padded to 8, flags and mode hex padded to
//! 8, `<none>` for no name), the reservation object's description (one
//! `\t<usage> fence:<driver> <timeline> seq <n> [un]signalled` line per
//! KERNEL/WRITE/READ entry, signalled ones included), then
//! `\tAttached Devices:`, one `\t<device>` line per attachment (newest
//! first) and `Total <n> devices attached`. Finally
//! `Total <n> objects, <bytes> bytes`.

use std::fmt::Write;

use super::live_buffers;
use crate::error::Result;
use crate::fence::Interrupt;

/// The text of debugfs `dma_buf/bufinfo`.
///
/// # Locking
/// Locks each buffer's reservation object in turn (no context); the
/// caller must hold none of them.
///
/// # Errors
/// None without an interrupt; see [`bufinfo_interruptible`].
pub fn bufinfo() -> Result<String> {
    bufinfo_interruptible(None)
}

/// [`bufinfo`] whose locking `intr` can interrupt, which aborts the read.
///
/// # Errors
/// [`Error::Interrupted`](crate::Error::Interrupted) when interrupted.
#[doc(alias = "dma_buf_debug_show")]
pub fn bufinfo_interruptible(intr: Option<&Interrupt>) -> Result<String> {
    let mut s = String::new();
    s.push_str("\nDma-buf Objects:\n");
    let _ = writeln!(
        s,
        "{:<8}\t{:<8}\t{:<8}\t{:<8}\texp_name\t{:<8}\tname",
        "size", "flags", "mode", "count", "ino"
    );
    let mut count = 0usize;
    let mut total = 0u64;
    for buf in live_buffers() {
        let guard = match intr {
            Some(i) => buf.resv().lock_interruptible(None, i)?,
            None => buf.resv().lock(None)?,
        };
        // The listing holds one reference of its own (the kernel walks the
        // list without one).
        let refs = buf.file_count() - 1;
        let _ = writeln!(
            s,
            "{:08}\t{:08x}\t{:08x}\t{:08}\t{}\t{:08}\t{}",
            buf.size(),
            buf.file_flags(),
            buf.file_mode(),
            refs,
            buf.exp_name(),
            buf.ino(),
            buf.name().unwrap_or_else(|| "<none>".to_owned())
        );
        s.push_str(&guard.describe());
        s.push_str("\tAttached Devices:\n");
        let attachments = buf.attachments();
        for a in &attachments {
            let _ = writeln!(s, "\t{}", a.dev());
        }
        drop(guard);
        let _ = write!(s, "Total {} devices attached\n\n", attachments.len());
        count += 1;
        total += buf.size();
    }
    let _ = writeln!(s, "\nTotal {count} objects, {total} bytes");
    Ok(s)
}
