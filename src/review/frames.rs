//! Every valid frame of a stored flight, in order, whatever file holds it.

use super::open::{Opened, StoredKind};
use super::tlog::{TlogItem, TlogReader};
use super::walk::{walk_capture, CaptureEvent};
use crate::capture::raw::RecordKind;
use crate::protocol::frame::{FrameHeader, Parsed};

/// Where a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Received from the vehicle side.
    Received,
    /// Sent by the ground station (known only in Airlock's own captures).
    Sent,
    /// A tlog does not say.
    Unknown,
}

/// A time range of a flight, µs since the epoch, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from_us: u64,
    pub to_us: u64,
}

impl Span {
    /// The whole flight.
    pub const ALL: Self = Self {
        from_us: 0,
        to_us: u64::MAX,
    };

    pub fn contains(&self, time_us: u64) -> bool {
        (self.from_us..=self.to_us).contains(&time_us)
    }
}

/// Calls `on(time_us, side, header, frame)` for every valid (CRC-checked) frame, in order.
pub fn for_each_frame(opened: &Opened, on: &mut impl FnMut(u64, Side, &FrameHeader, &[u8])) {
    for_each_frame_with(opened, &mut |_, _| {}, on);
}

/// [`for_each_frame`], reporting `progress(bytes read, file length)` as it goes.
pub fn for_each_frame_with(
    opened: &Opened,
    progress: &mut dyn FnMut(u64, u64),
    on: &mut impl FnMut(u64, Side, &FrameHeader, &[u8]),
) {
    let all = opened.bytes();
    let total = all.len() as u64;
    let mut step = super::export::Progress::new(total);
    let mut report = |frame: &[u8]| step.at(opened, frame, progress);
    match opened.kind {
        StoredKind::Tlog => {
            for item in TlogReader::new(all) {
                if let TlogItem::Frame {
                    time_us,
                    header,
                    bytes,
                    known: true,
                    ..
                } = item
                {
                    report(bytes);
                    on(time_us, Side::Unknown, &header, bytes);
                }
            }
        }
        StoredKind::RawCapture => {
            walk_capture(all, &mut |event| {
                if let CaptureEvent::Parsed {
                    time,
                    direction,
                    item: Parsed::Frame(header, bytes),
                } = event
                {
                    report(bytes);
                    let side = if direction == RecordKind::Tx {
                        Side::Sent
                    } else {
                        Side::Received
                    };
                    on(time.wall_us, side, &header, bytes);
                }
            });
        }
    }
    progress(total, total);
}
