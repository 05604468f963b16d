//! Each built-in scenario gives its expected verdict: the good ones clean,
//! each bad one exactly its rule.

use dmasync_check::builtin::{self, BUILTINS};
use dmasync_check::checker::Check;
use dmasync_check::{run, RunOptions};

fn verdict(name: &str) -> (Vec<&'static str>, Vec<Check>) {
    let mut sc = builtin::find(name)
        .expect("built-in exists")
        .load()
        .expect("built-in parses");
    // The long pipeline is the benchmark's workload: a few hundred jobs show the verdict.
    sc.repeat = sc.repeat.min(50);
    let r = run(&sc, &RunOptions::default()).expect("engines start");
    let checks = r.findings.iter().map(|f| f.check).collect();
    (r.broken_rules(), checks)
}

const EXPECTED: &[(&str, &[&str])] = &[
    ("wsi", &[]),
    ("camera-encoder", &["C4"]),
    ("memory-pressure", &[]),
    ("leak-move-fence", &["C3"]),
    ("dropped-write-fence", &["C6"]),
    ("dynamic-no-wait", &["C2"]),
    ("missing-bridge", &["C15"]),
    ("unbracketed-cpu", &["C16"]),
    ("wait-in-signalling", &["C10"]),
    ("never-signals", &["C10"]),
    ("seqno-backwards", &["C18"]),
    ("error-after-signal", &["C12"]),
    ("pipeline", &[]),
];

#[test]
fn every_builtin_has_an_expected_verdict_and_parses() {
    assert_eq!(BUILTINS.len(), EXPECTED.len());
    for b in BUILTINS {
        assert!(
            EXPECTED.iter().any(|(n, _)| *n == b.name),
            "no expectation for {}",
            b.name
        );
        let sc = b.load().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sc.name, b.name);
        assert!(!sc.description.is_empty());
    }
    assert_eq!(BUILTINS[0].name, builtin::DEFAULT);
}

#[test]
fn each_builtin_scenario_gives_its_verdict() {
    for (name, expected) in EXPECTED {
        let (rules, _) = verdict(name);
        assert_eq!(&rules, expected, "scenario {name}");
    }
}

#[test]
fn camera_encoder_reports_the_pinned_move_and_its_races() {
    let (_, checks) = verdict("camera-encoder");
    assert!(checks.contains(&Check::PinnedMove));
    assert!(checks.contains(&Check::Race));
}

#[test]
fn dropped_write_fence_reports_the_drop_and_the_memory_reuse_race() {
    let (_, checks) = verdict("dropped-write-fence");
    assert_eq!(checks, vec![Check::DroppedDependency, Check::Race]);
}

#[test]
fn wait_in_signalling_and_never_signals_are_told_apart() {
    assert_eq!(
        verdict("wait-in-signalling").1,
        vec![Check::WaitInSignalling]
    );
    assert_eq!(verdict("never-signals").1, vec![Check::NeverSignalled]);
}

#[test]
fn never_signals_names_what_waited_on_the_fence() {
    let sc = builtin::find("never-signals").unwrap().load().unwrap();
    let r = run(&sc, &RunOptions::default()).unwrap();
    let msg = &r.findings[0].message;
    assert!(msg.contains("display#1"), "{msg}");
    assert!(msg.contains("host's wait"), "{msg}");
    assert!(msg.contains("gpu#1"), "{msg}");
}

#[test]
fn without_checking_a_run_reports_nothing_but_still_runs_every_job() {
    let sc = builtin::find("leak-move-fence").unwrap().load().unwrap();
    let opts = RunOptions {
        check: false,
        ..RunOptions::default()
    };
    let r = run(&sc, &opts).unwrap();
    assert!(r.findings.is_empty());
    assert_eq!(r.jobs, 4);
    assert!(!r.checked);
}

#[test]
fn the_report_names_the_rule_where_it_is_stated_and_the_verdict() {
    let sc = builtin::find("leak-move-fence").unwrap().load().unwrap();
    let r = run(&sc, &RunOptions::default()).unwrap();
    let text = dmasync_check::report::render(&r);
    assert!(text.contains("C3 access before the move fence"), "{text}");
    assert!(text.contains("stated in:"), "{text}");
    assert!(text.contains("consequence:"), "{text}");
    assert!(text.contains("verdict: broken rules C3"), "{text}");
    let sc = builtin::find("wsi").unwrap().load().unwrap();
    let text = dmasync_check::report::render(&run(&sc, &RunOptions::default()).unwrap());
    assert!(text.contains("verdict: clean"), "{text}");
}

#[test]
fn an_operation_the_model_refuses_is_reported_and_the_run_is_not_clean() {
    // dma_resv_replace_fences refuses a container (a merged sync file).
    let src = r#"
[[engine]]
name = "gpu"
[[engine]]
name = "copy"
kind = "copy"
[[buffer]]
name = "bo"
exporter = "gpu"
importers = [{ engine = "copy", attach = "dynamic" }]
[[step]]
op = "submit"
engine = "gpu"
writes = ["bo"]
duration_us = 5000
[[step]]
op = "submit"
engine = "copy"
reads = ["bo"]
duration_us = 5000
[[step]]
op = "export_sync_file"
buffer = "bo"
access = "write"
out = "all"
[[step]]
op = "replace"
buffer = "bo"
context = "gpu"
fence = "all"
"#;
    let sc = dmasync_check::Scenario::parse(src, "r.toml", "r").unwrap();
    let r = run(&sc, &RunOptions::default()).unwrap();
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    // The line of the replace step's [[step]] header.
    let line = src[..src.find("op = \"replace\"").unwrap()]
        .matches('\n')
        .count();
    assert!(
        r.errors[0].starts_with(&format!("line {line}: dma_resv_replace_fences failed")),
        "{}",
        r.errors[0]
    );
    assert!(!r.is_clean());
}

#[test]
fn every_builtin_runs_without_an_operation_the_layer_refuses() {
    for b in BUILTINS {
        let mut sc = b.load().unwrap();
        sc.repeat = sc.repeat.min(50);
        let r = run(&sc, &RunOptions::default()).unwrap();
        assert!(r.errors.is_empty(), "{}: {:?}", b.name, r.errors);
    }
}

#[test]
fn evictions_notify_the_dynamic_importer_through_the_layer() {
    let sc = builtin::find("memory-pressure").unwrap().load().unwrap();
    let r = run(&sc, &RunOptions::default()).unwrap();
    let names: Vec<&str> = r.timeline.slices.iter().map(|s| s.name.as_str()).collect();
    // The texture moved twice, each time with gpu2's real move_notify;
    // `target` has no dynamic importer.
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "evict texture (move_notify: gpu2)")
            .count(),
        2,
        "{names:?}"
    );
    assert!(names.contains(&"evict target"), "{names:?}");
    // Each move is a job on the exporter's copy timeline, signalled.
    let moves: Vec<_> = r
        .timeline
        .slices
        .iter()
        .filter(|s| s.name.starts_with("move "))
        .collect();
    assert_eq!(moves.len(), 3);
    for m in moves {
        assert!(
            m.args.iter().any(|(k, v)| k == "status" && v == "1"),
            "{m:?}"
        );
    }
}

const PINNED: &str = r#"
[[engine]]
name = "gpu"
[[engine]]
name = "encoder"
kind = "video"
sync = "none"
[[buffer]]
name = "nv12"
exporter = "gpu"
dynamic = true
importers = [{ engine = "encoder", attach = "static" }]
[[step]]
op = "submit"
engine = "encoder"
reads = ["nv12"]
"#;

#[test]
fn the_layer_refuses_to_move_a_pinned_buffer() {
    // A static importer pins the buffer (moved to system memory, where it
    // can reach it): a move is -EBUSY and nothing moves.
    let src = format!("{PINNED}[[step]]\nop = \"move\"\nbuffer = \"nv12\"\n");
    let sc = dmasync_check::Scenario::parse(&src, "p.toml", "p").unwrap();
    let r = run(&sc, &RunOptions::default()).unwrap();
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].contains("cannot move buffer `nv12`") && r.errors[0].contains("errno 16"),
        "{}",
        r.errors[0]
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn evicting_a_buffer_already_in_system_memory_moves_nothing() {
    let src = format!("{PINNED}[[step]]\nop = \"evict\"\nbuffer = \"nv12\"\n");
    let sc = dmasync_check::Scenario::parse(&src, "p.toml", "p").unwrap();
    let r = run(&sc, &RunOptions::default()).unwrap();
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].contains("already in system memory"),
        "{}",
        r.errors[0]
    );
    assert_eq!(r.jobs, 1);
}

#[test]
fn a_move_after_the_static_importer_waited_and_detached_is_clean() {
    // The importer's work is over (the host waited for it) before it
    // gives up its pin: the move is legal and safe.
    let src = format!(
        "{PINNED}out = \"enc\"\n[[step]]\nop = \"wait\"\nfence = \"enc\"\n[[step]]\nop = \"detach\"\nbuffer = \"nv12\"\nengine = \"encoder\"\n[[step]]\nop = \"move\"\nbuffer = \"nv12\"\n[[step]]\nop = \"wait\"\nall = true\n"
    );
    let sc = dmasync_check::Scenario::parse(&src, "p.toml", "p").unwrap();
    let r = run(&sc, &RunOptions::default()).unwrap();
    assert!(r.is_clean(), "{:?} {:?}", r.errors, r.findings);
    assert_eq!(r.jobs, 2);
}
