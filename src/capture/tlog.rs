//! The `.tlog` file: the de-facto telemetry log of MAVLink ground stations.
//!
//! No formal spec exists; every reader (pymavlink, Mission Planner, QGroundControl) agrees on
//! this: no file header, then records of an 8-byte big-endian µs-since-epoch timestamp followed
//! by one complete frame exactly as on the wire. This module writes such files and splits them
//! back into records; judging frames is left to the caller's frame prober, passed in.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::{create_private_file, CaptureError};

/// Length of a record's timestamp.
pub const TIMESTAMP_LEN: usize = 8;

/// Appends records to a `.tlog`. Buffered: call [`TlogWriter::flush`] often.
#[derive(Debug)]
pub struct TlogWriter {
    file: BufWriter<File>,
    records: u64,
    bytes_written: u64,
}

impl TlogWriter {
    pub fn create(path: &Path) -> Result<Self, CaptureError> {
        Ok(Self {
            file: BufWriter::new(create_private_file(path)?),
            records: 0,
            bytes_written: 0,
        })
    }

    /// Writes one record: the timestamp, then the frame bytes.
    pub fn append(&mut self, wall_us: u64, frame: &[u8]) -> std::io::Result<()> {
        self.file.write_all(&wall_us.to_be_bytes())?;
        self.file.write_all(frame)?;
        self.records += 1;
        self.bytes_written += (TIMESTAMP_LEN + frame.len()) as u64;
        Ok(())
    }

    /// Hands buffered records to the OS.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    /// Flushes, then forces the file to the disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }
}

/// Reads the big-endian timestamp at `offset`, if eight bytes are there.
pub fn timestamp_at(buf: &[u8], offset: usize) -> Option<u64> {
    let bytes = buf.get(offset..offset + TIMESTAMP_LEN)?;
    let mut be = [0u8; TIMESTAMP_LEN];
    be.copy_from_slice(bytes);
    Some(u64::from_be_bytes(be))
}
