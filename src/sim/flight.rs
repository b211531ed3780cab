//! The simulated flight: a pure function of time, so tests can predict what they will see.
//!
//! A quadcopter sits at home for a few seconds, arms, climbs to 30 m, flies circles around
//! home, returns when its battery runs low, lands, disarms, gets a fresh battery and repeats.

use std::f64::consts::TAU;

/// Home: the ArduPilot SITL default field (CMAC, Canberra).
pub const HOME_LAT_DEG: f64 = -35.363_261;
pub const HOME_LON_DEG: f64 = 149.165_230;
pub const HOME_ALT_MSL_M: f64 = 584.0;

const GROUND_S: f64 = 5.0;
const CLIMB_S: f64 = 10.0;
const CRUISE_ALT_M: f64 = 30.0;
const CIRCLE_RADIUS_M: f64 = 80.0;
const CRUISE_SPEED_M_S: f64 = 8.0;
const CRUISE_S: f64 = 420.0;
const RETURN_S: f64 = 12.0;
const LAND_S: f64 = 15.0;
const REST_S: f64 = 10.0;
/// One whole cycle, in seconds.
pub const CYCLE_S: f64 = GROUND_S + CLIMB_S + CRUISE_S + RETURN_S + LAND_S + REST_S;

const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// What the vehicle is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Ground,
    Takeoff,
    Mission,
    Return,
    Land,
    Rest,
}

impl Phase {
    /// ArduCopter custom mode number for the phase.
    pub fn copter_mode(self) -> u32 {
        match self {
            Self::Ground | Self::Rest => 0, // STABILIZE
            Self::Takeoff => 4,             // GUIDED
            Self::Mission => 3,             // AUTO
            Self::Return => 6,              // RTL
            Self::Land => 9,                // LAND
        }
    }

    pub fn armed(self) -> bool {
        !matches!(self, Self::Ground | Self::Rest)
    }
}

/// The simulated vehicle at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimState {
    pub phase: Phase,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_rel_m: f64,
    pub vel_north_m_s: f64,
    pub vel_east_m_s: f64,
    pub climb_m_s: f64,
    pub roll_rad: f64,
    pub pitch_rad: f64,
    pub yaw_rad: f64,
    pub yaw_rate_rad_s: f64,
    pub groundspeed_m_s: f64,
    pub throttle_pct: f64,
    pub battery_v: f64,
    pub battery_a: f64,
    pub battery_pct: f64,
    pub consumed_mah: f64,
}

fn offset_to_latlon(north_m: f64, east_m: f64) -> (f64, f64) {
    let lat = HOME_LAT_DEG + (north_m / EARTH_RADIUS_M).to_degrees();
    let lon =
        HOME_LON_DEG + (east_m / (EARTH_RADIUS_M * HOME_LAT_DEG.to_radians().cos())).to_degrees();
    (lat, lon)
}

/// The vehicle's state `t_s` seconds after the simulation started.
pub fn state_at(t_s: f64) -> SimState {
    let cycle_t = t_s.rem_euclid(CYCLE_S);
    let mut t = cycle_t;
    let (phase, phase_t) = {
        let spans = [
            (Phase::Ground, GROUND_S),
            (Phase::Takeoff, CLIMB_S),
            (Phase::Mission, CRUISE_S),
            (Phase::Return, RETURN_S),
            (Phase::Land, LAND_S),
            (Phase::Rest, REST_S),
        ];
        let mut found = (Phase::Rest, 0.0);
        for (phase, span) in spans {
            if t < span {
                found = (phase, t);
                break;
            }
            t -= span;
        }
        found
    };
    let omega = CRUISE_SPEED_M_S / CIRCLE_RADIUS_M;
    // The circle is centred on home: the vehicle flies out to its edge during the climb.
    let (mut north, mut east, mut alt, mut vn, mut ve, mut climb) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let mut yaw = 0.0;
    let mut yaw_rate = 0.0;
    let mut roll = 0.0;
    let mut pitch = 0.0;
    match phase {
        Phase::Ground | Phase::Rest => {}
        Phase::Takeoff => {
            let k = phase_t / CLIMB_S;
            alt = CRUISE_ALT_M * k;
            climb = CRUISE_ALT_M / CLIMB_S;
            north = CIRCLE_RADIUS_M * k;
            vn = CIRCLE_RADIUS_M / CLIMB_S;
            pitch = -0.05;
        }
        Phase::Mission => {
            let angle = omega * phase_t;
            north = CIRCLE_RADIUS_M * angle.cos();
            east = CIRCLE_RADIUS_M * angle.sin();
            vn = -CRUISE_SPEED_M_S * angle.sin();
            ve = CRUISE_SPEED_M_S * angle.cos();
            alt = CRUISE_ALT_M + 2.0 * (phase_t * 0.2).sin();
            climb = 0.4 * (phase_t * 0.2).cos();
            yaw_rate = omega;
            roll = (CRUISE_SPEED_M_S * CRUISE_SPEED_M_S / (CIRCLE_RADIUS_M * 9.81)).atan();
            pitch = -0.08;
        }
        Phase::Return => {
            let angle = omega * CRUISE_S;
            let k = 1.0 - phase_t / RETURN_S;
            north = CIRCLE_RADIUS_M * angle.cos() * k;
            east = CIRCLE_RADIUS_M * angle.sin() * k;
            vn = -CIRCLE_RADIUS_M * angle.cos() / RETURN_S;
            ve = -CIRCLE_RADIUS_M * angle.sin() / RETURN_S;
            alt = CRUISE_ALT_M;
            pitch = -0.1;
        }
        Phase::Land => {
            alt = CRUISE_ALT_M * (1.0 - phase_t / LAND_S);
            climb = -CRUISE_ALT_M / LAND_S;
        }
    }
    let groundspeed = vn.hypot(ve);
    if groundspeed > 0.1 {
        yaw = ve.atan2(vn);
    }
    // A little wobble so instruments visibly live.
    roll += 0.02 * (t_s * 1.7).sin();
    pitch += 0.015 * (t_s * 1.3).cos();
    let (lat, lon) = offset_to_latlon(north, east);
    let flying_s = (cycle_t - GROUND_S).clamp(0.0, CLIMB_S + CRUISE_S + RETURN_S + LAND_S);
    let discharge = flying_s / (CLIMB_S + CRUISE_S + RETURN_S + LAND_S);
    let battery_pct = 100.0 - 75.0 * discharge;
    let current = if phase.armed() {
        18.0 + 4.0 * climb.max(0.0)
    } else {
        0.4
    };
    SimState {
        phase,
        lat_deg: lat,
        lon_deg: lon,
        alt_rel_m: alt,
        vel_north_m_s: vn,
        vel_east_m_s: ve,
        climb_m_s: climb,
        roll_rad: roll,
        pitch_rad: pitch,
        yaw_rad: yaw,
        yaw_rate_rad_s: yaw_rate,
        groundspeed_m_s: groundspeed,
        throttle_pct: if phase.armed() {
            45.0 + 10.0 * climb.max(0.0)
        } else {
            0.0
        },
        battery_v: 12.6 + 4.2 * battery_pct / 100.0 - current * 0.01,
        battery_a: current,
        battery_pct,
        consumed_mah: 5000.0 * 0.75 * discharge,
    }
}

/// Angle wrapped into [0, 2π).
pub fn wrap_tau(angle: f64) -> f64 {
    angle.rem_euclid(TAU)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flies_a_plausible_cycle() {
        let ground = state_at(1.0);
        assert_eq!(ground.phase, Phase::Ground);
        assert!(ground.alt_rel_m.abs() < 1e-9);
        let cruise = state_at(100.0);
        assert_eq!(cruise.phase, Phase::Mission);
        assert!((cruise.groundspeed_m_s - CRUISE_SPEED_M_S).abs() < 1e-6);
        assert!(cruise.alt_rel_m > 25.0);
        let distance =
            crate::vehicle::haversine_m(HOME_LAT_DEG, HOME_LON_DEG, cruise.lat_deg, cruise.lon_deg);
        assert!((distance - CIRCLE_RADIUS_M).abs() < 1.0, "{distance}");
        assert!(state_at(400.0).battery_pct < state_at(50.0).battery_pct);
        assert_eq!(state_at(CYCLE_S + 1.0).phase, Phase::Ground);
    }
}
