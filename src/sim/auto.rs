//! AUTO mode of the simulated copter: flies the stored mission item by item, as ArduCopter's
//! mission runner does — takeoff, waypoints with hold times, loiters (time, turns, unlimited),
//! DO_JUMP with its repeat count, DO_CHANGE_SPEED, land and RTL — and reports the current item
//! and each item reached (MISSION_CURRENT, MISSION_ITEM_REACHED). Commands it does not fly are
//! skipped with a text, as ArduPilot skips them. Pure: positions in, targets and events out.

use std::collections::BTreeMap;
use std::f64::consts::TAU;

use super::model::{lat_lon_to_offset, Point, HOME_ALT_MSL_M};

/// MAV_CMD numbers the runner knows.
const NAV_WAYPOINT: u16 = 16;
const NAV_LOITER_UNLIM: u16 = 17;
const NAV_LOITER_TURNS: u16 = 18;
const NAV_LOITER_TIME: u16 = 19;
const NAV_RETURN_TO_LAUNCH: u16 = 20;
const NAV_LAND: u16 = 21;
const NAV_TAKEOFF: u16 = 22;
const NAV_SPLINE_WAYPOINT: u16 = 82;
const DO_JUMP: u16 = 177;
const DO_CHANGE_SPEED: u16 = 178;
/// Below this number a command is a NAV command (it moves the vehicle).
const NAV_LAST: u16 = 95;
/// MAV_FRAME numbers whose altitude is above mean sea level.
const FRAME_GLOBAL: u8 = 0;
const FRAME_GLOBAL_INT: u8 = 5;

/// How close counts as "at the waypoint" (ArduCopter's WPNAV_RADIUS is 2 m), horizontally
/// and vertically.
const ACCEPT_RADIUS_M: f64 = 2.0;
const ACCEPT_ALT_M: f64 = 1.0;
/// Loiter circles without a radius use this one.
const DEFAULT_LOITER_RADIUS_M: f64 = 10.0;
/// Most commands followed in one step (DO_JUMP loops without a NAV command end here).
const MAX_COMMANDS_PER_STEP: usize = 64;

/// One stored mission item, as the runner needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub command: u16,
    pub frame: u8,
    pub params: [f32; 4],
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt: f32,
}

/// What the runner reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Current(u16),
    Reached(u16),
}

/// Where the current item wants the vehicle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// Fly to the point.
    Fly(Point),
    /// Fly to the point's horizontal position at the current height, then descend and land.
    Land(Point),
    /// Return home at RTL altitude and land.
    ReturnToLaunch,
    /// The mission is over (or empty): hold here.
    Hold,
}

/// The mission and where the runner is in it. Item 0 is home and is never flown.
#[derive(Debug, Clone, Default)]
pub struct Auto {
    items: Vec<Item>,
    current: u16,
    /// When the vehicle arrived at the current item (holds and loiters count from then).
    arrived_s: Option<f64>,
    /// Where a loiter circle's angle started.
    loiter_angle: f64,
    /// DO_JUMPs taken so far, by the jump's index.
    jumps: BTreeMap<u16, u32>,
    /// The item last announced with a "Mission: N …" text.
    announced: Option<u16>,
    /// DO_CHANGE_SPEED's speed, m/s.
    pub speed_m_s: Option<f64>,
    pub events: Vec<Event>,
    pub texts: Vec<String>,
}

fn command_name(command: u16) -> String {
    match command {
        NAV_WAYPOINT => "WP".to_owned(),
        NAV_LOITER_UNLIM => "LoitUnlim".to_owned(),
        NAV_LOITER_TURNS => "LoitTurns".to_owned(),
        NAV_LOITER_TIME => "LoitTime".to_owned(),
        NAV_RETURN_TO_LAUNCH => "RTL".to_owned(),
        NAV_LAND => "Land".to_owned(),
        NAV_TAKEOFF => "Takeoff".to_owned(),
        NAV_SPLINE_WAYPOINT => "SplineWP".to_owned(),
        DO_JUMP => "Jump".to_owned(),
        DO_CHANGE_SPEED => "ChangeSpeed".to_owned(),
        other => format!("cmd {other}"),
    }
}

impl Auto {
    /// Takes a new mission (item 0 home); the runner starts over at item 1.
    pub fn load(&mut self, items: Vec<Item>) {
        let changed = items != self.items;
        self.items = items;
        if changed {
            self.restart();
        }
    }

    /// Back to the first item, jumps forgotten.
    pub fn restart(&mut self) {
        self.jumps.clear();
        self.announced = None;
        self.current = 1;
        self.arrived_s = None;
        self.events.push(Event::Current(1));
    }

    /// Items on board after home.
    pub fn total(&self) -> u16 {
        u16::try_from(self.items.len().saturating_sub(1)).unwrap_or(u16::MAX)
    }

    pub fn current(&self) -> u16 {
        self.current
    }

    /// Whether there is anything to fly.
    pub fn has_mission(&self) -> bool {
        self.items.len() > 1
    }

    /// Whether the runner went past the last item.
    pub fn complete(&self) -> bool {
        usize::from(self.current) >= self.items.len()
    }

    /// MISSION_SET_CURRENT / DO_SET_MISSION_CURRENT: go on from `seq`. False when there is
    /// no such item.
    pub fn set_current(&mut self, seq: u16) -> bool {
        if seq == 0 || usize::from(seq) >= self.items.len() {
            return false;
        }
        self.current = seq;
        self.arrived_s = None;
        self.events.push(Event::Current(self.current));
        true
    }

    /// Whether the current item takes off from the ground (it is not a landing).
    pub fn wants_to_fly(&self) -> bool {
        self.items
            .get(usize::from(self.current))
            .is_some_and(|item| !matches!(item.command, NAV_LAND | NAV_RETURN_TO_LAUNCH))
    }

    /// The vehicle touched down while flying the current item (LAND or RTL): it is reached.
    pub fn landed(&mut self) {
        if self
            .items
            .get(usize::from(self.current))
            .is_some_and(|item| matches!(item.command, NAV_LAND | NAV_RETURN_TO_LAUNCH))
        {
            self.advance();
        }
    }

    fn advance(&mut self) {
        self.events.push(Event::Reached(self.current));
        self.current = self.current.saturating_add(1);
        self.arrived_s = None;
        if self.complete() {
            self.texts.push("Mission complete".to_owned());
        } else {
            self.events.push(Event::Current(self.current));
        }
    }

    fn started(&mut self, index: u16, item: &Item) {
        self.texts
            .push(format!("Mission: {index} {}", command_name(item.command)));
    }

    /// Where the mission wants the vehicle now, at `pos` and `time_s`, with `speed_m_s` its
    /// horizontal speed.
    pub fn goal(&mut self, pos: Point, time_s: f64, speed_m_s: f64) -> Goal {
        for _ in 0..MAX_COMMANDS_PER_STEP {
            let Some(item) = self.items.get(usize::from(self.current)).cloned() else {
                return Goal::Hold;
            };
            let index = self.current;
            if self.announced != Some(index) {
                // ArduPilot says "Mission: N …" as it starts each item.
                self.announced = Some(index);
                self.started(index, &item);
            }
            match item.command {
                DO_JUMP => {
                    let target = item.params[0].max(0.0) as u16;
                    let repeat = item.params[1];
                    let done = self.jumps.entry(index).or_default();
                    if (repeat < 0.0 || (*done as f32) < repeat)
                        && usize::from(target) < self.items.len()
                        && target >= 1
                    {
                        *done += 1;
                        self.current = target;
                        self.arrived_s = None;
                        self.events.push(Event::Current(target));
                    } else {
                        self.current += 1;
                        self.events.push(Event::Current(self.current));
                    }
                    continue;
                }
                DO_CHANGE_SPEED => {
                    if item.params[1] > 0.0 {
                        self.speed_m_s = Some(f64::from(item.params[1]));
                    }
                    self.advance();
                    continue;
                }
                command if command > NAV_LAST => {
                    // A DO or CONDITION command the simulator has no effect for: done at once.
                    self.advance();
                    continue;
                }
                _ => {}
            }
            let target = self.point(&item, pos);
            let distance = (target.north_m - pos.north_m).hypot(target.east_m - pos.east_m);
            let arrived =
                distance <= ACCEPT_RADIUS_M && (target.alt_m - pos.alt_m).abs() <= ACCEPT_ALT_M;
            match item.command {
                NAV_TAKEOFF => {
                    let climb = Point {
                        alt_m: target.alt_m,
                        ..pos
                    };
                    if pos.alt_m >= target.alt_m - ACCEPT_ALT_M {
                        self.advance();
                        continue;
                    }
                    return Goal::Fly(climb);
                }
                NAV_WAYPOINT | NAV_SPLINE_WAYPOINT | NAV_LOITER_TIME | NAV_LOITER_TURNS => {
                    if !arrived && self.arrived_s.is_none() {
                        return Goal::Fly(target);
                    }
                    let since = *self.arrived_s.get_or_insert(time_s);
                    let hold_s = match item.command {
                        NAV_LOITER_TURNS => {
                            let radius = loiter_radius(&item);
                            f64::from(item.params[0].max(0.0)) * TAU * radius / speed_m_s.max(1.0)
                        }
                        _ => f64::from(item.params[0].max(0.0)),
                    };
                    if time_s - since >= hold_s {
                        self.advance();
                        continue;
                    }
                    if item.command == NAV_LOITER_TURNS {
                        return Goal::Fly(self.on_circle(&item, target, time_s - since, speed_m_s));
                    }
                    return Goal::Fly(target);
                }
                NAV_LOITER_UNLIM => return Goal::Fly(target),
                NAV_LAND => return Goal::Land(target),
                NAV_RETURN_TO_LAUNCH => return Goal::ReturnToLaunch,
                other => {
                    self.texts
                        .push(format!("Skipping invalid cmd #{index} ({other})"));
                    self.advance();
                }
            }
        }
        Goal::Hold
    }

    /// The item's point relative to home; a zero latitude and longitude means "here".
    fn point(&self, item: &Item, pos: Point) -> Point {
        let alt_m = if matches!(item.frame, FRAME_GLOBAL | FRAME_GLOBAL_INT) {
            f64::from(item.alt) - HOME_ALT_MSL_M
        } else {
            // Relative to home; terrain frames fly over flat ground at home's height.
            f64::from(item.alt)
        };
        let alt_m = if item.command == NAV_LAND { 0.0 } else { alt_m };
        if item.lat_deg == 0.0 && item.lon_deg == 0.0 {
            return Point { alt_m, ..pos };
        }
        let (north_m, east_m) = lat_lon_to_offset(item.lat_deg, item.lon_deg);
        Point {
            north_m,
            east_m,
            alt_m,
        }
    }

    fn on_circle(&mut self, item: &Item, centre: Point, elapsed_s: f64, speed_m_s: f64) -> Point {
        let radius = loiter_radius(item);
        let direction = if item.params[2] < 0.0 { -1.0 } else { 1.0 };
        let angle = self.loiter_angle + direction * elapsed_s * speed_m_s.max(1.0) / radius;
        Point {
            north_m: centre.north_m + radius * angle.cos(),
            east_m: centre.east_m + radius * angle.sin(),
            alt_m: centre.alt_m,
        }
    }
}

fn loiter_radius(item: &Item) -> f64 {
    let radius = f64::from(item.params[2].abs());
    if radius > 1.0 {
        radius
    } else {
        DEFAULT_LOITER_RADIUS_M
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{offset_to_lat_lon, Mode, Model, GPS_FIX_AFTER_S};
    use super::*;

    fn at(command: u16, params: [f32; 4], north: f64, east: f64, alt: f32) -> Item {
        let (lat_deg, lon_deg) = if north == 0.0 && east == 0.0 {
            (0.0, 0.0)
        } else {
            offset_to_lat_lon(north, east)
        };
        Item {
            command,
            frame: 3,
            params,
            lat_deg,
            lon_deg,
            alt,
        }
    }

    #[test]
    fn auto_flies_takeoff_waypoints_loiter_jump_speed_and_land_reporting_each_item() {
        let home = Item {
            frame: 0,
            ..at(NAV_WAYPOINT, [0.0; 4], 0.0, 0.0, 584.0)
        };
        let mission = vec![
            home,
            at(NAV_TAKEOFF, [0.0; 4], 0.0, 0.0, 20.0),
            at(NAV_WAYPOINT, [2.0, 0.0, 0.0, 0.0], 60.0, 0.0, 20.0),
            at(NAV_LOITER_TIME, [3.0, 0.0, 0.0, 0.0], 60.0, 60.0, 25.0),
            at(DO_JUMP, [2.0, 1.0, 0.0, 0.0], 0.0, 0.0, 0.0),
            at(DO_CHANGE_SPEED, [1.0, 4.0, -1.0, 0.0], 0.0, 0.0, 0.0),
            at(NAV_LOITER_TURNS, [1.0, 0.0, 10.0, 0.0], 0.0, 60.0, 20.0),
            at(NAV_LAND, [0.0; 4], 0.0, 0.0, 0.0),
        ];
        let mut model = Model::new();
        for _ in 0..(GPS_FIX_AFTER_S / 0.02) as usize + 1 {
            model.step(0.02);
        }
        model.auto.load(mission);
        model.set_mode(Mode::Guided).unwrap();
        model.arm().unwrap();
        model.set_mode(Mode::Auto).unwrap();
        let mut reached = Vec::new();
        let mut texts = Vec::new();
        let mut highest: f64 = 0.0;
        for _ in 0..(400.0 / 0.02) as usize {
            model.step(0.02);
            highest = highest.max(model.pos.alt_m);
            reached.extend(model.auto.events.drain(..).filter_map(|event| match event {
                Event::Reached(seq) => Some(seq),
                Event::Current(_) => None,
            }));
            texts.extend(model.texts.drain(..).map(|(_, text)| text));
            if !model.armed {
                break;
            }
        }
        // The jump flies items 2 and 3 once more; then speed, the loiter turn and the landing.
        assert_eq!(reached, [1, 2, 3, 2, 3, 5, 6, 7], "{texts:?}");
        assert!(model.landed && !model.armed, "{model:?}");
        assert!(model.auto.complete());
        assert_eq!(model.auto.speed_m_s, Some(4.0));
        assert!((24.0..27.0).contains(&highest), "{highest}");
        let (north, east) = (model.pos.north_m, model.pos.east_m);
        // LAND with no position lands where the loiter circle (10 m round its centre) ended.
        assert!(north.hypot(east - 60.0) < 13.0, "landed at {north}, {east}");
        assert!(texts.iter().any(|t| t == "Mission: 1 Takeoff"), "{texts:?}");
        assert!(texts.iter().any(|t| t == "Mission complete"), "{texts:?}");
    }

    #[test]
    fn set_current_refuses_items_that_are_not_there() {
        let mut auto = Auto::default();
        assert!(!auto.set_current(1), "no mission");
        auto.load(vec![
            at(NAV_WAYPOINT, [0.0; 4], 0.0, 0.0, 0.0),
            at(NAV_TAKEOFF, [0.0; 4], 0.0, 0.0, 10.0),
        ]);
        assert!(auto.set_current(1));
        assert!(!auto.set_current(0), "home is not flown");
        assert!(!auto.set_current(2));
    }
}
