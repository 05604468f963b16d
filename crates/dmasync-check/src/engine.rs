//! Virtual engines: one thread and one fence context each, running jobs in
//! submission order.
//!
//! A job waits for its dependencies, then runs inside a fence signalling
//! critical section (`dma_fence_begin_signalling`) for its duration, and
//! signals its fence. Jobs of one engine therefore signal in seqno order,
//! as the fences of one context must.
//!
//! Misbehaving jobs can hang (the engine's timeout then recovers the fence
//! with `-ETIMEDOUT`, as a GPU scheduler's hang recovery does), wait for a
//! fence inside the critical section, or set an error after signalling.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dmasync::error::errno;
use dmasync::fence::signalling::Section;
use dmasync::fence::{get_stub, Fence, FenceOps};

use crate::scenario::Misbehave;

/// The fence source of a virtual engine: the kernel's `dma_fence_ops` of a
/// driver's ring.
///
/// Immutable after creation; shared by every fence of the engine.
#[derive(Debug)]
pub struct EngineOps {
    timeline: String,
}

impl EngineOps {
    /// A source whose timeline is named `timeline`.
    pub fn new(timeline: &str) -> EngineOps {
        EngineOps {
            timeline: timeline.to_owned(),
        }
    }
}

impl FenceOps for EngineOps {
    fn driver_name(&self) -> &str {
        "dmasync-check"
    }

    fn timeline_name(&self) -> &str {
        &self.timeline
    }
}

/// A job handed to an engine thread.
#[derive(Debug)]
pub(crate) struct JobMsg {
    /// The runner's index of the job.
    pub job: usize,
    pub fence: Fence,
    pub deps: Vec<Fence>,
    pub duration: Duration,
    pub misbehave: Misbehave,
    /// How long a job may hang before the engine recovers its fence.
    pub hang_timeout: Duration,
    /// How long a dependency may stay pending before it is reported.
    pub dep_timeout: Duration,
}

/// What an engine observed running one job.
#[derive(Debug, Clone)]
pub(crate) struct JobTiming {
    pub job: usize,
    pub wait_start_us: u64,
    pub start_us: u64,
    pub end_us: u64,
    /// Dependencies that did not signal within the timeout.
    pub timed_out: Vec<Fence>,
    /// The job hung and its fence was recovered with an error.
    pub hung: bool,
    /// An error was set after signalling (and refused).
    pub error_after_signal: bool,
    /// The job waited for a fence inside its signalling critical section.
    pub waited_in_section: bool,
}

pub(crate) fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros() as u64
}

/// Starts an engine thread named `thread_name`. It runs the jobs it receives
/// until `rx` is closed, reporting each on `done`.
pub(crate) fn spawn(
    thread_name: String,
    epoch: Instant,
    rx: Receiver<JobMsg>,
    done: Sender<JobTiming>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(thread_name)
        .spawn(move || {
            for msg in rx {
                let timing = run_job(&msg, epoch);
                if done.send(timing).is_err() {
                    break;
                }
            }
        })
}

fn run_job(msg: &JobMsg, epoch: Instant) -> JobTiming {
    let wait_start_us = micros(epoch);
    let mut timed_out = Vec::new();
    for dep in &msg.deps {
        if dep.wait_timeout(Some(msg.dep_timeout), None).is_err() {
            timed_out.push(dep.clone());
        }
    }
    let start_us = micros(epoch);
    let mut hung = false;
    let waited_in_section = msg.misbehave.wait_in_signalling;
    {
        let _section = Section::begin();
        if msg.misbehave.wait_in_signalling {
            // Waiting here can deadlock against whoever waits for this job.
            let dep = msg.deps.first().cloned().unwrap_or_else(get_stub);
            let _ = dep.wait_timeout(Some(Duration::ZERO), None);
        }
        if !msg.duration.is_zero() {
            std::thread::sleep(msg.duration);
        }
        if msg.misbehave.never_signal {
            std::thread::sleep(msg.hang_timeout);
            let _ = msg.fence.set_error(-errno::ETIMEDOUT);
            hung = true;
        }
        let _ = msg.fence.signal();
    }
    let mut error_after_signal = false;
    if msg.misbehave.error_after_signal {
        error_after_signal = msg.fence.set_error(-5).is_err();
    }
    JobTiming {
        job: msg.job,
        wait_start_us,
        start_us,
        end_us: micros(epoch),
        timed_out,
        hung,
        error_after_signal,
        waited_in_section,
    }
}

/// Whether two fences are the same object.
pub(crate) fn same(a: &Fence, b: &Fence) -> bool {
    a.ptr_eq(b)
}

/// A fence source shared by the engine's fences.
pub(crate) fn ops(name: &str) -> Arc<dyn FenceOps> {
    Arc::new(EngineOps::new(name))
}
