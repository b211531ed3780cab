//! What `airlock info` says about a stored flight: durations, counts, damage, vehicles.

use std::path::{Path, PathBuf};

use super::open::{open, Opened, StoredKind};
use super::tlog::{TlogItem, TlogReader};
use super::walk::{walk_capture, CaptureEvent};
use super::ReviewError;
use crate::capture::flight::is_being_recorded;
use crate::capture::raw::RecordKind;
use crate::capture::{FlightCounts, FlightMeta, LinkEvent, NotKept};
use crate::protocol::frame::{FramerStats, Parsed};
use crate::protocol::{self, Tally};
use crate::session::counts_of;

/// A stored flight in numbers.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub path: PathBuf,
    pub kind: Option<StoredKind>,
    /// First and last record times, µs since the epoch.
    pub start_us: Option<u64>,
    pub end_us: Option<u64>,
    pub duration_s: f64,
    /// What the link carried. In a tlog, where direction is unknown, `messages` holds every
    /// valid frame.
    #[serde(flatten)]
    pub counts: FlightCounts,
    pub bytes_rx: u64,
    pub bytes_tx: u64,
    pub reconnects: u64,
    pub port: Option<String>,
    pub baud: Option<u32>,
    /// Bytes of the file that could not be read as records (torn tail, corruption).
    pub damaged_bytes: u64,
    /// Times recording paused (a full disk) and resumed, and what it did not keep then.
    pub recording_gaps: u64,
    pub not_kept: NotKept,
    /// A recorder is writing this flight right now.
    pub recording: bool,
    /// The recorder died; the metadata was rebuilt from the raw capture.
    pub recovered: bool,
    /// Things the reader should know, in words.
    pub notices: Vec<String>,
}

/// Reads the flight or tlog at `path` and sums it up. A flight whose recorder died gets its
/// metadata rebuilt from the raw capture (and marked recovered).
pub fn summarize(path: &Path) -> Result<Summary, ReviewError> {
    let opened = open(path)?;
    let mut summary = match opened.kind {
        StoredKind::RawCapture => summarize_capture(&opened),
        StoredKind::Tlog => summarize_tlog(&opened)?,
    };
    summary.path = path.to_owned();
    summary.kind = Some(opened.kind);
    if let Some(dir) = &opened.flight_dir {
        merge_meta(dir, &mut summary);
    }
    Ok(summary)
}

/// Records damage found in the file, in numbers and in words.
fn note_damage(summary: &mut Summary, truncated_tail_bytes: u64, skipped_bytes: u64) {
    summary.damaged_bytes = truncated_tail_bytes + skipped_bytes;
    if truncated_tail_bytes > 0 {
        summary.notices.push(format!(
            "the last record is incomplete ({truncated_tail_bytes} bytes): the writer stopped mid-write"
        ));
    }
    if skipped_bytes > 0 {
        summary.notices.push(format!(
            "{skipped_bytes} damaged bytes that form no record were skipped"
        ));
    }
}

/// Counts a received item, decoding heartbeats (they name the vehicles).
fn count_received(tally: &mut Tally, item: &Parsed<'_>) {
    if let Some((header, bytes)) = tally.on_received(item) {
        if header.message_id == 0 {
            match protocol::decode(&header, bytes) {
                Ok(message) => tally.on_decoded(&header, &message),
                Err(_) => tally.decode_errors += 1,
            }
        }
    }
}

/// Replays a raw capture through the session's framing and counting.
pub fn tally_capture(bytes: &[u8]) -> (Tally, FramerStats, Summary) {
    let mut tally = Tally::default();
    let mut summary = Summary::default();
    let mut first_mono = None;
    let mut last_mono = 0;
    let mut opens = 0u64;
    let walked = walk_capture(bytes, &mut |event| match event {
        CaptureEvent::Record(record) => {
            summary.start_us.get_or_insert(record.time.wall_us);
            summary.end_us = Some(record.time.wall_us);
            first_mono.get_or_insert(record.time.mono_us);
            last_mono = record.time.mono_us;
            match record.kind {
                RecordKind::Rx => summary.bytes_rx += record.data.len() as u64,
                RecordKind::Tx => summary.bytes_tx += record.data.len() as u64,
                RecordKind::Event => match LinkEvent::parse(record.data) {
                    Some(LinkEvent::Open { port, baud, .. }) => {
                        opens += 1;
                        summary.port = Some(port);
                        summary.baud = Some(baud);
                    }
                    Some(LinkEvent::Baud { baud, .. }) => summary.baud = Some(baud),
                    Some(LinkEvent::Gap {
                        rx_bytes,
                        tx_bytes,
                        events,
                        tlog_records,
                        ..
                    }) => {
                        summary.recording_gaps += 1;
                        summary.not_kept.rx_bytes += rx_bytes;
                        summary.not_kept.tx_bytes += tx_bytes;
                        summary.not_kept.events += events;
                        summary.not_kept.tlog_records += tlog_records;
                    }
                    _ => {}
                },
            }
        }
        CaptureEvent::Parsed {
            direction: RecordKind::Rx,
            item,
            ..
        } => count_received(&mut tally, &item),
        CaptureEvent::Parsed {
            item: Parsed::Frame(header, _),
            ..
        } => tally.on_sent(&header),
        CaptureEvent::Parsed { .. } => {}
    });
    note_damage(
        &mut summary,
        walked.damage.truncated_tail_bytes,
        walked.damage.corrupt_bytes,
    );
    summary.reconnects = opens.saturating_sub(1);
    if summary.recording_gaps > 0 {
        summary.notices.push(format!(
            "recording paused {} time(s) (the disk could not take it): {} received and {} sent \
             bytes were not kept; everything else is whole",
            summary.recording_gaps, summary.not_kept.rx_bytes, summary.not_kept.tx_bytes
        ));
    }
    summary.duration_s = last_mono.saturating_sub(first_mono.unwrap_or(0)) as f64 * 1e-6;
    (tally, walked.received, summary)
}

fn summarize_capture(opened: &Opened) -> Summary {
    let (tally, stats, mut summary) = tally_capture(opened.bytes());
    summary.counts = counts_of(&tally, &stats);
    summary
}

fn summarize_tlog(opened: &Opened) -> Result<Summary, ReviewError> {
    let mut tally = Tally::default();
    let mut stats = FramerStats::default();
    let mut summary = Summary::default();
    let mut reader = TlogReader::new(opened.bytes());
    for item in reader.by_ref() {
        match item {
            TlogItem::Frame {
                time_us,
                header,
                bytes,
                known,
                ..
            } => {
                summary.start_us.get_or_insert(time_us);
                summary.end_us = Some(time_us);
                summary.bytes_rx += bytes.len() as u64;
                let parsed = if known {
                    stats.frames += 1;
                    Parsed::Frame(header, bytes)
                } else {
                    stats.unknown_frames += 1;
                    Parsed::Unknown(header, bytes)
                };
                count_received(&mut tally, &parsed);
            }
            TlogItem::CrcError { .. } => stats.crc_errors += 1,
        }
    }
    if stats.frames == 0 {
        return Err(ReviewError::NoFrames {
            path: opened.file.clone(),
        });
    }
    note_damage(
        &mut summary,
        reader.truncated_tail_bytes,
        reader.skipped_bytes,
    );
    stats.garbage_bytes = reader.skipped_bytes;
    summary.duration_s = match (summary.start_us, summary.end_us) {
        (Some(start), Some(end)) => end.saturating_sub(start) as f64 * 1e-6,
        _ => 0.0,
    };
    summary.counts = counts_of(&tally, &stats);
    Ok(summary)
}

/// Adds what only the metadata knows, and rebuilds it when the recorder died.
fn merge_meta(dir: &Path, summary: &mut Summary) {
    summary.recording = is_being_recorded(dir);
    let meta = match FlightMeta::load(dir) {
        Ok(meta) => Some(meta),
        Err(error) => {
            summary.notices.push(format!(
                "metadata unreadable, rebuilt from the capture: {error}"
            ));
            None
        }
    };
    if let Some(meta) = &meta {
        summary.port = summary
            .port
            .take()
            .or_else(|| Some(meta.source.port.clone()));
        summary.baud = summary.baud.or(meta.source.baud);
        summary.recovered = meta.recovered;
        if meta.closed_cleanly || summary.recording {
            return;
        }
    }
    if summary.kind != Some(StoredKind::RawCapture) {
        return;
    }
    let mut rebuilt = meta.unwrap_or_default();
    rebuilt.format = FlightMeta::FORMAT;
    rebuilt.started_us = summary.start_us.unwrap_or(rebuilt.started_us);
    rebuilt.ended_us = summary.end_us;
    rebuilt.recovered = true;
    rebuilt.counts = summary.counts.clone();
    rebuilt.bytes_rx = summary.bytes_rx;
    rebuilt.bytes_tx = summary.bytes_tx;
    rebuilt.reconnects = summary.reconnects;
    rebuilt.recording_gaps = summary.recording_gaps;
    rebuilt.not_kept = summary.not_kept;
    match rebuilt.store(dir) {
        Ok(()) => {
            summary.recovered = true;
            summary.notices.push(
                "the recorder did not close this flight: its metadata was rebuilt from the raw capture"
                    .to_owned(),
            );
        }
        Err(error) => summary
            .notices
            .push(format!("the recorder did not close this flight, and its metadata could not be rebuilt: {error}")),
    }
}
