//! The hub's parameter work, without I/O: fetching every parameter (ArduPilot's packed file
//! over MAVLink FTP first, then the classic PARAM_REQUEST_LIST with the missing ones asked for
//! by index), reading some by name, and setting some (PARAM_SET, confirmed only by the
//! vehicle's PARAM_VALUE echo of the same value, sent again on silence).
//!
//! Integer parameters travel in PARAM_VALUE's float as the autopilot expects: ArduPilot casts
//! the number to float; other autopilots (PX4) put the integer's bytes in the float's place.
//! The autopilot's heartbeat decides, per component.

use std::collections::{BTreeMap, BTreeSet};

use mavlink::dialects::ardupilotmega as apm;

use super::ftp::{FtpEnd, FtpTransfer};
use super::{Action, Outbound, Outcome, RequestId, ServiceEvent, Target};
use crate::params::{self, Param, ParamType};
use crate::protocol::{FrameHeader, MavMessage};

/// The packed file, with the vehicle's defaults.
pub const PARAM_FILE: &str = "@PARAM/param.pck?withdefaults=1";
/// Quiet time of the list before missing parameters are asked for, and between rounds.
const LIST_QUIET_US: u64 = 1_000_000;
/// Parameters asked for by index in one round.
const ASK_PER_ROUND: usize = 20;
/// Rounds in a row that bring nothing before a fetch ends with what it has.
const MAX_EMPTY_ROUNDS: u32 = 6;
/// How long a read or a set waits before asking again, and how many times it asks.
const ANSWER_TIMEOUT_US: u64 = 1_000_000;
const MAX_TRIES: u32 = 4;
/// Files read whole by FTP that may fail to decode before the fetch uses the list.
const MAX_BAD_FILES: u32 = 2;
/// How long FTP may take to answer its first request before the fetch uses the list.
const FTP_FIRST_ANSWER_US: u64 = 3_000_000;

/// How integers ride in PARAM_VALUE's float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The number cast to float (ArduPilot).
    Cast,
    /// The integer's bytes in the float's place (PX4).
    Bytewise,
}

impl Encoding {
    pub fn of(autopilot: apm::MavAutopilot) -> Self {
        match autopilot {
            apm::MavAutopilot::MAV_AUTOPILOT_PX4 => Self::Bytewise,
            _ => Self::Cast,
        }
    }

    /// The value of a PARAM_VALUE's float of `kind`.
    pub fn decode(self, raw: f32, kind: ParamType) -> f64 {
        if self == Self::Cast || !kind.is_integer() {
            return f64::from(raw);
        }
        let bits = raw.to_bits();
        match kind {
            ParamType::Uint8 => f64::from(bits as u8),
            ParamType::Int8 => f64::from(bits as u8 as i8),
            ParamType::Uint16 => f64::from(bits as u16),
            ParamType::Int16 => f64::from(bits as u16 as i16),
            ParamType::Uint32 => f64::from(bits),
            _ => f64::from(bits as i32),
        }
    }

    /// The float PARAM_SET carries for `value` of `kind`.
    pub fn encode(self, value: f64, kind: ParamType) -> f32 {
        if self == Self::Cast || !kind.is_integer() {
            return value as f32;
        }
        let bits = match kind {
            ParamType::Uint8 | ParamType::Uint16 | ParamType::Uint32 => value as u32,
            _ => value as i32 as u32,
        };
        f32::from_bits(bits)
    }
}

fn kind_of(raw: apm::MavParamType) -> Option<ParamType> {
    ParamType::from_number(raw as u8)
}

fn raw_kind(kind: ParamType) -> apm::MavParamType {
    use num_traits::FromPrimitive;
    apm::MavParamType::from_u8(kind.number()).unwrap_or(apm::MavParamType::MAV_PARAM_TYPE_REAL32)
}

/// A PARAM_VALUE from `target`, as a parameter with its index and the vehicle's count.
fn value_of(
    header: &FrameHeader,
    message: &MavMessage,
    target: Target,
    encoding: Encoding,
) -> Option<(Param, u16, u16)> {
    let MavMessage::PARAM_VALUE(value) = message else {
        return None;
    };
    if header.system_id != target.system_id || header.component_id != target.component_id {
        return None;
    }
    let kind = kind_of(value.param_type);
    let number = kind.map_or(f64::from(value.param_value), |kind| {
        encoding.decode(value.param_value, kind)
    });
    let name = params::name_from_bytes(&value.param_id[..]);
    Some((
        Param::new(name, number, kind),
        value.param_index,
        value.param_count,
    ))
}

fn name_field(name: &str) -> mavlink::types::CharArray<16> {
    name.into()
}

fn request_list(target: Target) -> MavMessage {
    MavMessage::PARAM_REQUEST_LIST(apm::PARAM_REQUEST_LIST_DATA {
        target_system: target.system_id,
        target_component: target.component_id,
    })
}

fn read_by_index(target: Target, index: u16) -> MavMessage {
    MavMessage::PARAM_REQUEST_READ(apm::PARAM_REQUEST_READ_DATA {
        param_index: index as i16,
        target_system: target.system_id,
        target_component: target.component_id,
        param_id: name_field(""),
    })
}

fn read_by_name(target: Target, name: &str) -> MavMessage {
    MavMessage::PARAM_REQUEST_READ(apm::PARAM_REQUEST_READ_DATA {
        param_index: -1,
        target_system: target.system_id,
        target_component: target.component_id,
        param_id: name_field(name),
    })
}

fn set(target: Target, name: &str, value: f64, kind: ParamType, encoding: Encoding) -> MavMessage {
    MavMessage::PARAM_SET(apm::PARAM_SET_DATA {
        param_value: encoding.encode(value, kind),
        target_system: target.system_id,
        target_component: target.component_id,
        param_id: name_field(name),
        param_type: raw_kind(kind),
    })
}

enum Work {
    /// FTP first; `None` once it gave way to the list.
    Fetch {
        ftp: Option<FtpTransfer>,
        ftp_answered: bool,
        /// Whole files read that did not decode.
        ftp_bad_files: u32,
        started_us: u64,
        count: Option<u16>,
        got: BTreeMap<u16, Param>,
        quiet_since_us: u64,
        empty_rounds: u32,
        got_at_last_round: usize,
    },
    /// Reads by name: what is still wanted, and what came.
    Get {
        wanted: BTreeSet<String>,
        got: Vec<Param>,
        tries: u32,
        deadline_us: u64,
    },
    /// Sets one by one: the ones to do, each name's known type; the one in hand.
    Set {
        todo: Vec<(String, f64)>,
        types: BTreeMap<String, ParamType>,
        current: Option<SetStep>,
        failed: Vec<String>,
    },
}

struct SetStep {
    name: String,
    value: f64,
    /// Known once the vehicle said; until then the step reads the parameter first.
    kind: Option<ParamType>,
    tries: u32,
    deadline_us: u64,
}

struct Job {
    id: RequestId,
    target: Target,
    encoding: Encoding,
    work: Work,
}

impl super::ServiceJob for Job {
    fn request(&self) -> RequestId {
        self.id
    }
}

/// The parameter requests in progress.
#[derive(Default)]
pub(super) struct ParamJobs {
    jobs: Vec<Job>,
    /// Types seen per vehicle, for sets that follow a fetch.
    types: BTreeMap<Target, BTreeMap<String, ParamType>>,
}

/// What a job reports from one look.
#[derive(Default)]
struct Report {
    send: Vec<MavMessage>,
    events: Vec<ServiceEvent>,
    outcome: Option<Outcome>,
}

impl ParamJobs {
    pub(super) fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether `action` is parameter work.
    pub(super) fn handles(action: &Action) -> bool {
        matches!(
            action,
            Action::FetchParams { .. } | Action::GetParams { .. } | Action::SetParams { .. }
        )
    }

    /// Starts a request; its first messages, or why it cannot start.
    pub(super) fn begin(
        &mut self,
        now_us: u64,
        id: RequestId,
        target: Target,
        autopilot: apm::MavAutopilot,
        action: &Action,
    ) -> Result<Vec<Outbound>, String> {
        let encoding = Encoding::of(autopilot);
        let (work, first) = match action {
            Action::FetchParams { ftp: use_ftp } => {
                if self
                    .jobs
                    .iter()
                    .any(|job| job.target == target && matches!(job.work, Work::Fetch { .. }))
                {
                    return Err("a fetch of this vehicle's parameters is still running".to_owned());
                }
                let (ftp, first) = if *use_ftp {
                    let (ftp, first) = FtpTransfer::read(now_us, target, PARAM_FILE);
                    (Some(ftp), first)
                } else {
                    (None, vec![request_list(target)])
                };
                (
                    Work::Fetch {
                        ftp,
                        ftp_answered: false,
                        ftp_bad_files: 0,
                        started_us: now_us,
                        count: None,
                        got: BTreeMap::new(),
                        quiet_since_us: now_us,
                        empty_rounds: 0,
                        got_at_last_round: 0,
                    },
                    first,
                )
            }
            Action::GetParams { names } => {
                if let Some(bad) = names.iter().find(|name| !params::valid_name(name)) {
                    return Err(format!("`{bad}` is not a parameter name"));
                }
                let first = names
                    .iter()
                    .map(|name| read_by_name(target, name))
                    .collect();
                (
                    Work::Get {
                        wanted: names.iter().cloned().collect(),
                        got: Vec::new(),
                        tries: 1,
                        deadline_us: now_us + ANSWER_TIMEOUT_US,
                    },
                    first,
                )
            }
            Action::SetParams { values } => {
                if let Some((bad, _)) = values.iter().find(|(name, _)| !params::valid_name(name)) {
                    return Err(format!("`{bad}` is not a parameter name"));
                }
                if let Some((name, value)) = values.iter().find(|(_, v)| !v.is_finite()) {
                    return Err(format!("{name}: {value} is not a value"));
                }
                let mut work = Work::Set {
                    todo: values.iter().rev().cloned().collect(),
                    types: self.types.get(&target).cloned().unwrap_or_default(),
                    current: None,
                    failed: Vec::new(),
                };
                let mut report = Report::default();
                next_set(&mut work, now_us, target, encoding, &mut report, id);
                if let Some(Outcome::Refused { reason, .. }) = report.outcome {
                    return Err(reason.join("; "));
                }
                (work, report.send)
            }
            _ => return Err("not a parameter request".to_owned()),
        };
        self.jobs.push(Job {
            id,
            target,
            encoding,
            work,
        });
        Ok(first
            .into_iter()
            .map(|message| Outbound {
                message,
                request: Some(id),
            })
            .collect())
    }

    pub(super) fn remove(&mut self, id: RequestId) -> bool {
        super::take_job(&mut self.jobs, id).is_some()
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
        self.each(|job| job_message(job, now_us, header, message))
    }

    pub(super) fn tick(&mut self, now_us: u64) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        self.each(|job| job_tick(job, now_us))
    }

    fn each(
        &mut self,
        mut look: impl FnMut(&mut Job) -> Report,
    ) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        let mut index = 0;
        while index < self.jobs.len() {
            let report = look(&mut self.jobs[index]);
            let job = &self.jobs[index];
            out.extend(report.send.into_iter().map(|message| Outbound {
                message,
                request: Some(job.id),
            }));
            for event in &report.events {
                if let ServiceEvent::Params { params, .. } = event {
                    let types = self.types.entry(job.target).or_default();
                    for param in params {
                        if let Some(kind) = param.kind {
                            types.insert(param.name.clone(), kind);
                        }
                    }
                }
            }
            events.extend(report.events);
            match report.outcome {
                Some(outcome) => {
                    events.push(ServiceEvent::Finished {
                        id: job.id,
                        outcome,
                    });
                    self.jobs.remove(index);
                }
                None => index += 1,
            }
        }
        (out, events)
    }
}

fn incomplete(step: &str, result: &str, reason: Vec<String>) -> Outcome {
    Outcome::Refused {
        step: step.to_owned(),
        result: result.to_owned(),
        reason,
    }
}

/// A fetch is over: its parameters, and whether every one came.
fn fetch_done(id: RequestId, params: Vec<Param>, total: u16, via: &str, report: &mut Report) {
    let missing: Vec<u16> = Vec::new();
    let count = params.len();
    report.events.push(ServiceEvent::Params {
        id,
        params,
        total,
        missing: missing.clone(),
        via: via.to_owned(),
    });
    report.outcome = Some(if count >= usize::from(total) {
        Outcome::Accepted
    } else {
        incomplete(
            "fetch parameters",
            "INCOMPLETE",
            vec![format!("{count} of {total}")],
        )
    });
}

/// The FTP side of a fetch, when its transfer ended.
struct FtpFetch<'a> {
    ftp: &'a mut Option<FtpTransfer>,
    bad_files: &'a mut u32,
    quiet_since_us: &'a mut u64,
}

impl FtpFetch<'_> {
    /// A decoded file ends the fetch; a file that does not decode is read again (ArduPilot
    /// makes it up as it is read: parameters that change mid-read, such as sensor ids and
    /// defaults seconds after boot, shift what the holes are filled with, and a second read
    /// takes seconds); anything else gives way to the list.
    fn ended(
        &mut self,
        id: RequestId,
        target: Target,
        now_us: u64,
        end: FtpEnd,
        report: &mut Report,
    ) {
        let reason = match end {
            FtpEnd::File(bytes) => match params::pck::decode(&bytes) {
                Ok(packed) => {
                    *self.ftp = None;
                    fetch_done(id, packed.params, packed.total, "ftp", report);
                    return;
                }
                Err(error) if *self.bad_files < MAX_BAD_FILES => {
                    *self.bad_files += 1;
                    let (again, first) = FtpTransfer::read(now_us, target, PARAM_FILE);
                    *self.ftp = Some(again);
                    report.send.extend(first);
                    report.events.push(ServiceEvent::Step {
                        id,
                        step: format!("fetch by FTP again ({error})"),
                    });
                    return;
                }
                Err(error) => error.to_string(),
            },
            FtpEnd::Refused { op, reason } => format!("{op}: {reason}"),
            FtpEnd::TimedOut { op } => format!("{op}: no answer"),
            FtpEnd::Listing(_) | FtpEnd::Streamed => "not the file's bytes".to_owned(),
        };
        *self.ftp = None;
        *self.quiet_since_us = now_us;
        report.send.push(request_list(target));
        report.events.push(ServiceEvent::Step {
            id,
            step: format!("fetch by PARAM_REQUEST_LIST (FTP: {reason})"),
        });
    }
}

fn job_message(job: &mut Job, now_us: u64, header: &FrameHeader, message: &MavMessage) -> Report {
    let mut report = Report::default();
    let (id, target, encoding) = (job.id, job.target, job.encoding);
    match &mut job.work {
        Work::Fetch {
            ftp,
            ftp_answered,
            ftp_bad_files,
            count,
            got,
            quiet_since_us,
            ..
        } => {
            if let Some(transfer) = ftp {
                let poll = transfer.on_message(now_us, header, message);
                if matches!(message, MavMessage::FILE_TRANSFER_PROTOCOL(_))
                    && header.system_id == target.system_id
                {
                    *ftp_answered = true;
                }
                report.send.extend(poll.send);
                if let Some((done, size)) = poll.progress {
                    report.events.push(ServiceEvent::Progress {
                        id,
                        percent: Some((done * 100 / size.max(1)).min(100) as u8),
                    });
                }
                if let Some(end) = poll.ended {
                    let mut fetch = FtpFetch {
                        ftp,
                        bad_files: ftp_bad_files,
                        quiet_since_us,
                    };
                    fetch.ended(id, target, now_us, end, &mut report);
                }
                return report;
            }
            let Some((param, index, total)) = value_of(header, message, target, encoding) else {
                return report;
            };
            if total == 0 || index >= total {
                return report;
            }
            *count = Some(total);
            *quiet_since_us = now_us;
            let before = got.len();
            got.insert(index, param);
            if got.len() != before && got.len() % 50 == 0 {
                report.events.push(ServiceEvent::Progress {
                    id,
                    percent: Some((got.len() * 100 / usize::from(total)).min(100) as u8),
                });
            }
            if got.len() == usize::from(total) {
                let params = std::mem::take(got).into_values().collect();
                fetch_done(id, params, total, "list", &mut report);
            }
        }
        Work::Get { wanted, got, .. } => {
            if let Some((param, _, _)) = value_of(header, message, target, encoding) {
                if wanted.remove(&param.name) {
                    got.push(param.clone());
                    report.events.push(ServiceEvent::ParamValue {
                        id,
                        name: param.name.clone(),
                        result: Ok(param),
                    });
                }
                if wanted.is_empty() {
                    report.outcome = Some(Outcome::Accepted);
                }
            }
        }
        Work::Set { .. } => {
            let Some((param, _, _)) = value_of(header, message, target, encoding) else {
                return report;
            };
            let Work::Set {
                current,
                types,
                failed,
                ..
            } = &mut job.work
            else {
                return report;
            };
            let Some(step) = current.as_mut().filter(|step| step.name == param.name) else {
                return report;
            };
            if let Some(kind) = param.kind {
                types.insert(param.name.clone(), kind);
            }
            match step.kind {
                None => {
                    // The read before the set: now the type is known.
                    let Some(kind) = param.kind else {
                        failed.push(format!("{}: the vehicle did not say its type", param.name));
                        *current = None;
                        next_set(&mut job.work, now_us, target, encoding, &mut report, id);
                        return report;
                    };
                    if !kind.holds(step.value) {
                        let words = format!(
                            "{}: {} does not fit its type {}",
                            step.name,
                            step.value,
                            kind.name()
                        );
                        report.events.push(ServiceEvent::ParamValue {
                            id,
                            name: step.name.clone(),
                            result: Err(words.clone()),
                        });
                        failed.push(words);
                        *current = None;
                    } else {
                        step.kind = Some(kind);
                        step.tries = 1;
                        step.deadline_us = now_us + ANSWER_TIMEOUT_US;
                        report
                            .send
                            .push(set(target, &step.name, step.value, kind, encoding));
                        return report;
                    }
                }
                Some(_) => {
                    if params::same_value(param.value, step.value) {
                        report.events.push(ServiceEvent::ParamValue {
                            id,
                            name: param.name.clone(),
                            result: Ok(param),
                        });
                    } else {
                        let words = format!(
                            "{}: the vehicle kept {} (asked {})",
                            step.name, param.value, step.value
                        );
                        report.events.push(ServiceEvent::ParamValue {
                            id,
                            name: step.name.clone(),
                            result: Err(words.clone()),
                        });
                        failed.push(words);
                    }
                    *current = None;
                }
            }
            next_set(&mut job.work, now_us, target, encoding, &mut report, id);
        }
    }
    report
}

/// Starts the next set, or ends the request when none is left.
fn next_set(
    work: &mut Work,
    now_us: u64,
    target: Target,
    encoding: Encoding,
    report: &mut Report,
    id: RequestId,
) {
    let Work::Set {
        todo,
        types,
        current,
        failed,
    } = work
    else {
        return;
    };
    while current.is_none() {
        let Some((name, value)) = todo.pop() else {
            report.outcome = Some(if failed.is_empty() {
                Outcome::Accepted
            } else {
                incomplete("set parameters", "NOT CONFIRMED", failed.clone())
            });
            return;
        };
        let kind = types.get(&name).copied();
        if let Some(kind) = kind.filter(|kind| !kind.holds(value)) {
            let words = format!("{name}: {value} does not fit its type {}", kind.name());
            report.events.push(ServiceEvent::ParamValue {
                id,
                name: name.clone(),
                result: Err(words.clone()),
            });
            failed.push(words);
            continue;
        }
        report.send.push(match kind {
            Some(kind) => set(target, &name, value, kind, encoding),
            None => read_by_name(target, &name),
        });
        *current = Some(SetStep {
            name,
            value,
            kind,
            tries: 1,
            deadline_us: now_us + ANSWER_TIMEOUT_US,
        });
    }
}

fn job_tick(job: &mut Job, now_us: u64) -> Report {
    let mut report = Report::default();
    let (id, target, encoding) = (job.id, job.target, job.encoding);
    match &mut job.work {
        Work::Fetch {
            ftp,
            ftp_answered,
            ftp_bad_files,
            started_us,
            count,
            got,
            quiet_since_us,
            empty_rounds,
            got_at_last_round,
        } => {
            if let Some(transfer) = ftp {
                let poll = transfer.tick(now_us);
                report.send.extend(poll.send);
                let silent = !*ftp_answered && now_us >= *started_us + FTP_FIRST_ANSWER_US;
                let end = match poll.ended {
                    Some(end) => end,
                    None if silent => {
                        report.send.clear();
                        FtpEnd::TimedOut {
                            op: "first answer".to_owned(),
                        }
                    }
                    None => return report,
                };
                let mut fetch = FtpFetch {
                    ftp,
                    bad_files: ftp_bad_files,
                    quiet_since_us,
                };
                fetch.ended(id, target, now_us, end, &mut report);
                return report;
            }
            if now_us < *quiet_since_us + LIST_QUIET_US {
                return report;
            }
            *quiet_since_us = now_us;
            if got.len() == *got_at_last_round {
                *empty_rounds += 1;
            } else {
                *empty_rounds = 0;
            }
            *got_at_last_round = got.len();
            let Some(total) = *count else {
                if *empty_rounds > MAX_EMPTY_ROUNDS {
                    report.outcome = Some(Outcome::TimedOut {
                        step: "fetch parameters (PARAM_REQUEST_LIST)".to_owned(),
                        attempts: *empty_rounds,
                    });
                } else {
                    report.send.push(request_list(target));
                }
                return report;
            };
            let missing: Vec<u16> = (0..total).filter(|i| !got.contains_key(i)).collect();
            if *empty_rounds > MAX_EMPTY_ROUNDS {
                let params: Vec<Param> = std::mem::take(got).into_values().collect();
                report.events.push(ServiceEvent::Params {
                    id,
                    params,
                    total,
                    missing: missing.clone(),
                    via: "list".to_owned(),
                });
                let shown: Vec<String> = missing.iter().take(40).map(u16::to_string).collect();
                report.outcome = Some(incomplete(
                    "fetch parameters",
                    "INCOMPLETE",
                    vec![format!(
                        "{} of {total}; missing indices {}{}",
                        usize::from(total) - missing.len(),
                        shown.join(", "),
                        if missing.len() > 40 { ", …" } else { "" }
                    )],
                ));
                return report;
            }
            report.send.extend(
                missing
                    .iter()
                    .take(ASK_PER_ROUND)
                    .map(|index| read_by_index(target, *index)),
            );
        }
        Work::Get {
            wanted,
            got,
            tries,
            deadline_us,
        } => {
            if now_us < *deadline_us {
                return report;
            }
            if *tries >= MAX_TRIES {
                let _ = got;
                report.outcome = Some(incomplete(
                    "read parameters",
                    "NO ANSWER",
                    wanted
                        .iter()
                        .map(|name| format!("{name}: no answer"))
                        .collect(),
                ));
                return report;
            }
            *tries += 1;
            *deadline_us = now_us + ANSWER_TIMEOUT_US;
            report
                .send
                .extend(wanted.iter().map(|name| read_by_name(target, name)));
        }
        Work::Set {
            current, failed, ..
        } => {
            let Some(step) = current.as_mut() else {
                return report;
            };
            if now_us < step.deadline_us {
                return report;
            }
            if step.tries >= MAX_TRIES {
                let words = format!("{}: no answer after {} tries", step.name, step.tries);
                report.events.push(ServiceEvent::ParamValue {
                    id,
                    name: step.name.clone(),
                    result: Err(words.clone()),
                });
                failed.push(words);
                *current = None;
                next_set(&mut job.work, now_us, target, encoding, &mut report, id);
                return report;
            }
            step.tries += 1;
            step.deadline_us = now_us + ANSWER_TIMEOUT_US;
            report.send.push(match step.kind {
                Some(kind) => set(target, &step.name, step.value, kind, encoding),
                None => read_by_name(target, &step.name),
            });
        }
    }
    report
}
