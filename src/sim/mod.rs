//! A simulated ArduPilot-style quadcopter speaking real MAVLink 2 on a real pseudo-terminal.
//!
//! [`SimVehicle`] is sans-I/O: it steps its vehicle [`model`] in time, turns it into telemetry
//! frames and answers what the ground station sends — commands with COMMAND_ACK (UNSUPPORTED
//! for what it does not do), texts like ArduPilot's, stream requests. Until a ground station
//! commands it, the demo [`pilot`] flies it. [`run_on_pty`] puts it on a pseudo-terminal it
//! creates, paced to the baud rate, with optional fault injection (garbage bytes, flipped bits,
//! dropped frames). It is the demo vehicle and the test peer; it never touches the flight record.

pub mod model;
pub mod pilot;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use mavlink::dialects::ardupilotmega as apm;

use crate::protocol::frame::{FrameHeader, Parsed};
use crate::protocol::{self, Framer, MavMessage, Outgoing};
use model::{Mode, Model, Point, Refusal, HOME_ALT_MSL_M, HOME_LAT_DEG, HOME_LON_DEG};
use pilot::DemoPilot;

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
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            noise: 0.0,
            corrupt: 0.0,
            drop: 0.0,
        }
    }
}

/// Telemetry a message group is sent at, in Hz (0 = off).
#[derive(Debug, Clone)]
struct Schedule {
    /// (message id, rate in Hz, next due time in s)
    entries: Vec<(u32, f64, f64)>,
}

const HEARTBEAT: u32 = 0;
const SYS_STATUS: u32 = 1;
const GPS_RAW_INT: u32 = 24;
const ATTITUDE: u32 = 30;
const GLOBAL_POSITION_INT: u32 = 33;
const VFR_HUD: u32 = 74;
const BATTERY_STATUS: u32 = 147;
const EKF_STATUS_REPORT: u32 = 193;
const HOME_POSITION: u32 = 242;

/// Simulation step of the model, seconds.
const MODEL_STEP_S: f64 = 0.02;
/// How long a reboot keeps the vehicle silent, seconds.
const REBOOT_S: f64 = 2.0;
/// The version text the vehicle sends at boot.
const BANNER: &str = "ArduCopter V4.5.7 (Airlock simulator)";

impl Schedule {
    fn new() -> Self {
        Self {
            entries: vec![
                (HEARTBEAT, 1.0, 0.0),
                (SYS_STATUS, 2.0, 0.0),
                (GPS_RAW_INT, 5.0, 0.0),
                (ATTITUDE, 10.0, 0.0),
                (GLOBAL_POSITION_INT, 5.0, 0.0),
                (VFR_HUD, 5.0, 0.0),
                (BATTERY_STATUS, 1.0, 0.0),
                (EKF_STATUS_REPORT, 1.0, 0.0),
                (HOME_POSITION, 0.2, 0.0),
            ],
        }
    }

    fn set_rate(&mut self, id: u32, rate_hz: f64) -> bool {
        let mut known = false;
        for entry in &mut self.entries {
            if entry.0 == id {
                entry.1 = rate_hz;
                known = true;
            }
        }
        known
    }

    fn due(&mut self, now_s: f64) -> Vec<u32> {
        let mut due = Vec::new();
        for (id, rate, next) in &mut self.entries {
            if *rate > 0.0 && now_s >= *next {
                due.push(*id);
                *next = if now_s - *next > 1.0 { now_s } else { *next } + 1.0 / *rate;
            }
        }
        due
    }
}

/// Messages of an ArduPilot stream group (REQUEST_DATA_STREAM).
#[allow(deprecated)]
fn stream_members(stream_id: apm::MavDataStream) -> &'static [u32] {
    use apm::MavDataStream::*;
    match stream_id {
        MAV_DATA_STREAM_ALL => &[
            SYS_STATUS,
            GPS_RAW_INT,
            ATTITUDE,
            GLOBAL_POSITION_INT,
            VFR_HUD,
            BATTERY_STATUS,
            EKF_STATUS_REPORT,
        ],
        MAV_DATA_STREAM_EXTENDED_STATUS => &[SYS_STATUS, GPS_RAW_INT],
        MAV_DATA_STREAM_POSITION => &[GLOBAL_POSITION_INT],
        MAV_DATA_STREAM_EXTRA1 => &[ATTITUDE],
        MAV_DATA_STREAM_EXTRA2 => &[VFR_HUD],
        MAV_DATA_STREAM_EXTRA3 => &[BATTERY_STATUS, EKF_STATUS_REPORT],
        _ => &[],
    }
}

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
    /// Frames received from the ground station, by message name.
    pub received: std::collections::BTreeMap<String, u64>,
}

impl SimVehicle {
    pub fn new(faults: Faults, seed: u64) -> Self {
        let mut model = Model::new();
        model.texts.push((model::INFO, BANNER.to_owned()));
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
            received: Default::default(),
        }
    }

    /// The vehicle model, as it is now.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Whether the demo pilot still flies (no ground station has commanded the vehicle).
    pub fn demo_pilot_flying(&self) -> bool {
        self.pilot.flying
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
            self.schedule = Schedule::new();
            self.gcs_seen = false;
        }
        while self.now_s + MODEL_STEP_S <= now_s {
            self.now_s += MODEL_STEP_S;
            self.model.step(MODEL_STEP_S);
            self.pilot.fly(&mut self.model);
        }
    }

    fn rebooting(&self) -> bool {
        self.rebooting_until_s.is_some()
    }

    /// Bytes to send for the time `now_s` since the start, faults included.
    pub fn tick(&mut self, now_s: f64) -> Vec<u8> {
        self.advance(now_s);
        if self.rebooting() {
            return Vec::new();
        }
        let mut messages = self.texts();
        if self.model.battery_pct() < 30.0 && self.model.armed && self.rng.f64() < 0.002 {
            messages.push(statustext(
                apm::MavSeverity::MAV_SEVERITY_WARNING,
                "Battery 1 low",
            ));
        }
        let boot_s = now_s - self.boot_s;
        for id in self.schedule.due(boot_s) {
            messages.push(telemetry(id, &self.model, boot_s));
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
            let frame = self.outgoing.encode(message);
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

    /// Takes bytes from the ground station; returns bytes to answer with.
    pub fn receive(&mut self, data: &[u8]) -> Vec<u8> {
        if self.rebooting() {
            return Vec::new();
        }
        let mut messages = Vec::new();
        let Self {
            framer, received, ..
        } = self;
        framer.push(data, &mut |item| {
            if let Parsed::Frame(header, bytes) = item {
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
            if let Some(reply) = self.answer(&header, message) {
                replies.push(reply);
            }
            // ArduPilot sends its ACK at once and its texts after it.
            replies.extend(self.texts());
        }
        self.encode(&replies)
    }

    /// The answer to one message from the ground station, if it gets one.
    #[allow(deprecated)] // REQUEST_DATA_STREAM: what ArduPilot still obeys
    fn answer(&mut self, header: &FrameHeader, message: MavMessage) -> Option<MavMessage> {
        let for_us = |system: u8| system == SYSTEM_ID || system == 0;
        match message {
            MavMessage::HEARTBEAT(_) if !self.gcs_seen => {
                self.gcs_seen = true;
                Some(statustext(
                    apm::MavSeverity::MAV_SEVERITY_INFO,
                    "Ground station connected",
                ))
            }
            MavMessage::REQUEST_DATA_STREAM(request) if for_us(request.target_system) => {
                let rate = if request.start_stop == 0 {
                    0.0
                } else {
                    f64::from(request.req_message_rate)
                };
                for &id in stream_members(request.req_stream_id) {
                    self.schedule.set_rate(id, rate);
                }
                None
            }
            MavMessage::COMMAND_LONG(command) if for_us(command.target_system) => {
                self.pilot.hand_over();
                let result = self.command_long(&command);
                Some(ack(header, command.command, result))
            }
            MavMessage::COMMAND_INT(command) if for_us(command.target_system) => {
                self.pilot.hand_over();
                let result = self.command_int(&command);
                Some(ack(header, command.command, result))
            }
            MavMessage::MISSION_ITEM_INT(item)
                if for_us(item.target_system) && item.current == 2 =>
            {
                self.pilot.hand_over();
                let result = match self.go_to(item.frame, item.x, item.y, item.z) {
                    Ok(()) => apm::MavMissionResult::MAV_MISSION_ACCEPTED,
                    Err(_) => apm::MavMissionResult::MAV_MISSION_ERROR,
                };
                Some(MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
                    target_system: header.system_id,
                    target_component: header.component_id,
                    mavtype: result,
                    mission_type: apm::MavMissionType::MAV_MISSION_TYPE_MISSION,
                    opaque_id: 0,
                }))
            }
            _ => None,
        }
    }

    fn command_long(&mut self, command: &apm::COMMAND_LONG_DATA) -> apm::MavResult {
        use apm::MavCmd::*;
        let model = &mut self.model;
        let outcome = match command.command {
            MAV_CMD_COMPONENT_ARM_DISARM if command.param1 == 1.0 => model.arm(),
            MAV_CMD_COMPONENT_ARM_DISARM => model.disarm(command.param2 == 21196.0),
            MAV_CMD_DO_SET_MODE => match Mode::from_number(command.param2 as u32) {
                Some(mode) => model.set_mode(mode),
                None => Err(Refusal {
                    denied: false,
                    text: None,
                }),
            },
            MAV_CMD_NAV_TAKEOFF => model.takeoff(f64::from(command.param7)),
            MAV_CMD_NAV_LAND => model.set_mode(Mode::Land),
            MAV_CMD_NAV_RETURN_TO_LAUNCH => model.set_mode(Mode::Rtl),
            MAV_CMD_MISSION_START => model.set_mode(Mode::Auto).map(|()| {
                if model.armed && model.landed {
                    model.landed = false;
                }
            }),
            MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN if command.param1 == 1.0 => {
                if model.armed {
                    Err(Refusal {
                        denied: false,
                        text: None,
                    })
                } else {
                    self.rebooting_until_s = Some(self.now_s + REBOOT_S);
                    Ok(())
                }
            }
            MAV_CMD_SET_MESSAGE_INTERVAL => {
                let rate = match command.param2 {
                    interval if interval > 0.0 => 1e6 / f64::from(interval),
                    _ => 0.0,
                };
                if self.schedule.set_rate(command.param1 as u32, rate) {
                    Ok(())
                } else {
                    Err(Refusal {
                        denied: true,
                        text: None,
                    })
                }
            }
            _ => return apm::MavResult::MAV_RESULT_UNSUPPORTED,
        };
        result_of(outcome)
    }

    fn command_int(&mut self, command: &apm::COMMAND_INT_DATA) -> apm::MavResult {
        match command.command {
            apm::MavCmd::MAV_CMD_DO_REPOSITION => {
                result_of(self.go_to(command.frame, command.x, command.y, command.z))
            }
            _ => apm::MavResult::MAV_RESULT_UNSUPPORTED,
        }
    }

    /// A guided "fly there" to a point in degrees × 10⁷ and metres above home.
    #[allow(deprecated)] // the _INT frames: still what older ground stations send
    fn go_to(&mut self, frame: apm::MavFrame, x: i32, y: i32, z: f32) -> Result<(), Refusal> {
        let relative = matches!(
            frame,
            apm::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT
                | apm::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
        );
        if !relative || x == 0 && y == 0 {
            return Err(Refusal {
                denied: true,
                text: None,
            });
        }
        let (north_m, east_m) = model::lat_lon_to_offset(f64::from(x) / 1e7, f64::from(y) / 1e7);
        self.model.go_to(Point {
            north_m,
            east_m,
            alt_m: f64::from(z),
        })
    }
}

fn result_of(outcome: Result<(), Refusal>) -> apm::MavResult {
    match outcome {
        Ok(()) => apm::MavResult::MAV_RESULT_ACCEPTED,
        Err(Refusal { denied: true, .. }) => apm::MavResult::MAV_RESULT_DENIED,
        Err(_) => apm::MavResult::MAV_RESULT_FAILED,
    }
}

/// A COMMAND_ACK to the sender of `header`, as ArduPilot addresses it.
fn ack(header: &FrameHeader, command: apm::MavCmd, result: apm::MavResult) -> MavMessage {
    MavMessage::COMMAND_ACK(apm::COMMAND_ACK_DATA {
        command,
        result,
        progress: 0,
        result_param2: 0,
        target_system: header.system_id,
        target_component: header.component_id,
    })
}

fn statustext(severity: apm::MavSeverity, text: &str) -> MavMessage {
    MavMessage::STATUSTEXT(apm::STATUSTEXT_DATA {
        severity,
        text: text.into(),
        id: 0,
        chunk_seq: 0,
    })
}

fn scaled_i32(value: f64, scale: f64) -> i32 {
    (value * scale).round() as i32
}

fn telemetry(id: u32, model: &Model, boot_s: f64) -> MavMessage {
    let time_boot_ms = (boot_s * 1000.0) as u32;
    let (lat_deg, lon_deg) = model.lat_lon_deg();
    let lat = scaled_i32(lat_deg, 1e7);
    let lon = scaled_i32(lon_deg, 1e7);
    let alt_msl_mm = scaled_i32(HOME_ALT_MSL_M + model.pos.alt_m, 1e3);
    let heading_deg = model.yaw_rad.rem_euclid(std::f64::consts::TAU).to_degrees();
    let fix = model.has_3d_fix();
    let battery_v = 12.6 + 4.2 * model.battery_pct() / 100.0 - model.battery_current_a() * 0.01;
    match id {
        HEARTBEAT => {
            let mut base_mode = apm::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
                | apm::MavModeFlag::MAV_MODE_FLAG_STABILIZE_ENABLED;
            if model.armed {
                base_mode |= apm::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
            }
            MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
                custom_mode: model.mode as u32,
                mavtype: apm::MavType::MAV_TYPE_QUADROTOR,
                autopilot: apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                base_mode,
                system_status: if model.armed {
                    apm::MavState::MAV_STATE_ACTIVE
                } else {
                    apm::MavState::MAV_STATE_STANDBY
                },
                mavlink_version: 3,
            })
        }
        SYS_STATUS => {
            let sensors = apm::MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_GYRO
                | apm::MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_ACCEL
                | apm::MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_MAG
                | apm::MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
                | apm::MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_GPS;
            let prearm = apm::MavSysStatusSensor::MAV_SYS_STATUS_PREARM_CHECK;
            let mut health = sensors;
            if model.prearm_ok() {
                health |= prearm;
            }
            MavMessage::SYS_STATUS(apm::SYS_STATUS_DATA {
                onboard_control_sensors_present: sensors | prearm,
                onboard_control_sensors_enabled: sensors | prearm,
                onboard_control_sensors_health: health,
                load: 220,
                voltage_battery: (battery_v * 1000.0) as u16,
                current_battery: (model.battery_current_a() * 100.0) as i16,
                battery_remaining: model.battery_pct() as i8,
                ..Default::default()
            })
        }
        GPS_RAW_INT => MavMessage::GPS_RAW_INT(apm::GPS_RAW_INT_DATA {
            time_usec: (boot_s * 1e6) as u64,
            lat: if fix { lat } else { 0 },
            lon: if fix { lon } else { 0 },
            alt: if fix { alt_msl_mm } else { 0 },
            eph: if fix { 78 } else { u16::MAX },
            epv: if fix { 120 } else { u16::MAX },
            vel: (model.groundspeed_m_s() * 100.0) as u16,
            cog: (heading_deg * 100.0) as u16,
            fix_type: if fix {
                apm::GpsFixType::GPS_FIX_TYPE_3D_FIX
            } else {
                apm::GpsFixType::GPS_FIX_TYPE_NO_FIX
            },
            satellites_visible: if fix { 14 } else { 3 },
            ..Default::default()
        }),
        ATTITUDE => MavMessage::ATTITUDE(apm::ATTITUDE_DATA {
            time_boot_ms,
            roll: model.roll_rad as f32,
            pitch: model.pitch_rad as f32,
            yaw: if model.yaw_rad > std::f64::consts::PI {
                (model.yaw_rad - std::f64::consts::TAU) as f32
            } else {
                model.yaw_rad as f32
            },
            rollspeed: 0.0,
            pitchspeed: 0.0,
            yawspeed: model.yaw_rate_rad_s as f32,
        }),
        GLOBAL_POSITION_INT => MavMessage::GLOBAL_POSITION_INT(apm::GLOBAL_POSITION_INT_DATA {
            time_boot_ms,
            lat,
            lon,
            alt: alt_msl_mm,
            relative_alt: scaled_i32(model.pos.alt_m, 1e3),
            vx: (model.vel_north_m_s * 100.0) as i16,
            vy: (model.vel_east_m_s * 100.0) as i16,
            vz: (-model.climb_m_s * 100.0) as i16,
            hdg: (heading_deg * 100.0) as u16,
        }),
        VFR_HUD => MavMessage::VFR_HUD(apm::VFR_HUD_DATA {
            airspeed: model.groundspeed_m_s() as f32,
            groundspeed: model.groundspeed_m_s() as f32,
            alt: (HOME_ALT_MSL_M + model.pos.alt_m) as f32,
            climb: model.climb_m_s as f32,
            heading: heading_deg as i16,
            throttle: if model.armed {
                (45.0 + 10.0 * model.climb_m_s.max(0.0)) as u16
            } else {
                0
            },
        }),
        BATTERY_STATUS => {
            let mut voltages = [u16::MAX; 10];
            let cell_mv = (battery_v * 1000.0 / 4.0) as u16;
            voltages[..4].fill(cell_mv);
            MavMessage::BATTERY_STATUS(apm::BATTERY_STATUS_DATA {
                current_consumed: model.consumed_mah as i32,
                energy_consumed: -1,
                temperature: 3150,
                voltages,
                current_battery: (model.battery_current_a() * 100.0) as i16,
                id: 0,
                battery_function: apm::MavBatteryFunction::MAV_BATTERY_FUNCTION_ALL,
                mavtype: apm::MavBatteryType::MAV_BATTERY_TYPE_LIPO,
                battery_remaining: model.battery_pct() as i8,
                ..Default::default()
            })
        }
        EKF_STATUS_REPORT => {
            use apm::EkfStatusFlags as F;
            let flags = if fix {
                F::EKF_ATTITUDE
                    | F::EKF_VELOCITY_HORIZ
                    | F::EKF_VELOCITY_VERT
                    | F::EKF_POS_HORIZ_REL
                    | F::EKF_POS_HORIZ_ABS
                    | F::EKF_POS_VERT_ABS
                    | F::EKF_PRED_POS_HORIZ_REL
                    | F::EKF_PRED_POS_HORIZ_ABS
            } else {
                F::EKF_ATTITUDE | F::EKF_CONST_POS_MODE
            };
            MavMessage::EKF_STATUS_REPORT(apm::EKF_STATUS_REPORT_DATA {
                velocity_variance: 0.05,
                pos_horiz_variance: 0.04,
                pos_vert_variance: 0.03,
                compass_variance: 0.02,
                terrain_alt_variance: 0.0,
                flags,
                ..Default::default()
            })
        }
        _ => MavMessage::HOME_POSITION(apm::HOME_POSITION_DATA {
            latitude: scaled_i32(HOME_LAT_DEG, 1e7),
            longitude: scaled_i32(HOME_LON_DEG, 1e7),
            altitude: scaled_i32(HOME_ALT_MSL_M, 1e3),
            q: [1.0, 0.0, 0.0, 0.0],
            ..Default::default()
        }),
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
    if !options.demo_pilot {
        vehicle.pilot.hand_over();
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
                if matches!(item, Parsed::Frame(h, _) if h.message_id == ATTITUDE) {
                    attitude += 1;
                }
            });
        }
        assert!((19..=21).contains(&attitude), "{attitude}");
    }
}
