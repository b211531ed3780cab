//! `airlock logs`: list the vehicle's onboard logs, pull them to the local disk (resuming what
//! an earlier try left), erase them. Each run is recorded as a flight, like `record`; a pulled
//! log is kept under `<data>/onboard-logs/` and listed by that flight.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Subcommand;

use super::steps::Runner;
use super::{with_vehicle, Cli, LinkArgs};
use crate::onboard::{self, OnDisk, PartFile};
use crate::protocol::services::logs::{LogEntry, LogVia};
use crate::protocol::services::{Action, Outcome, ServiceEvent};

/// What `airlock logs` does.
#[derive(Debug, Subcommand)]
pub enum LogsAction {
    /// List the vehicle's onboard logs: id, start time, size, whether already on disk.
    List {
        #[command(flatten)]
        link: LinkArgs,
        /// One JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Pull logs to the local disk: IDs, `latest` or `all`. Exit 0 only when every one is
    /// complete; an interrupted pull resumes where it stopped the next time.
    Get {
        #[command(flatten)]
        link: LinkArgs,
        #[arg(required = true, value_name = "ID|latest|all")]
        which: Vec<String>,
        /// Also copy each complete log into this folder.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// How: `messages` (LOG_DATA), `ftp` (the log's file by MAVLink FTP), or `auto`:
        /// whichever is faster on this link (measured on the first big log).
        #[arg(long, default_value = "auto")]
        via: LogVia,
    },
    /// Erase every onboard log from the vehicle (confirmed by an empty list).
    Erase {
        #[command(flatten)]
        link: LinkArgs,
    },
}

/// Link losses a pull rides out before it gives up (it resumes each time the vehicle is heard
/// again).
const MAX_RESUMES: u32 = 10;

pub fn run(cli: &Cli, action: &LogsAction) -> anyhow::Result<()> {
    let root = onboard::root_beside(&super::flights_dir(cli.data_dir.as_deref())?);
    match action {
        LogsAction::List { link, json } => with_vehicle(cli, link, false, |runner| {
            runner.flight_line_on_stderr = *json;
            let entries = list(runner)?;
            let vehicle = vehicle_key(runner);
            if *json {
                let rows: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|entry| {
                        let (on_disk, held) = match onboard::on_disk(&root, &vehicle, entry) {
                            OnDisk::Absent => ("no", 0),
                            OnDisk::Partial(held) => ("partial", held),
                            OnDisk::Complete(_) => ("yes", u64::from(entry.size)),
                        };
                        serde_json::json!({
                            "id": entry.id,
                            "time_utc": entry.time_utc,
                            "size": entry.size,
                            "on_disk": on_disk,
                            "bytes_on_disk": held,
                        })
                    })
                    .collect();
                runner.say(&serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            runner.say(&format!("{} onboard logs", entries.len()));
            for entry in &entries {
                let state = match onboard::on_disk(&root, &vehicle, entry) {
                    OnDisk::Absent => String::new(),
                    OnDisk::Partial(held) => format!("  partly on disk ({held} bytes)"),
                    OnDisk::Complete(path) => format!("  on disk: {}", path.display()),
                };
                runner.say(&format!(
                    "{:>4}  {:<23}  {:>10} B{state}",
                    entry.id,
                    entry
                        .started_words()
                        .unwrap_or_else(|| "(no time)".to_owned()),
                    entry.size
                ));
            }
            Ok(())
        }),
        LogsAction::Get {
            link,
            which,
            output,
            via,
        } => {
            if let Some(dir) = output {
                crate::capture::create_private_dir(dir)?;
            }
            with_vehicle(cli, link, false, |runner| {
                let entries = list(runner)?;
                let wanted = choose(&entries, which)?;
                let vehicle = vehicle_key(runner);
                let mut failed = Vec::new();
                for entry in wanted {
                    match pull(runner, &root, &vehicle, &entry, *via) {
                        Ok(path) => {
                            if let Some(dir) = output {
                                let name = onboard::file_name(&entry);
                                onboard::copy_out(&path, &dir.join(&name))?;
                            }
                        }
                        Err(error) => {
                            runner.say(&format!("log {}: {error:#}", entry.id));
                            failed.push(entry.id);
                        }
                    }
                }
                if !failed.is_empty() {
                    bail!("not complete: log {failed:?} (run again to resume)");
                }
                Ok(())
            })
        }
        LogsAction::Erase { link } => with_vehicle(cli, link, false, |runner| {
            let entries = list(runner)?;
            let vehicle = vehicle_key(runner);
            let not_kept = entries
                .iter()
                .filter(|entry| {
                    !matches!(
                        onboard::on_disk(&root, &vehicle, entry),
                        OnDisk::Complete(_)
                    )
                })
                .count();
            runner.say(&format!(
                "erasing {} onboard logs ({not_kept} of them not on this disk)",
                entries.len()
            ));
            let (outcome, _) = runner.request_collecting(Action::EraseLogs)?;
            runner.say(&format!("erase: {outcome}"));
            if !outcome.is_accepted() {
                bail!("the logs were not erased: {outcome}");
            }
            Ok(())
        }),
    }
}

fn vehicle_key(runner: &Runner<'_>) -> String {
    onboard::vehicle_key_of(runner.vehicle())
}

/// The vehicle's list of logs.
fn list(runner: &mut Runner<'_>) -> anyhow::Result<Vec<LogEntry>> {
    let (outcome, events) = runner.request_collecting(Action::ListLogs)?;
    let entries = events.into_iter().find_map(|event| match event {
        ServiceEvent::Logs { entries, .. } => Some(entries),
        _ => None,
    });
    match entries {
        Some(entries) if outcome.is_accepted() => Ok(entries),
        _ => bail!("the vehicle's logs were not listed: {outcome}"),
    }
}

/// The entries `which` names: ids, `latest` (the highest id), `all`.
fn choose(entries: &[LogEntry], which: &[String]) -> anyhow::Result<Vec<LogEntry>> {
    let mut chosen: Vec<LogEntry> = Vec::new();
    for word in which {
        let add: Vec<LogEntry> = match word.as_str() {
            "all" => entries.to_vec(),
            "latest" => entries
                .iter()
                .max_by_key(|e| e.id)
                .copied()
                .into_iter()
                .collect(),
            id => {
                let id: u16 = id
                    .parse()
                    .with_context(|| format!("`{id}` is not a log id, `latest` or `all`"))?;
                match entries.iter().find(|e| e.id == id) {
                    Some(entry) => vec![*entry],
                    None => bail!("the vehicle lists no log {id}"),
                }
            }
        };
        for entry in add {
            if !chosen.iter().any(|e| e.id == entry.id) {
                chosen.push(entry);
            }
        }
    }
    if chosen.is_empty() {
        bail!("the vehicle has no logs");
    }
    Ok(chosen)
}

/// Pulls one log to disk, resuming what is there and riding out link losses; its path.
fn pull(
    runner: &mut Runner<'_>,
    root: &std::path::Path,
    vehicle: &str,
    entry: &LogEntry,
    via: LogVia,
) -> anyhow::Result<PathBuf> {
    if let OnDisk::Complete(path) = onboard::on_disk(root, vehicle, entry) {
        runner.say(&format!(
            "log {}: already on disk: {}",
            entry.id,
            path.display()
        ));
        return Ok(path);
    }
    let mut part = PartFile::open(root, vehicle, entry)?;
    let at_start = part.held().held();
    if at_start > 0 {
        runner.say(&format!(
            "log {}: resuming: {at_start} of {} bytes already on disk",
            entry.id, entry.size
        ));
    }
    let started = Instant::now();
    let mut resumes = 0;
    let outcome = loop {
        let action = Action::DownloadLog {
            log_id: entry.id,
            size: entry.size,
            have: part.held().pairs().to_vec(),
            via,
        };
        let outcome = runner.request_streaming(action, &mut |event| match event {
            ServiceEvent::LogData { offset, bytes, .. } => part.write(offset, &bytes),
            _ => Ok(()),
        })?;
        part.checkpoint()?;
        match outcome {
            Outcome::LinkLost { reason } if resumes < MAX_RESUMES => {
                resumes += 1;
                runner.say(&format!(
                    "log {}: link lost ({reason}) at {} of {} bytes; resuming when the vehicle is heard again",
                    entry.id,
                    part.held().held(),
                    entry.size
                ));
                runner.wait_for_fresh_heartbeat()?;
            }
            outcome => break outcome,
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let got = part.held().held() - at_start;
    if !outcome.is_accepted() {
        part.checkpoint()?;
        bail!(
            "{outcome}; {} of {} bytes on disk",
            part.held().held(),
            entry.size
        );
    }
    let record = part.finish(runner.flight_dir.as_deref())?;
    let path = root.join(&record.file);
    runner.say(&format!(
        "log {}: {} bytes in {seconds:.1} s ({:.0} B/s), sha256 {}, {}",
        entry.id,
        entry.size,
        got as f64 / seconds.max(1e-3),
        record.sha256,
        path.display()
    ));
    Ok(path)
}
