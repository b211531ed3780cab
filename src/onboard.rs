//! The vehicle's onboard logs kept on the local disk.
//!
//! `<data>/onboard-logs/<vehicle>/log<ID>_<start time>_<size>B.bin`, owner-only, with beside it
//! `….bin.sha256` (the `sha256sum` line) and `….bin.json` (which vehicle, which log, which flight
//! it was pulled during). While it downloads the bytes go to `….bin.part` as they arrive, and
//! `….bin.part.ranges` names the byte ranges that are safely on disk (written only after the
//! data is synced), so an interrupted download — link lost, operator, crash — resumes where it
//! stopped. The `.bin` exists only once every byte up to the listed size is there. The flight
//! the log was pulled during lists it in its `onboard-logs.json`.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};

use crate::capture::{create_private_dir, write_private_atomic};
use crate::protocol::services::logs::LogEntry;
use crate::protocol::services::ranges::Ranges;

/// The list of onboard logs pulled during a flight, in its folder.
pub const FLIGHT_LIST: &str = "onboard-logs.json";
/// Held bytes are synced and their ranges written at least this often.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
const CHECKPOINT_BYTES: u64 = 64 * 1024;

/// Where onboard logs live: `<data>/onboard-logs`, beside the flights folder.
pub fn root_beside(flights_dir: &Path) -> PathBuf {
    flights_dir.with_file_name("onboard-logs")
}

/// A folder name for a vehicle: its system id, autopilot and type, e.g. `sys1-ardupilot-quadrotor`.
pub fn vehicle_key(system_id: u8, autopilot: &str, vehicle_type: &str) -> String {
    let clean = |text: &str| {
        text.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    format!(
        "sys{system_id}-{}-{}",
        clean(autopilot),
        clean(vehicle_type)
    )
}

/// The folder name of the vehicle a ground station follows (see [`vehicle_key`]).
pub fn vehicle_key_of(vehicle: &crate::vehicle::VehicleState) -> String {
    let (autopilot, kind) = vehicle.status.as_ref().map_or_else(
        || ("unknown".to_owned(), "unknown".to_owned()),
        |status| {
            (
                format!("{:?}", status.autopilot).replace("MAV_AUTOPILOT_", ""),
                format!("{:?}", status.vehicle_type).replace("MAV_TYPE_", ""),
            )
        },
    );
    vehicle_key(vehicle.system_id.unwrap_or(0), &autopilot, &kind)
}

/// The file name of a log: its id and size, so that a log that grew or was replaced under the
/// same id is a different file. Not its start time: ArduPilot reports the file's modification
/// time, which moved between two listings of a log that no longer grew (SITL), and a pull must
/// find its partial file again (the time is in the record beside it).
pub fn file_name(entry: &LogEntry) -> String {
    format!("log{:04}_{}B.bin", entry.id, entry.size)
}

/// What is kept beside a log: where it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogRecord {
    pub vehicle: String,
    pub log_id: u16,
    pub time_utc: u32,
    pub size: u32,
    pub sha256: String,
    /// The flight folder (its name) the log was pulled during.
    pub pulled_during: Option<String>,
    /// The file, relative to the onboard-logs folder.
    pub file: String,
}

/// The state of a log on disk.
#[derive(Debug, Clone, PartialEq)]
pub enum OnDisk {
    Absent,
    /// Part of it: bytes held.
    Partial(u64),
    Complete(PathBuf),
}

/// Whether (and how much of) `entry` is on disk for `vehicle`.
pub fn on_disk(root: &Path, vehicle: &str, entry: &LogEntry) -> OnDisk {
    let path = root.join(vehicle).join(file_name(entry));
    if path.is_file() {
        return OnDisk::Complete(path);
    }
    match read_ranges(&part_ranges(&path)) {
        Some(ranges) if ranges.held() > 0 => OnDisk::Partial(ranges.held()),
        _ => OnDisk::Absent,
    }
}

fn part_path(path: &Path) -> PathBuf {
    with_suffix(path, ".part")
}

fn part_ranges(path: &Path) -> PathBuf {
    with_suffix(path, ".part.ranges")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn read_ranges(path: &Path) -> Option<Ranges> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// A log being downloaded into its `.part` file.
pub struct PartFile {
    path: PathBuf,
    file: File,
    entry: LogEntry,
    vehicle: String,
    /// Ranges synced to disk (named in the `.ranges` file) and written since.
    synced: Ranges,
    written: Ranges,
    unsynced_bytes: u64,
    last_sync: Instant,
}

impl PartFile {
    /// Opens (or resumes) the download of `entry` for `vehicle` under `root`.
    pub fn open(root: &Path, vehicle: &str, entry: &LogEntry) -> anyhow::Result<Self> {
        let dir = root.join(vehicle);
        create_private_dir(&dir)?;
        let path = dir.join(file_name(entry));
        let part = part_path(&path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&part)
            .with_context(|| format!("cannot open {}", part.display()))?;
        let on_file = file.metadata().map(|m| m.len()).unwrap_or(0);
        // Ranges past what the file holds (a crash between them) are not trusted.
        let synced = read_ranges(&part_ranges(&path))
            .map(|ranges| {
                Ranges::from_pairs(
                    ranges
                        .pairs()
                        .iter()
                        .filter(|&&(_, end)| u64::from(end) <= on_file && end <= entry.size)
                        .copied(),
                )
            })
            .unwrap_or_default();
        Ok(Self {
            path,
            file,
            entry: *entry,
            vehicle: vehicle.to_owned(),
            written: synced.clone(),
            synced,
            unsynced_bytes: 0,
            last_sync: Instant::now(),
        })
    }

    /// The byte ranges already on disk (for the download request).
    pub fn held(&self) -> &Ranges {
        &self.written
    }

    /// Where the complete log will be.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes bytes at `offset`; syncs now and then.
    pub fn write(&mut self, offset: u32, bytes: &[u8]) -> anyhow::Result<()> {
        let end = offset
            .saturating_add(bytes.len() as u32)
            .min(self.entry.size);
        if end <= offset {
            return Ok(());
        }
        let bytes = &bytes[..(end - offset) as usize];
        self.file
            .write_all_at(bytes, u64::from(offset))
            .with_context(|| format!("cannot write {}", part_path(&self.path).display()))?;
        self.unsynced_bytes += u64::from(self.written.insert(offset, end));
        if self.unsynced_bytes >= CHECKPOINT_BYTES || self.last_sync.elapsed() >= CHECKPOINT_EVERY {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Syncs the bytes written, then names them in the `.ranges` file.
    pub fn checkpoint(&mut self) -> anyhow::Result<()> {
        if self.written == self.synced {
            return Ok(());
        }
        self.file
            .sync_data()
            .with_context(|| format!("cannot sync {}", part_path(&self.path).display()))?;
        let text = serde_json::to_string(&self.written)?;
        write_private_atomic(&part_ranges(&self.path), text.as_bytes())?;
        self.synced = self.written.clone();
        self.unsynced_bytes = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Completes the log: only when every byte up to the listed size is on disk. Its SHA-256
    /// and record are written beside it, and the flight it was pulled during lists it.
    pub fn finish(mut self, flight_dir: Option<&Path>) -> anyhow::Result<LogRecord> {
        if !self.written.covers(self.entry.size) {
            self.checkpoint()?;
            bail!(
                "log {} is incomplete: {} of {} bytes",
                self.entry.id,
                self.written.held(),
                self.entry.size
            );
        }
        let part = part_path(&self.path);
        self.file
            .set_len(u64::from(self.entry.size))
            .and_then(|()| self.file.sync_all())
            .with_context(|| format!("cannot sync {}", part.display()))?;
        let sha256 = sha256_of(&part)?;
        std::fs::rename(&part, &self.path)
            .with_context(|| format!("cannot rename {}", part.display()))?;
        let _ = std::fs::remove_file(part_ranges(&self.path));
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        write_private_atomic(
            &with_suffix(&self.path, ".sha256"),
            format!("{sha256}  {name}\n").as_bytes(),
        )?;
        let record = LogRecord {
            vehicle: self.vehicle.clone(),
            log_id: self.entry.id,
            time_utc: self.entry.time_utc,
            size: self.entry.size,
            sha256,
            pulled_during: flight_dir
                .and_then(|dir| dir.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
            file: format!("{}/{name}", self.vehicle),
        };
        write_private_atomic(
            &with_suffix(&self.path, ".json"),
            serde_json::to_string_pretty(&record)?.as_bytes(),
        )?;
        if let Some(dir) = flight_dir {
            add_to_flight(dir, &record)?;
        }
        Ok(record)
    }
}

/// The SHA-256 of a file, in hex.
pub fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut buffer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The onboard logs pulled during a flight (its `onboard-logs.json`), if any.
pub fn pulled_during(flight_dir: &Path) -> Vec<LogRecord> {
    std::fs::read_to_string(flight_dir.join(FLIGHT_LIST))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn add_to_flight(flight_dir: &Path, record: &LogRecord) -> anyhow::Result<()> {
    let mut records = pulled_during(flight_dir);
    records.retain(|kept| kept.file != record.file);
    records.push(record.clone());
    write_private_atomic(
        &flight_dir.join(FLIGHT_LIST),
        serde_json::to_string_pretty(&records)?.as_bytes(),
    )?;
    Ok(())
}

/// Copies a kept log to a new private file at `to` (for `logs get -o`): refuses to overwrite.
pub fn copy_out(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut out = crate::capture::NewFile::create(to)?;
    let mut input = File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    std::io::copy(&mut input, &mut out)
        .map_err(anyhow::Error::from)
        .and_then(|_| Ok(out.commit()?))
        .with_context(|| format!("cannot write {}", to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: u32) -> LogEntry {
        LogEntry {
            id: 3,
            time_utc: 1_764_230_400,
            size,
        }
    }

    #[test]
    fn a_part_file_resumes_from_its_synced_ranges_and_completes_with_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("onboard-logs");
        let flight = dir.path().join("flights").join("2026-11-27_08-00-00Z");
        std::fs::create_dir_all(&flight).unwrap();
        let content: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let e = entry(1000);
        let mut part = PartFile::open(&root, "sys1-ardupilot-quadrotor", &e).unwrap();
        part.write(0, &content[..300]).unwrap();
        part.write(600, &content[600..700]).unwrap();
        part.checkpoint().unwrap();
        // An incomplete log is refused, what it holds kept for the next try.
        part.write(900, &content[900..]).unwrap();
        assert!(part.finish(Some(&flight)).is_err(), "incomplete");
        assert_eq!(
            on_disk(&root, "sys1-ardupilot-quadrotor", &e),
            OnDisk::Partial(500)
        );
        let mut again = PartFile::open(&root, "sys1-ardupilot-quadrotor", &e).unwrap();
        assert_eq!(again.held().pairs(), &[(0, 300), (600, 700), (900, 1000)]);
        again.write(300, &content[300..600]).unwrap();
        again.write(700, &content[700..900]).unwrap();
        let record = again.finish(Some(&flight)).unwrap();
        let path = root.join("sys1-ardupilot-quadrotor").join(file_name(&e));
        assert_eq!(std::fs::read(&path).unwrap(), content);
        assert_eq!(record.sha256, sha256_of(&path).unwrap());
        assert_eq!(
            record.pulled_during.as_deref(),
            Some("2026-11-27_08-00-00Z")
        );
        assert_eq!(
            on_disk(&root, "sys1-ardupilot-quadrotor", &e),
            OnDisk::Complete(path.clone())
        );
        let line = std::fs::read_to_string(with_suffix(&path, ".sha256")).unwrap();
        assert_eq!(line, format!("{}  {}\n", record.sha256, file_name(&e)));
        assert_eq!(pulled_during(&flight), vec![record]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!part_path(&path).exists() && !part_ranges(&path).exists());
    }

    #[test]
    fn names_say_which_log_and_how_big() {
        assert_eq!(file_name(&entry(1234)), "log0003_1234B.bin");
        assert_eq!(
            vehicle_key(1, "ArduPilot", "quad rotor"),
            "sys1-ardupilot-quadrotor"
        );
    }
}
