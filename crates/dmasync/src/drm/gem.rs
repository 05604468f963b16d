//! GEM objects and the per-file handle table (drivers/gpu/drm/drm_gem.c,
//! drm_vma_manager.c, drm_gem_shmem_helper.c, Linux 6.12).
//!
//! # Objects
//!
//! A [`GemObject`] is a page-aligned piece of memory (a memfd of the
//! object's size, so it can be mapped in any process) with its own
//! reservation object ([`Resv`]), which a dma-buf exported from it
//! ([`GemObject::export`]) shares; or it stands for an imported dma-buf
//! ([`GemObject::import`]), whose reservation object it shares. It lives
//! while a handle, a dma-buf or any other `Arc` holds it.
//!
//! # Handles
//!
//! A [`HandleTable`] belongs to one open file. Handles are allocated as the
//! lowest free id >= 1 (`idr_alloc(.., 1, 0)`, not cyclic: a closed handle
//! is reused), 0 is never valid; an unknown handle is `-EINVAL` for
//! GEM_CLOSE / DESTROY_DUMB and `-ENOENT` for lookups. The object counts its
//! handles over all files ([`GemObject::handle_count`]).
//!
//! # Fake mmap offsets
//!
//! MAP_DUMB gives an object an offset in the device's fake offset space
//! ([`MmapOffsets`]): page-granular, starting at 4 GiB
//! (`DRM_FILE_PAGE_OFFSET_START`), best-fit, stable for the object's life.
//! `mmap` of a DRM fd at that offset maps the object, if the file holds a
//! handle to it.
//!
//! # Locking
//!
//! Each table and object has its own small mutex; none is held while
//! another is taken, except [`MmapOffsets`]' lock, taken inside an object's
//! offset lock (object -> offsets, never the reverse).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Weak};

use crate::buf::{self, Attachment, Direction, DmaBuf, ExportInfo, SgTable};
use crate::error::{Error, Result};
use crate::resv::Resv;
use crate::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The page size the model uses for alignment (x86-64, arm64 4 KiB pages).
pub const PAGE_SIZE: u64 = 4096;

/// First page of the fake offset space (`DRM_FILE_PAGE_OFFSET_START`): byte
/// offset 4 GiB on 64-bit.
pub const DRM_FILE_PAGE_OFFSET_START: u64 = (0xFFFF_FFFF >> 12) + 1;
/// Pages in the fake offset space (`DRM_FILE_PAGE_OFFSET_SIZE`).
pub const DRM_FILE_PAGE_OFFSET_SIZE: u64 = (0xFFFF_FFFF >> 12) * 256;

/// The largest handle (`idr_alloc` with end 0 allocates up to `INT_MAX`).
const HANDLE_MAX: u32 = i32::MAX as u32;

static NEXT_OBJECT_ID: AtomicU64 = AtomicU64::new(1);

/// An imported object's link to its dma-buf (`obj->import_attach` and the
/// mapped table), undone when the object goes (`drm_prime_gem_destroy`).
struct Import {
    attach: Attachment,
    sgt: SgTable,
}

/// Handle count and exported dma-buf, changed together.
#[derive(Default)]
struct HandleState {
    /// Handles over all files (`handle_count`).
    handles: usize,
    /// `obj->dma_buf`: the dma-buf exported from (or imported as) the
    /// object, kept while it has handles.
    dma_buf: Option<DmaBuf>,
}

/// A GEM buffer object (`struct drm_gem_object` with shmem backing, or an
/// imported dma-buf).
///
/// Shared through `Arc`; all methods take `&self` and are thread-safe.
/// While the object has handles it keeps its exported dma-buf
/// ([`GemObject::dma_buf`]), which in turn keeps the object: the cycle is
/// broken when the last handle goes.
#[doc(alias = "drm_gem_object")]
pub struct GemObject {
    id: u64,
    size: u64,
    resv: Arc<Resv>,
    /// Own memory; `None` for an imported object.
    memfd: Option<Arc<OwnedFd>>,
    import: Mutex<Option<Import>>,
    /// The id of the device the object belongs to.
    device: u64,
    state: Mutex<HandleState>,
    /// The fake mmap offset once MAP_DUMB created it.
    offset: Mutex<Option<(u64, Arc<MmapOffsets>)>>,
}

impl std::fmt::Debug for GemObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GemObject")
            .field("id", &self.id)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl GemObject {
    /// A new object of `size` bytes rounded up to [`PAGE_SIZE`], backed by
    /// a zero-filled memfd, with a fresh reservation object
    /// (`drm_gem_shmem_create`).
    ///
    /// # Errors
    /// [`Error::NoMemory`] (`-ENOMEM`) if the size overflows or the memfd
    /// cannot be made that large.
    #[doc(alias = "drm_gem_shmem_create")]
    pub fn new(device: u64, size: u64) -> Result<Arc<GemObject>> {
        let size = size
            .checked_next_multiple_of(PAGE_SIZE)
            .ok_or(Error::NoMemory)?;
        let memfd = rustix::fs::memfd_create(
            "vgem",
            rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING,
        )
        .map_err(|_| Error::NoMemory)?;
        rustix::fs::ftruncate(&memfd, size).map_err(|_| Error::NoMemory)?;
        Ok(Arc::new(GemObject {
            id: NEXT_OBJECT_ID.fetch_add(1, Ordering::Relaxed),
            size,
            resv: Arc::new(Resv::new()),
            memfd: Some(Arc::new(memfd)),
            import: Mutex::new(None),
            device,
            state: Mutex::new(HandleState::default()),
            offset: Mutex::new(None),
        }))
    }

    /// An object standing for a foreign dma-buf
    /// (`drm_gem_prime_import_dev`): the device attaches to `buf` and maps
    /// it bidirectionally; the object shares the buffer's size and
    /// reservation object and has no memory of its own.
    ///
    /// # Locking
    /// The buffer's reservation lock must not be held by the caller.
    ///
    /// # Errors
    /// Those of [`DmaBuf::attach`] and [`Attachment::map_unlocked`].
    #[doc(alias = "drm_gem_prime_import_dev")]
    pub fn import(device: u64, buf: &DmaBuf) -> Result<Arc<GemObject>> {
        let attach = buf.attach("vgem")?;
        let sgt = attach.map_unlocked(Direction::Bidirectional)?;
        Ok(Arc::new(GemObject {
            id: NEXT_OBJECT_ID.fetch_add(1, Ordering::Relaxed),
            size: buf.size(),
            resv: buf.resv().clone(),
            memfd: None,
            import: Mutex::new(Some(Import { attach, sgt })),
            device,
            state: Mutex::new(HandleState::default()),
            offset: Mutex::new(None),
        }))
    }

    /// The id of the device the object belongs to.
    pub fn device(&self) -> u64 {
        self.device
    }

    /// The dma-buf this object was imported from (`obj->import_attach->dmabuf`).
    pub fn imported_from(&self) -> Option<DmaBuf> {
        self.import.lock().as_ref().map(|i| i.attach.buf().clone())
    }

    /// Whether the object was imported.
    pub fn is_imported(&self) -> bool {
        self.memfd.is_none()
    }

    /// The dma-buf the object is known as while it has handles
    /// (`obj->dma_buf`).
    pub fn dma_buf(&self) -> Option<DmaBuf> {
        self.state.lock().dma_buf.clone()
    }

    /// Records `buf` as the object's dma-buf unless it has one
    /// (`drm_gem_prime_fd_to_handle`).
    pub(crate) fn adopt_dma_buf(&self, buf: &DmaBuf) {
        let mut st = self.state.lock();
        if st.dma_buf.is_none() {
            st.dma_buf = Some(buf.clone());
        }
    }

    /// The object's dma-buf, exporting it on first use
    /// (`export_and_register_object` / `drm_gem_prime_export`): an imported
    /// object gives back its original dma-buf; otherwise a new dma-buf
    /// (exporter name `drm`, file flags from `flags`) shares the object's
    /// reservation object and memory, and is kept while the object has
    /// handles, so exporting again gives the same dma-buf.
    ///
    /// # Errors
    /// [`Error::NotFound`] (`-ENOENT`) when the object has no handle left.
    #[doc(alias = "drm_gem_prime_export")]
    pub fn export(self: &Arc<Self>, flags: u32) -> Result<DmaBuf> {
        if let Some(buf) = self.imported_from() {
            return Ok(buf);
        }
        let mut st = self.state.lock();
        if let Some(buf) = &st.dma_buf {
            return Ok(buf.clone());
        }
        if st.handles == 0 {
            return Err(Error::NotFound);
        }
        let memfd = self.memfd.clone().ok_or(Error::NotFound)?;
        let memory = buf::Memory::from_segments(vec![buf::Segment::new(memfd, 0, self.size)]);
        let exporter = Arc::new(super::prime::GemExport {
            obj: self.clone(),
            memory,
        });
        let info = ExportInfo::new("drm", self.size)
            .with_resv(self.resv.clone())
            .with_flags(flags);
        let buf = buf::export(exporter, info)?;
        st.dma_buf = Some(buf.clone());
        Ok(buf)
    }

    /// A number unique to this object among all objects of the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The size in bytes (a multiple of [`PAGE_SIZE`]).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The object's reservation object, shared with any dma-buf exported
    /// from it.
    pub fn resv(&self) -> &Arc<Resv> {
        &self.resv
    }

    /// The memfd holding the object's memory (map it `MAP_SHARED`); `None`
    /// for an imported object (map its dma-buf instead).
    pub fn memfd(&self) -> Option<BorrowedFd<'_>> {
        self.memfd.as_deref().map(|fd| fd.as_fd())
    }

    /// How many handles, in all files, refer to the object.
    pub fn handle_count(&self) -> usize {
        self.state.lock().handles
    }

    /// The object's fake mmap offset in bytes, if MAP_DUMB gave it one.
    pub fn mmap_start(&self) -> Option<u64> {
        self.offset
            .lock()
            .as_ref()
            .map(|(page, _)| page * PAGE_SIZE)
    }

    /// The object's fake mmap offset in bytes, allocating it in `space` on
    /// first use (`drm_gem_create_mmap_offset`); later calls return the same
    /// offset.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for an imported object;
    /// [`Error::NoMemory`] (the kernel's `-ENOSPC`) when the offset space is
    /// full or the object has no pages.
    #[doc(alias = "drm_gem_create_mmap_offset")]
    pub fn mmap_offset(self: &Arc<Self>, space: &Arc<MmapOffsets>) -> Result<u64> {
        if self.is_imported() {
            return Err(Error::Invalid("an imported object has no mmap offset"));
        }
        let mut slot = self.offset.lock();
        if let Some((page, _)) = *slot {
            return Ok(page * PAGE_SIZE);
        }
        let page = space.insert(self)?;
        *slot = Some((page, space.clone()));
        Ok(page * PAGE_SIZE)
    }
}

impl Drop for GemObject {
    /// Frees the offset; an imported object unmaps and detaches
    /// (`drm_prime_gem_destroy`), which takes the buffer's reservation lock.
    fn drop(&mut self) {
        if let Some((page, space)) = self.offset.lock().take() {
            space.remove(page);
        }
        if let Some(Import { attach, sgt }) = self.import.lock().take() {
            let _ = attach.unmap_unlocked(sgt, Direction::Bidirectional);
            attach.detach();
        }
    }
}

/// The device's fake mmap offset space (`struct drm_vma_offset_manager`):
/// page ranges mapped to objects. Thread-safe; one lock.
#[doc(alias = "drm_vma_offset_manager")]
#[derive(Debug, Default)]
pub struct MmapOffsets {
    nodes: Mutex<BTreeMap<u64, (u64, Weak<GemObject>)>>,
}

impl MmapOffsets {
    /// An empty offset space.
    pub fn new() -> MmapOffsets {
        MmapOffsets::default()
    }

    /// Places `obj` in the smallest hole that fits (lowest first on ties).
    fn insert(&self, obj: &Arc<GemObject>) -> Result<u64> {
        let pages = obj.size / PAGE_SIZE;
        if pages == 0 {
            return Err(Error::NoMemory);
        }
        let mut nodes = self.nodes.lock();
        let end = DRM_FILE_PAGE_OFFSET_START + DRM_FILE_PAGE_OFFSET_SIZE;
        let mut best: Option<(u64, u64)> = None; // (hole size, start)
        let mut cursor = DRM_FILE_PAGE_OFFSET_START;
        let holes = nodes
            .iter()
            .map(|(&s, &(n, _))| (s, s + n))
            .chain(std::iter::once((end, end)));
        for (start, next) in holes {
            let hole = start - cursor;
            if hole >= pages && best.map_or(true, |(b, _)| hole < b) {
                best = Some((hole, cursor));
            }
            cursor = next;
        }
        let (_, start) = best.ok_or(Error::NoMemory)?;
        nodes.insert(start, (pages, Arc::downgrade(obj)));
        Ok(start)
    }

    fn remove(&self, page: u64) {
        self.nodes.lock().remove(&page);
    }

    /// The object whose range holds `[offset, offset + len)` (bytes;
    /// `drm_vma_offset_lookup_locked` over whole pages), if it still lives.
    pub fn lookup(&self, offset: u64, len: u64) -> Option<Arc<GemObject>> {
        let page = offset / PAGE_SIZE;
        let pages = len.div_ceil(PAGE_SIZE);
        let nodes = self.nodes.lock();
        let (&start, (n, obj)) = nodes.range(..=page).next_back()?;
        if page.checked_add(pages)? <= start + n {
            obj.upgrade()
        } else {
            None
        }
    }
}

/// One file's GEM handles (`drm_file.object_idr`).
///
/// Not internally locked: the owning file keeps it under its own lock.
#[derive(Debug, Default)]
pub struct HandleTable {
    map: BTreeMap<u32, Arc<GemObject>>,
}

impl HandleTable {
    /// An empty table.
    pub fn new() -> HandleTable {
        HandleTable::default()
    }

    /// Makes a new handle to `obj`: the lowest free id >= 1
    /// (`drm_gem_handle_create_tail`), and counts it on the object.
    ///
    /// # Errors
    /// [`Error::NoMemory`] (the kernel's `-ENOSPC`) past `INT_MAX` handles.
    #[doc(alias = "drm_gem_handle_create")]
    pub fn create(&mut self, obj: Arc<GemObject>) -> Result<u32> {
        let mut handle = 1u32;
        for &k in self.map.keys() {
            if k != handle {
                break;
            }
            handle += 1;
        }
        if handle > HANDLE_MAX {
            return Err(Error::NoMemory);
        }
        obj.state.lock().handles += 1;
        self.map.insert(handle, obj);
        Ok(handle)
    }

    /// The object behind `handle` (`drm_gem_object_lookup`).
    pub fn lookup(&self, handle: u32) -> Option<Arc<GemObject>> {
        self.map.get(&handle).cloned()
    }

    /// Whether some handle of this table refers to `obj`.
    pub fn holds(&self, obj: &GemObject) -> bool {
        self.map.values().any(|o| o.id == obj.id)
    }

    /// Removes `handle` (`drm_gem_handle_delete`) and returns its object,
    /// whose handle count it decrements; with the last handle the object
    /// lets go of its dma-buf (`drm_gem_object_exported_dma_buf_free`),
    /// which is returned too, for the caller to drop outside its locks.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`-EINVAL`) for an unknown handle.
    #[doc(alias = "drm_gem_handle_delete")]
    pub fn delete(&mut self, handle: u32) -> Result<(Arc<GemObject>, Option<DmaBuf>)> {
        let obj = self
            .map
            .remove(&handle)
            .ok_or(Error::Invalid("unknown GEM handle"))?;
        let mut st = obj.state.lock();
        st.handles -= 1;
        let buf = if st.handles == 0 {
            st.dma_buf.take()
        } else {
            None
        };
        drop(st);
        Ok((obj, buf))
    }

    /// Removes every handle (`drm_gem_release`, at file close).
    #[doc(alias = "drm_gem_release")]
    pub fn release_all(&mut self) -> Vec<(Arc<GemObject>, Option<DmaBuf>)> {
        let handles: Vec<u32> = self.map.keys().copied().collect();
        handles
            .into_iter()
            .filter_map(|h| self.delete(h).ok())
            .collect()
    }

    /// Number of handles.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_lowest_free_from_one() {
        let mut t = HandleTable::new();
        let a = GemObject::new(0, 1).unwrap();
        assert_eq!(a.size(), PAGE_SIZE);
        assert_eq!(t.create(a.clone()), Ok(1));
        assert_eq!(t.create(a.clone()), Ok(2));
        assert_eq!(t.create(a.clone()), Ok(3));
        assert_eq!(a.handle_count(), 3);
        t.delete(2).unwrap();
        assert_eq!(t.delete(2).unwrap_err().errno(), 22);
        assert_eq!(t.create(a.clone()), Ok(2));
        assert_eq!(t.release_all().len(), 3);
        assert_eq!(a.handle_count(), 0);
        assert!(t.is_empty());
    }

    #[test]
    fn offsets_are_best_fit_and_freed_with_the_object() {
        let space = Arc::new(MmapOffsets::new());
        let a = GemObject::new(0, 2 * PAGE_SIZE).unwrap();
        let b = GemObject::new(0, PAGE_SIZE).unwrap();
        let oa = a.mmap_offset(&space).unwrap();
        assert_eq!(oa, 1 << 32);
        assert_eq!(a.mmap_offset(&space).unwrap(), oa);
        let ob = b.mmap_offset(&space).unwrap();
        assert_eq!(ob, oa + 2 * PAGE_SIZE);
        assert!(space.lookup(oa, 2 * PAGE_SIZE).is_some());
        assert!(space.lookup(oa, 3 * PAGE_SIZE).is_none());
        drop(a);
        assert!(space.lookup(oa, PAGE_SIZE).is_none());
        let c = GemObject::new(0, PAGE_SIZE).unwrap();
        assert_eq!(c.mmap_offset(&space).unwrap(), oa, "reuses the freed hole");
        assert_eq!(space.lookup(ob, PAGE_SIZE).unwrap().id(), b.id());
    }
}
