//! The cases of drivers/dma-buf/st-dma-resv.c, each run for every usage as
//! the kernel's `dma_resv()` entry point does.

use super::alloc_fence;
use crate::resv::{Resv, Usage};

#[test]
fn sanitycheck() {
    let f = alloc_fence();
    f.enable_sw_signaling();
    f.signal().unwrap();
    drop(f);
    let resv = Resv::new();
    let g = resv.lock(None).expect("resv locking failed");
    assert!(resv.is_locked());
    drop(g);
    assert!(!resv.is_locked());
}

#[test]
fn test_signaling() {
    for usage in Usage::ALL {
        let f = alloc_fence();
        f.enable_sw_signaling();
        let resv = Resv::new();
        let mut g = resv.lock(None).unwrap();
        g.reserve_fences(1).expect("shared slot allocation failed");
        g.add_fence(f.clone(), usage).unwrap();
        assert!(
            !resv.test_signaled(usage),
            "{usage}: unexpectedly signalled"
        );
        f.signal().unwrap();
        assert!(
            resv.test_signaled(usage),
            "{usage}: not reporting signalled"
        );
    }
}

#[test]
fn test_for_each() {
    for usage in Usage::ALL {
        let f = alloc_fence();
        f.enable_sw_signaling();
        let resv = Resv::new();
        let mut g = resv.lock(None).unwrap();
        g.reserve_fences(1).unwrap();
        g.add_fence(f.clone(), usage).unwrap();
        let mut found = 0;
        for (fence, u) in g.iter(usage) {
            assert!(fence.ptr_eq(&f), "unexpected fence");
            assert_eq!(u, usage, "unexpected fence usage");
            found += 1;
        }
        assert_eq!(found, 1, "{usage}: expected exactly one fence");
        f.signal().unwrap();
        // The locked iterator includes signalled fences.
        assert_eq!(g.iter(usage).count(), 1);
    }
}

#[test]
fn test_for_each_unlocked() {
    for usage in Usage::ALL {
        let f = alloc_fence();
        f.enable_sw_signaling();
        let resv = Resv::new();
        {
            let mut g = resv.lock(None).unwrap();
            g.reserve_fences(1).unwrap();
            g.add_fence(f.clone(), usage).unwrap();
        }
        // The kernel test's state machine: the first fence forces a
        // restart, the second (the same fence again) completes it.
        let mut state = Err("no fence found");
        let mut it = resv.iter_unlocked(usage);
        let mut seen = 0;
        while let Some(fence) = it.next() {
            seen += 1;
            assert!(seen <= 2, "more than one fence found");
            assert!(it.is_restarted(), "no restart flag");
            assert!(fence.ptr_eq(&f), "unexpected fence");
            assert_eq!(it.usage(), usage, "unexpected fence usage");
            match state {
                Err("no fence found") => {
                    state = Err("restart");
                    it.force_restart();
                }
                Err(_) => state = Ok(()),
                Ok(()) => unreachable!(),
            }
        }
        assert_eq!(state, Ok(()), "{usage}");
        f.signal().unwrap();
    }
}

#[test]
fn test_get_fences() {
    for usage in Usage::ALL {
        let f = alloc_fence();
        f.enable_sw_signaling();
        let resv = Resv::new();
        {
            let mut g = resv.lock(None).unwrap();
            g.reserve_fences(1).unwrap();
            g.add_fence(f.clone(), usage).unwrap();
        }
        let fences = resv.get_fences(usage);
        assert_eq!(fences.len(), 1, "get_fences returned unexpected fences");
        assert!(fences[0].ptr_eq(&f));
        f.signal().unwrap();
        assert!(resv.get_fences(usage).is_empty());
    }
}
