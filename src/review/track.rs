//! The flown track of a stored flight, replayed through the live vehicle reducers, and its
//! exports: GPX (track with time and elevation) and KML (3-D track coloured by flight mode).

use std::io::Write;

use super::frames::{for_each_frame_with, Side, Span};
use super::open::Opened;
use crate::protocol::{self, MavMessage};
use crate::vehicle::VehicleState;

/// One point of the track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSample {
    pub time_us: u64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_msl_m: f64,
    /// Flight mode at that moment (empty before the first heartbeat).
    pub mode: String,
}

/// Every GLOBAL_POSITION_INT of the followed vehicle with a position, in order.
pub fn track_of(opened: &Opened) -> Vec<TrackSample> {
    track_of_span(opened, Span::ALL, &mut |_, _| {})
}

/// [`track_of`] in `span` (the flight before it still sets the mode), reporting progress.
pub fn track_of_span(
    opened: &Opened,
    span: Span,
    progress: &mut dyn FnMut(u64, u64),
) -> Vec<TrackSample> {
    let mut state = VehicleState::new();
    let mut track = Vec::new();
    for_each_frame_with(opened, progress, &mut |time_us, side, header, bytes| {
        if side == Side::Sent {
            return;
        }
        let Ok(message) = protocol::decode(header, bytes) else {
            return;
        };
        state.apply(time_us, time_us, header, &message);
        if !matches!(message, MavMessage::GLOBAL_POSITION_INT(_))
            || state.system_id != Some(header.system_id)
            || !span.contains(time_us)
        {
            return;
        }
        if let Some(position) = state
            .position
            .filter(|p| p.lat_deg != 0.0 || p.lon_deg != 0.0)
        {
            track.push(TrackSample {
                time_us,
                lat_deg: position.lat_deg,
                lon_deg: position.lon_deg,
                alt_msl_m: position.alt_msl_m,
                mode: state
                    .status
                    .as_ref()
                    .map(|s| s.mode_name.clone())
                    .unwrap_or_default(),
            });
        }
    });
    track
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rfc3339_us(time_us: u64) -> String {
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_micros(time_us);
    humantime::format_rfc3339_millis(when).to_string()
}

/// Writes a GPX 1.1 track; returns the number of points.
pub fn write_gpx(track: &[TrackSample], name: &str, out: &mut impl Write) -> std::io::Result<u64> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<gpx version="1.1" creator="Airlock" xmlns="http://www.topografix.com/GPX/1/1">"#
    )?;
    writeln!(
        out,
        "  <trk>\n    <name>{}</name>\n    <trkseg>",
        xml_escape(name)
    )?;
    for sample in track {
        writeln!(
            out,
            r#"      <trkpt lat="{:.7}" lon="{:.7}"><ele>{:.3}</ele><time>{}</time></trkpt>"#,
            sample.lat_deg,
            sample.lon_deg,
            sample.alt_msl_m,
            rfc3339_us(sample.time_us)
        )?;
    }
    writeln!(out, "    </trkseg>\n  </trk>\n</gpx>")?;
    out.flush()?;
    Ok(track.len() as u64)
}

/// Line colours for modes, KML's aabbggrr.
const MODE_COLOURS: [&str; 8] = [
    "ff00a5ff", "ff3cb371", "ffff901e", "ff0000ff", "ffcc66ff", "ff00ffff", "ffffffff", "ff808080",
];

/// Writes a KML 3-D track (absolute altitudes), one line per run of a flight mode, each mode
/// in its own colour; returns the number of points.
pub fn write_kml(track: &[TrackSample], name: &str, out: &mut impl Write) -> std::io::Result<u64> {
    let mut modes: Vec<&str> = Vec::new();
    for sample in track {
        if !modes.contains(&sample.mode.as_str()) {
            modes.push(&sample.mode);
        }
    }
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<kml xmlns="http://www.opengis.net/kml/2.2">"#)?;
    writeln!(out, "<Document>\n  <name>{}</name>", xml_escape(name))?;
    for index in 0..modes.len() {
        writeln!(
            out,
            "  <Style id=\"mode{index}\"><LineStyle><color>{}</color><width>3</width></LineStyle></Style>",
            MODE_COLOURS[index % MODE_COLOURS.len()]
        )?;
    }
    let mut start = 0;
    while start < track.len() {
        let mode = &track[start].mode;
        let mut end = start + 1;
        while end < track.len() && &track[end].mode == mode {
            end += 1;
        }
        // Each run ends where the next begins, so the line has no gaps.
        let last = end.min(track.len() - 1);
        let style = modes.iter().position(|m| m == mode).unwrap_or(0);
        let label = if mode.is_empty() {
            "unknown mode"
        } else {
            mode.as_str()
        };
        writeln!(
            out,
            "  <Placemark>\n    <name>{}</name>\n    <styleUrl>#mode{style}</styleUrl>\n    <LineString>\n      <altitudeMode>absolute</altitudeMode>\n      <coordinates>",
            xml_escape(label)
        )?;
        for sample in &track[start..=last] {
            writeln!(
                out,
                "        {:.7},{:.7},{:.3}",
                sample.lon_deg, sample.lat_deg, sample.alt_msl_m
            )?;
        }
        writeln!(
            out,
            "      </coordinates>\n    </LineString>\n  </Placemark>"
        )?;
        start = end;
    }
    writeln!(out, "</Document>\n</kml>")?;
    out.flush()?;
    Ok(track.len() as u64)
}
