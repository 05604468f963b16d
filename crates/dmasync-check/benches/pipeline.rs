//! Jobs per second through the checker on a 4-engine pipeline with 10^5
//! jobs (the built-in `pipeline` scenario), with and without checking.
//!
//! `cargo bench -p dmasync-check --bench pipeline`; the target is that
//! checking costs less than 2x.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dmasync_check::{builtin, run, RunOptions};

fn pipeline(c: &mut Criterion) {
    let sc = builtin::find("pipeline")
        .expect("built-in")
        .load()
        .expect("parses");
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
                assert!(
                    r.findings.is_empty(),
                    "{}",
                    dmasync_check::report::render(&r)
                );
                assert_eq!(r.jobs, jobs);
            })
        });
    }
    group.finish();
}

/// The checker alone (no threads, no waiting): 10^5 jobs of the same
/// 4-engine pipeline recorded with `Checker::job` and `Checker::add_fence`.
fn checker_only(c: &mut Criterion) {
    use std::sync::Arc;

    use dmasync::fence::{context_alloc, Fence, FenceOps};
    use dmasync_check::checker::{Access, Checker, JobDesc, JobKind};
    use dmasync_check::engine::EngineOps;
    use dmasync_check::state::Usage;

    let mut group = c.benchmark_group("checker_only_100k_jobs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("record", |b| {
        b.iter(|| {
            let mut ck = Checker::new();
            let names = ["camera", "gpu", "encoder", "display"];
            let ctx = context_alloc(4);
            let ops: Vec<Arc<dyn FenceOps>> = names
                .iter()
                .map(|n| Arc::new(EngineOps::new(n)) as _)
                .collect();
            let eng: Vec<_> = names
                .iter()
                .enumerate()
                .map(|(i, n)| ck.add_engine(n, ctx + i as u64))
                .collect();
            let raw = ck.add_buffer("raw");
            let frame = ck.add_buffer("frame");
            let bits = ck.add_buffer("bitstream");
            // (engine, reads, writes)
            let steps: [(usize, &[_], &[_]); 4] = [
                (0, &[], &[raw]),
                (1, &[raw], &[frame]),
                (2, &[frame], &[bits]),
                (3, &[frame], &[]),
            ];
            for round in 1..=25_000u64 {
                for &(e, reads, writes) in &steps {
                    let mut deps = Vec::new();
                    let mut acc = Vec::new();
                    for &bf in writes {
                        deps.extend(ck.implicit_fences(bf).into_iter().map(|(f, _)| f));
                        acc.push((bf, Access::Write));
                    }
                    for &bf in reads {
                        deps.extend(
                            ck.implicit_fences(bf)
                                .into_iter()
                                .filter(|(_, u)| *u <= Usage::Write)
                                .map(|(f, _)| f),
                        );
                        acc.push((bf, Access::Read));
                    }
                    let fence = Fence::new(ops[e].clone(), ctx + e as u64, round);
                    ck.job(JobDesc {
                        engine: eng[e],
                        kind: JobKind::Normal,
                        fence: Some(&fence),
                        deps: &deps,
                        accesses: &acc,
                        policy: None,
                        label: "job",
                        line: None,
                    });
                    for &bf in writes {
                        ck.add_fence(bf, &fence, Usage::Write, None);
                    }
                    for &bf in reads {
                        ck.add_fence(bf, &fence, Usage::Read, None);
                    }
                    let _ = fence.signal();
                }
            }
            assert!(ck.findings().is_empty());
            assert_eq!(ck.jobs().len(), 100_000);
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline, checker_only);
criterion_main!(benches);
