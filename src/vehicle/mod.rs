//! Plain-data vehicle state and the pure reducers that update it from decoded messages.
//!
//! One small reducer per concern (status, attitude, position, GPS, HUD, battery, home, messages,
//! rates, link). Time always comes in as an argument. This module never does I/O, never starts
//! a thread and never names egui: live view, replay and tests all drive it the same way.

pub mod link;
pub use crate::protocol::modes;
pub mod rates;
pub mod requests;
pub mod statustext;

use mavlink::dialects::ardupilotmega::{self as apm, MavAutopilot, MavModeFlag, MavState, MavType};

use crate::protocol::{FrameHeader, MavMessage};

pub use link::LinkStats;
pub use rates::MessageRates;
pub use statustext::{StatusLog, StatusMessage};

/// HEARTBEAT-derived status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub vehicle_type: MavType,
    pub autopilot: MavAutopilot,
    pub armed: bool,
    pub system_status: MavState,
    pub custom_mode: u32,
    pub mode_name: String,
    /// Monotonic time of the last heartbeat, µs.
    pub last_heartbeat_mono_us: u64,
}

/// ATTITUDE: angles in radians, rates in rad/s.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Attitude {
    pub roll_rad: f32,
    pub pitch_rad: f32,
    pub yaw_rad: f32,
    pub roll_rate_rad_s: f32,
    pub pitch_rate_rad_s: f32,
    pub yaw_rate_rad_s: f32,
}

/// GLOBAL_POSITION_INT: fused position.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Position {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_msl_m: f64,
    pub alt_rel_m: f64,
    pub vel_north_m_s: f64,
    pub vel_east_m_s: f64,
    pub vel_down_m_s: f64,
    pub heading_deg: Option<f64>,
}

/// GPS_RAW_INT: the receiver's own view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gps {
    pub fix_type: String,
    /// 0 no GPS, 1 no fix, 2 2D, 3 3D, 4 DGPS, 5 RTK float, 6 RTK fixed, ...
    pub fix_level: u8,
    pub satellites: Option<u8>,
    pub hdop: Option<f64>,
    pub vdop: Option<f64>,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_msl_m: f64,
}

/// VFR_HUD: what a pilot's head-up display shows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Hud {
    pub airspeed_m_s: f32,
    pub groundspeed_m_s: f32,
    pub alt_m: f32,
    pub climb_m_s: f32,
    pub heading_deg: i16,
    pub throttle_pct: u16,
}

/// Battery from SYS_STATUS and BATTERY_STATUS (the latter wins when present).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Battery {
    pub voltage_v: Option<f64>,
    pub current_a: Option<f64>,
    pub remaining_pct: Option<u8>,
    pub consumed_mah: Option<f64>,
    pub temperature_c: Option<f64>,
}

/// HOME_POSITION.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Home {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_msl_m: f64,
}

/// Most reached items remembered (a mission that loops for ever keeps reaching).
const MAX_REACHED: usize = 10_000;

/// Where the vehicle is in its mission (MISSION_CURRENT, MISSION_ITEM_REACHED).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MissionProgress {
    /// The item being flown, numbered as on the vehicle (ArduPilot: 1 is the first after home).
    pub current: Option<u16>,
    /// Items on the vehicle, where it says.
    pub total: Option<u16>,
    /// The vehicle runs its mission (it is in its mission mode) and has not finished it.
    pub active: bool,
    /// Items reached since the mission last started over, in the order reached.
    pub reached: Vec<u16>,
}

impl MissionProgress {
    fn on_current(&mut self, current: &apm::MISSION_CURRENT_DATA) {
        // Going back to the start (a new mission, a restart) forgets what was reached.
        if self.current.is_some_and(|old| current.seq < old) && current.seq <= 1 {
            self.reached.clear();
        }
        self.current = Some(current.seq);
        self.total = match current.total {
            0 | u16::MAX => None,
            total => Some(total),
        };
        self.active = current.mission_state == apm::MissionState::MISSION_STATE_ACTIVE
            || (current.mission_state == apm::MissionState::MISSION_STATE_UNKNOWN
                && current.mission_mode == 1);
    }

    fn on_reached(&mut self, seq: u16) {
        if self.reached.last() != Some(&seq) {
            if self.reached.len() >= MAX_REACHED {
                self.reached.drain(..MAX_REACHED / 2);
            }
            self.reached.push(seq);
        }
    }
}

/// Everything known about the vehicle being flown.
#[derive(Debug, Clone, Default)]
pub struct VehicleState {
    /// The system the state follows: the first one that sent an autopilot heartbeat.
    pub system_id: Option<u8>,
    pub component_id: Option<u8>,
    pub status: Option<Status>,
    pub attitude: Option<Attitude>,
    pub position: Option<Position>,
    pub gps: Option<Gps>,
    pub hud: Option<Hud>,
    pub battery: Battery,
    pub home: Option<Home>,
    pub sensors_health_ok: Option<bool>,
    /// The autopilot's own pre-arm checks pass (SYS_STATUS pre-arm bit), where it says.
    pub prearm_ok: Option<bool>,
    /// The EKF uses an absolute horizontal position and is not in constant-position mode
    /// (ArduPilot's EKF_STATUS_REPORT), where it says.
    pub ekf_position_ok: Option<bool>,
    pub cpu_load_pct: Option<f32>,
    pub mission: MissionProgress,
    pub status_log: StatusLog,
    pub rates: MessageRates,
    pub link: LinkStats,
    /// The flown track, thinned to points at least [`TRACK_STEP_M`] apart.
    pub track: Vec<TrackPoint>,
}

/// Minimum distance between two kept track points.
pub const TRACK_STEP_M: f64 = 1.0;
/// Most track points kept (about 100 km at one point a metre); older ones are thinned out.
pub const MAX_TRACK_POINTS: usize = 100_000;

/// A point of the flown track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub wall_us: u64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_msl_m: f64,
}

/// Whether a heartbeat comes from a vehicle's autopilot (not a GCS, gimbal, camera...).
pub fn is_autopilot_heartbeat(heartbeat: &apm::HEARTBEAT_DATA) -> bool {
    heartbeat.autopilot != MavAutopilot::MAV_AUTOPILOT_INVALID
        && !matches!(
            heartbeat.mavtype,
            MavType::MAV_TYPE_GCS
                | MavType::MAV_TYPE_GIMBAL
                | MavType::MAV_TYPE_CAMERA
                | MavType::MAV_TYPE_ADSB
                | MavType::MAV_TYPE_ONBOARD_CONTROLLER
        )
}

impl VehicleState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one received message. `wall_us` is when it arrived (µs since the epoch),
    /// `mono_us` the capture's monotonic time.
    pub fn apply(&mut self, wall_us: u64, mono_us: u64, header: &FrameHeader, msg: &MavMessage) {
        self.rates.observe(mono_us, header, msg);
        self.link
            .on_rx_frame(header.system_id, header.component_id, header.sequence);
        if let MavMessage::HEARTBEAT(heartbeat) = msg {
            if self.system_id.is_none() && is_autopilot_heartbeat(heartbeat) {
                self.system_id = Some(header.system_id);
                self.component_id = Some(header.component_id);
            }
        }
        // Texts that arrive before the first heartbeat (boot banners, pre-arm failures) are kept.
        let followed = self.system_id.is_none_or(|id| id == header.system_id);
        if let (MavMessage::STATUSTEXT(text), true) = (msg, followed) {
            self.status_log
                .push_chunk(wall_us, header.component_id, text);
            return;
        }
        if self.system_id != Some(header.system_id) {
            return;
        }
        match msg {
            MavMessage::HEARTBEAT(heartbeat) if self.component_id == Some(header.component_id) => {
                self.status = Some(status_from(heartbeat, mono_us));
            }
            MavMessage::ATTITUDE(att) => {
                self.attitude = Some(Attitude {
                    roll_rad: att.roll,
                    pitch_rad: att.pitch,
                    yaw_rad: att.yaw,
                    roll_rate_rad_s: att.rollspeed,
                    pitch_rate_rad_s: att.pitchspeed,
                    yaw_rate_rad_s: att.yawspeed,
                });
            }
            MavMessage::GLOBAL_POSITION_INT(pos) => {
                self.position = Some(Position {
                    lat_deg: f64::from(pos.lat) * 1e-7,
                    lon_deg: f64::from(pos.lon) * 1e-7,
                    alt_msl_m: f64::from(pos.alt) * 1e-3,
                    alt_rel_m: f64::from(pos.relative_alt) * 1e-3,
                    vel_north_m_s: f64::from(pos.vx) * 1e-2,
                    vel_east_m_s: f64::from(pos.vy) * 1e-2,
                    vel_down_m_s: f64::from(pos.vz) * 1e-2,
                    heading_deg: (pos.hdg != u16::MAX).then(|| f64::from(pos.hdg) * 1e-2),
                });
                if pos.lat != 0 || pos.lon != 0 {
                    self.extend_track(TrackPoint {
                        wall_us,
                        lat_deg: f64::from(pos.lat) * 1e-7,
                        lon_deg: f64::from(pos.lon) * 1e-7,
                        alt_msl_m: f64::from(pos.alt) * 1e-3,
                    });
                }
            }
            MavMessage::GPS_RAW_INT(gps) => {
                let fix_level = gps.fix_type as u8;
                self.gps = Some(Gps {
                    fix_type: fix_name(fix_level).to_owned(),
                    fix_level,
                    satellites: (gps.satellites_visible != u8::MAX)
                        .then_some(gps.satellites_visible),
                    hdop: dop(gps.eph),
                    vdop: dop(gps.epv),
                    lat_deg: f64::from(gps.lat) * 1e-7,
                    lon_deg: f64::from(gps.lon) * 1e-7,
                    alt_msl_m: f64::from(gps.alt) * 1e-3,
                });
            }
            MavMessage::VFR_HUD(hud) => {
                self.hud = Some(Hud {
                    airspeed_m_s: hud.airspeed,
                    groundspeed_m_s: hud.groundspeed,
                    alt_m: hud.alt,
                    climb_m_s: hud.climb,
                    heading_deg: hud.heading,
                    throttle_pct: hud.throttle,
                });
            }
            MavMessage::SYS_STATUS(sys) => {
                if sys.voltage_battery != u16::MAX {
                    self.battery.voltage_v = Some(f64::from(sys.voltage_battery) * 1e-3);
                }
                self.battery.current_a =
                    (sys.current_battery >= 0).then(|| f64::from(sys.current_battery) * 1e-2);
                self.battery.remaining_pct = u8::try_from(sys.battery_remaining).ok();
                self.cpu_load_pct = Some(f32::from(sys.load) / 10.0);
                let enabled = sys.onboard_control_sensors_enabled;
                self.sensors_health_ok =
                    Some(sys.onboard_control_sensors_health & enabled == enabled);
                let prearm = apm::MavSysStatusSensor::MAV_SYS_STATUS_PREARM_CHECK;
                self.prearm_ok = sys
                    .onboard_control_sensors_present
                    .contains(prearm)
                    .then(|| sys.onboard_control_sensors_health.contains(prearm));
            }
            MavMessage::EKF_STATUS_REPORT(ekf) => {
                self.ekf_position_ok = Some(
                    ekf.flags.contains(apm::EkfStatusFlags::EKF_POS_HORIZ_ABS)
                        && !ekf.flags.contains(apm::EkfStatusFlags::EKF_CONST_POS_MODE),
                );
            }
            MavMessage::BATTERY_STATUS(bat) => {
                if bat.id != 0 {
                    return;
                }
                let cells: Vec<u16> = bat
                    .voltages
                    .iter()
                    .copied()
                    .filter(|&v| v != u16::MAX)
                    .collect();
                if !cells.is_empty() {
                    let total_mv: u32 = cells.iter().map(|&v| u32::from(v)).sum();
                    self.battery.voltage_v = Some(f64::from(total_mv) * 1e-3);
                }
                if bat.current_battery >= 0 {
                    self.battery.current_a = Some(f64::from(bat.current_battery) * 1e-2);
                }
                if let Ok(remaining) = u8::try_from(bat.battery_remaining) {
                    self.battery.remaining_pct = Some(remaining);
                }
                if bat.current_consumed >= 0 {
                    self.battery.consumed_mah = Some(f64::from(bat.current_consumed));
                }
                if bat.temperature != i16::MAX {
                    self.battery.temperature_c = Some(f64::from(bat.temperature) * 1e-2);
                }
            }
            MavMessage::MISSION_CURRENT(current) => self.mission.on_current(current),
            MavMessage::MISSION_ITEM_REACHED(reached) => self.mission.on_reached(reached.seq),
            MavMessage::HOME_POSITION(home) => {
                self.home = Some(Home {
                    lat_deg: f64::from(home.latitude) * 1e-7,
                    lon_deg: f64::from(home.longitude) * 1e-7,
                    alt_msl_m: f64::from(home.altitude) * 1e-3,
                });
            }
            MavMessage::STATUSTEXT(text) => {
                self.status_log
                    .push_chunk(wall_us, header.component_id, text);
            }
            _ => {}
        }
    }

    /// The vehicle (system and component) this state follows, once it has been heard.
    pub fn followed(&self) -> Option<crate::protocol::services::Target> {
        Some(crate::protocol::services::Target {
            system_id: self.system_id?,
            component_id: self.component_id?,
        })
    }

    /// Whether the vehicle can arm, by what it says of itself: its pre-arm checks pass, and
    /// where it has them, a 3-D GPS fix and an EKF that uses it. `Err` names what is missing.
    pub fn readiness(&self) -> Result<(), String> {
        let mut missing = Vec::new();
        match self.prearm_ok {
            Some(true) => {}
            Some(false) => missing.push("pre-arm checks failing"),
            None => missing.push("no pre-arm status yet"),
        }
        if self.gps.as_ref().is_some_and(|gps| gps.fix_level < 3) {
            missing.push("no 3-D GPS fix");
        }
        if self.ekf_position_ok == Some(false) {
            missing.push("EKF has no absolute position");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join(", "))
        }
    }

    /// Adds a point to the flown track (thinned like live points; a replay restores the track
    /// of the time before a seek this way).
    pub fn extend_track(&mut self, point: TrackPoint) {
        let far_enough = self.track.last().is_none_or(|last| {
            haversine_m(last.lat_deg, last.lon_deg, point.lat_deg, point.lon_deg) >= TRACK_STEP_M
                || (last.alt_msl_m - point.alt_msl_m).abs() >= TRACK_STEP_M
        });
        if far_enough {
            if self.track.len() >= MAX_TRACK_POINTS {
                // Keep every other point: the whole flight stays, at half the detail.
                let mut index = 0;
                self.track.retain(|_| {
                    index += 1;
                    index % 2 == 0
                });
            }
            self.track.push(point);
        }
    }

    /// Applies a link-level session event: bytes moved and framing counters.
    pub fn note_bytes(&mut self, mono_us: u64, rx: usize, tx: usize) {
        if rx > 0 {
            self.link.on_rx_bytes(mono_us, rx);
        }
        if tx > 0 {
            self.link.on_tx_bytes(mono_us, tx);
        }
    }

    /// Seconds since the last heartbeat of the followed vehicle, at monotonic time `mono_us`.
    pub fn heartbeat_age_s(&self, mono_us: u64) -> Option<f64> {
        self.status
            .as_ref()
            .map(|status| mono_us.saturating_sub(status.last_heartbeat_mono_us) as f64 * 1e-6)
    }

    /// Distance from home to the vehicle in metres (ground distance), when both are known.
    pub fn distance_to_home_m(&self) -> Option<f64> {
        let home = self.home?;
        let pos = self.position?;
        Some(haversine_m(
            home.lat_deg,
            home.lon_deg,
            pos.lat_deg,
            pos.lon_deg,
        ))
    }
}

fn status_from(heartbeat: &apm::HEARTBEAT_DATA, mono_us: u64) -> Status {
    Status {
        vehicle_type: heartbeat.mavtype,
        autopilot: heartbeat.autopilot,
        armed: heartbeat
            .base_mode
            .contains(MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED),
        system_status: heartbeat.system_status,
        custom_mode: heartbeat.custom_mode,
        mode_name: modes::mode_name(
            heartbeat.autopilot,
            heartbeat.mavtype,
            heartbeat.custom_mode,
        ),
        last_heartbeat_mono_us: mono_us,
    }
}

fn dop(raw: u16) -> Option<f64> {
    (raw != u16::MAX).then(|| f64::from(raw) * 1e-2)
}

/// Short name of a GPS_FIX_TYPE value.
pub fn fix_name(fix_level: u8) -> &'static str {
    match fix_level {
        0 => "No GPS",
        1 => "No fix",
        2 => "2D fix",
        3 => "3D fix",
        4 => "DGPS",
        5 => "RTK float",
        6 => "RTK fixed",
        7 => "Static",
        8 => "PPP",
        _ => "Unknown",
    }
}

/// Great-circle distance between two points in metres (mean Earth radius).
pub fn haversine_m(lat1_deg: f64, lon1_deg: f64, lat2_deg: f64, lon2_deg: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (lat1, lat2) = (lat1_deg.to_radians(), lat2_deg.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (lon2_deg - lon1_deg).to_radians();
    let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Outgoing;

    fn frame(message: &MavMessage) -> FrameHeader {
        let bytes = Outgoing::new(1, 1).encode(message);
        match crate::protocol::frame::probe(&bytes) {
            crate::protocol::Probe::Valid(header) => header,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_text_before_the_first_heartbeat_is_kept() {
        let mut state = VehicleState::new();
        let text = MavMessage::STATUSTEXT(apm::STATUSTEXT_DATA {
            severity: apm::MavSeverity::MAV_SEVERITY_CRITICAL,
            text: "PreArm: Compass not calibrated".into(),
            id: 0,
            chunk_seq: 0,
        });
        state.apply(1, 1, &frame(&text), &text);
        assert_eq!(state.status_log.total(), 1);
        assert_eq!(state.system_id, None);
    }
}
