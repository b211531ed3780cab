//! MAVLink on top of the `mavlink` crate: framing with our own verdicts, decoding, outgoing
//! messages with their sequence numbers, and loss accounting.
//!
//! Sans-I/O: bytes and messages in, bytes and messages out. It never opens a port or a file.

pub mod dialect;
pub mod fields;
pub mod frame;
pub mod leaves;
pub mod modes;
pub mod outgoing;
pub mod sequence;
pub mod services;
pub mod signing;
pub mod tally;

pub use dialect::MavMessage;
pub use frame::{FrameHeader, Framer, Parsed, Probe, Version};
pub use outgoing::Outgoing;
pub use sequence::SequenceTracker;
pub use tally::Tally;

/// System id Airlock uses as a ground station (the MAVLink convention for a GCS).
pub const GCS_SYSTEM_ID: u8 = 255;
/// Component id Airlock uses (MAV_COMP_ID_MISSIONPLANNER, the usual GCS component).
pub const GCS_COMPONENT_ID: u8 = 190;

/// Decodes a MAVLink 2 payload of message `message_id` (shorter payloads are zero-extended, as
/// MAVLink 2 trims trailing zeros).
pub fn decode_payload(
    message_id: u32,
    payload: &[u8],
) -> Result<MavMessage, mavlink::error::ParserError> {
    <MavMessage as mavlink::Message>::parse(mavlink::MavlinkVersion::V2, message_id, payload)
}

/// Decodes the payload of a valid frame into a message.
pub fn decode(
    header: &FrameHeader,
    frame: &[u8],
) -> Result<MavMessage, mavlink::error::ParserError> {
    let version = match header.version {
        Version::V1 => mavlink::MavlinkVersion::V1,
        Version::V2 => mavlink::MavlinkVersion::V2,
    };
    <MavMessage as mavlink::Message>::parse(version, header.message_id, header.payload(frame))
}
