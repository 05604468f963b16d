//! Jobs per second through the checker on a 4-engine pipeline with 10^5
//! jobs (the built-in `pipeline` scenario), with and without checking.
//!
//! `cargo bench -p dmasync-check --bench pipeline`; the target is that
//! checking costs less than 2x.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dmasync_check::{builtin, run, RunOptions};

fn pipeline(c: &mut Criterion) {
    let sc = builtin::find("pipeline").expect("built-in").load().expect("parses");
    let jobs = sc.job_count();
    assert_eq!(jobs, 100_000);
    let mut group = c.benchmark_group("pipeline_4_engines_100k_jobs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(jobs));
    for (name, check) in [("unchecked", false), ("checked", true)] {
        let opts = RunOptions {
            check,
            ..RunOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = run(&sc, &opts).expect("engines start");
                assert!(r.findings.is_empty(), "{}", dmasync_check::report::render(&r));
                assert_eq!(r.jobs, jobs);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
