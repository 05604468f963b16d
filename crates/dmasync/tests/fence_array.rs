//! Array fences: all/any modes, error propagation (first error wins), the
//! peek quirk, deadline forwarding and creation checks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use common::mock_fence;
use dmasync::fence::{array_create, chain_create, context_alloc, is_array, is_container, to_array};
use dmasync::{Error, Fence};

fn members(n: usize) -> Vec<Fence> {
    (0..n).map(|_| mock_fence()).collect()
}

fn array(fences: &[Fence], any: bool) -> Fence {
    array_create(fences.to_vec(), context_alloc(1), 1, any).unwrap()
}

fn counter(f: &Fence) -> Arc<AtomicUsize> {
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    let _id = f
        .add_callback(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .expect("the array is pending");
    n
}

#[test]
fn sanitycheck() {
    let m = members(2);
    let ctx = context_alloc(1);
    let a = array_create(m.clone(), ctx, 7, false).unwrap();
    assert!(is_array(&a) && is_container(&a));
    assert!(!is_array(&m[0]));
    assert_eq!(
        (a.driver_name(), a.timeline_name()),
        ("dma_fence_array", "unbound")
    );
    assert_eq!((a.context(), a.seqno()), (ctx, 7));
    assert!(!a.is_seqno64());
    let arr = to_array(&a).unwrap();
    assert!(!arr.signal_on_any());
    assert_eq!(arr.fences().len(), 2);
    assert!(arr.fences()[0].ptr_eq(&m[0]) && arr.fences()[1].ptr_eq(&m[1]));
    assert!(to_array(&m[0]).is_none());
    // Lazy: creating the array does not touch the members.
    assert!(!m[0].is_signaling_enabled());
    assert_eq!(a.status(), 0);
    for f in &m {
        f.signal().unwrap();
    }
}

#[test]
fn create_rejects_empty_and_containers() {
    assert!(matches!(
        array_create(vec![], context_alloc(1), 1, false),
        Err(Error::Invalid(_))
    ));
    let m = members(2);
    let inner = array(&m, false);
    let err = array_create(vec![m[0].clone(), inner], context_alloc(1), 1, false);
    assert!(matches!(err, Err(Error::Invalid(_))));
    let chain = chain_create(None, m[1].clone(), 1);
    let err = array_create(vec![chain], context_alloc(1), 1, true);
    assert_eq!(err.unwrap_err().errno(), 22);
    for f in &m {
        f.signal().unwrap();
    }
}

#[test]
fn signal_on_all() {
    let m = members(3);
    let a = array(&m, false);
    let ran = counter(&a);
    for (i, f) in m.iter().enumerate() {
        assert!(!a.test_signaled_flag(), "signalled before member {i}");
        assert!(!a.is_signaled());
        f.signal().unwrap();
    }
    assert!(a.test_signaled_flag());
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert_eq!(a.status(), 1);
}

#[test]
fn signal_on_any() {
    let m = members(3);
    let a = array(&m, true);
    assert!(to_array(&a).unwrap().signal_on_any());
    let ran = counter(&a);
    m[1].signal().unwrap();
    assert!(a.test_signaled_flag());
    assert_eq!(a.status(), 1);
    // Later members drive the counter past zero without a second signal.
    m[0].signal().unwrap();
    m[2].signal().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn enable_signaling_counts_signalled_members() {
    let m = members(3);
    m[0].signal().unwrap();
    m[2].signal().unwrap();
    let a = array(&m, false);
    let ran = counter(&a);
    // Only the pending member got a callback.
    assert_eq!(m[1].pending_callbacks(), 1);
    m[1].signal().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    // All already signalled: complete at enable time, the callback refused.
    let b = array(&m, false);
    assert_eq!(
        b.add_callback(|_| panic!("must not run")).unwrap_err(),
        Error::AlreadySignaled
    );
    assert!(b.test_signaled_flag());

    // Any-mode: the first signalled member completes it, the rest unvisited.
    let n = members(3);
    n[0].signal().unwrap();
    let c = array(&n, true);
    c.enable_sw_signaling();
    assert!(c.test_signaled_flag());
    assert_eq!(n[1].pending_callbacks(), 0);
    for f in &n[1..] {
        f.signal().unwrap();
    }
}

#[test]
fn first_error_wins_through_callbacks() {
    let m = members(3);
    let a = array(&m, false);
    a.enable_sw_signaling();
    m[1].set_error(-5).unwrap();
    m[1].signal().unwrap();
    m[0].set_error(-22).unwrap();
    m[0].signal().unwrap();
    assert_eq!(a.status(), 0);
    m[2].signal().unwrap();
    assert_eq!(a.status(), -5);
    assert_eq!(a.error(), -5);
}

#[test]
fn first_error_wins_at_enable_time() {
    let m = members(3);
    m[0].set_error(-3).unwrap();
    m[0].signal().unwrap();
    m[1].set_error(-7).unwrap();
    m[1].signal().unwrap();
    let a = array(&m, false);
    let _ran = counter(&a);
    m[2].set_error(-9).unwrap();
    m[2].signal().unwrap();
    assert_eq!(a.status(), -3);

    // Everything already failed: the error is set before the core signals.
    let b = array(&m[1..], false);
    b.enable_sw_signaling();
    assert_eq!(b.status(), -7);
}

#[test]
fn error_in_any_mode() {
    let m = members(2);
    let a = array(&m, true);
    a.enable_sw_signaling();
    m[1].set_error(-110).unwrap();
    m[1].signal().unwrap();
    assert_eq!(a.status(), -110);
    m[0].signal().unwrap();
    assert_eq!(a.status(), -110);
}

#[test]
fn success_leaves_no_pending_sentinel() {
    let m = members(1);
    let a = array(&m, false);
    a.enable_sw_signaling();
    m[0].signal().unwrap();
    assert_eq!((a.error(), a.status()), (0, 1));
}

#[test]
fn peek_quirk_drops_member_errors() {
    let m = members(2);
    let a = array(&m, false);
    m[0].set_error(-5).unwrap();
    m[0].signal().unwrap();
    assert!(!a.is_signaled(), "one of two members is not enough");
    m[1].signal().unwrap();
    // Found complete by counting members, with signalling never enabled:
    // the member error is not copied.
    assert!(a.is_signaled());
    assert!(!a.is_signaling_enabled());
    assert_eq!(a.status(), 1);
    assert_eq!(a.error(), 0);
}

#[test]
fn peek_in_any_mode() {
    let m = members(3);
    let a = array(&m, true);
    assert!(!a.is_signaled());
    m[2].signal().unwrap();
    assert!(a.is_signaled());
    assert_eq!(a.status(), 1);
    for f in &m[..2] {
        f.signal().unwrap();
    }
}

#[test]
fn peek_after_enable_uses_the_counter() {
    let m = members(2);
    let a = array(&m, false);
    a.enable_sw_signaling();
    m[0].set_error(-5).unwrap();
    m[0].signal().unwrap();
    assert!(!a.is_signaled());
    m[1].signal().unwrap();
    assert!(a.is_signaled());
    // Callbacks ran: the error propagates.
    assert_eq!(a.status(), -5);
}

#[test]
fn deadline_is_forwarded_to_members() {
    let m = members(3);
    m[1].signal().unwrap();
    let a = array(&m, false);
    a.set_deadline(5_000);
    assert_eq!(a.deadline(), Some(5_000));
    assert_eq!(m[0].deadline(), Some(5_000));
    assert_eq!(m[2].deadline(), Some(5_000));
    assert_eq!(m[1].deadline(), None, "a signalled member ignores it");
    a.set_deadline(9_000);
    assert_eq!(m[0].deadline(), Some(5_000));
    a.set_deadline(1_000);
    assert_eq!(m[2].deadline(), Some(1_000));
    for f in [&m[0], &m[2]] {
        f.signal().unwrap();
    }
    a.set_deadline(10);
    assert_eq!(a.deadline(), Some(1_000), "a signalled array ignores it");
}

#[test]
fn wait_on_array_across_threads() {
    let m = members(8);
    let a = array(&m, false);
    let waiter = {
        let a = a.clone();
        thread::spawn(move || {
            a.wait();
            a.status()
        })
    };
    let signallers: Vec<_> = m
        .chunks(2)
        .map(|c| {
            let c = c.to_vec();
            thread::spawn(move || {
                for f in c {
                    f.signal().unwrap();
                }
            })
        })
        .collect();
    for s in signallers {
        s.join().unwrap();
    }
    assert_eq!(waiter.join().unwrap(), 1);
}

#[test]
fn concurrent_members_signal_the_array_once() {
    for round in 0..50 {
        let m = members(4);
        let a = array(&m, round % 2 == 1);
        let ran = counter(&a);
        let hs: Vec<_> = m
            .iter()
            .cloned()
            .map(|f| thread::spawn(move || f.signal().unwrap()))
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 1, "round {round}");
        assert_eq!(a.status(), 1);
    }
}

#[test]
fn describe_names_the_array() {
    let m = members(1);
    let a = array_create(m.clone(), context_alloc(1), 3, false).unwrap();
    assert_eq!(a.describe(), "dma_fence_array unbound seq 3 unsignalled\n");
    m[0].signal().unwrap();
    assert_eq!(a.describe(), "dma_fence_array unbound seq 3 signalled\n");
}
