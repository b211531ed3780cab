//! Missions as operators keep them: mission items (MISSION_ITEM_INT semantics), a geofence and
//! rally points, read from and written to the files other ground stations use
//! (QGroundControl `.plan`, QGC WPL 110 `.waypoints`/`.txt`), with statistics.
//!
//! Pure data and text: it reads from `&str` and writes `String`; files, ports and the vehicle
//! are the caller's. Every item keeps its altitude frame exactly: a frame a format cannot hold
//! is an error that names the item, never a silent change.

pub mod plan_file;
pub mod stats;
pub mod watch;
pub mod wire;
pub mod wpl;

use serde::Serialize;

/// MAV_CMD_NAV_WAYPOINT.
pub const NAV_WAYPOINT: u16 = 16;
/// MAV_FRAME_GLOBAL: altitude above mean sea level.
pub const FRAME_GLOBAL: u8 = 0;

/// One mission item, as MISSION_ITEM_INT carries it: latitude and longitude in degrees (x, y),
/// altitude or other third coordinate in metres (z), all as the file or the vehicle had them.
/// A missing parameter (`null` in a `.plan`) is NaN, and equal to another NaN here: two items
/// are equal when a file would write them the same.
#[derive(Debug, Clone, Serialize)]
pub struct MissionItem {
    /// MAV_CMD number (kept even when Airlock does not know it).
    pub command: u16,
    /// MAV_FRAME number.
    pub frame: u8,
    pub params: [f64; 4],
    pub x: f64,
    pub y: f64,
    pub z: f64,
    pub autocontinue: bool,
    /// Members of a `.plan` item that Airlock does not interpret (QGroundControl's altitude
    /// mode and the like), written back as they were.
    #[serde(skip)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn same_number(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

impl PartialEq for MissionItem {
    fn eq(&self, other: &Self) -> bool {
        self.agrees_with(other, &same_number, &same_number) && self.extra == other.extra
    }
}

impl MissionItem {
    /// A plain item with no parameters set.
    pub fn new(command: u16, frame: u8, x: f64, y: f64, z: f64) -> Self {
        Self {
            command,
            frame,
            params: [0.0; 4],
            x,
            y,
            z,
            autocontinue: true,
            extra: serde_json::Map::new(),
        }
    }

    /// Whether two items say the same to a vehicle, allowing for float32 rounding of the
    /// parameters and altitude and for 1e-7° of position (MISSION_ITEM_INT's resolution).
    pub fn same_as(&self, other: &Self) -> bool {
        let close32 = |a: f64, b: f64| {
            same_number(a, b)
                || (a as f32 - b as f32).abs() <= f32::EPSILON * (a.abs() as f32).max(1.0) * 4.0
        };
        let close_deg = |a: f64, b: f64| same_number(a, b) || (a - b).abs() <= 1.5e-7;
        self.agrees_with(other, &close32, &close_deg)
    }

    /// Command, frame and autocontinue equal; numbers equal by `number`, positions by `degrees`.
    fn agrees_with(
        &self,
        other: &Self,
        number: &dyn Fn(f64, f64) -> bool,
        degrees: &dyn Fn(f64, f64) -> bool,
    ) -> bool {
        self.command == other.command
            && self.frame == other.frame
            && self.autocontinue == other.autocontinue
            && self
                .params
                .iter()
                .zip(&other.params)
                .all(|(a, b)| number(*a, *b))
            && degrees(self.x, other.x)
            && degrees(self.y, other.y)
            && number(self.z, other.z)
    }
}

/// A circle of the geofence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FenceCircle {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub radius_m: f64,
    /// Inside is allowed (inclusion) or forbidden (exclusion).
    pub inclusion: bool,
}

/// A polygon of the geofence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FencePolygon {
    /// Vertices as (latitude, longitude) in degrees.
    pub vertices: Vec<(f64, f64)>,
    pub inclusion: bool,
}

/// The geofence.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Fence {
    pub circles: Vec<FenceCircle>,
    pub polygons: Vec<FencePolygon>,
    /// Where the vehicle goes on a breach: latitude, longitude, altitude (m).
    pub return_point: Option<(f64, f64, f64)>,
}

impl Fence {
    pub fn is_empty(&self) -> bool {
        self.circles.is_empty() && self.polygons.is_empty() && self.return_point.is_none()
    }
}

/// A generated block of a `.plan` (a survey, a corridor scan…): the items it made, and its
/// original JSON, written back as it was while those items are unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplexBlock {
    /// Index into [`Plan::items`] of the first generated item.
    pub start: usize,
    /// The items it generated, as read.
    pub items: Vec<MissionItem>,
    pub json: serde_json::Value,
}

/// A whole plan: home, the mission, the geofence, the rally points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Item 0 for ArduPilot: home (latitude, longitude, altitude above sea level).
    pub home: Option<MissionItem>,
    /// The mission, without home, in order (sequence 1.. on ArduPilot).
    pub items: Vec<MissionItem>,
    pub fence: Fence,
    /// Rally points: latitude, longitude, altitude (m, above home).
    pub rally: Vec<(f64, f64, f64)>,
    /// Cruise and hover speeds from a `.plan`, m/s.
    pub cruise_speed_m_s: Option<f64>,
    pub hover_speed_m_s: Option<f64>,
    /// Generated blocks read from a `.plan`.
    pub complex: Vec<ComplexBlock>,
}

/// A file that cannot be read or written as asked: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}{message}")]
pub struct MissionFileError {
    place: String,
    message: String,
}

impl MissionFileError {
    /// An error at a line (1-based) and, when known, a field.
    pub fn at(line: usize, field: Option<&str>, message: impl Into<String>) -> Self {
        let place = match field {
            Some(field) => format!("line {line}, {field}: "),
            None => format!("line {line}: "),
        };
        Self {
            place,
            message: message.into(),
        }
    }

    /// An error about an item of the mission (numbered from 1; 0 is home).
    pub fn item(seq: usize, message: impl Into<String>) -> Self {
        Self {
            place: format!("item {seq}: "),
            message: message.into(),
        }
    }

    /// An error about the whole file.
    pub fn file(message: impl Into<String>) -> Self {
        Self {
            place: String::new(),
            message: message.into(),
        }
    }
}

/// The formats Airlock reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// QGroundControl's JSON `.plan`.
    Plan,
    /// QGC WPL 110 text (`.waypoints`, `.txt`, `.mission`).
    Waypoints,
}

impl Format {
    /// The format a file name says, by its extension.
    pub fn of_path(path: &std::path::Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "plan" => Some(Self::Plan),
            "waypoints" | "txt" | "mission" | "wpl" => Some(Self::Waypoints),
            _ => None,
        }
    }

    /// The format of a file's text, by its first characters.
    pub fn of_text(text: &str) -> Option<Self> {
        let start = text.trim_start_matches('\u{feff}').trim_start();
        if start.starts_with('{') {
            Some(Self::Plan)
        } else if start.starts_with("QGC WPL") {
            Some(Self::Waypoints)
        } else {
            None
        }
    }
}

impl Plan {
    /// Reads a plan in either format (told by the text itself).
    pub fn parse(text: &str) -> Result<Self, MissionFileError> {
        match Format::of_text(text) {
            Some(Format::Plan) => plan_file::read(text),
            Some(Format::Waypoints) => wpl::read(text),
            None => Err(MissionFileError::at(
                1,
                None,
                "neither a QGroundControl .plan (JSON) nor a QGC WPL 110 waypoint file",
            )),
        }
    }

    /// Writes the plan in `format`.
    pub fn write(&self, format: Format) -> Result<String, MissionFileError> {
        match format {
            Format::Plan => plan_file::write(self),
            Format::Waypoints => wpl::write(self),
        }
    }

    /// The plan as `airlock mission show --json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        let number = |value: f64| {
            serde_json::Number::from_f64(value)
                .map_or(serde_json::Value::Null, serde_json::Value::Number)
        };
        let item = |seq: usize, item: &MissionItem| {
            serde_json::json!({
                "seq": seq,
                "command": item.command,
                "frame": item.frame,
                "params": item.params.iter().map(|p| number(*p)).collect::<Vec<_>>(),
                "x": number(item.x),
                "y": number(item.y),
                "z": number(item.z),
                "autocontinue": item.autocontinue,
            })
        };
        serde_json::json!({
            "home": self.home.as_ref().map(|home| item(0, home)),
            "items": self.items.iter().enumerate().map(|(i, it)| item(i + 1, it)).collect::<Vec<_>>(),
            "fence": {
                "circles": self.fence.circles.iter().map(|c| serde_json::json!({
                    "center": [number(c.lat_deg), number(c.lon_deg)],
                    "radius": number(c.radius_m),
                    "inclusion": c.inclusion,
                })).collect::<Vec<_>>(),
                "polygons": self.fence.polygons.iter().map(|p| serde_json::json!({
                    "vertices": p.vertices.iter().map(|(lat, lon)| [number(*lat), number(*lon)]).collect::<Vec<_>>(),
                    "inclusion": p.inclusion,
                })).collect::<Vec<_>>(),
            },
            "rally": self.rally.iter().map(|(lat, lon, alt)| [number(*lat), number(*lon), number(*alt)]).collect::<Vec<_>>(),
            "stats": serde_json::to_value(stats::Stats::of(self)).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests;
