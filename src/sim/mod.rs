//! A simulated ArduPilot-style quadcopter speaking real MAVLink 2 on a real pseudo-terminal.
//!
//! [`SimVehicle`] is sans-I/O: it steps its vehicle [`model`] in time, turns it into telemetry
//! frames and answers what the ground station sends — commands with COMMAND_ACK (UNSUPPORTED
//! for what it does not do), texts like ArduPilot's, stream requests. Until a ground station
//! commands it, the demo [`pilot`] flies it. [`run_on_pty`] puts it on a pseudo-terminal it
//! creates, paced to the baud rate, with optional fault injection (garbage bytes, flipped bits,
//! dropped frames). It is the demo vehicle and the test peer; it never touches the flight record.

mod auto;
mod commands;
pub mod ftp;
pub mod logs;
mod mission;
pub mod model;
pub mod params;
pub mod pilot;
mod telemetry;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use mavlink::dialects::ardupilotmega as apm;

use crate::protocol::frame::{FrameHeader, Parsed};
use crate::protocol::{self, Framer, MavMessage, Outgoing};
use model::Model;
use pilot::DemoPilot;
use telemetry::{statustext, Schedule};

/// The vehicle's system id.
pub const SYSTEM_ID: u8 = 1;
/// The autopilot's component id.
pub const COMPONENT_ID: u8 = 1;

/// Fault injection and pacing for the simulated link.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Chance per frame of a burst of 1–32 random bytes after it.
    pub noise: f64,
    /// Chance per frame that one of its bits is flipped.
    pub corrupt: f64,
    /// Chance per frame that it is never sent (its sequence number is used up).
    pub drop: f64,
    /// Every MAVLink FTP request is refused ("unknown command"), as by a vehicle without FTP.
    pub refuse_ftp: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            noise: 0.0,
            corrupt: 0.0,
            drop: 0.0,
            refuse_ftp: false,
        }
    }
}

/// Simulation step of the model, seconds.
const MODEL_STEP_S: f64 = 0.02;
/// How long a reboot keeps the vehicle silent, seconds.
const REBOOT_S: f64 = 2.0;
/// The version text the vehicle sends at boot.
const BANNER: &str = "ArduCopter V4.5.7 (Airlock simulator)";

/// The simulated vehicle, without I/O.
pub struct SimVehicle {
    outgoing: Outgoing,
    schedule: Schedule,
    framer: Framer,
    faults: Faults,
    rng: fastrand::Rng,
    model: Model,
    pilot: DemoPilot,
    /// Simulation time of the last tick, and of the last boot.
    now_s: f64,
    boot_s: f64,
    /// Silent until then (rebooting).
    rebooting_until_s: Option<f64>,
    gcs_seen: bool,
    /// The mission, fence and rally lists the ground station uploaded.
    missions: mission::MissionStore,
    /// ArduCopter's parameters, kept for the simulator's run (across reboots).
    pub params: params::SimParams,
    ftp: ftp::FtpServer,
    /// The onboard logs and their transfer.
    pub logs: logs::SimLogs,
    /// Bytes the link can take now (log data is paced by it, as ArduPilot's is by its buffer).
    link_room: usize,
    /// Where FTP answers go: the ground station that asked last.
    ftp_peer: crate::protocol::services::Target,
    /// Frames received from the ground station, by message name.
    pub received: std::collections::BTreeMap<String, u64>,
    /// MAVLink 2 signing as ArduPilot does it, once SETUP_SIGNING gave a key.
    signing: Option<SimSigning>,
    /// This port is not the vehicle's USB port: with a key, only signed frames (and a radio's
    /// RADIO_STATUS) are obeyed. ArduPilot takes anything on its first port (SERIAL0, USB).
    pub signing_enforced: bool,
    /// Frames refused for their signature.
    pub refused_unsigned: u64,
}

/// The vehicle's signing: what signs its frames and checks the ground station's.
struct SimSigning {
    signer: crate::protocol::signing::Signer,
    verifier: crate::protocol::signing::Verifier,
}

/// What the vehicle serves by MAVLink FTP.
struct VehicleFiles<'a> {
    params: &'a params::SimParams,
    logs: &'a logs::SimLogs,
}

impl ftp::Files for VehicleFiles<'_> {
    fn file(&self, path: &str) -> Option<Vec<u8>> {
        match path {
            "@PARAM/param.pck" => Some(self.params.packed(false)),
            "@PARAM/param.pck?withdefaults=1" => Some(self.params.packed(true)),
            _ => self.logs.file(path),
        }
    }

    fn dir(&self, path: &str) -> Option<Vec<(String, Option<u64>)>> {
        self.logs.dir(path)
    }
}

impl SimVehicle {
    pub fn new(faults: Faults, seed: u64) -> Self {
        let mut model = Model::new();
        model.texts.push((model::INFO, BANNER.to_owned()));
        let mut missions = mission::MissionStore::default();
        missions.store_mission(&pilot::demo_plan());
        if let Some(items) = missions.take_changed_mission() {
            model.auto.load(items);
            model.auto.events.clear();
        }
        Self {
            outgoing: Outgoing::new(SYSTEM_ID, COMPONENT_ID),
            schedule: Schedule::new(),
            framer: Framer::new(),
            faults,
            rng: fastrand::Rng::with_seed(seed),
            model,
            pilot: DemoPilot::new(true),
            now_s: 0.0,
            boot_s: 0.0,
            rebooting_until_s: None,
            gcs_seen: false,
            missions,
            params: params::SimParams::ardupilot(),
            ftp: ftp::FtpServer::default(),
            logs: logs::SimLogs::new(),
            link_room: usize::MAX,
            ftp_peer: crate::protocol::services::Target {
                system_id: 255,
                component_id: 190,
            },
            received: Default::default(),
            signing: None,
            signing_enforced: false,
            refused_unsigned: 0,
        }
    }

    /// SETUP_SIGNING, as ArduPilot takes it: a key to sign with from now on, or (an all-zero
    /// key and timestamp 0) signing off; ignored while armed.
    fn setup_signing(&mut self, setup: &apm::SETUP_SIGNING_DATA) {
        use crate::protocol::signing::{Signer, SigningKey, Verifier};
        if self.model.armed {
            return;
        }
        if setup.initial_timestamp == 0 && setup.secret_key.iter().all(|&b| b == 0) {
            self.signing = None;
            return;
        }
        let key = SigningKey::from_bytes(setup.secret_key);
        self.signing = Some(SimSigning {
            signer: Signer::new(key.clone(), 0, setup.initial_timestamp),
            verifier: Verifier::new(key),
        });
    }

    /// Whether the vehicle uses its signing (a key is installed).
    pub fn signing(&self) -> bool {
        self.signing.is_some()
    }

    /// No demo: the pilot stays on the ground and the vehicle starts with no mission, as
    /// ArduPilot's SITL does.
    pub fn idle(&mut self) {
        self.pilot.hand_over();
        let home = self.home_item();
        self.missions.store_mission(&[mission::runner_item(&home)]);
        self.sync_mission();
    }

    /// Gives the mission runner the stored mission when it changed.
    fn sync_mission(&mut self) {
        if let Some(items) = self.missions.take_changed_mission() {
            self.model.auto.load(items);
        }
    }

    /// MISSION_CURRENT and MISSION_ITEM_REACHED for what the mission runner did.
    fn mission_events(&mut self) -> Vec<MavMessage> {
        let events: Vec<auto::Event> = self.model.auto.events.drain(..).collect();
        let mut messages = Vec::new();
        for event in events {
            messages.push(match event {
                auto::Event::Reached(seq) => {
                    MavMessage::MISSION_ITEM_REACHED(apm::MISSION_ITEM_REACHED_DATA { seq })
                }
                auto::Event::Current(_) => telemetry::mission_current(&self.model),
            });
        }
        messages
    }

    /// Moves the model on to `now_s` (seconds since the simulator started).
    fn advance(&mut self, now_s: f64) {
        if let Some(until) = self.rebooting_until_s {
            if now_s < until {
                self.now_s = now_s;
                return;
            }
            self.rebooting_until_s = None;
            self.boot_s = until;
            self.model = Model::new();
            self.model.texts.push((model::INFO, BANNER.to_owned()));
            self.model.auto.load(self.missions.mission_for_runner());
            self.model.auto.events.clear();
            self.schedule = Schedule::new();
            self.gcs_seen = false;
        }
        while self.now_s + MODEL_STEP_S <= now_s {
            self.now_s += MODEL_STEP_S;
            self.model.step(MODEL_STEP_S);
            self.pilot.fly(&mut self.model);
        }
    }

    /// Home as the mission's item 0.
    fn home_item(&self) -> crate::protocol::services::mission::WireItem {
        crate::protocol::services::mission::WireItem {
            x: (model::HOME_LAT_DEG * 1e7).round() as i32,
            y: (model::HOME_LON_DEG * 1e7).round() as i32,
            z: model::HOME_ALT_MSL_M as f32,
            command: apm::MavCmd::MAV_CMD_NAV_WAYPOINT,
            frame: apm::MavFrame::MAV_FRAME_GLOBAL,
            autocontinue: 1,
            ..Default::default()
        }
    }

    fn rebooting(&self) -> bool {
        self.rebooting_until_s.is_some()
    }

    /// Answers an FTP request from `from`: the packed parameter file, and the onboard logs in
    /// their folder.
    fn ftp_answer(&mut self, from: (u8, u8), payload: &[u8]) -> Vec<MavMessage> {
        let Some(packet) = crate::protocol::services::ftp::Packet::decode(payload) else {
            return Vec::new();
        };
        self.ftp_peer = crate::protocol::services::Target {
            system_id: from.0,
            component_id: from.1,
        };
        if self.faults.refuse_ftp {
            return vec![ftp::unknown_command(&packet).message(self.ftp_peer)];
        }
        let files = VehicleFiles {
            params: &self.params,
            logs: &self.logs,
        };
        let peer = self.ftp_peer;
        self.ftp
            .request(self.now_s, &packet, &files)
            .iter()
            .map(|packet| packet.message(peer))
            .collect()
    }

    /// Bytes to send for the time `now_s` since the start, faults included.
    pub fn tick(&mut self, now_s: f64) -> Vec<u8> {
        self.advance(now_s);
        if self.rebooting() {
            return Vec::new();
        }
        self.sync_mission();
        let mut messages = self.mission_events();
        messages.extend(self.texts());
        messages.extend(self.missions.tick(now_s));
        messages.extend(self.params.tick(now_s));
        messages.extend(self.logs.tick(now_s, &self.model, self.link_room));
        let peer = self.ftp_peer;
        messages.extend(
            self.ftp
                .tick(now_s)
                .iter()
                .map(|packet| packet.message(peer)),
        );
        if self.model.battery_pct() < 30.0 && self.model.armed && self.rng.f64() < 0.002 {
            messages.push(statustext(
                apm::MavSeverity::MAV_SEVERITY_WARNING,
                "Battery 1 low",
            ));
        }
        let boot_s = now_s - self.boot_s;
        for id in self.schedule.due(boot_s) {
            messages.push(telemetry::message(id, &self.model, boot_s));
        }
        self.encode(&messages)
    }

    /// The model's texts, as STATUSTEXT messages.
    fn texts(&mut self) -> Vec<MavMessage> {
        std::mem::take(&mut self.model.texts)
            .into_iter()
            .map(|(severity, text)| {
                let severity = match severity {
                    0..=2 => apm::MavSeverity::MAV_SEVERITY_CRITICAL,
                    3..=4 => apm::MavSeverity::MAV_SEVERITY_WARNING,
                    _ => apm::MavSeverity::MAV_SEVERITY_INFO,
                };
                statustext(severity, &text)
            })
            .collect()
    }

    fn encode(&mut self, messages: &[MavMessage]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for message in messages {
            let mut frame = self.outgoing.encode(message);
            if let Some(signing) = &mut self.signing {
                signing
                    .signer
                    .sign(&mut frame, crate::capture::wall_clock_us());
            }
            self.emit_with_faults(frame, &mut bytes);
        }
        bytes
    }

    fn emit_with_faults(&mut self, mut frame: Vec<u8>, out: &mut Vec<u8>) {
        if self.faults.drop > 0.0 && self.rng.f64() < self.faults.drop {
            return;
        }
        if self.faults.corrupt > 0.0 && self.rng.f64() < self.faults.corrupt {
            let byte = self.rng.usize(1..frame.len());
            frame[byte] ^= 1 << self.rng.u8(0..8);
        }
        out.extend_from_slice(&frame);
        if self.faults.noise > 0.0 && self.rng.f64() < self.faults.noise {
            let count = self.rng.usize(1..=32);
            out.extend((0..count).map(|_| self.rng.u8(..)));
        }
    }

    /// The telemetry due at `now_s` as decoded messages with the headers of their real frames:
    /// the simulator for in-process consumers (benchmarks, image snapshots).
    pub fn tick_messages(&mut self, now_s: f64) -> Vec<(FrameHeader, MavMessage)> {
        let mut out = Vec::new();
        crate::protocol::frame::parse_all(&self.tick(now_s), &mut |item| {
            if let Parsed::Frame(header, bytes) = item {
                if let Ok(message) = protocol::decode(&header, bytes) {
                    out.push((header, message));
                }
            }
        });
        out
    }

    /// Asks for every telemetry stream at `rate_hz`, as a ground station would.
    #[allow(deprecated)] // REQUEST_DATA_STREAM: what ArduPilot still obeys
    pub fn request_all_streams(&mut self, rate_hz: u16) {
        let request = MavMessage::REQUEST_DATA_STREAM(apm::REQUEST_DATA_STREAM_DATA {
            req_message_rate: rate_hz,
            target_system: SYSTEM_ID,
            target_component: COMPONENT_ID,
            req_stream_id: apm::MavDataStream::MAV_DATA_STREAM_ALL,
            start_stop: 1,
        });
        let bytes = Outgoing::default().encode(&request);
        self.receive(&bytes);
    }

    /// How many bytes the link can take now: log data waits for room rather than crowd out
    /// the rest (or be dropped by a full radio).
    pub fn set_link_room(&mut self, bytes: usize) {
        self.link_room = bytes;
    }

    /// Takes bytes from the ground station; returns bytes to answer with.
    pub fn receive(&mut self, data: &[u8]) -> Vec<u8> {
        if self.rebooting() {
            return Vec::new();
        }
        let mut messages = Vec::new();
        let Self {
            framer,
            received,
            signing,
            signing_enforced,
            refused_unsigned,
            ..
        } = self;
        framer.push(data, &mut |item| {
            if let Parsed::Frame(header, bytes) = item {
                let refused = match signing {
                    Some(signing) if *signing_enforced => !signing
                        .verifier
                        .check(&header, bytes, crate::capture::wall_clock_us())
                        .accepted(),
                    _ => false,
                };
                if refused {
                    *refused_unsigned += 1;
                    return;
                }
                if let Ok(message) = protocol::decode(&header, bytes) {
                    *received
                        .entry(mavlink::Message::message_name(&message).to_owned())
                        .or_default() += 1;
                    messages.push((header, message));
                }
            }
        });
        let mut replies = Vec::new();
        for (header, message) in messages {
            let from = (header.system_id, header.component_id);
            if let MavMessage::SETUP_SIGNING(setup) = &message {
                self.setup_signing(setup);
                continue;
            }
            if let Some(answers) = self.params.answer(self.now_s, &message) {
                replies.extend(answers);
                continue;
            }
            if let Some(answers) = self.logs.answer(self.model.armed, &message) {
                replies.extend(answers);
                continue;
            }
            if let MavMessage::FILE_TRANSFER_PROTOCOL(ftp) = &message {
                if ftp.target_system == SYSTEM_ID || ftp.target_system == 0 {
                    replies.extend(self.ftp_answer(from, &ftp.payload));
                }
                continue;
            }
            let home = self.home_item();
            match self.missions.answer(self.now_s, from, &message, &home) {
                Some(answers) => replies.extend(answers),
                None => replies.extend(self.answer(&header, message)),
            }
            self.sync_mission();
            // ArduPilot sends its ACK at once and its texts after it.
            replies.extend(self.mission_events());
            replies.extend(self.texts());
        }
        self.encode(&replies)
    }
}

/// Options of a simulator run on a pseudo-terminal.
#[derive(Debug, Clone)]
pub struct PtyOptions {
    pub baud: u32,
    pub faults: Faults,
    pub seed: u64,
    pub duration: Option<Duration>,
    /// The demo pilot flies the vehicle until a ground station commands it; off, the vehicle
    /// waits on the ground for commands.
    pub demo_pilot: bool,
    /// Keep the onboard logs as files in this folder too.
    pub logs_dir: Option<std::path::PathBuf>,
    /// The port is not the vehicle's USB port: once a signing key is installed, only signed
    /// frames are obeyed.
    pub signing_enforced: bool,
}

/// Most bytes queued for the pacing; beyond that the oldest are dropped, as a radio would.
const MAX_QUEUE: usize = 16 * 1024;
/// Simulation step.
const STEP: Duration = Duration::from_millis(10);

/// Creates a pseudo-terminal, calls `ready` with the device path a ground station should
/// open, then runs the vehicle on it until `stop` returns true or the duration is over.
pub fn run_on_pty(
    options: &PtyOptions,
    ready: impl FnOnce(&str) -> std::io::Result<()>,
    stop: impl Fn() -> bool,
) -> std::io::Result<()> {
    let (mut master, slave) = serialport::TTYPort::pair().map_err(|error| {
        std::io::Error::other(format!("cannot create a pseudo-terminal: {error}"))
    })?;
    let path = serialport::SerialPort::name(&slave)
        .ok_or_else(|| std::io::Error::other("the pseudo-terminal has no name"))?;
    serialport::SerialPort::set_timeout(&mut master, Duration::from_millis(1))
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    ready(&path)?;
    let mut vehicle = SimVehicle::new(options.faults, options.seed);
    vehicle.signing_enforced = options.signing_enforced;
    if !options.demo_pilot {
        vehicle.idle();
    }
    if let Some(dir) = &options.logs_dir {
        vehicle.logs.keep_in(dir.clone())?;
    }
    let started = Instant::now();
    let bytes_per_s = f64::from(options.baud) / 10.0;
    let mut queue: VecDeque<u8> = VecDeque::new();
    let mut budget = 0.0f64;
    let mut last = Instant::now();
    let mut buf = [0u8; 1024];
    // Keep the slave end open so the pty lives while ground stations come and go.
    let _slave = slave;
    while !stop()
        && options
            .duration
            .is_none_or(|limit| started.elapsed() < limit)
    {
        let now_s = started.elapsed().as_secs_f64();
        // Log data keeps at most a fifth of a second of link queued.
        vehicle.set_link_room(((bytes_per_s * 0.2) as usize).saturating_sub(queue.len()));
        queue.extend(vehicle.tick(now_s));
        match master.read(&mut buf) {
            Ok(count) if count > 0 => queue.extend(vehicle.receive(&buf[..count])),
            _ => {}
        }
        if queue.len() > MAX_QUEUE {
            let excess = queue.len() - MAX_QUEUE;
            queue.drain(..excess);
        }
        let elapsed = last.elapsed().as_secs_f64();
        last = Instant::now();
        budget = (budget + elapsed * bytes_per_s).min(bytes_per_s * 0.1);
        let sendable = (budget as usize).min(queue.len());
        if sendable > 0 {
            let chunk: Vec<u8> = queue.drain(..sendable).collect();
            budget -= sendable as f64;
            // A full pty buffer (nobody reading) is like a radio with no one listening.
            let _ = master.write_all(&chunk);
        }
        std::thread::sleep(STEP);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn telemetry_frames_parse_and_stream_requests_change_rates() {
        let mut sim = SimVehicle::new(Faults::default(), 1);
        let mut names = std::collections::BTreeMap::<String, u32>::new();
        let mut count = |bytes: &[u8]| {
            crate::protocol::frame::parse_all(bytes, &mut |item| {
                if let Parsed::Frame(header, _) = item {
                    *names
                        .entry(crate::protocol::dialect::display_name(header.message_id))
                        .or_default() += 1;
                }
            })
        };
        for step in 0..200 {
            let bytes = sim.tick(f64::from(step) * 0.01);
            let stats = count(&bytes);
            assert_eq!(stats.garbage_bytes, 0);
        }
        assert!(names["ATTITUDE"] >= 19, "{names:?}");
        assert!(names["HEARTBEAT"] >= 2);
        // Ask for ATTITUDE (EXTRA1) at 20 Hz.
        let mut gcs = Outgoing::default();
        let request = MavMessage::REQUEST_DATA_STREAM(apm::REQUEST_DATA_STREAM_DATA {
            req_message_rate: 20,
            target_system: SYSTEM_ID,
            target_component: COMPONENT_ID,
            req_stream_id: apm::MavDataStream::MAV_DATA_STREAM_EXTRA1,
            start_stop: 1,
        });
        sim.receive(&gcs.encode(&request));
        assert_eq!(sim.received["REQUEST_DATA_STREAM"], 1);
        let mut attitude = 0;
        for step in 200..300 {
            crate::protocol::frame::parse_all(&sim.tick(f64::from(step) * 0.01), &mut |item| {
                if matches!(item, Parsed::Frame(h, _) if h.message_id == telemetry::ATTITUDE) {
                    attitude += 1;
                }
            });
        }
        assert!((19..=21).contains(&attitude), "{attitude}");
    }
}
