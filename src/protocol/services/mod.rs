//! The ground station's side of the MAVLink micro-services, without I/O.
//!
//! A [`Hub`] takes what the vehicle sends (`(now, header, message)`), clock ticks and the
//! operator's [`Request`]s, and hands back messages to send and [`ServiceEvent`]s. It owns the
//! ground station's presence on the link (heartbeat, telemetry stream requests: [`presence`]),
//! turns each request into the commands the vehicle's autopilot understands ([`plan`]) and runs
//! them as command exchanges ([`command`]). Every request ends in exactly one [`Outcome`]:
//! accepted, refused with the vehicle's reason, timed out after its retries, link lost, or not
//! sent. It never touches a port, a thread or a clock, so tests drive it with a fake clock.

pub mod command;
pub mod ftp;
pub mod log_files;
pub mod logs;
pub mod mission;
pub mod params;
pub mod plan;
pub mod presence;
pub mod ranges;
pub mod signing_setup;
mod transfers;

use std::collections::{BTreeMap, VecDeque};

use mavlink::dialects::ardupilotmega as apm;

use crate::protocol::{outgoing, FrameHeader, MavMessage};
use command::{Answer, Exchange, Poll};
use plan::Step;
use presence::Presence;

/// Identifies one request for its whole life; handed out by whoever submits (the session).
pub type RequestId = u64;

/// How long after a refusal the vehicle's texts are still gathered as its reason: ArduPilot
/// sends the ACK at once and its `PreArm: …` texts just after.
pub const REASON_GRACE_US: u64 = 800_000;
/// How long a vehicle text is kept for a reason.
const TEXT_MEMORY_US: u64 = 10_000_000;
/// Texts up to this severity (0 emergency … 4 warning) explain a refusal.
const REASON_SEVERITY: u8 = 4;

/// A request's job in one of the services' lists (params, transfers, logs, signing setup).
pub(super) trait ServiceJob {
    fn request(&self) -> RequestId;
}

/// Takes request `id`'s job out of a service's `jobs`.
pub(super) fn take_job<J: ServiceJob>(jobs: &mut Vec<J>, id: RequestId) -> Option<J> {
    let index = jobs.iter().position(|job| job.request() == id)?;
    Some(jobs.remove(index))
}

/// Ends every job of a service (the link is gone): their requests.
pub(super) fn drain_jobs<J: ServiceJob>(jobs: &mut Vec<J>) -> Vec<RequestId> {
    jobs.drain(..).map(|job| job.request()).collect()
}

/// A vehicle (system) and one of its components.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Target {
    pub system_id: u8,
    pub component_id: u8,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.system_id, self.component_id)
    }
}

/// What the operator asks a vehicle to do.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Arm,
    Disarm,
    /// Disarm even in flight (the motors stop: the vehicle falls).
    ForceDisarm,
    SetMode {
        name: String,
    },
    /// Climb to `alt_m` above home (Copter: GUIDED, arm, NAV_TAKEOFF).
    Takeoff {
        alt_m: f32,
    },
    Land,
    Rtl,
    /// Stop and hold position (Copter BRAKE, Plane LOITER, Rover HOLD, PX4 Hold).
    Brake,
    /// Fly to a point, `alt_m` above home.
    GoTo {
        lat_deg: f64,
        lon_deg: f64,
        alt_m: f32,
    },
    /// Change the guided altitude to `alt_m` above home, keeping the horizontal target.
    ChangeAltitude {
        alt_m: f32,
    },
    /// Arm if needed and fly the stored mission (ArduPilot: from its current item).
    MissionStart,
    /// Make item `seq` the one the mission flies next (DO_SET_MISSION_CURRENT).
    SetMissionCurrent {
        seq: u16,
    },
    Reboot,
    /// Replace the vehicle's mission, fence or rally points with these items (sequence 0
    /// first: ArduPilot's home for the mission), then read them back to verify.
    UploadMission {
        kind: MissionKind,
        items: Vec<mission::WireItem>,
    },
    /// Read the vehicle's mission, fence or rally points (a [`ServiceEvent::Mission`]).
    DownloadMission {
        kind: MissionKind,
    },
    /// Remove the vehicle's mission, fence or rally points.
    ClearMission {
        kind: MissionKind,
    },
    /// Read every parameter (MAVLink FTP's packed file, else PARAM_REQUEST_LIST): a
    /// [`ServiceEvent::Params`].
    FetchParams {
        /// Try MAVLink FTP first (false: the classic list only).
        ftp: bool,
    },
    /// Read these parameters by name: a [`ServiceEvent::ParamValue`] each.
    GetParams {
        names: Vec<String>,
    },
    /// Set these parameters, each confirmed by the vehicle's echo: a
    /// [`ServiceEvent::ParamValue`] each.
    SetParams {
        values: Vec<(String, f64)>,
    },
    /// List the vehicle's onboard logs: a [`ServiceEvent::Logs`].
    ListLogs,
    /// Download onboard log `log_id` of `size` bytes (as listed), apart from the byte ranges
    /// already held (a resumed download): [`ServiceEvent::LogData`] as the bytes come.
    DownloadLog {
        log_id: u16,
        size: u32,
        #[serde(default)]
        have: Vec<(u32, u32)>,
        /// Log messages, MAVLink FTP, or whichever is faster on the link.
        #[serde(default)]
        via: logs::LogVia,
    },
    /// Erase every onboard log; accepted when the vehicle lists none.
    EraseLogs,
    /// Give the vehicle this ground station's signing key (SETUP_SIGNING, which carries it in
    /// clear: over a wired link only), starting its timestamps here; accepted when the
    /// vehicle's heartbeat comes signed. The key is the session's, never part of the request.
    InstallSigning {
        /// Signing timestamp the vehicle starts from (10 µs units since 2015).
        initial_timestamp: u64,
    },
    /// Turn the vehicle's signing off (SETUP_SIGNING with an all-zero key); accepted when its
    /// heartbeat comes unsigned.
    RemoveSigning,
}

/// Which of a vehicle's lists a mission transfer is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MissionKind {
    Mission,
    Fence,
    Rally,
}

impl MissionKind {
    pub fn mission_type(self) -> apm::MavMissionType {
        match self {
            Self::Mission => apm::MavMissionType::MAV_MISSION_TYPE_MISSION,
            Self::Fence => apm::MavMissionType::MAV_MISSION_TYPE_FENCE,
            Self::Rally => apm::MavMissionType::MAV_MISSION_TYPE_RALLY,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Mission => "mission",
            Self::Fence => "fence",
            Self::Rally => "rally points",
        }
    }
}

impl Action {
    /// The action in the operator's words.
    pub fn describe(&self) -> String {
        match self {
            Self::Arm => "arm".into(),
            Self::Disarm => "disarm".into(),
            Self::ForceDisarm => "force disarm".into(),
            Self::SetMode { name } => format!("mode {}", name.to_uppercase()),
            Self::Takeoff { alt_m } => format!("take off to {alt_m} m"),
            Self::Land => "land".into(),
            Self::Rtl => "return to launch".into(),
            Self::Brake => "brake".into(),
            Self::GoTo {
                lat_deg,
                lon_deg,
                alt_m,
            } => format!("go to {lat_deg:.6}, {lon_deg:.6} at {alt_m} m"),
            Self::ChangeAltitude { alt_m } => format!("change altitude to {alt_m} m"),
            Self::MissionStart => "start the mission".into(),
            Self::SetMissionCurrent { seq } => format!("continue the mission at item {seq}"),
            Self::Reboot => "reboot the autopilot".into(),
            Self::UploadMission { kind, items } => {
                format!("upload the {} ({} items)", kind.name(), items.len())
            }
            Self::DownloadMission { kind } => format!("download the {}", kind.name()),
            Self::ClearMission { kind } => format!("clear the {}", kind.name()),
            Self::FetchParams { .. } => "fetch the parameters".into(),
            Self::GetParams { names } => format!("read {}", names.join(", ")),
            Self::SetParams { values } => {
                let words: Vec<String> = values
                    .iter()
                    .map(|(name, value)| format!("{name} = {value}"))
                    .collect();
                format!("set {}", words.join(", "))
            }
            Self::ListLogs => "list the onboard logs".into(),
            Self::DownloadLog { log_id, size, .. } => {
                format!("download onboard log {log_id} ({size} bytes)")
            }
            Self::EraseLogs => "erase every onboard log".into(),
            Self::InstallSigning { .. } => "install the signing key on the vehicle".into(),
            Self::RemoveSigning => "turn the vehicle's signing off".into(),
        }
    }
}

/// A request: an action for a vehicle (when `target` is `None`, the autopilot with the lowest
/// system and component ids heard on the link).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    pub target: Option<Target>,
    #[serde(flatten)]
    pub action: Action,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    /// The vehicle said no: its result (`DENIED`, `FAILED`, …) for the named step, and the
    /// texts it sent about it.
    Refused {
        step: String,
        result: String,
        reason: Vec<String>,
    },
    /// No answer to the named step after every attempt.
    TimedOut {
        step: String,
        attempts: u32,
    },
    /// The link went away before the answer.
    LinkLost {
        reason: String,
    },
    /// Never sent: the reason says why.
    NotSent {
        reason: String,
    },
    /// The operator stopped it.
    Cancelled,
}

impl Outcome {
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Accepted)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Accepted => f.write_str("accepted"),
            Self::Refused {
                step,
                result,
                reason,
            } => {
                write!(f, "refused ({step}: {result})")?;
                if !reason.is_empty() {
                    write!(f, ": {}", reason.join("; "))?;
                }
                Ok(())
            }
            Self::TimedOut { step, attempts } => {
                write!(f, "timed out ({step}: no answer to {attempts} attempts)")
            }
            Self::LinkLost { reason } => write!(f, "link lost: {reason}"),
            Self::NotSent { reason } => write!(f, "not sent: {reason}"),
            Self::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// What the hub reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceEvent {
    /// A step of a request went out (the first attempt).
    Step { id: RequestId, step: String },
    /// The vehicle is working on it; a percentage when it gives one.
    Progress { id: RequestId, percent: Option<u8> },
    /// The items a download read (sequence 0 first), just before its `Finished`.
    Mission {
        id: RequestId,
        kind: MissionKind,
        items: Vec<mission::WireItem>,
    },
    /// Every parameter a fetch read, with the vehicle's count and the indices it never sent
    /// (`via` says how: `ftp` or `list`), just before its `Finished`.
    Params {
        id: RequestId,
        params: Vec<crate::params::Param>,
        total: u16,
        missing: Vec<u16>,
        via: String,
    },
    /// One parameter read or set, confirmed by the vehicle; or why not.
    ParamValue {
        id: RequestId,
        name: String,
        result: Result<crate::params::Param, String>,
    },
    /// Every onboard log the vehicle lists, just before its `Finished`.
    Logs {
        id: RequestId,
        entries: Vec<logs::LogEntry>,
    },
    /// Bytes of an onboard log, at `offset`, the moment they arrive (each byte once).
    LogData {
        id: RequestId,
        log_id: u16,
        offset: u32,
        bytes: Vec<u8>,
    },
    /// The one outcome of a request.
    Finished { id: RequestId, outcome: Outcome },
}

/// A message for the vehicle, and the request it belongs to (none for the heartbeat).
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub message: MavMessage,
    pub request: Option<RequestId>,
}

/// What the hub knows of a vehicle from what it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenVehicle {
    pub autopilot: apm::MavAutopilot,
    pub vehicle_type: apm::MavType,
    pub custom_mode: u32,
    pub armed: bool,
    pub last_heartbeat_us: u64,
    /// Home's altitude above sea level, metres (HOME_POSITION).
    pub home_alt_msl_m: Option<f64>,
    /// Last position: latitude, longitude in degrees.
    pub position: Option<(f64, f64)>,
    /// The last accepted "go to" point.
    pub goto_target: Option<(f64, f64)>,
}

struct Job {
    id: RequestId,
    target: Target,
    steps: VecDeque<Step>,
    running: Option<Running>,
    /// Set when the job has its outcome; reported and removed by `finish_jobs`.
    ended: Option<Outcome>,
}

struct Running {
    step: Step,
    exchange: Exchange,
    /// Set once the vehicle refused: the answer, and until when texts are gathered.
    refused: Option<(Answer, u64)>,
    /// The fallback is running (so the first wire was unsupported).
    on_fallback: bool,
}

struct Text {
    at_us: u64,
    system_id: u8,
    severity: u8,
    text: String,
}

/// Routes frames to the services and requests to the vehicle; see the module documentation.
pub struct Hub {
    presence: Presence,
    vehicles: BTreeMap<Target, SeenVehicle>,
    jobs: Vec<Job>,
    transfers: transfers::Transfers,
    params: params::ParamJobs,
    logs: logs::LogJobs,
    signing_setups: signing_setup::SigningSetups,
    /// The session's signing key, for SETUP_SIGNING.
    signing_key: Option<crate::protocol::signing::SigningKey>,
    /// Systems whose telemetry is paused for a log download.
    paused: std::collections::BTreeSet<u8>,
    texts: VecDeque<Text>,
    outbound: VecDeque<Outbound>,
    events: VecDeque<ServiceEvent>,
    link_up: bool,
}

impl Hub {
    /// A hub; `act_as_gcs` sends the heartbeat and asks for telemetry.
    /// Whether ArduPilot vehicles are asked for telemetry streams (yes unless told otherwise).
    pub fn set_ask_telemetry(&mut self, ask: bool) {
        self.presence.set_ask_telemetry(ask);
    }

    pub fn new(act_as_gcs: bool) -> Self {
        Self {
            presence: Presence::new(act_as_gcs),
            vehicles: BTreeMap::new(),
            jobs: Vec::new(),
            transfers: transfers::Transfers::default(),
            params: params::ParamJobs::default(),
            logs: logs::LogJobs::default(),
            signing_setups: signing_setup::SigningSetups::default(),
            signing_key: None,
            paused: std::collections::BTreeSet::new(),
            texts: VecDeque::new(),
            outbound: VecDeque::new(),
            events: VecDeque::new(),
            link_up: false,
        }
    }

    /// The key an [`Action::InstallSigning`] gives the vehicle (the session's signing key).
    pub fn set_signing_key(&mut self, key: Option<crate::protocol::signing::SigningKey>) {
        self.signing_key = key;
    }

    /// The link is up (connected at a known baud): the heartbeat may start.
    pub fn link_up(&mut self, now_us: u64) {
        self.link_up = true;
        self.presence.link_up(now_us);
    }

    /// The link is gone: every pending request ends as link lost.
    pub fn link_lost(&mut self, reason: &str) {
        self.link_up = false;
        self.presence.link_down();
        let mut ended = self.transfers.drain_ids();
        ended.extend(self.params.drain_ids());
        ended.extend(self.logs.drain_ids());
        ended.extend(self.signing_setups.drain_ids());
        // A new connection asks for telemetry afresh.
        self.paused.clear();
        for id in ended
            .into_iter()
            .chain(std::mem::take(&mut self.jobs).into_iter().map(|job| job.id))
        {
            self.events.push_back(ServiceEvent::Finished {
                id,
                outcome: Outcome::LinkLost {
                    reason: reason.to_owned(),
                },
            });
        }
    }

    /// Requests still waiting for their outcome.
    pub fn pending(&self) -> usize {
        self.jobs.len()
            + self.transfers.len()
            + self.params.len()
            + self.logs.len()
            + self.signing_setups.len()
    }

    /// The vehicle a request without a target goes to: the autopilot with the lowest
    /// system and component ids (only autopilots' heartbeats are kept).
    pub fn default_target(&self) -> Option<Target> {
        self.vehicles.keys().next().copied()
    }

    /// Starts a request. Its outcome comes as a [`ServiceEvent::Finished`] with `id`.
    pub fn submit(&mut self, now_us: u64, id: RequestId, request: Request) {
        let refuse = |hub: &mut Self, reason: String| {
            hub.events.push_back(ServiceEvent::Finished {
                id,
                outcome: Outcome::NotSent { reason },
            });
        };
        if !self.link_up {
            return refuse(self, "the link is not connected".to_owned());
        }
        let Some(target) = request.target.or_else(|| self.default_target()) else {
            return refuse(
                self,
                "no vehicle has been heard on this link yet".to_owned(),
            );
        };
        let Some(seen) = self.vehicle_of(target) else {
            return refuse(self, format!("no vehicle {target} on this link"));
        };
        let ardupilot = seen.autopilot == apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA;
        if params::ParamJobs::handles(&request.action) {
            match self
                .params
                .begin(now_us, id, target, seen.autopilot, &request.action)
            {
                Ok(out) => self.outbound.extend(out),
                Err(reason) => refuse(self, reason),
            }
            return;
        }
        if logs::handles(&request.action) {
            match self
                .logs
                .begin(now_us, id, target, seen.armed, &request.action)
            {
                Ok(out) => {
                    self.outbound.extend(out);
                    self.pause_telemetry(id);
                }
                Err(reason) => refuse(self, reason),
            }
            return;
        }
        if signing_setup::handles(&request.action) {
            match self.signing_setups.begin(
                now_us,
                id,
                target,
                seen.armed,
                &request.action,
                self.signing_key.as_ref(),
            ) {
                Ok(out) => self.outbound.extend(out),
                Err(reason) => refuse(self, reason),
            }
            return;
        }
        if let Some(start) = transfers::start(now_us, id, target, ardupilot, &request.action) {
            match self.transfers.begin(start) {
                Ok(messages) => {
                    self.outbound
                        .extend(messages.into_iter().map(|message| Outbound {
                            message,
                            request: Some(id),
                        }))
                }
                Err(reason) => refuse(self, reason),
            }
            return;
        }
        match plan::plan(&request.action, seen) {
            Ok(steps) => {
                self.jobs.push(Job {
                    id,
                    target,
                    steps: steps.into(),
                    running: None,
                    ended: None,
                });
                self.advance(now_us);
            }
            Err(reason) => refuse(self, reason),
        }
    }

    /// What is known of `target`'s system (its autopilot's heartbeat).
    fn vehicle_of(&self, target: Target) -> Option<&SeenVehicle> {
        self.vehicles.get(&target).or_else(|| {
            self.vehicles
                .iter()
                .find(|(known, _)| known.system_id == target.system_id)
                .map(|(_, seen)| seen)
        })
    }

    /// Takes one message from the link.
    pub fn on_message(&mut self, now_us: u64, header: &FrameHeader, message: &MavMessage) {
        self.observe(now_us, header, message);
        let (out, events) = self.transfers.on_message(now_us, header, message);
        self.take_transfers(out, events);
        let (out, events) = self.params.on_message(now_us, header, message);
        self.take_transfers(out, events);
        let (out, events) = self.logs.on_message(now_us, header, message);
        self.take_transfers(out, events);
        let events = self.signing_setups.on_message(now_us, header, message);
        self.events.extend(events);
        self.resume_telemetry();
        for index in 0..self.jobs.len() {
            let Some(running) = self.jobs[index].running.as_mut() else {
                continue;
            };
            if running.refused.is_some() {
                continue;
            }
            let poll = running.exchange.on_message(now_us, header, message);
            self.on_poll(now_us, index, poll);
        }
        self.finish_jobs(now_us);
    }

    /// Moves the clock on: heartbeats, retries, timeouts, reasons gathered.
    pub fn tick(&mut self, now_us: u64) {
        let (out, events) = self.transfers.tick(now_us);
        self.take_transfers(out, events);
        let (out, events) = self.params.tick(now_us);
        self.take_transfers(out, events);
        let (out, events) = self.logs.tick(now_us);
        self.take_transfers(out, events);
        let (out, events) = self.signing_setups.tick(now_us);
        self.take_transfers(out, events);
        self.resume_telemetry();
        if self.link_up {
            let requests = self.presence.tick(now_us, &self.vehicles, &self.paused);
            self.outbound
                .extend(requests.into_iter().map(|message| Outbound {
                    message,
                    request: None,
                }));
        }
        for index in 0..self.jobs.len() {
            let Some(running) = self.jobs[index].running.as_mut() else {
                continue;
            };
            let poll = match running.refused {
                Some((answer, until_us)) if now_us >= until_us => Poll::Answered(answer),
                Some(_) => Poll::Idle,
                None => running.exchange.tick(now_us),
            };
            self.on_poll(now_us, index, poll);
        }
        self.finish_jobs(now_us);
        while self
            .texts
            .front()
            .is_some_and(|text| now_us.saturating_sub(text.at_us) > TEXT_MEMORY_US)
        {
            self.texts.pop_front();
        }
    }

    fn take_transfers(&mut self, out: Vec<Outbound>, events: Vec<ServiceEvent>) {
        self.outbound.extend(out);
        self.events.extend(events);
    }

    /// A log download is about to take the link: the telemetry streams this ground station
    /// asked the vehicle for are stopped meanwhile (they would share the radio with it), and
    /// the operator is told.
    fn pause_telemetry(&mut self, id: RequestId) {
        let downloading: Vec<u8> = self.logs.downloading().collect();
        for system_id in downloading {
            if self.paused.contains(&system_id) || !self.presence.asked_system(system_id) {
                continue;
            }
            self.paused.insert(system_id);
            self.outbound.push_back(Outbound {
                message: outgoing::stop_telemetry(system_id),
                request: Some(id),
            });
            self.events.push_back(ServiceEvent::Step {
                id,
                step: "telemetry streams paused while the log downloads".to_owned(),
            });
        }
    }

    /// Streams paused for a download that ended are asked for again (by the presence's next
    /// tick, which sees the system as never asked).
    fn resume_telemetry(&mut self) {
        if self.paused.is_empty() {
            return;
        }
        let downloading: std::collections::BTreeSet<u8> = self.logs.downloading().collect();
        let done: Vec<u8> = self
            .paused
            .iter()
            .copied()
            .filter(|system_id| !downloading.contains(system_id))
            .collect();
        for system_id in done {
            self.paused.remove(&system_id);
            self.presence.forget_system(system_id);
        }
    }

    /// Ends request `id` now with `outcome` (e.g. its frame could not be written, or the
    /// operator cancelled it).
    pub fn abandon(&mut self, id: RequestId, outcome: Outcome) {
        if let Some(stop) = self.logs.remove(id) {
            self.outbound.extend(stop);
            self.resume_telemetry();
            self.events
                .push_back(ServiceEvent::Finished { id, outcome });
            return;
        }
        if self.transfers.remove(id) || self.params.remove(id) || self.signing_setups.remove(id) {
            self.events
                .push_back(ServiceEvent::Finished { id, outcome });
            return;
        }
        if let Some(index) = self.jobs.iter().position(|job| job.id == id) {
            self.jobs.remove(index);
            self.events
                .push_back(ServiceEvent::Finished { id, outcome });
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Outbound> {
        self.outbound.pop_front()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ServiceEvent> {
        self.events.pop_front()
    }

    /// Keeps what requests need to know: heartbeats, home, position, texts.
    fn observe(&mut self, now_us: u64, header: &FrameHeader, message: &MavMessage) {
        let key = Target {
            system_id: header.system_id,
            component_id: header.component_id,
        };
        match message {
            MavMessage::HEARTBEAT(heartbeat) => {
                if heartbeat.autopilot == apm::MavAutopilot::MAV_AUTOPILOT_INVALID
                    || heartbeat.mavtype == apm::MavType::MAV_TYPE_GCS
                {
                    return;
                }
                let seen = self.vehicles.entry(key).or_insert_with(|| SeenVehicle {
                    autopilot: heartbeat.autopilot,
                    vehicle_type: heartbeat.mavtype,
                    custom_mode: 0,
                    armed: false,
                    last_heartbeat_us: now_us,
                    home_alt_msl_m: None,
                    position: None,
                    goto_target: None,
                });
                seen.autopilot = heartbeat.autopilot;
                seen.vehicle_type = heartbeat.mavtype;
                seen.custom_mode = heartbeat.custom_mode;
                seen.armed = heartbeat
                    .base_mode
                    .contains(apm::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED);
                seen.last_heartbeat_us = now_us;
                if !seen.armed {
                    seen.goto_target = None;
                }
            }
            MavMessage::HOME_POSITION(home) => {
                for seen in self.system_mut(header.system_id) {
                    seen.home_alt_msl_m = Some(f64::from(home.altitude) / 1e3);
                }
            }
            MavMessage::GLOBAL_POSITION_INT(position) => {
                let point = (f64::from(position.lat) / 1e7, f64::from(position.lon) / 1e7);
                for seen in self.system_mut(header.system_id) {
                    seen.position = Some(point);
                }
            }
            MavMessage::STATUSTEXT(text) => {
                let words = String::from_utf8_lossy(text.text.as_ref())
                    .trim_end_matches('\0')
                    .trim()
                    .to_owned();
                self.texts.push_back(Text {
                    at_us: now_us,
                    system_id: header.system_id,
                    severity: text.severity as u8,
                    text: words,
                });
            }
            _ => {}
        }
    }

    fn system_mut(&mut self, system_id: u8) -> impl Iterator<Item = &mut SeenVehicle> {
        self.vehicles
            .iter_mut()
            .filter(move |(target, _)| target.system_id == system_id)
            .map(|(_, seen)| seen)
    }

    /// Applies what job `index`'s exchange reported.
    fn on_poll(&mut self, now_us: u64, index: usize, poll: Poll) {
        let job = &mut self.jobs[index];
        let Some(running) = job.running.as_mut() else {
            return;
        };
        match poll {
            Poll::Idle => {}
            Poll::Send(message) => self.outbound.push_back(Outbound {
                message: *message,
                request: Some(job.id),
            }),
            Poll::Progress(percent) => self.events.push_back(ServiceEvent::Progress {
                id: job.id,
                percent,
            }),
            Poll::Answered(answer) if answer.accepted() => {
                // The vehicle said it did it: later plans need not wait for its next heartbeat
                // to know (a takeoff right after "mode GUIDED" and "arm" asks neither again).
                if let Some(seen) = self.vehicles.get_mut(&job.target) {
                    running.step.apply_to(seen);
                }
                job.running = None;
            }
            Poll::Answered(answer)
                if answer.unsupported()
                    && !running.on_fallback
                    && running.step.fallback.is_some() =>
            {
                if let Some(fallback) = running.step.fallback.clone() {
                    running.on_fallback = true;
                    running.exchange = Exchange::new(fallback, job.target);
                    let message = running.exchange.start(now_us);
                    self.outbound.push_back(Outbound {
                        message,
                        request: Some(job.id),
                    });
                }
            }
            // The vehicle said no: its texts of the next moments are gathered as the reason.
            Poll::Answered(answer) if running.refused.is_none() => {
                running.refused = Some((answer, now_us + REASON_GRACE_US));
            }
            // The reason's time is up: the request ends refused.
            Poll::Answered(answer) => {
                let since = running.exchange.started_us;
                let system_id = job.target.system_id;
                let reason = self
                    .texts
                    .iter()
                    .filter(|text| {
                        text.system_id == system_id
                            && text.at_us >= since
                            && text.severity <= REASON_SEVERITY
                    })
                    .map(|text| text.text.clone())
                    .collect();
                job.ended = Some(Outcome::Refused {
                    step: running.step.label.clone(),
                    result: answer.name(),
                    reason,
                });
            }
            Poll::TimedOut { attempts } => {
                job.ended = Some(Outcome::TimedOut {
                    step: running.step.label.clone(),
                    attempts,
                });
            }
        }
    }

    /// Reports and removes the jobs that ended, then starts the next steps.
    fn finish_jobs(&mut self, now_us: u64) {
        let events = &mut self.events;
        self.jobs.retain_mut(|job| match job.ended.take() {
            Some(outcome) => {
                events.push_back(ServiceEvent::Finished {
                    id: job.id,
                    outcome,
                });
                false
            }
            None => true,
        });
        self.advance(now_us);
    }

    /// Starts the next step of every job that has none running; a job with no steps left
    /// has been accepted.
    fn advance(&mut self, now_us: u64) {
        let mut index = 0;
        while index < self.jobs.len() {
            if self.jobs[index].running.is_some() {
                index += 1;
                continue;
            }
            let Some(step) = self.jobs[index].steps.front() else {
                let id = self.jobs[index].id;
                self.jobs.remove(index);
                self.events.push_back(ServiceEvent::Finished {
                    id,
                    outcome: Outcome::Accepted,
                });
                continue;
            };
            let target = self.jobs[index].target;
            let command = step.wire.command();
            // One command of a kind in flight per vehicle: otherwise answers could not be told
            // apart. The step waits for the other one's end.
            let busy = self.jobs.iter().any(|other| {
                other.target.system_id == target.system_id
                    && other
                        .running
                        .as_ref()
                        .is_some_and(|r| r.exchange.wire().command() == command)
            });
            if busy {
                index += 1;
                continue;
            }
            let Some(step) = self.jobs[index].steps.pop_front() else {
                continue;
            };
            let mut exchange = Exchange::new(step.wire.clone(), target);
            let message = exchange.start(now_us);
            let id = self.jobs[index].id;
            self.events.push_back(ServiceEvent::Step {
                id,
                step: step.label.clone(),
            });
            self.outbound.push_back(Outbound {
                message,
                request: Some(id),
            });
            self.jobs[index].running = Some(Running {
                step,
                exchange,
                refused: None,
                on_fallback: false,
            });
            index += 1;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
