//! Exports of a stored flight: raw bytes of one direction, or a clean `.tlog`.

use std::io::Write;

use super::frames::Span;
use super::open::{Opened, StoredKind};
use super::tlog::{TlogItem, TlogReader};
use super::walk::{walk_capture, CaptureEvent};
use crate::capture::raw::{RecordIter, RecordKind};
use crate::protocol::frame::Parsed;

/// Which side's bytes to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    /// Bytes received from the vehicle.
    Rx,
    /// Bytes the ground station sent.
    Tx,
}

/// Writes the bytes of one direction exactly as they crossed the wire, in order; returns how
/// many. From a tlog (which holds no raw bytes) it writes its frames back to back.
pub fn export_raw(
    opened: &Opened,
    direction: Direction,
    out: &mut impl Write,
) -> std::io::Result<u64> {
    let mut written = 0u64;
    match opened.kind {
        StoredKind::RawCapture => {
            let wanted = match direction {
                Direction::Rx => RecordKind::Rx,
                Direction::Tx => RecordKind::Tx,
            };
            for record in RecordIter::new(opened.bytes()).filter(|r| r.kind == wanted) {
                out.write_all(record.data)?;
                written += record.data.len() as u64;
            }
        }
        StoredKind::Tlog => {
            for item in TlogReader::new(opened.bytes()) {
                if let TlogItem::Frame { bytes, .. } = item {
                    out.write_all(bytes)?;
                    written += bytes.len() as u64;
                }
            }
        }
    }
    out.flush()?;
    Ok(written)
}

/// Writes a `.tlog` of every frame (both directions, in arrival order); returns the number
/// of records.
pub fn export_tlog(opened: &Opened, out: &mut impl Write) -> std::io::Result<u64> {
    export_tlog_span(opened, Span::ALL, &mut |_, _| {}, out)
}

/// Writes a `.tlog` of the frames in `span`, reporting `progress(done, total)` bytes.
pub fn export_tlog_span(
    opened: &Opened,
    span: Span,
    progress: &mut dyn FnMut(u64, u64),
    out: &mut impl Write,
) -> std::io::Result<u64> {
    let total = opened.bytes().len() as u64;
    let mut step = Progress::new(total);
    let mut records = 0u64;
    let mut write = |out: &mut dyn Write, time_us: u64, frame: &[u8]| -> std::io::Result<()> {
        if !span.contains(time_us) {
            return Ok(());
        }
        out.write_all(&time_us.to_be_bytes())?;
        out.write_all(frame)?;
        records += 1;
        Ok(())
    };
    match opened.kind {
        StoredKind::RawCapture => {
            let mut result = Ok(());
            walk_capture(opened.bytes(), &mut |event| {
                if let CaptureEvent::Parsed {
                    time,
                    item: Parsed::Frame(_, frame) | Parsed::Unknown(_, frame),
                    ..
                } = event
                {
                    step.at(opened, frame, progress);
                    if result.is_ok() {
                        result = write(out, time.wall_us, frame);
                    }
                }
            });
            result?;
        }
        StoredKind::Tlog => {
            for item in TlogReader::new(opened.bytes()) {
                if let TlogItem::Frame { time_us, bytes, .. } = item {
                    step.at(opened, bytes, progress);
                    write(out, time_us, bytes)?;
                }
            }
        }
    }
    progress(total, total);
    out.flush()?;
    Ok(records)
}

/// Progress of a scan over a mapped file, by where the frame in hand sits in it.
pub struct Progress {
    pace: super::open::Pace,
    total: u64,
}

impl Progress {
    pub fn new(total: u64) -> Self {
        Self {
            pace: super::open::Pace::from(0),
            total,
        }
    }

    /// Reports when `frame` (a slice of `opened`'s bytes) is a step past the last report, and
    /// lets the pages behind it go.
    pub fn at(&mut self, opened: &Opened, frame: &[u8], progress: &mut dyn FnMut(u64, u64)) {
        let at = (frame.as_ptr() as usize).wrapping_sub(opened.bytes().as_ptr() as usize);
        if (at as u64) < self.total && self.pace.due(at) {
            progress(at as u64, self.total);
            opened.release(at);
        }
    }
}

/// What a stored flight can be written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export<'a> {
    /// The bytes of one direction as they crossed the wire (the whole flight).
    Raw(Direction),
    Tlog,
    /// One message type, as `mavlogdump.py --format csv` writes it.
    Csv(&'a str),
    Gpx,
    Kml,
}

/// Writes `what` of the frames in `span` to `out` (the command line and the window both export
/// through here); `name` titles a track. Returns what was written, in words.
pub fn write_export(
    opened: &Opened,
    what: Export<'_>,
    span: Span,
    name: &str,
    progress: &mut dyn FnMut(u64, u64),
    out: &mut impl Write,
) -> std::io::Result<String> {
    Ok(match what {
        Export::Raw(direction) => format!("{} bytes", export_raw(opened, direction, out)?),
        Export::Tlog => format!("{} records", export_tlog_span(opened, span, progress, out)?),
        Export::Csv(type_name) => {
            let rows = super::csv::export_csv_span(opened, type_name, span, progress, out)
                .map_err(std::io::Error::other)?;
            format!("{rows} rows")
        }
        Export::Gpx | Export::Kml => {
            let track = super::track::track_of_span(opened, span, progress);
            let points = if what == Export::Gpx {
                super::track::write_gpx(&track, name, out)?
            } else {
                super::track::write_kml(&track, name, out)?
            };
            format!("{points} track points")
        }
    })
}
