//! The software timeline (`sw_sync`): kernel-spec §6, the 6.12 errata and
//! the behaviour observed on the real kernel. Test names follow the rule or
//! the selftest (tools/testing/selftests/sync/) they check.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use dmasync::error::errno;
use dmasync::fence::sw_sync::{get_deadline, is_sw_sync, Timeline, NAME_MAX};
use dmasync::fence::{get_stub, monotonic_ns};
use dmasync::{Error, Fence};

/// Counts the bytes each thread allocates, for the memory budget test.
struct CountingAlloc;

thread_local! {
    static NET_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = NET_BYTES.try_with(|n| n.set(n.get() + delta));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialised thread-local without destructor, so updating
// it never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn net_bytes() -> isize {
    NET_BYTES.with(Cell::get)
}

/// Records the order in which fences signal, and their status then.
type Log = Arc<Mutex<Vec<(u64, i32)>>>;

fn recorder() -> (Log, impl Fn(&Fence) + Clone) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    (log, move |f: &Fence| {
        let l = l.clone();
        let _id = f
            .add_callback(move |f| l.lock().unwrap().push((f.seqno(), f.status())))
            .expect("point must be pending");
    })
}

#[test]
fn timeline_create_fresh_context_value_zero() {
    let a = Timeline::new("prog");
    let b = Timeline::new("prog");
    assert_ne!(a.context(), 0);
    assert_ne!(a.context(), b.context());
    assert_eq!(a.value(), 0);
    assert_eq!(a.name(), "prog");
    assert_eq!(a.pending(), 0);
}

#[test]
fn timeline_name_truncated_to_31_bytes() {
    let long = "abcdefghijklmnopqrstuvwxyz0123456789";
    assert_eq!(Timeline::new(long).name(), &long[..NAME_MAX]);
    assert_eq!(NAME_MAX, 31);
    // 30 ASCII bytes then a 2-byte character that would straddle the limit.
    let s = format!("{}é", "x".repeat(30));
    assert_eq!(Timeline::new(&s).name(), "x".repeat(30));
    assert_eq!(Timeline::new("").name(), "");
}

#[test]
fn sync_pt_names_context_and_seqno() {
    let tl = Timeline::new("myprog");
    let f = tl.create_fence(3);
    assert_eq!(f.driver_name(), "sw_sync");
    assert_eq!(f.timeline_name(), "myprog");
    assert_eq!((f.context(), f.seqno()), (tl.context(), 3));
    assert!(!f.is_seqno64());
    assert!(is_sw_sync(&f));
    assert!(!is_sw_sync(&get_stub()));
    assert_eq!(f.status(), 0);
    assert_eq!(f.timestamp(), None);
    assert_eq!(tl.pending(), 1);
}

#[test]
fn create_fence_at_or_below_value_is_born_signalled() {
    let tl = Timeline::new("born");
    let before = monotonic_ns();
    let zero = tl.create_fence(0);
    let after = monotonic_ns();
    assert!(zero.test_signaled_flag());
    assert_eq!(zero.status(), 1);
    let ts = zero.timestamp().expect("a signalled point has a timestamp");
    assert!(before <= ts && ts <= after);
    assert!(zero.add_callback(|_| panic!("must not run")).is_err());

    tl.inc(5);
    for v in [3, 5] {
        let f = tl.create_fence(v);
        assert!(f.test_signaled_flag(), "value {v} <= 5 must be signalled");
        assert!(is_sw_sync(&f));
    }
    let six = tl.create_fence(6);
    assert!(!six.is_signaled());
    assert_eq!(tl.pending(), 1);
}

#[test]
fn create_fence_same_value_returns_same_object() {
    let tl = Timeline::new("same");
    let a = tl.create_fence(7);
    let b = tl.create_fence(7);
    assert!(a.ptr_eq(&b));
    assert_eq!(tl.pending(), 1);
    // Signalled points are not tracked: the same value gives a new object.
    tl.inc(7);
    let c = tl.create_fence(7);
    let d = tl.create_fence(7);
    assert!(!c.ptr_eq(&d));
    assert!(!c.ptr_eq(&a));
}

#[test]
fn released_point_is_not_reused() {
    // The kernel frees a point at its last put and forgets it: creating the
    // same value again makes a fresh point with no deadline.
    let tl = Timeline::new("released");
    let a = tl.create_fence(4);
    a.set_deadline(1000);
    assert_eq!(get_deadline(&a), Ok(1000));
    drop(a);
    assert_eq!(tl.pending(), 0);
    assert_eq!(tl.describe(), "released: 0\n\n");
    let b = tl.create_fence(4);
    assert_eq!(get_deadline(&b), Err(Error::NotFound));
    assert_eq!(tl.pending(), 1);
    tl.inc(4);
    assert_eq!(b.status(), 1);
}

#[test]
fn released_point_with_callback_gets_edeadlk() {
    // A pending fence whose last reference goes away while callbacks are
    // queued is signalled with -EDEADLK (the kernel does it at the last put;
    // here when the timeline lets the point go).
    let tl = Timeline::new("orphan");
    let (log, watch) = recorder();
    let f = tl.create_fence(2);
    watch(&f);
    drop(f);
    tl.inc(2);
    assert_eq!(*log.lock().unwrap(), vec![(2, -errno::EDEADLK)]);
}

#[test]
fn inc_signals_points_oldest_first() {
    let tl = Timeline::new("order");
    let (log, watch) = recorder();
    let fences: Vec<Fence> = [3, 1, 5, 2, 4]
        .iter()
        .map(|&v| tl.create_fence(v))
        .collect();
    for f in &fences {
        watch(f);
    }
    tl.inc(2);
    assert_eq!(*log.lock().unwrap(), vec![(1, 1), (2, 1)]);
    assert_eq!(tl.pending(), 3);
    tl.inc(0);
    assert_eq!(tl.value(), 2);
    assert_eq!(log.lock().unwrap().len(), 2);
    tl.inc(10);
    let seqnos: Vec<u64> = log.lock().unwrap().iter().map(|e| e.0).collect();
    assert_eq!(seqnos, vec![1, 2, 3, 4, 5]);
    assert_eq!(tl.pending(), 0);
    assert_eq!(tl.value(), 12);
    for f in &fences {
        assert!(f.test_signaled_flag());
        assert!(f.timestamp().is_some());
    }
}

#[test]
fn inc_above_int_max_is_applied_in_steps() {
    // In one step, value 0 + 0xffffffff would leave point 1 "later" than the
    // value ((i32)(1 - 0xffffffff) = 2). Steps of at most INT_MAX pass it.
    let tl = Timeline::new("big");
    let p1 = tl.create_fence(1);
    let p2 = tl.create_fence(1000);
    let p3 = tl.create_fence(i32::MAX as u32);
    tl.inc(u32::MAX);
    assert_eq!(tl.value(), u32::MAX);
    for f in [&p1, &p2, &p3] {
        assert_eq!(f.status(), 1, "point {} must be signalled", f.seqno());
    }
    assert_eq!(tl.pending(), 0);
}

#[test]
fn inc_exactly_int_max_plus_one() {
    let tl = Timeline::new("step");
    let near = tl.create_fence(1);
    tl.inc(i32::MAX as u32 + 1);
    assert_eq!(tl.value(), 1 << 31);
    assert!(near.test_signaled_flag());
}

#[test]
fn create_fence_half_range_ahead_is_signalled() {
    // (i32)(0x80000000 - 0) is negative: not later, so born signalled.
    let tl = Timeline::new("half");
    assert!(tl.create_fence(1 << 31).test_signaled_flag());
    assert!(!tl.create_fence(i32::MAX as u32).test_signaled_flag());
}

#[test]
fn value_wraps_around() {
    let tl = Timeline::new("wrap");
    tl.inc(u32::MAX - 0x0f); // 0xfffffff0
    assert_eq!(tl.value(), 0xffff_fff0);
    let (log, watch) = recorder();
    let pts: Vec<Fence> = [3, 0xffff_ffff, 0xffff_fff8, 0]
        .iter()
        .map(|&v| tl.create_fence(v))
        .collect();
    for p in &pts {
        watch(p);
    }
    // Below the value in wrap-around order: born signalled.
    assert!(tl.create_fence(0xffff_ff00).test_signaled_flag());
    tl.inc(0x10); // value 0
    assert_eq!(tl.value(), 0);
    let seqnos: Vec<u64> = log.lock().unwrap().iter().map(|e| e.0).collect();
    assert_eq!(seqnos, vec![0xffff_fff8, 0xffff_ffff, 0]);
    assert_eq!(tl.pending(), 1);
    assert!(!pts[0].test_signaled_flag());
    tl.inc(3);
    assert!(pts[0].test_signaled_flag());
}

#[test]
fn signaled_peek_follows_the_value() {
    let tl = Timeline::new("peek");
    let f = tl.create_fence(2);
    assert!(!f.is_signaled());
    tl.inc(1);
    assert!(!f.is_signaled());
    tl.inc(1);
    assert!(f.is_signaled());
}

#[test]
fn close_signals_pending_points_with_enoent() {
    let tl = Timeline::new("closing");
    let done = tl.create_fence(1);
    tl.inc(1);
    let (log, watch) = recorder();
    let a = tl.create_fence(5);
    let b = tl.create_fence(3);
    watch(&a);
    watch(&b);
    let waiter = {
        let a = a.clone();
        thread::spawn(move || {
            a.wait();
            a.status()
        })
    };
    let before = monotonic_ns();
    drop(tl);
    assert_eq!(waiter.join().unwrap(), -errno::ENOENT);
    for f in [&a, &b] {
        assert_eq!(f.status(), -2);
        assert_eq!(f.error(), -errno::ENOENT);
        assert!(f.timestamp().is_some_and(|t| t >= before));
    }
    assert_eq!(*log.lock().unwrap(), vec![(3, -2), (5, -2)]);
    assert_eq!(done.status(), 1);
    // The points outlive the timeline, names included.
    assert_eq!(a.timeline_name(), "closing");
    assert_eq!(a.driver_name(), "sw_sync");
}

#[test]
fn close_leaves_points_signalled_by_hand_alone() {
    let tl = Timeline::new("byhand");
    let f = tl.create_fence(9);
    f.signal().unwrap();
    drop(tl);
    assert_eq!(f.status(), 1);
}

#[test]
fn get_deadline_without_deadline_is_enoent() {
    let tl = Timeline::new("deadline");
    let f = tl.create_fence(1);
    let err = get_deadline(&f).unwrap_err();
    assert_eq!(err, Error::NotFound);
    assert_eq!(err.errno(), errno::ENOENT);
}

#[test]
fn get_deadline_keeps_the_earliest() {
    let tl = Timeline::new("deadline");
    let f = tl.create_fence(1);
    f.set_deadline(3_000);
    f.set_deadline(1_000);
    f.set_deadline(2_000);
    assert_eq!(get_deadline(&f), Ok(1_000));
    tl.inc(1);
    // Still readable once signalled.
    assert_eq!(get_deadline(&f), Ok(1_000));
}

#[test]
fn get_deadline_set_on_signalled_point_is_not_recorded() {
    let tl = Timeline::new("deadline");
    let born = tl.create_fence(0);
    born.set_deadline(5);
    assert_eq!(get_deadline(&born), Err(Error::NotFound));
    let f = tl.create_fence(1);
    tl.inc(1);
    f.set_deadline(5);
    assert_eq!(get_deadline(&f), Err(Error::NotFound));
}

#[test]
fn get_deadline_on_other_fences_is_einval() {
    let err = get_deadline(&get_stub()).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    assert_eq!(err.errno(), errno::EINVAL);
}

#[test]
fn get_deadline_ignores_which_timeline() {
    let a = Timeline::new("a");
    let f = a.create_fence(1);
    f.set_deadline(77);
    let _b = Timeline::new("b");
    assert_eq!(get_deadline(&f), Ok(77));
}

#[test]
fn describe_lists_pending_points() {
    let tl = Timeline::new("info");
    let _p2 = tl.create_fence(2);
    let _p1 = tl.create_fence(1);
    assert_eq!(
        tl.describe(),
        "info: 0\n  fence active: 1 / 0\n  fence active: 2 / 0\n\n"
    );
    tl.inc(1);
    assert_eq!(tl.describe(), "info: 1\n  fence active: 2 / 1\n\n");
    tl.inc(1);
    assert_eq!(tl.describe(), "info: 2\n\n");
}

#[test]
fn describe_value_is_signed_and_shows_timestamps() {
    let tl = Timeline::new("neg");
    tl.inc(1 << 31);
    let p = tl.create_fence((1 << 31) + 5);
    p.signal_timestamp(12_000_000_345).unwrap();
    assert_eq!(
        tl.describe(),
        "neg: -2147483648\n  fence signaled@12.000000345: 2147483653 / -2147483648\n\n"
    );
    let q = tl.create_fence((1 << 31) + 6);
    q.set_error(-errno::ECANCELED).unwrap();
    q.signal_timestamp(1).unwrap();
    assert!(tl
        .describe()
        .contains("  fence error@0.000000001: 2147483654 / -2147483648\n"));
}

#[test]
fn concurrent_waiters_and_incs() {
    let tl = Arc::new(Timeline::new("threads"));
    let n = 200u32;
    let fences: Vec<Fence> = (1..=n).map(|v| tl.create_fence(v)).collect();
    let waiters: Vec<_> = fences
        .chunks(50)
        .map(|c| {
            let c = c.to_vec();
            thread::spawn(move || {
                for f in &c {
                    f.wait_timeout(Some(Duration::from_secs(60)), None)
                        .expect("every point must signal");
                }
                c.len()
            })
        })
        .collect();
    let incs: Vec<_> = (0..2)
        .map(|_| {
            let tl = tl.clone();
            thread::spawn(move || {
                for _ in 0..n / 2 {
                    tl.inc(1);
                }
            })
        })
        .collect();
    for t in incs {
        t.join().unwrap();
    }
    let waited: usize = waiters.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(waited, n as usize);
    assert_eq!(tl.value(), n);
    assert_eq!(tl.pending(), 0);
}

/// Net bytes one thread allocates to create `n` pending points.
fn bytes_per_pending_point(n: usize) -> f64 {
    let tl = Timeline::new("mem");
    let mut keep = Vec::with_capacity(n);
    let before = net_bytes();
    for v in 1..=n as u32 {
        keep.push(tl.create_fence(v));
    }
    let used = net_bytes() - before;
    assert_eq!(tl.pending(), n);
    used as f64 / n as f64
}

#[test]
fn pending_point_costs_at_most_128_bytes() {
    // Includes the worst case, right after the pending set's capacity
    // doubled.
    for n in [1000, 4096, 4097, 100_000] {
        let per = bytes_per_pending_point(n);
        println!("{n} pending points: {per:.1} bytes each");
        assert!(per <= 128.0, "{n} pending points: {per} bytes each");
    }
}

#[test]
fn released_points_do_not_accumulate() {
    let tl = Timeline::new("churn");
    let before = net_bytes();
    for v in 1..=100_000u32 {
        drop(tl.create_fence(v));
    }
    let used = net_bytes() - before;
    assert_eq!(tl.pending(), 0);
    // Bounded by the sweep: far less than 100k points' worth.
    assert!(used < 100_000, "{used} bytes kept by released points");
}
