//! Replaying a raw capture through the same framing as the live session.

use crate::capture::raw::{Damage, RawRecord, RecordIter, RecordKind};
use crate::capture::{LinkEvent, Timestamp};
use crate::protocol::frame::{FramerStats, Parsed};
use crate::protocol::Framer;

/// What a capture holds, in recorded order.
#[derive(Debug, Clone, Copy)]
pub enum CaptureEvent<'a> {
    /// A record as stored (bytes of either direction, or a link event).
    Record(RawRecord<'a>),
    /// A framing verdict on the bytes of one direction, timed by the record that completed it.
    Parsed {
        time: Timestamp,
        direction: RecordKind,
        item: Parsed<'a>,
    },
}

/// What a walk over a capture found.
#[derive(Debug, Clone, Copy, Default)]
pub struct Walked {
    pub damage: Damage,
    pub received: FramerStats,
    pub sent: FramerStats,
}

/// Walks over every record of a capture and frames both directions the way the live session
/// did: the receive framer is flushed when the link was lost or auto-baud changed rate.
pub fn walk_capture(bytes: &[u8], on: &mut impl FnMut(CaptureEvent<'_>)) -> Walked {
    let mut rx = Framer::new();
    let mut tx = Framer::new();
    let mut records = RecordIter::new(bytes);
    let mut last_time = Timestamp::default();
    for record in records.by_ref() {
        last_time = record.time;
        on(CaptureEvent::Record(record));
        let time = record.time;
        match record.kind {
            RecordKind::Rx => rx.push(record.data, &mut |item| {
                on(CaptureEvent::Parsed {
                    time,
                    direction: RecordKind::Rx,
                    item,
                })
            }),
            RecordKind::Tx => tx.push(record.data, &mut |item| {
                on(CaptureEvent::Parsed {
                    time,
                    direction: RecordKind::Tx,
                    item,
                })
            }),
            RecordKind::Event => {
                if resets_framing(record.data) {
                    rx.flush(&mut |item| {
                        on(CaptureEvent::Parsed {
                            time,
                            direction: RecordKind::Rx,
                            item,
                        })
                    });
                }
            }
        }
    }
    for (framer, direction) in [(&mut rx, RecordKind::Rx), (&mut tx, RecordKind::Tx)] {
        framer.flush(&mut |item| {
            on(CaptureEvent::Parsed {
                time: last_time,
                direction,
                item,
            })
        });
    }
    Walked {
        damage: records.damage(),
        received: rx.stats(),
        sent: tx.stats(),
    }
}

/// The live session restarts framing when the link is lost and when auto-baud moves to another
/// rate (not when it settles on the rate it is at).
fn resets_framing(data: &[u8]) -> bool {
    LinkEvent::parse(data).is_some_and(|event| event.resets_framing())
}
