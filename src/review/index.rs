//! The flight index: built once per tlog in one pass and kept beside it (or in the data folder
//! when that is read-only), so that opening, seeking by time and plotting a whole flight never
//! rescan the file, and its size does not grow with the file's.
//!
//! It holds
//! - **checkpoints** every [`CHECKPOINT_BYTES`] of file: the offset, the latest time before it,
//!   and the offset of the latest frame of every stream before it. The state at any time is
//!   those frames plus the frames from the checkpoint on: a bounded read.
//! - the **texts**, the **markers** (arming, mode changes, warnings) and a **track** at one point
//!   a second, decoded: small, and what the timeline and the map show at once.
//! - per stream (system, component, message), its count and a **min/max overview** of every
//!   numeric field in [`OVERVIEW_BUCKETS`] time buckets over the whole flight: a ten-hour
//!   flight's plot is drawn from it without reading the log.
//!
//! The file is `postcard`-encoded [`FlightIndex`] after the magic `AIRLOCKI`; an index of a
//! different format, or of a file whose length or modification time changed, is rebuilt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::tlog::{TlogItem, TlogReader};
use crate::protocol::{self, leaves, FrameHeader, MavMessage};
use crate::vehicle::VehicleState;

const MAGIC: &[u8; 8] = b"AIRLOCKI";
/// The index format; another one is rebuilt.
pub const FORMAT: u32 = 4;
/// File bytes between two checkpoints: the most a seek reads beyond the kept frames.
pub const CHECKPOINT_BYTES: u64 = 256 * 1024;
/// Time buckets of the whole-flight overview (more than a screen has pixel columns to spare).
pub const OVERVIEW_BUCKETS: usize = 1024;
/// Leaves of a message kept in the overview (long byte arrays are not worth plotting).
const MAX_OVERVIEW_LEAVES: usize = 64;
/// The first overview bucket width, doubled as the flight goes on.
const FIRST_BUCKET_US: u64 = 10_000;
/// Spacing of the kept track points.
const TRACK_STEP_US: u64 = 1_000_000;

const HEARTBEAT: u32 = 0;
const STATUSTEXT: u32 = 253;

/// A message stream: who sent it and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamKey {
    pub system_id: u8,
    pub component_id: u8,
    pub message_id: u32,
}

impl StreamKey {
    pub fn of(header: &FrameHeader) -> Self {
        Self {
            system_id: header.system_id,
            component_id: header.component_id,
            message_id: header.message_id,
        }
    }
}

/// A frame in the log: its time and the offset of its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub time_us: u64,
    pub offset: u64,
}

/// A place to start reading from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Offset of the first record after the checkpoint.
    pub offset: u64,
    /// The latest time of any frame before it.
    pub max_time_us: u64,
    /// The latest frame of each stream before it (record offsets).
    pub latest: Vec<(StreamKey, u64)>,
}

/// What a timeline marker marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarkerKind {
    Armed,
    Disarmed,
    Mode,
    /// A text of severity warning or worse.
    Warning,
}

/// A moment worth a mark on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub time_us: u64,
    pub kind: MarkerKind,
    pub text: String,
}

/// A vehicle text, decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedText {
    pub time_us: u64,
    /// The record that completed the text.
    pub offset: u64,
    pub component_id: u8,
    /// MAV_SEVERITY (0 emergency … 7 debug).
    pub severity: u8,
    pub text: String,
}

/// A point of the kept track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IndexedPoint {
    pub time_us: u64,
    pub offset: u64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_msl_m: f64,
    pub alt_rel_m: f64,
}

/// One stream's count and the overview of its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamIndex {
    pub key: StreamKey,
    pub count: u64,
    /// Field names, in the order of [`crate::protocol::fields::fields`].
    pub fields: Vec<String>,
    /// Per field, per bucket: the smallest and largest value (NaN where the bucket is empty).
    pub low: Vec<Vec<f32>>,
    pub high: Vec<Vec<f32>>,
    /// Frames per bucket (the stream's rate over time).
    pub counts: Vec<u32>,
}

impl StreamIndex {
    fn new(key: StreamKey, message: &MavMessage, buckets: usize) -> Self {
        let mut fields: Vec<String> = protocol::fields::fields(message)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        fields.truncate(MAX_OVERVIEW_LEAVES);
        let empty = vec![f32::NAN; buckets];
        Self {
            key,
            count: 0,
            low: vec![empty.clone(); fields.len()],
            high: vec![empty; fields.len()],
            counts: vec![0; buckets],
            fields,
        }
    }

    /// The position of a field by name.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name)
    }
}

/// Everything the review needs to know about a tlog without reading it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlightIndex {
    pub format: u32,
    pub file_len: u64,
    pub file_mtime_ns: u64,
    /// Time of the first and the latest frame.
    pub start_us: u64,
    pub end_us: u64,
    pub frames: u64,
    pub crc_errors: u64,
    pub skipped_bytes: u64,
    pub truncated_tail_bytes: u64,
    pub checkpoints: Vec<Checkpoint>,
    pub texts: Vec<IndexedText>,
    pub markers: Vec<Marker>,
    pub track: Vec<IndexedPoint>,
    pub streams: Vec<StreamIndex>,
    /// Width of an overview bucket; bucket `i` starts at `start_us + i × bucket_us`.
    pub bucket_us: u64,
    /// The mission, fence and rally points the vehicle held, from each transfer in the log.
    pub missions: Vec<crate::mission::watch::Snapshot>,
}

/// The file's length and modification time: an index of other values is stale.
fn file_stamp(path: &Path) -> std::io::Result<(u64, u64)> {
    let metadata = std::fs::metadata(path)?;
    let mtime_ns = metadata
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Ok((metadata.len(), mtime_ns))
}

/// Builds an index in one pass.
struct Builder {
    index: FlightIndex,
    latest: HashMap<StreamKey, u64>,
    streams: HashMap<StreamKey, usize>,
    next_checkpoint: u64,
    next_track_us: u64,
    /// HEARTBEAT and STATUSTEXT applied in order, for the markers.
    state: VehicleState,
    texts_seen: u64,
    missions: crate::mission::watch::MissionWatch,
}

impl Builder {
    fn new() -> Self {
        Self {
            index: FlightIndex {
                format: FORMAT,
                file_len: 0,
                file_mtime_ns: 0,
                start_us: 0,
                end_us: 0,
                frames: 0,
                crc_errors: 0,
                skipped_bytes: 0,
                truncated_tail_bytes: 0,
                checkpoints: Vec::new(),
                texts: Vec::new(),
                markers: Vec::new(),
                track: Vec::new(),
                streams: Vec::new(),
                bucket_us: FIRST_BUCKET_US,
                missions: Vec::new(),
            },
            latest: HashMap::new(),
            streams: HashMap::new(),
            next_checkpoint: 0,
            next_track_us: 0,
            state: VehicleState::new(),
            texts_seen: 0,
            missions: Default::default(),
        }
    }

    fn checkpoint(&mut self, offset: u64) {
        let mut latest: Vec<(StreamKey, u64)> = self.latest.iter().map(|(k, v)| (*k, *v)).collect();
        latest.sort_unstable();
        self.index.checkpoints.push(Checkpoint {
            offset,
            max_time_us: self.index.end_us,
            latest,
        });
    }

    /// Halves the overview's resolution: bucket pairs merge, the width doubles.
    fn coarsen(&mut self) {
        for stream in &mut self.index.streams {
            let counts = &mut stream.counts;
            for i in 0..OVERVIEW_BUCKETS / 2 {
                counts[i] = counts[2 * i].saturating_add(counts[2 * i + 1]);
            }
            counts[OVERVIEW_BUCKETS / 2..].fill(0);
            for (lows, highs) in stream.low.iter_mut().zip(&mut stream.high) {
                for i in 0..OVERVIEW_BUCKETS / 2 {
                    lows[i] = lows[2 * i].min(lows[2 * i + 1]);
                    highs[i] = highs[2 * i].max(highs[2 * i + 1]);
                }
                lows[OVERVIEW_BUCKETS / 2..].fill(f32::NAN);
                highs[OVERVIEW_BUCKETS / 2..].fill(f32::NAN);
            }
        }
        self.index.bucket_us *= 2;
    }

    fn frame(&mut self, time_us: u64, header: &FrameHeader, bytes: &[u8], offset: u64) {
        if offset >= self.next_checkpoint {
            self.checkpoint(offset);
            self.next_checkpoint = offset + CHECKPOINT_BYTES;
        }
        let index = &mut self.index;
        if index.frames == 0 {
            index.start_us = time_us;
        }
        index.frames += 1;
        index.end_us = index.end_us.max(time_us);
        let key = StreamKey::of(header);
        self.latest.insert(key, offset);
        let Ok(message) = protocol::decode(header, bytes) else {
            return;
        };
        if let Some(snapshot) = self.missions.observe(time_us, header, &message) {
            self.index.missions.push(snapshot);
        }
        let elapsed = time_us.saturating_sub(self.index.start_us);
        while elapsed / self.index.bucket_us >= OVERVIEW_BUCKETS as u64 {
            self.coarsen();
        }
        let bucket = (elapsed / self.index.bucket_us) as usize;
        let slot = *self.streams.entry(key).or_insert_with(|| {
            self.index
                .streams
                .push(StreamIndex::new(key, &message, OVERVIEW_BUCKETS));
            self.index.streams.len() - 1
        });
        let stream = &mut self.index.streams[slot];
        stream.count += 1;
        stream.counts[bucket] = stream.counts[bucket].saturating_add(1);
        leaves::visit_numbers(&message, &mut |leaf, value| {
            let value = value as f32;
            if leaf < stream.low.len() && !value.is_nan() {
                let low = &mut stream.low[leaf][bucket];
                if low.is_nan() || value < *low {
                    *low = value;
                }
                let high = &mut stream.high[leaf][bucket];
                if high.is_nan() || value > *high {
                    *high = value;
                }
            }
        });
        match &message {
            MavMessage::HEARTBEAT(_) | MavMessage::STATUSTEXT(_) => {
                self.follow(time_us, header, &message, offset)
            }
            MavMessage::GLOBAL_POSITION_INT(pos) => {
                let followed = self.state.system_id.is_none_or(|id| id == header.system_id);
                if followed && time_us >= self.next_track_us && (pos.lat != 0 || pos.lon != 0) {
                    self.index.track.push(IndexedPoint {
                        time_us,
                        offset,
                        lat_deg: f64::from(pos.lat) * 1e-7,
                        lon_deg: f64::from(pos.lon) * 1e-7,
                        alt_msl_m: f64::from(pos.alt) * 1e-3,
                        alt_rel_m: f64::from(pos.relative_alt) * 1e-3,
                    });
                    self.next_track_us = time_us + TRACK_STEP_US;
                }
            }
            _ => {}
        }
    }

    /// Heartbeats and texts: the markers come from the same reducer as the live view.
    fn follow(&mut self, time_us: u64, header: &FrameHeader, message: &MavMessage, offset: u64) {
        let before = self.state.status.clone();
        self.state.apply(time_us, time_us, header, message);
        let markers = &mut self.index.markers;
        if let Some(status) = &self.state.status {
            let was_armed = before.as_ref().is_some_and(|s| s.armed);
            if status.armed != was_armed && (before.is_some() || status.armed) {
                markers.push(Marker {
                    time_us,
                    kind: if status.armed {
                        MarkerKind::Armed
                    } else {
                        MarkerKind::Disarmed
                    },
                    text: if status.armed { "armed" } else { "disarmed" }.to_owned(),
                });
            }
            if before.as_ref().map(|s| &s.mode_name) != Some(&status.mode_name) {
                markers.push(Marker {
                    time_us,
                    kind: MarkerKind::Mode,
                    text: status.mode_name.clone(),
                });
            }
        }
        let total = self.state.status_log.total();
        if total > self.texts_seen {
            let new = (total - self.texts_seen) as usize;
            self.texts_seen = total;
            let messages = self.state.status_log.messages();
            let skip = messages.len().saturating_sub(new);
            for text in messages.skip(skip) {
                let severity = text.severity as u8;
                self.index.texts.push(IndexedText {
                    time_us: text.wall_us,
                    offset,
                    component_id: text.component_id,
                    severity,
                    text: text.text.clone(),
                });
                if severity <= 4 {
                    markers.push(Marker {
                        time_us: text.wall_us,
                        kind: MarkerKind::Warning,
                        text: text.text.clone(),
                    });
                }
            }
        }
    }
}

impl FlightIndex {
    /// Builds the index of a tlog held in `bytes`; `progress(done, total)` is called as the
    /// scan goes on, and `release(upto)` when the bytes before `upto` will not be read again
    /// (so a memory-mapped file's pages can be dropped).
    pub fn build_with(
        bytes: &[u8],
        progress: &mut dyn FnMut(u64, u64),
        release: &mut dyn FnMut(usize),
    ) -> Self {
        let mut builder = Builder::new();
        let mut reader = TlogReader::new(bytes);
        let mut pace = super::open::Pace::from(0);
        while let Some(item) = reader.next() {
            match item {
                TlogItem::Frame {
                    time_us,
                    header,
                    bytes: frame,
                    known: true,
                    offset,
                } => builder.frame(time_us, &header, frame, offset as u64),
                TlogItem::Frame { .. } => {}
                TlogItem::CrcError { .. } => builder.index.crc_errors += 1,
            }
            if pace.due(reader.position()) {
                progress(reader.position() as u64, bytes.len() as u64);
                release(reader.position());
            }
        }
        progress(bytes.len() as u64, bytes.len() as u64);
        release(bytes.len());
        let mut index = builder.index;
        index.skipped_bytes = reader.skipped_bytes;
        index.truncated_tail_bytes = reader.truncated_tail_bytes;
        index.file_len = bytes.len() as u64;
        index.streams.sort_by_key(|s| s.key);
        index
    }

    /// Builds the index of a tlog held in `bytes`.
    pub fn build(bytes: &[u8]) -> Self {
        Self::build_with(bytes, &mut |_, _| {}, &mut |_| {})
    }

    /// The index as kept on disk.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let mut out = MAGIC.to_vec();
        postcard::to_io(self, &mut out).ok()?;
        Some(out)
    }

    /// Reads an index as kept on disk; `None` when it is not one, is of another format, or
    /// does not hold together.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let body = bytes.strip_prefix(MAGIC)?;
        let index: Self = postcard::from_bytes(body).ok()?;
        (index.format == FORMAT && index.consistent()).then_some(index)
    }

    /// Whether a decoded index holds together (a damaged file that still decodes is rebuilt
    /// rather than trusted): the shapes the readers index into and the orders they search.
    fn consistent(&self) -> bool {
        let shapes = self.streams.iter().all(|s| {
            s.counts.len() == OVERVIEW_BUCKETS
                && s.low.len() == s.fields.len()
                && s.high.len() == s.fields.len()
                && s.low
                    .iter()
                    .chain(&s.high)
                    .all(|v| v.len() == OVERVIEW_BUCKETS)
        });
        let sorted = self.streams.windows(2).all(|w| w[0].key < w[1].key)
            && self
                .checkpoints
                .windows(2)
                .all(|w| w[0].offset < w[1].offset && w[0].max_time_us <= w[1].max_time_us)
            && self.track.windows(2).all(|w| w[0].time_us <= w[1].time_us);
        self.bucket_us > 0 && self.start_us <= self.end_us && shapes && sorted
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

    /// A fresh index of `file`, if one is kept.
    pub fn load(file: &Path, fallback_dir: Option<&Path>) -> Option<Self> {
        let stamp = file_stamp(file).ok()?;
        Self::path_for(file, fallback_dir)
            .iter()
            .find_map(|candidate| {
                let index = std::fs::read(candidate)
                    .ok()
                    .and_then(|b| Self::decode(&b))?;
                ((index.file_len, index.file_mtime_ns) == stamp).then_some(index)
            })
    }

    /// Keeps the index of `file` beside it, or in the fallback folder.
    pub fn store(&self, file: &Path, fallback_dir: Option<&Path>) -> std::io::Result<PathBuf> {
        let encoded = self
            .encode()
            .ok_or_else(|| std::io::Error::other("the index cannot be encoded"))?;
        let mut last_error = None;
        for candidate in Self::path_for(file, fallback_dir) {
            // Private (it holds the track and the vehicle's texts), written whole under another
            // name, then renamed: a reader never sees half of it.
            let written = candidate
                .parent()
                .map_or(Ok(()), crate::capture::create_private_dir)
                .and_then(|()| crate::capture::write_private_atomic(&candidate, &encoded));
            match written {
                Ok(()) => return Ok(candidate),
                Err(error) => last_error = Some(std::io::Error::other(error)),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("nowhere to keep the index")))
    }

    /// Loads a fresh index of `file`, or builds it from `bytes` and keeps it; the bool says
    /// whether it was built now.
    pub fn open_or_build(file: &Path, bytes: &[u8], fallback_dir: Option<&Path>) -> (Self, bool) {
        if let Some(index) = Self::load(file, fallback_dir) {
            return (index, false);
        }
        let mut index = Self::build(bytes);
        index.stamp_and_store(file, fallback_dir);
        (index, true)
    }

    /// Records `file`'s stamp in a freshly built index and keeps it (best effort: an index
    /// that cannot be kept is rebuilt next time).
    pub fn stamp_and_store(&mut self, file: &Path, fallback_dir: Option<&Path>) {
        if let Ok((len, mtime)) = file_stamp(file) {
            if len == self.file_len {
                self.file_mtime_ns = mtime;
                let _ = self.store(file, fallback_dir);
            }
        }
    }

    /// Bytes the index holds in memory (its vectors' capacities), for the benchmarks.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let checkpoints: usize = self
            .checkpoints
            .iter()
            .map(|c| size_of::<Checkpoint>() + c.latest.capacity() * size_of::<(StreamKey, u64)>())
            .sum();
        let texts: usize = self
            .texts
            .iter()
            .map(|t| size_of::<IndexedText>() + t.text.capacity())
            .sum();
        let markers: usize = self
            .markers
            .iter()
            .map(|m| size_of::<Marker>() + m.text.capacity())
            .sum();
        let streams: usize = self
            .streams
            .iter()
            .map(|s| {
                size_of::<StreamIndex>()
                    + s.fields.iter().map(String::capacity).sum::<usize>()
                    + s.low
                        .iter()
                        .chain(&s.high)
                        .map(|v| v.capacity() * 4)
                        .sum::<usize>()
            })
            .sum();
        checkpoints + texts + markers + streams + self.track.capacity() * size_of::<IndexedPoint>()
    }

    /// The first stream (lowest system and component) of message type `message_id`.
    pub fn first_stream_of(&self, message_id: u32) -> Option<&StreamIndex> {
        self.streams.iter().find(|s| s.key.message_id == message_id)
    }

    /// The stream of `key`, if the log holds it.
    pub fn stream(&self, key: &StreamKey) -> Option<&StreamIndex> {
        self.streams
            .binary_search_by_key(key, |s| s.key)
            .ok()
            .map(|i| &self.streams[i])
    }

    /// The rate of stream `key` around `time_us`: its frames per second over the overview
    /// buckets covering at least two seconds there.
    pub fn rate_at(&self, key: &StreamKey, time_us: u64) -> Option<f64> {
        const WINDOW_US: u64 = 2_000_000;
        let stream = self.stream(key)?;
        let used = self.buckets_used();
        let bucket = ((time_us.saturating_sub(self.start_us) / self.bucket_us) as usize)
            .min(used.saturating_sub(1));
        let half = WINDOW_US.div_ceil(self.bucket_us) as usize / 2;
        let (from, to) = (bucket.saturating_sub(half), (bucket + half + 1).min(used));
        let count: u64 = stream.counts[from..to].iter().map(|&c| u64::from(c)).sum();
        Some(count as f64 * 1e6 / ((to - from) as u64 * self.bucket_us) as f64)
    }

    /// The last checkpoint before which no frame is later than `time_us`.
    pub fn checkpoint_before(&self, time_us: u64) -> Option<&Checkpoint> {
        let count = self
            .checkpoints
            .partition_point(|c| c.max_time_us <= time_us);
        count.checked_sub(1).map(|i| &self.checkpoints[i])
    }

    /// The checkpoint at or before file offset `offset`.
    pub fn checkpoint_at_offset(&self, offset: u64) -> Option<&Checkpoint> {
        let count = self.checkpoints.partition_point(|c| c.offset <= offset);
        count.checked_sub(1).map(|i| &self.checkpoints[i])
    }

    /// The kept track point nearest `time_us`.
    pub fn track_at(&self, time_us: u64) -> Option<&IndexedPoint> {
        let after = self.track.partition_point(|p| p.time_us < time_us);
        let candidates = [after.checked_sub(1), Some(after)];
        candidates
            .into_iter()
            .flatten()
            .filter_map(|i| self.track.get(i))
            .min_by_key(|p| p.time_us.abs_diff(time_us))
    }

    /// The start time of overview bucket `bucket`.
    pub fn bucket_time_us(&self, bucket: usize) -> u64 {
        self.start_us + bucket as u64 * self.bucket_us
    }

    /// Overview buckets that hold data (the rest of the array is unused).
    pub fn buckets_used(&self) -> usize {
        let span = self.end_us.saturating_sub(self.start_us);
        ((span / self.bucket_us) as usize + 1).min(OVERVIEW_BUCKETS)
    }
}

/// The frame of the tlog record at `offset`: its time, header and bytes.
pub fn frame_at(bytes: &[u8], offset: u64) -> Option<(u64, FrameHeader, &[u8])> {
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

/// The severity of a kept text.
fn severity_of(severity: u8) -> mavlink::dialects::ardupilotmega::MavSeverity {
    use mavlink::dialects::ardupilotmega::MavSeverity as S;
    [
        S::MAV_SEVERITY_EMERGENCY,
        S::MAV_SEVERITY_ALERT,
        S::MAV_SEVERITY_CRITICAL,
        S::MAV_SEVERITY_ERROR,
        S::MAV_SEVERITY_WARNING,
        S::MAV_SEVERITY_NOTICE,
        S::MAV_SEVERITY_INFO,
    ]
    .get(usize::from(severity))
    .copied()
    .unwrap_or(S::MAV_SEVERITY_DEBUG)
}

/// Applies the frame at `offset` to `state`; false when no valid frame is there.
fn apply_at(state: &mut VehicleState, bytes: &[u8], offset: u64) -> bool {
    let Some((time, header, frame)) = frame_at(bytes, offset) else {
        return false;
    };
    if let Ok(message) = protocol::decode(&header, frame) {
        state.apply(time, time, &header, &message);
    }
    true
}

/// The vehicle state at `time_us` — what replaying the log up to its first frame later than
/// `time_us` gives for everything the screens show — and the offset to go on reading from.
///
/// It reads the latest frame of every stream before the nearest checkpoint (heartbeats first,
/// so the followed vehicle is known), takes the texts and the track before it from the index,
/// then reads at most [`CHECKPOINT_BYTES`] of frames after it.
pub fn state_at(bytes: &[u8], index: &FlightIndex, time_us: u64) -> (VehicleState, u64) {
    let mut state = VehicleState::new();
    let (start, latest) = match index.checkpoint_before(time_us) {
        Some(checkpoint) => (checkpoint.offset, checkpoint.latest.as_slice()),
        None => (0, &[][..]),
    };
    let mut offsets = Vec::new();
    let mut heartbeats = Vec::new();
    for (key, offset) in latest {
        if key.message_id == STATUSTEXT {
            // Texts come whole from the index.
            continue;
        }
        if key.message_id == HEARTBEAT {
            heartbeats.push(*offset);
        } else {
            offsets.push(*offset);
        }
    }
    heartbeats.sort_unstable();
    offsets.sort_unstable();
    offsets.dedup();
    for offset in heartbeats.into_iter().chain(offsets) {
        apply_at(&mut state, bytes, offset);
    }
    // The texts and the track before the checkpoint, from the index (not the file).
    let before: Vec<&IndexedText> = index
        .texts
        .iter()
        .take_while(|t| t.offset < start)
        .collect();
    for text in before {
        state.status_log.restore(crate::vehicle::StatusMessage {
            wall_us: text.time_us,
            component_id: text.component_id,
            severity: severity_of(text.severity),
            text: text.text.clone(),
        });
    }
    for point in index.track.iter().take_while(|p| p.offset < start) {
        state.extend_track(crate::vehicle::TrackPoint {
            wall_us: point.time_us,
            lat_deg: point.lat_deg,
            lon_deg: point.lon_deg,
            alt_msl_m: point.alt_msl_m,
        });
    }
    let resume = replay_until(&mut state, bytes, start, time_us);
    (state, resume)
}

/// Applies the frames from record offset `from` until the first one later than `until_us`;
/// returns that frame's offset (or the end).
pub fn replay_until(state: &mut VehicleState, bytes: &[u8], from: u64, until_us: u64) -> u64 {
    let Ok(from) = usize::try_from(from) else {
        return bytes.len() as u64;
    };
    let mut reader = TlogReader::at(bytes, from.min(bytes.len()));
    loop {
        let before = reader.position();
        match reader.next() {
            None => return bytes.len() as u64,
            Some(TlogItem::Frame {
                time_us,
                header,
                bytes: frame,
                known: true,
                ..
            }) => {
                if time_us > until_us {
                    return before as u64;
                }
                if let Ok(message) = protocol::decode(&header, frame) {
                    state.apply(time_us, time_us, &header, &message);
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_log() -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/EAICS_flight.tlog");
        std::fs::read(path).unwrap()
    }

    #[test]
    fn encodes_and_decodes() {
        let index = FlightIndex::build(&test_log());
        let decoded = FlightIndex::decode(&index.encode().unwrap()).unwrap();
        // NaN ≠ NaN: compare the encodings.
        assert_eq!(decoded.encode(), index.encode());
        assert!(FlightIndex::decode(b"AIRLOCKI\x01").is_none());
        // Decodes, but does not hold together: rebuilt, not trusted.
        let mut odd = index.clone();
        odd.streams[0].counts.pop();
        assert!(FlightIndex::decode(&odd.encode().unwrap()).is_none());
        let mut odd = index.clone();
        odd.bucket_us = 0;
        assert!(FlightIndex::decode(&odd.encode().unwrap()).is_none());
        assert!(FlightIndex::decode(b"garbage").is_none());
    }

    #[test]
    fn overview_brackets_every_value() {
        let bytes = test_log();
        let index = FlightIndex::build(&bytes);
        let attitude = index.first_stream_of(30).unwrap();
        let roll = attitude.field("roll").unwrap();
        let mut seen = 0;
        for item in TlogReader::new(&bytes) {
            if let TlogItem::Frame {
                time_us,
                header,
                bytes: frame,
                known: true,
                ..
            } = item
            {
                if StreamKey::of(&header) != attitude.key {
                    continue;
                }
                let Ok(MavMessage::ATTITUDE(att)) = protocol::decode(&header, frame) else {
                    continue;
                };
                let bucket = ((time_us - index.start_us) / index.bucket_us) as usize;
                assert!(attitude.low[roll][bucket] <= att.roll);
                assert!(attitude.high[roll][bucket] >= att.roll);
                seen += 1;
            }
        }
        assert_eq!(seen, attitude.count);
        assert_eq!(
            attitude.counts.iter().map(|&c| u64::from(c)).sum::<u64>(),
            seen
        );
        assert!(index.buckets_used() <= OVERVIEW_BUCKETS);
    }

    /// The rate at a time is the frames of that stream in about two seconds around it.
    #[test]
    fn rates_count_the_frames_around_a_time() {
        let bytes = test_log();
        let index = FlightIndex::build(&bytes);
        let attitude = index.first_stream_of(30).unwrap();
        let times: Vec<u64> = TlogReader::new(&bytes)
            .filter_map(|item| match item {
                TlogItem::Frame {
                    time_us, header, ..
                } if StreamKey::of(&header) == attitude.key => Some(time_us),
                _ => None,
            })
            .collect();
        for step in 1..10 {
            let t = index.start_us + (index.end_us - index.start_us) / 10 * step;
            let rate = index.rate_at(&attitude.key, t).unwrap();
            // The window: the buckets around t's, as rate_at takes them.
            let bucket = (t - index.start_us) / index.bucket_us;
            let half = 2_000_000u64.div_ceil(index.bucket_us) / 2;
            let from = index.start_us + bucket.saturating_sub(half) * index.bucket_us;
            let to = index.start_us + (bucket + half + 1) * index.bucket_us;
            let counted = times.iter().filter(|&&x| x >= from && x < to).count();
            let expected = counted as f64 * 1e6 / (to - from) as f64;
            assert!(
                (rate - expected).abs() < 1e-9,
                "at {t}: {rate} vs {expected}"
            );
        }
    }
}
