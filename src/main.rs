//! The `airlock` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser as _;

use airlock::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any thread starts: seal the process when privacy is on.
    let ledger = cli::ledger_file(cli.data_dir.as_deref()).ok();
    let seal = airlock::privacy::init(cli::privacy_for_run(&cli), ledger);
    if let airlock::privacy::SealState::NotEnforced(reason) = &seal {
        eprintln!("airlock: privacy is on but NOT enforced on this system: {reason}");
    }
    let window = |open: Option<std::path::PathBuf>| {
        cli::flights_dir(cli.data_dir.as_deref()).and_then(|flights_dir| {
            let demo = cli.demo && open.is_none();
            let options = airlock::app::StartOptions {
                connect_to: cli.port.clone().map(|port| (port, cli.baud)),
                flights_dir,
                tiles: cli.tiles.clone(),
                privacy_config: cli::privacy_config_file().ok(),
                settings_file: cli::window_settings_file().ok(),
                signing: cli::signing_setup()?,
                seal: cli::seal_key(),
                open,
                inject: None,
                plots: cli.plots.clone(),
            };
            airlock::app::run_window(options, demo)
        })
    };
    let result = match &cli.command {
        // A file that cannot be reviewed is an error here, with a non-zero exit, before any
        // window opens.
        Some(cli::Command::Open { path }) => airlock::review::open(path)
            .and_then(|opened| opened.check_frames())
            .map_err(anyhow::Error::from)
            .and_then(|()| window(Some(path.clone()))),
        Some(command) => cli::run(&cli, command),
        None => window(None),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("airlock: {}", airlock::cli::error_chain(&error));
            ExitCode::FAILURE
        }
    }
}
