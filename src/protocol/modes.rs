//! Flight mode names from HEARTBEAT's `custom_mode`, as ArduPilot and PX4 define them.

use mavlink::dialects::ardupilotmega::{MavAutopilot, MavType};

/// Which ArduPilot firmware a vehicle type runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArduPilotFirmware {
    Copter,
    Plane,
    Rover,
    Sub,
}

/// The ArduPilot firmware for a vehicle type, if it is one ArduPilot flies.
pub fn ardupilot_firmware(vehicle_type: MavType) -> Option<ArduPilotFirmware> {
    use MavType::*;
    match vehicle_type {
        MAV_TYPE_QUADROTOR | MAV_TYPE_HEXAROTOR | MAV_TYPE_OCTOROTOR | MAV_TYPE_TRICOPTER
        | MAV_TYPE_COAXIAL | MAV_TYPE_HELICOPTER | MAV_TYPE_DODECAROTOR | MAV_TYPE_DECAROTOR => {
            Some(ArduPilotFirmware::Copter)
        }
        MAV_TYPE_FIXED_WING
        | MAV_TYPE_VTOL_TAILSITTER_DUOROTOR
        | MAV_TYPE_VTOL_TAILSITTER_QUADROTOR
        | MAV_TYPE_VTOL_TILTROTOR
        | MAV_TYPE_VTOL_FIXEDROTOR
        | MAV_TYPE_VTOL_TAILSITTER
        | MAV_TYPE_VTOL_TILTWING => Some(ArduPilotFirmware::Plane),
        MAV_TYPE_GROUND_ROVER | MAV_TYPE_SURFACE_BOAT => Some(ArduPilotFirmware::Rover),
        MAV_TYPE_SUBMARINE => Some(ArduPilotFirmware::Sub),
        _ => None,
    }
}

fn copter_mode(mode: u32) -> Option<&'static str> {
    Some(match mode {
        0 => "STABILIZE",
        1 => "ACRO",
        2 => "ALT_HOLD",
        3 => "AUTO",
        4 => "GUIDED",
        5 => "LOITER",
        6 => "RTL",
        7 => "CIRCLE",
        9 => "LAND",
        11 => "DRIFT",
        13 => "SPORT",
        14 => "FLIP",
        15 => "AUTOTUNE",
        16 => "POSHOLD",
        17 => "BRAKE",
        18 => "THROW",
        19 => "AVOID_ADSB",
        20 => "GUIDED_NOGPS",
        21 => "SMART_RTL",
        22 => "FLOWHOLD",
        23 => "FOLLOW",
        24 => "ZIGZAG",
        25 => "SYSTEMID",
        26 => "AUTOROTATE",
        27 => "AUTO_RTL",
        28 => "TURTLE",
        _ => return None,
    })
}

fn plane_mode(mode: u32) -> Option<&'static str> {
    Some(match mode {
        0 => "MANUAL",
        1 => "CIRCLE",
        2 => "STABILIZE",
        3 => "TRAINING",
        4 => "ACRO",
        5 => "FBWA",
        6 => "FBWB",
        7 => "CRUISE",
        8 => "AUTOTUNE",
        10 => "AUTO",
        11 => "RTL",
        12 => "LOITER",
        13 => "TAKEOFF",
        14 => "AVOID_ADSB",
        15 => "GUIDED",
        16 => "INITIALISING",
        17 => "QSTABILIZE",
        18 => "QHOVER",
        19 => "QLOITER",
        20 => "QLAND",
        21 => "QRTL",
        22 => "QAUTOTUNE",
        23 => "QACRO",
        24 => "THERMAL",
        25 => "LOITER_ALT_QLAND",
        26 => "AUTOLAND",
        _ => return None,
    })
}

fn rover_mode(mode: u32) -> Option<&'static str> {
    Some(match mode {
        0 => "MANUAL",
        1 => "ACRO",
        3 => "STEERING",
        4 => "HOLD",
        5 => "LOITER",
        6 => "FOLLOW",
        7 => "SIMPLE",
        8 => "DOCK",
        9 => "CIRCLE",
        10 => "AUTO",
        11 => "RTL",
        12 => "SMART_RTL",
        15 => "GUIDED",
        16 => "INITIALISING",
        _ => return None,
    })
}

fn sub_mode(mode: u32) -> Option<&'static str> {
    Some(match mode {
        0 => "STABILIZE",
        1 => "ACRO",
        2 => "ALT_HOLD",
        3 => "AUTO",
        4 => "GUIDED",
        7 => "CIRCLE",
        9 => "SURFACE",
        16 => "POSHOLD",
        19 => "MANUAL",
        20 => "MOTOR_DETECT",
        21 => "SURFTRAK",
        _ => return None,
    })
}

/// PX4 packs its mode as main mode in bits 16..24 and sub mode in bits 24..32.
fn px4_mode(custom_mode: u32) -> Option<&'static str> {
    let main = (custom_mode >> 16) & 0xFF;
    let sub = (custom_mode >> 24) & 0xFF;
    Some(match (main, sub) {
        (1, _) => "Manual",
        (2, _) => "Altitude",
        (3, 1) => "Orbit",
        (3, 2) => "Position Slow",
        (3, _) => "Position",
        (4, 1) => "Ready",
        (4, 2) => "Takeoff",
        (4, 3) => "Hold",
        (4, 4) => "Mission",
        (4, 5) => "Return",
        (4, 6) => "Land",
        (4, 8) => "Follow Me",
        (4, 9) => "Precision Land",
        (4, 10) => "VTOL Takeoff",
        (4, _) => "Auto",
        (5, _) => "Acro",
        (6, _) => "Offboard",
        (7, _) => "Stabilized",
        (8, _) => "Rattitude",
        _ => return None,
    })
}

/// The operator's name for a vehicle's mode; `Mode N` when the number is not one we know.
pub fn mode_name(autopilot: MavAutopilot, vehicle_type: MavType, custom_mode: u32) -> String {
    let known = match autopilot {
        MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA => match ardupilot_firmware(vehicle_type) {
            Some(ArduPilotFirmware::Copter) => copter_mode(custom_mode),
            Some(ArduPilotFirmware::Plane) => plane_mode(custom_mode),
            Some(ArduPilotFirmware::Rover) => rover_mode(custom_mode),
            Some(ArduPilotFirmware::Sub) => sub_mode(custom_mode),
            None => None,
        },
        MavAutopilot::MAV_AUTOPILOT_PX4 => px4_mode(custom_mode),
        _ => None,
    };
    known.map_or_else(|| format!("Mode {custom_mode}"), str::to_owned)
}

/// The named modes of one autopilot and vehicle type, as (name, how to ask for it).
fn known_modes(autopilot: MavAutopilot, vehicle_type: MavType) -> Vec<(&'static str, ModeRequest)> {
    match autopilot {
        MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA => {
            let Some(firmware) = ardupilot_firmware(vehicle_type) else {
                return Vec::new();
            };
            let name_of = match firmware {
                ArduPilotFirmware::Copter => copter_mode,
                ArduPilotFirmware::Plane => plane_mode,
                ArduPilotFirmware::Rover => rover_mode,
                ArduPilotFirmware::Sub => sub_mode,
            };
            (0..=u8::MAX.into())
                .filter_map(|number| {
                    name_of(number).map(|name| {
                        (
                            name,
                            ModeRequest {
                                custom_mode: number,
                                custom_sub_mode: 0,
                            },
                        )
                    })
                })
                .collect()
        }
        MavAutopilot::MAV_AUTOPILOT_PX4 => {
            let mut modes: Vec<(&'static str, ModeRequest)> = Vec::new();
            for main in 1..=8u32 {
                for sub in 0..=10u32 {
                    if let Some(name) = px4_mode(main << 16 | sub << 24) {
                        if modes.iter().all(|(known, _)| *known != name) {
                            modes.push((
                                name,
                                ModeRequest {
                                    custom_mode: main,
                                    custom_sub_mode: sub,
                                },
                            ));
                        }
                    }
                }
            }
            modes
        }
        _ => Vec::new(),
    }
}

/// How to ask a vehicle for a mode with MAV_CMD_DO_SET_MODE: `custom_mode` goes in param 2,
/// `custom_sub_mode` (PX4 only) in param 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeRequest {
    pub custom_mode: u32,
    pub custom_sub_mode: u32,
}

/// The mode called `name` (any case; `Position` and `POSITION` alike) on this vehicle.
pub fn mode_request(
    autopilot: MavAutopilot,
    vehicle_type: MavType,
    name: &str,
) -> Option<ModeRequest> {
    let wanted = name.trim().replace([' ', '-'], "_");
    known_modes(autopilot, vehicle_type)
        .into_iter()
        .find(|(known, _)| known.replace(' ', "_").eq_ignore_ascii_case(&wanted))
        .map(|(_, request)| request)
}

/// The names of the modes this vehicle has, in the autopilot's order (for a mode menu).
pub fn mode_names(autopilot: MavAutopilot, vehicle_type: MavType) -> Vec<&'static str> {
    known_modes(autopilot, vehicle_type)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ardupilot_modes_by_vehicle_type() {
        let apm = MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA;
        assert_eq!(mode_name(apm, MavType::MAV_TYPE_QUADROTOR, 5), "LOITER");
        assert_eq!(mode_name(apm, MavType::MAV_TYPE_FIXED_WING, 5), "FBWA");
        assert_eq!(
            mode_name(apm, MavType::MAV_TYPE_VTOL_TILTROTOR, 19),
            "QLOITER"
        );
        assert_eq!(mode_name(apm, MavType::MAV_TYPE_GROUND_ROVER, 4), "HOLD");
        assert_eq!(mode_name(apm, MavType::MAV_TYPE_QUADROTOR, 99), "Mode 99");
    }

    #[test]
    fn names_px4_main_and_sub_modes() {
        let px4 = MavAutopilot::MAV_AUTOPILOT_PX4;
        let quad = MavType::MAV_TYPE_QUADROTOR;
        assert_eq!(mode_name(px4, quad, 4 << 16 | 4 << 24), "Mission");
        assert_eq!(mode_name(px4, quad, 4 << 16 | 5 << 24), "Return");
        assert_eq!(mode_name(px4, quad, 3 << 16), "Position");
        assert_eq!(mode_name(px4, quad, 6 << 16), "Offboard");
    }

    #[test]
    fn finds_modes_by_name_both_ways() {
        let apm = MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA;
        let quad = MavType::MAV_TYPE_QUADROTOR;
        let guided = mode_request(apm, quad, "guided").unwrap();
        assert_eq!(guided.custom_mode, 4);
        assert_eq!(
            mode_request(apm, quad, "smart-rtl").unwrap().custom_mode,
            21
        );
        assert_eq!(
            mode_request(apm, MavType::MAV_TYPE_FIXED_WING, "QLOITER")
                .unwrap()
                .custom_mode,
            19
        );
        assert_eq!(mode_request(apm, quad, "QLOITER"), None);
        let px4 = MavAutopilot::MAV_AUTOPILOT_PX4;
        let mission = mode_request(px4, quad, "mission").unwrap();
        assert_eq!((mission.custom_mode, mission.custom_sub_mode), (4, 4));
        assert_eq!(
            mode_request(px4, quad, "position slow")
                .unwrap()
                .custom_sub_mode,
            2
        );
        // Every listed name leads back to itself.
        for (autopilot, vehicle) in [(apm, quad), (px4, quad), (apm, MavType::MAV_TYPE_SUBMARINE)] {
            for name in mode_names(autopilot, vehicle) {
                let request = mode_request(autopilot, vehicle, name).unwrap();
                let number = match autopilot {
                    MavAutopilot::MAV_AUTOPILOT_PX4 => {
                        request.custom_mode << 16 | request.custom_sub_mode << 24
                    }
                    _ => request.custom_mode,
                };
                assert_eq!(mode_name(autopilot, vehicle, number), name);
            }
        }
    }
}
