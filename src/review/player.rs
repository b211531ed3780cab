//! Replay as a byte source: a stored flight's frames fed, at the chosen speed, through the same
//! decoder and vehicle reducers as the live link. Seeking uses the index, so it reads a bounded
//! part of the file whatever the flight's length.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::index::{self, FlightIndex};
use super::open::{open, Opened, StoredKind};
use super::tlog::{TlogItem, TlogReader};
use super::ReviewError;
use crate::protocol::{self, FrameHeader, MavMessage};
use crate::vehicle::VehicleState;

/// How fast a replay runs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Speed {
    /// This many times real time (0.1 to 16).
    Times(f64),
    /// As fast as the screen can take it.
    Max,
}

impl Speed {
    pub const CHOICES: [Self; 9] = [
        Self::Times(0.1),
        Self::Times(0.25),
        Self::Times(0.5),
        Self::Times(1.0),
        Self::Times(2.0),
        Self::Times(4.0),
        Self::Times(8.0),
        Self::Times(16.0),
        Self::Max,
    ];

    pub fn label(self) -> String {
        match self {
            Self::Times(times) => format!("{times}×"),
            Self::Max => "max".to_owned(),
        }
    }
}

impl Default for Speed {
    fn default() -> Self {
        Self::Times(1.0)
    }
}

/// A frame handed to the view: what a live session's message event carries.
pub struct Played {
    pub time_us: u64,
    pub header: FrameHeader,
    pub message: MavMessage,
}

/// A stored flight ready to replay.
pub struct Player {
    /// The mapped log (shared with helper threads that read plot samples).
    pub opened: std::sync::Arc<Opened>,
    pub index: std::sync::Arc<FlightIndex>,
    /// Where the flight came from (folder or file), for the title.
    pub source: PathBuf,
    /// Things the reviewer should know (damage found while indexing), in words.
    pub notices: Vec<String>,
    /// The replay clock, µs since the epoch (the flight's own time).
    pub time_us: u64,
    /// The record to read next.
    next_offset: u64,
    /// When to let the mapped pages behind the replay go.
    pace: super::open::Pace,
    pub playing: bool,
    pub speed: Speed,
}

/// The tlog to replay for `path`: a flight folder's tlog, a tlog file, or (for a raw capture
/// with no tlog beside it) a tlog made from the capture under `cache_dir`.
fn replayable(path: &Path, cache_dir: &Path) -> Result<Opened, ReviewError> {
    let opened = open(path)?;
    if opened.kind == StoredKind::Tlog {
        return Ok(opened);
    }
    if let Some(dir) = &opened.flight_dir {
        let tlog = dir.join(crate::capture::TLOG_FILE);
        if tlog.is_file() {
            return open(&tlog);
        }
    }
    let io = |source| ReviewError::Io {
        path: cache_dir.to_owned(),
        source,
    };
    let private = |error: crate::capture::CaptureError| io(std::io::Error::other(error));
    crate::capture::create_private_dir(cache_dir).map_err(private)?;
    let name = path.to_string_lossy().replace(['/', '\\'], "_");
    let made = cache_dir.join(format!("{name}.tlog"));
    if !made.is_file() {
        let mut out = crate::capture::NewFile::create(&made).map_err(private)?;
        super::export::export_tlog(&opened, &mut out).map_err(io)?;
        out.commit().map_err(private)?;
    }
    open(&made)
}

/// Words for the damage the index found.
fn damage_notices(index: &FlightIndex) -> Vec<String> {
    let mut notices = Vec::new();
    if index.truncated_tail_bytes > 0 {
        notices.push(format!(
            "the log ends in an incomplete record ({} bytes): it was cut off while being written",
            index.truncated_tail_bytes
        ));
    }
    if index.skipped_bytes > 0 {
        notices.push(format!(
            "{} damaged bytes that form no record were skipped",
            index.skipped_bytes
        ));
    }
    if index.crc_errors > 0 {
        notices.push(format!(
            "{} frames failed their checksum and were left out",
            index.crc_errors
        ));
    }
    notices
}

impl Player {
    /// Opens `path` for replay: loads its index, or builds and keeps it (`progress(done,
    /// total)` while building). `cache_dir` holds tlogs made from captures and indexes that
    /// cannot be kept beside their log.
    pub fn open(
        path: &Path,
        cache_dir: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Self, ReviewError> {
        let opened = replayable(path, cache_dir)?;
        let index = match FlightIndex::load(&opened.file, Some(cache_dir)) {
            Some(index) => index,
            None => {
                let mut index = FlightIndex::build_with(opened.bytes(), progress, &mut |upto| {
                    opened.release(upto)
                });
                index.stamp_and_store(&opened.file, Some(cache_dir));
                index
            }
        };
        if index.frames == 0 {
            return Err(ReviewError::NoFrames {
                path: path.to_owned(),
            });
        }
        let notices = damage_notices(&index);
        let start = index.start_us;
        super::open::trim_heap();
        Ok(Self {
            opened: std::sync::Arc::new(opened),
            index: std::sync::Arc::new(index),
            source: path.to_owned(),
            notices,
            time_us: start,
            next_offset: 0,
            pace: super::open::Pace::from(0),
            playing: false,
            speed: Speed::default(),
        })
    }

    /// The flight's first and latest time.
    pub fn span_us(&self) -> (u64, u64) {
        (self.index.start_us, self.index.end_us)
    }

    pub fn at_end(&self) -> bool {
        self.next_offset >= self.opened.bytes().len() as u64
    }

    /// The exact state at `time_us` (clamped to the flight), from the index.
    pub fn seek(&mut self, time_us: u64) -> VehicleState {
        let (start, end) = self.span_us();
        let time_us = time_us.clamp(start, end);
        let (mut state, resume) = index::state_at(self.opened.bytes(), &self.index, time_us);
        // Link figures count what is played from here on, not the sparse frames of the seek;
        // message rates then are the index's.
        state.link = Default::default();
        let index = &self.index;
        state
            .rates
            .set_rates(|&(system_id, component_id, message_id)| {
                let key = index::StreamKey {
                    system_id,
                    component_id,
                    message_id,
                };
                index.rate_at(&key, time_us)
            });
        // A seek touches pages all over the file: let them go (the caller, which drops the
        // state this one replaces, trims the heap).
        self.opened.release(usize::MAX);
        self.time_us = time_us;
        self.next_offset = resume;
        self.pace = super::open::Pace::from(usize::try_from(resume).unwrap_or(usize::MAX));
        state
    }

    /// The next frame, if any, without applying it; moves the read position past it.
    fn next_frame(&mut self) -> Option<Played> {
        let at = usize::try_from(self.next_offset).unwrap_or(usize::MAX);
        if self.pace.due(at) {
            // Playing through a long log: its pages behind the replay go.
            self.opened.release(at);
        }
        let bytes = self.opened.bytes();
        let start = usize::try_from(self.next_offset).ok()?;
        let mut reader = TlogReader::at(bytes, start.min(bytes.len()));
        loop {
            let item = reader.next();
            self.next_offset = reader.position() as u64;
            match item? {
                TlogItem::Frame {
                    time_us,
                    header,
                    bytes: frame,
                    known: true,
                    ..
                } => {
                    if let Ok(message) = protocol::decode(&header, frame) {
                        return Some(Played {
                            time_us,
                            header,
                            message,
                        });
                    }
                }
                _ => continue,
            }
        }
    }

    /// Steps one message: returns it (the caller applies it like a live one).
    pub fn step(&mut self) -> Option<Played> {
        let played = self.next_frame()?;
        self.time_us = self.time_us.max(played.time_us);
        Some(played)
    }

    /// Moves the clock on by `elapsed` of real time at the chosen speed (at `Max`, as many
    /// frames as `budget` of work allows) and hands every frame up to the clock to `on`.
    pub fn advance(&mut self, elapsed: Duration, budget: Duration, on: &mut dyn FnMut(Played)) {
        if !self.playing {
            return;
        }
        let started = std::time::Instant::now();
        let until = match self.speed {
            Speed::Times(times) => {
                self.time_us + (elapsed.as_secs_f64() * times * 1e6).round() as u64
            }
            Speed::Max => u64::MAX,
        };
        loop {
            if started.elapsed() >= budget {
                break;
            }
            let before = self.next_offset;
            let Some(played) = self.next_frame() else {
                self.playing = false;
                self.time_us = self.time_us.max(self.index.end_us.min(until));
                return;
            };
            if played.time_us > until {
                // Not yet: read it again next time.
                self.next_offset = before;
                self.time_us = until;
                return;
            }
            self.time_us = self.time_us.max(played.time_us);
            on(played);
        }
        if let Speed::Times(_) = self.speed {
            // Behind: the screen could not keep up; the clock waits for the frames.
            self.time_us = self.time_us.min(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player() -> (tempfile::TempDir, Player) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("vtol.tlog");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/UAVLogViewer_vtol.tlog"),
            &log,
        )
        .unwrap();
        let player = Player::open(&log, &dir.path().join("cache"), &mut |_, _| {}).unwrap();
        (dir, player)
    }

    #[test]
    fn playing_to_the_end_gives_the_replayed_state() {
        let (_dir, mut player) = player();
        let mut state = player.seek(0);
        player.playing = true;
        player.speed = Speed::Max;
        while player.playing {
            player.advance(Duration::ZERO, Duration::from_secs(10), &mut |p| {
                state.apply(p.time_us, p.time_us, &p.header, &p.message)
            });
        }
        assert!(player.at_end());
        let replayed = super::super::replay::state_at(&player.opened, None);
        assert_eq!(state.status, replayed.status);
        assert_eq!(state.position, replayed.position);
        assert_eq!(state.attitude, replayed.attitude);
        assert_eq!(state.status_log.total(), replayed.status_log.total());
    }

    #[test]
    fn real_time_playing_moves_the_clock_by_the_elapsed_time() {
        let (_dir, mut player) = player();
        let start = player.span_us().0;
        let mut state = player.seek(start + 10_000_000);
        player.playing = true;
        player.speed = Speed::Times(2.0);
        let mut frames = 0;
        player.advance(
            Duration::from_millis(500),
            Duration::from_secs(10),
            &mut |p| {
                assert!(p.time_us <= start + 11_000_000);
                state.apply(p.time_us, p.time_us, &p.header, &p.message);
                frames += 1;
            },
        );
        assert_eq!(player.time_us, start + 11_000_000);
        assert!(frames > 0);
        let sought = player.seek(start + 11_000_000);
        assert_eq!(state.attitude, sought.attitude);
        assert_eq!(state.position, sought.position);
        // Rates after a seek are the index's for that time, not the seek's few frames.
        let mid_time = start + 100_000_000;
        let mid = player.seek(mid_time);
        for (&(system_id, component_id, message_id), stream) in mid.rates.streams() {
            let key = index::StreamKey {
                system_id,
                component_id,
                message_id,
            };
            assert_eq!(Some(stream.rate_hz), player.index.rate_at(&key, mid_time));
        }
    }

    /// A flight folder with only its raw capture replays through a tlog made from it.
    #[test]
    fn a_capture_without_a_tlog_replays() {
        let dir = tempfile::tempdir().unwrap();
        let source = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/EAICS_flight.tlog"),
        )
        .unwrap();
        let flight = dir.path().join("flight");
        std::fs::create_dir(&flight).unwrap();
        let mut writer =
            crate::capture::raw::RawWriter::create(&flight.join(crate::capture::RAW_FILE)).unwrap();
        let mut frames = 0;
        for item in TlogReader::new(&source) {
            if let TlogItem::Frame { time_us, bytes, .. } = item {
                let time = crate::capture::Timestamp {
                    wall_us: time_us,
                    mono_us: time_us,
                };
                writer
                    .append(crate::capture::raw::RecordKind::Rx, 0, time, bytes)
                    .unwrap();
                frames += 1;
            }
        }
        drop(writer);
        let player = Player::open(&flight, &dir.path().join("cache"), &mut |_, _| {}).unwrap();
        assert_eq!(player.index.frames, frames);
        assert!(player.opened.file.starts_with(dir.path().join("cache")));
        let opened = open(&flight).unwrap();
        let replayed = super::super::replay::state_at(&opened, None);
        let mut player = player;
        let end = player.span_us().1;
        let state = player.seek(end);
        assert_eq!(state.status, replayed.status);
        assert_eq!(state.position, replayed.position);
    }

    /// Damage in the middle of a log: it opens with what it holds and says what was skipped.
    #[test]
    fn a_corrupted_log_opens_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/EAICS_flight.tlog"),
        )
        .unwrap();
        let middle = bytes.len() / 2;
        bytes[middle..middle + 3000].fill(0x42);
        let log = dir.path().join("damaged.tlog");
        std::fs::write(&log, &bytes).unwrap();
        let player = Player::open(&log, &dir.path().join("cache"), &mut |_, _| {}).unwrap();
        assert!(
            player.notices.iter().any(|n| n.contains("damaged bytes")),
            "{:?}",
            player.notices
        );
        let whole = FlightIndex::build(
            &std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/EAICS_flight.tlog"),
            )
            .unwrap(),
        );
        assert!(player.index.frames < whole.frames);
        assert!(player.index.frames > whole.frames * 9 / 10);
    }

    #[test]
    fn stepping_goes_one_message_at_a_time() {
        let (_dir, mut player) = player();
        player.seek(0);
        let first = player.step().unwrap();
        let second = player.step().unwrap();
        assert!(second.time_us >= first.time_us);
        assert!(player.time_us >= second.time_us);
    }
}
