//! The simulated quadcopter: a small ArduCopter-like vehicle stepped in time.
//!
//! Modes STABILIZE (idle on the ground), GUIDED (take off, fly to a point), AUTO (the stored
//! mission, see [`super::auto`]), LOITER and BRAKE (hold), RTL (climb, return, land) and LAND; arming
//! checks that fail like ArduPilot's in the first seconds after boot (no 3-D fix yet); plausible
//! speeds; auto-disarm after landing. Pure: time comes in as `dt`, texts go out as a queue.

use std::f64::consts::{PI, TAU};

use super::auto::{Auto, Goal};

/// Home: the ArduPilot SITL default field (CMAC, Canberra).
pub const HOME_LAT_DEG: f64 = -35.363_261;
pub const HOME_LON_DEG: f64 = 149.165_230;
pub const HOME_ALT_MSL_M: f64 = 584.0;

/// Seconds after boot before the GPS has a 3-D fix (and the vehicle can arm).
pub const GPS_FIX_AFTER_S: f64 = 3.0;
/// Horizontal cruise speed, m/s (ArduCopter's WPNAV_SPEED is 10).
pub const CRUISE_SPEED_M_S: f64 = 8.0;
const CLIMB_RATE_M_S: f64 = 2.5;
const DESCENT_RATE_M_S: f64 = 1.5;
/// LAND's slow final descent below 10 m.
const LAND_FINAL_M_S: f64 = 0.5;
const RTL_ALT_M: f64 = 15.0;
/// Seconds on the ground after landing before the motors disarm.
const AUTO_DISARM_S: f64 = 2.0;
/// Seconds armed on the ground without taking off before the motors disarm (DISARM_DELAY).
const DISARM_DELAY_S: f64 = 10.0;
const BATTERY_MAH: f64 = 5000.0;
const EARTH_RADIUS_M: f64 = 6_371_008.8;
const GRAVITY_M_S2: f64 = 9.81;

/// ArduCopter's flight modes that the simulator flies, with their numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Stabilize = 0,
    Auto = 3,
    Guided = 4,
    Loiter = 5,
    Rtl = 6,
    Land = 9,
    Brake = 17,
}

impl Mode {
    pub fn from_number(number: u32) -> Option<Self> {
        Some(match number {
            0 => Self::Stabilize,
            3 => Self::Auto,
            4 => Self::Guided,
            5 => Self::Loiter,
            6 => Self::Rtl,
            9 => Self::Land,
            17 => Self::Brake,
            _ => return None,
        })
    }

    /// Whether the motors may be armed in this mode (ArduPilot refuses AUTO, RTL, LAND…).
    fn armable(self) -> bool {
        matches!(
            self,
            Self::Stabilize | Self::Guided | Self::Loiter | Self::Brake
        )
    }
}

/// A point relative to home: metres north, east and up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub north_m: f64,
    pub east_m: f64,
    pub alt_m: f64,
}

/// Severity of a text, as MAVLink numbers it.
pub type Severity = u8;
pub const CRITICAL: Severity = 2;
pub const WARNING: Severity = 4;
pub const INFO: Severity = 6;

/// Why the vehicle refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// False: MAV_RESULT_FAILED; true: MAV_RESULT_DENIED.
    pub denied: bool,
    pub text: Option<String>,
}

fn failed(text: &str) -> Refusal {
    Refusal {
        denied: false,
        text: Some(text.to_owned()),
    }
}

/// The vehicle.
#[derive(Debug, Clone)]
pub struct Model {
    /// Seconds since boot.
    pub time_s: f64,
    pub mode: Mode,
    pub armed: bool,
    pub landed: bool,
    pub pos: Point,
    pub vel_north_m_s: f64,
    pub vel_east_m_s: f64,
    pub climb_m_s: f64,
    pub yaw_rad: f64,
    pub yaw_rate_rad_s: f64,
    pub roll_rad: f64,
    pub pitch_rad: f64,
    pub consumed_mah: f64,
    /// Where GUIDED flies to (None: hold).
    pub guided_target: Option<Point>,
    /// AUTO: the stored mission and where the vehicle is in it.
    pub auto: Auto,
    /// Seconds on the ground since landing, while armed.
    landed_for_s: f64,
    /// Where RTL is in its climb-return-land.
    rtl_landing: bool,
    /// On the ground after a flight (not just armed there).
    touched_down: bool,
    /// Texts for the ground station, oldest first.
    pub texts: Vec<(Severity, String)>,
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

impl Model {
    pub fn new() -> Self {
        Self {
            time_s: 0.0,
            mode: Mode::Stabilize,
            armed: false,
            landed: true,
            pos: Point {
                north_m: 0.0,
                east_m: 0.0,
                alt_m: 0.0,
            },
            vel_north_m_s: 0.0,
            vel_east_m_s: 0.0,
            climb_m_s: 0.0,
            yaw_rad: 0.0,
            yaw_rate_rad_s: 0.0,
            roll_rad: 0.0,
            pitch_rad: 0.0,
            consumed_mah: 0.0,
            guided_target: None,
            auto: Auto::default(),
            landed_for_s: 0.0,
            rtl_landing: false,
            touched_down: false,
            texts: Vec::new(),
        }
    }

    fn say(&mut self, severity: Severity, text: impl Into<String>) {
        self.texts.push((severity, text.into()));
    }

    pub fn has_3d_fix(&self) -> bool {
        self.time_s >= GPS_FIX_AFTER_S
    }

    /// Whether the pre-arm checks pass (the SYS_STATUS pre-arm bit).
    pub fn prearm_ok(&self) -> bool {
        self.has_3d_fix()
    }

    pub fn battery_pct(&self) -> f64 {
        (100.0 * (1.0 - self.consumed_mah / BATTERY_MAH)).clamp(0.0, 100.0)
    }

    pub fn battery_current_a(&self) -> f64 {
        if self.armed {
            18.0 + 4.0 * self.climb_m_s.max(0.0)
        } else {
            0.4
        }
    }

    /// A fresh battery (the demo's turnaround).
    pub fn replace_battery(&mut self) {
        self.consumed_mah = 0.0;
        self.say(INFO, "Battery replaced");
    }

    pub fn lat_lon_deg(&self) -> (f64, f64) {
        offset_to_lat_lon(self.pos.north_m, self.pos.east_m)
    }

    pub fn groundspeed_m_s(&self) -> f64 {
        self.vel_north_m_s.hypot(self.vel_east_m_s)
    }

    /// Arms the motors, or says why not, in ArduPilot's words.
    pub fn arm(&mut self) -> Result<(), Refusal> {
        if self.armed {
            return Ok(());
        }
        if !self.has_3d_fix() {
            self.say(CRITICAL, "PreArm: Need 3D Fix");
            return Err(failed("PreArm: Need 3D Fix"));
        }
        if !self.mode.armable() {
            self.say(CRITICAL, "Arm: Mode not armable");
            return Err(failed("Arm: Mode not armable"));
        }
        self.armed = true;
        self.landed_for_s = 0.0;
        self.touched_down = false;
        self.say(INFO, "Arming motors");
        Ok(())
    }

    /// Disarms; in flight only when `forced` (then the vehicle falls).
    pub fn disarm(&mut self, forced: bool) -> Result<(), Refusal> {
        if !self.armed {
            return Ok(());
        }
        if !self.landed && !forced {
            // ArduCopter refuses with FAILED and no text.
            return Err(Refusal {
                denied: false,
                text: None,
            });
        }
        self.armed = false;
        self.say(INFO, "Disarming motors");
        Ok(())
    }

    /// Changes mode, as ArduCopter's `set_mode` would.
    pub fn set_mode(&mut self, mode: Mode) -> Result<(), Refusal> {
        if mode == self.mode {
            return Ok(());
        }
        if mode == Mode::Auto {
            return self.enter_auto();
        }
        if matches!(mode, Mode::Rtl) && !self.armed {
            self.say(WARNING, "Flight mode change failed");
            return Err(failed("Flight mode change failed"));
        }
        self.mode = mode;
        match mode {
            Mode::Guided | Mode::Loiter | Mode::Brake => {
                self.guided_target = Some(self.stopping_point());
            }
            Mode::Rtl => self.rtl_landing = false,
            Mode::Stabilize | Mode::Land | Mode::Auto => {}
        }
        Ok(())
    }

    /// Changes to AUTO, as ArduCopter does: only with a mission, and on the ground only when
    /// the mission starts with a takeoff. A finished mission starts over.
    fn enter_auto(&mut self) -> Result<(), Refusal> {
        if !self.auto.has_mission() {
            self.say(WARNING, "Mode change to AUTO failed: init failed");
            return Err(failed("Mode change to AUTO failed: init failed"));
        }
        if self.auto.complete() {
            self.auto.restart();
        }
        if self.armed && self.landed && !self.auto.wants_to_fly() {
            self.say(CRITICAL, "Auto: Missing Takeoff Cmd");
            return Err(failed("Auto: Missing Takeoff Cmd"));
        }
        self.mode = Mode::Auto;
        self.guided_target = None;
        self.rtl_landing = false;
        Ok(())
    }

    /// GUIDED's NAV_TAKEOFF to `alt_m` above home.
    pub fn takeoff(&mut self, alt_m: f64) -> Result<(), Refusal> {
        if self.mode != Mode::Guided || !self.armed || !self.landed || alt_m <= 0.0 {
            return Err(Refusal {
                denied: false,
                text: None,
            });
        }
        self.landed = false;
        self.guided_target = Some(Point { alt_m, ..self.pos });
        self.say(INFO, format!("Takeoff to {alt_m:.0} m"));
        Ok(())
    }

    /// GUIDED's "fly there" (DO_REPOSITION or a guided mission item); switches to GUIDED.
    pub fn go_to(&mut self, target: Point) -> Result<(), Refusal> {
        if !self.armed || self.landed {
            return Err(failed("Guided: not flying"));
        }
        self.mode = Mode::Guided;
        self.guided_target = Some(target);
        Ok(())
    }

    /// Where the vehicle can stop from its speed: its hold point.
    fn stopping_point(&self) -> Point {
        Point {
            north_m: self.pos.north_m + self.vel_north_m_s * 0.5,
            east_m: self.pos.east_m + self.vel_east_m_s * 0.5,
            alt_m: self.pos.alt_m,
        }
    }

    /// Moves the vehicle on by `dt_s` seconds.
    pub fn step(&mut self, dt_s: f64) {
        self.fly(dt_s);
        let said: Vec<String> = self.auto.texts.drain(..).collect();
        for text in said {
            self.say(INFO, text);
        }
    }

    fn fly(&mut self, dt_s: f64) {
        self.time_s += dt_s;
        self.consumed_mah += self.battery_current_a() * dt_s * 1000.0 / 3600.0;
        if !self.armed {
            if !self.landed {
                // Motors off in the air: it falls.
                self.climb_m_s -= GRAVITY_M_S2 * dt_s;
                self.pos.alt_m += self.climb_m_s * dt_s;
                if self.pos.alt_m <= 0.0 {
                    self.touch_down();
                    self.say(CRITICAL, "Crash: vehicle hit the ground");
                }
            }
            self.hold_still();
            return;
        }
        if self.landed
            && self.mode == Mode::Auto
            && !self.touched_down
            && !self.auto.complete()
            && self.auto.wants_to_fly()
        {
            // AUTO armed on the ground: the mission's takeoff lifts the vehicle.
            self.landed = false;
        }
        if self.landed {
            self.hold_still();
            self.landed_for_s += dt_s;
            // Only a takeoff lifts it; on the ground long enough, the motors stop.
            let delay_s = if self.touched_down {
                AUTO_DISARM_S
            } else {
                DISARM_DELAY_S
            };
            if self.landed_for_s >= delay_s {
                self.armed = false;
                self.say(INFO, "Disarming motors");
            }
            return;
        }
        let (target, descend) = self.goal();
        self.fly_towards(target, descend, dt_s);
        if self.pos.alt_m <= 0.0 && self.climb_m_s <= 0.0 {
            self.touch_down();
            self.say(INFO, "Landed");
            if self.mode == Mode::Auto {
                self.auto.landed();
            }
        }
    }

    /// Where the current mode flies, and whether it lands there.
    fn goal(&mut self) -> (Point, bool) {
        match self.mode {
            Mode::Guided | Mode::Loiter | Mode::Brake | Mode::Stabilize => {
                (self.guided_target.unwrap_or(self.pos), false)
            }
            Mode::Land => (
                Point {
                    alt_m: 0.0,
                    ..self.guided_target.unwrap_or(self.pos)
                },
                true,
            ),
            Mode::Auto => {
                let speed = self.groundspeed_m_s();
                match self.auto.goal(self.pos, self.time_s, speed) {
                    Goal::Fly(point) => {
                        self.guided_target = None;
                        (point, false)
                    }
                    Goal::Land(point) => {
                        let away = (point.north_m - self.pos.north_m)
                            .hypot(point.east_m - self.pos.east_m);
                        if away > 2.0 {
                            (
                                Point {
                                    alt_m: self.pos.alt_m,
                                    ..point
                                },
                                false,
                            )
                        } else {
                            (point, true)
                        }
                    }
                    Goal::ReturnToLaunch => self.return_to_launch(),
                    Goal::Hold => {
                        let hold = *self.guided_target.get_or_insert(self.pos);
                        (hold, false)
                    }
                }
            }
            Mode::Rtl => self.return_to_launch(),
        }
    }

    /// RTL's climb, return and landing.
    fn return_to_launch(&mut self) -> (Point, bool) {
        let home_distance = self.pos.north_m.hypot(self.pos.east_m);
        let rtl_alt = self.pos.alt_m.max(RTL_ALT_M);
        if !self.rtl_landing && home_distance < 2.0 {
            self.rtl_landing = true;
        }
        if self.rtl_landing {
            (
                Point {
                    north_m: 0.0,
                    east_m: 0.0,
                    alt_m: 0.0,
                },
                true,
            )
        } else if self.pos.alt_m < RTL_ALT_M - 0.5 {
            (
                Point {
                    alt_m: rtl_alt,
                    ..self.pos
                },
                false,
            )
        } else {
            (
                Point {
                    north_m: 0.0,
                    east_m: 0.0,
                    alt_m: rtl_alt,
                },
                false,
            )
        }
    }

    fn fly_towards(&mut self, target: Point, landing: bool, dt_s: f64) {
        let north = target.north_m - self.pos.north_m;
        let east = target.east_m - self.pos.east_m;
        let distance = north.hypot(east);
        // Slow down near the target (a simple position controller), at most cruise speed.
        let speed = (distance * 0.8).min(CRUISE_SPEED_M_S);
        let (want_n, want_e) = if distance > 0.05 {
            (north / distance * speed, east / distance * speed)
        } else {
            (0.0, 0.0)
        };
        let blend = (dt_s / 0.8).min(1.0);
        let (old_n, old_e) = (self.vel_north_m_s, self.vel_east_m_s);
        self.vel_north_m_s += (want_n - self.vel_north_m_s) * blend;
        self.vel_east_m_s += (want_e - self.vel_east_m_s) * blend;
        let up = target.alt_m - self.pos.alt_m;
        let want_climb = if landing {
            -if self.pos.alt_m > 10.0 {
                DESCENT_RATE_M_S
            } else {
                LAND_FINAL_M_S
            }
        } else {
            (up * 0.8).clamp(-DESCENT_RATE_M_S, CLIMB_RATE_M_S)
        };
        self.climb_m_s += (want_climb - self.climb_m_s) * blend;
        self.pos.north_m += self.vel_north_m_s * dt_s;
        self.pos.east_m += self.vel_east_m_s * dt_s;
        self.pos.alt_m += self.climb_m_s * dt_s;
        // Attitude follows acceleration; heading follows the track.
        let accel_n = (self.vel_north_m_s - old_n) / dt_s.max(1e-6);
        let accel_e = (self.vel_east_m_s - old_e) / dt_s.max(1e-6);
        let old_yaw = self.yaw_rad;
        if self.groundspeed_m_s() > 0.5 {
            self.yaw_rad = self.vel_east_m_s.atan2(self.vel_north_m_s).rem_euclid(TAU);
        }
        let mut turn = self.yaw_rad - old_yaw;
        if turn > PI {
            turn -= TAU;
        } else if turn < -PI {
            turn += TAU;
        }
        self.yaw_rate_rad_s = turn / dt_s.max(1e-6);
        let (sin, cos) = self.yaw_rad.sin_cos();
        let forward = accel_n * cos + accel_e * sin;
        let right = -accel_n * sin + accel_e * cos;
        let centripetal = self.groundspeed_m_s() * self.yaw_rate_rad_s;
        self.pitch_rad = (-(forward + 0.05 * self.groundspeed_m_s()) / GRAVITY_M_S2).atan();
        self.roll_rad = ((right + centripetal) / GRAVITY_M_S2)
            .atan()
            .clamp(-0.5, 0.5);
        // A little wobble so instruments visibly live.
        self.roll_rad += 0.02 * (self.time_s * 1.7).sin();
        self.pitch_rad += 0.015 * (self.time_s * 1.3).cos();
    }

    fn hold_still(&mut self) {
        self.vel_north_m_s = 0.0;
        self.vel_east_m_s = 0.0;
        self.yaw_rate_rad_s = 0.0;
        self.roll_rad = 0.0;
        self.pitch_rad = 0.0;
        if self.landed {
            self.climb_m_s = 0.0;
        }
    }

    fn touch_down(&mut self) {
        self.pos.alt_m = 0.0;
        self.climb_m_s = 0.0;
        self.landed = true;
        self.touched_down = true;
        self.rtl_landing = false;
        self.landed_for_s = 0.0;
        self.guided_target = None;
        self.hold_still();
    }
}

/// Latitude and longitude of a point `north_m`, `east_m` from home.
pub fn offset_to_lat_lon(north_m: f64, east_m: f64) -> (f64, f64) {
    let lat = HOME_LAT_DEG + (north_m / EARTH_RADIUS_M).to_degrees();
    let lon =
        HOME_LON_DEG + (east_m / (EARTH_RADIUS_M * HOME_LAT_DEG.to_radians().cos())).to_degrees();
    (lat, lon)
}

/// Metres north and east of home of a latitude and longitude.
pub fn lat_lon_to_offset(lat_deg: f64, lon_deg: f64) -> (f64, f64) {
    let north = (lat_deg - HOME_LAT_DEG).to_radians() * EARTH_RADIUS_M;
    let east =
        (lon_deg - HOME_LON_DEG).to_radians() * EARTH_RADIUS_M * HOME_LAT_DEG.to_radians().cos();
    (north, east)
}

#[cfg(test)]
mod tests {
    use super::super::pilot::{DEMO_ALT_M, DEMO_RADIUS_M};
    use super::*;

    fn run(model: &mut Model, seconds: f64) {
        for _ in 0..(seconds / 0.02) as usize {
            model.step(0.02);
        }
    }

    #[test]
    fn refuses_to_arm_before_a_fix_then_takes_off_flies_and_returns() {
        let mut model = Model::new();
        assert_eq!(
            model.arm().unwrap_err().text.as_deref(),
            Some("PreArm: Need 3D Fix")
        );
        run(&mut model, GPS_FIX_AFTER_S);
        model.set_mode(Mode::Guided).unwrap();
        model.arm().unwrap();
        model.takeoff(10.0).unwrap();
        run(&mut model, 8.0);
        assert!((model.pos.alt_m - 10.0).abs() < 0.5, "{}", model.pos.alt_m);
        let (lat, lon) = offset_to_lat_lon(100.0, 0.0);
        let (north, east) = lat_lon_to_offset(lat, lon);
        model
            .go_to(Point {
                north_m: north,
                east_m: east,
                alt_m: 10.0,
            })
            .unwrap();
        run(&mut model, 25.0);
        assert!((model.pos.north_m - 100.0).abs() < 1.0, "{:?}", model.pos);
        assert!(
            model.disarm(false).is_err(),
            "no disarm in flight unless forced"
        );
        assert!(model.armed);
        model.set_mode(Mode::Rtl).unwrap();
        run(&mut model, 60.0);
        assert!(model.landed && !model.armed, "{model:?}");
        assert!(model.pos.north_m.hypot(model.pos.east_m) < 1.0);
    }

    #[test]
    fn auto_flies_the_demo_plan_round_and_land_lands() {
        let mut model = Model::new();
        run(&mut model, GPS_FIX_AFTER_S);
        assert!(model.set_mode(Mode::Auto).is_err(), "no mission yet");
        model.auto.load(super::super::pilot::demo_plan());
        model.set_mode(Mode::Guided).unwrap();
        model.arm().unwrap();
        model.takeoff(DEMO_ALT_M).unwrap();
        run(&mut model, 15.0);
        model.set_mode(Mode::Auto).unwrap();
        run(&mut model, 60.0);
        let distance = model.pos.north_m.hypot(model.pos.east_m);
        assert!((distance - DEMO_RADIUS_M).abs() < 10.0, "{distance}");
        assert!(model.groundspeed_m_s() > 4.0);
        assert!(model.auto.current() > 2, "{}", model.auto.current());
        model.set_mode(Mode::Land).unwrap();
        run(&mut model, 60.0);
        assert!(model.landed && !model.armed);
        assert_eq!(
            model.set_mode(Mode::Rtl).unwrap_err().text.as_deref(),
            Some("Flight mode change failed")
        );
    }
}
