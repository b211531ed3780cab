//! `airlock params`: fetch, read, set and load a vehicle's parameters over a recorded session,
//! and compare parameter files. Every fetch is also kept in the flight's folder (owner-only)
//! with its time, so the flight says what configuration the vehicle had.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Subcommand;

use super::steps::Runner;
use super::{with_vehicle, Cli, LinkArgs};
use crate::params::files::{self, ParamFormat};
use crate::params::{self, format_value, ParamSet};
use crate::protocol::services::{Action, ServiceEvent};

/// What `airlock params` does.
#[derive(Debug, Subcommand)]
pub enum ParamsAction {
    /// Read every parameter into a file (.param, .params or .parm by the extension).
    Fetch {
        #[command(flatten)]
        link: LinkArgs,
        /// Output file (must not exist).
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// Only the classic PARAM_REQUEST_LIST, not MAVLink FTP.
        #[arg(long)]
        no_ftp: bool,
    },
    /// Read parameters by name.
    Get {
        #[command(flatten)]
        link: LinkArgs,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Set parameters: NAME VALUE [NAME VALUE...], each confirmed by the vehicle.
    Set {
        #[command(flatten)]
        link: LinkArgs,
        #[arg(required = true, value_name = "NAME VALUE")]
        pairs: Vec<String>,
    },
    /// Compare a parameter file with the vehicle and write the values that differ.
    Load {
        #[command(flatten)]
        link: LinkArgs,
        file: PathBuf,
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare two parameter files, or a file and a flight folder (its latest fetch).
    Diff { a: PathBuf, b: PathBuf },
}

/// Reads a parameter file, or the latest fetch kept in a flight folder.
pub fn read_set(path: &Path) -> anyhow::Result<ParamSet> {
    files::read_path(path)
        .map(|(_, set)| set)
        .map_err(anyhow::Error::msg)
}

/// Keeps a fetch in the flight folder: `params-<UTC time>.params` (QGroundControl's format,
/// with the types), owner-only.
fn keep(runner: &Runner<'_>, set: &ParamSet, complete: bool) -> anyhow::Result<()> {
    let Some(dir) = &runner.flight_dir else {
        return Ok(());
    };
    let name = params::kept_name(std::time::SystemTime::now(), complete);
    let text = files::write(set, ParamFormat::QGroundControl, (1, 1))?;
    crate::capture::write_private_atomic(&dir.join(name), text.as_bytes())
        .context("cannot keep the parameters in the flight folder")
}

/// Fetches every parameter; fails (after keeping what came) unless all came.
fn fetch(runner: &mut Runner<'_>, ftp: bool) -> anyhow::Result<ParamSet> {
    // Timed from the request: the vehicle is heard first.
    runner.wait_for_vehicle()?;
    let started = Instant::now();
    let (outcome, events) = runner.request_collecting(Action::FetchParams { ftp })?;
    let Some((params, total, via)) = events.into_iter().find_map(|event| match event {
        ServiceEvent::Params {
            params, total, via, ..
        } => Some((params, total, via)),
        _ => None,
    }) else {
        runner.say(&format!("fetch: {outcome}"));
        bail!("the parameters were not fetched: {outcome}");
    };
    let set: ParamSet = params.into_iter().collect();
    let complete = outcome.is_accepted();
    keep(runner, &set, complete)?;
    runner.say(&format!(
        "fetch: {} of {total} parameters by {via} in {:.1} s",
        set.len(),
        started.elapsed().as_secs_f64()
    ));
    if !complete {
        bail!("not every parameter came: {outcome}");
    }
    Ok(set)
}

/// Sets `values`; prints each confirmation; fails unless every one was confirmed.
fn set_values(runner: &mut Runner<'_>, values: Vec<(String, f64)>) -> anyhow::Result<()> {
    let (outcome, events) = runner.request_collecting(Action::SetParams { values })?;
    for event in events {
        if let ServiceEvent::ParamValue { result, .. } = event {
            match result {
                Ok(param) => runner.say(&format!(
                    "{} = {}: confirmed",
                    param.name,
                    format_value(param.value, param.kind)
                )),
                Err(words) => runner.say(&format!("{words}: NOT set")),
            }
        }
    }
    if !outcome.is_accepted() {
        bail!("not every parameter was set: {outcome}");
    }
    Ok(())
}

/// The changes `file` makes to `vehicle`, only for names the file holds; names the vehicle
/// does not have are listed apart.
fn changes(vehicle: &ParamSet, file: &ParamSet) -> (Vec<params::Change>, Vec<String>) {
    let unknown = file
        .iter()
        .filter(|p| vehicle.get(&p.name).is_none())
        .map(|p| p.name.clone())
        .collect();
    let changed = params::diff(vehicle, file)
        .into_iter()
        .filter(|change| change.old.is_some() && change.new.is_some())
        .collect();
    (changed, unknown)
}

fn show(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format_value(v, None))
}

/// A parameter session asks the vehicle for no telemetry: the transfer has the radio to itself
/// (FTP at 0 % loss: 3.0 s instead of 3.1 s), and ArduPilot keeps the stream rates a ground
/// station asks for as parameters, so a fetch would change what it fetches. (Missions keep
/// the telemetry: without it, ArduPilot SITL answered mission requests more slowly here.)
const NO_TELEMETRY: bool = false;

pub fn run(cli: &Cli, action: &ParamsAction) -> anyhow::Result<()> {
    match action {
        ParamsAction::Fetch {
            link,
            output,
            no_ftp,
        } => {
            let format = ParamFormat::of_path(output)
                .with_context(|| format!("{}: use .param, .params or .parm", output.display()))?;
            super::not_there_yet(output)?;
            let mut fetched = ParamSet::default();
            with_vehicle(cli, link, NO_TELEMETRY, |runner| {
                fetched = fetch(runner, !*no_ftp)?;
                Ok(())
            })?;
            let text = files::write(&fetched, format, (1, 1))?;
            super::write_new_file(output, text.as_bytes())
        }
        ParamsAction::Get { link, names } => with_vehicle(cli, link, NO_TELEMETRY, |runner| {
            let (outcome, events) = runner.request_collecting(Action::GetParams {
                names: names.clone(),
            })?;
            for event in events {
                if let ServiceEvent::ParamValue { result: Ok(p), .. } = event {
                    let kind = p.kind.map_or("?", |k| k.name());
                    runner.say(&format!(
                        "{} {} {kind}",
                        p.name,
                        format_value(p.value, p.kind)
                    ));
                }
            }
            if !outcome.is_accepted() {
                bail!("not every parameter was read: {outcome}");
            }
            Ok(())
        }),
        ParamsAction::Set { link, pairs } => {
            if pairs.len() % 2 != 0 {
                bail!("give NAME VALUE pairs");
            }
            let mut values = Vec::new();
            for pair in pairs.chunks(2) {
                let value: f64 = pair[1]
                    .parse()
                    .with_context(|| format!("`{}` is not a number", pair[1]))?;
                values.push((pair[0].clone(), value));
            }
            with_vehicle(cli, link, NO_TELEMETRY, |runner| set_values(runner, values))
        }
        ParamsAction::Load {
            link,
            file,
            dry_run,
        } => {
            // A file that does not read is refused before anything is sent.
            let wanted = read_set(file)?;
            with_vehicle(cli, link, NO_TELEMETRY, |runner| {
                let vehicle = fetch(runner, true)?;
                let (changed, unknown) = changes(&vehicle, &wanted);
                for name in &unknown {
                    runner.say(&format!("{name}: not on this vehicle, left out"));
                }
                for change in &changed {
                    runner.say(&format!(
                        "{}: {} -> {}",
                        change.name,
                        show(change.old),
                        show(change.new)
                    ));
                }
                runner.say(&format!(
                    "{} of {} parameters differ",
                    changed.len(),
                    wanted.len()
                ));
                if *dry_run || changed.is_empty() {
                    return Ok(());
                }
                let values = changed
                    .into_iter()
                    .filter_map(|c| Some((c.name, c.new?)))
                    .collect();
                set_values(runner, values)
            })
        }
        ParamsAction::Diff { a, b } => {
            let (old, new) = (read_set(a)?, read_set(b)?);
            let changes = params::diff(&old, &new);
            let mut stdout = std::io::stdout().lock();
            for change in &changes {
                writeln!(
                    stdout,
                    "{}: {} -> {}",
                    change.name,
                    show(change.old),
                    show(change.new)
                )?;
            }
            match changes.len() {
                1 => writeln!(stdout, "1 difference")?,
                n => writeln!(stdout, "{n} differences")?,
            }
            Ok(())
        }
    }
}
