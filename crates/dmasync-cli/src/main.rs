//! The `dmasync` command.
//!
//! `dmasync run` runs the built-in default job: for now a demonstration of
//! fences signalling through software timelines, merged and waited for
//! across threads, with what each step observed.

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
    }
}
