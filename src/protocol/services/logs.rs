//! The vehicle's onboard logs over MAVLink's log messages, the ground station's side, without
//! I/O: list (LOG_REQUEST_LIST → LOG_ENTRY), download (LOG_REQUEST_DATA → LOG_DATA) and erase
//! (LOG_ERASE, confirmed by a list that comes back empty).
//!
//! A download keeps **one request in flight**: ArduPilot drops a LOG_REQUEST_DATA that comes
//! while it is still sending a range (AP_Logger_MAVLinkLogTransfer). The first request asks for
//! everything missing; the vehicle streams it as fast as the link takes it. When a range has
//! been sent (its last packet arrived, or the link went quiet for [`QUIET_US`]), what is still
//! missing is asked for: the first hole, stretched over the holes that follow it closely (asking
//! again costs a round trip; a few bytes sent twice cost less). After a quiet spell the request
//! is preceded by LOG_REQUEST_END, which ends whatever the vehicle was still sending. Bytes come
//! out as [`ServiceEvent::LogData`] the moment they arrive, so whoever keeps them writes them
//! to disk as they come; a download may start with ranges already held (a resumed one). It is
//! accepted only when every byte up to the listed size has arrived.
//!
//! ArduPilot ignores log requests while armed and says "Disarm for log download" once; the
//! request ends refused with that text (or, when it is not repeated, because the vehicle's
//! heartbeat says armed).

use std::collections::BTreeMap;

use mavlink::dialects::ardupilotmega as apm;

use super::ranges::Ranges;
use super::{Action, Outbound, Outcome, RequestId, ServiceEvent, Target};
use crate::protocol::{FrameHeader, MavMessage};

/// Data bytes in one LOG_DATA.
pub const DATA_LEN: u32 = 90;
/// The link quiet this long in a download: the range being sent is over (or never started).
pub const QUIET_US: u64 = 400_000;
/// Requests in a row that bring no new byte before a download gives up.
pub const MAX_STALLED: u32 = 12;
/// A list waits this long for its next entry before asking again.
pub const LIST_QUIET_US: u64 = 1_500_000;
/// List requests in a row that bring no new entry before a list gives up.
pub const MAX_LIST_TRIES: u32 = 5;
/// Holes closer than this are asked for in one request (4 packets: about a round trip).
const MERGE_BYTES: u32 = 4 * DATA_LEN;
/// After LOG_ERASE (which has no answer) the list is asked for after this long.
pub const ERASE_SETTLE_US: u64 = 1_500_000;
/// Erases sent before an erase that leaves logs listed is refused.
const MAX_ERASES: u32 = 3;

/// One log the vehicle lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogEntry {
    /// The vehicle's number for it (ArduPilot: 1 … count, oldest first).
    pub id: u16,
    /// When it was started, seconds since 1970 (0: the vehicle did not know the time).
    pub time_utc: u32,
    /// Its size in bytes.
    pub size: u32,
}

impl LogEntry {
    /// When the log was started, e.g. `2026-11-20 09:00:00 UTC`; `None` when the vehicle did
    /// not know the time.
    pub fn started_words(&self) -> Option<String> {
        (self.time_utc != 0).then(|| {
            let time =
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(self.time_utc));
            let words = humantime::format_rfc3339_seconds(time)
                .to_string()
                .replace('T', " ");
            format!("{} UTC", words.trim_end_matches('Z'))
        })
    }
}

/// Whether `action` is log work.
pub(super) fn handles(action: &Action) -> bool {
    matches!(
        action,
        Action::ListLogs | Action::DownloadLog { .. } | Action::EraseLogs
    )
}

enum Work {
    List(Listing),
    Download(Download),
    Erase {
        erases: u32,
        /// Until when the vehicle is left to erase; then the list.
        settle_until_us: Option<u64>,
        listing: Option<Listing>,
    },
}

/// A list in progress.
struct Listing {
    entries: BTreeMap<u16, LogEntry>,
    count: Option<u16>,
    deadline_us: u64,
    tries: u32,
}

struct Download {
    log_id: u16,
    size: u32,
    have: Ranges,
    /// The range asked for and not yet seen to its end.
    asked: Option<(u32, u32)>,
    quiet_until_us: u64,
    /// Bytes held at the last request, and requests since that brought none.
    held_at_ask: u64,
    stalled: u32,
    requests: u32,
    percent: Option<u8>,
}

struct Job {
    id: RequestId,
    target: Target,
    work: Work,
    /// The vehicle's heartbeat says armed.
    armed: bool,
    /// A text of the vehicle's saying why it will not send logs.
    refusal: Option<String>,
}

/// What a job reports from one look.
#[derive(Default)]
struct Report {
    send: Vec<MavMessage>,
    events: Vec<ServiceEvent>,
    outcome: Option<Outcome>,
}

/// The log requests in progress.
#[derive(Default)]
pub(super) struct LogJobs {
    jobs: Vec<Job>,
}

impl LogJobs {
    pub(super) fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Systems with a download running (their telemetry is paused meanwhile).
    pub(super) fn downloading(&self) -> impl Iterator<Item = u8> + '_ {
        self.jobs
            .iter()
            .filter(|job| matches!(job.work, Work::Download(_)))
            .map(|job| job.target.system_id)
    }

    /// Starts a request; its first messages, or why it cannot start.
    pub(super) fn begin(
        &mut self,
        now_us: u64,
        id: RequestId,
        target: Target,
        armed: bool,
        action: &Action,
    ) -> Result<Vec<Outbound>, String> {
        if self
            .jobs
            .iter()
            .any(|job| job.target.system_id == target.system_id)
        {
            return Err("another log request with this vehicle is still running".to_owned());
        }
        let (work, first) = match action {
            Action::ListLogs => {
                let (listing, first) = Listing::start(now_us, target);
                (Work::List(listing), first)
            }
            Action::DownloadLog { log_id, size, have } => {
                if *log_id == 0 {
                    return Err("log ids start at 1".to_owned());
                }
                let mut download = Download {
                    log_id: *log_id,
                    size: *size,
                    have: Ranges::from_pairs(have.iter().copied()),
                    asked: None,
                    quiet_until_us: now_us,
                    held_at_ask: 0,
                    stalled: 0,
                    requests: 0,
                    percent: None,
                };
                // End whatever an earlier ground station left the vehicle sending.
                let mut first = vec![request_end(target)];
                first.extend(download.ask(now_us, target));
                (Work::Download(download), first)
            }
            Action::EraseLogs => (
                Work::Erase {
                    erases: 1,
                    settle_until_us: Some(now_us + ERASE_SETTLE_US),
                    listing: None,
                },
                vec![erase(target)],
            ),
            _ => return Err("not a log request".to_owned()),
        };
        self.jobs.push(Job {
            id,
            target,
            work,
            armed,
            refusal: None,
        });
        Ok(outbound(id, first))
    }

    /// Ends request `id` (cancelled, or its frame could not be sent): the messages that stop
    /// the vehicle sending, if it was one of ours.
    pub(super) fn remove(&mut self, id: RequestId) -> Option<Vec<Outbound>> {
        let index = self.jobs.iter().position(|job| job.id == id)?;
        let job = self.jobs.remove(index);
        Some(outbound(id, vec![request_end(job.target)]))
    }

    pub(super) fn drain_ids(&mut self) -> Vec<RequestId> {
        self.jobs.drain(..).map(|job| job.id).collect()
    }

    pub(super) fn on_message(
        &mut self,
        now_us: u64,
        header: &FrameHeader,
        message: &MavMessage,
    ) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        self.each(|job| job.on_message(now_us, header, message))
    }

    pub(super) fn tick(&mut self, now_us: u64) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        self.each(|job| job.tick(now_us))
    }

    fn each(
        &mut self,
        mut look: impl FnMut(&mut Job) -> Report,
    ) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        self.jobs.retain_mut(|job| {
            let report = look(job);
            out.extend(outbound(job.id, report.send));
            events.extend(report.events);
            match report.outcome {
                Some(outcome) => {
                    events.push(ServiceEvent::Finished {
                        id: job.id,
                        outcome,
                    });
                    false
                }
                None => true,
            }
        });
        (out, events)
    }
}

fn outbound(id: RequestId, messages: Vec<MavMessage>) -> Vec<Outbound> {
    messages
        .into_iter()
        .map(|message| Outbound {
            message,
            request: Some(id),
        })
        .collect()
}

fn request_list(target: Target, start: u16, end: u16) -> MavMessage {
    MavMessage::LOG_REQUEST_LIST(apm::LOG_REQUEST_LIST_DATA {
        start,
        end,
        target_system: target.system_id,
        target_component: target.component_id,
    })
}

fn request_end(target: Target) -> MavMessage {
    MavMessage::LOG_REQUEST_END(apm::LOG_REQUEST_END_DATA {
        target_system: target.system_id,
        target_component: target.component_id,
    })
}

fn erase(target: Target) -> MavMessage {
    MavMessage::LOG_ERASE(apm::LOG_ERASE_DATA {
        target_system: target.system_id,
        target_component: target.component_id,
    })
}

impl Listing {
    fn start(now_us: u64, target: Target) -> (Self, Vec<MavMessage>) {
        let listing = Self {
            entries: BTreeMap::new(),
            count: None,
            deadline_us: now_us + LIST_QUIET_US,
            tries: 1,
        };
        // LOG_REQUEST_END first: ArduPilot answers no list while a download (of a ground
        // station that went away mid-way) is still being sent.
        (
            listing,
            vec![request_end(target), request_list(target, 0, u16::MAX)],
        )
    }

    /// Every entry with bytes in it, once the vehicle has listed them all. ArduPilot goes on
    /// listing an erased log's number, with size 0 and no time, until it writes a new log:
    /// there is nothing in it to pull, and after an erase it is not a log left behind.
    fn complete(&self) -> Option<Vec<LogEntry>> {
        let count = self.count?;
        (self.entries.len() >= usize::from(count)).then(|| {
            self.entries
                .values()
                .filter(|entry| entry.size > 0)
                .copied()
                .collect()
        })
    }

    fn on_entry(&mut self, now_us: u64, entry: &apm::LOG_ENTRY_DATA) {
        self.count = Some(entry.num_logs);
        if entry.num_logs > 0 && entry.id > 0 {
            let fresh = self
                .entries
                .insert(
                    entry.id,
                    LogEntry {
                        id: entry.id,
                        time_utc: entry.time_utc,
                        size: entry.size,
                    },
                )
                .is_none();
            if fresh {
                self.tries = 0;
            }
        }
        self.deadline_us = now_us + LIST_QUIET_US;
    }

    /// Asks again for what is missing after a quiet spell; `Err` when out of tries.
    fn tick(&mut self, now_us: u64, target: Target) -> Result<Vec<MavMessage>, u32> {
        if now_us < self.deadline_us {
            return Ok(Vec::new());
        }
        self.tries += 1;
        if self.tries > MAX_LIST_TRIES {
            return Err(self.tries - 1);
        }
        self.deadline_us = now_us + LIST_QUIET_US;
        // The ids not heard yet, when the count is known (ArduPilot numbers them 1 … count).
        let missing = self.count.and_then(|count| {
            let mut missing = (1..=count).filter(|id| !self.entries.contains_key(id));
            let first = missing.next()?;
            Some((first, missing.next_back().unwrap_or(first)))
        });
        let (start, end) = missing.unwrap_or((0, u16::MAX));
        Ok(vec![request_end(target), request_list(target, start, end)])
    }
}

impl Download {
    /// Asks for what is missing (one range), after ending what the vehicle may still be
    /// sending when the last range did not end cleanly.
    fn ask(&mut self, now_us: u64, target: Target) -> Vec<MavMessage> {
        let held = self.have.held();
        if self.requests > 0 && held == self.held_at_ask {
            self.stalled += 1;
        } else {
            self.stalled = 0;
        }
        self.held_at_ask = held;
        self.requests += 1;
        let mut send = Vec::new();
        if self.asked.take().is_some() {
            send.push(request_end(target));
        }
        let mut gaps = self.have.gaps(self.size);
        let Some((start, mut end)) = gaps.next() else {
            return send;
        };
        for (next_start, next_end) in gaps {
            if next_start > end.saturating_add(MERGE_BYTES) {
                break;
            }
            end = next_end;
        }
        self.asked = Some((start, end));
        self.quiet_until_us = now_us + QUIET_US;
        send.push(MavMessage::LOG_REQUEST_DATA(apm::LOG_REQUEST_DATA_DATA {
            ofs: start,
            count: end - start,
            id: self.log_id,
            target_system: target.system_id,
            target_component: target.component_id,
        }));
        send
    }

    fn percent(&self) -> u8 {
        if self.size == 0 {
            return 100;
        }
        (self.have.held() * 100 / u64::from(self.size)).min(100) as u8
    }
}

impl Job {
    fn step(&self) -> String {
        match &self.work {
            Work::List(_) => "list logs".to_owned(),
            Work::Download(download) => format!("download log {}", download.log_id),
            Work::Erase { .. } => "erase logs".to_owned(),
        }
    }

    /// The request refused because the vehicle is armed, with its words when it said any.
    fn armed_refusal(&self) -> Outcome {
        Outcome::Refused {
            step: self.step(),
            result: "ARMED".to_owned(),
            reason: vec![self.refusal.clone().unwrap_or_else(|| {
                "the vehicle is armed: ArduPilot sends and erases its logs only when disarmed"
                    .to_owned()
            })],
        }
    }

    fn on_message(&mut self, now_us: u64, header: &FrameHeader, message: &MavMessage) -> Report {
        let mut report = Report::default();
        if header.system_id != self.target.system_id {
            return report;
        }
        match message {
            MavMessage::HEARTBEAT(heartbeat) if header.component_id == self.target.component_id => {
                self.armed = heartbeat
                    .base_mode
                    .contains(apm::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED);
            }
            MavMessage::STATUSTEXT(text) => {
                let words = String::from_utf8_lossy(text.text.as_ref())
                    .trim_end_matches('\0')
                    .trim()
                    .to_owned();
                if words.to_ascii_lowercase().contains("disarm for log") {
                    self.refusal = Some(words);
                    report.outcome = Some(self.armed_refusal());
                }
            }
            MavMessage::LOG_ENTRY(entry) => {
                let listing = match &mut self.work {
                    Work::List(listing) => listing,
                    Work::Erase {
                        listing: Some(listing),
                        ..
                    } => listing,
                    _ => return report,
                };
                listing.on_entry(now_us, entry);
                let Some(entries) = listing.complete() else {
                    return report;
                };
                match &mut self.work {
                    Work::List(_) => {
                        report.events.push(ServiceEvent::Logs {
                            id: self.id,
                            entries,
                        });
                        report.outcome = Some(Outcome::Accepted);
                    }
                    Work::Erase {
                        erases,
                        settle_until_us,
                        listing,
                    } => {
                        if entries.is_empty() {
                            report.outcome = Some(Outcome::Accepted);
                        } else if *erases >= MAX_ERASES {
                            report.outcome = Some(Outcome::Refused {
                                step: "erase logs".to_owned(),
                                result: "NOT_ERASED".to_owned(),
                                reason: vec![format!(
                                    "the vehicle still lists {} logs after {erases} erases",
                                    entries.len()
                                )],
                            });
                        } else {
                            *erases += 1;
                            *listing = None;
                            *settle_until_us = Some(now_us + ERASE_SETTLE_US);
                            report.send.push(erase(self.target));
                        }
                    }
                    Work::Download(_) => {}
                }
            }
            MavMessage::LOG_DATA(data) => {
                let Work::Download(download) = &mut self.work else {
                    return report;
                };
                if data.id != download.log_id {
                    return report;
                }
                self.on_data(now_us, data, &mut report);
            }
            _ => {}
        }
        report
    }

    fn on_data(&mut self, now_us: u64, data: &apm::LOG_DATA_DATA, report: &mut Report) {
        let step = self.step();
        let Work::Download(download) = &mut self.work else {
            return;
        };
        let count = u32::from(data.count).min(DATA_LEN);
        let start = data.ofs;
        let end = start.saturating_add(count).min(download.size);
        if end > start && download.have.insert(start, end) > 0 {
            report.events.push(ServiceEvent::LogData {
                id: self.id,
                log_id: download.log_id,
                offset: start,
                bytes: data.data[..(end - start) as usize].to_vec(),
            });
            let percent = download.percent();
            if download.percent != Some(percent) {
                download.percent = Some(percent);
                report.events.push(ServiceEvent::Progress {
                    id: self.id,
                    percent: Some(percent),
                });
            }
        }
        download.quiet_until_us = now_us + QUIET_US;
        let short = count < DATA_LEN;
        let reached = start.saturating_add(count);
        // Only a packet of the range asked for tells where that range (or the file) ends: a
        // late one of an earlier range says nothing of what the vehicle is doing now.
        let current = download
            .asked
            .is_some_and(|(from, to)| start >= from && start < to);
        let range_sent = current && download.asked.is_some_and(|(_, to)| reached >= to);
        if download.have.covers(download.size) {
            report.send.push(request_end(self.target));
            report.outcome = Some(Outcome::Accepted);
            return;
        }
        if current && short && !range_sent && reached < download.size {
            // The vehicle's file ends before the size it listed.
            let at = reached;
            report.send.push(request_end(self.target));
            report.outcome = Some(Outcome::Refused {
                step,
                result: "SHORT".to_owned(),
                reason: vec![format!(
                    "the vehicle's log ends at byte {at}, before the {} bytes it listed",
                    download.size
                )],
            });
            return;
        }
        if range_sent || (current && short) {
            // The vehicle is done with that range and listens again: no LOG_REQUEST_END.
            download.asked = None;
            report.send.extend(download.ask(now_us, self.target));
        }
    }

    fn tick(&mut self, now_us: u64) -> Report {
        let mut report = Report::default();
        let target = self.target;
        let step = self.step();
        let armed = self.armed.then(|| self.armed_refusal());
        match &mut self.work {
            Work::List(listing) => match listing.tick(now_us, target) {
                Ok(send) => report.send = send,
                Err(_) if armed.is_some() => report.outcome = armed,
                Err(attempts) => {
                    report.outcome = Some(Outcome::TimedOut { step, attempts });
                }
            },
            Work::Erase {
                settle_until_us,
                listing,
                ..
            } => {
                if settle_until_us.is_some_and(|until| now_us >= until) {
                    *settle_until_us = None;
                    let (started, first) = Listing::start(now_us, target);
                    *listing = Some(started);
                    report.send = first;
                } else if let Some(running) = listing {
                    match running.tick(now_us, target) {
                        Ok(send) => report.send = send,
                        Err(_) if armed.is_some() => report.outcome = armed,
                        Err(attempts) => {
                            report.outcome = Some(Outcome::TimedOut {
                                step: "list logs after erasing".to_owned(),
                                attempts,
                            });
                        }
                    }
                }
            }
            Work::Download(download) => {
                if download.have.covers(download.size) {
                    report.send.push(request_end(target));
                    report.outcome = Some(Outcome::Accepted);
                    return report;
                }
                if now_us < download.quiet_until_us {
                    return report;
                }
                if download.stalled >= MAX_STALLED {
                    report.send.push(request_end(target));
                    report.outcome = Some(if let Some(refusal) = armed {
                        refusal
                    } else {
                        Outcome::TimedOut {
                            step: format!(
                                "{step} ({} of {} bytes)",
                                download.have.held(),
                                download.size
                            ),
                            attempts: download.stalled,
                        }
                    });
                    return report;
                }
                report.send = download.ask(now_us, target);
            }
        }
        report
    }
}
