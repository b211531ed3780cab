//! Messages the ground station sends, encoded as MAVLink 2 frames with our own sequence.

use mavlink::dialects::ardupilotmega as apm;

use super::{MavMessage, GCS_COMPONENT_ID, GCS_SYSTEM_ID};

/// Encodes outgoing messages from one (system, component) with a running sequence number.
#[derive(Debug, Clone)]
pub struct Outgoing {
    system_id: u8,
    component_id: u8,
    sequence: u8,
}

impl Default for Outgoing {
    fn default() -> Self {
        Self::new(GCS_SYSTEM_ID, GCS_COMPONENT_ID)
    }
}

impl Outgoing {
    pub fn new(system_id: u8, component_id: u8) -> Self {
        Self {
            system_id,
            component_id,
            sequence: 0,
        }
    }

    /// Encodes `message` as a MAVLink 2 frame and advances the sequence.
    pub fn encode(&mut self, message: &MavMessage) -> Vec<u8> {
        let header = mavlink::MavHeader {
            system_id: self.system_id.into(),
            component_id: self.component_id,
            sequence: self.sequence,
        };
        self.sequence = self.sequence.wrapping_add(1);
        let mut bytes = Vec::with_capacity(64);
        // Writing into a Vec cannot fail.
        let _ = mavlink::write_v2_msg(&mut bytes, header, message);
        bytes
    }

    /// Encodes `message` as a MAVLink 1 frame (for v1-only peers) and advances the sequence.
    pub fn encode_v1(&mut self, message: &MavMessage) -> Option<Vec<u8>> {
        let header = mavlink::MavHeader {
            system_id: self.system_id.into(),
            component_id: self.component_id,
            sequence: self.sequence,
        };
        let mut bytes = Vec::with_capacity(64);
        mavlink::write_v1_msg(&mut bytes, header, message).ok()?;
        self.sequence = self.sequence.wrapping_add(1);
        Some(bytes)
    }
}

/// The ground station's heartbeat.
pub fn gcs_heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
        custom_mode: 0,
        mavtype: apm::MavType::MAV_TYPE_GCS,
        autopilot: apm::MavAutopilot::MAV_AUTOPILOT_INVALID,
        base_mode: apm::MavModeFlag::empty(),
        system_status: apm::MavState::MAV_STATE_ACTIVE,
        mavlink_version: 3,
    })
}

/// Telemetry a ground station asks an ArduPilot vehicle for: (stream, rate in Hz).
///
/// REQUEST_DATA_STREAM is deprecated in MAVLink but is what ArduPilot's stream groups obey.
/// EXTRA3 carries EKF_STATUS_REPORT, which tells when the vehicle can fly.
#[allow(deprecated)]
pub const TELEMETRY_STREAMS: [(apm::MavDataStream, u16); 7] = [
    (apm::MavDataStream::MAV_DATA_STREAM_RAW_SENSORS, 2),
    (apm::MavDataStream::MAV_DATA_STREAM_EXTENDED_STATUS, 2),
    (apm::MavDataStream::MAV_DATA_STREAM_RC_CHANNELS, 2),
    (apm::MavDataStream::MAV_DATA_STREAM_POSITION, 5),
    (apm::MavDataStream::MAV_DATA_STREAM_EXTRA1, 10),
    (apm::MavDataStream::MAV_DATA_STREAM_EXTRA2, 5),
    (apm::MavDataStream::MAV_DATA_STREAM_EXTRA3, 1),
];

/// A REQUEST_DATA_STREAM stopping every telemetry stream of `target_system` (a log download
/// has the link to itself meanwhile).
#[allow(deprecated)]
pub fn stop_telemetry(target_system: u8) -> MavMessage {
    MavMessage::REQUEST_DATA_STREAM(apm::REQUEST_DATA_STREAM_DATA {
        req_message_rate: 0,
        target_system,
        target_component: 0,
        req_stream_id: apm::MavDataStream::MAV_DATA_STREAM_ALL,
        start_stop: 0,
    })
}

/// REQUEST_DATA_STREAM messages asking `target` for the usual telemetry.
#[allow(deprecated)]
pub fn request_telemetry(target_system: u8, target_component: u8) -> Vec<MavMessage> {
    TELEMETRY_STREAMS
        .iter()
        .map(|&(stream, rate_hz)| {
            MavMessage::REQUEST_DATA_STREAM(apm::REQUEST_DATA_STREAM_DATA {
                req_message_rate: rate_hz,
                target_system,
                target_component,
                req_stream_id: stream,
                start_stop: 1,
            })
        })
        .collect()
}
