//! dma-buf benchmarks, next to the kernel's costs (kernel-behaviour.md,
//! "Cost on the real kernel"):
//!
//! * `export_sync_file/16`: EXPORT_SYNC_FILE(WRITE) of a buffer with 16
//!   pending writers (an array of 16), dropped (kernel: ~2400 ns with close);
//! * `import_sync_file/64`: IMPORT_SYNC_FILE of a 64-fence merged sync file
//!   into a buffer that already holds those fences (kernel: ~15800 ns);
//! * `import_sync_file/64_new`: the same with a file of 64 new points of
//!   those timelines each time, which replace the stored ones (the file is
//!   made outside the timing);
//! * `sync_file_merge/64+64`: merging two 64-fence files, and
//!   `sync_file_merge/1+1`: two single-fence files (kernel: ~2050 ns);
//! * `sync_file_info/64`: FILE_INFO with 64 entries (kernel: ~7600 ns);
//! * `poll/{idle,busy}`: poll IN|OUT of an idle buffer (kernel: ~380 ns)
//!   and of a buffer with a pending writer whose slots are armed;
//! * `floor/eventfd_roundtrip`: a write and a read of an eventfd, the
//!   cheapest kernel round trip, measured in the same run.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use dmasync::buf::{heap, Events, O_RDWR};
use dmasync::fence::sw_sync::Timeline;
use dmasync::resv::Usage;
use dmasync::sync_file::SyncFile;

fn timelines(n: usize) -> Vec<Timeline> {
    (0..n).map(|_| Timeline::new("bench")).collect()
}

fn merged(tls: &[Timeline], value: u32) -> SyncFile {
    let mut file = SyncFile::new(tls[0].create_fence(value));
    for tl in &tls[1..] {
        file = file.merge(&SyncFile::new(tl.create_fence(value)), b"");
    }
    file
}

fn bench(c: &mut Criterion) {
    let buf = heap::alloc(4096, O_RDWR, 0).unwrap();
    let writers = timelines(16);
    for tl in &writers {
        buf.import_fence(&tl.create_fence(1), Usage::Write).unwrap();
    }
    c.bench_function("export_sync_file/16", |b| {
        b.iter(|| black_box(buf.export_sync_file(2).unwrap()))
    });

    let tls = timelines(64);
    let file = merged(&tls, 1);
    assert_eq!(file.num_fences(), 64);
    let target = heap::alloc(4096, O_RDWR, 0).unwrap();
    c.bench_function("import_sync_file/64", |b| {
        b.iter(|| target.import_sync_file(2, black_box(&file)).unwrap())
    });

    let fresh = heap::alloc(4096, O_RDWR, 0).unwrap();
    let mut point = 2;
    c.bench_function("import_sync_file/64_new", |b| {
        b.iter_batched_ref(
            || {
                point += 1;
                merged(&tls, point)
            },
            |file| fresh.import_sync_file(2, file).unwrap(),
            BatchSize::SmallInput,
        )
    });
    // 0 when the bench was filtered out.
    let n = fresh.resv().lock(None).unwrap().num_fences();
    assert!(n == 0 || n == 64, "{n} entries");

    let other = merged(&tls, 2);
    c.bench_function("sync_file_merge/64+64", |b| {
        b.iter(|| black_box(file.merge(&other, b"m")))
    });

    let (one, two) = (
        SyncFile::new(tls[0].create_fence(1)),
        SyncFile::new(tls[1].create_fence(1)),
    );
    c.bench_function("sync_file_merge/1+1", |b| {
        b.iter(|| black_box(one.merge(&two, b"m")))
    });

    c.bench_function("sync_file_info/64", |b| {
        b.iter(|| black_box(file.info(64).unwrap()))
    });

    let idle = heap::alloc(4096, O_RDWR, 0).unwrap();
    c.bench_function("poll/idle", |b| {
        b.iter(|| black_box(idle.poll(Events::IN | Events::OUT)))
    });
    let busy = heap::alloc(4096, O_RDWR, 0).unwrap();
    let tl = Timeline::new("busy");
    busy.import_fence(&tl.create_fence(1), Usage::Write)
        .unwrap();
    assert!(busy.poll(Events::IN | Events::OUT).is_empty());
    c.bench_function("poll/busy", |b| {
        b.iter(|| black_box(busy.poll(Events::IN | Events::OUT)))
    });

    let efd = rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).unwrap();
    c.bench_function("floor/eventfd_roundtrip", |b| {
        b.iter(|| {
            rustix::io::write(&efd, &1u64.to_ne_bytes()).unwrap();
            let mut v = [0u8; 8];
            rustix::io::read(&efd, &mut v).unwrap();
            black_box(v)
        })
    });

    for tl in writers.iter().chain(&tls) {
        tl.inc(point);
    }
    tl.inc(1);
}

criterion_group!(benches, bench);
criterion_main!(benches);
