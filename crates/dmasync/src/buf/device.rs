//! A device-memory exporter that moves (evicts) its buffers: the dynamic
//! exporter of the model, in the role of a TTM driver's GEM objects.
//!
//! A [`DeviceBuffer`] sits in device memory ([`Placement::Vram`]) or in
//! system memory ([`Placement::System`]). Its contents live in one memfd
//! whatever the placement (what moves is where mappings point), so a
//! front end's `mmap` of the memfd stays valid.
//!
//! # Moves
//!
//! [`DeviceBuffer::move_to`], with the reservation lock held:
//!
//! 1. refuses with [`Error::Busy`] while the buffer is pinned;
//! 2. calls [`DmaBuf::move_notify`]: every dynamic importer learns that its
//!    mappings point to the old place (rule C5);
//! 3. creates the *move fence* on the buffer's copy timeline and adds it
//!    with KERNEL usage (rule C3); the placement and generation change at
//!    once, so later maps point to the new place;
//! 4. the copy may only reuse the old memory once every access already
//!    published has finished: the move fence signals when every fence the
//!    object held before the move (all usages, BOOKKEEP included) has.
//!
//! A static importer's map (and a pin) waits for the move fence; a
//! dynamic importer must wait for it before its next access.
//!
//! # Peer to peer
//!
//! Device memory is handed only to peer-to-peer importers: mapping or
//! pinning for any other importer first moves the buffer to system memory,
//! and attaching one while the buffer is pinned in device memory is
//! [`Error::Busy`].

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::sync::Arc;

use super::memory::{Direction, Location, Memory, SgTable};
use super::{export, AttachInfo, Caps, DmaBuf, ExportInfo, Exporter};
use crate::error::{Error, Result};
use crate::fence::{context_alloc, Fence, FenceOps};
use crate::resv::{Resv, ResvGuard, Usage};
use crate::sync::Mutex;

/// Where a device buffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Device memory: mapped only by peer-to-peer importers.
    Vram,
    /// System memory.
    System,
}

/// The fence source of moves: one copy timeline per buffer.
struct CopyEngine {
    timeline: String,
}

impl FenceOps for CopyEngine {
    fn driver_name(&self) -> &str {
        "dmasync-device"
    }
    fn timeline_name(&self) -> &str {
        &self.timeline
    }
}

#[derive(Debug)]
struct DevState {
    placement: Placement,
    generation: u64,
    pins: u32,
    seqno: u64,
}

/// A buffer object in device memory that can move: the exporter of one
/// dma-buf.
///
/// # Locking
/// Its placement changes only with the buffer's reservation lock held.
pub struct DeviceBuffer {
    dev: String,
    memory: Memory,
    context: u64,
    ops: Arc<dyn FenceOps>,
    state: Mutex<DevState>,
}

impl std::fmt::Debug for DeviceBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBuffer")
            .field("dev", &self.dev)
            .field("state", &*self.state.lock())
            .finish()
    }
}

impl DeviceBuffer {
    /// Creates a buffer of `size` bytes of device `dev` at `placement`
    /// and exports it with exporter name `dev`, sharing `resv` if given.
    ///
    /// # Locking
    /// Takes no lock.
    ///
    /// # Errors
    /// [`Error::NoMemory`] when the memfd cannot be made.
    pub fn create(
        dev: &str,
        size: u64,
        placement: Placement,
        resv: Option<Arc<Resv>>,
    ) -> Result<(DmaBuf, Arc<DeviceBuffer>)> {
        let memory = Memory::new_memfd("dmasync-device", size)?;
        let exporter = Arc::new(DeviceBuffer {
            dev: dev.to_owned(),
            memory,
            context: context_alloc(1),
            ops: Arc::new(CopyEngine {
                timeline: format!("{dev}-copy"),
            }),
            state: Mutex::new(DevState {
                placement,
                generation: 0,
                pins: 0,
                seqno: 0,
            }),
        });
        let mut info = ExportInfo::new(dev, size);
        if let Some(r) = resv {
            info = info.with_resv(r);
        }
        let buf = export(exporter.clone(), info)?;
        Ok((buf, exporter))
    }

    /// The current placement.
    pub fn placement(&self) -> Placement {
        self.state.lock().placement
    }

    /// How many moves the buffer went through; mappings carry the value
    /// they were made at ([`SgTable::generation`]).
    pub fn generation(&self) -> u64 {
        self.state.lock().generation
    }

    /// How many pins are held.
    pub fn pin_count(&self) -> u32 {
        self.state.lock().pins
    }

    /// The context of this buffer's move fences.
    pub fn copy_context(&self) -> u64 {
        self.context
    }

    /// Moves the buffer to `to` (see the module documentation) and returns
    /// the move fence, or `None` if it is there already.
    ///
    /// # Locking
    /// The reservation lock held (`guard`); importers' `move_notify` runs
    /// on this thread.
    ///
    /// # Errors
    /// * [`Error::Invalid`] if `guard` is not `buf`'s lock or `buf` is not
    ///   this exporter's buffer.
    /// * [`Error::Busy`] (`-EBUSY`) while the buffer is pinned.
    /// * The reservation error adding the move fence.
    #[doc(alias = "ttm_bo_validate")]
    pub fn move_to(
        &self,
        buf: &DmaBuf,
        guard: &mut ResvGuard<'_>,
        to: Placement,
    ) -> Result<Option<Fence>> {
        buf.check_guard(guard)?;
        if !buf
            .exporter_as::<DeviceBuffer>()
            .is_some_and(|e| std::ptr::eq(e, self))
        {
            return Err(Error::Invalid("buffer of another exporter"));
        }
        {
            let st = self.state.lock();
            if st.placement == to {
                return Ok(None);
            }
            if st.pins > 0 {
                return Err(Error::Busy);
            }
        }
        buf.move_notify(guard)?;
        let deps: Vec<Fence> = guard
            .iter(Usage::Bookkeep)
            .filter(|(f, _)| !f.is_signaled())
            .map(|(f, _)| f.clone())
            .collect();
        let fence = {
            let mut st = self.state.lock();
            st.seqno += 1;
            Fence::new(self.ops.clone(), self.context, st.seqno)
        };
        guard.reserve_fences(1)?;
        guard.add_fence(fence.clone(), Usage::Kernel)?;
        {
            let mut st = self.state.lock();
            st.placement = to;
            st.generation += 1;
        }
        // Signal the move once every earlier access is over; the extra
        // count keeps it pending until every callback is queued.
        let left = Arc::new(AtomicUsize::new(deps.len() + 1));
        let done = {
            let fence = fence.clone();
            let left = left.clone();
            move || {
                if left.fetch_sub(1, StdOrdering::AcqRel) == 1 {
                    let _ = fence.signal();
                }
            }
        };
        for dep in deps {
            let cb = done.clone();
            if dep.add_callback(move |_| cb()).is_err() {
                done();
            }
        }
        done();
        Ok(Some(fence))
    }

    /// [`DeviceBuffer::move_to`] system memory: eviction.
    ///
    /// # Errors
    /// As [`DeviceBuffer::move_to`].
    pub fn evict(&self, buf: &DmaBuf, guard: &mut ResvGuard<'_>) -> Result<Option<Fence>> {
        self.move_to(buf, guard, Placement::System)
    }

    /// Makes the memory reachable by `attach`: device memory only for a
    /// peer-to-peer importer.
    fn reachable(
        &self,
        buf: &DmaBuf,
        attach: &AttachInfo,
        guard: &mut ResvGuard<'_>,
    ) -> Result<()> {
        if self.placement() == Placement::Vram && !attach.peer2peer() {
            self.move_to(buf, guard, Placement::System)?;
        }
        Ok(())
    }
}

impl Exporter for DeviceBuffer {
    fn caps(&self) -> Caps {
        Caps {
            pin: true,
            unpin: true,
            vmap: true,
            mmap: true,
            cache_sgt_mapping: false,
        }
    }

    fn memory(&self) -> Option<&Memory> {
        Some(&self.memory)
    }

    fn attach(&self, _buf: &DmaBuf, attach: &AttachInfo) -> Result<()> {
        let st = self.state.lock();
        if st.pins > 0 && st.placement == Placement::Vram && !attach.peer2peer() {
            return Err(Error::Busy);
        }
        Ok(())
    }

    fn pin(&self, buf: &DmaBuf, attach: &AttachInfo, guard: &mut ResvGuard<'_>) -> Result<()> {
        self.reachable(buf, attach, guard)?;
        self.state.lock().pins += 1;
        // Usable only once every move and clear is done.
        buf.resv().wait_timeout(Usage::Kernel, None, None)?;
        Ok(())
    }

    fn unpin(&self, _buf: &DmaBuf, _attach: &AttachInfo, _guard: &mut ResvGuard<'_>) {
        let mut st = self.state.lock();
        st.pins = st.pins.saturating_sub(1);
    }

    fn map(
        &self,
        buf: &DmaBuf,
        attach: &AttachInfo,
        _dir: Direction,
        guard: &mut ResvGuard<'_>,
    ) -> Result<SgTable> {
        self.reachable(buf, attach, guard)?;
        let st = self.state.lock();
        let location = match st.placement {
            Placement::Vram => Location::Device,
            Placement::System => Location::System,
        };
        Ok(SgTable::fresh(location, st.generation, self.memory.size()))
    }

    fn unmap(
        &self,
        _buf: &DmaBuf,
        _attach: &AttachInfo,
        _sgt: SgTable,
        _dir: Direction,
        _guard: &mut ResvGuard<'_>,
    ) {
    }

    fn release(&self) {}
}
