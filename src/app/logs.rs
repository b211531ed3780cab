//! The logs tab's work: the vehicle's list, downloads one after the other through the session,
//! erase. A log's bytes are written to its `.part` file by a helper thread (the UI thread never
//! waits for the disk), which completes it with its SHA-256 once every byte is there.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::review::Background;
use super::AirlockApp;
use crate::onboard::{self, PartFile};
use crate::protocol::services::logs::{LogEntry, LogVia};
use crate::protocol::services::{Action, Outcome, RequestId, ServiceEvent};
use crate::ui::logs::{LogProgress, LogRow, LogsAction};

/// What the writer thread is told.
pub(super) enum Write {
    Bytes(u32, Vec<u8>),
    /// Every byte came: complete the log (and list it in this flight).
    Finish(Option<PathBuf>),
    /// The download ended without it: keep what came, say why.
    Stop(String),
}

/// The download running.
struct Job {
    request: Option<RequestId>,
    entry: LogEntry,
    writer: Option<Sender<Write>>,
    started: Instant,
    received: u64,
    held: u64,
}

/// The logs tab's requests and downloads.
#[derive(Default)]
pub(super) struct LogWork {
    list: Option<RequestId>,
    erase: Option<RequestId>,
    job: Option<Job>,
    queue: VecDeque<u16>,
}

impl AirlockApp {
    /// Where this vehicle's logs are kept.
    fn logs_root(&self) -> PathBuf {
        onboard::root_beside(&self.flights_dir)
    }

    fn vehicle_key(&self) -> String {
        onboard::vehicle_key_of(&self.view.vehicle)
    }

    pub(super) fn logs_action(&mut self, action: LogsAction) {
        match action {
            LogsAction::List => {
                self.log_work.list = self.request(Action::ListLogs);
                self.view.logs.busy = self.log_work.list.is_some();
                self.view.logs.status = Some("listing…".to_owned());
            }
            LogsAction::Download(ids) => {
                self.log_work.queue = ids.into();
                self.start_next_log();
            }
            LogsAction::Cancel => {
                self.log_work.queue.clear();
                let request = self.log_work.job.as_ref().and_then(|job| job.request);
                match (request, &self.session) {
                    (Some(id), Some(session)) => session.cancel(id),
                    // Still opening its file: it stops when it is open.
                    _ => {
                        if let Some(job) = self.log_work.job.take() {
                            if let Some(writer) = job.writer {
                                let _ = writer.send(Write::Stop("cancelled".to_owned()));
                            }
                        }
                        self.view.logs.download = None;
                    }
                }
            }
            LogsAction::Erase => {
                self.log_work.erase = self.request(Action::EraseLogs);
                self.view.logs.busy = self.log_work.erase.is_some();
                self.view.logs.status = Some("erasing…".to_owned());
            }
        }
    }

    /// Opens the next queued log's file on a helper thread; the request goes out once the
    /// ranges already on disk are known.
    fn start_next_log(&mut self) {
        let Some(id) = self.log_work.queue.pop_front() else {
            self.view.logs.download = None;
            return;
        };
        let Some(row) = self
            .view
            .logs
            .rows
            .as_ref()
            .and_then(|rows| rows.iter().find(|row| row.entry.id == id))
        else {
            return self.start_next_log();
        };
        if matches!(row.on_disk, onboard::OnDisk::Complete(_)) {
            self.view.logs.status = Some(format!("log {id}: already on disk"));
            return self.start_next_log();
        }
        let entry = row.entry;
        let root = self.logs_root();
        let vehicle = self.vehicle_key();
        let (writer, orders) = crossbeam_channel::unbounded::<Write>();
        self.log_work.job = Some(Job {
            request: None,
            entry,
            writer: Some(writer.clone()),
            started: Instant::now(),
            received: 0,
            held: 0,
        });
        self.show_progress();
        self.in_background(move |sender| {
            let mut part = match PartFile::open(&root, &vehicle, &entry) {
                Ok(part) => part,
                Err(error) => {
                    sender
                        .send(Background::LogKept(entry.id, Err(format!("{error:#}"))))
                        .ok();
                    return;
                }
            };
            sender
                .send(Background::LogOpened(entry.id, part.held().pairs().to_vec()))
                .ok();
            for order in orders {
                match order {
                    Write::Bytes(offset, bytes) => {
                        if let Err(error) = part.write(offset, &bytes) {
                            // A full disk: stop here (the app cancels the download); what was
                            // synced is named in the ranges file.
                            let held = part.checkpoint().map(|()| part.held().held());
                            let words = format!(
                                "log {}: {error:#}; {} of {} bytes on disk",
                                entry.id,
                                held.unwrap_or(0),
                                entry.size
                            );
                            sender.send(Background::LogKept(entry.id, Err(words))).ok();
                            return;
                        }
                    }
                    Write::Finish(flight) => {
                        let report = part
                                .finish(flight.as_deref())
                                .map(|record| {
                                    format!(
                                        "log {} kept ({} bytes), SHA-256 {}…",
                                        record.log_id,
                                        record.size,
                                        &record.sha256[..12.min(record.sha256.len())]
                                    )
                                })
                                .map_err(|error| format!("{error:#}"));
                        sender.send(Background::LogKept(entry.id, report)).ok();
                        return;
                    }
                    Write::Stop(why) => {
                        let kept = part.checkpoint().map(|()| part.held().held());
                        let words = match kept {
                            Ok(held) => format!(
                                "log {}: {why}; {held} of {} bytes on disk (downloading it again resumes)",
                                entry.id, entry.size
                            ),
                            Err(error) => format!("log {}: {why}; {error:#}", entry.id),
                        };
                        sender.send(Background::LogKept(entry.id, Err(words))).ok();
                        return;
                    }
                }
            }
        });
        drop(writer);
    }

    /// The helper opened the file: ask for what is missing.
    pub(super) fn log_opened(&mut self, log_id: u16, have: Vec<(u32, u32)>) {
        let Some(job) = self
            .log_work
            .job
            .as_mut()
            .filter(|job| job.entry.id == log_id)
        else {
            return;
        };
        job.held = have.iter().map(|(a, b)| u64::from(b - a)).sum();
        job.started = Instant::now();
        let action = Action::DownloadLog {
            log_id,
            size: job.entry.size,
            have,
            via: LogVia::Auto,
        };
        let request = self.request(action);
        match (request, self.log_work.job.as_mut()) {
            (Some(id), Some(job)) => job.request = Some(id),
            (None, Some(job)) => {
                if let Some(writer) = job.writer.take() {
                    let _ = writer.send(Write::Stop("not connected".to_owned()));
                }
            }
            _ => {}
        }
        self.show_progress();
    }

    /// The helper finished with a log: complete, or why not.
    pub(super) fn log_kept(&mut self, log_id: u16, report: Result<String, String>) {
        if let Some(job) = self.log_work.job.take_if(|job| job.entry.id == log_id) {
            // The writer gave up before the download ended (a full disk): stop it.
            if let (Some(id), Some(_), Some(session)) = (job.request, &job.writer, &self.session) {
                session.cancel(id);
            }
        }
        let ok = report.is_ok();
        self.view.logs.status = Some(report.unwrap_or_else(|error| error));
        self.refresh_on_disk();
        if ok {
            self.start_next_log();
        } else {
            self.log_work.queue.clear();
            self.view.logs.download = None;
        }
    }

    fn show_progress(&mut self) {
        self.view.logs.download = self.log_work.job.as_ref().map(|job| LogProgress {
            log_id: job.entry.id,
            size: job.entry.size,
            held: job.held,
            received: job.received,
            elapsed_s: job.started.elapsed().as_secs_f64(),
            queued: self.log_work.queue.len(),
        });
    }

    /// Finds out, on a helper thread (the UI thread never waits for the disk), what of each
    /// listed log is on this disk.
    fn refresh_on_disk(&mut self) {
        let root = self.logs_root();
        let vehicle = self.vehicle_key();
        let entries: Vec<LogEntry> = self
            .view
            .logs
            .rows
            .iter()
            .flatten()
            .map(|row| row.entry)
            .collect();
        self.in_background(move |sender| {
            let folder = Some(root.join(&vehicle)).filter(|dir| dir.is_dir());
            let states = entries
                .into_iter()
                .map(|entry| {
                    let state = onboard::on_disk(&root, &vehicle, &entry);
                    (entry, state)
                })
                .collect();
            sender.send(Background::LogsOnDisk(folder, states)).ok();
        });
    }

    /// The helper's answer: the rows of those same logs say what is on disk.
    pub(super) fn logs_on_disk(
        &mut self,
        folder: Option<PathBuf>,
        states: Vec<(LogEntry, onboard::OnDisk)>,
    ) {
        self.view.logs.folder = folder;
        for row in self.view.logs.rows.iter_mut().flatten() {
            if let Some((_, state)) = states.iter().find(|(entry, _)| *entry == row.entry) {
                row.on_disk = state.clone();
            }
        }
    }

    /// Follows the services' events for the logs tab.
    pub(super) fn logs_service_event(&mut self, event: &ServiceEvent) {
        match event {
            ServiceEvent::Logs { id, entries } if Some(*id) == self.log_work.list => {
                self.view.logs.rows = Some(
                    entries
                        .iter()
                        .map(|entry| LogRow {
                            entry: *entry,
                            on_disk: onboard::OnDisk::Absent,
                        })
                        .collect(),
                );
                self.refresh_on_disk();
            }
            ServiceEvent::LogData {
                id, offset, bytes, ..
            } => {
                let Some(job) = self
                    .log_work
                    .job
                    .as_mut()
                    .filter(|job| job.request == Some(*id))
                else {
                    return;
                };
                job.received += bytes.len() as u64;
                job.held += bytes.len() as u64;
                if let Some(writer) = &job.writer {
                    let _ = writer.send(Write::Bytes(*offset, bytes.clone()));
                }
                self.show_progress();
            }
            ServiceEvent::Step { id, step }
                if self.log_work.job.as_ref().and_then(|job| job.request) == Some(*id) =>
            {
                self.view.logs.status = Some(step.clone());
            }
            ServiceEvent::Finished { id, outcome } => self.log_finished(*id, outcome),
            _ => {}
        }
    }

    fn log_finished(&mut self, id: RequestId, outcome: &Outcome) {
        if Some(id) == self.log_work.list {
            self.log_work.list = None;
            self.view.logs.busy = false;
            self.view.logs.status = (!outcome.is_accepted()).then(|| format!("list: {outcome}"));
            return;
        }
        if Some(id) == self.log_work.erase {
            self.log_work.erase = None;
            self.view.logs.busy = false;
            self.view.logs.status = Some(format!("erase: {outcome}"));
            if outcome.is_accepted() {
                self.view.logs.rows = Some(Vec::new());
            }
            return;
        }
        let Some(job) = self
            .log_work
            .job
            .as_mut()
            .filter(|job| job.request == Some(id))
        else {
            return;
        };
        let Some(writer) = job.writer.take() else {
            return;
        };
        let order = if outcome.is_accepted() {
            Write::Finish(self.view.flight_dir.clone())
        } else {
            Write::Stop(outcome.to_string())
        };
        let _ = writer.send(order);
        self.view.logs.status = Some(format!("log {}: completing…", job.entry.id));
    }
}
