//! The flight index: for every message type, the time and file offset of each of its frames,
//! built once per tlog and kept beside it (or in the data folder when that is read-only), so
//! that seeking by time and plotting a whole flight never rescan the file.
//!
//! Layout (little-endian): magic `AIRLOCKI`, u32 version, u64 length and u64 modification time
//! (ns) of the indexed file, u32 stream count; per stream: u32 message id, u64 entry count,
//! then the entries as (u64 time µs, u64 offset of the tlog record).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::tlog::{TlogItem, TlogReader};

const MAGIC: &[u8; 8] = b"AIRLOCKI";
const VERSION: u32 = 1;

/// One frame in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub time_us: u64,
    pub offset: u64,
}

/// Where each message type's frames are in a tlog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlightIndex {
    pub file_len: u64,
    pub file_mtime_ns: u64,
    pub streams: BTreeMap<u32, Vec<IndexEntry>>,
}

fn file_stamp(path: &Path) -> std::io::Result<(u64, u64)> {
    let metadata = std::fs::metadata(path)?;
    let mtime_ns = metadata
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Ok((metadata.len(), mtime_ns))
}

impl FlightIndex {
    /// Builds the index of a tlog held in `bytes`.
    pub fn build(bytes: &[u8]) -> Self {
        let mut streams: BTreeMap<u32, Vec<IndexEntry>> = BTreeMap::new();
        for item in TlogReader::new(bytes) {
            if let TlogItem::Frame {
                time_us,
                header,
                known: true,
                offset,
                ..
            } = item
            {
                streams
                    .entry(header.message_id)
                    .or_default()
                    .push(IndexEntry {
                        time_us,
                        offset: offset as u64,
                    });
            }
        }
        Self {
            file_len: bytes.len() as u64,
            file_mtime_ns: 0,
            streams,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let entries: usize = self.streams.values().map(Vec::len).sum();
        let mut out = Vec::with_capacity(32 + self.streams.len() * 12 + entries * 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.file_len.to_le_bytes());
        out.extend_from_slice(&self.file_mtime_ns.to_le_bytes());
        out.extend_from_slice(&(self.streams.len() as u32).to_le_bytes());
        for (id, list) in &self.streams {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&(list.len() as u64).to_le_bytes());
            for entry in list {
                out.extend_from_slice(&entry.time_us.to_le_bytes());
                out.extend_from_slice(&entry.offset.to_le_bytes());
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let slice = bytes.get(at..at + n)?;
            at += n;
            Some(slice)
        };
        if take(8)? != MAGIC {
            return None;
        }
        let u32_of = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let u64_of = |b: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        };
        if u32_of(take(4)?) != VERSION {
            return None;
        }
        let file_len = u64_of(take(8)?);
        let file_mtime_ns = u64_of(take(8)?);
        let count = u32_of(take(4)?);
        let mut streams = BTreeMap::new();
        for _ in 0..count {
            let id = u32_of(take(4)?);
            let n = usize::try_from(u64_of(take(8)?)).ok()?;
            let raw = take(n.checked_mul(16)?)?;
            let list = raw
                .chunks_exact(16)
                .map(|e| IndexEntry {
                    time_us: u64_of(&e[..8]),
                    offset: u64_of(&e[8..]),
                })
                .collect();
            streams.insert(id, list);
        }
        Some(Self {
            file_len,
            file_mtime_ns,
            streams,
        })
    }

    /// Where the index of `file` is kept: beside it, or under `fallback_dir` when the folder
    /// cannot be written.
    pub fn path_for(file: &Path, fallback_dir: Option<&Path>) -> Vec<PathBuf> {
        let mut candidates = vec![file.with_extension("tlog.alidx")];
        if let Some(dir) = fallback_dir {
            let name = file.to_string_lossy().replace(['/', '\\'], "_");
            candidates.push(dir.join(format!("{name}.alidx")));
        }
        candidates
    }

    /// Loads a fresh index of `file`, or builds it from `bytes` and stores it; the bool says
    /// whether it was built now.
    pub fn open_or_build(file: &Path, bytes: &[u8], fallback_dir: Option<&Path>) -> (Self, bool) {
        let stamp = file_stamp(file).ok();
        let candidates = Self::path_for(file, fallback_dir);
        for candidate in &candidates {
            if let Some(index) = std::fs::read(candidate).ok().and_then(|b| Self::decode(&b)) {
                if Some((index.file_len, index.file_mtime_ns)) == stamp {
                    return (index, false);
                }
            }
        }
        let mut index = Self::build(bytes);
        if let Some((len, mtime)) = stamp {
            index.file_len = len;
            index.file_mtime_ns = mtime;
        }
        let encoded = index.encode();
        for candidate in &candidates {
            if let Some(dir) = candidate.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let written = std::fs::File::create(candidate).and_then(|mut f| f.write_all(&encoded));
            if written.is_ok() {
                break;
            }
        }
        (index, true)
    }

    /// The last frame of each type at or before `time_us`, in time order.
    pub fn latest_before(&self, time_us: u64) -> Vec<(u32, IndexEntry)> {
        let mut latest: Vec<(u32, IndexEntry)> = self
            .streams
            .iter()
            .filter_map(|(&id, list)| {
                let count = list.partition_point(|e| e.time_us <= time_us);
                count.checked_sub(1).map(|last| (id, list[last]))
            })
            .collect();
        latest.sort_by_key(|(_, e)| (e.time_us, e.offset));
        latest
    }

    /// The frames of one type in `[from_us, to_us]`.
    pub fn range(&self, message_id: u32, from_us: u64, to_us: u64) -> &[IndexEntry] {
        let Some(list) = self.streams.get(&message_id) else {
            return &[];
        };
        let start = list.partition_point(|e| e.time_us < from_us);
        let end = list.partition_point(|e| e.time_us <= to_us);
        &list[start..end.max(start)]
    }
}

/// The frame of the tlog record at `offset`: its time, header and bytes.
pub fn frame_at(bytes: &[u8], offset: u64) -> Option<(u64, crate::protocol::FrameHeader, &[u8])> {
    let offset = usize::try_from(offset).ok()?;
    let time_us = crate::capture::tlog::timestamp_at(bytes, offset)?;
    let frame = bytes.get(offset + 8..)?;
    match crate::protocol::frame::probe(frame) {
        crate::protocol::Probe::Valid(header) => {
            Some((time_us, header, &frame[..header.frame_len]))
        }
        _ => None,
    }
}

/// Spacing of the track points rebuilt when seeking.
const SEEK_TRACK_STEP_US: u64 = 1_000_000;

/// The vehicle state at `time_us`, from the index: the last frame of every message type before
/// it (heartbeats first, so the followed vehicle is known), every text message, and the track
/// at one point a second. Never reads more than those frames.
pub fn state_at(bytes: &[u8], index: &FlightIndex, time_us: u64) -> crate::vehicle::VehicleState {
    const HEARTBEAT: u32 = 0;
    const STATUSTEXT: u32 = 253;
    const GLOBAL_POSITION_INT: u32 = 33;
    let mut entries: Vec<IndexEntry> = index.range(STATUSTEXT, 0, time_us).to_vec();
    let mut next_track_us = 0;
    for entry in index.range(GLOBAL_POSITION_INT, 0, time_us) {
        if entry.time_us >= next_track_us {
            entries.push(*entry);
            next_track_us = entry.time_us + SEEK_TRACK_STEP_US;
        }
    }
    let latest = index.latest_before(time_us);
    entries.extend(
        latest
            .iter()
            .filter(|(id, _)| *id != HEARTBEAT)
            .map(|(_, e)| *e),
    );
    entries.sort_by_key(|e| (e.time_us, e.offset));
    entries.dedup();
    let heartbeats = latest
        .iter()
        .filter(|(id, _)| *id == HEARTBEAT)
        .map(|(_, e)| *e);
    let mut state = crate::vehicle::VehicleState::new();
    for entry in heartbeats.chain(entries) {
        if let Some((time, header, frame)) = frame_at(bytes, entry.offset) {
            if let Ok(message) = crate::protocol::decode(&header, frame) {
                state.apply(time, time, &header, &message);
            }
        }
    }
    state
}
