//! The kernel's tools/testing/selftests/sync cases (sync_alloc, sync_fence,
//! sync_merge, sync_wait and the three stress tests), expressed against the
//! Rust API: timelines are `Timeline`s, sync files are `SyncFile`s, and
//! `sync_wait(fd, timeout)` is `SyncFile::wait`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use dmasync::fence::sw_sync::Timeline;
use dmasync::sync_file::SyncFile;
use dmasync::Error;

const ACTIVE: i32 = 0;
const SIGNALED: i32 = 1;

fn create(timeline: &Timeline, value: u32) -> SyncFile {
    SyncFile::new(timeline.create_fence(value))
}

/// `sync_fence_count_with_status`: how many leaves of the file have `status`.
fn count_with_status(file: &SyncFile, status: i32) -> usize {
    let info = file.info(file.num_fences() as u32).unwrap();
    info.fences.iter().filter(|f| f.status == status).count()
}

/// `sync_wait(fd, 0)` as the selftests use it: > 0 signalled, 0 timed out.
fn poll_now(file: &SyncFile) -> bool {
    match file.wait(Some(Duration::ZERO), None) {
        Ok(()) => true,
        Err(Error::TimedOut) => false,
        Err(e) => panic!("unexpected wait error {e}"),
    }
}

#[test]
fn test_alloc_timeline() {
    let timeline = Timeline::new("alloc");
    assert_eq!(timeline.value(), 0);
    assert!(timeline.context() > 0);
}

#[test]
fn test_alloc_fence() {
    let timeline = Timeline::new("alloc");
    let fence = create(&timeline, 1);
    assert_eq!(fence.num_fences(), 1);
    assert_eq!(count_with_status(&fence, ACTIVE), 1);
}

// test_alloc_fence_negative creates a fence on fd -1; the Rust API cannot
// express a timeline that does not exist (the UAPI case runs under
// `dmasync exec` with the kernel's own selftest).

#[test]
fn test_fence_one_timeline_wait() {
    let timeline = Timeline::new("wait");
    let fence = create(&timeline, 5);
    assert!(!poll_now(&fence));
    timeline.inc(1);
    assert!(!poll_now(&fence));
    timeline.inc(4);
    assert!(poll_now(&fence));
    timeline.inc(10);
    assert!(poll_now(&fence));
}

#[test]
fn test_fence_one_timeline_merge() {
    let timeline = Timeline::new("merge");
    let (a, b, c) = (
        create(&timeline, 1),
        create(&timeline, 2),
        create(&timeline, 3),
    );
    let d = b.merge(&a, b"mergeFence");
    let d = c.merge(&d, b"mergeFence");
    for f in [&a, &b, &c, &d] {
        assert_eq!(count_with_status(f, ACTIVE), 1);
    }
    timeline.inc(1);
    assert_eq!(count_with_status(&a, SIGNALED), 1);
    assert_eq!(count_with_status(&d, ACTIVE), 1);
    timeline.inc(1);
    assert_eq!(count_with_status(&b, SIGNALED), 1);
    assert_eq!(count_with_status(&d, ACTIVE), 1);
    timeline.inc(1);
    assert_eq!(count_with_status(&c, SIGNALED), 1);
    assert_eq!(count_with_status(&d, ACTIVE), 0);
    assert_eq!(count_with_status(&d, SIGNALED), 1);
}

#[test]
fn test_fence_merge_same_fence() {
    let timeline = Timeline::new("same");
    let fence = create(&timeline, 5);
    let merged = fence.merge(&fence, b"mergeFence");
    assert_eq!(count_with_status(&merged, SIGNALED), 0);
    timeline.inc(5);
    assert_eq!(count_with_status(&merged, SIGNALED), 1);
}

#[test]
fn test_fence_multi_timeline_wait() {
    let (ta, tb, tc) = (Timeline::new("A"), Timeline::new("B"), Timeline::new("C"));
    let (fa, fb, fc) = (create(&ta, 5), create(&tb, 5), create(&tc, 5));
    let merged = fb.merge(&fa, b"mergeFence");
    let merged = fc.merge(&merged, b"mergeFence");
    assert_eq!(count_with_status(&merged, ACTIVE), 3);
    assert!(!poll_now(&merged));
    for (step, t) in [&ta, &tb, &tc].into_iter().enumerate() {
        t.inc(5);
        assert_eq!(count_with_status(&merged, ACTIVE), 2 - step);
        assert_eq!(count_with_status(&merged, SIGNALED), step + 1);
    }
    merged.wait(Some(Duration::from_millis(100)), None).unwrap();
}

#[test]
fn test_stress_two_threads_shared_timeline() {
    const ITERATIONS: u32 = 1 << 16;
    let timeline = Arc::new(Timeline::new("two-threads"));
    let counter = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..2u32)
        .map(|id| {
            let (timeline, counter) = (timeline.clone(), counter.clone());
            thread::spawn(move || {
                for i in 0..ITERATIONS {
                    let fence = create(&timeline, i * 2 + id);
                    fence.wait(None, None).unwrap();
                    // The other thread's increment is visible: the fence
                    // orders it before us.
                    assert_eq!(counter.load(Ordering::Relaxed), i * 2 + id);
                    counter.fetch_add(1, Ordering::Relaxed);
                    timeline.inc(1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counter.load(Ordering::Relaxed), ITERATIONS * 2);
}

/// A busy wait on a file, checking that no leaf reports an error.
fn busy_wait(file: &SyncFile) {
    loop {
        let info = file.info(file.num_fences() as u32).unwrap();
        assert!(info.fences.iter().all(|f| f.status >= 0), "error on fence");
        if info.fences.iter().all(|f| f.status != ACTIVE) {
            return;
        }
        thread::yield_now();
    }
}

#[test]
fn test_consumer_stress_multi_producer_single_consumer() {
    const ITERATIONS: u32 = 1 << 12;
    const PRODUCERS: usize = 5;
    let consumer = Arc::new(Timeline::new("consumer"));
    let producers: Arc<Vec<Timeline>> =
        Arc::new((0..PRODUCERS).map(|_| Timeline::new("producer")).collect());
    let counter = Arc::new(Mutex::new(0u32));
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|id| {
            let (consumer, producers, counter) =
                (consumer.clone(), producers.clone(), counter.clone());
            thread::spawn(move || {
                for i in 0..ITERATIONS {
                    let fence = create(&consumer, i);
                    if (ITERATIONS as usize + id) % 8 != 0 {
                        fence.wait(None, None).unwrap();
                    } else {
                        busy_wait(&fence);
                    }
                    *counter.lock().unwrap() += 1;
                    producers[id].inc(1);
                }
            })
        })
        .collect();
    for it in 1..=ITERATIONS {
        let mut fence = create(&producers[0], it);
        for p in producers.iter().skip(1) {
            fence = create(p, it).merge(&fence, b"name");
        }
        if ITERATIONS % 8 != 0 {
            fence.wait(None, None).unwrap();
        } else {
            busy_wait(&fence);
        }
        assert_eq!(*counter.lock().unwrap(), PRODUCERS as u32 * it);
        consumer.inc(1);
    }
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn test_merge_stress_random_merge() {
    const TIMELINES: usize = 32;
    const MERGES: usize = 1024 * 32;
    let timelines: Vec<Timeline> = (0..TIMELINES).map(|_| Timeline::new("merge")).collect();
    let mut fence = create(&timelines[0], 0);
    let mut latest: [Option<u32>; TIMELINES] = [None; TIMELINES];
    latest[0] = Some(0);
    // A fixed-seed xorshift: the kernel test draws from rand().
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..MERGES {
        let t = (rand() % TIMELINES as u64) as usize;
        let point = (rand() % (i32::MAX as u64)) as u32;
        latest[t] = Some(latest[t].map_or(point, |p| p.max(point)));
        let tmp = create(&timelines[t], point);
        fence = tmp.merge(&fence, b"merge");
    }
    let expected = latest.iter().filter(|p| p.is_some()).count();
    // Timeline 0's point 0 was born signalled and merges drop it, unless a
    // later point on timeline 0 is pending.
    let expected = expected - usize::from(latest[0] == Some(0));
    assert_eq!(fence.num_fences(), expected);
    for (t, point) in latest.iter().enumerate() {
        if let Some(point) = point {
            assert!(!poll_now(&fence) || *point == 0);
            timelines[t].inc(*point);
        }
    }
    assert!(poll_now(&fence));
}
