//! PRIME: GEM handles <-> dma-buf file descriptors (drivers/gpu/drm/
//! drm_prime.c, Linux 6.12), the handle side.
//!
//! # Rules
//!
//! * HANDLE_TO_FD: `flags` within `DRM_CLOEXEC | DRM_RDWR`, else `-EINVAL`
//!   (checked first); an unknown handle -> `-ENOENT`. An object is exported
//!   at most once: it keeps its dma-buf while it has handles, so exporting
//!   it again, from any file, gives the same dma-buf. The file remembers
//!   which handle each dma-buf it exported or imported belongs to.
//! * FD_TO_HANDLE: `flags` ignored; a closed fd -> `-EBADF`, an fd that is
//!   not a dma-buf -> `-EINVAL`. A dma-buf the file already knows gives its
//!   handle back; a dma-buf exported from one of this device's objects
//!   gives a handle to that very object; any other is imported.
//! * Deleting a handle forgets its dma-buf in the file's table.
//!
//! # Locking
//!
//! [`PrimeTable`] is not locked itself: the owning file keeps it under the
//! same lock as its handle table, so both change together.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::uapi::drm::{DRM_CLOEXEC, DRM_RDWR};

/// Checks HANDLE_TO_FD's flags (`drm_prime_handle_to_fd_ioctl`).
///
/// # Errors
/// [`Error::Invalid`] (`-EINVAL`) for a bit beyond `DRM_CLOEXEC | DRM_RDWR`.
pub fn check_export_flags(flags: u32) -> Result<()> {
    if flags & !(DRM_CLOEXEC | DRM_RDWR) != 0 {
        return Err(Error::Invalid(
            "PRIME export flags beyond DRM_CLOEXEC | DRM_RDWR",
        ));
    }
    Ok(())
}

/// One file's dma-buf <-> handle table (`struct drm_prime_file_private`),
/// keyed by a dma-buf identity (any `u64` unique per dma-buf).
#[doc(alias = "drm_prime_file_private")]
#[derive(Debug, Default)]
pub struct PrimeTable {
    by_buf: BTreeMap<u64, u32>,
    by_handle: BTreeMap<u32, u64>,
}

impl PrimeTable {
    /// An empty table.
    pub fn new() -> PrimeTable {
        PrimeTable::default()
    }

    /// Records that dma-buf `buf` is this file's `handle`
    /// (`drm_prime_add_buf_handle`).
    #[doc(alias = "drm_prime_add_buf_handle")]
    pub fn add(&mut self, buf: u64, handle: u32) {
        if let Some(old) = self.by_handle.insert(handle, buf) {
            self.by_buf.remove(&old);
        }
        self.by_buf.insert(buf, handle);
    }

    /// The handle this file has for dma-buf `buf`
    /// (`drm_prime_lookup_buf_handle`).
    #[doc(alias = "drm_prime_lookup_buf_handle")]
    pub fn handle_of(&self, buf: u64) -> Option<u32> {
        self.by_buf.get(&buf).copied()
    }

    /// The dma-buf this file recorded for `handle`
    /// (`drm_prime_lookup_buf_by_handle`).
    #[doc(alias = "drm_prime_lookup_buf_by_handle")]
    pub fn buf_of(&self, handle: u32) -> Option<u64> {
        self.by_handle.get(&handle).copied()
    }

    /// Forgets `handle`'s dma-buf (`drm_prime_remove_buf_handle`), when the
    /// handle is deleted.
    #[doc(alias = "drm_prime_remove_buf_handle")]
    pub fn remove_handle(&mut self, handle: u32) {
        if let Some(buf) = self.by_handle.remove(&handle) {
            self.by_buf.remove(&buf);
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_buf.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_flags() {
        assert_eq!(check_export_flags(0), Ok(()));
        assert_eq!(check_export_flags(DRM_CLOEXEC | DRM_RDWR), Ok(()));
        assert_eq!(check_export_flags(1).unwrap_err().errno(), 22);
    }

    #[test]
    fn table_maps_both_ways_and_forgets_deleted_handles() {
        let mut t = PrimeTable::new();
        t.add(10, 1);
        t.add(11, 2);
        assert_eq!(t.handle_of(10), Some(1));
        assert_eq!(t.buf_of(2), Some(11));
        t.remove_handle(1);
        assert_eq!(t.handle_of(10), None);
        assert_eq!(t.len(), 1);
    }
}
