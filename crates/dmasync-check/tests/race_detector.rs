//! The happens-before race detector on hand-built histories.

use std::sync::Arc;

use dmasync::fence::{context_alloc, Fence, FenceOps};
use dmasync_check::checker::{
    Access, Attach, Check, Checker, EngineId, JobDesc, JobId, JobKind, HOST,
};
use dmasync_check::engine::EngineOps;
use dmasync_check::state::Usage;

struct Eng {
    id: EngineId,
    ctx: u64,
    ops: Arc<dyn FenceOps>,
    seqno: u64,
}

fn engine(c: &mut Checker, name: &str) -> Eng {
    let ctx = context_alloc(1);
    Eng {
        id: c.add_engine(name, ctx),
        ctx,
        ops: Arc::new(EngineOps::new(name)),
        seqno: 0,
    }
}

fn job(
    c: &mut Checker,
    e: &mut Eng,
    deps: &[Fence],
    acc: &[(dmasync_check::checker::BufferId, Access)],
) -> (JobId, Fence) {
    e.seqno += 1;
    let f = Fence::new(e.ops.clone(), e.ctx, e.seqno);
    let id = c.job(JobDesc {
        engine: e.id,
        kind: JobKind::Normal,
        fence: Some(&f),
        deps,
        accesses: acc,
        policy: None,
        label: "job",
        line: None,
    });
    (id, f)
}

fn races(c: &Checker) -> usize {
    c.findings()
        .iter()
        .filter(|f| f.check == Check::Race)
        .count()
}

#[test]
fn write_then_read_ordered_by_the_writers_fence_is_no_race() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let mut disp = engine(&mut c, "display");
    let b = c.add_buffer("fb");
    let (w, wf) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    let (r, _) = job(&mut c, &mut disp, &[wf], &[(b, Access::Read)]);
    assert!(c.happens_before(w, r));
    assert!(!c.happens_before(r, w));
    assert_eq!(races(&c), 0);
    assert!(c.findings().is_empty());
}

#[test]
fn write_then_unordered_read_is_a_race_naming_both_jobs_and_the_buffer() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let mut disp = engine(&mut c, "display");
    let b = c.add_buffer("fb");
    let (w, _wf) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    let (r, _) = job(&mut c, &mut disp, &[], &[(b, Access::Read)]);
    assert!(!c.happens_before(w, r));
    assert_eq!(races(&c), 1);
    let f = &c.findings()[0];
    assert_eq!(f.jobs, vec![w, r]);
    assert_eq!(f.buffer, Some(b));
    assert!(
        f.message.contains("gpu#1") && f.message.contains("display#1"),
        "{}",
        f.message
    );
    assert!(f.message.contains("`fb`"), "{}", f.message);
    assert!(
        f.message.contains("not among its dependencies"),
        "{}",
        f.message
    );
}

#[test]
fn two_unordered_reads_are_no_race() {
    let mut c = Checker::new();
    let mut a = engine(&mut c, "a");
    let mut d = engine(&mut c, "d");
    let b = c.add_buffer("buf");
    job(&mut c, &mut a, &[], &[(b, Access::Read)]);
    job(&mut c, &mut d, &[], &[(b, Access::Read)]);
    assert_eq!(races(&c), 0);
}

#[test]
fn read_then_unordered_write_is_a_race() {
    let mut c = Checker::new();
    let mut a = engine(&mut c, "reader");
    let mut d = engine(&mut c, "writer");
    let b = c.add_buffer("buf");
    let (r, _) = job(&mut c, &mut a, &[], &[(b, Access::Read)]);
    let (w, _) = job(&mut c, &mut d, &[], &[(b, Access::Write)]);
    assert_eq!(races(&c), 1);
    assert_eq!(c.findings()[0].jobs, vec![r, w]);
    assert!(c.findings()[0].message.starts_with("read/write race"));
}

#[test]
fn ordering_is_transitive_through_a_fence_on_a_third_context() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let mut copy = engine(&mut c, "copy");
    let mut disp = engine(&mut c, "display");
    let b = c.add_buffer("fb");
    let other = c.add_buffer("staging");
    let (w, wf) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    // The copy engine waits for the GPU but never touches fb.
    let (_, cf) = job(&mut c, &mut copy, &[wf], &[(other, Access::Write)]);
    // The display waits only for the copy engine.
    let (r, _) = job(&mut c, &mut disp, &[cf], &[(b, Access::Read)]);
    assert!(c.happens_before(w, r));
    assert_eq!(races(&c), 0);
}

#[test]
fn jobs_of_one_engine_are_ordered_by_running_in_order() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let b = c.add_buffer("bo");
    let (a, _) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    let (d, _) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    assert!(c.happens_before(a, d));
    assert_eq!(races(&c), 0);
}

#[test]
fn a_host_wait_orders_later_submissions() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let mut enc = engine(&mut c, "encoder");
    let b = c.add_buffer("frame");
    let (_, wf) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    c.host_wait(&[wf]);
    job(&mut c, &mut enc, &[], &[(b, Access::Read)]);
    assert_eq!(races(&c), 0);
}

#[test]
fn an_unbracketed_cpu_read_races_with_the_pending_write() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let b = c.add_buffer("readback");
    c.attach(b, gpu.id, Attach::Exporter);
    job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    c.job(JobDesc {
        engine: HOST,
        kind: JobKind::Cpu { bracketed: false },
        fence: None,
        deps: &[],
        accesses: &[(b, Access::Read)],
        policy: None,
        label: "mmap read",
        line: Some(7),
    });
    assert_eq!(c.broken_rules(), vec!["C16"]);
    assert_eq!(c.findings()[0].line, Some(7));
}

#[test]
fn replacing_a_pending_write_fence_with_an_unrelated_fence_drops_a_dependency() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let mut sdma = engine(&mut c, "sdma");
    let b = c.add_buffer("bo");
    let (w, wf) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    c.add_fence(b, &wf, Usage::Write, None);
    let (_, pf) = job(&mut c, &mut sdma, &[], &[]);
    c.replace_fences(b, gpu.ctx, &pf, Usage::Write, Some(3));
    assert_eq!(c.broken_rules(), vec!["C6"]);
    assert_eq!(c.findings()[0].check, Check::DroppedDependency);
    assert_eq!(c.findings()[0].jobs[0], w);
    // The logical object now holds only the replacement.
    let left = c.implicit_fences(b);
    assert_eq!(left.len(), 1);
    assert!(left[0].0.ptr_eq(&pf));
}

#[test]
fn a_later_fence_of_the_same_context_supersedes_without_dropping_anything() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let b = c.add_buffer("bo");
    let (_, f1) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    c.add_fence(b, &f1, Usage::Write, None);
    let (_, f2) = job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
    c.add_fence(b, &f2, Usage::Write, None);
    // A READ fence does not replace a WRITE one: usages are never degraded.
    let (_, f3) = job(&mut c, &mut gpu, &[], &[(b, Access::Read)]);
    c.add_fence(b, &f3, Usage::Read, None);
    let left = c.implicit_fences(b);
    assert_eq!(left.len(), 2);
    assert!(left[0].0.ptr_eq(&f2) && left[0].1 == Usage::Write);
    assert!(left[1].0.ptr_eq(&f3) && left[1].1 == Usage::Read);
    assert!(c.findings().is_empty());
}

#[test]
fn a_seqno_going_backwards_on_a_context_breaks_c18() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    job(&mut c, &mut gpu, &[], &[]);
    gpu.seqno = 0; // the next job reuses seqno 1
    job(&mut c, &mut gpu, &[], &[]);
    assert_eq!(c.broken_rules(), vec!["C18"]);
    assert_eq!(c.findings()[0].check, Check::SeqnoBackwards);
}

#[test]
fn repeated_races_are_counted_in_one_finding() {
    let mut c = Checker::new();
    let mut gpu = engine(&mut c, "gpu");
    let mut disp = engine(&mut c, "display");
    let b = c.add_buffer("fb");
    for _ in 0..5 {
        job(&mut c, &mut gpu, &[], &[(b, Access::Write)]);
        job(&mut c, &mut disp, &[], &[(b, Access::Read)]);
    }
    let races: Vec<_> = c
        .findings()
        .iter()
        .filter(|f| f.check == Check::Race)
        .collect();
    // gpu->display write/read, and display->gpu read/write.
    assert_eq!(races.len(), 2);
    assert_eq!(races.iter().map(|f| f.count).sum::<u64>(), 9);
}

fn move_job(c: &mut Checker, copy: &mut Eng, b: dmasync_check::checker::BufferId) -> JobId {
    copy.seqno += 1;
    let f = Fence::new(copy.ops.clone(), copy.ctx, copy.seqno);
    let deps: Vec<Fence> = c.implicit_fences(b).into_iter().map(|(f, _)| f).collect();
    let id = c.job(JobDesc {
        engine: copy.id,
        kind: JobKind::Move,
        fence: Some(&f),
        deps: &deps,
        accesses: &[(b, Access::Write)],
        policy: None,
        label: "move",
        line: None,
    });
    c.add_fence(b, &f, Usage::Kernel, None);
    c.moved(b, id, None);
    id
}

#[test]
fn a_static_importer_that_detaches_before_its_device_is_done_breaks_c4() {
    let mut c = Checker::new();
    let mut enc = engine(&mut c, "encoder");
    let mut copy = engine(&mut c, "gpu-copy");
    let b = c.add_buffer("nv12");
    c.attach(b, enc.id, Attach::Static);
    let (read, _) = job(&mut c, &mut enc, &[], &[(b, Access::Read)]);
    c.detach(b, enc.id, Some(7));
    let mv = move_job(&mut c, &mut copy, b);
    let checks: Vec<(&str, Check)> = c.findings().iter().map(|f| (f.rule, f.check)).collect();
    assert_eq!(checks, vec![("C4", Check::Race), ("C4", Check::PinnedMove)]);
    assert_eq!(c.findings()[1].jobs, vec![read, mv]);
    assert!(c.findings()[1].message.contains("detached at line 7"));
}

#[test]
fn a_static_importer_that_detaches_after_the_host_waited_for_it_is_fine() {
    let mut c = Checker::new();
    let mut enc = engine(&mut c, "encoder");
    let mut copy = engine(&mut c, "gpu-copy");
    let b = c.add_buffer("nv12");
    c.attach(b, enc.id, Attach::Static);
    let (_, f) = job(&mut c, &mut enc, &[], &[(b, Access::Read)]);
    c.host_wait(&[f]);
    c.detach(b, enc.id, None);
    move_job(&mut c, &mut copy, b);
    assert!(c.findings().is_empty(), "{:?}", c.findings());
}

#[test]
fn a_move_while_a_static_importer_is_attached_breaks_c4() {
    // What an exporter that ignores pins does (the model's layer refuses).
    let mut c = Checker::new();
    let mut copy = engine(&mut c, "gpu-copy");
    let enc = engine(&mut c, "encoder");
    let b = c.add_buffer("nv12");
    c.attach(b, enc.id, Attach::Static);
    move_job(&mut c, &mut copy, b);
    assert_eq!(c.broken_rules(), vec!["C4"]);
    assert_eq!(c.findings()[0].check, Check::PinnedMove);
}
