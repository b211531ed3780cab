//! QGC WPL 110: the text mission format of Mission Planner, MAVProxy and ArduPilot's tests.
//!
//! A `QGC WPL 110` header, then one row per item: seq, current, frame, command, param1–4,
//! x (latitude), y (longitude), z (altitude), autocontinue, separated by tabs (Mission Planner)
//! or spaces (MAVProxy and hand-made files). Row 0 is home. A home of exactly 0, 0, 0 means
//! "no home" both ways. The format holds no geofence and no rally points.

use super::{MissionFileError, MissionItem, Plan, FRAME_GLOBAL, NAV_WAYPOINT};

/// The header line.
pub const HEADER: &str = "QGC WPL 110";

const FIELDS: [&str; 12] = [
    "seq",
    "current",
    "frame",
    "command",
    "param1",
    "param2",
    "param3",
    "param4",
    "x (latitude)",
    "y (longitude)",
    "z (altitude)",
    "autocontinue",
];

fn number(text: &str, line: usize, field: &str) -> Result<f64, MissionFileError> {
    text.parse::<f64>()
        .map_err(|_| MissionFileError::at(line, Some(field), format!("`{text}` is not a number")))
}

fn whole<T: TryFrom<u64>>(text: &str, line: usize, field: &str) -> Result<T, MissionFileError> {
    let value = number(text, line, field)?;
    if value.fract() != 0.0 || value < 0.0 {
        return Err(MissionFileError::at(
            line,
            Some(field),
            format!("`{text}` is not a whole number"),
        ));
    }
    T::try_from(value as u64)
        .map_err(|_| MissionFileError::at(line, Some(field), format!("{text} is out of range")))
}

/// Whether a home row means "no home".
fn is_empty_home(item: &MissionItem) -> bool {
    item.command == NAV_WAYPOINT && item.x == 0.0 && item.y == 0.0 && item.z == 0.0
}

/// Reads a QGC WPL 110 text.
pub fn read(text: &str) -> Result<Plan, MissionFileError> {
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty());
    match lines.next() {
        Some((_, header))
            if header.split_whitespace().collect::<Vec<_>>() == ["QGC", "WPL", "110"] => {}
        Some((line, header)) => {
            return Err(MissionFileError::at(
                line,
                None,
                format!("expected the header `{HEADER}`, found `{header}`"),
            ))
        }
        None => return Err(MissionFileError::file("the file is empty")),
    }
    let mut plan = Plan::default();
    let mut expected_seq: Option<usize> = None;
    for (line, row) in lines {
        let words: Vec<&str> = row.split_whitespace().collect();
        if words.len() != FIELDS.len() {
            return Err(MissionFileError::at(
                line,
                None,
                format!("the row has {} fields, not {}", words.len(), FIELDS.len()),
            ));
        }
        let seq: usize = whole(words[0], line, FIELDS[0])?;
        match expected_seq {
            None if seq <= 1 => {}
            None => {
                return Err(MissionFileError::at(
                    line,
                    Some(FIELDS[0]),
                    format!("the first row is {seq}: rows start at 0 (home) or 1"),
                ))
            }
            Some(expected) if seq != expected => {
                return Err(MissionFileError::at(
                    line,
                    Some(FIELDS[0]),
                    format!(
                        "{seq} follows {}: rows must be numbered in order",
                        expected - 1
                    ),
                ))
            }
            Some(_) => {}
        }
        expected_seq = Some(seq + 1);
        whole::<u8>(words[1], line, FIELDS[1])?;
        let mut params = [0.0; 4];
        for (index, param) in params.iter_mut().enumerate() {
            *param = number(words[4 + index], line, FIELDS[4 + index])?;
        }
        let item = MissionItem {
            command: whole(words[3], line, FIELDS[3])?,
            frame: whole(words[2], line, FIELDS[2])?,
            params,
            x: number(words[8], line, FIELDS[8])?,
            y: number(words[9], line, FIELDS[9])?,
            z: number(words[10], line, FIELDS[10])?,
            autocontinue: number(words[11], line, FIELDS[11])? != 0.0,
            extra: serde_json::Map::new(),
        };
        if seq == 0 {
            plan.home = (!is_empty_home(&item)).then_some(item);
        } else {
            plan.items.push(item);
        }
    }
    Ok(plan)
}

/// Writes `plan` as QGC WPL 110 (tab-separated, home in row 0, numbers that read back exactly).
pub fn write(plan: &Plan) -> Result<String, MissionFileError> {
    if !plan.fence.is_empty() || !plan.rally.is_empty() {
        return Err(MissionFileError::file(format!(
            "a waypoint file holds only the mission: the geofence ({} circles, {} polygons) and {} rally points would be lost; save as .plan",
            plan.fence.circles.len(),
            plan.fence.polygons.len(),
            plan.rally.len()
        )));
    }
    let empty_home = MissionItem::new(NAV_WAYPOINT, FRAME_GLOBAL, 0.0, 0.0, 0.0);
    let home = plan.home.as_ref().unwrap_or(&empty_home);
    if plan.home.is_some() && is_empty_home(home) {
        return Err(MissionFileError::item(
            0,
            "a home at 0°, 0° and 0 m reads back as no home in a waypoint file",
        ));
    }
    let mut text = format!("{HEADER}\n");
    for (seq, item) in std::iter::once(home).chain(&plan.items).enumerate() {
        let current = u8::from(seq == 0);
        let [p1, p2, p3, p4] = item.params;
        text.push_str(&format!(
            "{seq}\t{current}\t{}\t{}\t{p1}\t{p2}\t{p3}\t{p4}\t{}\t{}\t{}\t{}\n",
            item.frame,
            item.command,
            item.x,
            item.y,
            item.z,
            u8::from(item.autocontinue)
        ));
    }
    Ok(text)
}
