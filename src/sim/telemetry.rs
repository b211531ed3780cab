//! What the simulated vehicle sends by itself: its telemetry schedule (ArduPilot's stream
//! groups) and each message made from the model.

use mavlink::dialects::ardupilotmega as apm;

use super::model::{Model, HOME_ALT_MSL_M, HOME_LAT_DEG, HOME_LON_DEG};
use crate::protocol::MavMessage;

/// Telemetry a message group is sent at, in Hz (0 = off).
#[derive(Debug, Clone)]
pub(super) struct Schedule {
    /// (message id, rate in Hz, next due time in s)
    entries: Vec<(u32, f64, f64)>,
}

pub(super) const HEARTBEAT: u32 = 0;
pub(super) const SYS_STATUS: u32 = 1;
pub(super) const GPS_RAW_INT: u32 = 24;
pub(super) const ATTITUDE: u32 = 30;
pub(super) const MISSION_CURRENT: u32 = 42;
pub(super) const GLOBAL_POSITION_INT: u32 = 33;
pub(super) const VFR_HUD: u32 = 74;
pub(super) const BATTERY_STATUS: u32 = 147;
pub(super) const EKF_STATUS_REPORT: u32 = 193;
pub(super) const HOME_POSITION: u32 = 242;

impl Schedule {
    pub(super) fn new() -> Self {
        Self {
            entries: vec![
                (HEARTBEAT, 1.0, 0.0),
                (SYS_STATUS, 2.0, 0.0),
                (GPS_RAW_INT, 5.0, 0.0),
                (ATTITUDE, 10.0, 0.0),
                (GLOBAL_POSITION_INT, 5.0, 0.0),
                (VFR_HUD, 5.0, 0.0),
                (MISSION_CURRENT, 1.0, 0.0),
                (BATTERY_STATUS, 1.0, 0.0),
                (EKF_STATUS_REPORT, 1.0, 0.0),
                (HOME_POSITION, 0.2, 0.0),
            ],
        }
    }

    pub(super) fn set_rate(&mut self, id: u32, rate_hz: f64) -> bool {
        let mut known = false;
        for entry in &mut self.entries {
            if entry.0 == id {
                entry.1 = rate_hz;
                known = true;
            }
        }
        known
    }

    pub(super) fn due(&mut self, now_s: f64) -> Vec<u32> {
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
pub(super) fn stream_members(stream_id: apm::MavDataStream) -> &'static [u32] {
    use apm::MavDataStream::*;
    match stream_id {
        MAV_DATA_STREAM_ALL => &[
            SYS_STATUS,
            GPS_RAW_INT,
            MISSION_CURRENT,
            ATTITUDE,
            GLOBAL_POSITION_INT,
            VFR_HUD,
            BATTERY_STATUS,
            EKF_STATUS_REPORT,
        ],
        MAV_DATA_STREAM_EXTENDED_STATUS => &[SYS_STATUS, GPS_RAW_INT, MISSION_CURRENT],
        MAV_DATA_STREAM_POSITION => &[GLOBAL_POSITION_INT],
        MAV_DATA_STREAM_EXTRA1 => &[ATTITUDE],
        MAV_DATA_STREAM_EXTRA2 => &[VFR_HUD],
        MAV_DATA_STREAM_EXTRA3 => &[BATTERY_STATUS, EKF_STATUS_REPORT],
        _ => &[],
    }
}

pub(super) fn statustext(severity: apm::MavSeverity, text: &str) -> MavMessage {
    MavMessage::STATUSTEXT(apm::STATUSTEXT_DATA {
        severity,
        text: text.into(),
        id: 0,
        chunk_seq: 0,
    })
}

/// MISSION_CURRENT: the item the mission runner is at, and its state, as ArduPilot reports it.
pub(super) fn mission_current(model: &Model) -> MavMessage {
    use apm::MissionState::*;
    let auto = &model.auto;
    let in_auto = model.mode == super::model::Mode::Auto;
    let mission_state = if !auto.has_mission() {
        MISSION_STATE_NO_MISSION
    } else if auto.complete() {
        MISSION_STATE_COMPLETE
    } else if in_auto {
        MISSION_STATE_ACTIVE
    } else {
        MISSION_STATE_NOT_STARTED
    };
    MavMessage::MISSION_CURRENT(apm::MISSION_CURRENT_DATA {
        seq: auto.current(),
        total: if auto.has_mission() {
            auto.total()
        } else {
            u16::MAX
        },
        mission_state,
        mission_mode: if in_auto { 1 } else { 2 },
        ..Default::default()
    })
}

pub(super) fn scaled_i32(value: f64, scale: f64) -> i32 {
    (value * scale).round() as i32
}

pub(super) fn message(id: u32, model: &Model, boot_s: f64) -> MavMessage {
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
        MISSION_CURRENT => mission_current(model),
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
