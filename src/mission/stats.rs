//! A plan's statistics: distance, estimated time, highest altitude, items by kind.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{MissionItem, Plan};

/// Speed assumed when a plan names none, m/s.
const DEFAULT_CRUISE_M_S: f64 = 10.0;
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// MAV_CMD_NAV_LOITER_TIME (param 1: seconds), MAV_CMD_NAV_DELAY (param 1: seconds),
/// MAV_CMD_CONDITION_DELAY (param 1: seconds), MAV_CMD_NAV_WAYPOINT (param 1: hold seconds).
const TIMED: [u16; 4] = [19, 93, 112, 16];

/// What a plan amounts to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Along the mission's positions, starting at home when there is one, metres.
    pub distance_m: f64,
    /// Distance at the cruise speed plus hold and delay times, seconds.
    pub time_s: f64,
    /// The cruise speed used, m/s.
    pub cruise_speed_m_s: f64,
    /// Highest altitude of an item with a position, in its own frame, metres.
    pub highest_alt_m: Option<f64>,
    /// Items by kind (`WAYPOINT`, `TAKEOFF`…, `command N` when unknown).
    pub items_by_kind: BTreeMap<String, usize>,
    /// Items by altitude frame number.
    pub items_by_frame: BTreeMap<u8, usize>,
}

/// A readable name of a MAV_CMD number.
pub fn command_name(command: u16) -> String {
    let name = match command {
        16 => "WAYPOINT",
        17 => "LOITER_UNLIM",
        18 => "LOITER_TURNS",
        19 => "LOITER_TIME",
        20 => "RETURN_TO_LAUNCH",
        21 => "LAND",
        22 => "TAKEOFF",
        30 => "CONTINUE_AND_CHANGE_ALT",
        31 => "LOITER_TO_ALT",
        82 => "SPLINE_WAYPOINT",
        84 => "VTOL_TAKEOFF",
        85 => "VTOL_LAND",
        93 => "DELAY",
        112 => "CONDITION_DELAY",
        114 => "CONDITION_DISTANCE",
        115 => "CONDITION_YAW",
        177 => "DO_JUMP",
        178 => "DO_CHANGE_SPEED",
        179 => "DO_SET_HOME",
        181 => "DO_SET_RELAY",
        183 => "DO_SET_SERVO",
        189 => "DO_LAND_START",
        201 => "DO_SET_ROI",
        203 => "DO_DIGICAM_CONTROL",
        205 => "DO_MOUNT_CONTROL",
        206 => "DO_SET_CAM_TRIGG_DIST",
        _ => return format!("command {command}"),
    };
    name.to_owned()
}

/// Whether an item is a place to fly to (a NAV command with a position).
pub fn has_position(item: &MissionItem) -> bool {
    item.command < 100
        && item.x.is_finite()
        && item.y.is_finite()
        && !(item.x == 0.0 && item.y == 0.0)
}

fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let d_lat = lat2 - lat1;
    let d_lon = (b.1 - a.1).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

impl Stats {
    pub fn of(plan: &Plan) -> Self {
        let cruise = plan
            .cruise_speed_m_s
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(DEFAULT_CRUISE_M_S);
        let mut last = plan
            .home
            .as_ref()
            .filter(|home| has_position(home))
            .map(|home| (home.x, home.y));
        let mut distance = 0.0;
        let mut waits = 0.0;
        let mut highest: Option<f64> = None;
        let mut by_kind = BTreeMap::new();
        let mut by_frame = BTreeMap::new();
        for item in &plan.items {
            *by_kind.entry(command_name(item.command)).or_insert(0) += 1;
            *by_frame.entry(item.frame).or_insert(0) += 1;
            if TIMED.contains(&item.command) && item.params[0].is_finite() && item.params[0] > 0.0 {
                waits += item.params[0];
            }
            if has_position(item) {
                if let Some(previous) = last {
                    distance += distance_m(previous, (item.x, item.y));
                }
                last = Some((item.x, item.y));
                if item.z.is_finite() {
                    highest = Some(highest.map_or(item.z, |h| h.max(item.z)));
                }
            }
        }
        Self {
            distance_m: distance,
            time_s: distance / cruise + waits,
            cruise_speed_m_s: cruise,
            highest_alt_m: highest,
            items_by_kind: by_kind,
            items_by_frame: by_frame,
        }
    }
}
