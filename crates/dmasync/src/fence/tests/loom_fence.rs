//! Loom models of the fence core: each races signalling against one other
//! operation on two or three threads and checks one property.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p dmasync --lib --release --target-dir target/loom loom`.

use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use crate::error::Error;
use crate::fence::{wait_any_timeout, Fence, FenceOps, Interrupt};

/// A source that never signals by itself.
struct Quiet;

impl FenceOps for Quiet {
    fn driver_name(&self) -> &str {
        "loom"
    }
    fn timeline_name(&self) -> &str {
        "loom"
    }
}

fn fence() -> Fence {
    Fence::new(Arc::new(Quiet), 1, 1)
}

/// A callback that counts its runs.
fn counting(runs: &Arc<AtomicUsize>) -> impl FnOnce(&Fence) + Send + 'static {
    let runs = runs.clone();
    move |_| {
        runs.fetch_add(1, Ordering::SeqCst);
    }
}

/// Signal vs add_callback: the callback runs exactly once, or adding it
/// reports the fence signalled and it never runs.
#[test]
fn loom_signal_vs_add_callback() {
    loom::model(|| {
        let f = fence();
        let runs = Arc::new(AtomicUsize::new(0));
        let signaller = {
            let f = f.clone();
            thread::spawn(move || f.signal())
        };
        let added = f.add_callback(counting(&runs));
        assert_eq!(signaller.join().unwrap(), Ok(()));
        match added {
            Ok(_) => assert_eq!(runs.load(Ordering::SeqCst), 1),
            Err(e) => {
                assert_eq!(e, Error::AlreadySignaled);
                assert_eq!(runs.load(Ordering::SeqCst), 0);
            }
        }
    });
}

/// Signal vs remove_callback: a removed callback never runs; one that was
/// not removed has run exactly once when the signaller is done.
#[test]
fn loom_signal_vs_remove_callback() {
    loom::model(|| {
        let f = fence();
        let runs = Arc::new(AtomicUsize::new(0));
        let id = f.add_callback(counting(&runs)).unwrap();
        let signaller = {
            let f = f.clone();
            thread::spawn(move || f.signal())
        };
        let removed = f.remove_callback(id);
        assert_eq!(signaller.join().unwrap(), Ok(()));
        let expected = if removed { 0 } else { 1 };
        assert_eq!(runs.load(Ordering::SeqCst), expected);
        assert_eq!(f.pending_callbacks(), 0);
    });
}

/// Signal vs wait on the futex path, with two waiters: no wake-up is lost
/// (loom reports a deadlock if one is), and a returning wait sees the fence
/// signalled.
#[test]
fn loom_signal_vs_wait() {
    loom::model(|| {
        let f = fence();
        let signaller = {
            let f = f.clone();
            thread::spawn(move || f.signal())
        };
        let waiter = {
            let f = f.clone();
            thread::spawn(move || {
                f.wait();
                f.test_signaled_flag()
            })
        };
        f.wait();
        assert!(f.test_signaled_flag());
        assert!(waiter.join().unwrap());
        assert_eq!(signaller.join().unwrap(), Ok(()));
    });
}

/// Signal vs wait_any on two fences, each signalled by its own thread: the
/// wait returns the index of a fence that has signalled, and leaves no
/// callback queued.
#[test]
fn loom_signal_vs_wait_any() {
    loom::model(|| {
        let fences = [fence(), fence()];
        let signallers: Vec<_> = fences
            .iter()
            .map(|f| {
                let f = f.clone();
                thread::spawn(move || f.signal())
            })
            .collect();
        let (i, left) = wait_any_timeout(&fences, None, None).unwrap();
        assert!(i < 2);
        assert_eq!(left, None);
        assert!(fences[i].test_signaled_flag());
        for s in signallers {
            assert_eq!(s.join().unwrap(), Ok(()));
        }
        for f in &fences {
            assert_eq!(f.pending_callbacks(), 0);
        }
    });
}

/// Interrupt vs an interruptible wait on a fence nobody signals: the wait
/// always ends with `Interrupted` (a lost wake-up is a loom deadlock), and
/// leaves no callback queued.
#[test]
fn loom_interrupt_vs_wait() {
    loom::model(|| {
        let f = fence();
        let intr = Interrupt::new();
        let raiser = {
            let intr = intr.clone();
            thread::spawn(move || intr.raise())
        };
        assert_eq!(f.wait_timeout(None, Some(&intr)), Err(Error::Interrupted));
        raiser.join().unwrap();
        assert_eq!(f.pending_callbacks(), 0);
    });
}
