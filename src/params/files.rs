//! Parameter files of other ground stations: Mission Planner `.param` (`NAME,VALUE`),
//! QGroundControl `.params` (tab-separated `SYSID COMPID NAME VALUE TYPE`) and MAVProxy
//! `.parm` (`NAME VALUE`), `#` comments in all three. Reading tells the format from the lines
//! themselves; a line that does not fit is an error naming it, and nothing is returned.

use super::{format_value, valid_name, Param, ParamSet, ParamType};

/// The three formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamFormat {
    /// Mission Planner `.param`: `NAME,VALUE`.
    MissionPlanner,
    /// QGroundControl `.params`: `SYSID\tCOMPID\tNAME\tVALUE\tTYPE`.
    QGroundControl,
    /// MAVProxy `.parm`: `NAME VALUE`.
    MavProxy,
}

impl ParamFormat {
    /// The format a file name says, by its extension.
    pub fn of_path(path: &std::path::Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "param" => Some(Self::MissionPlanner),
            "params" => Some(Self::QGroundControl),
            "parm" => Some(Self::MavProxy),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::MissionPlanner => "Mission Planner .param",
            Self::QGroundControl => "QGroundControl .params",
            Self::MavProxy => "MAVProxy .parm",
        }
    }
}

/// A file that cannot be read or written as asked: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}{message}")]
pub struct ParamFileError {
    place: String,
    message: String,
}

impl ParamFileError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            place: format!("line {line}: "),
            message: message.into(),
        }
    }

    fn param(name: &str, message: impl Into<String>) -> Self {
        Self {
            place: format!("{name}: "),
            message: message.into(),
        }
    }
}

/// The parameters of a file and the format it was in.
/// Reads a parameter file, or the newest fetch kept in a flight folder: the file read, and
/// its set; the error says which file and why, in words.
pub fn read_path(path: &std::path::Path) -> Result<(std::path::PathBuf, ParamSet), String> {
    let file = if path.is_dir() {
        kept_in(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?
            .pop()
            .ok_or_else(|| format!("{} holds no parameter fetch", path.display()))?
    } else {
        path.to_owned()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
    let (set, _) = read(&text).map_err(|error| format!("{}: {error}", file.display()))?;
    Ok((file, set))
}

/// The parameter fetches kept in a flight folder, oldest first.
pub fn kept_in(flight: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut kept: Vec<_> = std::fs::read_dir(flight)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(super::KEPT_PREFIX) && n.ends_with(".params"))
        })
        .collect();
    kept.sort();
    Ok(kept)
}

pub fn read(text: &str) -> Result<(ParamSet, ParamFormat), ParamFileError> {
    let (rows, format) = read_rows(text)?;
    Ok((rows.into_iter().collect(), format))
}

/// The parameters of a file in the file's order, and the format it was in.
pub fn read_rows(text: &str) -> Result<(Vec<Param>, ParamFormat), ParamFileError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut format = None;
    let mut rows = Vec::new();
    let mut seen_at = std::collections::HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let format = *format.get_or_insert_with(|| guess(line));
        let param = match format {
            ParamFormat::QGroundControl => qgc_row(line),
            ParamFormat::MissionPlanner => mp_row(line),
            ParamFormat::MavProxy => mavproxy_row(line),
        }
        .map_err(|message| {
            ParamFileError::at(line_no, format!("{message} (a {} file)", format.name()))
        })?;
        if let Some(first) = seen_at.insert(param.name.clone(), line_no) {
            return Err(ParamFileError::at(
                line_no,
                format!("{} is already set on line {first}", param.name),
            ));
        }
        rows.push(param);
    }
    let format = format.ok_or_else(|| ParamFileError::at(1, "no parameters in the file"))?;
    Ok((rows, format))
}

/// The format of a data line.
fn guess(line: &str) -> ParamFormat {
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() >= 5 && fields[0].trim().parse::<u8>().is_ok() {
        ParamFormat::QGroundControl
    } else if line.contains(',') {
        ParamFormat::MissionPlanner
    } else {
        ParamFormat::MavProxy
    }
}

fn name_of(word: &str) -> Result<String, String> {
    if valid_name(word) {
        Ok(word.to_owned())
    } else {
        Err(format!(
            "`{word}` is not a parameter name (1 to 16 characters, no spaces)"
        ))
    }
}

fn value_of(word: &str) -> Result<f64, String> {
    match word.trim().parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("`{}` is not a number", word.trim())),
    }
}

fn qgc_row(line: &str) -> Result<Param, String> {
    let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
    let [system, component, name, value, kind] = fields[..] else {
        return Err(format!(
            "expected 5 tab-separated fields (vehicle, component, name, value, type), found {}",
            fields.len()
        ));
    };
    system
        .parse::<u8>()
        .map_err(|_| format!("`{system}` is not a vehicle id"))?;
    component
        .parse::<u8>()
        .map_err(|_| format!("`{component}` is not a component id"))?;
    let kind = kind
        .parse::<u8>()
        .ok()
        .and_then(ParamType::from_number)
        .ok_or_else(|| format!("`{kind}` is not a MAV_PARAM_TYPE (1 to 10)"))?;
    let value = value_of(value)?;
    if !kind.holds(value) {
        return Err(format!("{value} does not fit its type {}", kind.name()));
    }
    Ok(Param::new(name_of(name)?, value, Some(kind)))
}

fn mp_row(line: &str) -> Result<Param, String> {
    let (name, rest) = line.split_once(',').ok_or("expected NAME,VALUE")?;
    // Mission Planner may put a comment after the value.
    let value = rest.split(['#', ',']).next().unwrap_or_default();
    Ok(Param::new(name_of(name.trim())?, value_of(value)?, None))
}

fn mavproxy_row(line: &str) -> Result<Param, String> {
    let data = line.split('#').next().unwrap_or_default();
    let mut words = data.split_whitespace();
    let (Some(name), Some(value)) = (words.next(), words.next()) else {
        return Err("expected NAME VALUE".to_owned());
    };
    if let Some(extra) = words.next() {
        return Err(format!("unexpected `{extra}` after the value"));
    }
    Ok(Param::new(name_of(name)?, value_of(value)?, None))
}

/// Writes `set` in `format`; `ids` are the vehicle and component for a QGroundControl file.
/// A QGroundControl file needs every parameter's type: one without is an error naming it.
pub fn write(set: &ParamSet, format: ParamFormat, ids: (u8, u8)) -> Result<String, ParamFileError> {
    let mut out = String::new();
    match format {
        ParamFormat::MissionPlanner => {
            for param in set.iter() {
                out.push_str(&format!(
                    "{},{}\n",
                    param.name,
                    format_value(param.value, param.kind)
                ));
            }
        }
        ParamFormat::MavProxy => {
            for param in set.iter() {
                out.push_str(&format!(
                    "{:<16} {}\n",
                    param.name,
                    format_value(param.value, param.kind)
                ));
            }
        }
        ParamFormat::QGroundControl => {
            out.push_str(&format!(
                "# Onboard parameters for Vehicle {}\n#\n# Vehicle-Id Component-Id Name Value Type\n",
                ids.0
            ));
            for param in set.iter() {
                let kind = param.kind.ok_or_else(|| {
                    ParamFileError::param(
                        &param.name,
                        "its type is not known, and a QGroundControl file needs it (fetch the parameters from the vehicle first)",
                    )
                })?;
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    ids.0,
                    ids.1,
                    param.name,
                    format_value(param.value, Some(kind)),
                    kind.number()
                ));
            }
        }
    }
    Ok(out)
}
