//! The flight library: every flight folder in the data folder, newest first.

use std::path::{Path, PathBuf};

use crate::capture::flight::is_being_recorded;
use crate::capture::{FlightMeta, RAW_FILE, TLOG_FILE};

/// One flight in the library.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FlightEntry {
    pub dir: PathBuf,
    pub started_us: u64,
    pub duration_s: Option<f64>,
    /// `MAV_TYPE_…` of the first autopilot seen, if any.
    pub vehicle: Option<String>,
    pub messages: u64,
    /// Bytes on disk (capture + tlog + metadata).
    pub size_bytes: u64,
    /// The recorder died and the metadata was rebuilt (or must be: open it with `info`).
    pub recovered: bool,
    pub recording: bool,
    /// The metadata could not be read.
    pub problem: Option<String>,
}

fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter_map(|entry| entry.metadata().ok())
            .filter(std::fs::Metadata::is_file)
            .map(|metadata| metadata.len())
            .sum()
    })
}

fn entry(dir: PathBuf) -> FlightEntry {
    let recording = is_being_recorded(&dir);
    let closed = FlightMeta::load(&dir).is_ok_and(|meta| meta.closed_cleanly || meta.recovered);
    if !recording && !closed {
        // Its recorder died: rebuild the metadata from the raw capture now (as `info` would).
        let _ = super::summarize(&dir);
    }
    let size_bytes = folder_size(&dir);
    match FlightMeta::load(&dir) {
        Ok(meta) => FlightEntry {
            started_us: meta.started_us,
            duration_s: meta
                .ended_us
                .map(|end| end.saturating_sub(meta.started_us) as f64 * 1e-6),
            vehicle: meta
                .counts
                .vehicles
                .iter()
                .find(|v| v.autopilot != "MAV_AUTOPILOT_INVALID")
                .map(|v| v.vehicle_type.clone()),
            messages: meta.counts.messages.values().sum(),
            recovered: meta.recovered || (!meta.closed_cleanly && !recording),
            recording,
            problem: None,
            size_bytes,
            dir,
        },
        Err(error) => FlightEntry {
            started_us: 0,
            duration_s: None,
            vehicle: None,
            messages: 0,
            recovered: !recording,
            recording,
            problem: Some(error.to_string()),
            size_bytes,
            dir,
        },
    }
}

/// Lists the flights under `flights_dir` (folders holding a capture or a tlog), newest first.
pub fn list_flights(flights_dir: &Path) -> std::io::Result<Vec<FlightEntry>> {
    let mut flights: Vec<FlightEntry> = match std::fs::read_dir(flights_dir) {
        Ok(entries) => entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|dir| dir.join(RAW_FILE).is_file() || dir.join(TLOG_FILE).is_file())
            .map(entry)
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error),
    };
    flights.sort_by(|a, b| {
        b.started_us
            .cmp(&a.started_us)
            .then_with(|| b.dir.cmp(&a.dir))
    });
    Ok(flights)
}
