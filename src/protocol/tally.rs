//! Counts of what a link carried: frames per message type and direction, framing verdicts,
//! loss, and the vehicles seen. The live recorder and the offline summary share it, so a
//! flight's numbers are the same however they are computed.

use std::collections::BTreeMap;

use mavlink::dialects::ardupilotmega::MavMessage;

use super::dialect;
use super::frame::{FrameHeader, Parsed};
use super::sequence::SequenceTracker;

/// A system/component and what its heartbeat says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub vehicle_type: String,
    pub autopilot: String,
}

/// Running counts for one flight.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    received: BTreeMap<u32, u64>,
    unknown: BTreeMap<u32, u64>,
    sent: BTreeMap<u32, u64>,
    pub senders: BTreeMap<(u8, u8), Sender>,
    pub sequence: SequenceTracker,
    pub signed_frames: u64,
    pub decode_errors: u64,
}

impl Tally {
    /// Counts an item parsed from received bytes. Returns the frame if it is one to decode.
    pub fn on_received<'a>(&mut self, item: &Parsed<'a>) -> Option<(FrameHeader, &'a [u8])> {
        match *item {
            Parsed::Frame(header, bytes) => {
                *self.received.entry(header.message_id).or_default() += 1;
                self.sequence
                    .observe(header.system_id, header.component_id, header.sequence);
                if header.is_signed() {
                    self.signed_frames += 1;
                }
                Some((header, bytes))
            }
            Parsed::Unknown(header, _) => {
                *self.unknown.entry(header.message_id).or_default() += 1;
                None
            }
            Parsed::CrcError(_) | Parsed::Garbage(_) => None,
        }
    }

    /// Counts a frame the ground station itself sent.
    pub fn on_sent(&mut self, header: &FrameHeader) {
        *self.sent.entry(header.message_id).or_default() += 1;
    }

    /// Notes a decoded received message (heartbeats name the senders).
    pub fn on_decoded(&mut self, header: &FrameHeader, msg: &MavMessage) {
        if let MavMessage::HEARTBEAT(heartbeat) = msg {
            self.senders
                .entry((header.system_id, header.component_id))
                .or_insert_with(|| Sender {
                    vehicle_type: format!("{:?}", heartbeat.mavtype),
                    autopilot: format!("{:?}", heartbeat.autopilot),
                });
        }
    }

    /// Valid received frames by message name.
    pub fn received_by_name(&self) -> BTreeMap<String, u64> {
        by_name(&self.received)
    }

    /// Received frames whose id the dialect lacks (their CRC cannot be checked), as
    /// `UNKNOWN_<id>` the way pymavlink names them.
    pub fn unknown_by_name(&self) -> BTreeMap<String, u64> {
        by_name(&self.unknown)
    }

    /// Sent frames by message name.
    pub fn sent_by_name(&self) -> BTreeMap<String, u64> {
        by_name(&self.sent)
    }

    pub fn received_total(&self) -> u64 {
        self.received.values().sum()
    }
}

fn by_name(counts: &BTreeMap<u32, u64>) -> BTreeMap<String, u64> {
    counts
        .iter()
        .map(|(&id, &count)| (dialect::display_name(id), count))
        .collect()
}
