//! Memory per pending software fence, counted by a global allocator: the
//! fence allocation plus the timeline's bookkeeping must stay within 128
//! bytes (a deterministic count, not a timing).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use dmasync::fence::sw_sync::Timeline;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn pending_sw_sync_fence_costs_at_most_128_bytes() {
    const N: usize = 10_000;
    let timeline = Timeline::new("memory");
    let mut fences = Vec::with_capacity(N);
    let before = LIVE.load(Ordering::Relaxed);
    for i in 1..=N as u32 {
        fences.push(timeline.create_fence(i));
    }
    let per_fence = (LIVE.load(Ordering::Relaxed) - before) as f64 / N as f64;
    println!("bytes per pending sw_sync fence: {per_fence:.1}");
    assert_eq!(timeline.pending(), N);
    assert!(per_fence <= 128.0, "{per_fence} bytes per pending fence");
    timeline.inc(N as u32);
    assert!(fences.iter().all(|f| f.status() == 1));
}
