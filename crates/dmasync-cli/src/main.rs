//! The `dmasync` command.
//!
//! `dmasync run` runs the built-in default job: for now a demonstration of
//! fences signalling through software timelines, merged and waited for
//! across threads, with what each step observed.
//!
//! `dmasync exec -- prog args` runs an unmodified program on the virtual
//! devices and exits with its exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;

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
    /// Run the built-in job: fences signalling through timelines.
    Run {
        /// Number of points to signal on each timeline.
        #[arg(long, default_value_t = 4)]
        points: u32,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { points } => match demo::run(points, &mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("dmasync: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Exec { session, argv } => {
            let options = dmasync_exec::ExecOptions {
                argv: argv.into_iter().map(Into::into).collect(),
                session,
            };
            match dmasync_exec::exec(&options) {
                Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
                Err(e) => {
                    eprintln!("dmasync exec: {e}");
                    ExitCode::from(127)
                }
            }
        }
    }
}
