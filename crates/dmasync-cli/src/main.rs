//! The `dmasync` command.
//!
//! * `dmasync run [NAME|FILE] [--list] [--trace FILE]` runs a pipeline
//!   scenario (a built-in by name, or a TOML file; the default built-in with
//!   no argument), checks it, and prints the report.
//! * `dmasync check SCENARIO [--trace FILE]` does the same and exits with
//!   status 1 when a contract rule is broken.
//! * `dmasync exec [--session NAME] -- prog args` runs an unmodified program
//!   on the virtual devices and exits with its exit code (127 if it could
//!   not be started).
//!
//! Exit status: 0 on success (for `check`: no rule broken), 1 when `check`
//! found a broken rule, 2 for a usage or scenario error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use dmasync_check::{builtin, report, run, trace, RunOptions, Scenario};

#[derive(Parser)]
#[command(
    name = "dmasync",
    version,
    about = "The Linux dma-buf implicit-synchronisation subsystem in user space"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline scenario and report the contract rules it breaks.
    Run {
        /// A built-in scenario name or a scenario file (.toml); default: the
        /// built-in `wsi`.
        scenario: Option<String>,
        /// List the built-in scenarios (a name a line, the name first).
        #[arg(long)]
        list: bool,
        /// Write a Chrome/Perfetto trace (JSON) of the run to this file.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Override the scenario's fence timeout, in milliseconds.
        #[arg(long, value_name = "MS")]
        timeout_ms: Option<u64>,
    },
    /// Check a scenario: exit status 1 if it breaks a contract rule.
    Check {
        /// A built-in scenario name or a scenario file (.toml).
        scenario: String,
        /// Write a Chrome/Perfetto trace (JSON) of the run to this file.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Override the scenario's fence timeout, in milliseconds.
        #[arg(long, value_name = "MS")]
        timeout_ms: Option<u64>,
    },
    /// Run a program, and everything it starts, on the virtual devices
    /// (/sys/kernel/debug/sync/sw_sync and sync files so far).
    Exec {
        /// Serve the program in this session: the first exec of a session
        /// serves it, later ones hand their program to it (shared objects).
        #[arg(long)]
        session: Option<String>,
        /// The program and its arguments, after `--`.
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
}

/// A built-in name, or else a file.
fn load(arg: &str) -> Result<Scenario, String> {
    let path = Path::new(arg);
    if let Some(b) = builtin::find(arg) {
        if !path.exists() {
            return b.load().map_err(|e| e.to_string());
        }
    }
    if !path.exists() && !arg.ends_with(".toml") && !arg.contains('/') {
        let names: Vec<&str> = builtin::BUILTINS.iter().map(|b| b.name).collect();
        return Err(format!(
            "no built-in scenario or file named `{arg}` (built-in: {})",
            names.join(", ")
        ));
    }
    Scenario::load(path).map_err(|e| e.to_string())
}

fn execute(arg: &str, trace_path: Option<&Path>, timeout_ms: Option<u64>) -> Result<bool, String> {
    let sc = load(arg)?;
    let opts = RunOptions {
        check: true,
        progress: std::io::stderr().is_terminal(),
        fence_timeout: timeout_ms.map(|t| Duration::from_millis(t.max(1))),
    };
    let result = run(&sc, &opts).map_err(|e| format!("cannot start the engines: {e}"))?;
    print!("{}", report::render(&result));
    if let Some(path) = trace_path {
        trace::write_trace(&result, path)
            .map_err(|e| format!("{}: cannot write the trace: {e}", path.display()))?;
        println!(
            "trace written to {} (open it in ui.perfetto.dev)",
            path.display()
        );
    }
    Ok(result.is_clean())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Exec { session, argv } => {
            let options = dmasync_exec::ExecOptions {
                argv: argv.into_iter().map(Into::into).collect(),
                session,
            };
            return match dmasync_exec::exec(&options) {
                Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
                Err(e) => {
                    eprintln!("dmasync exec: {e}");
                    ExitCode::from(127)
                }
            };
        }
        Command::Run {
            scenario,
            list,
            trace,
            timeout_ms,
        } => {
            if list {
                let mut out = std::io::stdout().lock();
                for b in builtin::BUILTINS {
                    let desc = b.load().map(|s| s.description).unwrap_or_default();
                    let default = if b.name == builtin::DEFAULT {
                        " (default)"
                    } else {
                        ""
                    };
                    let _ = writeln!(out, "{}\t{desc}{default}", b.name);
                }
                return ExitCode::SUCCESS;
            }
            let name = scenario.unwrap_or_else(|| builtin::DEFAULT.to_owned());
            execute(&name, trace.as_deref(), timeout_ms).map(|_| ExitCode::SUCCESS)
        }
        Command::Check {
            scenario,
            trace,
            timeout_ms,
        } => execute(&scenario, trace.as_deref(), timeout_ms).map(|clean| {
            if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dmasync: {e}");
            ExitCode::from(2)
        }
    }
}
