//! One flight's folder: raw capture + `.tlog` + metadata, and the rules for keeping them safe.
//!
//! Durability: raw records are handed to the OS with one `write` per chunk as they arrive; the
//! `.tlog` buffer is flushed on every [`FlightRecord::tick`] (the session ticks at least every
//! 100 ms); both are `fsync`ed at least once a second. While recording, the raw capture is
//! locked (`flock`), so a reader can tell a live flight from one whose recorder died.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::raw::{RawWriter, RecordKind};
use super::tlog::TlogWriter;
use super::{
    create_private_dir, flight_folder_name, wall_clock_us, write_private_atomic, CaptureError,
    Clock, Timestamp, META_FILE, RAW_FILE, TLOG_FILE,
};

/// How often written bytes are forced to the disk.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Where a flight's bytes came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FlightSource {
    /// The port as the operator named it (a device path, or a network address).
    pub port: String,
    /// Baud rate in use, once known.
    pub baud: Option<u32>,
    /// USB serial number of the adapter, when it has one.
    pub usb_serial: Option<String>,
    /// Human description of the device (product name, VID:PID).
    pub description: Option<String>,
}

/// A MAVLink system/component seen on the link.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct VehicleSeen {
    pub system_id: u8,
    pub component_id: u8,
    /// MAV_TYPE name from its heartbeat, e.g. `MAV_TYPE_QUADROTOR`.
    pub vehicle_type: String,
    /// MAV_AUTOPILOT name from its heartbeat, e.g. `MAV_AUTOPILOT_ARDUPILOTMEGA`.
    pub autopilot: String,
}

/// What a flight's link carried, in counts: the same in the metadata and in `airlock info`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FlightCounts {
    pub vehicles: Vec<VehicleSeen>,
    /// Valid frames received from the vehicle side, by message name.
    pub messages: BTreeMap<String, u64>,
    /// Valid frames Airlock itself sent, by message name.
    pub sent_messages: BTreeMap<String, u64>,
    pub crc_errors: u64,
    pub unknown_frames: u64,
    /// Frames whose message id is unknown to Airlock, by `UNKNOWN_<id>`.
    pub unknown_messages: BTreeMap<String, u64>,
    /// Received bytes that belong to no valid frame.
    pub garbage_bytes: u64,
    /// Frames missing according to sequence numbers.
    pub lost_frames: u64,
    /// Signed MAVLink 2 frames among the valid ones.
    pub signed_frames: u64,
}

/// The metadata file of a flight (`flight.json`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FlightMeta {
    /// Version of this file's layout.
    pub format: u32,
    pub airlock_version: String,
    /// Wall-clock start, µs since the Unix epoch.
    pub started_us: u64,
    /// Wall-clock end, µs since the Unix epoch; `None` while recording or after a crash.
    pub ended_us: Option<u64>,
    /// Set when the recorder closed the flight itself.
    pub closed_cleanly: bool,
    /// Set when this file was rebuilt from the raw capture after the recorder died.
    pub recovered: bool,
    pub source: FlightSource,
    pub bytes_rx: u64,
    pub bytes_tx: u64,
    /// What the link carried.
    #[serde(flatten)]
    pub counts: FlightCounts,
    /// Times the link came back after being lost.
    pub reconnects: u64,
    /// Times recording paused (a full disk) and resumed.
    pub recording_gaps: u64,
    /// What those pauses did not keep.
    pub not_kept: NotKept,
}

impl FlightMeta {
    pub const FORMAT: u32 = 1;

    /// Reads a flight's metadata file.
    pub fn load(dir: &Path) -> Result<Self, CaptureError> {
        let path = dir.join(META_FILE);
        let text = std::fs::read(&path).map_err(|source| CaptureError::io(&path, source))?;
        serde_json::from_slice(&text).map_err(|source| CaptureError::BadMeta { path, source })
    }

    /// Writes a flight's metadata file atomically.
    pub fn store(&self, dir: &Path) -> Result<(), CaptureError> {
        let path = dir.join(META_FILE);
        // Serialising plain data with string keys cannot fail.
        let text = serde_json::to_vec_pretty(self).unwrap_or_default();
        write_private_atomic(&path, &text)
    }
}

/// How often a paused recording tries to write again.
pub const RESUME_INTERVAL: Duration = Duration::from_secs(1);

/// What was not kept while recording was paused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NotKept {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Link events.
    pub events: u64,
    /// Frames missing from the `.tlog`.
    pub tlog_records: u64,
}

impl NotKept {
    /// Link bytes (both directions) not kept.
    pub fn bytes(&self) -> u64 {
        self.rx_bytes + self.tx_bytes
    }

    fn add(&mut self, other: &Self) {
        self.rx_bytes += other.rx_bytes;
        self.tx_bytes += other.tx_bytes;
        self.events += other.events;
        self.tlog_records += other.tlog_records;
    }
}

/// What changed in the recording, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingNews {
    /// Writing failed: recording is paused and retried every second; the link goes on.
    Paused {
        /// `disk full — recording paused`, or `disk error — recording paused`.
        headline: &'static str,
        /// The file and the system's error.
        detail: String,
    },
    /// Writing again; the gap is recorded in the capture.
    Resumed {
        not_kept: NotKept,
        paused_for: Duration,
    },
}

impl std::fmt::Display for RecordingNews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Paused { headline, detail } => write!(
                f,
                "{headline} ({detail}); retrying every second, the link and the live view go on"
            ),
            Self::Resumed {
                not_kept,
                paused_for,
            } => write!(
                f,
                "recording resumed after {:.1} s: {} received and {} sent bytes were not kept \
                 (the gap is recorded in the capture)",
                paused_for.as_secs_f64(),
                not_kept.rx_bytes,
                not_kept.tx_bytes
            ),
        }
    }
}

/// The headline for a write that failed: a full disk (or quota) is the operator's to fix.
fn pause_headline(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "disk full — recording paused"
        }
        _ => "disk error — recording paused",
    }
}

/// A recording whose writes fail.
#[derive(Debug)]
struct Pause {
    since: Timestamp,
    started: Instant,
    detail: String,
    /// Not kept since the pause began (or since a gap record was written).
    not_kept: NotKept,
    /// Not kept over the whole pause, for the operator.
    not_kept_total: NotKept,
    next_try: Instant,
}

impl Pause {
    fn count(&mut self, apply: impl Fn(&mut NotKept)) {
        apply(&mut self.not_kept);
        apply(&mut self.not_kept_total);
    }
}

/// A flight being recorded.
///
/// Writes never fail to the caller: a write that fails (a full disk) pauses the recording,
/// which counts what it does not keep and tries again every [`RESUME_INTERVAL`]; when a write
/// succeeds again it first records the gap (a [`LinkEvent::Gap`]). What was written before the
/// pause stays whole: a record half-written when the disk filled is taken back. Changes are
/// told through [`FlightRecord::take_news`].
#[derive(Debug)]
pub struct FlightRecord {
    dir: PathBuf,
    raw: RawWriter,
    tlog: TlogWriter,
    clock: Clock,
    meta: FlightMeta,
    last_sync: Instant,
    pause: Option<Pause>,
    news: Vec<RecordingNews>,
    /// The signed journal and manifest (when a key seals this installation's flights).
    seal: Option<super::seal::Seal>,
}

impl FlightRecord {
    /// Starts a flight in `dir`, which must not exist yet or be empty.
    pub fn create(dir: &Path, source: FlightSource) -> Result<Self, CaptureError> {
        create_private_dir(dir)?;
        let raw_path = dir.join(RAW_FILE);
        let raw = RawWriter::create(&raw_path)?;
        let tlog = TlogWriter::create(&dir.join(TLOG_FILE))?;
        let meta = FlightMeta {
            format: FlightMeta::FORMAT,
            airlock_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_us: wall_clock_us(),
            source,
            ..FlightMeta::default()
        };
        meta.store(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            raw,
            tlog,
            clock: Clock::new(),
            meta,
            last_sync: Instant::now(),
            pause: None,
            news: Vec::new(),
            seal: None,
        })
    }

    /// Seals the flight with `key` from now on: a signed journal entry at every durable write
    /// (the first one now), a signed manifest on close (see [`super::seal`]).
    pub fn seal_with(
        &mut self,
        key: std::sync::Arc<super::seal::SealKey>,
    ) -> Result<(), CaptureError> {
        let mut seal = super::seal::Seal::create(&self.dir, &[RAW_FILE, TLOG_FILE], key)?;
        self.sync()
            .and_then(|()| seal.extend(wall_clock_us()))
            .map_err(|source| {
                CaptureError::io(&self.dir.join(super::seal::JOURNAL_FILE), source)
            })?;
        self.seal = Some(seal);
        Ok(())
    }

    /// Starts a flight in a new folder under `flights_dir`, named after the time.
    pub fn create_in(flights_dir: &Path, source: FlightSource) -> Result<Self, CaptureError> {
        create_private_dir(flights_dir)?;
        let base = flight_folder_name(SystemTime::now());
        let mut dir = flights_dir.join(&base);
        let mut n = 2;
        while dir.exists() {
            dir = flights_dir.join(format!("{base}-{n}"));
            n += 1;
        }
        Self::create(&dir, source)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current time on this flight's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Records a chunk of link bytes (or an event) at once; returns when it was seen.
    pub fn record(&mut self, kind: RecordKind, link: u8, data: &[u8]) -> Timestamp {
        let time = self.clock.now();
        let len = data.len() as u64;
        let count = |not_kept: &mut NotKept| match kind {
            RecordKind::Rx => not_kept.rx_bytes += len,
            RecordKind::Tx => not_kept.tx_bytes += len,
            RecordKind::Event => not_kept.events += 1,
        };
        if self.pause.is_none() {
            match self.raw.append(kind, link, time, data) {
                Ok(()) => {
                    match kind {
                        RecordKind::Rx => self.meta.bytes_rx += len,
                        RecordKind::Tx => self.meta.bytes_tx += len,
                        RecordKind::Event => {}
                    }
                    return time;
                }
                Err(error) => self.pause_on(time, RAW_FILE, &error),
            }
        }
        if let Some(pause) = &mut self.pause {
            pause.count(count);
        }
        time
    }

    /// Records a link event.
    pub fn record_event(&mut self, link: u8, event: &super::LinkEvent) {
        self.record(RecordKind::Event, link, &event.to_json());
    }

    /// Appends a valid frame to the `.tlog`.
    pub fn record_frame(&mut self, wall_us: u64, frame: &[u8]) {
        if self.pause.is_none() {
            match self.tlog.append(wall_us, frame) {
                Ok(()) => return,
                Err(error) => self.pause_on(self.clock.now(), TLOG_FILE, &error),
            }
        }
        // The frame that made the buffer flush is in the buffer: only later ones are lost.
        if let Some(pause) = &mut self.pause {
            pause.count(|not_kept| not_kept.tlog_records += 1);
        }
    }

    /// Hands buffered bytes to the OS and forces everything to the disk once a second; while
    /// paused, tries to write again once a second.
    pub fn tick(&mut self) {
        if let Some(pause) = &self.pause {
            if Instant::now() >= pause.next_try {
                self.try_resume();
            }
            return;
        }
        if let Err(error) = self.tlog.flush() {
            self.pause_on(self.clock.now(), TLOG_FILE, &error);
        } else if self.last_sync.elapsed() >= SYNC_INTERVAL {
            if let Err(error) = self.sync() {
                self.pause_on(self.clock.now(), "its files (sync)", &error);
            }
        }
    }

    /// Whether recording is paused (writes failing).
    pub fn is_paused(&self) -> bool {
        self.pause.is_some()
    }

    /// Tries to write again now; true when recording (again).
    pub fn try_resume(&mut self) -> bool {
        let Some(pause) = &mut self.pause else {
            return true;
        };
        pause.next_try = Instant::now() + RESUME_INTERVAL;
        // The .tlog records buffered before the pause, then the gap.
        if let Err(error) = self.tlog.flush() {
            pause.detail = format!("{}: {error}", self.dir.join(TLOG_FILE).display());
            return false;
        }
        let gap = super::LinkEvent::Gap {
            since_wall_us: pause.since.wall_us,
            since_mono_us: pause.since.mono_us,
            rx_bytes: pause.not_kept.rx_bytes,
            tx_bytes: pause.not_kept.tx_bytes,
            events: pause.not_kept.events,
            tlog_records: pause.not_kept.tlog_records,
            error: pause.detail.clone(),
        };
        let time = self.clock.now();
        if let Err(error) = self.raw.append(RecordKind::Event, 0, time, &gap.to_json()) {
            pause.detail = format!("{}: {error}", self.dir.join(RAW_FILE).display());
            return false;
        }
        self.meta.recording_gaps += 1;
        self.meta.not_kept.add(&pause.not_kept);
        self.news.push(RecordingNews::Resumed {
            not_kept: pause.not_kept_total,
            paused_for: pause.started.elapsed(),
        });
        self.pause = None;
        true
    }

    fn pause_on(&mut self, since: Timestamp, file: &str, error: &std::io::Error) {
        let detail = format!("{}: {error}", self.dir.join(file).display());
        self.news.push(RecordingNews::Paused {
            headline: pause_headline(error),
            detail: detail.clone(),
        });
        self.pause = Some(Pause {
            since,
            started: Instant::now(),
            detail,
            not_kept: NotKept::default(),
            not_kept_total: NotKept::default(),
            next_try: Instant::now() + RESUME_INTERVAL,
        });
    }

    /// What changed in the recording since the last call, oldest first.
    pub fn take_news(&mut self) -> Vec<RecordingNews> {
        std::mem::take(&mut self.news)
    }

    /// Forces everything written so far to the disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.last_sync = Instant::now();
        self.raw.sync()?;
        self.tlog.sync()?;
        match &mut self.seal {
            Some(seal) => seal.extend(wall_clock_us()),
            None => Ok(()),
        }
    }

    pub fn meta(&self) -> &FlightMeta {
        &self.meta
    }

    pub fn meta_mut(&mut self) -> &mut FlightMeta {
        &mut self.meta
    }

    /// Bytes written so far (raw capture + tlog).
    pub fn size_bytes(&self) -> u64 {
        self.raw.bytes_written() + self.tlog.bytes_written()
    }

    /// Ends the flight: syncs the files and writes the final metadata. A recording still
    /// paused tries once more; if it cannot write, what was recorded before the pause is kept
    /// and the error says so.
    pub fn close(mut self) -> Result<FlightMeta, CaptureError> {
        if !self.try_resume() {
            let detail = self
                .pause
                .as_ref()
                .map(|pause| pause.detail.clone())
                .unwrap_or_default();
            let _ = self.sync();
            return Err(CaptureError::io(
                &self.dir,
                std::io::Error::other(format!(
                    "recording was still paused ({detail}): everything recorded before the \
                     pause is kept, the end of the flight is not"
                )),
            ));
        }
        let sync_result = self.sync();
        self.meta.ended_us = Some(wall_clock_us());
        self.meta.closed_cleanly = true;
        self.meta.store(&self.dir)?;
        sync_result.map_err(|source| CaptureError::io(&self.dir, source))?;
        if let Some(seal) = self.seal.take() {
            seal.close(wall_clock_us())?;
        }
        Ok(self.meta)
    }
}

/// Whether a recorder currently holds the flight in `dir` open.
pub fn is_being_recorded(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join(RAW_FILE)) else {
        return false;
    };
    matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    )
}
