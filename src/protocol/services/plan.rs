//! What each operator action is in commands, for the vehicle's autopilot and type.
//!
//! ArduPilot changes what a vehicle does mostly through modes (QGroundControl does the same:
//! land and RTL are mode changes there); PX4 takes the NAV commands. Steps that are already done
//! (the vehicle is in GUIDED, it is armed) are left out. Pure functions: no state, no I/O.

use mavlink::dialects::ardupilotmega as apm;

use super::command::Wire;
use super::{Action, SeenVehicle};
use crate::protocol::modes::{self, ArduPilotFirmware};

/// The force of MAV_CMD_COMPONENT_ARM_DISARM's param 2 that disarms in flight.
const FORCE_DISARM_MAGIC: f32 = 21196.0;
/// MAV_DO_REPOSITION_FLAGS_CHANGE_MODE: switch to guided to fly there.
const REPOSITION_CHANGE_MODE: f32 = 1.0;

/// One command of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What it does, in words (`arm`, `mode GUIDED`, `takeoff`…).
    pub label: String,
    pub wire: Wire,
    /// Sent instead when the vehicle answers the first one with UNSUPPORTED.
    pub fallback: Option<Wire>,
}

impl Step {
    fn new(label: impl Into<String>, wire: Wire) -> Self {
        Self {
            label: label.into(),
            wire,
            fallback: None,
        }
    }

    /// What the vehicle is once it accepted this step: its mode, armed state, guided point.
    pub fn apply_to(&self, vehicle: &mut SeenVehicle) {
        if let Some(point) = self.goto_point() {
            vehicle.goto_target = Some(point);
        }
        if let Wire::Long { command, params } = &self.wire {
            match command {
                apm::MavCmd::MAV_CMD_DO_SET_MODE
                    if vehicle.autopilot == apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA =>
                {
                    vehicle.custom_mode = params[1] as u32;
                }
                apm::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM => vehicle.armed = params[0] == 1.0,
                _ => {}
            }
        }
    }

    /// The horizontal point a "go to" step flies to.
    pub fn goto_point(&self) -> Option<(f64, f64)> {
        match &self.wire {
            Wire::Int {
                command: apm::MavCmd::MAV_CMD_DO_REPOSITION,
                x,
                y,
                ..
            }
            | Wire::GuidedItem { x, y, .. } => Some((f64::from(*x) / 1e7, f64::from(*y) / 1e7)),
            _ => None,
        }
    }
}

fn long(command: apm::MavCmd, params: [f32; 7]) -> Wire {
    Wire::Long { command, params }
}

fn arm_disarm(arm: bool, force: bool) -> Wire {
    let mut params = [0.0; 7];
    params[0] = if arm { 1.0 } else { 0.0 };
    if force {
        params[1] = FORCE_DISARM_MAGIC;
    }
    long(apm::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM, params)
}

fn degrees_e7(degrees: f64) -> Result<i32, String> {
    let scaled = (degrees * 1e7).round();
    if degrees.is_finite() && scaled.abs() <= f64::from(i32::MAX) {
        Ok(scaled as i32)
    } else {
        Err(format!("{degrees} is not a latitude or longitude"))
    }
}

/// A step that changes to the mode named `name`, or why it cannot.
fn set_mode(vehicle: &SeenVehicle, name: &str) -> Result<Step, String> {
    let request =
        modes::mode_request(vehicle.autopilot, vehicle.vehicle_type, name).ok_or_else(|| {
            let known = modes::mode_names(vehicle.autopilot, vehicle.vehicle_type);
            if known.is_empty() {
                format!("this vehicle's modes are not known, so `{name}` cannot be set")
            } else {
                format!(
                    "this vehicle has no mode `{name}` (it has: {})",
                    known.join(", ")
                )
            }
        })?;
    let params = [
        apm::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED.bits() as f32,
        request.custom_mode as f32,
        request.custom_sub_mode as f32,
        0.0,
        0.0,
        0.0,
        0.0,
    ];
    Ok(Step::new(
        format!("mode {}", name.to_uppercase()),
        long(apm::MavCmd::MAV_CMD_DO_SET_MODE, params),
    ))
}

/// Whether the vehicle is in the mode called `name` now.
fn in_mode(vehicle: &SeenVehicle, name: &str) -> bool {
    modes::mode_name(vehicle.autopilot, vehicle.vehicle_type, vehicle.custom_mode)
        .eq_ignore_ascii_case(name)
}

fn firmware(vehicle: &SeenVehicle) -> Option<ArduPilotFirmware> {
    match vehicle.autopilot {
        apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA => {
            modes::ardupilot_firmware(vehicle.vehicle_type)
        }
        _ => None,
    }
}

fn is_px4(vehicle: &SeenVehicle) -> bool {
    vehicle.autopilot == apm::MavAutopilot::MAV_AUTOPILOT_PX4
}

/// A guided "go to": DO_REPOSITION as COMMAND_INT (switching to guided), and for vehicles that
/// answer UNSUPPORTED a guided MISSION_ITEM_INT.
fn goto(lat_deg: f64, lon_deg: f64, alt_m: f32, label: &str) -> Result<Step, String> {
    if !(-90.0..=90.0).contains(&lat_deg) || !(-180.0..=180.0).contains(&lon_deg) {
        return Err(format!("{lat_deg}, {lon_deg} is not a point on Earth"));
    }
    let (x, y) = (degrees_e7(lat_deg)?, degrees_e7(lon_deg)?);
    let frame = apm::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT;
    Ok(Step {
        label: label.to_owned(),
        wire: Wire::Int {
            command: apm::MavCmd::MAV_CMD_DO_REPOSITION,
            frame,
            params: [-1.0, REPOSITION_CHANGE_MODE, 0.0, f32::NAN],
            x,
            y,
            z: alt_m,
        },
        fallback: Some(Wire::GuidedItem {
            frame,
            x,
            y,
            z: alt_m,
        }),
    })
}

/// The commands that carry out `action` on `vehicle`, in order, or why it cannot be done.
pub fn plan(action: &Action, vehicle: &SeenVehicle) -> Result<Vec<Step>, String> {
    let nan = f32::NAN;
    let firmware = firmware(vehicle);
    let px4 = is_px4(vehicle);
    let unknown = || {
        format!(
            "{} is not something Airlock can ask of this vehicle ({:?}, {:?})",
            action.describe(),
            vehicle.autopilot,
            vehicle.vehicle_type
        )
    };
    let altitude = |alt_m: f32| {
        if alt_m.is_finite() && (0.5..=10_000.0).contains(&alt_m) {
            Ok(())
        } else {
            Err(format!("{alt_m} m is not an altitude to fly to"))
        }
    };
    Ok(match action {
        Action::Arm => vec![Step::new("arm", arm_disarm(true, false))],
        Action::Disarm => vec![Step::new("disarm", arm_disarm(false, false))],
        Action::ForceDisarm => vec![Step::new("force disarm", arm_disarm(false, true))],
        Action::SetMode { name } => vec![set_mode(vehicle, name)?],
        Action::Takeoff { alt_m } => {
            altitude(*alt_m)?;
            let mut steps = Vec::new();
            match firmware {
                Some(ArduPilotFirmware::Copter) => {
                    if !in_mode(vehicle, "GUIDED") {
                        steps.push(set_mode(vehicle, "GUIDED")?);
                    }
                    if !vehicle.armed {
                        steps.push(Step::new("arm", arm_disarm(true, false)));
                    }
                    let mut params = [0.0; 7];
                    params[6] = *alt_m;
                    steps.push(Step::new(
                        "takeoff",
                        long(apm::MavCmd::MAV_CMD_NAV_TAKEOFF, params),
                    ));
                }
                _ if px4 => {
                    let home = vehicle.home_alt_msl_m.ok_or(
                        "the vehicle has not said where home is yet (PX4 takes off to a height above sea level)",
                    )?;
                    if !vehicle.armed {
                        steps.push(Step::new("arm", arm_disarm(true, false)));
                    }
                    let alt_msl = (home + f64::from(*alt_m)) as f32;
                    steps.push(Step::new(
                        "takeoff",
                        long(
                            apm::MavCmd::MAV_CMD_NAV_TAKEOFF,
                            [-1.0, 0.0, 0.0, nan, nan, nan, alt_msl],
                        ),
                    ));
                }
                _ => return Err(unknown()),
            }
            steps
        }
        Action::Land => match firmware {
            Some(ArduPilotFirmware::Copter) => vec![set_mode(vehicle, "LAND")?],
            Some(ArduPilotFirmware::Plane) => vec![set_mode(vehicle, "QLAND")
                .map_err(|_| "a fixed-wing plane lands by its mission or RTL".to_owned())?],
            _ if px4 => vec![Step::new(
                "land",
                long(
                    apm::MavCmd::MAV_CMD_NAV_LAND,
                    [0.0, 0.0, 0.0, nan, nan, nan, nan],
                ),
            )],
            _ => return Err(unknown()),
        },
        Action::Rtl => match firmware {
            Some(ArduPilotFirmware::Sub) => vec![set_mode(vehicle, "SURFACE")?],
            Some(_) => vec![set_mode(vehicle, "RTL")?],
            None if px4 => vec![Step::new(
                "return to launch",
                long(apm::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH, [0.0; 7]),
            )],
            None => return Err(unknown()),
        },
        Action::Brake => match firmware {
            Some(ArduPilotFirmware::Copter) => vec![set_mode(vehicle, "BRAKE")?],
            Some(ArduPilotFirmware::Plane) => vec![set_mode(vehicle, "LOITER")?],
            Some(ArduPilotFirmware::Rover) => vec![set_mode(vehicle, "HOLD")?],
            Some(ArduPilotFirmware::Sub) => vec![set_mode(vehicle, "POSHOLD")?],
            None if px4 => vec![set_mode(vehicle, "Hold")?],
            None => return Err(unknown()),
        },
        Action::GoTo {
            lat_deg,
            lon_deg,
            alt_m,
        } => {
            altitude(*alt_m)?;
            vec![goto(*lat_deg, *lon_deg, *alt_m, "go to")?]
        }
        Action::ChangeAltitude { alt_m } => {
            altitude(*alt_m)?;
            // Keep flying to the last "go to" point while still guided there; else hold here.
            let target = vehicle.goto_target.filter(|_| in_mode(vehicle, "GUIDED"));
            let (lat, lon) = target
                .or(vehicle.position)
                .ok_or("the vehicle has not reported its position yet")?;
            vec![goto(lat, lon, *alt_m, "change altitude")?]
        }
        Action::MissionStart => {
            // As QGroundControl does: a disarmed copter is armed in GUIDED first (ArduCopter
            // does not arm in AUTO), then MISSION_START switches to AUTO and lifts off.
            let mut steps = Vec::new();
            if !vehicle.armed {
                if firmware == Some(ArduPilotFirmware::Copter) && !in_mode(vehicle, "GUIDED") {
                    steps.push(set_mode(vehicle, "GUIDED")?);
                }
                steps.push(Step::new("arm", arm_disarm(true, false)));
            }
            steps.push(Step::new(
                "mission start",
                long(apm::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
            ));
            steps
        }
        Action::SetMissionCurrent { seq } => {
            let mut params = [0.0; 7];
            params[0] = f32::from(*seq);
            vec![Step::new(
                format!("mission item {seq}"),
                long(apm::MavCmd::MAV_CMD_DO_SET_MISSION_CURRENT, params),
            )]
        }
        Action::UploadMission { .. }
        | Action::DownloadMission { .. }
        | Action::ClearMission { .. }
        | Action::FetchParams { .. }
        | Action::GetParams { .. }
        | Action::SetParams { .. }
        | Action::ListLogs
        | Action::DownloadLog { .. }
        | Action::EraseLogs
        | Action::InstallSigning { .. }
        | Action::RemoveSigning => return Err("a transfer is not a command".to_owned()),
        Action::Reboot => {
            let mut params = [0.0; 7];
            params[0] = 1.0;
            vec![Step::new(
                "reboot",
                long(apm::MavCmd::MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, params),
            )]
        }
    })
}
