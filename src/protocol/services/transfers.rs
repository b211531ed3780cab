//! The hub's mission transfers: an upload is followed by a download that verifies it; a
//! download hands its items over; a clear waits for its ACK. One transfer per vehicle at a time
//! (the protocol cannot tell two apart).

use mavlink::dialects::ardupilotmega as apm;

use super::mission::{Transfer, TransferEnd, WireItem, MAX_SILENT_STEPS};
use super::{Action, MissionKind, Outbound, Outcome, RequestId, ServiceEvent, Target};
use crate::protocol::{FrameHeader, MavMessage};

/// What a transfer request starts as.
pub(super) struct Start {
    id: RequestId,
    target: Target,
    kind: MissionKind,
    /// ArduPilot replaces mission item 0 with its home: not compared on verifying.
    skip_home: bool,
    what: What,
    now_us: u64,
}

enum What {
    Upload(Vec<WireItem>),
    Download,
    Clear,
}

/// The transfer an action asks for, if it is one.
pub(super) fn start(
    now_us: u64,
    id: RequestId,
    target: Target,
    ardupilot: bool,
    action: &Action,
) -> Option<Start> {
    let (kind, what) = match action {
        Action::UploadMission { kind, items } => (*kind, What::Upload(items.clone())),
        Action::DownloadMission { kind } => (*kind, What::Download),
        Action::ClearMission { kind } => (*kind, What::Clear),
        _ => return None,
    };
    Some(Start {
        id,
        target,
        kind,
        skip_home: ardupilot && kind == MissionKind::Mission,
        what,
        now_us,
    })
}

enum Phase {
    Uploading,
    /// Reading back what was uploaded.
    Verifying(Vec<WireItem>),
    Downloading,
    Clearing,
}

struct Job {
    id: RequestId,
    target: Target,
    kind: MissionKind,
    skip_home: bool,
    transfer: Transfer,
    phase: Phase,
    /// An upload's items, kept to start it again after a NO_SPACE.
    upload: Option<Vec<WireItem>>,
    /// NO_SPACE answers so far, and when the upload starts again.
    no_space: u32,
    waiting_until_us: Option<u64>,
}

impl super::ServiceJob for Job {
    fn request(&self) -> RequestId {
        self.id
    }
}

/// ArduPilot answers NO_SPACE in its first seconds after boot, before its mission storage is
/// up: an upload so refused starts again this often, this many times, before it is refused.
const NO_SPACE_RETRIES: u32 = 5;
const NO_SPACE_WAIT_US: u64 = 2_000_000;

/// The transfers in progress.
#[derive(Default)]
pub(super) struct Transfers {
    jobs: Vec<Job>,
}

impl Transfers {
    pub(super) fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Starts a transfer; its first messages, or why it cannot start.
    pub(super) fn begin(&mut self, start: Start) -> Result<Vec<MavMessage>, String> {
        if self
            .jobs
            .iter()
            .any(|job| job.target.system_id == start.target.system_id)
        {
            return Err("another mission transfer with this vehicle is still running".to_owned());
        }
        let mission_type = start.kind.mission_type();
        let mut upload = None;
        let ((transfer, first), phase) = match start.what {
            What::Upload(items) => {
                upload = Some(items.clone());
                (
                    Transfer::upload(start.now_us, start.target, mission_type, items),
                    Phase::Uploading,
                )
            }
            What::Download => (
                Transfer::download(start.now_us, start.target, mission_type),
                Phase::Downloading,
            ),
            What::Clear => (
                Transfer::clear(start.now_us, start.target, mission_type),
                Phase::Clearing,
            ),
        };
        self.jobs.push(Job {
            id: start.id,
            target: start.target,
            kind: start.kind,
            skip_home: start.skip_home,
            transfer,
            phase,
            upload,
            no_space: 0,
            waiting_until_us: None,
        });
        Ok(first)
    }

    /// Removes a transfer; whether there was one.
    pub(super) fn remove(&mut self, id: RequestId) -> bool {
        super::take_job(&mut self.jobs, id).is_some()
    }

    /// Ends every transfer (the link is gone); their ids.
    pub(super) fn drain_ids(&mut self) -> Vec<RequestId> {
        super::drain_jobs(&mut self.jobs)
    }

    pub(super) fn on_message(
        &mut self,
        now_us: u64,
        header: &FrameHeader,
        message: &MavMessage,
    ) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        self.each(now_us, |transfer| {
            transfer.on_message(now_us, header, message)
        })
    }

    pub(super) fn tick(&mut self, now_us: u64) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        self.each(now_us, |transfer| transfer.tick(now_us))
    }

    fn each(
        &mut self,
        now_us: u64,
        mut poll_of: impl FnMut(&mut Transfer) -> super::mission::TransferPoll,
    ) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        let mut index = 0;
        while index < self.jobs.len() {
            let job = &mut self.jobs[index];
            if let Some(until) = job.waiting_until_us {
                if now_us >= until {
                    job.waiting_until_us = None;
                    let items = job.upload.clone().unwrap_or_default();
                    let (transfer, first) =
                        Transfer::upload(now_us, job.target, job.kind.mission_type(), items);
                    job.transfer = transfer;
                    out.extend(first.into_iter().map(|message| Outbound {
                        message,
                        request: Some(job.id),
                    }));
                }
                index += 1;
                continue;
            }
            let poll = poll_of(&mut job.transfer);
            out.extend(poll.send.into_iter().map(|message| Outbound {
                message,
                request: Some(job.id),
            }));
            if let Some((done, total)) = poll.progress {
                let share = f32::from(done) / f32::from(total.max(1));
                // An upload is the first half of upload-and-verify.
                let percent = match job.phase {
                    Phase::Uploading => share * 50.0,
                    Phase::Verifying(_) => 50.0 + share * 50.0,
                    _ => share * 100.0,
                };
                events.push(ServiceEvent::Progress {
                    id: job.id,
                    percent: Some(percent.clamp(0.0, 100.0) as u8),
                });
            }
            let Some(end) = poll.ended else {
                index += 1;
                continue;
            };
            match finish(job, end, now_us) {
                Next::Wait(words) => {
                    events.push(ServiceEvent::Step {
                        id: job.id,
                        step: words,
                    });
                    index += 1;
                }
                Next::Continue(first) => {
                    out.extend(first.into_iter().map(|message| Outbound {
                        message,
                        request: Some(job.id),
                    }));
                    index += 1;
                }
                Next::End(mission, outcome) => {
                    let id = job.id;
                    if let Some(items) = mission {
                        events.push(ServiceEvent::Mission {
                            id,
                            kind: job.kind,
                            items,
                        });
                    }
                    events.push(ServiceEvent::Finished { id, outcome });
                    self.jobs.remove(index);
                }
            }
        }
        (out, events)
    }
}

enum Next {
    /// The next phase started with these messages.
    Continue(Vec<MavMessage>),
    /// The upload starts again after a wait (the vehicle was not ready); why, in words.
    Wait(String),
    /// The request ends: downloaded items (for a download) and the outcome.
    End(Option<Vec<WireItem>>, Outcome),
}

fn step_name(job: &Job) -> String {
    match job.phase {
        Phase::Uploading => format!("upload {}", job.kind.name()),
        Phase::Verifying(_) => format!("read back {}", job.kind.name()),
        Phase::Downloading => format!("download {}", job.kind.name()),
        Phase::Clearing => format!("clear {}", job.kind.name()),
    }
}

fn finish(job: &mut Job, end: TransferEnd, now_us: u64) -> Next {
    let step = step_name(job);
    let refused = |result: String, reason: Vec<String>| Outcome::Refused {
        step: step.clone(),
        result,
        reason,
    };
    match (std::mem::replace(&mut job.phase, Phase::Clearing), end) {
        (Phase::Uploading, TransferEnd::Done(items) | TransferEnd::Unacknowledged(items)) => {
            let (transfer, first) = Transfer::download(now_us, job.target, job.kind.mission_type());
            job.transfer = transfer;
            job.phase = Phase::Verifying(items);
            Next::Continue(first)
        }
        (Phase::Verifying(sent), TransferEnd::Done(read)) => {
            let differences = compare(
                &sent,
                &read,
                job.skip_home,
                job.kind == MissionKind::Mission,
            );
            if differences.is_empty() {
                Next::End(None, Outcome::Accepted)
            } else {
                Next::End(None, refused("DIFFERENT".to_owned(), differences))
            }
        }
        (Phase::Uploading, TransferEnd::Refused(apm::MavMissionResult::MAV_MISSION_NO_SPACE))
            if job.no_space < NO_SPACE_RETRIES && job.upload.is_some() =>
        {
            job.phase = Phase::Uploading;
            job.no_space += 1;
            job.waiting_until_us = Some(now_us + NO_SPACE_WAIT_US);
            Next::Wait(format!(
                "{step}: the vehicle answered NO_SPACE (not ready after boot?), trying again ({} of {NO_SPACE_RETRIES})",
                job.no_space
            ))
        }
        (Phase::Downloading, TransferEnd::Done(items)) => Next::End(Some(items), Outcome::Accepted),
        (Phase::Clearing, TransferEnd::Done(_)) => Next::End(None, Outcome::Accepted),
        (_, TransferEnd::Refused(result)) => {
            let name = format!("{result:?}")
                .trim_start_matches("MAV_MISSION_")
                .to_owned();
            Next::End(None, refused(name, Vec::new()))
        }
        (_, TransferEnd::TimedOut { step: what }) => Next::End(
            None,
            Outcome::TimedOut {
                step: format!("{step} ({what})"),
                attempts: MAX_SILENT_STEPS + 1,
            },
        ),
        (_, end) => Next::End(None, refused(format!("{end:?}"), Vec::new())),
    }
}

/// What differs between items sent and read back, in words; float32 rounding allowed, and a
/// parameter sent unset (0 or NaN) may come back as the vehicle's default. For
/// fence and rally points only what the vehicle keeps counts: command, position, param 1 and
/// altitude (ArduPilot stores them in its own frame, without autocontinue or other params).
fn compare(
    sent: &[WireItem],
    read: &[WireItem],
    skip_home: bool,
    whole_items: bool,
) -> Vec<String> {
    if sent.len() != read.len() {
        return vec![format!(
            "{} items sent, {} read back",
            sent.len(),
            read.len()
        )];
    }
    let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
    // A parameter left unset (0 or NaN) may come back as the vehicle's own default (ArduPilot
    // answers 1 in a LAND's param 4): only a value the operator set must come back as sent.
    let kept_param = |a: f32, b: f32| same(a, b) || a == 0.0 || a.is_nan();
    sent.iter()
        .zip(read)
        .enumerate()
        .skip(usize::from(skip_home))
        .filter(|(_, (a, b))| {
            let kept = a.command == b.command
                && a.x == b.x
                && a.y == b.y
                && same(a.z, b.z)
                && kept_param(a.param1, b.param1);
            let rest = a.frame == b.frame
                && kept_param(a.param2, b.param2)
                && kept_param(a.param3, b.param3)
                && kept_param(a.param4, b.param4)
                && a.autocontinue == b.autocontinue;
            !(kept && (rest || !whole_items))
        })
        .map(|(seq, (a, b))| format!("item {seq}: sent {}, read back {}", words(a), words(b)))
        .collect()
}

fn words(item: &WireItem) -> String {
    format!(
        "{:?} {:?} params {} {} {} {} at {} {} {} autocontinue {}",
        item.command,
        item.frame,
        item.param1,
        item.param2,
        item.param3,
        item.param4,
        item.x,
        item.y,
        item.z,
        item.autocontinue
    )
}
