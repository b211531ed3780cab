//! The message set Airlock understands: ArduPilot's dialect, which includes `common`.
//!
//! A small lookup over the `mavlink` crate's generated definitions (id → name, CRC extra), built
//! once. It never decodes frames itself.

use std::sync::OnceLock;

use mavlink::Message as _;

pub use mavlink::dialects::ardupilotmega::MavMessage;

/// Highest message id looked up; MAVLink 2 ids are 24-bit but no dialect we ship goes past 16 bits.
const MAX_KNOWN_ID: u32 = u16::MAX as u32;

struct Entry {
    id: u32,
    crc_extra: u8,
    name: &'static str,
}

fn table() -> &'static [Entry] {
    static TABLE: OnceLock<Vec<Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=MAX_KNOWN_ID)
            .filter_map(|id| {
                MavMessage::default_message_from_id(id).map(|msg| Entry {
                    id,
                    crc_extra: MavMessage::extra_crc(id),
                    name: msg.message_name(),
                })
            })
            .collect()
    })
}

fn entry(id: u32) -> Option<&'static Entry> {
    let table = table();
    table
        .binary_search_by_key(&id, |entry| entry.id)
        .ok()
        .map(|index| &table[index])
}

/// The CRC extra byte of a known message id.
pub fn crc_extra(id: u32) -> Option<u8> {
    entry(id).map(|entry| entry.crc_extra)
}

/// The MAVLink name of a known message id.
pub fn message_name(id: u32) -> Option<&'static str> {
    entry(id).map(|entry| entry.name)
}

/// The name used in counts: the MAVLink name, or `UNKNOWN_<id>` as pymavlink writes it.
pub fn display_name(id: u32) -> String {
    message_name(id).map_or_else(|| format!("UNKNOWN_{id}"), str::to_owned)
}

/// The id of a message name (case-insensitive), if the dialect knows it.
pub fn message_id(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    table()
        .iter()
        .find(|entry| entry.name == upper)
        .map(|entry| entry.id)
}
