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
//! A log can also come as a file by MAVLink FTP ([`super::log_files`]), which carries more of
//! each packet as data (239 of 251 bytes against 90 of 97) but which some autopilots pace to a
//! share of the link. So by default ([`LogVia::Auto`]) a download of a big log measures both:
//! log messages for [`TRIAL_US`] while the log's file is looked for, then FTP for as long, and
//! goes on with the faster; the hub remembers the answer for the vehicle, so the next download
//! goes straight the faster way. Bytes from either way (and the late ones of the way left) go
//! into the same ranges, so a switch loses nothing. What happens is said in
//! [`ServiceEvent::Step`]s.
//!
//! ArduPilot ignores log requests while armed and says "Disarm for log download" once; the
//! request ends refused with that text (or, when it is not repeated, because the vehicle's
//! heartbeat says armed). ArduPilot would serve files by FTP in flight: a download never reads
//! one from an armed vehicle.

use std::collections::BTreeMap;

use mavlink::dialects::ardupilotmega as apm;

use super::ftp::{FtpEnd, FtpPoll, FtpTransfer, Op, Packet, MAX_READS};
use super::log_files::{Finder, Found, Meter, LOG_DIRS};
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
/// How long each way of downloading is measured (from its first byte) when both are tried.
pub const TRIAL_US: u64 = 4_000_000;
/// Both ways are tried only for a log with at least this much still to come.
pub const MIN_TRIAL_BYTES: u32 = 96 * 1024;
/// An FTP burst left behind is over when it has sent nothing for this long.
const LATE_BURST_US: u64 = 600_000;
/// How long the log's file is looked for before log messages go ahead without it. The
/// folders are listed before any log message is asked for: ArduPilot answers FTP only when
/// its send buffer is a third empty, which it never is while it streams LOG_DATA.
pub const FIND_US: u64 = 3_000_000;

/// How a download reads the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogVia {
    /// Whichever is faster on this link (see the module documentation).
    #[default]
    Auto,
    /// LOG_REQUEST_DATA / LOG_DATA only.
    Messages,
    /// MAVLink FTP only: refused when the vehicle does not offer the log's file.
    Ftp,
}

impl std::str::FromStr for LogVia {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Self::Auto),
            "messages" => Ok(Self::Messages),
            "ftp" => Ok(Self::Ftp),
            other => Err(format!("`{other}`: say auto, messages or ftp")),
        }
    }
}

/// What the hub learned of a vehicle's link: whether FTP is the faster way, and from which
/// folder.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Learned {
    ftp_dir: Option<String>,
    /// The figures, in words.
    why: String,
}

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

/// A word for a rate.
fn rate_words(bytes_per_s: f64) -> String {
    format!("{bytes_per_s:.0} B/s")
}

enum Work {
    List(Listing),
    /// Boxed: a download carries its FTP read and folder search.
    Download(Box<Download>),
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

/// Asking for a log by LOG_REQUEST_DATA, one range at a time.
#[derive(Default)]
struct Messages {
    /// The range asked for and not yet seen to its end.
    asked: Option<(u32, u32)>,
    quiet_until_us: u64,
    /// Bytes held at the last request, and requests since that brought none.
    held_at_ask: u64,
    stalled: u32,
    requests: u32,
}

/// Which way a download goes, and what it waits for to change.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    /// Log messages only.
    Messages,
    /// FTP only: nothing is asked for until the file is found.
    FtpOnly,
    /// Log messages until the file is found, then FTP (it was the faster way before).
    FtpWhenFound,
    /// Log messages measured, then FTP measured, then the faster.
    Compare { messages_rate: Option<f64> },
    /// Settled: whatever runs goes on.
    Decided,
}

struct Download {
    id: RequestId,
    target: Target,
    log_id: u16,
    size: u32,
    have: Ranges,
    percent: Option<u8>,
    plan: Plan,
    messages: Messages,
    /// Log messages are being asked for.
    by_messages: bool,
    /// The FTP read running.
    ftp: Option<FtpTransfer>,
    /// The session of an FTP read left behind, whose burst may still be coming.
    late_session: Option<u8>,
    /// When that burst's last packet came, and where it was.
    late_burst: Option<(u64, u32)>,
    finder: Option<Finder>,
    found: Option<Found>,
    /// The way running now, from its first byte.
    meter: Meter,
    /// An FTP read was started.
    ftp_tried: bool,
    /// The figures that made FTP the way for this vehicle.
    learned_why: Option<String>,
    /// Until when the log's file is looked for (but only FTP is wanted: as long as it takes).
    find_until_us: u64,
    /// When the FTP read was started.
    ftp_since_us: u64,
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

impl super::ServiceJob for Job {
    fn request(&self) -> RequestId {
        self.id
    }
}

/// What a job reports from one look.
#[derive(Default)]
struct Report {
    send: Vec<MavMessage>,
    events: Vec<ServiceEvent>,
    outcome: Option<Outcome>,
    /// What the job learned of the link.
    learned: Option<Learned>,
}

/// The log requests in progress.
#[derive(Default)]
pub(super) struct LogJobs {
    jobs: Vec<Job>,
    /// Per system: which way of downloading was faster on its link.
    learned: BTreeMap<u8, Learned>,
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
            Action::DownloadLog {
                log_id,
                size,
                have,
                via,
            } => {
                if *log_id == 0 {
                    return Err("log ids start at 1".to_owned());
                }
                if armed && *via == LogVia::Ftp {
                    return Err(
                        "the vehicle is armed: logs are read only from a vehicle on the ground"
                            .to_owned(),
                    );
                }
                let learned = self.learned.get(&target.system_id);
                let have = Ranges::from_pairs(have.iter().copied());
                let (download, first) = Download::start(
                    now_us, id, target, *log_id, *size, have, *via, learned, armed,
                );
                (Work::Download(Box::new(download)), first)
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
        let mut job = super::take_job(&mut self.jobs, id)?;
        let stop = match &mut job.work {
            Work::Download(download) => download.stop(),
            _ => vec![request_end(job.target)],
        };
        Some(outbound(id, stop))
    }

    pub(super) fn drain_ids(&mut self) -> Vec<RequestId> {
        super::drain_jobs(&mut self.jobs)
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
        let mut learned = Vec::new();
        self.jobs.retain_mut(|job| {
            let report = look(job);
            out.extend(outbound(job.id, report.send));
            events.extend(report.events);
            if let Some(lesson) = report.learned {
                learned.push((job.target.system_id, lesson));
            }
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
        self.learned.extend(learned);
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

impl Messages {
    /// Asks for what is missing of `have` before `below` (one range), after ending what the
    /// vehicle may still be sending when the last range did not end cleanly.
    fn ask(
        &mut self,
        now_us: u64,
        target: Target,
        log_id: u16,
        below: u32,
        have: &Ranges,
    ) -> Vec<MavMessage> {
        let held = have.held();
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
        let mut gaps = have.gaps(below).map(|(start, end)| (start, end.min(below)));
        let Some((start, mut end)) = gaps.next() else {
            // Nothing to ask for now; looked at again after a quiet spell.
            self.quiet_until_us = now_us + QUIET_US;
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
            id: log_id,
            target_system: target.system_id,
            target_component: target.component_id,
        }));
        send
    }
}

/// The data of an FTP read answer of `session`: (offset, bytes).
fn ftp_read_data(payload: &[u8], session: u8) -> Option<(u32, Vec<u8>)> {
    let packet = Packet::decode(payload)?;
    let read =
        packet.req_opcode == Op::BurstReadFile as u8 || packet.req_opcode == Op::ReadFile as u8;
    (packet.opcode == Op::Ack as u8 && read && packet.session == session)
        .then_some((packet.offset, packet.data))
}

impl Download {
    /// A download and its first messages: LOG_REQUEST_END (whatever an earlier ground station
    /// left the vehicle sending), the first LOG_REQUEST_DATA unless only FTP is wanted, and
    /// the first listing of a log folder when FTP may be used.
    #[allow(clippy::too_many_arguments)]
    fn start(
        now_us: u64,
        id: RequestId,
        target: Target,
        log_id: u16,
        size: u32,
        have: Ranges,
        via: LogVia,
        learned: Option<&Learned>,
        armed: bool,
    ) -> (Self, Vec<MavMessage>) {
        let to_come = u64::from(size).saturating_sub(have.held());
        let plan = match (via, learned) {
            (LogVia::Messages, _) => Plan::Messages,
            (LogVia::Ftp, _) => Plan::FtpOnly,
            // The vehicle refuses log messages in flight and no file is read from it.
            (LogVia::Auto, _) if armed => Plan::Messages,
            (LogVia::Auto, Some(learned)) if learned.ftp_dir.is_some() => Plan::FtpWhenFound,
            (LogVia::Auto, Some(_)) => Plan::Messages,
            (LogVia::Auto, None) if to_come >= u64::from(MIN_TRIAL_BYTES) => Plan::Compare {
                messages_rate: None,
            },
            (LogVia::Auto, None) => Plan::Messages,
        };
        let mut download = Self {
            id,
            target,
            log_id,
            size,
            have,
            percent: None,
            plan,
            messages: Messages::default(),
            by_messages: plan == Plan::Messages,
            ftp: None,
            late_session: None,
            late_burst: None,
            finder: None,
            found: None,
            meter: Meter::default(),
            ftp_tried: false,
            learned_why: learned.map(|learned| learned.why.clone()),
            find_until_us: now_us,
            ftp_since_us: now_us,
        };
        let mut first = vec![request_end(target)];
        if download.by_messages {
            first.extend(download.ask_messages(now_us));
        }
        if plan != Plan::Messages {
            // The folder that held this vehicle's logs before, else each likely one.
            let mut dirs: Vec<String> = learned
                .and_then(|learned| learned.ftp_dir.clone())
                .into_iter()
                .collect();
            if plan != Plan::FtpWhenFound {
                dirs.extend(LOG_DIRS.iter().map(|dir| (*dir).to_owned()));
                dirs.dedup();
            }
            let (finder, send) = Finder::start(now_us, target, log_id, size, dirs);
            download.finder = Some(finder);
            download.find_until_us = now_us + FIND_US;
            first.extend(send);
        }
        (download, first)
    }

    /// Asks for the next range by log messages: not what an FTP burst left behind is still
    /// bringing (ArduPilot sends a burst to its end whatever comes after the request).
    fn ask_messages(&mut self, now_us: u64) -> Vec<MavMessage> {
        let below = match self.late_burst {
            Some((at_us, offset)) if now_us < at_us + LATE_BURST_US => offset,
            _ => self.size,
        };
        self.messages
            .ask(now_us, self.target, self.log_id, below, &self.have)
    }

    fn percent(&self) -> u8 {
        if self.size == 0 {
            return 100;
        }
        (self.have.held() * 100 / u64::from(self.size)).min(100) as u8
    }

    /// Keeps bytes at `offset` (from either way): the event for the new ones.
    fn take(&mut self, now_us: u64, offset: u32, bytes: &[u8], by_ftp: bool, report: &mut Report) {
        let id = self.id;
        let end = offset.saturating_add(bytes.len() as u32).min(self.size);
        if end <= offset {
            return;
        }
        let new = self.have.insert(offset, end);
        if new == 0 {
            return;
        }
        if let Some(ftp) = &mut self.ftp {
            ftp.also_have(offset, end);
        }
        if by_ftp == self.ftp.is_some() {
            // Only the way running is measured (not the late bytes of the way left).
            self.meter.note(now_us, u64::from(new));
        }
        report.events.push(ServiceEvent::LogData {
            id,
            log_id: self.log_id,
            offset,
            bytes: bytes[..(end - offset) as usize].to_vec(),
        });
        let percent = self.percent();
        if self.percent != Some(percent) {
            self.percent = Some(percent);
            report.events.push(ServiceEvent::Progress {
                id,
                percent: Some(percent),
            });
        }
    }

    /// Reads on by FTP from `path` (log messages stop).
    fn switch_to_ftp(&mut self, now_us: u64, path: &str) -> Vec<MavMessage> {
        let target = self.target;
        let mut send = Vec::new();
        if self.by_messages {
            self.by_messages = false;
            self.messages.asked = None;
            send.push(request_end(target));
        }
        let (ftp, first) =
            FtpTransfer::read_streaming(now_us, target, path, self.size, self.have.clone());
        self.ftp = Some(ftp);
        self.ftp_tried = true;
        self.ftp_since_us = now_us;
        self.meter = Meter::default();
        send.extend(first);
        send
    }

    /// Goes on by log messages (an FTP read stops; what its burst still brings is kept).
    fn switch_to_messages(&mut self, now_us: u64) -> Vec<MavMessage> {
        let mut send = Vec::new();
        if let Some(mut ftp) = self.ftp.take() {
            self.late_session = ftp.reading_session().or(self.late_session);
            send.extend(ftp.close());
        }
        self.by_messages = true;
        self.messages = Messages::default();
        self.meter = Meter::default();
        send.extend(self.ask_messages(now_us));
        send
    }

    /// Takes what an FTP read reports.
    fn ftp_poll(&mut self, now_us: u64, poll: FtpPoll, report: &mut Report) {
        report.send.extend(poll.send);
        for (offset, bytes) in &poll.data {
            self.take(now_us, *offset, bytes, true, report);
        }
        let Some(end) = poll.ended else {
            return;
        };
        // The session read (the transfer has ended): what its burst still brings is kept.
        let session = self.ftp.take().map(|ftp| ftp.session());
        self.late_session = session.or(self.late_session);
        let reason = match end {
            FtpEnd::Streamed | FtpEnd::File(_) | FtpEnd::Listing(_) => return,
            FtpEnd::Refused { op, reason } => format!("{op}: {reason}"),
            FtpEnd::TimedOut { op } => format!("{op}: no answer"),
        };
        self.ftp_failed(now_us, &reason, report);
    }

    /// FTP does not do for this log: on by log messages, or the end when only FTP was wanted.
    fn ftp_failed(&mut self, now_us: u64, reason: &str, report: &mut Report) {
        if self.plan == Plan::FtpOnly {
            report.outcome = Some(Outcome::Refused {
                step: format!("download log {} by MAVLink FTP", self.log_id),
                result: "FTP".to_owned(),
                reason: vec![reason.to_owned()],
            });
            return;
        }
        report.learned = Some(Learned {
            ftp_dir: None,
            why: format!("MAVLink FTP: {reason}"),
        });
        self.say(report, format!("MAVLink FTP: {reason}; on by log messages"));
        self.plan = Plan::Decided;
        if !self.by_messages {
            report.send.extend(self.switch_to_messages(now_us));
        }
    }

    /// What stops the vehicle sending this log (log messages, and the FTP read if one runs);
    /// the folder search ends too.
    fn stop(&mut self) -> Vec<MavMessage> {
        self.finder = None;
        let mut send = vec![request_end(self.target)];
        if let Some(mut ftp) = self.ftp.take() {
            send.extend(ftp.close());
        }
        send
    }

    fn say(&self, report: &mut Report, step: String) {
        report.events.push(ServiceEvent::Step { id: self.id, step });
    }

    /// Takes a LOG_DATA of this log.
    fn on_log_data(&mut self, now_us: u64, data: &apm::LOG_DATA_DATA, report: &mut Report) {
        let count = u32::from(data.count).min(DATA_LEN);
        let start = data.ofs;
        self.take(now_us, start, &data.data[..count as usize], false, report);
        if !self.by_messages || self.have.covers(self.size) {
            // Late ones after a switch to FTP are kept; nothing is asked.
            return;
        }
        self.messages.quiet_until_us = now_us + QUIET_US;
        let short = count < DATA_LEN;
        let reached = start.saturating_add(count);
        // Only a packet of the range asked for tells where that range (or the file) ends: a
        // late one of an earlier range says nothing of what the vehicle is doing now.
        let asked = self.messages.asked;
        let current = asked.is_some_and(|(from, to)| start >= from && start < to);
        let range_sent = current && asked.is_some_and(|(_, to)| reached >= to);
        if current && short && !range_sent && reached < self.size {
            // The vehicle's file ends before the size it listed.
            report.send.push(request_end(self.target));
            report.outcome = Some(Outcome::Refused {
                step: format!("download log {}", self.log_id),
                result: "SHORT".to_owned(),
                reason: vec![format!(
                    "the vehicle's log ends at byte {reached}, before the {} bytes it listed",
                    self.size
                )],
            });
            return;
        }
        if range_sent || (current && short) {
            // The vehicle is done with that range and listens again: no LOG_REQUEST_END.
            self.messages.asked = None;
            report.send.extend(self.ask_messages(now_us));
        }
    }

    /// Takes a FILE_TRANSFER_PROTOCOL message.
    fn on_ftp(
        &mut self,
        now_us: u64,
        header: &FrameHeader,
        message: &MavMessage,
        report: &mut Report,
    ) {
        if let Some(finder) = &mut self.finder {
            let (send, found) = finder.on_message(now_us, header, message);
            report.send.extend(send);
            if found.is_some() {
                self.finder = None;
                self.found = found;
            }
        }
        let reading = self.ftp.as_ref().and_then(FtpTransfer::reading_session);
        if let Some(ftp) = &mut self.ftp {
            let poll = ftp.on_message(now_us, header, message);
            self.ftp_poll(now_us, poll, report);
        }
        let MavMessage::FILE_TRANSFER_PROTOCOL(packet) = message else {
            return;
        };
        let from_target = header.system_id == self.target.system_id
            && header.component_id == self.target.component_id;
        if let Some(session) = self
            .late_session
            .filter(|late| from_target && Some(*late) != reading)
        {
            if let Some((offset, bytes)) = ftp_read_data(&packet.payload, session) {
                self.late_burst = Some((now_us, offset));
                self.take(now_us, offset, &bytes, true, report);
            }
        }
    }

    /// Moves time on: FTP and the finder's retries, the next range of log messages after a
    /// quiet spell, or the end of a download that brings nothing any more.
    fn tick(&mut self, now_us: u64, armed: Option<Outcome>, report: &mut Report) {
        if let Some(finder) = &mut self.finder {
            let (send, found) = finder.tick(now_us);
            report.send.extend(send);
            if found.is_some() {
                self.finder = None;
                self.found = found;
            } else if self.plan != Plan::FtpOnly && now_us >= self.find_until_us {
                self.finder = None;
                self.found = Some(Found::NotOffered(format!(
                    "no log folder listed within {} s",
                    FIND_US / 1_000_000
                )));
            }
        }
        if let Some(ftp) = &mut self.ftp {
            let poll = ftp.tick(now_us);
            self.ftp_poll(now_us, poll, report);
        } else if self.by_messages
            && !self.have.covers(self.size)
            && now_us >= self.messages.quiet_until_us
        {
            if self.messages.stalled >= MAX_STALLED {
                report.send.push(request_end(self.target));
                report.outcome = Some(armed.unwrap_or_else(|| Outcome::TimedOut {
                    step: format!(
                        "download log {} ({} of {} bytes)",
                        self.log_id,
                        self.have.held(),
                        self.size
                    ),
                    attempts: self.messages.stalled,
                }));
                return;
            }
            report.send.extend(self.ask_messages(now_us));
        }
        self.steer(now_us, report);
    }

    /// After anything happened: the end when every byte is held, else the plan's next move.
    fn steer(&mut self, now_us: u64, report: &mut Report) {
        if report.outcome.is_some() {
            return;
        }
        if self.have.covers(self.size) {
            report.send.extend(self.stop());
            report.outcome = Some(Outcome::Accepted);
            return;
        }
        let measured = self.meter.span_us(now_us) >= TRIAL_US;
        match (self.plan, self.found.clone()) {
            (
                Plan::Compare {
                    messages_rate: None,
                },
                Some(Found::File { .. }),
            ) if !self.by_messages && !self.ftp_tried => {
                // Log messages are measured first: going from them to FTP is clean (they
                // stop at LOG_REQUEST_END; an FTP burst goes on to its end).
                report.send.extend(self.switch_to_messages(now_us));
            }
            (
                Plan::Compare {
                    messages_rate: None,
                },
                _,
            ) if self.by_messages && measured => {
                self.plan = Plan::Compare {
                    messages_rate: Some(self.meter.rate(now_us)),
                };
                self.steer(now_us, report);
            }
            (
                Plan::Compare {
                    messages_rate: Some(rate),
                },
                Some(Found::File { path, .. }),
            ) if self.by_messages => {
                let to_come = u64::from(self.size).saturating_sub(self.have.held());
                if to_come < u64::from(MIN_TRIAL_BYTES / 2) {
                    // Too little left for a trial to pay.
                    self.plan = Plan::Decided;
                    return;
                }
                let step = format!(
                    "log messages: {}; trying MAVLink FTP ({path})",
                    rate_words(rate)
                );
                self.say(report, step);
                report.send.extend(self.switch_to_ftp(now_us, &path));
            }
            (
                Plan::Compare {
                    messages_rate: Some(messages),
                },
                Some(Found::File { dir, .. }),
            ) if self.ftp.is_some() && measured => {
                // A burst runs past what the radio lost; each hole is read again later, a round
                // trip for every MAX_READS of them (the open and the burst's start took two).
                // Log messages fill their holes in ranges the vehicle streams: on SITL at 2 %
                // loss that took 1.4 % of the time, FTP's 14 %.
                let burst = self.meter.rate(now_us);
                let span_us = self.meter.span_us(now_us) as f64;
                let round_trip_us = self
                    .meter
                    .first_at()
                    .unwrap_or(now_us)
                    .saturating_sub(self.ftp_since_us) as f64
                    / 2.0;
                let holes = self.have.holes();
                let refill_us = holes as f64 * round_trip_us / MAX_READS as f64;
                let ftp = burst * span_us / (span_us + refill_us).max(1.0);
                self.plan = Plan::Decided;
                let ftp_words = match holes {
                    0 => rate_words(burst),
                    _ => format!(
                        "{} ({} with its {holes} holes read again)",
                        rate_words(burst),
                        rate_words(ftp)
                    ),
                };
                let why = format!(
                    "MAVLink FTP {ftp_words}, log messages {}",
                    rate_words(messages)
                );
                if ftp >= messages {
                    self.say(report, format!("{why}: on by FTP"));
                    report.learned = Some(Learned {
                        ftp_dir: Some(dir),
                        why,
                    });
                } else {
                    self.say(report, format!("{why}: on by log messages"));
                    report.learned = Some(Learned { ftp_dir: None, why });
                    report.send.extend(self.switch_to_messages(now_us));
                }
            }
            (Plan::Compare { .. } | Plan::FtpWhenFound, Some(Found::NotOffered(reason))) => {
                self.plan = Plan::Decided;
                self.say(report, format!("MAVLink FTP: {reason}; by log messages"));
                report.learned = Some(Learned {
                    ftp_dir: None,
                    why: format!("MAVLink FTP: {reason}"),
                });
                if !self.by_messages && self.ftp.is_none() {
                    report.send.extend(self.switch_to_messages(now_us));
                }
            }
            (Plan::FtpWhenFound, Some(Found::File { path, .. })) => {
                self.plan = Plan::Decided;
                let why = self.learned_why.clone().unwrap_or_default();
                self.say(
                    report,
                    format!("by MAVLink FTP ({path}): faster on this link ({why})"),
                );
                report.send.extend(self.switch_to_ftp(now_us, &path));
            }
            (Plan::FtpOnly, Some(Found::File { path, .. })) if !self.ftp_tried => {
                self.say(report, format!("by MAVLink FTP ({path})"));
                report.send.extend(self.switch_to_ftp(now_us, &path));
            }
            (Plan::FtpOnly, Some(Found::NotOffered(reason))) => {
                report.outcome = Some(Outcome::Refused {
                    step: format!("download log {} by MAVLink FTP", self.log_id),
                    result: "NO_FILE".to_owned(),
                    reason: vec![reason],
                });
            }
            _ => {}
        }
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
                let refusal = self.armed.then(|| self.armed_refusal());
                if let (Work::Download(download), Some(refusal)) = (&mut self.work, refusal) {
                    // No file is read (or looked for) on a vehicle that may fly.
                    if download.ftp.is_some() || download.finder.is_some() {
                        report.send.extend(download.stop());
                        report.outcome = Some(refusal);
                    }
                }
            }
            MavMessage::FILE_TRANSFER_PROTOCOL(_) => {
                if let Work::Download(download) = &mut self.work {
                    download.on_ftp(now_us, header, message, &mut report);
                    download.steer(now_us, &mut report);
                }
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
                download.on_log_data(now_us, data, &mut report);
                download.steer(now_us, &mut report);
            }
            _ => {}
        }
        report
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
            Work::Download(download) => download.tick(now_us, armed, &mut report),
        }
        report
    }
}
