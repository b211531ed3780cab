//! The `.tlog` file: the de-facto telemetry log of MAVLink ground stations.
//!
//! No formal spec exists; every reader (pymavlink, Mission Planner, QGroundControl) agrees on
//! this: no file header, then records of an 8-byte big-endian µs-since-epoch timestamp followed
//! by one complete frame exactly as on the wire. This module writes such files and splits them
//! back into records; judging frames is left to the caller's frame prober, passed in.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::{create_private_file, rewind_to, CaptureError};

/// Length of a record's timestamp.
pub const TIMESTAMP_LEN: usize = 8;
/// Buffered bytes past which an append hands them to the OS at once.
const FLUSH_AT: usize = 64 * 1024;

/// Appends records to a `.tlog`. Buffered: call [`TlogWriter::flush`] often.
///
/// A flush that fails (a full disk) takes back what it wrote of the buffer, so the file only
/// ever holds whole records, and keeps the buffer for the next flush.
#[derive(Debug)]
pub struct TlogWriter {
    file: File,
    pending: Vec<u8>,
    /// Length of the file up to its last whole record.
    good_len: u64,
    records: u64,
}

impl TlogWriter {
    pub fn create(path: &Path) -> Result<Self, CaptureError> {
        Ok(Self {
            file: create_private_file(path)?,
            pending: Vec::with_capacity(FLUSH_AT),
            good_len: 0,
            records: 0,
        })
    }

    /// Adds one record (the timestamp, then the frame bytes) to the buffer; hands the buffer to
    /// the OS when it is large.
    pub fn append(&mut self, wall_us: u64, frame: &[u8]) -> std::io::Result<()> {
        self.pending.extend_from_slice(&wall_us.to_be_bytes());
        self.pending.extend_from_slice(frame);
        self.records += 1;
        if self.pending.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands buffered records to the OS.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        match self.file.write_all(&self.pending) {
            Ok(()) => {
                self.good_len += self.pending.len() as u64;
                self.pending.clear();
                Ok(())
            }
            Err(error) => {
                // Best effort: a torn record left here is skipped by readers.
                let _ = rewind_to(&mut self.file, self.good_len);
                Err(error)
            }
        }
    }

    /// Flushes, then forces the file to the disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.flush()?;
        self.file.sync_data()
    }

    /// Records appended (written or still buffered).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes appended (written or still buffered).
    pub fn bytes_written(&self) -> u64 {
        self.good_len + self.pending.len() as u64
    }
}

/// Reads the big-endian timestamp at `offset`, if eight bytes are there.
pub fn timestamp_at(buf: &[u8], offset: usize) -> Option<u64> {
    let bytes = buf.get(offset..offset + TIMESTAMP_LEN)?;
    let mut be = [0u8; TIMESTAMP_LEN];
    be.copy_from_slice(bytes);
    Some(u64::from_be_bytes(be))
}
