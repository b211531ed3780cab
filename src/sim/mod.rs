//! A simulated ArduPilot-style quadcopter speaking real MAVLink 2 on a real pseudo-terminal.
//!
//! [`SimVehicle`] is sans-I/O: it turns time into telemetry frames and answers what the ground
//! station sends. [`run_on_pty`] puts it on a pseudo-terminal it creates, paced to the baud
//! rate, with optional fault injection (garbage bytes, flipped bits, dropped frames). It is the
//! demo vehicle and the test peer; it never touches the flight record.

pub mod flight;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use mavlink::dialects::ardupilotmega as apm;

use crate::protocol::frame::{FrameHeader, Parsed};
use crate::protocol::{self, Framer, MavMessage, Outgoing};
use flight::{state_at, SimState, HOME_ALT_MSL_M, HOME_LAT_DEG, HOME_LON_DEG};

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
const HOME_POSITION: u32 = 242;

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
                (HOME_POSITION, 0.2, 0.0),
            ],
        }
    }

    fn set_rate(&mut self, id: u32, rate_hz: f64) {
        for entry in &mut self.entries {
            if entry.0 == id {
                entry.1 = rate_hz;
            }
        }
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
        ],
        MAV_DATA_STREAM_EXTENDED_STATUS => &[SYS_STATUS, GPS_RAW_INT, BATTERY_STATUS],
        MAV_DATA_STREAM_POSITION => &[GLOBAL_POSITION_INT],
        MAV_DATA_STREAM_EXTRA1 => &[ATTITUDE],
        MAV_DATA_STREAM_EXTRA2 => &[VFR_HUD],
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
    last_phase: Option<flight::Phase>,
    gcs_seen: bool,
    /// Frames received from the ground station, by message name.
    pub received: std::collections::BTreeMap<String, u64>,
}

impl SimVehicle {
    pub fn new(faults: Faults, seed: u64) -> Self {
        Self {
            outgoing: Outgoing::new(SYSTEM_ID, COMPONENT_ID),
            schedule: Schedule::new(),
            framer: Framer::new(),
            faults,
            rng: fastrand::Rng::with_seed(seed),
            last_phase: None,
            gcs_seen: false,
            received: Default::default(),
        }
    }

    /// Bytes to send for the time `now_s` since the start, faults included.
    pub fn tick(&mut self, now_s: f64) -> Vec<u8> {
        let state = state_at(now_s);
        let mut messages = Vec::new();
        if self.last_phase != Some(state.phase) {
            if let Some(text) = phase_text(self.last_phase, state.phase) {
                messages.push(statustext(apm::MavSeverity::MAV_SEVERITY_INFO, text));
            }
            self.last_phase = Some(state.phase);
        }
        if state.battery_pct < 30.0 && self.rng.f64() < 0.002 {
            messages.push(statustext(
                apm::MavSeverity::MAV_SEVERITY_WARNING,
                "Battery 1 low",
            ));
        }
        for id in self.schedule.due(now_s) {
            messages.push(telemetry(id, &state, now_s));
        }
        let mut bytes = Vec::new();
        for message in &messages {
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
    #[allow(deprecated)] // REQUEST_DATA_STREAM: what ArduPilot still obeys
    pub fn receive(&mut self, data: &[u8]) -> Vec<u8> {
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
                    messages.push(message);
                }
            }
        });
        let mut replies = Vec::new();
        for message in messages {
            match message {
                MavMessage::HEARTBEAT(_) if !self.gcs_seen => {
                    self.gcs_seen = true;
                    replies.push(statustext(
                        apm::MavSeverity::MAV_SEVERITY_INFO,
                        "Ground station connected",
                    ));
                }
                MavMessage::REQUEST_DATA_STREAM(request) if request.target_system == SYSTEM_ID => {
                    let rate = if request.start_stop == 0 {
                        0.0
                    } else {
                        f64::from(request.req_message_rate)
                    };
                    for &id in stream_members(request.req_stream_id) {
                        self.schedule.set_rate(id, rate);
                    }
                }
                _ => {}
            }
        }
        let mut bytes = Vec::new();
        for message in &replies {
            let frame = self.outgoing.encode(message);
            self.emit_with_faults(frame, &mut bytes);
        }
        bytes
    }
}

fn phase_text(previous: Option<flight::Phase>, phase: flight::Phase) -> Option<&'static str> {
    use flight::Phase::*;
    Some(match (previous, phase) {
        (None, _) => "ArduCopter V4.5.7 (Airlock simulator)",
        (_, Takeoff) => "Arming motors",
        (_, Mission) => "Mission: 1 WP",
        (_, Return) => "Battery failsafe: returning to launch",
        (_, Land) => "Landing",
        (_, Rest) => "Disarming motors",
        (_, Ground) => "Battery replaced",
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

fn telemetry(id: u32, state: &SimState, now_s: f64) -> MavMessage {
    let time_boot_ms = (now_s * 1000.0) as u32;
    let lat = scaled_i32(state.lat_deg, 1e7);
    let lon = scaled_i32(state.lon_deg, 1e7);
    let alt_msl_mm = scaled_i32(HOME_ALT_MSL_M + state.alt_rel_m, 1e3);
    let heading_deg = flight::wrap_tau(state.yaw_rad).to_degrees();
    match id {
        HEARTBEAT => {
            let mut base_mode = apm::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
                | apm::MavModeFlag::MAV_MODE_FLAG_STABILIZE_ENABLED;
            if state.phase.armed() {
                base_mode |= apm::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
            }
            MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
                custom_mode: state.phase.copter_mode(),
                mavtype: apm::MavType::MAV_TYPE_QUADROTOR,
                autopilot: apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                base_mode,
                system_status: if state.phase.armed() {
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
            MavMessage::SYS_STATUS(apm::SYS_STATUS_DATA {
                onboard_control_sensors_present: sensors,
                onboard_control_sensors_enabled: sensors,
                onboard_control_sensors_health: sensors,
                load: 220,
                voltage_battery: (state.battery_v * 1000.0) as u16,
                current_battery: (state.battery_a * 100.0) as i16,
                battery_remaining: state.battery_pct as i8,
                ..Default::default()
            })
        }
        GPS_RAW_INT => MavMessage::GPS_RAW_INT(apm::GPS_RAW_INT_DATA {
            time_usec: (now_s * 1e6) as u64,
            lat,
            lon,
            alt: alt_msl_mm,
            eph: 78,
            epv: 120,
            vel: (state.groundspeed_m_s * 100.0) as u16,
            cog: (heading_deg * 100.0) as u16,
            fix_type: apm::GpsFixType::GPS_FIX_TYPE_3D_FIX,
            satellites_visible: 14,
            ..Default::default()
        }),
        ATTITUDE => MavMessage::ATTITUDE(apm::ATTITUDE_DATA {
            time_boot_ms,
            roll: state.roll_rad as f32,
            pitch: state.pitch_rad as f32,
            yaw: if state.yaw_rad > std::f64::consts::PI {
                (state.yaw_rad - std::f64::consts::TAU) as f32
            } else {
                state.yaw_rad as f32
            },
            rollspeed: 0.0,
            pitchspeed: 0.0,
            yawspeed: state.yaw_rate_rad_s as f32,
        }),
        GLOBAL_POSITION_INT => MavMessage::GLOBAL_POSITION_INT(apm::GLOBAL_POSITION_INT_DATA {
            time_boot_ms,
            lat,
            lon,
            alt: alt_msl_mm,
            relative_alt: scaled_i32(state.alt_rel_m, 1e3),
            vx: (state.vel_north_m_s * 100.0) as i16,
            vy: (state.vel_east_m_s * 100.0) as i16,
            vz: (-state.climb_m_s * 100.0) as i16,
            hdg: (heading_deg * 100.0) as u16,
        }),
        VFR_HUD => MavMessage::VFR_HUD(apm::VFR_HUD_DATA {
            airspeed: state.groundspeed_m_s as f32,
            groundspeed: state.groundspeed_m_s as f32,
            alt: (HOME_ALT_MSL_M + state.alt_rel_m) as f32,
            climb: state.climb_m_s as f32,
            heading: heading_deg as i16,
            throttle: state.throttle_pct as u16,
        }),
        BATTERY_STATUS => {
            let mut voltages = [u16::MAX; 10];
            let cell_mv = (state.battery_v * 1000.0 / 4.0) as u16;
            voltages[..4].fill(cell_mv);
            MavMessage::BATTERY_STATUS(apm::BATTERY_STATUS_DATA {
                current_consumed: state.consumed_mah as i32,
                energy_consumed: -1,
                temperature: 3150,
                voltages,
                current_battery: (state.battery_a * 100.0) as i16,
                id: 0,
                battery_function: apm::MavBatteryFunction::MAV_BATTERY_FUNCTION_ALL,
                mavtype: apm::MavBatteryType::MAV_BATTERY_TYPE_LIPO,
                battery_remaining: state.battery_pct as i8,
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
