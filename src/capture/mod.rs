//! The on-disk flight record: one private folder per flight holding the raw capture of every
//! byte, a standard `.tlog` of every valid frame, and a small metadata file.
//!
//! This module owns file formats and durability (when bytes reach the OS and the disk). It never
//! parses MAVLink and never deletes a flight.

pub mod event;
pub mod flight;
pub mod raw;
pub mod seal;
pub mod tlog;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use event::LinkEvent;
pub use flight::{
    FlightCounts, FlightMeta, FlightRecord, FlightSource, NotKept, RecordingNews, VehicleSeen,
};

/// File name of the raw capture inside a flight folder.
pub const RAW_FILE: &str = "capture.alc";
/// File name of the `.tlog` inside a flight folder.
pub const TLOG_FILE: &str = "flight.tlog";
/// File name of the metadata inside a flight folder.
pub const META_FILE: &str = "flight.json";

/// Errors of the flight record.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not an Airlock raw capture (bad magic bytes)")]
    NotACapture,
    #[error("raw capture format version {0} is newer than this Airlock understands")]
    UnsupportedVersion(u16),
    #[error("{path}: metadata is not valid: {source}")]
    BadMeta {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl CaptureError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// When a chunk of bytes was seen: wall clock for humans and other tools, monotonic for order
/// and rates (the wall clock may jump).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Timestamp {
    /// Microseconds since the Unix epoch.
    pub wall_us: u64,
    /// Microseconds since the capture's clock started.
    pub mono_us: u64,
}

/// A clock started with a capture.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        Timestamp {
            wall_us: wall_clock_us(),
            mono_us: self.start.elapsed().as_micros() as u64,
        }
    }
}

/// Microseconds since the Unix epoch now (0 if the system clock is before 1970).
pub fn wall_clock_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as u64)
}

/// Creates a new file readable and writable by the user only; fails if it exists.
pub fn create_private_file(path: &Path) -> Result<File, CaptureError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| CaptureError::io(path, source))
}

/// Cuts `file` back to `len` bytes and moves its cursor there: takes back a write that failed
/// half-way (a full disk), so the file ends on a whole record.
pub fn rewind_to(file: &mut File, len: u64) -> std::io::Result<()> {
    use std::io::Seek;
    file.set_len(len)?;
    file.seek(std::io::SeekFrom::Start(len)).map(drop)
}

/// Creates a folder (and missing parents) accessible by the user only.
pub fn create_private_dir(path: &Path) -> Result<(), CaptureError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| CaptureError::io(path, source))
}

/// Copies `source` to a new file `to`, private to the user whatever the source's mode (a
/// plain copy keeps the source's mode: a 0644 log imported stays readable by everyone).
pub fn copy_private(source: &Path, to: &Path) -> Result<u64, CaptureError> {
    let mut from = File::open(source).map_err(|error| CaptureError::io(source, error))?;
    let mut out = create_private_file(to)?;
    let copied = std::io::copy(&mut from, &mut out)
        .and_then(|copied| out.sync_all().map(|()| copied))
        .map_err(|error| CaptureError::io(to, error));
    if copied.is_err() {
        let _ = std::fs::remove_file(to);
    }
    copied
}

/// `path` with `suffix` added to the whole name (not the extension replaced: `log.bin.json`
/// and `log.bin.sha256` would both go through `log.bin.tmp`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `bytes` to `path` atomically (temporary file, sync, rename), private to the user:
/// when anything fails (a full disk) the file at `path` is still the old one, and no
/// temporary file is left behind.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), CaptureError> {
    use std::io::Write;
    let tmp = beside(path, ".tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = create_private_file(&tmp)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| CaptureError::io(&tmp, source))
        .and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|source| CaptureError::io(path, source))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A new file that appears only whole: bytes go to `NAME.partial` (private to the user), and
/// [`NewFile::commit`] syncs it and gives it its name, never over an existing file. Dropped
/// without a commit (a write failed, a full disk), the partial file is removed: the name
/// holds a whole file or nothing. For exports and other outputs the operator names.
#[derive(Debug)]
pub struct NewFile {
    out: std::io::BufWriter<File>,
    partial: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl NewFile {
    /// Starts `path`, which must not exist.
    pub fn create(path: &Path) -> Result<Self, CaptureError> {
        if path.symlink_metadata().is_ok() {
            return Err(CaptureError::io(
                path,
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        let partial = beside(path, ".partial");
        let _ = std::fs::remove_file(&partial);
        Ok(Self {
            out: std::io::BufWriter::new(create_private_file(&partial)?),
            partial,
            path: path.to_owned(),
            committed: false,
        })
    }

    /// Syncs the file and gives it its name.
    pub fn commit(mut self) -> Result<(), CaptureError> {
        use std::io::Write;
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().sync_all())
            .map_err(|source| CaptureError::io(&self.partial, source))?;
        // A hard link never replaces a file; where links are not supported (FAT), rename
        // after looking.
        match std::fs::hard_link(&self.partial, &self.path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&self.partial);
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(CaptureError::io(&self.path, error));
            }
            Err(_) => {
                if self.path.symlink_metadata().is_ok() {
                    return Err(CaptureError::io(
                        &self.path,
                        std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                    ));
                }
                std::fs::rename(&self.partial, &self.path)
                    .map_err(|source| CaptureError::io(&self.path, source))?;
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl std::io::Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// A folder name for a flight starting at `time`, e.g. `2026-11-25_15-30-00Z` (UTC).
pub fn flight_folder_name(time: SystemTime) -> String {
    // RFC 3339 "2026-11-25T15:30:00Z" → "2026-11-25_15-30-00Z": sortable and valid everywhere.
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace('T', "_")
        .replace(':', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_private_copy_does_not_keep_the_sources_mode() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("theirs.tlog");
        std::fs::write(&source, b"bytes of another ground station").unwrap();
        std::fs::set_permissions(&source, std::fs::Permissions::from_mode(0o644)).unwrap();
        let to = dir.path().join("ours.tlog");
        assert_eq!(copy_private(&source, &to).unwrap(), 31);
        assert_eq!(std::fs::read(&to).unwrap(), std::fs::read(&source).unwrap());
        assert_eq!(mode(&to), 0o600);
        // Never over an existing file.
        assert!(copy_private(&source, &to).is_err());
        assert_eq!(std::fs::read(&to).unwrap().len(), 31);
    }
}
