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

/// A flight being recorded.
#[derive(Debug)]
pub struct FlightRecord {
    dir: PathBuf,
    raw: RawWriter,
    tlog: TlogWriter,
    clock: Clock,
    meta: FlightMeta,
    last_sync: Instant,
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
        })
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

    /// Records a chunk of link bytes (or an event) at once; returns when it was recorded.
    pub fn record(
        &mut self,
        kind: RecordKind,
        link: u8,
        data: &[u8],
    ) -> std::io::Result<Timestamp> {
        let time = self.clock.now();
        self.raw.append(kind, link, time, data)?;
        match kind {
            RecordKind::Rx => self.meta.bytes_rx += data.len() as u64,
            RecordKind::Tx => self.meta.bytes_tx += data.len() as u64,
            RecordKind::Event => {}
        }
        Ok(time)
    }

    /// Records a link event.
    pub fn record_event(&mut self, link: u8, event: &super::LinkEvent) -> std::io::Result<()> {
        self.record(RecordKind::Event, link, &event.to_json())
            .map(drop)
    }

    /// Appends a valid frame to the `.tlog`.
    pub fn record_frame(&mut self, wall_us: u64, frame: &[u8]) -> std::io::Result<()> {
        self.tlog.append(wall_us, frame)
    }

    /// Hands buffered bytes to the OS, and forces everything to the disk once a second.
    pub fn tick(&mut self) -> std::io::Result<()> {
        self.tlog.flush()?;
        if self.last_sync.elapsed() >= SYNC_INTERVAL {
            self.sync()?;
        }
        Ok(())
    }

    /// Forces everything written so far to the disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.last_sync = Instant::now();
        self.raw.sync()?;
        self.tlog.sync()
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

    /// Ends the flight: syncs the files and writes the final metadata.
    pub fn close(mut self) -> Result<FlightMeta, CaptureError> {
        let sync_result = self.sync();
        self.meta.ended_us = Some(wall_clock_us());
        self.meta.closed_cleanly = true;
        self.meta.store(&self.dir)?;
        sync_result.map_err(|source| CaptureError::io(&self.dir, source))?;
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
