//! The built-in demonstration: two software timelines (a "gpu" and a
//! "display"), their points merged the way SYNC_IOC_MERGE merges sync files,
//! and a waiter thread that is woken when the merged fence signals.

use std::io::{self, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use dmasync::fence::merge::unwrap_merge;
use dmasync::fence::sw_sync::Timeline;
use dmasync::fence::Fence;

fn line(out: &mut dyn Write, what: &str, fence: &Fence) -> io::Result<()> {
    writeln!(
        out,
        "{what:<28} {}-{}{}-{} status {}",
        fence.driver_name(),
        fence.timeline_name(),
        fence.context(),
        fence.seqno(),
        fence.status()
    )
}

/// Runs the demonstration with `points` points on each timeline, writing a
/// line per observation to `out`. Fails if an observation contradicts the
/// kernel's semantics (which would be a bug).
pub fn run(points: u32, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let points = points.max(1);
    let gpu = Timeline::new("gpu");
    let display = Timeline::new("display");
    writeln!(
        out,
        "timelines: gpu (context {}), display (context {})",
        gpu.context(),
        display.context()
    )?;

    for point in 1..=points {
        let render = gpu.create_fence(point);
        let scanout = display.create_fence(point);
        let merged = unwrap_merge(&[render.clone(), scanout.clone()]);
        line(out, &format!("point {point}: render"), &render)?;
        line(out, &format!("point {point}: scanout"), &scanout)?;
        line(out, &format!("point {point}: merged"), &merged)?;

        let (tx, rx) = mpsc::channel();
        let waiter = {
            let merged = merged.clone();
            thread::spawn(move || {
                let woke = merged.wait_timeout(Some(Duration::from_secs(10)), None);
                let _ = tx.send(woke.is_ok());
            })
        };
        gpu.inc(1);
        line(out, "  gpu advanced", &render)?;
        if merged.is_signaled() {
            return Err("merged fence signalled before all of its fences".into());
        }
        display.inc(1);
        line(out, "  display advanced", &scanout)?;
        let woke = rx.recv()?;
        waiter.join().map_err(|_| "waiter thread panicked")?;
        line(out, "  waiter woke: merged", &merged)?;
        if !woke || merged.status() != 1 {
            return Err("merged fence did not signal once both timelines advanced".into());
        }
    }
    let late = gpu.create_fence(points + 1);
    drop(gpu);
    line(out, "gpu timeline closed: pending", &late)?;
    if late.status() != -2 {
        return Err("closing a timeline must signal its pending points with -ENOENT".into());
    }
    writeln!(out, "ok: {points} points signalled on 2 timelines")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_runs_and_reports_every_point() {
        let mut out = Vec::new();
        super::run(3, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("ok: 3 points signalled on 2 timelines"),
            "{text}"
        );
        assert_eq!(text.matches("waiter woke").count(), 3);
        assert!(text.contains("status -2"));
    }
}
