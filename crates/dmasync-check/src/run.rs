//! Runs a scenario: engine threads, the buffers as real dma-bufs
//! ([`state`](crate::state)), the checker, and the timeline of what ran
//! when.
//!
//! Every buffer operation of a step goes through the model's dma-buf layer:
//! jobs take their implicit dependencies from the buffer's reservation
//! object and publish their fences in it, `evict`/`move` call the device
//! exporter's move (which notifies dynamic importers and adds its KERNEL
//! fence), `detach` detaches an importer, the sync-file steps are the
//! buffer's EXPORT/IMPORT_SYNC_FILE and `cpu` steps bracket the access with
//! DMA_BUF_IOCTL_SYNC. The checker records the same history in its
//! timing-free view.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use dmasync::buf::device::Placement;
use dmasync::fence::{signalling, Fence, FenceOps};
use dmasync::sync_file::SyncFile;
use dmasync::uapi::dma_buf::{
    DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START, DMA_BUF_SYNC_WRITE,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::checker::{
    Access, Attach, BufferId, Check, Checker, DepPolicy, EngineId, Finding, JobDesc, JobId,
    JobKind, SyncMode, HOST,
};
use crate::engine::{self, micros, JobMsg, JobTiming};
use crate::scenario::{Scenario, StepKind, WaitTarget};
use crate::state::{Buffer, Usage};

/// How to run a scenario.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run the checker (race detector and rules). Off, only the pipeline
    /// runs: the baseline of the benchmark.
    pub check: bool,
    /// Show a progress bar on standard error for long runs.
    pub progress: bool,
    /// Overrides the scenario's fence timeout.
    pub fence_timeout: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: true,
            progress: false,
            fence_timeout: None,
        }
    }
}

/// A slice on the timeline: a job, or a host action.
#[derive(Debug, Clone)]
pub struct Slice {
    /// The track: 0 the host, then the engines in declaration order.
    pub track: usize,
    /// Its name.
    pub name: String,
    /// Start, microseconds since the run started.
    pub start_us: u64,
    /// Duration in microseconds.
    pub dur_us: u64,
    /// Extra key/value pairs shown in the trace viewer.
    pub args: Vec<(String, String)>,
}

/// A marker where a rule broke.
#[derive(Debug, Clone)]
pub struct Marker {
    /// The track.
    pub track: usize,
    /// When, microseconds since the run started.
    pub ts_us: u64,
    /// The index of the finding in [`RunResult::findings`].
    pub finding: usize,
}

/// What ran when.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Track names: `cpu` (the host), then the engines.
    pub tracks: Vec<String>,
    /// Jobs and host actions.
    pub slices: Vec<Slice>,
    /// Fence dependencies: from the producer's slice to the waiter's.
    pub flows: Vec<(usize, usize)>,
    /// Where rules broke.
    pub markers: Vec<Marker>,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunResult {
    /// The scenario's name.
    pub scenario: String,
    /// Its file.
    pub file: String,
    /// What it shows.
    pub description: String,
    /// The findings (empty when checking is off).
    pub findings: Vec<Finding>,
    /// What ran when.
    pub timeline: Timeline,
    /// Jobs run on engines.
    pub jobs: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Whether the checker ran.
    pub checked: bool,
    /// Operations the model refused (a scenario step that cannot happen at
    /// run time), with their line.
    pub errors: Vec<String>,
}

impl RunResult {
    /// The broken rule ids, sorted, without duplicates.
    pub fn broken_rules(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = self.findings.iter().map(|f| f.rule).collect();
        ids.sort_by_key(|id| id[1..].parse::<u32>().unwrap_or(u32::MAX));
        ids.dedup();
        ids
    }

    /// Whether no rule broke and every operation succeeded.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.errors.is_empty()
    }
}

/// A named fence set: what the kernel objects hold (`real`, for waiting)
/// and the timing-free view the checker uses (`logical`).
#[derive(Debug, Clone, Default)]
struct Named {
    real: Vec<Fence>,
    logical: Vec<Fence>,
}

struct EngineRt {
    tx: Option<mpsc::Sender<JobMsg>>,
    ops: std::sync::Arc<dyn FenceOps>,
    context: u64,
    last_seqno: u64,
    last_fence: Option<Fence>,
    id: EngineId,
}

struct JobRt {
    track: usize,
    name: String,
    line: usize,
    fence: Option<Fence>,
    deps: Vec<Fence>,
    submit_us: u64,
    /// Set for host jobs when they happen, for engine jobs from their timing.
    timing: Option<(u64, u64)>,
    /// For moves: when the move fence signalled (`u64::MAX` until then).
    signalled_us: Option<Arc<AtomicU64>>,
    checker_job: Option<JobId>,
}

/// A scenario buffer at run time.
struct BufRt {
    buf: Buffer,
    id: BufferId,
    /// The checker's engine for the exporter's copy timeline (moves).
    copy: Option<EngineId>,
    /// The latest move fence.
    last_move: Option<Fence>,
}

/// Violations of signalling critical sections taken from the fence layer
/// but belonging to other runs in this process.
static STASH: parking_lot::Mutex<Vec<signalling::Violation>> = parking_lot::Mutex::new(Vec::new());
static ACTIVE_CHECKS: AtomicUsize = AtomicUsize::new(0);
static RUN_ID: AtomicU64 = AtomicU64::new(1);

fn take_violations(prefix: &str) -> Vec<signalling::Violation> {
    let mut stash = STASH.lock();
    stash.extend(signalling::take_violations());
    let (mine, others): (Vec<_>, Vec<_>) = stash.drain(..).partition(|v| {
        let thread = match v {
            signalling::Violation::WaitInSignalling { thread } => thread,
            signalling::Violation::ResvLockInSignalling { thread } => thread,
        };
        thread.as_deref().is_some_and(|t| t.starts_with(prefix))
    });
    *stash = others;
    mine
}

struct CheckingGuard;

impl CheckingGuard {
    fn new() -> CheckingGuard {
        if ACTIVE_CHECKS.fetch_add(1, Ordering::SeqCst) == 0 {
            signalling::set_checking(true);
        }
        CheckingGuard
    }
}

impl Drop for CheckingGuard {
    fn drop(&mut self) {
        if ACTIVE_CHECKS.fetch_sub(1, Ordering::SeqCst) == 1 {
            signalling::set_checking(false);
        }
    }
}

struct Runner<'a> {
    sc: &'a Scenario,
    opts: &'a RunOptions,
    epoch: Instant,
    engines: Vec<EngineRt>,
    buffers: Vec<BufRt>,
    names: Vec<Option<Named>>,
    jobs: Vec<JobRt>,
    checker: Option<Checker>,
    fence_timeout: Duration,
    /// Operations of the model that failed, with their line.
    errors: Vec<String>,
    /// Host waits that timed out: (fence, line).
    host_timeouts: Vec<(Fence, usize)>,
    /// Fences host waits waited for, with the line of the step.
    host_waits: Vec<(Fence, usize)>,
}

/// Runs `sc` and returns what happened.
///
/// # Errors
/// An I/O error if an engine thread cannot be started.
pub fn run(sc: &Scenario, opts: &RunOptions) -> std::io::Result<RunResult> {
    let run_id = RUN_ID.fetch_add(1, Ordering::Relaxed);
    let prefix = format!("dmasync-check/{run_id}/");
    let _guard = opts.check.then(CheckingGuard::new);
    let epoch = Instant::now();
    let (done_tx, done_rx) = mpsc::channel::<JobTiming>();
    let mut checker = opts.check.then(Checker::new);
    let mut engines = Vec::new();
    let mut handles = Vec::new();
    for e in &sc.engines {
        let (tx, rx) = mpsc::channel();
        handles.push(engine::spawn(
            format!("{prefix}{}", e.name),
            epoch,
            rx,
            done_tx.clone(),
        )?);
        let context = dmasync::fence::context_alloc(1);
        let id = checker
            .as_mut()
            .map(|c| c.add_engine(&e.name, context))
            .unwrap_or(EngineId(engines.len() + 1));
        engines.push(EngineRt {
            tx: Some(tx),
            ops: engine::ops(&e.name),
            context,
            last_seqno: 0,
            last_fence: None,
            id,
        });
    }
    drop(done_tx);
    let mut buffers = Vec::new();
    let mut errors = Vec::new();
    for (i, b) in sc.buffers.iter().enumerate() {
        let exporter = &sc.engines[b.exporter].name;
        let mut buf = Buffer::export(exporter, b.dynamic).map_err(|e| {
            std::io::Error::other(format!("cannot export buffer `{}`: {e}", b.name))
        })?;
        for &(e, how) in &b.importers {
            if let Err(err) = buf.attach(e, &sc.engines[e].name, how) {
                errors.push(format!(
                    "line {}: engine `{}` cannot attach to buffer `{}`: {err} (errno {})",
                    b.line,
                    sc.engines[e].name,
                    b.name,
                    err.errno()
                ));
            }
        }
        let (id, copy) = match checker.as_mut() {
            Some(c) => {
                let id = c.add_buffer(&b.name);
                c.attach(id, engines[b.exporter].id, Attach::Exporter);
                for &(e, how) in &b.importers {
                    c.attach(id, engines[e].id, how);
                }
                let copy = buf
                    .device()
                    .map(|d| c.add_engine(&format!("{exporter}-copy"), d.copy_context()));
                (id, copy)
            }
            None => (BufferId(i), None),
        };
        buffers.push(BufRt {
            buf,
            id,
            copy,
            last_move: None,
        });
    }
    let mut r = Runner {
        sc,
        opts,
        epoch,
        engines,
        buffers,
        names: vec![None; sc.fence_names.len()],
        jobs: Vec::new(),
        checker,
        fence_timeout: opts.fence_timeout.unwrap_or(sc.fence_timeout),
        host_timeouts: Vec::new(),
        host_waits: Vec::new(),
        errors,
    };

    let total = sc.steps.len() as u64 * sc.repeat;
    let bar = (opts.progress && total >= 5_000).then(|| {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} steps {per_sec}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(sc.name.clone());
        bar
    });
    let mut done = 0u64;
    for _ in 0..sc.repeat {
        for step in &sc.steps {
            r.step(&step.kind, step.line);
            done += 1;
            if let Some(bar) = &bar {
                if done % 1024 == 0 {
                    bar.set_position(done);
                }
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for e in &mut r.engines {
        e.tx = None;
    }
    for h in handles {
        let _ = h.join();
    }
    let timings: Vec<JobTiming> = done_rx.try_iter().collect();
    let violations = if opts.check {
        take_violations(&prefix)
    } else {
        Vec::new()
    };
    Ok(r.finish(timings, violations))
}

impl Runner<'_> {
    fn now(&self) -> u64 {
        micros(self.epoch)
    }

    fn policy(
        &self,
        engine: usize,
        buffer: usize,
        skip_kernel: bool,
        skip_implicit: bool,
    ) -> DepPolicy {
        DepPolicy {
            mode: self.sc.engines[engine].sync,
            attach: self.sc.buffers[buffer]
                .attachment(engine)
                .unwrap_or(Attach::Static),
            skip_kernel,
            skip_implicit,
        }
    }

    fn named(&self, id: usize) -> Named {
        self.names[id].clone().unwrap_or_default()
    }

    fn host_slice(&mut self, name: String, start: u64, line: usize, checker_job: Option<JobId>) {
        let end = self.now();
        self.jobs.push(JobRt {
            track: 0,
            name,
            line,
            fence: None,
            deps: Vec::new(),
            submit_us: start,
            timing: Some((start, end)),
            signalled_us: None,
            checker_job,
        });
    }

    fn step(&mut self, step: &StepKind, line: usize) {
        match step {
            StepKind::Submit {
                engine,
                reads,
                writes,
                wait,
                out,
                label,
                duration,
                misbehave,
            } => {
                let spec = &self.sc.engines[*engine];
                let mis = spec.misbehave.union(*misbehave);
                let mut accesses: Vec<(usize, bool)> = Vec::new();
                for &b in writes {
                    if !accesses.iter().any(|(x, _)| *x == b) {
                        accesses.push((b, true));
                    }
                }
                for &b in reads {
                    if !accesses.iter().any(|(x, _)| *x == b) {
                        accesses.push((b, false));
                    }
                }
                let mut real = Vec::new();
                let mut logical = Vec::new();
                for &w in wait {
                    let n = self.named(w);
                    real.extend(n.real);
                    logical.extend(n.logical);
                }
                let mut policy = None;
                for &(b, write) in &accesses {
                    if let Err(e) = self.buffers[b].buf.prepare_access(*engine) {
                        self.errors.push(format!(
                            "line {line}: engine `{}` cannot access buffer `{}`: {e} (errno {})",
                            spec.name,
                            self.sc.buffers[b].name,
                            e.errno()
                        ));
                    }
                    let p =
                        self.policy(*engine, b, mis.skip_kernel_fences, mis.skip_implicit_fences);
                    policy = Some(p);
                    real.extend(p.select(&self.buffers[b].buf.pending(), write));
                    if let Some(c) = &self.checker {
                        logical.extend(p.select(&c.implicit_fences(self.buffers[b].id), write));
                    }
                }
                dedup(&mut real);
                dedup(&mut logical);
                let duration = duration.unwrap_or(spec.duration);
                let fence = self.submit(
                    *engine,
                    JobKind::Normal,
                    label,
                    line,
                    real,
                    &logical,
                    &accesses,
                    policy,
                    duration,
                    mis,
                );
                for &(b, write) in &accesses {
                    let p = self.policy(*engine, b, false, false);
                    if let Some(u) = p.publishes(write) {
                        self.add_fence(b, &fence, u, line);
                    }
                }
                if let Some(out) = out {
                    self.names[*out] = Some(Named {
                        real: vec![fence.clone()],
                        logical: vec![fence],
                    });
                }
            }
            StepKind::Evict { buffer, engine, to } => self.move_buffer(*buffer, *engine, *to, line),
            StepKind::Detach { buffer, engine } => {
                let start = self.now();
                match self.buffers[*buffer].buf.detach(*engine) {
                    Ok(_) => {
                        if let Some(c) = &mut self.checker {
                            c.detach(
                                self.buffers[*buffer].id,
                                self.engines[*engine].id,
                                Some(line),
                            );
                        }
                    }
                    Err(e) => self.errors.push(format!(
                        "line {line}: dma_buf_detach failed: {e} (errno {})",
                        e.errno()
                    )),
                }
                let name = format!(
                    "detach {} from {}",
                    self.sc.engines[*engine].name, self.sc.buffers[*buffer].name
                );
                self.host_slice(name, start, line, None);
            }
            StepKind::ExportSyncFile { buffer, write, out } => {
                let start = self.now();
                let usage = Usage::rw(*write);
                let flags = if *write {
                    DMA_BUF_SYNC_WRITE
                } else {
                    DMA_BUF_SYNC_READ
                };
                let real = match self.buffers[*buffer]
                    .buf
                    .dmabuf()
                    .export_sync_file(flags as u32)
                {
                    Ok(file) => vec![file.fence().clone()],
                    Err(e) => {
                        self.errors.push(format!(
                            "line {line}: EXPORT_SYNC_FILE failed: {e} (errno {})",
                            e.errno()
                        ));
                        Vec::new()
                    }
                };
                let logical = match &self.checker {
                    Some(c) => c
                        .implicit_fences(self.buffers[*buffer].id)
                        .into_iter()
                        .filter(|(_, u)| *u <= usage)
                        .map(|(f, _)| f)
                        .collect(),
                    None => Vec::new(),
                };
                self.names[*out] = Some(Named { real, logical });
                let name = format!(
                    "export_sync_file {} ({})",
                    self.sc.buffers[*buffer].name,
                    if *write { "write" } else { "read" }
                );
                self.host_slice(name, start, line, None);
            }
            StepKind::ImportSyncFile {
                buffer,
                fence,
                usage,
            } => {
                let start = self.now();
                let n = self.named(*fence);
                let flags = if *usage == Usage::Write {
                    DMA_BUF_SYNC_WRITE
                } else {
                    DMA_BUF_SYNC_READ
                };
                for f in &n.real {
                    let file = SyncFile::new(f.clone());
                    if let Err(e) = self.buffers[*buffer]
                        .buf
                        .dmabuf()
                        .import_sync_file(flags as u32, &file)
                    {
                        self.errors.push(format!(
                            "line {line}: IMPORT_SYNC_FILE failed: {e} (errno {})",
                            e.errno()
                        ));
                    }
                }
                if let Some(c) = &mut self.checker {
                    for f in &n.logical {
                        c.add_fence(self.buffers[*buffer].id, f, *usage, Some(line));
                    }
                }
                let name = format!(
                    "import_sync_file {} ({})",
                    self.sc.buffers[*buffer].name,
                    usage.name()
                );
                self.host_slice(name, start, line, None);
            }
            StepKind::Replace {
                buffer,
                context,
                fence,
                usage,
            } => {
                let start = self.now();
                let n = self.named(*fence);
                let ctx = self.engines[*context].context;
                if let Some(f) = n.real.first() {
                    let resv = self.buffers[*buffer].buf.dmabuf().resv();
                    if let Err(e) = resv
                        .lock(None)
                        .and_then(|mut g| g.replace_fences(ctx, f, *usage))
                    {
                        self.errors.push(format!(
                            "line {line}: dma_resv_replace_fences failed: {e} (errno {})",
                            e.errno()
                        ));
                    }
                }
                if let (Some(c), Some(f)) = (&mut self.checker, n.logical.first()) {
                    c.replace_fences(self.buffers[*buffer].id, ctx, f, *usage, Some(line));
                }
                let name = format!(
                    "replace_fences {} ({})",
                    self.sc.buffers[*buffer].name, self.sc.engines[*context].name
                );
                self.host_slice(name, start, line, None);
            }
            StepKind::Cpu {
                buffer,
                write,
                bracketed,
            } => {
                let start = self.now();
                let p = DepPolicy {
                    mode: SyncMode::Implicit,
                    attach: Attach::Host,
                    skip_kernel: false,
                    skip_implicit: false,
                };
                let mut logical = Vec::new();
                let dir = if *write {
                    DMA_BUF_SYNC_WRITE
                } else {
                    DMA_BUF_SYNC_READ
                };
                let buf = self.buffers[*buffer].buf.dmabuf().clone();
                let mut ops = Vec::new();
                if *bracketed {
                    // DMA_BUF_IOCTL_SYNC START waits for what the access
                    // conflicts with (no timeout: every engine fence
                    // signals, hung ones by the engine's recovery).
                    for f in buf.resv().get_fences(Usage::rw(*write)) {
                        self.host_waits.push((f, line));
                    }
                    ops.push((
                        "DMA_BUF_IOCTL_SYNC START",
                        buf.sync(DMA_BUF_SYNC_START | dir),
                    ));
                    if let Some(c) = &self.checker {
                        logical = p.select(&c.implicit_fences(self.buffers[*buffer].id), *write);
                    }
                }
                let mut word = [0u8; 8];
                ops.push((
                    "the CPU access",
                    if *write {
                        buf.write_at(0, &[0xa5; 8])
                    } else {
                        buf.read_at(0, &mut word)
                    },
                ));
                if *bracketed {
                    ops.push(("DMA_BUF_IOCTL_SYNC END", buf.sync(DMA_BUF_SYNC_END | dir)));
                }
                for (what, r) in ops {
                    if let Err(e) = r {
                        self.errors.push(format!(
                            "line {line}: {what} failed: {e} (errno {})",
                            e.errno()
                        ));
                    }
                }
                let access = if *write { Access::Write } else { Access::Read };
                let name = format!(
                    "cpu {} {}{}",
                    if *write { "write" } else { "read" },
                    self.sc.buffers[*buffer].name,
                    if *bracketed { "" } else { " (unbracketed)" }
                );
                let job = self.checker.as_mut().map(|c| {
                    c.host_wait(&logical);
                    c.job(JobDesc {
                        engine: HOST,
                        kind: JobKind::Cpu {
                            bracketed: *bracketed,
                        },
                        fence: None,
                        deps: &logical,
                        accesses: &[(self.buffers[*buffer].id, access)],
                        policy: Some(p),
                        label: &name,
                        line: Some(line),
                    })
                });
                self.host_slice(name, start, line, job);
            }
            StepKind::Wait(target) => {
                let start = self.now();
                let (real, logical, what) = match target {
                    WaitTarget::Fence(n) => {
                        let n2 = self.named(*n);
                        (
                            n2.real,
                            n2.logical,
                            format!("wait {}", self.sc.fence_names[*n]),
                        )
                    }
                    WaitTarget::Engine(e) => {
                        let f: Vec<Fence> = self.engines[*e].last_fence.iter().cloned().collect();
                        (
                            f.clone(),
                            f,
                            format!("wait {} idle", self.sc.engines[*e].name),
                        )
                    }
                    WaitTarget::All => {
                        let f: Vec<Fence> = self
                            .engines
                            .iter()
                            .filter_map(|e| e.last_fence.clone())
                            .chain(self.buffers.iter().filter_map(|b| b.last_move.clone()))
                            .collect();
                        (f.clone(), f, "wait all".to_owned())
                    }
                };
                self.host_wait_real(&real, line);
                if let Some(c) = &mut self.checker {
                    c.host_wait(&logical);
                }
                self.host_slice(what, start, line, None);
            }
        }
    }

    fn host_wait_real(&mut self, fences: &[Fence], line: usize) {
        for f in fences {
            self.host_waits.push((f.clone(), line));
            if f.wait_timeout(Some(self.fence_timeout * 4), None).is_err() {
                self.host_timeouts.push((f.clone(), line));
            }
        }
    }

    fn add_fence(&mut self, buffer: usize, fence: &Fence, usage: Usage, line: usize) {
        if let Err(e) = self.buffers[buffer].buf.publish(fence, usage) {
            self.errors.push(format!(
                "line {line}: dma_resv_add_fence failed: {e} (errno {})",
                e.errno()
            ));
        }
        if let Some(c) = &mut self.checker {
            c.add_fence(self.buffers[buffer].id, fence, usage, Some(line));
        }
    }

    /// An `evict`/`move` step: the device exporter moves the buffer (its
    /// move fence, KERNEL, waits for every fence the buffer held), dynamic
    /// importers get move_notify; the checker records the move as a job of
    /// the exporter's copy timeline that writes the buffer.
    fn move_buffer(&mut self, buffer: usize, engine: usize, to: Option<Placement>, line: usize) {
        let start = self.now();
        let bname = self.sc.buffers[buffer].name.clone();
        let b = &self.buffers[buffer];
        let moved = b.buf.target(to).and_then(|t| Ok((t, b.buf.move_to(t)?)));
        let (fence, notified) = match moved {
            Ok((_, (Some(fence), notified))) => (fence, notified),
            Ok((t, (None, _))) => {
                self.errors.push(format!(
                    "line {line}: nothing to move: buffer `{bname}` is already in {}",
                    match t {
                        Placement::Vram => "VRAM",
                        Placement::System => "system memory",
                    }
                ));
                self.host_slice(format!("move {bname} (nothing to do)"), start, line, None);
                return;
            }
            Err(e) => {
                self.errors.push(format!(
                    "line {line}: the exporter cannot move buffer `{bname}`: {e} (errno {})",
                    e.errno()
                ));
                self.host_slice(format!("move {bname} (refused)"), start, line, None);
                return;
            }
        };
        let signalled = Arc::new(AtomicU64::new(u64::MAX));
        {
            let (at, epoch) = (signalled.clone(), self.epoch);
            if fence
                .add_callback(move |_| at.store(micros(epoch), Ordering::Release))
                .is_err()
            {
                signalled.store(self.now(), Ordering::Release);
            }
        }
        let name = format!("move {bname}");
        let id = self.buffers[buffer].id;
        let copy = self.buffers[buffer].copy;
        let mut logical = Vec::new();
        let checker_job = match (&mut self.checker, copy) {
            (Some(c), Some(copy)) => {
                // A move waits for every fence, BOOKKEEP included.
                logical = c.implicit_fences(id).into_iter().map(|(f, _)| f).collect();
                let job = c.job(JobDesc {
                    engine: copy,
                    kind: JobKind::Move,
                    fence: Some(&fence),
                    deps: &logical,
                    accesses: &[(id, Access::Write)],
                    policy: None,
                    label: &name,
                    line: Some(line),
                });
                c.add_fence(id, &fence, Usage::Kernel, Some(line));
                c.moved(id, job, Some(line));
                Some(job)
            }
            _ => None,
        };
        self.jobs.push(JobRt {
            track: engine + 1,
            name,
            line,
            fence: Some(fence.clone()),
            deps: logical,
            submit_us: start,
            timing: None,
            signalled_us: Some(signalled),
            checker_job,
        });
        self.buffers[buffer].last_move = Some(fence);
        let notified: Vec<&str> = notified
            .iter()
            .map(|&e| self.sc.engines[e].name.as_str())
            .collect();
        let what = if notified.is_empty() {
            format!("evict {bname}")
        } else {
            format!("evict {bname} (move_notify: {})", notified.join(", "))
        };
        self.host_slice(what, start, line, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        engine: usize,
        kind: JobKind,
        label: &str,
        line: usize,
        real: Vec<Fence>,
        logical: &[Fence],
        accesses: &[(usize, bool)],
        policy: Option<DepPolicy>,
        duration: Duration,
        mis: crate::scenario::Misbehave,
    ) -> Fence {
        let e = &mut self.engines[engine];
        let seqno = if mis.seqno_backwards {
            e.last_seqno.saturating_sub(1)
        } else {
            e.last_seqno + 1
        };
        e.last_seqno = e.last_seqno.max(seqno);
        let fence = Fence::new(e.ops.clone(), e.context, seqno);
        e.last_fence = Some(fence.clone());
        let engine_id = e.id;
        let checker_job = self.checker.as_mut().map(|c| {
            let acc: Vec<(BufferId, Access)> = accesses
                .iter()
                .map(|&(b, w)| {
                    (
                        self.buffers[b].id,
                        if w { Access::Write } else { Access::Read },
                    )
                })
                .collect();
            c.job(JobDesc {
                engine: engine_id,
                kind,
                fence: Some(&fence),
                deps: logical,
                accesses: &acc,
                policy,
                label,
                line: Some(line),
            })
        });
        let job = self.jobs.len();
        let submit_us = self.now();
        self.jobs.push(JobRt {
            track: engine + 1,
            name: label.to_owned(),
            line,
            fence: Some(fence.clone()),
            // The logical dependencies include the leaves of the real ones.
            deps: if self.checker.is_some() {
                logical.to_vec()
            } else {
                Vec::new()
            },
            submit_us,
            timing: None,
            signalled_us: None,
            checker_job,
        });
        let msg = JobMsg {
            job,
            fence: fence.clone(),
            deps: real,
            duration,
            misbehave: mis,
            hang_timeout: self.fence_timeout,
            dep_timeout: self.fence_timeout * 4,
        };
        if let Some(tx) = &self.engines[engine].tx {
            let _ = tx.send(msg);
        }
        fence
    }

    fn finish(
        mut self,
        timings: Vec<JobTiming>,
        violations: Vec<signalling::Violation>,
    ) -> RunResult {
        let mut engine_jobs = 0u64;
        for j in &mut self.jobs {
            if let Some(at) = &j.signalled_us {
                engine_jobs += 1;
                let end = at.load(Ordering::Acquire);
                let end = if end == u64::MAX { j.submit_us } else { end };
                j.timing = Some((j.submit_us, end.max(j.submit_us)));
            }
        }
        for t in &timings {
            engine_jobs += 1;
            if let Some(j) = self.jobs.get_mut(t.job) {
                j.timing = Some((t.start_us, t.end_us.max(t.start_us)));
                if t.start_us > t.wait_start_us + 1 {
                    j.submit_us = j.submit_us.min(t.wait_start_us);
                }
            }
        }
        if let Some(c) = &mut self.checker {
            let desc_waiters =
                |c: &Checker, jobs: &[JobRt], host: &[(Fence, usize)], fence: &Fence| -> String {
                    let mut w: Vec<String> = jobs
                        .iter()
                        .filter(|j| j.deps.iter().any(|d| d.ptr_eq(fence)))
                        .map(|j| match j.checker_job {
                            Some(id) => c.describe_job(id),
                            None => j.name.clone(),
                        })
                        .collect();
                    w.extend(
                        host.iter()
                            .filter(|(f, _)| f.ptr_eq(fence))
                            .map(|(_, line)| format!("the host's wait at line {line}")),
                    );
                    if w.is_empty() {
                        "nobody yet".to_owned()
                    } else {
                        w.join(", ")
                    }
                };
            for t in &timings {
                let job = &self.jobs[t.job];
                let Some(cj) = job.checker_job else { continue };
                if t.hung {
                    let fence = job.fence.clone().expect("engine jobs have fences");
                    let msg = format!(
                        "{} did not signal within {} ms; waited on by: {}; the engine's timeout recovered it with -ETIMEDOUT",
                        c.describe_fence(&fence),
                        self.fence_timeout.as_millis(),
                        desc_waiters(c, &self.jobs, &self.host_waits, &fence)
                    );
                    c.record(Finding {
                        rule: "C10",
                        check: Check::NeverSignalled,
                        message: msg,
                        line: Some(job.line),
                        jobs: vec![cj],
                        buffer: None,
                        count: 1,
                    });
                }
                if t.error_after_signal {
                    let msg = format!(
                        "{} got error -5 (EIO) after it had signalled: its waiters already went ahead as if it succeeded",
                        c.describe_fence(job.fence.as_ref().expect("engine jobs have fences"))
                    );
                    c.record(Finding {
                        rule: "C12",
                        check: Check::ErrorAfterSignal,
                        message: msg,
                        line: Some(job.line),
                        jobs: vec![cj],
                        buffer: None,
                        count: 1,
                    });
                }
                for f in &t.timed_out {
                    if timings.iter().any(|o| {
                        o.hung && self.jobs[o.job].fence.as_ref().is_some_and(|x| x.ptr_eq(f))
                    }) {
                        continue;
                    }
                    let msg = format!(
                        "{} did not signal within {} ms; waited on by: {}",
                        c.describe_fence(f),
                        (self.fence_timeout * 4).as_millis(),
                        desc_waiters(c, &self.jobs, &self.host_waits, f)
                    );
                    let jobs = c.job_of(f).into_iter().collect();
                    c.record(Finding {
                        rule: "C10",
                        check: Check::NeverSignalled,
                        message: msg,
                        line: Some(job.line),
                        jobs,
                        buffer: None,
                        count: 1,
                    });
                }
            }
            for (f, line) in &self.host_timeouts {
                let msg = format!(
                    "{} did not signal within {} ms; waited on by: {}",
                    c.describe_fence(f),
                    (self.fence_timeout * 4).as_millis(),
                    desc_waiters(c, &self.jobs, &self.host_waits, f)
                );
                let jobs = c.job_of(f).into_iter().collect();
                c.record(Finding {
                    rule: "C10",
                    check: Check::NeverSignalled,
                    message: msg,
                    line: Some(*line),
                    jobs,
                    buffer: None,
                    count: 1,
                });
            }
            let mut per_engine: HashMap<String, (u64, bool)> = HashMap::new();
            for v in &violations {
                let (thread, lock) = match v {
                    signalling::Violation::WaitInSignalling { thread } => (thread, false),
                    signalling::Violation::ResvLockInSignalling { thread } => (thread, true),
                };
                let name = thread
                    .as_deref()
                    .and_then(|t| t.rsplit('/').next())
                    .unwrap_or("?")
                    .to_owned();
                let e = per_engine.entry(name).or_insert((0, false));
                e.0 += 1;
                e.1 |= lock;
            }
            let mut names: Vec<_> = per_engine.into_iter().collect();
            names.sort();
            for (engine, (count, lock)) in names {
                // The job that misbehaved, else the engine's first job.
                let track = self
                    .sc
                    .engines
                    .iter()
                    .position(|e| e.name == engine)
                    .map(|i| i + 1);
                let culprit = timings
                    .iter()
                    .find(|t| t.waited_in_section && Some(self.jobs[t.job].track) == track)
                    .map(|t| t.job)
                    .or_else(|| self.jobs.iter().position(|j| Some(j.track) == track));
                let line = culprit.map(|j| self.jobs[j].line);
                let jobs: Vec<JobId> = culprit
                    .and_then(|j| self.jobs[j].checker_job)
                    .into_iter()
                    .collect();
                c.record(Finding {
                    rule: "C10",
                    check: Check::WaitInSignalling,
                    message: format!(
                        "engine `{engine}` {} inside a fence signalling critical section: whoever waits for its fence while holding what that wait needs deadlocks",
                        if lock { "took a reservation lock" } else { "waited for a fence" }
                    ),
                    line,
                    jobs,
                    buffer: None,
                    count,
                });
            }
        }

        // The timeline.
        let mut tl = Timeline {
            tracks: std::iter::once("cpu (host)".to_owned())
                .chain(self.sc.engines.iter().map(|e| e.name.clone()))
                .collect(),
            ..Default::default()
        };
        let mut fence_slice: HashMap<usize, usize> = HashMap::new();
        let mut checker_slice: HashMap<usize, usize> = HashMap::new();
        for (i, j) in self.jobs.iter().enumerate() {
            let (start, end) = j.timing.unwrap_or((j.submit_us, j.submit_us));
            let mut args = vec![("line".to_owned(), j.line.to_string())];
            if let Some(f) = &j.fence {
                args.push(("fence".into(), format!("{}:{}", f.context(), f.seqno())));
                args.push(("status".into(), f.status().to_string()));
                fence_slice.insert(f.id(), i);
            }
            if j.track != 0 {
                args.push((
                    "queued_us".into(),
                    start.saturating_sub(j.submit_us).to_string(),
                ));
            }
            if let Some(cj) = j.checker_job {
                checker_slice.insert(cj.0, i);
            }
            tl.slices.push(Slice {
                track: j.track,
                name: j.name.clone(),
                start_us: start,
                dur_us: end.saturating_sub(start),
                args,
            });
        }
        for (i, j) in self.jobs.iter().enumerate() {
            for d in &j.deps {
                if let Some(&from) = fence_slice.get(&d.id()) {
                    tl.flows.push((from, i));
                }
            }
        }
        let findings = self
            .checker
            .as_ref()
            .map(|c| c.findings().to_vec())
            .unwrap_or_default();
        for (i, f) in findings.iter().enumerate() {
            let slice = f.jobs.last().and_then(|j| checker_slice.get(&j.0)).copied();
            let (track, ts) = match slice {
                Some(s) => (tl.slices[s].track, tl.slices[s].start_us),
                None => (0, 0),
            };
            tl.markers.push(Marker {
                track,
                ts_us: ts,
                finding: i,
            });
        }
        RunResult {
            scenario: self.sc.name.clone(),
            file: self.sc.file.clone(),
            description: self.sc.description.clone(),
            findings,
            timeline: tl,
            jobs: engine_jobs,
            elapsed: self.epoch.elapsed(),
            checked: self.opts.check,
            errors: self.errors,
        }
    }
}

fn dedup(v: &mut Vec<Fence>) {
    let mut i = 0;
    while i < v.len() {
        if v[..i].iter().any(|f| engine::same(f, &v[i])) {
            v.remove(i);
        } else {
            i += 1;
        }
    }
}
