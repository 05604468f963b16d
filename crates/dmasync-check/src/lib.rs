//! dmasync-check: run multi-device buffer-sharing pipelines on virtual
//! engines, see them on a timeline, and be told which rule of the dma-buf
//! contract they break and what that would cost on real hardware.
//!
//! * [`scenario`]: the TOML scenario format and its parser (errors name the
//!   file and line).
//! * [`run`]: runs a scenario on engine threads ([`engine`]) with real
//!   fences and real dma-bufs of the model's dma-buf layer ([`state`]:
//!   system-heap or movable device memory, static and dynamic attachments,
//!   moves with move_notify, sync files, CPU access), checking it as it
//!   goes.
//! * [`checker`]: the happens-before race detector (vector clocks over fence
//!   contexts) and the rule checks; usable on its own for your own code.
//! * [`rules`]: the contract rules C1 to C18.
//! * [`trace`]: the Chrome/Perfetto trace; [`report`]: the terminal report.
//! * [`builtin`]: the embedded scenarios.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod builtin;
pub mod checker;
pub mod engine;
pub mod report;
pub mod rules;
pub mod run;
pub mod scenario;
pub mod state;
pub mod trace;

pub use checker::Checker;
pub use run::{run, RunOptions, RunResult};
pub use scenario::{Scenario, ScenarioError};
