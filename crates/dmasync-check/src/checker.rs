//! The contract checker: a happens-before race detector over fences and the
//! rule checks that need the history of a run.
//!
//! # Model
//!
//! Work happens in *jobs* on *engines* (a GPU queue, a display controller,
//! the CPU). Each engine is one fence context; its jobs run in order. A job
//! waits for *dependencies* (fences), then accesses buffers, then signals
//! its out-fence. The host (the CPU thread that submits everything) is an
//! engine too: what it waited for happens before everything it submits
//! afterwards.
//!
//! # Vector clocks
//!
//! Every job gets a vector clock with one entry per engine. A job's clock is
//! the join of its engine's previous job, the host's clock at submission and
//! the clocks of the jobs that produced its dependencies, with its own entry
//! set to its index on its engine (its *epoch*). A fence carries the clock of
//! the job that produced it. An access by job J is ordered after an access
//! by job P iff `J.clock[P.engine] >= P.epoch`: some chain of fences (or
//! in-order execution, or host waits) leads from P to J.
//!
//! Two accesses to one buffer, at least one a write, that are not ordered are
//! a race. The detector keeps, per buffer, the last write and the latest
//! read of each engine (as FastTrack does), so its cost per access is
//! bounded by the number of engines.
//!
//! # Timing does not matter
//!
//! The detector only believes in declared dependencies. A fence that had
//! happened to signal before a job was submitted orders nothing: on other
//! hardware it might not have. For the same reason the checker keeps its own
//! *logical* view of each buffer's reservation object, in which fences leave
//! only by replacement, never by signalling; implicit dependencies are
//! collected from that view.
//!
//! # Using it on your own code
//!
//! Create a [`Checker`], declare engines ([`Checker::add_engine`]) and
//! buffers, record the fences you add to reservation objects
//! ([`Checker::add_fence`]) and each job with what it waited for and what it
//! accessed ([`Checker::job`]); read [`Checker::findings`]. The checker is a
//! plain value: wrap it in a mutex to share it between threads.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use dmasync::fence::{seqno_is_later, Fence};

use crate::rules;
use crate::state::Usage;

/// Hashes fence ids (addresses): one multiplication, no SipHash.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// An engine of a [`Checker`] (an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EngineId(pub usize);

/// A buffer of a [`Checker`] (an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(pub usize);

/// A job recorded by a [`Checker`] (an index, in submission order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub usize);

/// How a job touches a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads it.
    Read,
    /// Writes it (or reads and writes).
    Write,
}

/// How an engine reaches a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// The engine's device exports the buffer.
    Exporter,
    /// A static (pinned) importer: the buffer does not move while mapped.
    Static,
    /// A dynamic importer: told of moves by move_notify, must honour fences.
    Dynamic,
    /// The CPU, through mmap and DMA_BUF_IOCTL_SYNC.
    Host,
}

/// Which implicit fences an engine's jobs take as dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Implicit sync, as a DRM scheduler job: readers wait for KERNEL and
    /// WRITE fences, writers for KERNEL, WRITE and READ; the job's fence is
    /// added with WRITE or READ usage.
    Implicit,
    /// Explicit sync (Vulkan): only explicit in-fences, plus KERNEL fences
    /// unless the buffer is pinned; the job's fence is added as BOOKKEEP.
    Explicit,
    /// A synchronous API that ignores implicit fences and adds none (V4L,
    /// atomic KMS with IN_FENCE_FD): legal for pinned importers.
    None,
}

/// What a job is, for the rules that care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Ordinary device work.
    Normal,
    /// A memory move or clear by the exporter (a KERNEL fence).
    Move,
    /// A CPU access by the host; `bracketed` when it went through
    /// DMA_BUF_IOCTL_SYNC START/END.
    Cpu {
        /// Whether the access was bracketed (and so waited).
        bracketed: bool,
    },
}

/// The dependency policy of a job: which implicit fences it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepPolicy {
    /// The engine's sync mode.
    pub mode: SyncMode,
    /// How the engine reaches the buffer.
    pub attach: Attach,
    /// Misbehaviour: leaves out KERNEL fences.
    pub skip_kernel: bool,
    /// Misbehaviour: leaves out WRITE and READ fences.
    pub skip_implicit: bool,
}

impl DepPolicy {
    /// Whether a fence of `usage` on the buffer is a dependency of an access
    /// (`write` or read) under this policy.
    pub fn takes(&self, usage: Usage, write: bool) -> bool {
        let wanted = match self.mode {
            SyncMode::Implicit => usage <= Usage::rw(write),
            SyncMode::Explicit => usage == Usage::Kernel && self.attach != Attach::Static,
            SyncMode::None => false,
        };
        wanted
            && !(self.skip_kernel && usage == Usage::Kernel)
            && !(self.skip_implicit && matches!(usage, Usage::Write | Usage::Read))
    }

    /// The fences of `entries` this policy takes for an access.
    pub fn select(&self, entries: &[(Fence, Usage)], write: bool) -> Vec<Fence> {
        entries
            .iter()
            .filter(|(_, u)| self.takes(*u, write))
            .map(|(f, _)| f.clone())
            .collect()
    }

    /// The usage the job's out-fence is added with for an access, if any.
    pub fn publishes(&self, write: bool) -> Option<Usage> {
        match self.mode {
            SyncMode::Implicit => Some(if write { Usage::Write } else { Usage::Read }),
            SyncMode::Explicit => Some(Usage::Bookkeep),
            SyncMode::None => None,
        }
    }

    fn misbehaves(&self) -> bool {
        self.skip_kernel || self.skip_implicit
    }
}

/// The kind of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// Two unordered accesses, at least one a write.
    Race,
    /// A pending fence left a reservation object, replaced by a fence that is
    /// not ordered after it.
    DroppedDependency,
    /// A buffer moved while a static importer had it pinned.
    PinnedMove,
    /// A fence's seqno is not later than its context's previous one.
    SeqnoBackwards,
    /// An error set on a fence after it signalled.
    ErrorAfterSignal,
    /// A fence wait or reservation lock inside a signalling critical section.
    WaitInSignalling,
    /// A fence that did not signal within the timeout.
    NeverSignalled,
}

impl Check {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Check::Race => "race",
            Check::DroppedDependency => "dropped dependency",
            Check::PinnedMove => "pinned buffer moved",
            Check::SeqnoBackwards => "seqno going backwards",
            Check::ErrorAfterSignal => "error set after signalling",
            Check::WaitInSignalling => "wait inside a signalling critical section",
            Check::NeverSignalled => "fence never signalled",
        }
    }
}

/// One broken rule, found once or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule id (`"C3"`), see [`rules::RULES`].
    pub rule: &'static str,
    /// What was detected.
    pub check: Check,
    /// What happened, naming the jobs, the buffer and the missing dependency.
    pub message: String,
    /// The scenario line of the step that showed it, if known.
    pub line: Option<usize>,
    /// The jobs involved: for a race, the earlier access first.
    pub jobs: Vec<JobId>,
    /// The buffer involved, if any.
    pub buffer: Option<BufferId>,
    /// How many times the same finding (same rule, check, buffer and
    /// engines) occurred; the message describes the first.
    pub count: u64,
}

/// A vector clock: one epoch per engine (missing entries are 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clock(Vec<u32>);

impl Clock {
    /// The entry for `engine`.
    pub fn get(&self, engine: EngineId) -> u32 {
        self.0.get(engine.0).copied().unwrap_or(0)
    }

    fn set(&mut self, engine: EngineId, epoch: u32) {
        if self.0.len() <= engine.0 {
            self.0.resize(engine.0 + 1, 0);
        }
        self.0[engine.0] = epoch;
    }

    /// Makes `self` the entry-wise maximum of `self` and `other`.
    pub fn join(&mut self, other: &Clock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(*b);
        }
    }
}

/// What the checker knows of one job.
#[derive(Debug, Clone)]
pub struct JobInfo {
    /// Its engine.
    pub engine: EngineId,
    /// Its index on its engine, from 1.
    pub epoch: u32,
    /// What kind of job it is.
    pub kind: JobKind,
    /// Its label.
    pub label: String,
    /// The scenario line that submitted it.
    pub line: Option<usize>,
    /// Its out-fence (none for CPU accesses).
    pub fence: Option<Fence>,
    /// The jobs whose fences it waited for (known producers only).
    pub deps: Vec<JobId>,
    /// Its vector clock.
    pub clock: Clock,
}

/// What the checker knows of one engine.
#[derive(Debug, Clone)]
pub struct EngineInfo {
    /// Its name.
    pub name: String,
    /// Its fence context (0 for the host).
    pub context: u64,
    epoch: u32,
    clock: Clock,
}

#[derive(Debug, Clone)]
struct Entry {
    fence: Fence,
    usage: Usage,
    job: Option<JobId>,
}

#[derive(Debug, Clone)]
struct Shadow {
    name: String,
    entries: Vec<Entry>,
    last_write: Option<JobId>,
    reads: Vec<JobId>,
    /// Jobs whose fences were dropped from the object unordered, with the
    /// line of the step that dropped them.
    dropped: Vec<(JobId, Option<usize>)>,
    attach: Vec<(EngineId, Attach)>,
    /// Static importers that detached (gave up their pin): the engine, its
    /// last access to the buffer then, and the line of the detach.
    released: Vec<(EngineId, Option<JobId>, Option<usize>)>,
    /// Moves done while a static importer had the buffer pinned, or while
    /// one that gave up its pin still used it.
    pinned_moves: Vec<JobId>,
}

/// A job to record; see [`Checker::job`].
#[derive(Debug, Clone)]
pub struct JobDesc<'a> {
    /// The engine it runs on.
    pub engine: EngineId,
    /// What kind of job it is.
    pub kind: JobKind,
    /// Its out-fence, if it has one.
    pub fence: Option<&'a Fence>,
    /// Every fence it waited for before touching memory.
    pub deps: &'a [Fence],
    /// The buffers it touches.
    pub accesses: &'a [(BufferId, Access)],
    /// The dependency policy it followed (for attributing races).
    pub policy: Option<DepPolicy>,
    /// A label for reports.
    pub label: &'a str,
    /// The scenario line, if any.
    pub line: Option<usize>,
}

/// The checker's state for one run. See the module documentation.
///
/// # Locking
/// None inside: methods take `&mut self`; share it behind a mutex.
#[derive(Debug)]
pub struct Checker {
    engines: Vec<EngineInfo>,
    buffers: Vec<Shadow>,
    jobs: Vec<JobInfo>,
    fence_jobs: HashMap<usize, JobId, BuildHasherDefault<AddrHasher>>,
    last_seqno: HashMap<u64, (u64, JobId)>,
    findings: Vec<Finding>,
    finding_keys: HashMap<(&'static str, Check, Option<usize>, usize, usize), usize>,
}

impl Default for Checker {
    fn default() -> Self {
        Checker::new()
    }
}

/// The host engine: the CPU thread that submits work and waits.
pub const HOST: EngineId = EngineId(0);

impl Checker {
    /// A checker with one engine, the host ([`HOST`], named `cpu`).
    pub fn new() -> Checker {
        Checker {
            engines: vec![EngineInfo {
                name: "cpu".into(),
                context: 0,
                epoch: 0,
                clock: Clock::default(),
            }],
            buffers: Vec::new(),
            jobs: Vec::new(),
            fence_jobs: HashMap::default(),
            last_seqno: HashMap::new(),
            findings: Vec::new(),
            finding_keys: HashMap::new(),
        }
    }

    /// Declares an engine with its fence context.
    pub fn add_engine(&mut self, name: &str, context: u64) -> EngineId {
        self.engines.push(EngineInfo {
            name: name.into(),
            context,
            epoch: 0,
            clock: Clock::default(),
        });
        EngineId(self.engines.len() - 1)
    }

    /// Declares a buffer.
    pub fn add_buffer(&mut self, name: &str) -> BufferId {
        self.buffers.push(Shadow {
            name: name.into(),
            entries: Vec::new(),
            last_write: None,
            reads: Vec::new(),
            dropped: Vec::new(),
            attach: Vec::new(),
            released: Vec::new(),
            pinned_moves: Vec::new(),
        });
        BufferId(self.buffers.len() - 1)
    }

    /// Records how `engine` reaches `buffer`.
    pub fn attach(&mut self, buffer: BufferId, engine: EngineId, how: Attach) {
        let b = &mut self.buffers[buffer.0];
        b.attach.retain(|(e, _)| *e != engine);
        b.attach.push((engine, how));
    }

    /// Records that `engine` detached from `buffer` (`dma_buf_detach`). A
    /// static importer's pin goes with it: a move after that is legal for
    /// the exporter, but a static importer waits for no fence, so any of
    /// its accesses not ordered before the move breaks C4
    /// ([`Checker::moved`]).
    pub fn detach(&mut self, buffer: BufferId, engine: EngineId, line: Option<usize>) {
        let b = &mut self.buffers[buffer.0];
        let Some(i) = b.attach.iter().position(|(e, _)| *e == engine) else {
            return;
        };
        let (_, how) = b.attach.remove(i);
        if how == Attach::Static {
            let jobs = &self.jobs;
            let last = b
                .reads
                .iter()
                .rev()
                .chain(b.last_write.iter())
                .find(|j| jobs[j.0].engine == engine)
                .copied();
            b.released.push((engine, last, line));
        }
    }

    fn attachment(&self, buffer: BufferId, engine: EngineId) -> Option<Attach> {
        if engine == HOST {
            return Some(Attach::Host);
        }
        self.buffers[buffer.0]
            .attach
            .iter()
            .find(|(e, _)| *e == engine)
            .map(|(_, a)| *a)
    }

    /// The engines, the host first.
    pub fn engines(&self) -> &[EngineInfo] {
        &self.engines
    }

    /// The jobs, in submission order.
    pub fn jobs(&self) -> &[JobInfo] {
        &self.jobs
    }

    /// A job.
    pub fn job_info(&self, job: JobId) -> &JobInfo {
        &self.jobs[job.0]
    }

    /// The buffer's name.
    pub fn buffer_name(&self, buffer: BufferId) -> &str {
        &self.buffers[buffer.0].name
    }

    /// The job that produced `fence`, if it was recorded.
    pub fn job_of(&self, fence: &Fence) -> Option<JobId> {
        self.fence_jobs.get(&fence.id()).copied()
    }

    /// The findings so far, in order of discovery.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The ids of the rules broken so far, sorted, without duplicates.
    pub fn broken_rules(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = self.findings.iter().map(|f| f.rule).collect();
        ids.sort_by_key(|id| id[1..].parse::<u32>().unwrap_or(u32::MAX));
        ids.dedup();
        ids
    }

    /// The logical view of `buffer`'s reservation object: every fence added
    /// and not replaced, signalled or not, with its usage.
    pub fn implicit_fences(&self, buffer: BufferId) -> Vec<(Fence, Usage)> {
        self.buffers[buffer.0]
            .entries
            .iter()
            .map(|e| (e.fence.clone(), e.usage))
            .collect()
    }

    /// Whether job `a` happens before job `b` (or is `b`).
    pub fn happens_before(&self, a: JobId, b: JobId) -> bool {
        let a = &self.jobs[a.0];
        self.jobs[b.0].clock.get(a.engine) >= a.epoch
    }

    fn covers(clock: &Clock, job: &JobInfo) -> bool {
        clock.get(job.engine) >= job.epoch
    }

    /// A short description of a job: `gpu#3 "render" (line 12)`.
    pub fn describe_job(&self, job: JobId) -> String {
        let j = &self.jobs[job.0];
        let mut s = format!(
            "{}#{} \"{}\"",
            self.engines[j.engine.0].name, j.epoch, j.label
        );
        if let Some(line) = j.line {
            s.push_str(&format!(" (line {line})"));
        }
        s
    }

    /// A short description of a fence: its producer, or its timeline and seqno.
    pub fn describe_fence(&self, fence: &Fence) -> String {
        match self.job_of(fence) {
            Some(job) => format!("the fence of {}", self.describe_job(job)),
            None => format!("fence {}:{}", fence.timeline_name(), fence.seqno()),
        }
    }

    /// Records a finding, merging it into an earlier one with the same rule,
    /// check, buffer and engines.
    pub fn record(&mut self, finding: Finding) {
        let engine = |i: usize| {
            finding
                .jobs
                .get(i)
                .map(|j| self.jobs[j.0].engine.0)
                .unwrap_or(usize::MAX)
        };
        let key = (
            finding.rule,
            finding.check,
            finding.buffer.map(|b| b.0),
            engine(0),
            engine(1),
        );
        match self.finding_keys.get(&key) {
            Some(&i) => self.findings[i].count += finding.count.max(1),
            None => {
                self.finding_keys.insert(key, self.findings.len());
                self.findings.push(Finding {
                    count: finding.count.max(1),
                    ..finding
                });
            }
        }
    }

    /// The host waited for `fences`: everything it does afterwards is
    /// ordered after their producers.
    pub fn host_wait(&mut self, fences: &[Fence]) {
        let mut clock = std::mem::take(&mut self.engines[HOST.0].clock);
        for f in fences {
            if let Some(j) = self.job_of(f) {
                clock.join(&self.jobs[j.0].clock);
            }
        }
        self.engines[HOST.0].clock = clock;
    }

    /// Checks that `fence` is later than the previous fence of its context
    /// (rule C18) and remembers it.
    pub fn observe_seqno(&mut self, fence: &Fence, job: Option<JobId>, line: Option<usize>) {
        let ctx = fence.context();
        if ctx == 0 {
            return;
        }
        if let Some(&(prev, prev_job)) = self.last_seqno.get(&ctx) {
            if !seqno_is_later(fence.seqno(), prev, fence.is_seqno64()) {
                let mut jobs = vec![prev_job];
                jobs.extend(job);
                self.record(Finding {
                    rule: "C18",
                    check: Check::SeqnoBackwards,
                    message: format!(
                        "context {} ({}) went from seqno {} to seqno {}: is_later() now orders these fences wrongly",
                        ctx,
                        fence.timeline_name(),
                        prev,
                        fence.seqno()
                    ),
                    line,
                    jobs,
                    buffer: None,
                    count: 1,
                });
            }
        }
        if let Some(job) = job {
            self.last_seqno.insert(ctx, (fence.seqno(), job));
        }
    }

    /// Records a job: computes its clock, checks its accesses for races and
    /// its fence for seqno order, and returns its id.
    pub fn job(&mut self, desc: JobDesc<'_>) -> JobId {
        let id = JobId(self.jobs.len());
        let host_clock = self.engines[HOST.0].clock.clone();
        let engine = &mut self.engines[desc.engine.0];
        let mut clock = engine.clock.clone();
        let mut deps = Vec::new();
        for f in desc.deps {
            if let Some(&j) = self.fence_jobs.get(&f.id()) {
                clock.join(&self.jobs[j.0].clock);
                deps.push(j);
            }
        }
        clock.join(&host_clock);
        let engine = &mut self.engines[desc.engine.0];
        engine.epoch += 1;
        let epoch = engine.epoch;
        clock.set(desc.engine, epoch);
        engine.clock = clock.clone();
        if desc.engine == HOST {
            // The host's own accesses are in its program order.
            self.engines[HOST.0].clock = clock.clone();
        }
        if let Some(f) = desc.fence {
            self.fence_jobs.insert(f.id(), id);
        }
        self.jobs.push(JobInfo {
            engine: desc.engine,
            epoch,
            kind: desc.kind,
            label: desc.label.to_owned(),
            line: desc.line,
            fence: desc.fence.cloned(),
            deps,
            clock,
        });
        if let Some(f) = desc.fence {
            self.observe_seqno(f, Some(id), desc.line);
        }
        let mut seen: Vec<BufferId> = Vec::with_capacity(desc.accesses.len());
        for &(buffer, _) in desc.accesses {
            if seen.contains(&buffer) {
                continue;
            }
            seen.push(buffer);
            let write = desc
                .accesses
                .iter()
                .any(|&(b, a)| b == buffer && a == Access::Write);
            self.check_access(id, buffer, write, &desc);
        }
        id
    }

    fn check_access(&mut self, id: JobId, buffer: BufferId, write: bool, desc: &JobDesc<'_>) {
        let shadow = &self.buffers[buffer.0];
        let mut earlier: Vec<JobId> = shadow.last_write.into_iter().collect();
        if write {
            earlier.extend(shadow.reads.iter().copied());
        }
        let clock = &self.jobs[id.0].clock;
        let unordered: Vec<JobId> = earlier
            .into_iter()
            .filter(|p| *p != id && !Self::covers(clock, &self.jobs[p.0]))
            .collect();
        for p in unordered {
            let finding = self.race(p, id, buffer, write, desc);
            self.record(finding);
        }
        let engine = desc.engine;
        let shadow = &mut self.buffers[buffer.0];
        if write {
            shadow.last_write = Some(id);
            shadow.reads.clear();
        } else {
            let jobs = &self.jobs;
            shadow.reads.retain(|r| jobs[r.0].engine != engine);
            shadow.reads.push(id);
        }
    }

    /// Explains a race between an earlier access by `p` and an access by `j`.
    fn race(
        &self,
        p: JobId,
        j: JobId,
        buffer: BufferId,
        write: bool,
        desc: &JobDesc<'_>,
    ) -> Finding {
        let shadow = &self.buffers[buffer.0];
        let pj = &self.jobs[p.0];
        let p_write = shadow.last_write == Some(p);
        let kinds = match (p_write, write) {
            (true, true) => "write/write",
            (true, false) => "write/read",
            _ => "read/write",
        };
        let missing = match &pj.fence {
            Some(_) => format!(
                "{} is not among its dependencies",
                self.describe_fence(pj.fence.as_ref().unwrap())
            ),
            None => "the earlier access published no fence".to_owned(),
        };
        let head = format!(
            "{} race on buffer `{}`: {} then {}, not ordered by any fence chain; {}",
            kinds,
            shadow.name,
            self.describe_job(p),
            self.describe_job(j),
            missing
        );
        let attach = self.attachment(buffer, desc.engine);
        // The cheapest fence in the logical object that would have ordered them.
        let covering = shadow
            .entries
            .iter()
            .filter(|e| {
                e.job
                    .is_some_and(|e| Self::covers(&self.jobs[e.0].clock, pj))
            })
            .min_by_key(|e| e.usage);
        let (rule, why): (&'static str, String) = if let Some((_, line)) =
            shadow.dropped.iter().find(|(d, _)| *d == p)
        {
            (
                "C6",
                format!(
                    "its fence was dropped from the reservation object{} by a fence that does not depend on it",
                    line.map(|l| format!(" at line {l}")).unwrap_or_default()
                ),
            )
        } else if desc.kind == (JobKind::Cpu { bracketed: false }) {
            (
                "C16",
                "the CPU access was not bracketed by DMA_BUF_IOCTL_SYNC, so it waited for nothing"
                    .into(),
            )
        } else if let Some((_, _, line)) = shadow
            .released
            .iter()
            .find(|(e, _, _)| desc.kind == JobKind::Move && *e == pj.engine)
        {
            (
                "C4",
                format!(
                    "static importer `{}` detached{}, giving up its pin, while its device still used the buffer; a pinned importer waits for no fence and publishes none, so the move could not wait for it",
                    self.engines[pj.engine.0].name,
                    line.map(|l| format!(" at line {l}")).unwrap_or_default()
                ),
            )
        } else if shadow.pinned_moves.contains(&p)
            || shadow.pinned_moves.contains(&j)
            || (desc.kind == JobKind::Move
                && shadow.attach.iter().any(|(_, a)| *a == Attach::Static))
        {
            (
                "C4",
                "the buffer was moved while a static importer had it pinned; pinned importers wait for no fence".into(),
            )
        } else if let Some(e) = covering {
            let by = desc.policy.map(|p| p.misbehaves()).unwrap_or(false);
            match e.usage {
                Usage::Kernel => (
                    "C3",
                    format!(
                        "{} was a KERNEL (move) fence in the reservation object and the access did not wait for it",
                        self.describe_fence(&e.fence)
                    ),
                ),
                Usage::Write | Usage::Read if attach == Some(Attach::Dynamic) => (
                    "C2",
                    format!(
                        "{} was a {} fence in the reservation object; a dynamic importer must wait for it before touching the memory",
                        self.describe_fence(&e.fence),
                        e.usage.name().to_uppercase()
                    ),
                ),
                Usage::Write | Usage::Read if by => (
                    "C1",
                    format!(
                        "{} was a {} fence in the reservation object; an implicitly synchronised engine left it out",
                        self.describe_fence(&e.fence),
                        e.usage.name().to_uppercase()
                    ),
                ),
                _ => (
                    "C15",
                    format!(
                        "{} was a {} fence, which this access does not wait for: pass it as an explicit fence or import it with IMPORT_SYNC_FILE",
                        self.describe_fence(&e.fence),
                        e.usage.name().to_uppercase()
                    ),
                ),
            }
        } else {
            (
                "C15",
                "no fence in the reservation object covers the earlier access: the two sides must be synchronised explicitly".into(),
            )
        };
        Finding {
            rule,
            check: Check::Race,
            message: format!("{head}. Cause: {why}."),
            line: desc.line,
            jobs: vec![p, j],
            buffer: Some(buffer),
            count: 1,
        }
    }

    /// Records that `fence` was added to `buffer`'s reservation object with
    /// `usage`, following `dma_resv_add_fence`'s replacement rule (a fence of
    /// the same context, later or same, of no weaker usage supersedes the
    /// first such entry). A superseded fence whose job is not ordered before
    /// the new one is a dropped dependency (C6).
    pub fn add_fence(
        &mut self,
        buffer: BufferId,
        fence: &Fence,
        usage: Usage,
        line: Option<usize>,
    ) {
        let job = self.job_of(fence);
        let slot = self.buffers[buffer.0].entries.iter().position(|e| {
            e.fence.context() == fence.context()
                && e.usage >= usage
                && fence.is_later_or_same(&e.fence)
        });
        let entry = Entry {
            fence: fence.clone(),
            usage,
            job,
        };
        match slot {
            Some(i) => {
                let old = std::mem::replace(&mut self.buffers[buffer.0].entries[i], entry);
                self.check_dropped(buffer, &old, fence, line);
            }
            None => self.buffers[buffer.0].entries.push(entry),
        }
    }

    /// Records `dma_resv_replace_fences`: every fence of `context` becomes
    /// `replacement` with `usage`. Each replaced fence not ordered before the
    /// replacement is a dropped dependency (C6).
    pub fn replace_fences(
        &mut self,
        buffer: BufferId,
        context: u64,
        replacement: &Fence,
        usage: Usage,
        line: Option<usize>,
    ) {
        let job = self.job_of(replacement);
        let mut old = Vec::new();
        let mut kept = false;
        let entries = std::mem::take(&mut self.buffers[buffer.0].entries);
        let mut new = Vec::with_capacity(entries.len());
        for e in entries {
            if e.fence.context() == context {
                old.push(e);
                if !kept {
                    kept = true;
                    new.push(Entry {
                        fence: replacement.clone(),
                        usage,
                        job,
                    });
                }
            } else {
                new.push(e);
            }
        }
        self.buffers[buffer.0].entries = new;
        for e in &old {
            self.check_dropped(buffer, e, replacement, line);
        }
    }

    fn check_dropped(&mut self, buffer: BufferId, old: &Entry, new: &Fence, line: Option<usize>) {
        let Some(old_job) = old.job else { return };
        let ordered = match self.job_of(new) {
            Some(nj) => self.happens_before(old_job, nj),
            None => false,
        };
        if ordered || old.fence.ptr_eq(new) {
            return;
        }
        self.buffers[buffer.0].dropped.push((old_job, line));
        let mut jobs = vec![old_job];
        jobs.extend(self.job_of(new));
        let msg = format!(
            "{} fence of {} was replaced in buffer `{}` by {}, which does not depend on it: whoever waits on the buffer now misses it",
            old.usage.name().to_uppercase(),
            self.describe_job(old_job),
            self.buffers[buffer.0].name,
            self.describe_fence(new)
        );
        self.record(Finding {
            rule: "C6",
            check: Check::DroppedDependency,
            message: msg,
            line,
            jobs,
            buffer: Some(buffer),
            count: 1,
        });
    }

    /// Records that `job` moved `buffer` (after it was recorded with
    /// [`Checker::job`] as a [`JobKind::Move`]). Moving a buffer that a
    /// static importer has pinned breaks C4, and so does moving it before
    /// the last access of a static importer that detached
    /// ([`Checker::detach`]) is ordered before the move.
    pub fn moved(&mut self, buffer: BufferId, job: JobId, line: Option<usize>) {
        let unfinished: Vec<(EngineId, JobId, Option<usize>)> = self.buffers[buffer.0]
            .released
            .iter()
            .filter_map(|&(e, last, at)| last.map(|l| (e, l, at)))
            .filter(|&(_, last, _)| !self.happens_before(last, job))
            .collect();
        for (engine, last, at) in unfinished {
            self.buffers[buffer.0].pinned_moves.push(job);
            let msg = format!(
                "buffer `{}` was moved by {} while {} was still using it: static importer `{}` detached{}, giving up its pin, before its device was done",
                self.buffers[buffer.0].name,
                self.describe_job(job),
                self.describe_job(last),
                self.engines[engine.0].name,
                at.map(|l| format!(" at line {l}")).unwrap_or_default()
            );
            self.record(Finding {
                rule: "C4",
                check: Check::PinnedMove,
                message: msg,
                line,
                jobs: vec![last, job],
                buffer: Some(buffer),
                count: 1,
            });
        }
        let pinned: Vec<EngineId> = self.buffers[buffer.0]
            .attach
            .iter()
            .filter(|(_, a)| *a == Attach::Static)
            .map(|(e, _)| *e)
            .collect();
        if pinned.is_empty() {
            return;
        }
        self.buffers[buffer.0].pinned_moves.push(job);
        let names: Vec<&str> = pinned
            .iter()
            .map(|e| self.engines[e.0].name.as_str())
            .collect();
        let msg = format!(
            "buffer `{}` was moved by {} while pinned by static importer{} {}",
            self.buffers[buffer.0].name,
            self.describe_job(job),
            if names.len() > 1 { "s" } else { "" },
            names.join(", ")
        );
        self.record(Finding {
            rule: "C4",
            check: Check::PinnedMove,
            message: msg,
            line,
            jobs: vec![job],
            buffer: Some(buffer),
            count: 1,
        });
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = rules::rule(self.rule).map(|r| r.title).unwrap_or("");
        write!(
            f,
            "[{} {}] {}: {}",
            self.rule,
            title,
            self.check.name(),
            self.message
        )?;
        if self.count > 1 {
            write!(f, " (x{})", self.count)?;
        }
        Ok(())
    }
}
