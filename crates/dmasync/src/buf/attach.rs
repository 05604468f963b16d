//! Attachments: static and dynamic importers (`dma_buf_attach`,
//! `dma_buf_dynamic_attach`, `dma_buf_detach`, `dma_buf_pin`,
//! `dma_buf_map_attachment`, `dma_buf_move_notify`; Linux 6.12, which
//! still has 6.1's cached mappings).
//!
//! # Static and dynamic
//!
//! A *static* importer ([`DmaBuf::attach`]) has no [`ImporterOps`]: the
//! memory it maps must stay put, so it is pinned, and its maps wait for the
//! KERNEL fences (moves, clears) before returning (rule C3). A *dynamic*
//! importer ([`DmaBuf::dynamic_attach`]) gives [`ImporterOps`]: it is not
//! pinned, the exporter calls its [`ImporterOps::move_notify`] (with the
//! reservation lock held) when the buffer moves, and it must itself wait for
//! the KERNEL fences before its next access (rule C2).
//!
//! # 6.1-style caching (Linux 6.12)
//!
//! When exactly one of importer and exporter is dynamic, attaching locks
//! the object, pins (dynamic exporter), maps bidirectionally (a static
//! importer waiting for the KERNEL fences) and caches the table; every map
//! of that attachment returns the cached table (asking for another
//! direction is [`Error::Busy`] unless the cached one is bidirectional);
//! unmapping it does nothing, and detaching unmaps and unpins it. Exporters
//! with [`Caps::cache_sgt_mapping`](super::Caps) have their first mapping
//! cached the same way. Otherwise a map pins only for a dynamic exporter
//! whose buffer has move-notify support off.

use std::fmt;
use std::sync::Arc;

use super::memory::{Direction, SgTable};
use super::{next_id, DmaBuf};
use crate::error::{Error, Result};
use crate::resv::{ResvGuard, Usage};
use crate::sync::Mutex;

/// A dynamic importer's callbacks (`struct dma_buf_attach_ops`).
///
/// `move_notify` is mandatory (the kernel refuses ops without it with
/// `-EINVAL`; here the trait requires it).
pub trait ImporterOps: Send + Sync {
    /// Whether the importer can handle peer-to-peer memory (device memory
    /// with no `struct page`): `allow_peer2peer`.
    fn allow_peer2peer(&self) -> bool {
        false
    }

    /// The buffer is moving: tear down mappings as soon as possible; new
    /// mappings point to the new place, and the move is a KERNEL fence on
    /// the reservation object that the next access must wait for.
    ///
    /// # Locking
    /// Called with the buffer's reservation lock held (`guard`), on the
    /// thread that moves the buffer; must not lock it again nor block on
    /// anything that needs it.
    fn move_notify(&self, attach: &AttachInfo, guard: &ResvGuard<'_>);
}

#[derive(Default)]
struct AttachState {
    /// The cached table and its direction.
    cached: Option<(SgTable, Direction)>,
    /// Pins taken by [`Attachment::pin`].
    pins: u32,
    detached: bool,
}

/// What the exporter and the importer know of one attachment
/// (`struct dma_buf_attachment` without the buffer pointer).
///
/// Shared between the buffer's attachment list and the [`Attachment`]
/// handle; its mutable state is changed only with the reservation lock
/// held.
pub struct AttachInfo {
    id: u64,
    dev: String,
    importer: Option<Arc<dyn ImporterOps>>,
    peer2peer: bool,
    state: Mutex<AttachState>,
}

impl fmt::Debug for AttachInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachInfo")
            .field("id", &self.id)
            .field("dev", &self.dev)
            .field("dynamic", &self.is_dynamic())
            .field("peer2peer", &self.peer2peer)
            .finish()
    }
}

impl AttachInfo {
    /// A process-unique id of the attachment.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The attached device's name (`dev_name`).
    pub fn dev(&self) -> &str {
        &self.dev
    }

    /// Whether the importer is dynamic (`dma_buf_attachment_is_dynamic`).
    #[doc(alias = "dma_buf_attachment_is_dynamic")]
    pub fn is_dynamic(&self) -> bool {
        self.importer.is_some()
    }

    /// Whether the importer accepts peer-to-peer memory.
    pub fn peer2peer(&self) -> bool {
        self.peer2peer
    }

    /// Whether the core holds a cached table for this attachment.
    pub fn has_cached_mapping(&self) -> bool {
        self.state.lock().cached.is_some()
    }
}

/// An importer's attachment of a device to a buffer.
///
/// Holds one reference to the buffer. Detach it with
/// [`Attachment::detach`], or drop it: either needs the reservation lock
/// *not* held by the calling thread.
pub struct Attachment {
    buf: DmaBuf,
    info: Arc<AttachInfo>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("buf", &self.buf)
            .field("info", &self.info)
            .finish()
    }
}

impl DmaBuf {
    /// Attaches a static importer (`dma_buf_attach`): see
    /// [`DmaBuf::dynamic_attach`] with no importer ops.
    ///
    /// # Errors
    /// As [`DmaBuf::dynamic_attach`].
    #[doc(alias = "dma_buf_attach")]
    pub fn attach(&self, dev: &str) -> Result<Attachment> {
        self.dynamic_attach(dev, None)
    }

    /// Attaches device `dev` (`dma_buf_dynamic_attach`); `importer` makes
    /// it a dynamic importer.
    ///
    /// Calls the exporter's [`Exporter::attach`](super::Exporter::attach),
    /// adds the attachment to the list under the reservation lock, and when
    /// exactly one side is dynamic, pins (dynamic exporter), maps
    /// bidirectionally and caches the table (a static importer waiting,
    /// lock held, for the KERNEL fences).
    ///
    /// # Locking
    /// The reservation lock must not be held by the caller; may sleep.
    ///
    /// # Errors
    /// * [`Error::Invalid`] (`-EINVAL`) for an empty device name.
    /// * The exporter's attach, pin or map error (then nothing is left
    ///   attached).
    #[doc(alias = "dma_buf_dynamic_attach")]
    pub fn dynamic_attach(
        &self,
        dev: &str,
        importer: Option<Arc<dyn ImporterOps>>,
    ) -> Result<Attachment> {
        if dev.is_empty() {
            return Err(Error::Invalid("attach without a device"));
        }
        let peer2peer = importer.as_ref().is_some_and(|i| i.allow_peer2peer());
        let info = Arc::new(AttachInfo {
            id: next_id(),
            dev: dev.to_owned(),
            importer,
            peer2peer,
            state: Mutex::new(AttachState::default()),
        });
        self.exporter().attach(self, &info)?;
        {
            let _guard = self.resv().lock(None)?;
            self.inner.attachments.lock().insert(0, info.clone());
        }
        let attach = Attachment {
            buf: self.clone(),
            info,
        };
        if attach.info.is_dynamic() != self.is_dynamic() {
            let mut guard = self.resv().lock(None)?;
            let cached = (|| {
                if self.is_dynamic() {
                    self.exporter().pin(self, &attach.info, &mut guard)?;
                }
                match attach.map_table(Direction::Bidirectional, &mut guard) {
                    Ok(sgt) => Ok(sgt),
                    Err(e) => {
                        if self.is_dynamic() {
                            self.exporter().unpin(self, &attach.info, &mut guard);
                        }
                        Err(e)
                    }
                }
            })();
            match cached {
                Ok(sgt) => {
                    attach.info.state.lock().cached = Some((sgt, Direction::Bidirectional));
                }
                Err(e) => {
                    drop(guard);
                    attach.detach_inner();
                    return Err(e);
                }
            }
        }
        Ok(attach)
    }

    /// Tells every dynamic importer that the buffer moves
    /// (`dma_buf_move_notify`), in list order; static importers are pinned
    /// and never moved.
    ///
    /// # Locking
    /// Called by the exporter with the reservation lock held (`guard`).
    ///
    /// # Errors
    /// [`Error::Invalid`] if `guard` is not this buffer's lock.
    #[doc(alias = "dma_buf_move_notify")]
    pub fn move_notify(&self, guard: &ResvGuard<'_>) -> Result<()> {
        self.check_guard(guard)?;
        let list = self.attachments();
        for a in list {
            if let Some(importer) = &a.importer {
                importer.move_notify(&a, guard);
            }
        }
        Ok(())
    }
}

impl Attachment {
    /// The attached buffer.
    pub fn buf(&self) -> &DmaBuf {
        &self.buf
    }

    /// What the exporter sees of this attachment.
    pub fn info(&self) -> &Arc<AttachInfo> {
        &self.info
    }

    /// Whether the importer is dynamic.
    pub fn is_dynamic(&self) -> bool {
        self.info.is_dynamic()
    }

    /// Whether the importer accepts peer-to-peer memory.
    pub fn peer2peer(&self) -> bool {
        self.info.peer2peer
    }

    /// Whether maps pin around the mapping: a dynamic exporter whose
    /// buffer has move-notify off.
    fn pin_on_map(&self) -> bool {
        self.buf.is_dynamic() && !self.buf.move_notify_enabled()
    }

    /// `__map_dma_buf`: the exporter's map, then for a static importer the
    /// wait for the KERNEL fences (lock held).
    fn map_table(&self, dir: Direction, guard: &mut ResvGuard<'_>) -> Result<SgTable> {
        let sgt = self.buf.exporter().map(&self.buf, &self.info, dir, guard)?;
        if !self.info.is_dynamic() {
            if let Err(e) = self.buf.resv().wait_timeout(Usage::Kernel, None, None) {
                self.buf
                    .exporter()
                    .unmap(&self.buf, &self.info, sgt, dir, guard);
                return Err(e);
            }
        }
        Ok(sgt)
    }

    /// Maps the buffer for the device (`dma_buf_map_attachment`).
    ///
    /// Returns the cached table if there is one. Otherwise pins if
    /// pin-on-map applies (see [`DmaBuf::dynamic_attach`]), calls the
    /// exporter's map and, for a static importer, waits for every KERNEL
    /// fence (a pending move or clear) so the memory is there when this
    /// returns. A dynamic importer gets no wait: it must wait for the
    /// KERNEL fences before its device touches the memory.
    ///
    /// # Locking
    /// The reservation lock held (`guard`); may sleep.
    ///
    /// # Errors
    /// * [`Error::Invalid`] if `guard` is not this buffer's lock, or the
    ///   attachment was detached.
    /// * [`Error::Busy`] (`-EBUSY`) for a direction other than the cached
    ///   table's, unless that one is bidirectional.
    /// * The exporter's pin or map error.
    #[doc(alias = "dma_buf_map_attachment")]
    pub fn map(&self, guard: &mut ResvGuard<'_>, dir: Direction) -> Result<SgTable> {
        self.buf.check_guard(guard)?;
        {
            let st = self.info.state.lock();
            if st.detached {
                return Err(Error::Invalid("attachment detached"));
            }
            if let Some((sgt, cached_dir)) = &st.cached {
                if *cached_dir != dir && *cached_dir != Direction::Bidirectional {
                    return Err(Error::Busy);
                }
                return Ok(sgt.clone());
            }
        }
        let pin = self.pin_on_map();
        if pin {
            self.buf.exporter().pin(&self.buf, &self.info, guard)?;
        }
        let sgt = match self.map_table(dir, guard) {
            Ok(s) => s,
            Err(e) => {
                if pin {
                    self.buf.exporter().unpin(&self.buf, &self.info, guard);
                }
                return Err(e);
            }
        };
        if self.buf.caps().cache_sgt_mapping {
            self.info.state.lock().cached = Some((sgt.clone(), dir));
        }
        Ok(sgt)
    }

    /// Gives a table back (`dma_buf_unmap_attachment`): nothing for the
    /// cached table; otherwise the exporter's unmap and, if the map pinned,
    /// an unpin.
    ///
    /// # Locking
    /// The reservation lock held (`guard`).
    ///
    /// # Errors
    /// [`Error::Invalid`] if `guard` is not this buffer's lock.
    #[doc(alias = "dma_buf_unmap_attachment")]
    pub fn unmap(&self, guard: &mut ResvGuard<'_>, sgt: SgTable, dir: Direction) -> Result<()> {
        self.buf.check_guard(guard)?;
        if self
            .info
            .state
            .lock()
            .cached
            .as_ref()
            .is_some_and(|(c, _)| c.id == sgt.id)
        {
            return Ok(());
        }
        self.buf
            .exporter()
            .unmap(&self.buf, &self.info, sgt, dir, guard);
        if self.pin_on_map() {
            self.buf.exporter().unpin(&self.buf, &self.info, guard);
        }
        Ok(())
    }

    /// [`Attachment::map`] taking and dropping the lock itself
    /// (`dma_buf_map_attachment_unlocked`).
    ///
    /// # Locking
    /// The lock must not be held by the caller.
    ///
    /// # Errors
    /// As [`Attachment::map`].
    #[doc(alias = "dma_buf_map_attachment_unlocked")]
    pub fn map_unlocked(&self, dir: Direction) -> Result<SgTable> {
        let mut guard = self.buf.resv().lock(None)?;
        self.map(&mut guard, dir)
    }

    /// [`Attachment::unmap`] taking the lock itself
    /// (`dma_buf_unmap_attachment_unlocked`).
    ///
    /// # Errors
    /// As [`Attachment::unmap`].
    #[doc(alias = "dma_buf_unmap_attachment_unlocked")]
    pub fn unmap_unlocked(&self, sgt: SgTable, dir: Direction) -> Result<()> {
        let mut guard = self.buf.resv().lock(None)?;
        self.unmap(&mut guard, sgt, dir)
    }

    /// Pins the buffer for a dynamic importer (`dma_buf_pin`): it will not
    /// move until unpinned. For limited uses such as scanout only, never
    /// for amounts userspace controls (rule C4).
    ///
    /// # Locking
    /// The reservation lock held (`guard`).
    ///
    /// # Errors
    /// * [`Error::Invalid`] if `guard` is not this buffer's lock, or the
    ///   attachment is static (the kernel warns).
    /// * The exporter's pin error.
    #[doc(alias = "dma_buf_pin")]
    pub fn pin(&self, guard: &mut ResvGuard<'_>) -> Result<()> {
        self.buf.check_guard(guard)?;
        if !self.is_dynamic() {
            return Err(Error::Invalid("dma_buf_pin on a static attachment"));
        }
        if self.buf.caps().pin {
            self.buf.exporter().pin(&self.buf, &self.info, guard)?;
        }
        self.info.state.lock().pins += 1;
        Ok(())
    }

    /// Undoes one [`Attachment::pin`] (`dma_buf_unpin`).
    ///
    /// # Locking
    /// The reservation lock held (`guard`).
    ///
    /// # Errors
    /// [`Error::Invalid`] if `guard` is not this buffer's lock, the
    /// attachment is static or holds no pin.
    #[doc(alias = "dma_buf_unpin")]
    pub fn unpin(&self, guard: &mut ResvGuard<'_>) -> Result<()> {
        self.buf.check_guard(guard)?;
        if !self.is_dynamic() {
            return Err(Error::Invalid("dma_buf_unpin on a static attachment"));
        }
        {
            let mut st = self.info.state.lock();
            if st.pins == 0 {
                return Err(Error::Invalid("unpin without pin"));
            }
            st.pins -= 1;
        }
        if self.buf.caps().unpin {
            self.buf.exporter().unpin(&self.buf, &self.info, guard);
        }
        Ok(())
    }

    /// Detaches (`dma_buf_detach`): under the lock, unmaps and unpins a
    /// cached table and leaves the list; then the exporter's detach.
    ///
    /// # Locking
    /// The reservation lock must not be held by the caller.
    #[doc(alias = "dma_buf_detach")]
    pub fn detach(self) {
        self.detach_inner();
    }

    fn detach_inner(&self) {
        if std::mem::replace(&mut self.info.state.lock().detached, true) {
            return;
        }
        let buf = &self.buf;
        if let Ok(mut guard) = buf.resv().lock(None) {
            let cached = self.info.state.lock().cached.take();
            if let Some((sgt, dir)) = cached {
                buf.exporter().unmap(buf, &self.info, sgt, dir, &mut guard);
                if buf.is_dynamic() {
                    buf.exporter().unpin(buf, &self.info, &mut guard);
                }
            }
            // Pins an importer forgot are dropped with the attachment.
            let pins = std::mem::take(&mut self.info.state.lock().pins);
            if buf.caps().unpin {
                for _ in 0..pins {
                    buf.exporter().unpin(buf, &self.info, &mut guard);
                }
            }
            buf.inner
                .attachments
                .lock()
                .retain(|a| !Arc::ptr_eq(a, &self.info));
        }
        buf.exporter().detach(buf, &self.info);
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.detach_inner();
    }
}
