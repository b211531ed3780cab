//! The raw capture: every byte that crossed the link, in both directions, in arrival order.
//!
//! Format (spec in `docs/raw-capture-format.md`): a 16-byte file header, then records of
//! `28 + N` bytes, each a 24-byte little-endian header, `N` bytes of data and a CRC-32 over
//! header and data. One record is written with one `write` call, so a crash can only leave a
//! torn record at the very end, which the reader reports and skips. This module never parses
//! MAVLink.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::{create_private_file, rewind_to, CaptureError, Timestamp};

/// First bytes of every raw capture file.
pub const MAGIC: [u8; 8] = *b"AIRLOCK\0";
/// Version of the format this code writes.
pub const FORMAT_VERSION: u16 = 1;
/// Length of the file header.
pub const FILE_HEADER_LEN: usize = 16;
/// Length of a record header (before the data).
pub const RECORD_HEADER_LEN: usize = 24;
/// Length of a record's trailing CRC.
pub const RECORD_CRC_LEN: usize = 4;
/// Largest data length a record may have; anything larger is corruption.
pub const MAX_RECORD_DATA: usize = 1 << 20;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum RecordKind {
    /// Bytes received from the vehicle side.
    Rx = 0,
    /// Bytes sent to the vehicle side.
    Tx = 1,
    /// A link event (opened, lost, baud chosen...), as a UTF-8 JSON object.
    Event = 2,
}

impl RecordKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Rx),
            1 => Some(Self::Tx),
            2 => Some(Self::Event),
            _ => None,
        }
    }
}

/// One record as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub kind: RecordKind,
    pub link: u8,
    pub time: Timestamp,
    pub data: &'a [u8],
    /// Offset of the record in the file.
    pub offset: u64,
}

fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut header = [0u8; FILE_HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[10..12].copy_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
    header
}

/// Encodes one record into `out` (cleared first).
pub fn encode_record(kind: RecordKind, link: u8, time: Timestamp, data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(RECORD_HEADER_LEN + data.len() + RECORD_CRC_LEN);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.push(kind as u8);
    out.push(link);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&time.wall_us.to_le_bytes());
    out.extend_from_slice(&time.mono_us.to_le_bytes());
    out.extend_from_slice(data);
    let crc = crc32fast::hash(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Appends records to a raw capture file. Every record reaches the OS at once.
#[derive(Debug)]
pub struct RawWriter {
    file: File,
    scratch: Vec<u8>,
    bytes_written: u64,
}

impl RawWriter {
    /// Creates a new capture file (it must not exist), private to the user.
    pub fn create(path: &Path) -> Result<Self, CaptureError> {
        let mut file = create_private_file(path)?;
        // Held while recording: readers use it to tell a live flight from an orphaned one.
        file.try_lock()
            .map_err(|error| CaptureError::io(path, std::io::Error::other(error.to_string())))?;
        file.write_all(&file_header())
            .map_err(|source| CaptureError::io(path, source))?;
        Ok(Self {
            file,
            scratch: Vec::new(),
            bytes_written: FILE_HEADER_LEN as u64,
        })
    }

    /// Appends one record with one `write` call. A write that fails (a full disk) takes back
    /// what it wrote of the record, so the file ends on a whole record.
    pub fn append(
        &mut self,
        kind: RecordKind,
        link: u8,
        time: Timestamp,
        data: &[u8],
    ) -> std::io::Result<()> {
        for piece in data.chunks(MAX_RECORD_DATA) {
            encode_record(kind, link, time, piece, &mut self.scratch);
            if let Err(error) = self.file.write_all(&self.scratch) {
                // Best effort: a torn record left here is skipped by readers.
                let _ = rewind_to(&mut self.file, self.bytes_written);
                return Err(error);
            }
            self.bytes_written += self.scratch.len() as u64;
        }
        Ok(())
    }

    /// Forces written records to the disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Size of the file so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }
}

/// Damage found while reading a capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Damage {
    /// Bytes at the end that do not form a whole record (a crash mid-write).
    pub truncated_tail_bytes: u64,
    /// Bytes skipped in the middle because they failed their CRC or made no sense.
    pub corrupt_bytes: u64,
}

impl Damage {
    pub fn is_clean(&self) -> bool {
        *self == Self::default()
    }
}

/// Checks the file header of a capture held in `buf`.
pub fn check_header(buf: &[u8]) -> Result<(), CaptureError> {
    if buf.len() < FILE_HEADER_LEN || buf[..8] != MAGIC {
        return Err(CaptureError::NotACapture);
    }
    let version = u16::from_le_bytes([buf[8], buf[9]]);
    if version != FORMAT_VERSION {
        return Err(CaptureError::UnsupportedVersion(version));
    }
    Ok(())
}

enum RecordAt<'a> {
    Whole(RawRecord<'a>, usize),
    Truncated,
    Bad,
}

fn record_at(buf: &[u8], offset: usize) -> RecordAt<'_> {
    let rest = &buf[offset..];
    if rest.len() < RECORD_HEADER_LEN {
        return RecordAt::Truncated;
    }
    let data_len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let Some(kind) = RecordKind::from_byte(rest[4]) else {
        return RecordAt::Bad;
    };
    if data_len > MAX_RECORD_DATA {
        return RecordAt::Bad;
    }
    let total = RECORD_HEADER_LEN + data_len + RECORD_CRC_LEN;
    if rest.len() < total {
        return RecordAt::Truncated;
    }
    let body = &rest[..RECORD_HEADER_LEN + data_len];
    let stored_crc = u32::from_le_bytes([
        rest[total - 4],
        rest[total - 3],
        rest[total - 2],
        rest[total - 1],
    ]);
    if crc32fast::hash(body) != stored_crc {
        return RecordAt::Bad;
    }
    let u64_at = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&rest[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    RecordAt::Whole(
        RawRecord {
            kind,
            link: rest[5],
            time: Timestamp {
                wall_us: u64_at(8),
                mono_us: u64_at(16),
            },
            data: &body[RECORD_HEADER_LEN..],
            offset: offset as u64,
        },
        total,
    )
}

/// Iterates over the records of a capture held in memory (usually a memory map).
///
/// Damaged regions are skipped and counted in [`RecordIter::damage`]: a torn last record, or
/// corrupt bytes in the middle after which reading resumes at the next record whose CRC holds.
#[derive(Debug)]
pub struct RecordIter<'a> {
    buf: &'a [u8],
    offset: usize,
    damage: Damage,
}

impl<'a> RecordIter<'a> {
    /// Starts reading after the file header; the header must have been checked.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            offset: FILE_HEADER_LEN.min(buf.len()),
            damage: Damage::default(),
        }
    }

    pub fn damage(&self) -> Damage {
        self.damage
    }

    /// Finds the next offset after `from` where a whole, CRC-checked record starts.
    fn resync(&self, from: usize) -> Option<usize> {
        (from..self.buf.len()).find(|&at| matches!(record_at(self.buf, at), RecordAt::Whole(..)))
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = RawRecord<'a>;

    fn next(&mut self) -> Option<RawRecord<'a>> {
        loop {
            if self.offset >= self.buf.len() {
                return None;
            }
            match record_at(self.buf, self.offset) {
                RecordAt::Whole(record, len) => {
                    self.offset += len;
                    return Some(record);
                }
                RecordAt::Truncated | RecordAt::Bad => match self.resync(self.offset + 1) {
                    Some(next) => {
                        self.damage.corrupt_bytes += (next - self.offset) as u64;
                        self.offset = next;
                    }
                    None => {
                        self.damage.truncated_tail_bytes += (self.buf.len() - self.offset) as u64;
                        self.offset = self.buf.len();
                        return None;
                    }
                },
            }
        }
    }
}
