//! The Chrome trace event format (JSON), which Perfetto's UI and
//! chrome://tracing open: one track per engine, a slice per job, flow arrows
//! for fence dependencies and instant markers where rules broke.

use serde_json::{json, Value};

use crate::rules;
use crate::run::RunResult;

const PID: u64 = 1;

/// The trace of a run, as a JSON value:
/// `{"traceEvents": [...], "displayTimeUnit": "ms"}`.
///
/// Events: `M` metadata naming the process and each track
/// (`thread_name`, `thread_sort_index`), an `X` slice per job and host
/// action, an `s`/`f` pair per fence dependency (from the producer's slice
/// to the waiter's, bound to the enclosing slice) and an `i` instant marker
/// per finding, on the track of the job that showed it.
pub fn trace_json(result: &RunResult) -> Value {
    let tl = &result.timeline;
    let mut events = Vec::new();
    events.push(json!({
        "name": "process_name", "ph": "M", "pid": PID, "tid": 0,
        "args": { "name": format!("dmasync {}", result.scenario) }
    }));
    for (i, name) in tl.tracks.iter().enumerate() {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": PID, "tid": i,
            "args": { "name": name }
        }));
        events.push(json!({
            "name": "thread_sort_index", "ph": "M", "pid": PID, "tid": i,
            "args": { "sort_index": i }
        }));
    }
    for s in &tl.slices {
        let args: serde_json::Map<String, Value> = s
            .args
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        events.push(json!({
            "name": s.name, "cat": if s.track == 0 { "host" } else { "job" },
            "ph": "X", "ts": s.start_us, "dur": s.dur_us.max(1),
            "pid": PID, "tid": s.track, "args": args
        }));
    }
    for (id, &(from, to)) in tl.flows.iter().enumerate() {
        let (a, b) = (&tl.slices[from], &tl.slices[to]);
        events.push(json!({
            "name": "fence", "cat": "fence", "ph": "s", "id": id + 1,
            "ts": a.start_us, "pid": PID, "tid": a.track
        }));
        events.push(json!({
            "name": "fence", "cat": "fence", "ph": "f", "bp": "e", "id": id + 1,
            "ts": b.start_us, "pid": PID, "tid": b.track
        }));
    }
    for m in &tl.markers {
        let f = &result.findings[m.finding];
        let rule = rules::rule(f.rule);
        events.push(json!({
            "name": format!("{} {}", f.rule, f.check.name()),
            "cat": "rule", "ph": "i", "s": "t", "ts": m.ts_us,
            "pid": PID, "tid": m.track,
            "args": {
                "rule": f.rule,
                "title": rule.map(|r| r.title).unwrap_or(""),
                "message": f.message,
                "line": f.line,
                "count": f.count,
                "consequence": rule.map(|r| r.consequence).unwrap_or(""),
            }
        }));
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

/// Writes the trace of a run to `path`.
///
/// # Errors
/// The I/O error of creating or writing the file.
pub fn write_trace(result: &RunResult, path: &std::path::Path) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, &trace_json(result))?;
    std::io::Write::flush(&mut w)
}
