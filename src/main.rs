//! The `airlock` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser as _;

use airlock::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(command) => cli::run(&cli, command),
        None => cli::flights_dir(cli.data_dir.as_deref()).and_then(|flights_dir| {
            let options = airlock::app::StartOptions {
                connect_to: None,
                flights_dir,
                tiles: cli.tiles.clone(),
            };
            airlock::app::run_window(options, cli.demo)
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("airlock: {error:#}");
            ExitCode::FAILURE
        }
    }
}
