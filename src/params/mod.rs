//! A vehicle's parameters as operators keep them: names, values and types (MAV_PARAM_TYPE),
//! defaults where the vehicle gives them; the files other ground stations write (Mission
//! Planner `.param`, QGroundControl `.params`, MAVProxy `.parm`); ArduPilot's packed
//! `@PARAM/param.pck`; and the difference between two sets.
//!
//! Pure data and text: files, ports and the vehicle are the caller's.

pub mod files;
pub mod meta;
pub mod pck;

use std::collections::BTreeMap;

use serde::Serialize;

/// How a parameter's value is stored (MAV_PARAM_TYPE numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ParamType {
    Uint8 = 1,
    Int8 = 2,
    Uint16 = 3,
    Int16 = 4,
    Uint32 = 5,
    Int32 = 6,
    Uint64 = 7,
    Int64 = 8,
    Real32 = 9,
    Real64 = 10,
}

impl ParamType {
    pub fn from_number(number: u8) -> Option<Self> {
        Some(match number {
            1 => Self::Uint8,
            2 => Self::Int8,
            3 => Self::Uint16,
            4 => Self::Int16,
            5 => Self::Uint32,
            6 => Self::Int32,
            7 => Self::Uint64,
            8 => Self::Int64,
            9 => Self::Real32,
            10 => Self::Real64,
            _ => return None,
        })
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn is_integer(self) -> bool {
        !matches!(self, Self::Real32 | Self::Real64)
    }

    /// The smallest and largest value the type holds.
    pub fn range(self) -> (f64, f64) {
        match self {
            Self::Uint8 => (0.0, f64::from(u8::MAX)),
            Self::Int8 => (f64::from(i8::MIN), f64::from(i8::MAX)),
            Self::Uint16 => (0.0, f64::from(u16::MAX)),
            Self::Int16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
            Self::Uint32 => (0.0, f64::from(u32::MAX)),
            Self::Int32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
            Self::Uint64 => (0.0, u64::MAX as f64),
            Self::Int64 => (i64::MIN as f64, i64::MAX as f64),
            Self::Real32 => (f64::from(f32::MIN), f64::from(f32::MAX)),
            Self::Real64 => (f64::MIN, f64::MAX),
        }
    }

    /// Whether `value` is one this type holds (an integer in range; a finite real).
    pub fn holds(self, value: f64) -> bool {
        let (low, high) = self.range();
        value.is_finite()
            && (low..=high).contains(&value)
            && (!self.is_integer() || value.fract() == 0.0)
    }

    /// The name QGroundControl and the MAVLink spec use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uint8 => "UINT8",
            Self::Int8 => "INT8",
            Self::Uint16 => "UINT16",
            Self::Int16 => "INT16",
            Self::Uint32 => "UINT32",
            Self::Int32 => "INT32",
            Self::Uint64 => "UINT64",
            Self::Int64 => "INT64",
            Self::Real32 => "REAL32",
            Self::Real64 => "REAL64",
        }
    }
}

/// One parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub name: String,
    pub value: f64,
    /// The type, when the source says (a Mission Planner or MAVProxy file does not).
    pub kind: Option<ParamType>,
    /// The vehicle's default, where it gives one (param.pck with defaults).
    pub default: Option<f64>,
}

impl Param {
    pub fn new(name: impl Into<String>, value: f64, kind: Option<ParamType>) -> Self {
        Self {
            name: name.into(),
            value,
            kind,
            default: None,
        }
    }

    /// Differs from the vehicle's default (None when the default is not known).
    pub fn changed_from_default(&self) -> Option<bool> {
        self.default.map(|default| !same_value(default, self.value))
    }
}

/// Two values are the same parameter value when equal as the vehicle stores them (float32).
pub fn same_value(a: f64, b: f64) -> bool {
    a == b || (a as f32) == (b as f32) || (a.is_nan() && b.is_nan())
}

/// A whole set, by name (names are unique on a component).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ParamSet {
    pub params: BTreeMap<String, Param>,
}

impl ParamSet {
    pub fn insert(&mut self, param: Param) {
        self.params.insert(param.name.clone(), param);
    }

    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.get(name)
    }

    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.params.values()
    }
}

impl FromIterator<Param> for ParamSet {
    fn from_iter<I: IntoIterator<Item = Param>>(iter: I) -> Self {
        let mut set = Self::default();
        for param in iter {
            set.insert(param);
        }
        set
    }
}

/// One row of a difference between two sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub name: String,
    /// In the first set (the vehicle); None when only the second has it.
    pub old: Option<f64>,
    /// In the second set (the file); None when only the first has it.
    pub new: Option<f64>,
}

/// What differs from `old` to `new`: values that differ and names only one of them has, by
/// name.
pub fn diff(old: &ParamSet, new: &ParamSet) -> Vec<Change> {
    let mut changes = Vec::new();
    for (name, param) in &old.params {
        match new.get(name) {
            Some(other) if same_value(param.value, other.value) => {}
            other => changes.push(Change {
                name: name.clone(),
                old: Some(param.value),
                new: other.map(|p| p.value),
            }),
        }
    }
    for (name, param) in &new.params {
        if !old.params.contains_key(name) {
            changes.push(Change {
                name: name.clone(),
                old: None,
                new: Some(param.value),
            });
        }
    }
    changes.sort_by(|a, b| a.name.cmp(&b.name));
    changes
}

/// A value as files write it: integers without a fraction, reals with the fewest digits that
/// read back as the same float32 (or float64 for REAL64).
pub fn format_value(value: f64, kind: Option<ParamType>) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    match kind {
        Some(ParamType::Real64) => format!("{value}"),
        _ => format!("{}", value as f32),
    }
}

/// Fetches kept in a flight folder are named `params-<UTC time>.params`.
pub const KEPT_PREFIX: &str = "params-";

/// The file name a fetch made at `time` is kept under in its flight folder (QGroundControl's
/// format, with the types); an incomplete one says so.
pub fn kept_name(time: std::time::SystemTime, complete: bool) -> String {
    let stamp = humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace(':', "-");
    format!(
        "{KEPT_PREFIX}{stamp}{}.params",
        if complete { "" } else { "-incomplete" }
    )
}

/// A parameter name as the vehicle sends it: at most 16 bytes, trailing NULs dropped.
pub fn name_from_bytes(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Whether `name` can be a parameter's name (1–16 printable ASCII characters, no spaces).
pub fn valid_name(name: &str) -> bool {
    (1..=16).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

#[cfg(test)]
mod tests;
