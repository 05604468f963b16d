//! The fence core: an equivalent of every case of the kernel's
//! drivers/dma-buf/st-dma-fence.c (test_* names kept), then the rules of
//! kernel-spec §1 the selftest does not cover: ordering, deadlines, lazy
//! enabling, callback order, wait_any, interrupts, errors, release, and
//! signalling critical sections.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use dmasync::error::errno;
use dmasync::fence::signalling::{self, Section, Violation};
use dmasync::fence::{context_alloc, get_stub, seqno_is_later, wait_any_timeout, Interrupt};
use dmasync::{Error, Fence, FenceOps};

/// A source that does nothing by itself and counts what the core asks.
#[derive(Default)]
struct Mock {
    enables: AtomicUsize,
    /// What `enable_signaling` answers: `true` (pending) unless set.
    complete_on_enable: AtomicBool,
    /// What the `signaled` peek answers.
    peek: AtomicBool,
    deadlines: Mutex<Vec<u64>>,
    releases: AtomicUsize,
}

impl FenceOps for Mock {
    fn driver_name(&self) -> &str {
        "mock"
    }
    fn timeline_name(&self) -> &str {
        "mock"
    }
    fn enable_signaling(&self, _fence: &Fence) -> bool {
        self.enables.fetch_add(1, Ordering::SeqCst);
        !self.complete_on_enable.load(Ordering::SeqCst)
    }
    fn signaled(&self, _fence: &Fence) -> bool {
        self.peek.load(Ordering::SeqCst)
    }
    fn set_deadline(&self, _fence: &Fence, deadline_ns: u64) {
        self.deadlines.lock().unwrap().push(deadline_ns);
    }
    fn release(&self, _context: u64, _seqno: u64) {
        self.releases.fetch_add(1, Ordering::SeqCst);
    }
}

fn mock_fence() -> (Arc<Mock>, Fence) {
    let ops = Arc::new(Mock::default());
    let f = Fence::new(ops.clone(), 0, 0);
    (ops, f)
}

fn mock_on(ctx: u64, seqno: u64) -> Fence {
    Fence::new(Arc::new(Mock::default()), ctx, seqno)
}

fn mock64_on(ctx: u64, seqno: u64) -> Fence {
    Fence::new64(Arc::new(Mock::default()), ctx, seqno)
}

/// A flag a callback sets, as the selftest's `struct simple_cb`.
#[derive(Clone, Default)]
struct Seen(Arc<AtomicBool>);

impl Seen {
    fn callback(&self) -> impl FnOnce(&Fence) + Send + 'static {
        let s = self.0.clone();
        move |_| s.store(true, Ordering::SeqCst)
    }
    fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

const LONG: Duration = Duration::from_secs(60);

// ---- st-dma-fence.c ----

#[test]
fn test_sanitycheck() {
    let (_, f) = mock_fence();
    f.enable_sw_signaling();
    assert_eq!(f.signal(), Ok(()));
    assert!(f.is_signaled());
}

#[test]
fn test_signaling() {
    let (_, f) = mock_fence();
    f.enable_sw_signaling();
    assert!(!f.is_signaled(), "signalled on creation");
    assert_eq!(f.signal(), Ok(()), "reported as already signalled");
    assert!(f.is_signaled());
    assert!(f.test_signaled_flag());
    // 6.12: signalling twice is -EINVAL.
    assert_eq!(f.signal(), Err(Error::AlreadySignaled));
}

#[test]
fn test_add_callback() {
    let (_, f) = mock_fence();
    let seen = Seen::default();
    let _id = f
        .add_callback(seen.callback())
        .expect("fence already signalled");
    f.signal().unwrap();
    assert!(seen.get());
}

#[test]
fn test_late_add_callback() {
    let (_, f) = mock_fence();
    f.enable_sw_signaling();
    f.signal().unwrap();
    let seen = Seen::default();
    let err = f.add_callback(seen.callback()).unwrap_err();
    assert_eq!(err, Error::AlreadySignaled);
    assert_eq!(err.errno(), errno::ENOENT);
    let _ = f.signal();
    assert!(!seen.get(), "callback called after failed attachment");
}

#[test]
fn test_rm_callback() {
    let (_, f) = mock_fence();
    let seen = Seen::default();
    let id = f.add_callback(seen.callback()).unwrap();
    assert!(f.remove_callback(id));
    f.signal().unwrap();
    assert!(!seen.get());
}

#[test]
fn test_late_rm_callback() {
    let (_, f) = mock_fence();
    let seen = Seen::default();
    let id = f.add_callback(seen.callback()).unwrap();
    f.signal().unwrap();
    assert!(seen.get());
    assert!(!f.remove_callback(id), "removal succeeded after execution");
}

#[test]
fn test_status() {
    let (_, f) = mock_fence();
    f.enable_sw_signaling();
    assert_eq!(f.status(), 0);
    f.signal().unwrap();
    assert_eq!(f.status(), 1);
}

#[test]
fn test_error() {
    const EIO: i32 = 5;
    let (_, f) = mock_fence();
    f.enable_sw_signaling();
    f.set_error(-EIO).unwrap();
    assert_eq!(f.status(), 0, "error status before signal");
    f.signal().unwrap();
    assert_eq!(f.status(), -EIO);
}

#[test]
fn test_wait() {
    let (_, f) = mock_fence();
    f.enable_sw_signaling();
    assert_eq!(
        f.wait_timeout(Some(Duration::ZERO), None),
        Err(Error::TimedOut)
    );
    f.signal().unwrap();
    // The kernel returns 1 for a zero timeout on a signalled fence.
    assert_eq!(
        f.wait_timeout(Some(Duration::ZERO), None),
        Ok(Some(Duration::from_nanos(1)))
    );
}

#[test]
fn test_wait_timeout() {
    let (_, f) = mock_fence();
    f.enable_sw_signaling();
    assert_eq!(
        f.wait_timeout(Some(Duration::from_millis(1)), None),
        Err(Error::TimedOut)
    );
    let timer = {
        let f = f.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(1));
            f.signal().unwrap();
        })
    };
    let left = f
        .wait_timeout(Some(LONG), None)
        .expect("woken by the signal");
    assert!(left.is_some_and(|d| d > Duration::ZERO));
    timer.join().unwrap();
}

#[test]
fn test_stub() {
    let stubs: Vec<Fence> = (0..64).map(|_| get_stub()).collect();
    for s in &stubs {
        assert!(s.is_signaled());
    }
}

/// A published fence and a flag its owner sets once `signal()` returned,
/// that is once every callback on it has run.
type Published = Option<(Fence, Arc<AtomicBool>)>;

/// Two threads each publish a fence, add a callback to the other's, and
/// signal their own before or after adding: the callback either runs, or
/// adding it reports the fence signalled.
///
/// The kernel's test waits for the fence and then takes and drops its lock,
/// because callbacks run under that lock. Here callbacks run on the
/// signalling thread after the lock is released, so the equivalent barrier
/// is the owner's `signal()` having returned.
fn race_signal_callback(before: bool) {
    const PASSES: usize = 20_000;
    let slots: Arc<[Mutex<Published>; 2]> = Arc::new([Mutex::new(None), Mutex::new(None)]);
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..2)
        .map(|id| {
            let slots = slots.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                let (mut pass, mut miss) = (0usize, 0usize);
                while pass < PASSES && !stop.load(Ordering::SeqCst) {
                    let (_, f1) = mock_fence();
                    f1.enable_sw_signaling();
                    let signalled = Arc::new(AtomicBool::new(false));
                    *slots[id].lock().unwrap() = Some((f1.clone(), signalled.clone()));
                    let other = loop {
                        if let Some(p) = slots[1 - id].lock().unwrap().clone() {
                            break Some(p);
                        }
                        if stop.load(Ordering::SeqCst) {
                            break None;
                        }
                        thread::yield_now();
                    };
                    let signal_own = || {
                        let _ = f1.signal();
                        signalled.store(true, Ordering::SeqCst);
                    };
                    if before {
                        signal_own();
                    }
                    let seen = Seen::default();
                    let added = other
                        .as_ref()
                        .map(|(f2, _)| f2.add_callback(seen.callback()).is_ok());
                    if added != Some(true) {
                        miss += 1;
                        seen.0.store(true, Ordering::SeqCst);
                    }
                    if !before {
                        signal_own();
                    }
                    if !seen.get() {
                        let (f2, f2_signalled) = other.as_ref().unwrap();
                        f2.wait();
                        assert!(f2.is_signaled());
                        while !f2_signalled.load(Ordering::SeqCst) {
                            thread::yield_now();
                        }
                    }
                    assert!(
                        seen.get(),
                        "callback not seen on thread {id}, pass {pass} ({miss} misses)"
                    );
                    *slots[id].lock().unwrap() = None;
                    pass += 1;
                }
                stop.store(true, Ordering::SeqCst);
                pass
            })
        })
        .collect();
    let passes: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(passes >= PASSES);
}

#[test]
fn test_race_signal_callback() {
    race_signal_callback(false);
    race_signal_callback(true);
}

// ---- ordering ----

#[test]
fn is_later_32bit_wraps_around() {
    let ctx = context_alloc(1);
    let f = |s| mock_on(ctx, s);
    assert!(f(1).is_later(&f(0)));
    assert!(!f(0).is_later(&f(1)));
    assert!(f(1).is_later(&f(0xffff_ffff)), "1 follows 0xffffffff");
    assert!(!f(0xffff_ffff).is_later(&f(1)));
    assert!(f(0x7fff_ffff).is_later(&f(0)));
    // Half the range apart: neither is later.
    assert!(!f(0x8000_0000).is_later(&f(0)));
    assert!(!f(0).is_later(&f(0x8000_0000)));
    // Only the low 32 bits count.
    assert!(!f(0x1_0000_0001).is_later(&f(2)));
    assert!(!f(5).is_later(&f(5)));
    assert!(!seqno_is_later(0x8000_0000, 0, false));
    assert!(seqno_is_later(0, 0xffff_fff0, false));
}

#[test]
fn is_later_64bit() {
    let ctx = context_alloc(1);
    let f = |s| mock64_on(ctx, s);
    assert!(f(0).is_seqno64());
    assert!(!mock_on(ctx, 0).is_seqno64());
    assert!(f(0x1_0000_0000).is_later(&f(0xffff_ffff)));
    assert!(!f(1).is_later(&f(0xffff_ffff)));
    assert!(f(0x8000_0000).is_later(&f(0)));
    assert!(f(u64::MAX).is_later(&f(0)));
    assert!(seqno_is_later(0x1_0000_0001, 2, true));
}

#[test]
fn is_later_needs_one_context() {
    let a = mock_on(context_alloc(1), 2);
    let b = mock_on(context_alloc(1), 1);
    assert!(!a.is_later(&b));
    assert!(!b.is_later(&a));
    assert!(!a.is_later_or_same(&b));
}

#[test]
fn is_later_or_same_is_identity() {
    let ctx = context_alloc(1);
    let a = mock_on(ctx, 4);
    let twin = mock_on(ctx, 4);
    assert!(a.is_later_or_same(&a.clone()));
    assert!(!a.is_later_or_same(&twin), "equal seqnos are not the same");
    assert!(mock_on(ctx, 5).is_later_or_same(&a));
    assert!(!a.is_later_or_same(&mock_on(ctx, 5)));
}

#[test]
fn later_picks_the_later_pending_fence() {
    let ctx = context_alloc(1);
    let a = mock_on(ctx, 1);
    let b = mock_on(ctx, 2);
    assert!(Fence::later(&a, &b).is_some_and(|f| f.ptr_eq(&b)));
    assert!(Fence::later(&b, &a).is_some_and(|f| f.ptr_eq(&b)));
    b.signal().unwrap();
    assert!(
        Fence::later(&a, &b).is_none(),
        "the later one has signalled"
    );
    let other = mock_on(context_alloc(1), 9);
    assert!(Fence::later(&a, &other).is_none());
}

// ---- deadlines ----

#[test]
fn set_deadline_keeps_earliest_and_forwards_improvements_once() {
    let (ops, f) = mock_fence();
    assert_eq!(f.deadline(), None);
    for d in [300, 200, 250, 100, 100, 150] {
        f.set_deadline(d);
    }
    assert_eq!(f.deadline(), Some(100));
    assert_eq!(*ops.deadlines.lock().unwrap(), vec![300, 200, 100]);
    f.signal().unwrap();
    f.set_deadline(50);
    assert_eq!(f.deadline(), Some(100), "ignored once signalled");
    assert_eq!(ops.deadlines.lock().unwrap().len(), 3);
}

#[test]
fn set_deadline_on_peek_signalled_fence_is_ignored() {
    let (ops, f) = mock_fence();
    ops.peek.store(true, Ordering::SeqCst);
    f.set_deadline(10);
    assert_eq!(f.deadline(), None);
    assert!(ops.deadlines.lock().unwrap().is_empty());
}

// ---- enabling ----

#[test]
fn enable_signaling_is_lazy_and_called_once() {
    let (ops, f) = mock_fence();
    assert!(!f.is_signaled());
    assert_eq!(f.status(), 0);
    f.set_deadline(5);
    assert_eq!(
        ops.enables.load(Ordering::SeqCst),
        0,
        "queries must not enable"
    );
    assert!(!f.is_signaling_enabled());
    let _id = f.add_callback(|_| {}).unwrap();
    assert_eq!(ops.enables.load(Ordering::SeqCst), 1);
    assert!(f.is_signaling_enabled());
    let _id = f.add_callback(|_| {}).unwrap();
    f.enable_sw_signaling();
    let _ = f.wait_timeout(Some(Duration::ZERO), None);
    assert_eq!(ops.enables.load(Ordering::SeqCst), 1);
}

#[test]
fn enable_signaling_even_for_zero_timeout_wait() {
    let (ops, f) = mock_fence();
    assert_eq!(
        f.wait_timeout(Some(Duration::ZERO), None),
        Err(Error::TimedOut)
    );
    assert_eq!(ops.enables.load(Ordering::SeqCst), 1);
}

#[test]
fn enable_signaling_false_signals_at_once() {
    let (ops, f) = mock_fence();
    ops.complete_on_enable.store(true, Ordering::SeqCst);
    let seen = Seen::default();
    assert_eq!(f.add_callback(seen.callback()), Err(Error::AlreadySignaled));
    assert!(f.test_signaled_flag());
    assert!(!seen.get());
    assert_eq!(ops.enables.load(Ordering::SeqCst), 1);
}

#[test]
fn signaled_peek_signals_the_fence() {
    let (ops, f) = mock_fence();
    assert!(!f.is_signaled());
    ops.peek.store(true, Ordering::SeqCst);
    assert!(!f.test_signaled_flag());
    assert!(f.is_signaled());
    assert!(f.test_signaled_flag());
    assert!(f.timestamp().is_some());
}

#[test]
fn signal_timestamp_is_recorded() {
    let (_, f) = mock_fence();
    assert_eq!(f.timestamp(), None);
    f.signal_timestamp(1234).unwrap();
    assert_eq!(f.timestamp(), Some(1234));
    assert_eq!(f.signal_timestamp(99), Err(Error::AlreadySignaled));
    assert_eq!(f.timestamp(), Some(1234));
}

// ---- callbacks ----

#[test]
fn callbacks_run_in_order_of_addition() {
    let (_, f) = mock_fence();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut ids = Vec::new();
    for i in 0..6 {
        let o = order.clone();
        ids.push(f.add_callback(move |_| o.lock().unwrap().push(i)).unwrap());
    }
    assert!(f.remove_callback(ids[2]));
    assert!(!f.remove_callback(ids[2]), "removed twice");
    assert_eq!(f.pending_callbacks(), 5);
    f.signal().unwrap();
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 3, 4, 5]);
    assert_eq!(f.pending_callbacks(), 0);
}

#[test]
fn callback_sees_signalled_fence() {
    let (_, f) = mock_fence();
    f.set_error(-errno::ECANCELED).unwrap();
    let status = Arc::new(Mutex::new(None));
    let s = status.clone();
    let _id = f
        .add_callback(move |f| *s.lock().unwrap() = Some((f.status(), f.timestamp())))
        .unwrap();
    f.signal_timestamp(7).unwrap();
    assert_eq!(*status.lock().unwrap(), Some((-errno::ECANCELED, Some(7))));
}

// ---- wait_any ----

#[test]
fn wait_any_timeout_returns_the_signalled_index() {
    let fences: Vec<Fence> = (0..3).map(|_| mock_fence().1).collect();
    let signaller = {
        let f = fences[2].clone();
        thread::spawn(move || f.signal().unwrap())
    };
    let (i, left) = wait_any_timeout(&fences, Some(LONG), None).unwrap();
    signaller.join().unwrap();
    assert_eq!(i, 2);
    assert!(left.is_some_and(|d| d > Duration::ZERO));
    for f in &fences {
        assert_eq!(f.pending_callbacks(), 0, "wait_any removes its callbacks");
    }
}

#[test]
fn wait_any_timeout_forever_reports_none() {
    let fences: Vec<Fence> = (0..2).map(|_| mock_fence().1).collect();
    let signaller = {
        let f = fences[0].clone();
        thread::spawn(move || f.signal().unwrap())
    };
    assert_eq!(wait_any_timeout(&fences, None, None), Ok((0, None)));
    signaller.join().unwrap();
}

#[test]
fn wait_any_timeout_early_hit_returns_whole_timeout() {
    let fences: Vec<Fence> = (0..3).map(|_| mock_fence().1).collect();
    fences[1].signal().unwrap();
    fences[2].signal().unwrap();
    let timeout = Duration::from_secs(5);
    assert_eq!(
        wait_any_timeout(&fences, Some(timeout), None),
        Ok((1, Some(timeout)))
    );
    assert_eq!(fences[0].pending_callbacks(), 0);
}

#[test]
fn wait_any_timeout_empty_is_invalid() {
    let err = wait_any_timeout(&[], Some(LONG), None).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    assert_eq!(err.errno(), errno::EINVAL);
}

#[test]
fn wait_any_timeout_zero() {
    let fences: Vec<Fence> = (0..3).map(|_| mock_fence().1).collect();
    assert_eq!(
        wait_any_timeout(&fences, Some(Duration::ZERO), None),
        Err(Error::TimedOut)
    );
    fences[2].signal().unwrap();
    fences[1].signal().unwrap();
    assert_eq!(
        wait_any_timeout(&fences, Some(Duration::ZERO), None),
        Ok((1, Some(Duration::from_nanos(1))))
    );
}

#[test]
fn wait_any_timeout_times_out() {
    let fences: Vec<Fence> = (0..2).map(|_| mock_fence().1).collect();
    assert_eq!(
        wait_any_timeout(&fences, Some(Duration::from_millis(1)), None),
        Err(Error::TimedOut)
    );
    for f in &fences {
        assert_eq!(f.pending_callbacks(), 0);
    }
}

// ---- interrupts ----

#[test]
fn interrupt_raised_before_wait() {
    let (_, f) = mock_fence();
    let intr = Interrupt::new();
    intr.raise();
    assert!(intr.is_raised());
    // Checked before the zero-timeout test, as the kernel does.
    assert_eq!(
        f.wait_timeout(Some(Duration::ZERO), Some(&intr)),
        Err(Error::Interrupted)
    );
    assert_eq!(f.wait_timeout(None, Some(&intr)), Err(Error::Interrupted));
    assert_eq!(
        wait_any_timeout(std::slice::from_ref(&f), Some(LONG), Some(&intr)),
        Err(Error::Interrupted)
    );
    assert_eq!(Error::Interrupted.errno(), errno::EINTR);
    // A signalled fence wins over a pending interrupt.
    f.signal().unwrap();
    assert!(f.wait_timeout(Some(Duration::ZERO), Some(&intr)).is_ok());
    // Cleared: waits work again.
    let (_, g) = mock_fence();
    intr.clear();
    assert_eq!(
        g.wait_timeout(Some(Duration::ZERO), Some(&intr)),
        Err(Error::TimedOut)
    );
}

#[test]
fn interrupt_raised_during_wait() {
    let (_, f) = mock_fence();
    let (_, g) = mock_fence();
    let intr = Interrupt::new();
    let waiters: Vec<_> = [false, true]
        .into_iter()
        .map(|any| {
            let (f, g, intr) = (f.clone(), g.clone(), intr.clone());
            thread::spawn(move || {
                if any {
                    wait_any_timeout(&[f, g], None, Some(&intr)).map(|_| ())
                } else {
                    f.wait_timeout(None, Some(&intr)).map(|_| ())
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(20));
    intr.raise();
    for w in waiters {
        assert_eq!(w.join().unwrap(), Err(Error::Interrupted));
    }
    assert!(!f.is_signaled());
    assert_eq!(f.pending_callbacks(), 0);
    assert_eq!(g.pending_callbacks(), 0);
}

// ---- errors ----

#[test]
fn set_error_rules() {
    let (_, f) = mock_fence();
    for bad in [0, 1, -4096, i32::MIN, i32::MAX] {
        assert!(matches!(f.set_error(bad), Err(Error::Invalid(_))), "{bad}");
    }
    assert_eq!(f.error(), 0);
    f.set_error(-errno::ETIME).unwrap();
    f.set_error(-errno::MAX_ERRNO).unwrap();
    assert_eq!(
        f.error(),
        -4095,
        "the last error set before signalling wins"
    );
    f.signal().unwrap();
    assert_eq!(f.set_error(-errno::ENODATA), Err(Error::AlreadySignaled));
    assert_eq!(f.status(), -4095);
}

// ---- release ----

#[test]
fn drop_last_reference_with_callbacks_signals_edeadlk() {
    let (ops, f) = mock_fence();
    let got = Arc::new(Mutex::new(None));
    let g = got.clone();
    let _id = f
        .add_callback(move |f| *g.lock().unwrap() = Some(f.status()))
        .unwrap();
    let clone = f.clone();
    drop(clone);
    assert_eq!(*got.lock().unwrap(), None, "not the last reference");
    drop(f);
    assert_eq!(*got.lock().unwrap(), Some(-errno::EDEADLK));
    assert_eq!(ops.releases.load(Ordering::SeqCst), 1);
}

/// Two last references dropped at the same moment on two threads: the
/// callback still runs exactly once, with -EDEADLK.
#[test]
fn concurrent_drop_of_last_references_still_signals_edeadlk() {
    for _ in 0..2000 {
        let (_, f) = mock_fence();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let _id = f
            .add_callback(move |f| {
                assert_eq!(f.status(), -errno::EDEADLK);
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        let other = f.clone();
        let t = std::thread::spawn(move || drop(other));
        drop(f);
        t.join().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn drop_last_reference_without_callbacks_just_releases() {
    let (ops, f) = mock_fence();
    assert_eq!(f.ref_count(), 1);
    drop(f);
    assert_eq!(ops.releases.load(Ordering::SeqCst), 1);
}

// ---- signalling critical sections ----

/// All checker assertions live in one test: the switch is process-wide.
/// No other test of this file waits inside a callback or a section.
#[test]
fn signalling_sections() {
    let done = mock_fence().1;
    done.signal().unwrap();
    let wait_in_callback = || {
        let (_, f) = mock_fence();
        let d = done.clone();
        let _id = f
            .add_callback(move |_| {
                let _ = d.wait_timeout(Some(Duration::ZERO), None);
            })
            .unwrap();
        f.signal().unwrap();
    };

    // Off by default: nothing is recorded.
    assert!(!signalling::checking());
    wait_in_callback();
    {
        let _s = Section::begin();
        assert!(!signalling::in_section());
        done.wait();
    }
    assert!(signalling::take_violations().is_empty());

    signalling::set_checking(true);
    // A wait inside a callback is inside signal()'s section.
    wait_in_callback();
    let v = signalling::take_violations();
    assert_eq!(v.len(), 1);
    assert!(matches!(v[0], Violation::WaitInSignalling { .. }));
    // Outside any section: allowed.
    done.wait();
    assert!(signalling::take_violations().is_empty());

    // Nesting: the outer section still counts after the inner one ends.
    let outer = Section::begin();
    let inner = Section::begin();
    drop(inner);
    assert!(signalling::in_section());
    done.wait();
    signalling::might_lock_resv();
    drop(outer);
    assert!(!signalling::in_section());
    let v = signalling::take_violations();
    assert_eq!(v.len(), 2);
    assert!(matches!(v[0], Violation::WaitInSignalling { .. }));
    assert!(matches!(v[1], Violation::ResvLockInSignalling { .. }));

    // Named threads are named in the report.
    thread::Builder::new()
        .name("signaller".into())
        .spawn(move || {
            let _s = Section::begin();
            signalling::might_lock_resv();
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(
        signalling::take_violations(),
        vec![Violation::ResvLockInSignalling {
            thread: Some("signaller".into())
        }]
    );

    // A section begun while checking was off did not take the annotation.
    signalling::set_checking(false);
    let cookie = Section::begin();
    signalling::set_checking(true);
    assert!(!signalling::in_section());
    drop(cookie);
    assert!(!signalling::in_section());
    signalling::set_checking(false);
    assert!(signalling::take_violations().is_empty());
}
