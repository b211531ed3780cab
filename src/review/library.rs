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
    /// Onboard logs of the vehicle pulled during this flight (its `onboard-logs.json`).
    pub onboard_logs: usize,
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
    let onboard_logs = crate::onboard::pulled_during(&dir).len();
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
            onboard_logs,
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
            onboard_logs,
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

/// What the index knows of a flight that the metadata does not: for the library's columns
/// and its text search.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FlightFacts {
    /// Highest altitude above home seen in the kept track, metres.
    pub max_alt_rel_m: Option<f64>,
    /// Length of the kept track (one point a second), metres.
    pub distance_m: f64,
    /// Every vehicle text, in order.
    pub texts: Vec<String>,
    /// The flight's duration by its frames, seconds.
    pub span_s: f64,
    /// The texts in lower case, for searching without redoing it every frame.
    #[serde(skip)]
    pub texts_lower: String,
}

impl FlightFacts {
    pub fn of(index: &super::index::FlightIndex) -> Self {
        let max_alt_rel_m = index
            .track
            .iter()
            .map(|p| p.alt_rel_m)
            .fold(None, |max: Option<f64>, alt| {
                Some(max.map_or(alt, |m| m.max(alt)))
            });
        let distance_m = index
            .track
            .windows(2)
            .map(|w| {
                crate::vehicle::haversine_m(w[0].lat_deg, w[0].lon_deg, w[1].lat_deg, w[1].lon_deg)
            })
            .sum();
        Self {
            max_alt_rel_m,
            distance_m,
            texts: index.texts.iter().map(|t| t.text.clone()).collect(),
            texts_lower: index
                .texts
                .iter()
                .map(|t| t.text.to_lowercase())
                .collect::<Vec<_>>()
                .join("\n"),
            span_s: index.end_us.saturating_sub(index.start_us) as f64 * 1e-6,
        }
    }

    /// The facts of the flight in `dir`, from its kept index (built and kept now if missing).
    pub fn of_flight(dir: &Path, cache_dir: &Path) -> Option<Self> {
        let player = super::player::Player::open(dir, cache_dir, &mut |_, _| {}).ok()?;
        Some(Self::of(&player.index))
    }
}

/// Whether a flight matches the library's search: words found in its folder name, vehicle or
/// any of its texts (case-insensitive; every word must match somewhere).
pub fn matches(entry: &FlightEntry, facts: Option<&FlightFacts>, search: &str) -> bool {
    let haystack = |word: &str| {
        let word = word.to_lowercase();
        entry.dir.to_string_lossy().to_lowercase().contains(&word)
            || entry
                .vehicle
                .as_deref()
                .is_some_and(|v| v.to_lowercase().contains(&word))
            || facts.is_some_and(|f| f.texts_lower.contains(&word))
    };
    search.split_whitespace().all(haystack)
}

/// Copies a `.tlog` from anywhere into a new flight folder under `flights_dir`, with metadata
/// rebuilt from it, and returns the folder.
pub fn import_tlog(source: &Path, flights_dir: &Path) -> Result<PathBuf, super::ReviewError> {
    let summary = super::summarize(source)?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| super::ReviewError::Io { path, source }
    };
    let stem = source
        .file_stem()
        .map_or_else(|| "log".into(), |s| s.to_string_lossy().into_owned());
    let started = summary.start_us.unwrap_or(0);
    let when = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_micros(started),
    )
    .to_string()
    .replace(':', "-")
    .replace('T', "_");
    let mut dir = flights_dir.join(format!("{when}_imported_{stem}"));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = flights_dir.join(format!("{when}_imported_{stem}_{n}"));
    }
    crate::capture::create_private_dir(&dir)
        .map_err(|error| io(&dir)(std::io::Error::other(error)))?;
    let tlog = dir.join(TLOG_FILE);
    crate::capture::copy_private(source, &tlog)
        .map_err(|error| io(&tlog)(std::io::Error::other(error)))?;
    let meta = FlightMeta {
        format: FlightMeta::FORMAT,
        airlock_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_us: started,
        ended_us: summary.end_us,
        closed_cleanly: true,
        recovered: false,
        source: crate::capture::FlightSource {
            port: format!("imported from {}", source.display()),
            baud: None,
            usb_serial: None,
            description: Some("imported .tlog".to_owned()),
        },
        bytes_rx: summary.bytes_rx,
        bytes_tx: 0,
        counts: summary.counts,
        reconnects: 0,
        recording_gaps: 0,
        not_kept: crate::capture::NotKept::default(),
    };
    meta.store(&dir)?;
    Ok(dir)
}

/// Deletes a flight folder, unless it is being recorded.
pub fn delete_flight(dir: &Path) -> Result<(), super::ReviewError> {
    if is_being_recorded(dir) {
        return Err(super::ReviewError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other("it is being recorded"),
        });
    }
    if !(dir.join(RAW_FILE).is_file() || dir.join(TLOG_FILE).is_file()) {
        return Err(super::ReviewError::NotAFlight {
            path: dir.to_owned(),
        });
    }
    std::fs::remove_dir_all(dir).map_err(|source| super::ReviewError::Io {
        path: dir.to_owned(),
        source,
    })
}
