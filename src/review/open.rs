//! Opening a stored flight: a flight folder, its raw capture, or a `.tlog` from anywhere.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::ReviewError;
use crate::capture::{raw, RAW_FILE, TLOG_FILE};

/// What kind of file holds the flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredKind {
    /// Airlock's raw capture (every byte, with directions).
    RawCapture,
    /// A `.tlog` (valid frames with timestamps, direction unknown).
    Tlog,
}

/// A stored flight mapped into memory.
pub struct Opened {
    pub kind: StoredKind,
    /// The flight folder, when the file is part of one.
    pub flight_dir: Option<PathBuf>,
    /// The file that was mapped.
    pub file: PathBuf,
    map: Option<Mmap>,
}

impl Opened {
    /// Whether there is something to review: a tlog must hold at least one frame (a raw
    /// capture may be empty: its recorder may have just started).
    pub fn check_frames(&self) -> Result<(), ReviewError> {
        if self.kind == StoredKind::Tlog
            && !super::tlog::TlogReader::new(self.bytes())
                .any(|item| matches!(item, super::tlog::TlogItem::Frame { .. }))
        {
            return Err(ReviewError::NoFrames {
                path: self.file.clone(),
            });
        }
        Ok(())
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// Drops this process's copies of the file's pages before `upto` (a long scan calls it
    /// behind itself so that its memory stays small; the pages are read again if needed).
    pub fn release(&self, upto: usize) {
        let Some(map) = &self.map else { return };
        let len = upto.min(map.len()) / RELEASE_ALIGN * RELEASE_ALIGN;
        if len == 0 {
            return;
        }
        // SAFETY: the mapping is a read-only shared mapping of a file: after MADV_DONTNEED
        // the next read faults the same bytes in again from the page cache, so nothing that
        // borrows the map can see different data.
        let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, len) };
    }
}

/// Bytes a long read moves on between two reports and page releases.
pub const SCAN_STEP: usize = 8 * 1024 * 1024;

/// Paces a long read over a file: due once every [`SCAN_STEP`] bytes it moves on. Index builds,
/// exports, plot reads and replay all report progress and let pages go by it.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    next: usize,
}

impl Pace {
    /// A read starting at `from`.
    pub fn from(from: usize) -> Self {
        Self {
            next: from.saturating_add(SCAN_STEP),
        }
    }

    /// Whether the read, now at `at`, is a step past the last time it was due.
    pub fn due(&mut self, at: usize) -> bool {
        let due = at >= self.next;
        if due {
            self.next = at.saturating_add(SCAN_STEP);
        }
        due
    }
}

/// Hands memory the allocator holds but no longer uses back to the OS (after loading an index
/// or seeking, whose temporaries would otherwise stay in the process's resident set).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Page-size multiple used for releasing mapped pages (valid for 4 KiB and 16 KiB pages).
const RELEASE_ALIGN: usize = 64 * 1024;

fn map_file(path: &Path) -> Result<Option<Mmap>, ReviewError> {
    let io = |source| ReviewError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: flight files are only ever appended to, never shrunk or rewritten in place, so
    // the mapped bytes stay valid while we read them.
    let map = unsafe { Mmap::map(&file) }.map_err(io)?;
    Ok(Some(map))
}

/// Opens `path`: a flight folder (its raw capture, else its tlog), a raw capture file, or a tlog.
pub fn open(path: &Path) -> Result<Opened, ReviewError> {
    if path.is_dir() {
        let raw_path = path.join(RAW_FILE);
        let tlog_path = path.join(TLOG_FILE);
        let (file, kind) = if raw_path.is_file() {
            (raw_path, StoredKind::RawCapture)
        } else if tlog_path.is_file() {
            (tlog_path, StoredKind::Tlog)
        } else {
            return Err(ReviewError::NotAFlight {
                path: path.to_owned(),
            });
        };
        let map = map_file(&file)?;
        if kind == StoredKind::RawCapture {
            raw::check_header(map.as_deref().unwrap_or(&[]))?;
        }
        return Ok(Opened {
            kind,
            flight_dir: Some(path.to_owned()),
            file,
            map,
        });
    }
    let map = map_file(path)?;
    let bytes = map.as_deref().unwrap_or(&[]);
    let kind = if bytes.starts_with(&raw::MAGIC) {
        raw::check_header(bytes)?;
        StoredKind::RawCapture
    } else {
        StoredKind::Tlog
    };
    let flight_dir = (kind == StoredKind::RawCapture)
        .then(|| path.parent().map(Path::to_owned))
        .flatten();
    Ok(Opened {
        kind,
        flight_dir,
        file: path.to_owned(),
        map,
    })
}
