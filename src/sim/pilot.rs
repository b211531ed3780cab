//! The demo's pilot: flies the simulated vehicle on its own so the demo shows a flight at once
//! (take off, fly the circuit, come back when the battery runs low, land, change battery,
//! again), through the same model calls a ground station's commands make. It hands over for
//! good as soon as a ground station commands the vehicle.

use super::model::{Mode, Model, CIRCUIT_ALT_M, GPS_FIX_AFTER_S};

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
                    let _ = model.takeoff(CIRCUIT_ALT_M);
                    self.rest_since_s = None;
                }
            }
            return;
        }
        self.rest_since_s = None;
        if model.mode == Mode::Guided && model.pos.alt_m >= CIRCUIT_ALT_M - 1.0 {
            let _ = model.set_mode(Mode::Auto);
            model.texts.push((6, "Mission: 1 WP".to_owned()));
        }
        if model.mode == Mode::Auto && model.battery_pct() < RETURN_AT_PCT {
            let _ = model.set_mode(Mode::Rtl);
            model
                .texts
                .push((4, "Battery failsafe: returning to launch".to_owned()));
        }
    }
}
