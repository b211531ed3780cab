//! The demo's pilot: flies the simulated vehicle on its own so the demo shows a flight at once
//! (take off, fly the demo plan in AUTO, come back when the battery runs low, land, change
//! battery, again), through the same model calls a ground station's commands make. It hands
//! over for good as soon as a ground station commands the vehicle. The demo plan is an
//! ordinary mission on the vehicle: the operator can download it, edit it and upload it again.

use std::f64::consts::TAU;

use super::auto::Item;
use super::model::{offset_to_lat_lon, Mode, Model, GPS_FIX_AFTER_S, HOME_LAT_DEG, HOME_LON_DEG};

/// The demo plan: a circuit of this radius around home, at this height above home.
pub const DEMO_RADIUS_M: f64 = 80.0;
pub const DEMO_ALT_M: f64 = 30.0;
const DEMO_POINTS: usize = 12;
/// MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, MAV_CMD_NAV_TAKEOFF, MAV_CMD_NAV_WAYPOINT, MAV_CMD_DO_JUMP.
const RELATIVE_ALT: u8 = 6;
const TAKEOFF: u16 = 22;
const WAYPOINT: u16 = 16;
const JUMP: u16 = 177;

/// The demo plan: home, takeoff, a circle of waypoints, and a jump back to the first
/// waypoint for ever (the pilot brings the vehicle home when the battery is low).
pub fn demo_plan() -> Vec<Item> {
    let item = |command, params, lat_deg, lon_deg, alt: f64| Item {
        command,
        frame: RELATIVE_ALT,
        params,
        lat_deg,
        lon_deg,
        alt: alt as f32,
    };
    let mut plan = vec![
        Item {
            frame: 0,
            ..item(
                WAYPOINT,
                [0.0; 4],
                HOME_LAT_DEG,
                HOME_LON_DEG,
                super::model::HOME_ALT_MSL_M,
            )
        },
        item(TAKEOFF, [0.0; 4], 0.0, 0.0, DEMO_ALT_M),
    ];
    for point in 0..DEMO_POINTS {
        let angle = TAU * point as f64 / DEMO_POINTS as f64;
        let (lat, lon) =
            offset_to_lat_lon(DEMO_RADIUS_M * angle.cos(), DEMO_RADIUS_M * angle.sin());
        plan.push(item(WAYPOINT, [0.0; 4], lat, lon, DEMO_ALT_M));
    }
    plan.push(item(JUMP, [2.0, -1.0, 0.0, 0.0], 0.0, 0.0, 0.0));
    plan
}

/// Seconds on the ground before each flight.
const GROUND_S: f64 = 5.0;
/// Battery left when it comes back.
const RETURN_AT_PCT: f64 = 30.0;
/// Seconds on the ground after a flight before the battery is changed.
const REST_S: f64 = 10.0;

/// The demo pilot; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct DemoPilot {
    /// False once a ground station took over.
    pub flying: bool,
    /// When the vehicle last came to rest on the ground.
    rest_since_s: Option<f64>,
}

impl DemoPilot {
    pub fn new(flying: bool) -> Self {
        Self {
            flying,
            rest_since_s: Some(0.0),
        }
    }

    /// A ground station commanded the vehicle: the pilot lets go.
    pub fn hand_over(&mut self) {
        self.flying = false;
    }

    /// Looks at the vehicle and acts like a pilot would.
    pub fn fly(&mut self, model: &mut Model) {
        if !self.flying {
            return;
        }
        let now = model.time_s;
        if model.landed && !model.armed {
            let since = *self.rest_since_s.get_or_insert(now);
            if model.battery_pct() < 90.0 && now - since >= REST_S {
                model.replace_battery();
            }
            if now - since >= GROUND_S.max(GPS_FIX_AFTER_S) && model.battery_pct() >= 90.0 {
                let _ = model.set_mode(Mode::Guided);
                if model.arm().is_ok() {
                    let _ = model.takeoff(DEMO_ALT_M);
                    self.rest_since_s = None;
                }
            }
            return;
        }
        self.rest_since_s = None;
        if model.mode == Mode::Guided && model.pos.alt_m >= DEMO_ALT_M - 1.0 {
            let _ = model.set_mode(Mode::Auto);
        }
        if model.mode == Mode::Auto && model.battery_pct() < RETURN_AT_PCT {
            let _ = model.set_mode(Mode::Rtl);
            model
                .texts
                .push((4, "Battery failsafe: returning to launch".to_owned()));
        }
    }
}
