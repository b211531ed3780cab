//! The `airlock` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser as _;

use airlock::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(command) => cli::run(&cli, command),
        None => Err(anyhow::anyhow!(
            "the window is not built yet: use a subcommand (see --help)"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("airlock: {error:#}");
            ExitCode::FAILURE
        }
    }
}
