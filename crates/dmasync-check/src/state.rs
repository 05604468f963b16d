//! The buffers of a scenario: real dma-bufs of the model's dma-buf layer.
//!
//! A [`Buffer`] is a [`DmaBuf`] from the exporter the scenario names: a
//! system-heap buffer ([`heap::alloc`]) for a static exporter, or a
//! device-memory buffer that can move ([`DeviceBuffer`], created in VRAM)
//! for `dynamic = true`. Its importers attach through the layer's
//! attachment API when the buffer is created:
//!
//! * a static importer ([`DmaBuf::attach`]) maps once; the layer pins a
//!   device buffer for it (moving it to system memory first, since a static
//!   importer cannot reach VRAM) and its map waits for the KERNEL fences;
//! * a dynamic importer ([`DmaBuf::dynamic_attach`], peer-to-peer capable)
//!   gets [`Importer::move_notify`] from the exporter's moves, with the
//!   reservation lock held, and maps again at the new place before its
//!   next job ([`Buffer::prepare_access`]); it must itself wait for the
//!   KERNEL fences, which the runner's dependency policy does.
//!
//! Moves go through [`DeviceBuffer::move_to`] (a KERNEL fence in the
//! buffer's reservation object), CPU access through [`DmaBuf::sync`], the
//! sync-file steps through [`DmaBuf::export_sync_file`] and
//! [`DmaBuf::import_sync_file`], and engines publish their fences with
//! [`DmaBuf::import_fence`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use dmasync::buf::device::{DeviceBuffer, Placement};
use dmasync::buf::{
    heap, AttachInfo, Attachment, Direction, DmaBuf, ImporterOps, SgTable, O_CLOEXEC, O_RDWR,
    PAGE_SIZE,
};
use dmasync::error::{Error, Result};
use dmasync::fence::Fence;
use dmasync::resv::ResvGuard;

pub use dmasync::resv::Usage;

use crate::checker::Attach;

/// The size of every scenario buffer: one page.
pub const BUFFER_SIZE: u64 = PAGE_SIZE;

/// A dynamic importer's callbacks (`struct dma_buf_attach_ops`): counts the
/// exporter's move notifications so the importer maps again before its
/// next job.
///
/// # Locking
/// [`ImporterOps::move_notify`] runs with the buffer's reservation lock
/// held, on the thread that moves the buffer; it only touches atomics.
#[derive(Debug, Default)]
pub struct Importer {
    moves: AtomicU64,
    unlocked_notify: AtomicBool,
}

impl Importer {
    /// How many times the exporter called `move_notify`.
    pub fn moves(&self) -> u64 {
        self.moves.load(Ordering::Acquire)
    }

    /// Whether every notification came with the reservation lock held.
    pub fn always_locked(&self) -> bool {
        !self.unlocked_notify.load(Ordering::Relaxed)
    }
}

impl ImporterOps for Importer {
    /// The engines of a scenario are devices that reach each other's
    /// memory (GPUs, video engines on one bus): device memory stays put.
    fn allow_peer2peer(&self) -> bool {
        true
    }

    fn move_notify(&self, _attach: &AttachInfo, guard: &ResvGuard<'_>) {
        if !guard.resv().is_locked() {
            self.unlocked_notify.store(true, Ordering::Relaxed);
        }
        self.moves.fetch_add(1, Ordering::AcqRel);
    }
}

/// One importer's attachment and its current mapping.
struct Import {
    engine: usize,
    how: Attach,
    attachment: Option<Attachment>,
    ops: Option<Arc<Importer>>,
    sgt: Option<SgTable>,
    /// [`Importer::moves`] when `sgt` was made.
    mapped_at: u64,
}

/// A scenario buffer: a real dma-buf and its importers' attachments.
///
/// # Locking and lifetime
/// Every method takes the reservation lock itself, for its own duration
/// only (never from an engine thread); none may be called with it held.
/// Dropping the buffer unmaps and detaches every importer, then drops the
/// runner's reference to the dma-buf (engines hold only fences).
pub struct Buffer {
    buf: DmaBuf,
    device: Option<Arc<DeviceBuffer>>,
    imports: Vec<Import>,
}

impl Buffer {
    /// Exports a buffer of `exporter` (an engine name): device memory that
    /// can move when `dynamic`, else system-heap memory.
    ///
    /// # Errors
    /// The layer's export error ([`Error::NoMemory`] when no memfd can be
    /// made).
    pub fn export(exporter: &str, dynamic: bool) -> Result<Buffer> {
        let (buf, device) = if dynamic {
            let (buf, dev) = DeviceBuffer::create(exporter, BUFFER_SIZE, Placement::Vram, None)?;
            (buf, Some(dev))
        } else {
            (heap::alloc(BUFFER_SIZE, O_RDWR | O_CLOEXEC, 0)?, None)
        };
        Ok(Buffer {
            buf,
            device,
            imports: Vec::new(),
        })
    }

    /// The dma-buf.
    pub fn dmabuf(&self) -> &DmaBuf {
        &self.buf
    }

    /// The device exporter, for a buffer that can move.
    pub fn device(&self) -> Option<&Arc<DeviceBuffer>> {
        self.device.as_ref()
    }

    /// Attaches engine `engine` (device name `dev`) as `how` and maps the
    /// buffer for it (`dma_buf_attach` or `dma_buf_dynamic_attach`, then
    /// `dma_buf_map_attachment`).
    ///
    /// # Errors
    /// The layer's attach or map error; the importer's jobs are then
    /// refused ([`Buffer::prepare_access`]).
    pub fn attach(&mut self, engine: usize, dev: &str, how: Attach) -> Result<()> {
        let ops = (how == Attach::Dynamic).then(|| Arc::new(Importer::default()));
        let mut imp = Import {
            engine,
            how,
            attachment: None,
            ops: ops.clone(),
            sgt: None,
            mapped_at: ops.as_ref().map_or(0, |o| o.moves()),
        };
        let result = self
            .buf
            .dynamic_attach(dev, ops.map(|o| o as Arc<dyn ImporterOps>))
            .and_then(|att| {
                let sgt = att.map_unlocked(Direction::Bidirectional);
                imp.attachment = Some(att);
                imp.sgt = Some(sgt?);
                Ok(())
            });
        // A failed importer stays listed, unattached: its jobs are refused.
        self.imports.push(imp);
        result
    }

    /// The dynamic importer callbacks of `engine`, if it attached dynamically.
    pub fn importer(&self, engine: usize) -> Option<&Arc<Importer>> {
        self.imports
            .iter()
            .find(|i| i.engine == engine)
            .and_then(|i| i.ops.as_ref())
    }

    /// Makes the buffer ready for a job of importer `engine`: a dynamic
    /// importer notified of a move since it mapped unmaps and maps again
    /// (under the lock), so its device uses the new place. The exporter's
    /// own engine needs nothing.
    ///
    /// # Errors
    /// * [`Error::Invalid`] when `engine` imports the buffer but detached
    ///   (or never managed to attach).
    /// * The layer's lock, unmap or map error.
    pub fn prepare_access(&mut self, engine: usize) -> Result<()> {
        let Some(imp) = self.imports.iter_mut().find(|i| i.engine == engine) else {
            return Ok(());
        };
        let Some(att) = &imp.attachment else {
            return Err(Error::Invalid("the engine detached from the buffer"));
        };
        let Some(ops) = &imp.ops else { return Ok(()) };
        let moves = ops.moves();
        if moves == imp.mapped_at {
            return Ok(());
        }
        let mut guard = self.buf.resv().lock(None)?;
        if let Some(old) = imp.sgt.take() {
            att.unmap(&mut guard, old, Direction::Bidirectional)?;
        }
        imp.sgt = Some(att.map(&mut guard, Direction::Bidirectional)?);
        imp.mapped_at = moves;
        Ok(())
    }

    /// Importer `engine` unmaps and detaches (`dma_buf_detach`): a static
    /// importer's pin goes with it.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `engine` is not attached.
    pub fn detach(&mut self, engine: usize) -> Result<Attach> {
        let imp = self
            .imports
            .iter_mut()
            .find(|i| i.engine == engine && i.attachment.is_some())
            .ok_or(Error::Invalid("the engine is not attached to the buffer"))?;
        if let (Some(att), Some(sgt)) = (&imp.attachment, imp.sgt.take()) {
            att.unmap_unlocked(sgt, Direction::Bidirectional)?;
        }
        if let Some(att) = imp.attachment.take() {
            att.detach();
        }
        Ok(imp.how)
    }

    /// The placement a move goes to: `to`, or the other one.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a buffer that cannot move.
    pub fn target(&self, to: Option<Placement>) -> Result<Placement> {
        let dev = self
            .device
            .as_ref()
            .ok_or(Error::Invalid("the buffer's exporter cannot move it"))?;
        Ok(to.unwrap_or(match dev.placement() {
            Placement::Vram => Placement::System,
            Placement::System => Placement::Vram,
        }))
    }

    /// The exporter moves the buffer to `to` ([`DeviceBuffer::move_to`] under
    /// the lock): dynamic importers get `move_notify`, the move fence goes
    /// in as KERNEL. Returns the move fence (`None` if the buffer was there
    /// already) and the engines that were notified.
    ///
    /// # Errors
    /// * [`Error::Invalid`] for a buffer that cannot move.
    /// * [`Error::Busy`] (`-EBUSY`) while an importer has it pinned.
    /// * The layer's lock or reservation error.
    pub fn move_to(&self, to: Placement) -> Result<(Option<Fence>, Vec<usize>)> {
        let dev = self
            .device
            .as_ref()
            .ok_or(Error::Invalid("the buffer's exporter cannot move it"))?;
        let before: Vec<u64> = self
            .imports
            .iter()
            .map(|i| i.ops.as_ref().map_or(0, |o| o.moves()))
            .collect();
        let fence = {
            let mut guard = self.buf.resv().lock(None)?;
            dev.move_to(&self.buf, &mut guard, to)?
        };
        let notified = self
            .imports
            .iter()
            .zip(before)
            .filter(|(i, b)| i.ops.as_ref().is_some_and(|o| o.moves() > *b))
            .map(|(i, _)| i.engine)
            .collect();
        Ok((fence, notified))
    }

    /// The unsignalled fences with their usages, in the object's order,
    /// from one consistent unlocked snapshot.
    pub fn pending(&self) -> Vec<(Fence, Usage)> {
        let mut it = self.buf.resv().iter_unlocked(Usage::Bookkeep);
        let mut out = Vec::new();
        while let Some(f) = it.next() {
            if it.is_restarted() {
                out.clear();
            }
            out.push((f, it.usage()));
        }
        out
    }

    /// Publishes an engine's fence with `usage` ([`DmaBuf::import_fence`]:
    /// lock, reserve, add).
    ///
    /// # Errors
    /// The layer's lock or reservation error; the fence is then not added.
    pub fn publish(&self, fence: &Fence, usage: Usage) -> Result<()> {
        self.buf.import_fence(fence, usage)
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        for imp in &mut self.imports {
            if let (Some(att), Some(sgt)) = (&imp.attachment, imp.sgt.take()) {
                let _ = att.unmap_unlocked(sgt, Direction::Bidirectional);
            }
            if let Some(att) = imp.attachment.take() {
                att.detach();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use dmasync::fence::context_alloc;

    use super::*;
    use crate::engine::EngineOps;

    fn fence(ctx: u64, seqno: u64) -> Fence {
        Fence::new(Arc::new(EngineOps::new("t")), ctx, seqno)
    }

    #[test]
    fn pending_gives_each_unsignalled_fence_with_its_usage() {
        let b = Buffer::export("gpu", false).unwrap();
        assert_eq!(b.dmabuf().exp_name(), heap::SYSTEM_HEAP_NAME);
        let (c1, c2) = (context_alloc(1), context_alloc(1));
        let (w, r, done) = (fence(c1, 1), fence(c2, 1), fence(context_alloc(1), 1));
        b.publish(&w, Usage::Write).unwrap();
        b.publish(&r, Usage::Read).unwrap();
        b.publish(&done, Usage::Kernel).unwrap();
        done.signal().unwrap();
        let p = b.pending();
        assert_eq!(p.len(), 2);
        assert!(p[0].0.ptr_eq(&w) && p[0].1 == Usage::Write);
        assert!(p[1].0.ptr_eq(&r) && p[1].1 == Usage::Read);
    }

    #[test]
    fn a_move_notifies_dynamic_importers_under_the_lock_and_they_map_again() {
        let mut b = Buffer::export("gpu", true).unwrap();
        b.attach(1, "gpu2", Attach::Dynamic).unwrap();
        let dev = b.device().unwrap().clone();
        assert_eq!(dev.placement(), Placement::Vram, "peer-to-peer importer");
        let busy = fence(context_alloc(1), 1);
        b.publish(&busy, Usage::Write).unwrap();
        let to = b.target(None).unwrap();
        assert_eq!(to, Placement::System);
        let (mv, notified) = b.move_to(to).unwrap();
        let mv = mv.expect("a move happened");
        assert_eq!(notified, vec![1]);
        let imp = b.importer(1).unwrap().clone();
        assert_eq!(imp.moves(), 1);
        assert!(imp.always_locked());
        assert!(b
            .pending()
            .iter()
            .any(|(f, u)| f.ptr_eq(&mv) && *u == Usage::Kernel));
        assert!(!mv.is_signaled(), "the move waits for the writer");
        busy.signal().unwrap();
        assert!(mv.is_signaled());
        b.prepare_access(1).unwrap();
        assert_eq!(dev.generation(), 1);
        // Already there: nothing moves.
        assert!(b.move_to(Placement::System).unwrap().0.is_none());
    }

    #[test]
    fn a_static_importer_pins_until_it_detaches() {
        let mut b = Buffer::export("gpu", true).unwrap();
        b.attach(2, "encoder", Attach::Static).unwrap();
        let dev = b.device().unwrap().clone();
        assert_eq!(dev.placement(), Placement::System);
        assert_eq!(dev.pin_count(), 1);
        assert_eq!(b.move_to(Placement::Vram).unwrap_err(), Error::Busy);
        assert_eq!(b.detach(2).unwrap(), Attach::Static);
        assert_eq!(dev.pin_count(), 0);
        assert!(b.prepare_access(2).is_err());
        assert!(b.detach(2).is_err());
        assert!(b.move_to(Placement::Vram).unwrap().0.is_some());
    }
}
