//! The trace is valid JSON in the Chrome trace event format.

use dmasync_check::builtin;
use dmasync_check::trace::{trace_json, write_trace};
use dmasync_check::{run, RunOptions};
use serde_json::Value;

fn events(name: &str) -> (Vec<Value>, dmasync_check::RunResult) {
    let sc = builtin::find(name).unwrap().load().unwrap();
    let r = run(&sc, &RunOptions::default()).unwrap();
    let dir =
        std::env::temp_dir().join(format!("dmasync-trace-{}-{name}.json", std::process::id()));
    write_trace(&r, &dir).unwrap();
    let text = std::fs::read_to_string(&dir).unwrap();
    let _ = std::fs::remove_file(&dir);
    let v: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v, trace_json(&r));
    let ev = v["traceEvents"]
        .as_array()
        .expect("traceEvents array")
        .clone();
    (ev, r)
}

fn num(e: &Value, k: &str) -> u64 {
    e[k].as_u64()
        .unwrap_or_else(|| panic!("{k} missing or not a number in {e}"))
}

#[test]
fn trace_has_slices_flows_and_thread_names() {
    let (ev, r) = events("wsi");
    let mut slices = 0;
    let mut starts = std::collections::HashMap::new();
    let mut finishes = std::collections::HashMap::new();
    let mut names = Vec::new();
    for e in &ev {
        assert!(e["name"].is_string(), "{e}");
        assert_eq!(num(e, "pid"), 1);
        let _ = num(e, "tid");
        match e["ph"].as_str().expect("ph") {
            "X" => {
                slices += 1;
                let _ = (num(e, "ts"), num(e, "dur"));
                assert!(num(e, "dur") >= 1);
            }
            "s" => {
                starts.insert(num(e, "id"), num(e, "ts"));
            }
            "f" => {
                finishes.insert(num(e, "id"), num(e, "ts"));
                assert_eq!(e["bp"], "e");
            }
            "M" => {
                if e["name"] == "thread_name" {
                    names.push(e["args"]["name"].as_str().unwrap().to_owned());
                }
            }
            "i" => panic!("a clean run has no markers"),
            other => panic!("unexpected phase {other}"),
        }
    }
    // A slice per job and per host action.
    assert_eq!(slices, r.timeline.slices.len());
    assert!(slices as u64 > r.jobs);
    // One track per engine plus the host.
    assert_eq!(
        names,
        vec!["cpu (host)", "client-gpu", "comp-gpu", "display"]
    );
    // Flows come in pairs, from an earlier start to a later one.
    assert!(!starts.is_empty());
    assert_eq!(starts.len(), finishes.len());
    for (id, s) in &starts {
        assert!(finishes[id] >= *s, "flow {id} goes back in time");
    }
}

#[test]
fn trace_marks_where_rules_broke() {
    let (ev, r) = events("leak-move-fence");
    let markers: Vec<&Value> = ev.iter().filter(|e| e["ph"] == "i").collect();
    assert_eq!(markers.len(), r.findings.len());
    let m = markers[0];
    assert_eq!(m["s"], "t");
    assert_eq!(m["args"]["rule"], "C3");
    assert!(m["args"]["message"].as_str().unwrap().contains("KERNEL"));
    let _ = num(m, "ts");
    // On the importer's track (gpu2 is the second engine: tid 2).
    assert_eq!(num(m, "tid"), 2);
}

#[test]
fn runtime_findings_are_marked_on_the_track_of_the_job_that_broke_the_rule() {
    for name in [
        "wait-in-signalling",
        "error-after-signal",
        "seqno-backwards",
    ] {
        let (ev, _) = events(name);
        let markers: Vec<&Value> = ev.iter().filter(|e| e["ph"] == "i").collect();
        assert_eq!(markers.len(), 1, "{name}");
        // The gpu is the first engine: tid 1 (tid 0 is the host).
        assert_eq!(num(markers[0], "tid"), 1, "{name}");
        assert!(num(markers[0], "ts") > 0, "{name}");
    }
}
