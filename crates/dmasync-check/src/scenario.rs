//! Scenario files: engines, buffers and the steps of a buffer-sharing
//! pipeline, in TOML.
//!
//! ```toml
//! name = "example"
//! description = "a GPU renders, the display scans out"
//! fence_timeout_ms = 200      # a fence not signalled by then is reported
//! repeat = 1                  # run the step list this many times
//!
//! [[engine]]
//! name = "gpu"
//! kind = "gpu"                # gpu, display, video, camera, cpu, copy
//! sync = "implicit"           # implicit, explicit or none
//! duration_us = 500           # how long each job runs
//! misbehave = []              # see below
//!
//! [[buffer]]
//! name = "fb"
//! exporter = "gpu"
//! dynamic = true              # device memory (VRAM) that the exporter
//!                             # may move; else system-heap memory
//! importers = [{ engine = "display", attach = "static" }]
//!
//! [[step]]
//! op = "submit"               # a job on an engine
//! engine = "gpu"
//! writes = ["fb"]
//! reads = []
//! wait = []                   # explicit in-fences: names of earlier fences
//! out = "frame"               # names this job's fence
//! label = "render"
//!
//! [[step]]
//! op = "present"              # a scan-out: a job reading `buffer`
//! engine = "display"
//! buffer = "fb"
//! ```
//!
//! Other steps: `export_sync_file` (`buffer`, `access` = read/write, `out`),
//! `import_sync_file` (`buffer`, `fence`, `usage` = read/write),
//! `evict` (to system memory) or `move` (to the other placement: VRAM
//! and system memory) of a `dynamic` buffer (`buffer`, optional `engine`:
//! the track the copy is drawn on, the exporter by default or an engine of
//! kind `copy`), `detach` (`buffer`, `engine`: an importer unmaps and
//! detaches; it cannot use the buffer afterwards),
//! `cpu` (`buffer`, `access`, `bracketed` = true), `wait` (`fence`,
//! `engine` or `all = true`), `replace` (`buffer`, `context` = an engine
//! name, `fence`, `usage`: `dma_resv_replace_fences`).
//!
//! Misbehaviours, on an engine or a submit step: `skip-kernel-fences`,
//! `skip-implicit-fences`, `never-signal`, `error-after-signal`,
//! `wait-in-signalling`, `seqno-backwards`.
//!
//! Every mistake (bad TOML, an unknown key, engine, buffer or fence name, a
//! step that cannot happen) is a [`ScenarioError`] naming the file, the line
//! and what is wrong.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use dmasync::buf::device::Placement;

use crate::checker::{Attach, SyncMode};
use crate::state::Usage;

/// A mistake in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (or built-in scenario) name.
    pub file: String,
    /// The line, from 1 (0 when the file could not be read).
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ScenarioError {}

/// What kind of device an engine stands for (shown in reports and traces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// A GPU queue.
    Gpu,
    /// A display controller.
    Display,
    /// A video decoder or encoder.
    Video,
    /// A camera.
    Camera,
    /// A CPU worker.
    Cpu,
    /// A copy (DMA) engine.
    Copy,
}

/// Misbehaviours of an engine or a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Misbehave {
    /// Leaves KERNEL fences out of its implicit dependencies.
    pub skip_kernel_fences: bool,
    /// Leaves WRITE and READ fences out of its implicit dependencies.
    pub skip_implicit_fences: bool,
    /// Never signals the job's fence (until the timeout recovers it).
    pub never_signal: bool,
    /// Sets an error on the fence after signalling it.
    pub error_after_signal: bool,
    /// Waits for a fence inside the signalling critical section.
    pub wait_in_signalling: bool,
    /// Gives the job's fence a seqno lower than the previous one.
    pub seqno_backwards: bool,
}

const MISBEHAVIOURS: &str = "skip-kernel-fences, skip-implicit-fences, never-signal, error-after-signal, wait-in-signalling, seqno-backwards";

impl Misbehave {
    /// Both sets together.
    pub fn union(self, o: Misbehave) -> Misbehave {
        Misbehave {
            skip_kernel_fences: self.skip_kernel_fences || o.skip_kernel_fences,
            skip_implicit_fences: self.skip_implicit_fences || o.skip_implicit_fences,
            never_signal: self.never_signal || o.never_signal,
            error_after_signal: self.error_after_signal || o.error_after_signal,
            wait_in_signalling: self.wait_in_signalling || o.wait_in_signalling,
            seqno_backwards: self.seqno_backwards || o.seqno_backwards,
        }
    }
}

/// A virtual engine.
#[derive(Debug, Clone)]
pub struct EngineSpec {
    /// Its name.
    pub name: String,
    /// What device it stands for.
    pub kind: EngineKind,
    /// How it synchronises.
    pub sync: SyncMode,
    /// How long each of its jobs runs.
    pub duration: Duration,
    /// Misbehaviours of all its jobs.
    pub misbehave: Misbehave,
    /// Where it is declared.
    pub line: usize,
}

/// A shared buffer.
#[derive(Debug, Clone)]
pub struct BufferSpec {
    /// Its name.
    pub name: String,
    /// The engine whose device exports it.
    pub exporter: usize,
    /// Whether the exporter may move it.
    pub dynamic: bool,
    /// The importing engines and how they attach.
    pub importers: Vec<(usize, Attach)>,
    /// Where it is declared.
    pub line: usize,
}

impl BufferSpec {
    /// How `engine` reaches this buffer, if it does.
    pub fn attachment(&self, engine: usize) -> Option<Attach> {
        if engine == self.exporter {
            return Some(Attach::Exporter);
        }
        self.importers
            .iter()
            .find(|(e, _)| *e == engine)
            .map(|(_, a)| *a)
    }
}

/// What a `wait` step waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitTarget {
    /// A named fence.
    Fence(usize),
    /// The last job of an engine.
    Engine(usize),
    /// Every job submitted so far.
    All,
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// A job on an engine (also `present`, a job reading one buffer).
    Submit {
        /// The engine.
        engine: usize,
        /// Buffers read.
        reads: Vec<usize>,
        /// Buffers written.
        writes: Vec<usize>,
        /// Explicit in-fences (fence names).
        wait: Vec<usize>,
        /// The name given to the job's fence.
        out: Option<usize>,
        /// The job's label.
        label: String,
        /// Overrides the engine's job duration.
        duration: Option<Duration>,
        /// Misbehaviours of this job.
        misbehave: Misbehave,
    },
    /// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`.
    ExportSyncFile {
        /// The buffer.
        buffer: usize,
        /// Export for a writer (every implicit fence) or a reader (writers).
        write: bool,
        /// The fence name given to the sync file.
        out: usize,
    },
    /// `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`.
    ImportSyncFile {
        /// The buffer.
        buffer: usize,
        /// The fence name.
        fence: usize,
        /// WRITE or READ.
        usage: Usage,
    },
    /// The exporter moves the buffer: a KERNEL fence and move_notify.
    Evict {
        /// The buffer.
        buffer: usize,
        /// The engine whose track shows the copy.
        engine: usize,
        /// Where to (`evict`: system memory), or `None` for the other
        /// placement (`move`).
        to: Option<Placement>,
    },
    /// An importer unmaps and detaches (`dma_buf_detach`).
    Detach {
        /// The buffer.
        buffer: usize,
        /// The importing engine.
        engine: usize,
    },
    /// CPU access through mmap.
    Cpu {
        /// The buffer.
        buffer: usize,
        /// A write (else a read).
        write: bool,
        /// Bracketed by DMA_BUF_IOCTL_SYNC (and so waiting).
        bracketed: bool,
    },
    /// The host waits.
    Wait(WaitTarget),
    /// `dma_resv_replace_fences`.
    Replace {
        /// The buffer.
        buffer: usize,
        /// The engine whose context is replaced.
        context: usize,
        /// The replacement (a fence name).
        fence: usize,
        /// Its usage.
        usage: Usage,
    },
}

/// A step and the line it is on.
#[derive(Debug, Clone)]
pub struct Step {
    /// The line of its `[[step]]` table.
    pub line: usize,
    /// What it does.
    pub kind: StepKind,
}

/// A parsed, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// The file it came from (or `builtin:NAME`).
    pub file: String,
    /// What it shows.
    pub description: String,
    /// How long a fence may stay pending before it is reported.
    pub fence_timeout: Duration,
    /// How many times the step list runs.
    pub repeat: u64,
    /// The engines.
    pub engines: Vec<EngineSpec>,
    /// The buffers.
    pub buffers: Vec<BufferSpec>,
    /// The fence names, indexed by the steps.
    pub fence_names: Vec<String>,
    /// The steps.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The number of jobs one run submits (submit, present, evict).
    pub fn job_count(&self) -> u64 {
        let per = self
            .steps
            .iter()
            .filter(|s| matches!(s.kind, StepKind::Submit { .. } | StepKind::Evict { .. }))
            .count() as u64;
        per * self.repeat
    }

    /// Reads and parses a scenario file.
    ///
    /// # Errors
    /// A [`ScenarioError`] naming the file and, for mistakes in it, the line.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the file: {e}"),
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.clone());
        Scenario::parse(&src, &file, &stem)
    }

    /// Parses scenario text; `file` names it in errors, `default_name` is
    /// used when it has no `name`.
    ///
    /// # Errors
    /// A [`ScenarioError`] with the line and column of the mistake.
    pub fn parse(src: &str, file: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
        let p = Parser { src, file };
        let raw: RawScenario = toml::from_str(src).map_err(|e| {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            let msg: Vec<&str> = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            p.err(at, msg.join("; "))
        })?;
        p.resolve(raw, default_name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    fence_timeout_ms: Option<Spanned<u64>>,
    repeat: Option<Spanned<u64>>,
    #[serde(default)]
    engine: Vec<Spanned<RawEngine>>,
    #[serde(default)]
    buffer: Vec<Spanned<RawBuffer>>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    name: Spanned<String>,
    kind: Option<Spanned<String>>,
    sync: Option<Spanned<String>>,
    duration_us: Option<u64>,
    #[serde(default)]
    misbehave: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuffer {
    name: Spanned<String>,
    exporter: Spanned<String>,
    #[serde(default)]
    dynamic: bool,
    #[serde(default)]
    importers: Vec<Spanned<RawImporter>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImporter {
    engine: Spanned<String>,
    attach: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    op: Spanned<String>,
    engine: Option<Spanned<String>>,
    buffer: Option<Spanned<String>>,
    reads: Option<Vec<Spanned<String>>>,
    writes: Option<Vec<Spanned<String>>>,
    wait: Option<Vec<Spanned<String>>>,
    out: Option<Spanned<String>>,
    label: Option<Spanned<String>>,
    duration_us: Option<Spanned<u64>>,
    misbehave: Option<Vec<Spanned<String>>>,
    fence: Option<Spanned<String>>,
    usage: Option<Spanned<String>>,
    access: Option<Spanned<String>>,
    bracketed: Option<Spanned<bool>>,
    all: Option<Spanned<bool>>,
    context: Option<Spanned<String>>,
}

struct Parser<'a> {
    src: &'a str,
    file: &'a str,
}

impl Parser<'_> {
    fn err(&self, offset: usize, message: String) -> ScenarioError {
        let offset = offset.min(self.src.len());
        let before = &self.src[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        ScenarioError {
            file: self.file.to_owned(),
            line,
            column,
            message,
        }
    }

    fn line(&self, offset: usize) -> usize {
        self.src[..offset.min(self.src.len())].matches('\n').count() + 1
    }

    fn at<T>(&self, s: &Spanned<T>, message: String) -> ScenarioError {
        self.err(s.span().start, message)
    }

    fn engine(
        &self,
        engines: &[EngineSpec],
        name: &Spanned<String>,
    ) -> Result<usize, ScenarioError> {
        engines
            .iter()
            .position(|e| e.name == *name.get_ref())
            .ok_or_else(|| {
                let known: Vec<&str> = engines.iter().map(|e| e.name.as_str()).collect();
                self.at(
                    name,
                    format!(
                        "unknown engine `{}` (engines: {})",
                        name.get_ref(),
                        known.join(", ")
                    ),
                )
            })
    }

    fn buffer(
        &self,
        buffers: &[BufferSpec],
        name: &Spanned<String>,
    ) -> Result<usize, ScenarioError> {
        buffers
            .iter()
            .position(|b| b.name == *name.get_ref())
            .ok_or_else(|| {
                let known: Vec<&str> = buffers.iter().map(|b| b.name.as_str()).collect();
                self.at(
                    name,
                    format!(
                        "unknown buffer `{}` (buffers: {})",
                        name.get_ref(),
                        known.join(", ")
                    ),
                )
            })
    }

    fn misbehave(&self, list: &[Spanned<String>]) -> Result<Misbehave, ScenarioError> {
        let mut m = Misbehave::default();
        for item in list {
            match item.get_ref().as_str() {
                "skip-kernel-fences" => m.skip_kernel_fences = true,
                "skip-implicit-fences" => m.skip_implicit_fences = true,
                "never-signal" => m.never_signal = true,
                "error-after-signal" => m.error_after_signal = true,
                "wait-in-signalling" => m.wait_in_signalling = true,
                "seqno-backwards" => m.seqno_backwards = true,
                other => {
                    return Err(self.at(
                        item,
                        format!(
                            "unknown misbehaviour `{other}` (expected one of: {MISBEHAVIOURS})"
                        ),
                    ))
                }
            }
        }
        Ok(m)
    }

    fn resolve(&self, raw: RawScenario, default_name: &str) -> Result<Scenario, ScenarioError> {
        let mut engines: Vec<EngineSpec> = Vec::new();
        for e in &raw.engine {
            let span = e.span();
            let e = e.get_ref();
            if engines.iter().any(|x| x.name == *e.name.get_ref()) {
                return Err(self.at(
                    &e.name,
                    format!("engine `{}` is declared twice", e.name.get_ref()),
                ));
            }
            if e.name.get_ref().is_empty() {
                return Err(self.at(&e.name, "an engine name cannot be empty".into()));
            }
            let kind = match e.kind.as_ref().map(|k| k.get_ref().as_str()) {
                None | Some("gpu") => EngineKind::Gpu,
                Some("display") => EngineKind::Display,
                Some("video") => EngineKind::Video,
                Some("camera") => EngineKind::Camera,
                Some("cpu") => EngineKind::Cpu,
                Some("copy") => EngineKind::Copy,
                Some(other) => {
                    return Err(self.at(
                        e.kind.as_ref().unwrap(),
                        format!("unknown engine kind `{other}` (expected gpu, display, video, camera, cpu or copy)"),
                    ))
                }
            };
            let sync = match e.sync.as_ref().map(|k| k.get_ref().as_str()) {
                None | Some("implicit") => SyncMode::Implicit,
                Some("explicit") => SyncMode::Explicit,
                Some("none") => SyncMode::None,
                Some(other) => {
                    return Err(self.at(
                        e.sync.as_ref().unwrap(),
                        format!(
                            "unknown sync mode `{other}` (expected implicit, explicit or none)"
                        ),
                    ))
                }
            };
            engines.push(EngineSpec {
                name: e.name.get_ref().clone(),
                kind,
                sync,
                duration: Duration::from_micros(e.duration_us.unwrap_or(200)),
                misbehave: self.misbehave(&e.misbehave)?,
                line: self.line(span.start),
            });
        }
        if engines.is_empty() {
            return Err(self.err(
                0,
                "the scenario declares no engine (add an [[engine]] table)".into(),
            ));
        }

        let mut buffers: Vec<BufferSpec> = Vec::new();
        for b in &raw.buffer {
            let span = b.span();
            let b = b.get_ref();
            if buffers.iter().any(|x| x.name == *b.name.get_ref()) {
                return Err(self.at(
                    &b.name,
                    format!("buffer `{}` is declared twice", b.name.get_ref()),
                ));
            }
            let exporter = self.engine(&engines, &b.exporter)?;
            let mut importers: Vec<(usize, Attach)> = Vec::new();
            for imp in &b.importers {
                let i = imp.get_ref();
                let engine = self.engine(&engines, &i.engine)?;
                if engine == exporter || importers.iter().any(|(e, _)| *e == engine) {
                    return Err(self.at(
                        &i.engine,
                        format!(
                            "engine `{}` already has an attachment to buffer `{}`",
                            i.engine.get_ref(),
                            b.name.get_ref()
                        ),
                    ));
                }
                let attach = match i.attach.as_ref().map(|a| a.get_ref().as_str()) {
                    None | Some("static") => Attach::Static,
                    Some("dynamic") => Attach::Dynamic,
                    Some(other) => {
                        return Err(self.at(
                            i.attach.as_ref().unwrap(),
                            format!("unknown attachment `{other}` (expected static or dynamic)"),
                        ))
                    }
                };
                importers.push((engine, attach));
            }
            buffers.push(BufferSpec {
                name: b.name.get_ref().clone(),
                exporter,
                dynamic: b.dynamic,
                importers,
                line: self.line(span.start),
            });
        }

        let mut names: Vec<String> = Vec::new();
        let mut detached: Vec<(usize, usize)> = Vec::new();
        let mut steps = Vec::new();
        for s in &raw.step {
            let start = s.span().start;
            steps.push(Step {
                line: self.line(start),
                kind: self.step(
                    s.get_ref(),
                    start,
                    &engines,
                    &buffers,
                    &mut names,
                    &mut detached,
                )?,
            });
        }

        let fence_timeout = raw
            .fence_timeout_ms
            .as_ref()
            .map(|t| *t.get_ref())
            .unwrap_or(200);
        if fence_timeout == 0 {
            return Err(self.at(
                raw.fence_timeout_ms.as_ref().unwrap(),
                "fence_timeout_ms must be at least 1".into(),
            ));
        }
        let repeat = raw.repeat.as_ref().map(|t| *t.get_ref()).unwrap_or(1);
        if repeat == 0 {
            return Err(self.at(
                raw.repeat.as_ref().unwrap(),
                "repeat must be at least 1".into(),
            ));
        }
        Ok(Scenario {
            name: raw.name.unwrap_or_else(|| default_name.to_owned()),
            file: self.file.to_owned(),
            description: raw.description.unwrap_or_default(),
            fence_timeout: Duration::from_millis(fence_timeout),
            repeat,
            engines,
            buffers,
            fence_names: names,
            steps,
        })
    }

    fn step(
        &self,
        s: &RawStep,
        start: usize,
        engines: &[EngineSpec],
        buffers: &[BufferSpec],
        names: &mut Vec<String>,
        detached: &mut Vec<(usize, usize)>,
    ) -> Result<StepKind, ScenarioError> {
        let op = s.op.get_ref().as_str();
        // Which keys each op accepts.
        let allowed: &[&str] = match op {
            "submit" => &["engine", "reads", "writes", "wait", "out", "label", "duration_us", "misbehave"],
            "present" => &["engine", "buffer", "wait", "out", "label", "duration_us", "misbehave"],
            "export_sync_file" => &["buffer", "access", "out"],
            "import_sync_file" => &["buffer", "fence", "usage"],
            "evict" | "move" => &["buffer", "engine"],
            "detach" => &["buffer", "engine"],
            "cpu" => &["buffer", "access", "bracketed"],
            "wait" => &["fence", "engine", "all"],
            "replace" => &["buffer", "context", "fence", "usage"],
            other => {
                return Err(self.at(
                    &s.op,
                    format!("unknown step `{other}` (expected submit, present, export_sync_file, import_sync_file, evict, move, detach, cpu, wait or replace)"),
                ))
            }
        };
        let present: [(&str, Option<usize>); 15] = [
            ("engine", s.engine.as_ref().map(|v| v.span().start)),
            ("buffer", s.buffer.as_ref().map(|v| v.span().start)),
            ("reads", s.reads.as_ref().map(|_| start)),
            ("writes", s.writes.as_ref().map(|_| start)),
            ("wait", s.wait.as_ref().map(|_| start)),
            ("out", s.out.as_ref().map(|v| v.span().start)),
            ("label", s.label.as_ref().map(|v| v.span().start)),
            (
                "duration_us",
                s.duration_us.as_ref().map(|v| v.span().start),
            ),
            ("misbehave", s.misbehave.as_ref().map(|_| start)),
            ("fence", s.fence.as_ref().map(|v| v.span().start)),
            ("usage", s.usage.as_ref().map(|v| v.span().start)),
            ("access", s.access.as_ref().map(|v| v.span().start)),
            ("bracketed", s.bracketed.as_ref().map(|v| v.span().start)),
            ("all", s.all.as_ref().map(|v| v.span().start)),
            ("context", s.context.as_ref().map(|v| v.span().start)),
        ];
        for (key, at) in present {
            if let Some(at) = at {
                if !allowed.contains(&key) {
                    return Err(self.err(
                        at,
                        format!(
                            "a `{op}` step takes no `{key}` (it takes: {})",
                            allowed.join(", ")
                        ),
                    ));
                }
            }
        }
        let need =
            |v: &Option<Spanned<String>>, key: &str| -> Result<Spanned<String>, ScenarioError> {
                v.clone()
                    .ok_or_else(|| self.err(start, format!("a `{op}` step needs `{key}`")))
            };
        let lookup_fence = |n: &Spanned<String>,
                            names: &Vec<String>|
         -> Result<usize, ScenarioError> {
            names.iter().position(|x| x == n.get_ref()).ok_or_else(|| {
                self.at(
                    n,
                    format!(
                        "fence `{}` is not produced by any earlier step (name it with `out` on a submit, present or export_sync_file step before this one)",
                        n.get_ref()
                    ),
                )
            })
        };
        let define = |n: &Spanned<String>, names: &mut Vec<String>| -> usize {
            match names.iter().position(|x| x == n.get_ref()) {
                Some(i) => i,
                None => {
                    names.push(n.get_ref().clone());
                    names.len() - 1
                }
            }
        };
        let usage = |v: &Option<Spanned<String>>| -> Result<Usage, ScenarioError> {
            match v.as_ref().map(|u| u.get_ref().as_str()) {
                None | Some("write") => Ok(Usage::Write),
                Some("read") => Ok(Usage::Read),
                Some("kernel") => Ok(Usage::Kernel),
                Some("bookkeep") => Ok(Usage::Bookkeep),
                Some(other) => Err(self.at(
                    v.as_ref().unwrap(),
                    format!("unknown usage `{other}` (expected kernel, write, read or bookkeep)"),
                )),
            }
        };
        let access = |v: &Option<Spanned<String>>| -> Result<bool, ScenarioError> {
            match v.as_ref().map(|u| u.get_ref().as_str()) {
                None | Some("read") => Ok(false),
                Some("write") => Ok(true),
                Some(other) => Err(self.at(
                    v.as_ref().unwrap(),
                    format!("unknown access `{other}` (expected read or write)"),
                )),
            }
        };
        let attached = |engine: usize,
                        buffer: usize,
                        at: &Spanned<String>|
         -> Result<(), ScenarioError> {
            if detached.contains(&(buffer, engine)) {
                return Err(self.at(
                    at,
                    format!(
                        "engine `{}` cannot access buffer `{}`: it detached from it in an earlier step",
                        engines[engine].name, buffers[buffer].name
                    ),
                ));
            }
            if buffers[buffer].attachment(engine).is_none() {
                return Err(self.at(
                    at,
                    format!(
                        "engine `{}` cannot access buffer `{}`: it neither exports nor imports it (add it to the buffer's importers)",
                        engines[engine].name, buffers[buffer].name
                    ),
                ));
            }
            Ok(())
        };

        Ok(match op {
            "submit" | "present" => {
                let engine_name = need(&s.engine, "engine")?;
                let engine = self.engine(engines, &engine_name)?;
                let mut reads = Vec::new();
                let mut writes = Vec::new();
                if op == "present" {
                    let b = need(&s.buffer, "buffer")?;
                    let id = self.buffer(buffers, &b)?;
                    attached(engine, id, &b)?;
                    reads.push(id);
                }
                for b in s.reads.iter().flatten() {
                    let id = self.buffer(buffers, b)?;
                    attached(engine, id, b)?;
                    reads.push(id);
                }
                for b in s.writes.iter().flatten() {
                    let id = self.buffer(buffers, b)?;
                    attached(engine, id, b)?;
                    writes.push(id);
                }
                let mut wait = Vec::new();
                for n in s.wait.iter().flatten() {
                    wait.push(lookup_fence(n, names)?);
                }
                let misbehave = self.misbehave(s.misbehave.as_deref().unwrap_or(&[]))?;
                let out = s.out.as_ref().map(|n| define(n, names));
                let label = s
                    .label
                    .as_ref()
                    .map(|l| l.get_ref().clone())
                    .unwrap_or_else(|| {
                        if op == "present" {
                            "scan-out".into()
                        } else {
                            "job".into()
                        }
                    });
                StepKind::Submit {
                    engine,
                    reads,
                    writes,
                    wait,
                    out,
                    label,
                    duration: s
                        .duration_us
                        .as_ref()
                        .map(|d| Duration::from_micros(*d.get_ref())),
                    misbehave,
                }
            }
            "export_sync_file" => {
                let buffer = self.buffer(buffers, &need(&s.buffer, "buffer")?)?;
                let write = access(&s.access)?;
                let out = define(&need(&s.out, "out")?, names);
                StepKind::ExportSyncFile { buffer, write, out }
            }
            "import_sync_file" => {
                let buffer = self.buffer(buffers, &need(&s.buffer, "buffer")?)?;
                let fence = lookup_fence(&need(&s.fence, "fence")?, names)?;
                let u = usage(&s.usage)?;
                if !matches!(u, Usage::Write | Usage::Read) {
                    return Err(self.at(
                        s.usage.as_ref().unwrap(),
                        "IMPORT_SYNC_FILE adds a fence with read or write usage only".into(),
                    ));
                }
                StepKind::ImportSyncFile {
                    buffer,
                    fence,
                    usage: u,
                }
            }
            "evict" | "move" => {
                let b = need(&s.buffer, "buffer")?;
                let buffer = self.buffer(buffers, &b)?;
                if !buffers[buffer].dynamic {
                    return Err(self.at(
                        &b,
                        format!(
                            "buffer `{}` cannot move: its exporter is not dynamic (set `dynamic = true` on the buffer)",
                            buffers[buffer].name
                        ),
                    ));
                }
                let engine = match &s.engine {
                    Some(e) => {
                        let id = self.engine(engines, e)?;
                        if id != buffers[buffer].exporter && engines[id].kind != EngineKind::Copy {
                            return Err(self.at(
                                e,
                                format!(
                                    "engine `{}` cannot move buffer `{}`: only its exporter `{}` or a copy engine can",
                                    engines[id].name, buffers[buffer].name, engines[buffers[buffer].exporter].name
                                ),
                            ));
                        }
                        id
                    }
                    None => buffers[buffer].exporter,
                };
                StepKind::Evict {
                    buffer,
                    engine,
                    to: (op == "evict").then_some(Placement::System),
                }
            }
            "detach" => {
                let b = need(&s.buffer, "buffer")?;
                let buffer = self.buffer(buffers, &b)?;
                let e = need(&s.engine, "engine")?;
                let engine = self.engine(engines, &e)?;
                if !buffers[buffer].importers.iter().any(|(i, _)| *i == engine) {
                    return Err(self.at(
                        &e,
                        format!(
                            "engine `{}` does not import buffer `{}`: only importers detach",
                            engines[engine].name, buffers[buffer].name
                        ),
                    ));
                }
                if detached.contains(&(buffer, engine)) {
                    return Err(self.at(
                        &e,
                        format!(
                            "engine `{}` already detached from buffer `{}`",
                            engines[engine].name, buffers[buffer].name
                        ),
                    ));
                }
                detached.push((buffer, engine));
                StepKind::Detach { buffer, engine }
            }
            "cpu" => {
                let buffer = self.buffer(buffers, &need(&s.buffer, "buffer")?)?;
                StepKind::Cpu {
                    buffer,
                    write: access(&s.access)?,
                    bracketed: s.bracketed.as_ref().map(|b| *b.get_ref()).unwrap_or(true),
                }
            }
            "wait" => {
                let all = s.all.as_ref().map(|b| *b.get_ref()).unwrap_or(false);
                let given = usize::from(s.fence.is_some())
                    + usize::from(s.engine.is_some())
                    + usize::from(all);
                if given != 1 {
                    return Err(self.err(
                        start,
                        "a `wait` step needs exactly one of `fence`, `engine` or `all = true`"
                            .into(),
                    ));
                }
                if let Some(f) = &s.fence {
                    StepKind::Wait(WaitTarget::Fence(lookup_fence(f, names)?))
                } else if let Some(e) = &s.engine {
                    StepKind::Wait(WaitTarget::Engine(self.engine(engines, e)?))
                } else {
                    StepKind::Wait(WaitTarget::All)
                }
            }
            _ => {
                // "replace"
                let buffer = self.buffer(buffers, &need(&s.buffer, "buffer")?)?;
                let context = self.engine(engines, &need(&s.context, "context")?)?;
                let fence = lookup_fence(&need(&s.fence, "fence")?, names)?;
                StepKind::Replace {
                    buffer,
                    context,
                    fence,
                    usage: usage(&s.usage)?,
                }
            }
        })
    }
}
