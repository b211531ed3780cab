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

/// Calls `on(time_us, side, header, frame)` for every valid (CRC-checked) frame, in order.
pub fn for_each_frame(opened: &Opened, on: &mut impl FnMut(u64, Side, &FrameHeader, &[u8])) {
    match opened.kind {
        StoredKind::Tlog => {
            for item in TlogReader::new(opened.bytes()) {
                if let TlogItem::Frame {
                    time_us,
                    header,
                    bytes,
                    known: true,
                    ..
                } = item
                {
                    on(time_us, Side::Unknown, &header, bytes);
                }
            }
        }
        StoredKind::RawCapture => {
            walk_capture(opened.bytes(), &mut |event| {
                if let CaptureEvent::Parsed {
                    time,
                    direction,
                    item: Parsed::Frame(header, bytes),
                } = event
                {
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
}
