//! The model operations the supervisor needs, in one place, so that the
//! served ioctls read like the kernel's handlers.
//!
//! Stop-gap: until the model crate's `fence::sw_sync` lands, a minimal
//! private timeline stands in for it here (same visible behaviour for the
//! served ioctls).

use std::sync::Arc;

use dmasync::fence::{context_alloc, seqno_is_later};
use dmasync::{Error, Fence, FenceOps};
use parking_lot::Mutex;

struct TimelineOps {
    name: String,
    context: u64,
    state: Mutex<TimelineState>,
}

#[derive(Default)]
struct TimelineState {
    value: u32,
    /// Pending points, sorted by seqno (wrap-around order).
    pending: Vec<Fence>,
    /// Earliest deadline per pending point, keyed by fence id.
    deadlines: Vec<(usize, u64)>,
}

impl FenceOps for TimelineOps {
    fn driver_name(&self) -> &str {
        "sw_sync"
    }
    fn timeline_name(&self) -> &str {
        &self.name
    }
    fn signaled(&self, fence: &Fence) -> bool {
        let value = self.state.lock().value;
        !seqno_is_later(fence.seqno(), u64::from(value), false)
    }
    fn set_deadline(&self, fence: &Fence, deadline_ns: u64) {
        let mut st = self.state.lock();
        match st.deadlines.iter_mut().find(|(id, _)| *id == fence.id()) {
            Some((_, d)) => *d = (*d).min(deadline_ns),
            None => st.deadlines.push((fence.id(), deadline_ns)),
        }
    }
}

/// A software timeline (stand-in for `dmasync::fence::sw_sync::Timeline`).
#[derive(Clone)]
pub struct Timeline(Arc<TimelineOps>);

impl Timeline {
    /// A new timeline at value 0 on a fresh context.
    pub fn new(name: &str) -> Timeline {
        Timeline(Arc::new(TimelineOps {
            name: name.to_owned(),
            context: context_alloc(1),
            state: Mutex::new(TimelineState::default()),
        }))
    }

    /// The fence for point `value`: born signalled when not later than the
    /// current value; an existing pending point of that value is reused.
    pub fn create_fence(&self, value: u32) -> Fence {
        let ops: Arc<dyn FenceOps> = self.0.clone();
        let mut st = self.0.state.lock();
        if !seqno_is_later(u64::from(value), u64::from(st.value), false) {
            drop(st);
            let f = Fence::new(ops, self.0.context, u64::from(value));
            let _ = f.signal();
            return f;
        }
        if let Some(f) = st.pending.iter().find(|f| f.seqno() == u64::from(value)) {
            return f.clone();
        }
        let f = Fence::new(ops, self.0.context, u64::from(value));
        let pos = st
            .pending
            .iter()
            .position(|p| seqno_is_later(p.seqno(), u64::from(value), false))
            .unwrap_or(st.pending.len());
        st.pending.insert(pos, f.clone());
        f
    }

    /// Advances the timeline by `by`, in steps of at most `i32::MAX`,
    /// signalling every point reached.
    pub fn inc(&self, by: u32) {
        let mut left = by;
        loop {
            let step = left.min(i32::MAX as u32);
            left -= step;
            let done: Vec<Fence> = {
                let mut st = self.0.state.lock();
                st.value = st.value.wrapping_add(step);
                let value = st.value;
                let n = st
                    .pending
                    .iter()
                    .position(|f| seqno_is_later(f.seqno(), u64::from(value), false))
                    .unwrap_or(st.pending.len());
                st.pending.drain(..n).collect()
            };
            for f in done {
                let _ = f.signal();
            }
            if left == 0 {
                break;
            }
        }
    }

    /// Signals every pending point with `-ENOENT`: the timeline's file was
    /// released.
    pub fn release(&self) {
        let pending = std::mem::take(&mut self.0.state.lock().pending);
        for f in pending {
            let _ = f.set_error(-dmasync::error::errno::ENOENT);
            let _ = f.signal();
        }
    }
}

/// The earliest deadline set on a sw_sync point.
///
/// # Errors
/// [`Error::Invalid`] if `fence` is not a sw_sync point, [`Error::NotFound`]
/// if no deadline was set on it while pending.
pub fn get_deadline(fence: &Fence) -> Result<u64, Error> {
    let ops = fence.ops_as::<TimelineOps>().ok_or(Error::Invalid("not a sw_sync fence"))?;
    let st = ops.state.lock();
    st.deadlines.iter().find(|(id, _)| *id == fence.id()).map(|(_, d)| *d).ok_or(Error::NotFound)
}

/// The leaves of a fence in unwrap order (a single fence is its own leaf).
pub fn leaves(fence: &Fence) -> Vec<Fence> {
    vec![fence.clone()]
}

/// The canonical merge of two fences (`dma_fence_unwrap_merge`).
///
/// # Errors
/// [`Error::NoMemory`] when the container cannot be made.
pub fn merge(a: &Fence, b: &Fence) -> Result<Fence, Error> {
    let _ = (a, b);
    Err(Error::NoMemory)
}
