//! The terminal report of a run.

use std::fmt::Write as _;

use crate::rules;
use crate::run::RunResult;

/// A readable report: the scenario, what ran, each broken rule with its
/// statement, where the kernel states it and what it costs, each finding,
/// and the verdict.
pub fn render(result: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario {} ({})", result.scenario, result.file);
    if !result.description.is_empty() {
        let _ = writeln!(out, "  {}", result.description);
    }
    let engines = result.timeline.tracks.len().saturating_sub(1);
    let _ = writeln!(
        out,
        "  {} job{} on {} engine{} in {:.1} ms",
        result.jobs,
        if result.jobs == 1 { "" } else { "s" },
        engines,
        if engines == 1 { "" } else { "s" },
        result.elapsed.as_secs_f64() * 1000.0
    );
    for e in &result.errors {
        let _ = writeln!(out, "  error: {e}");
    }
    if !result.checked {
        let _ = writeln!(out, "  (not checked)");
        return out;
    }
    for id in result.broken_rules() {
        let Some(rule) = rules::rule(id) else {
            continue;
        };
        let _ = writeln!(out, "\n{} {}", rule.id, rule.title);
        let _ = writeln!(out, "  rule:        {}", rule.statement);
        let _ = writeln!(out, "  stated in:   {}", rule.stated_in);
        let _ = writeln!(out, "  consequence: {}", rule.consequence);
        for f in result.findings.iter().filter(|f| f.rule == id) {
            let at = f.line.map(|l| format!("line {l}: ")).unwrap_or_default();
            let times = if f.count > 1 {
                format!(" ({} times)", f.count)
            } else {
                String::new()
            };
            let _ = writeln!(out, "  * {at}{}{times}: {}", f.check.name(), f.message);
        }
    }
    let broken = result.broken_rules();
    if broken.is_empty() {
        let _ = writeln!(out, "\nverdict: clean, no contract rule broken");
    } else {
        let _ = writeln!(out, "\nverdict: broken rules {}", broken.join(", "));
    }
    out
}
