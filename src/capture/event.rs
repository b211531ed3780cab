//! The link events a flight's raw capture holds (record kind 2), as one typed contract between
//! the recorder that writes them and the readers (summary, review) that act on them.
//!
//! Stored as one JSON object with an `event` member (see `docs/raw-capture-format.md`); events
//! and members a reader does not know are ignored, so older readers keep working.

use serde::{Deserialize, Serialize};

/// One link event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LinkEvent {
    /// The port was opened (again, after a loss).
    Open {
        port: String,
        baud: u32,
        #[serde(default)]
        description: String,
        #[serde(default)]
        usb_serial: Option<String>,
    },
    /// Auto-baud switched to a rate (`detected: false`) or settled on it (`true`).
    Baud { baud: u32, detected: bool },
    /// The port failed (unplugged, closed).
    Lost { error: String },
    /// The bytes of the sent (tx) record just before did not all reach the port.
    WriteFailed { bytes: u64, error: String },
    /// The operator asked the vehicle for something: recorded before its first frame is sent.
    Request {
        id: u64,
        /// `system:component`, or none for the first vehicle heard.
        #[serde(default)]
        target: Option<String>,
        /// What was asked, in words (`arm`, `take off to 20 m`…).
        action: String,
    },
    /// How a request ended, in words (`accepted`, `refused (arm: FAILED): PreArm: …`).
    Outcome {
        id: u64,
        accepted: bool,
        outcome: String,
    },
    /// Recording was paused (a full disk) and has resumed: what crossed the link meanwhile was
    /// not kept. Written when recording resumes, so it follows the last record kept before.
    Gap {
        /// When the pause began (µs since the epoch, and on the capture's monotonic clock).
        since_wall_us: u64,
        since_mono_us: u64,
        /// Received and sent bytes that were not kept.
        rx_bytes: u64,
        tx_bytes: u64,
        /// Link events and `.tlog` records that were not kept.
        events: u64,
        tlog_records: u64,
        /// Why the writes failed.
        error: String,
    },
    /// The sent (tx) record that follows holds frames whose secrets were replaced before
    /// recording: SETUP_SIGNING's `secret_key`, every byte `*` (0x2A), the CRC made again. What
    /// went on the wire held the key.
    Redacted {
        /// The message (`SETUP_SIGNING`), its field (`secret_key`), and how many frames.
        message: String,
        field: String,
        frames: u64,
    },
    /// The recorder stopped on an error it could not recover from.
    Failed { error: String },
    /// The recorder closed the flight.
    Close,
    /// An event of a newer Airlock.
    #[serde(other)]
    Unknown,
}

impl LinkEvent {
    /// Reads an event record's data; `None` when it is not an event object at all.
    pub fn parse(data: &[u8]) -> Option<Self> {
        serde_json::from_slice(data).ok()
    }

    /// The record data.
    pub fn to_json(&self) -> Vec<u8> {
        // A plain enum of strings and numbers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Whether a reader that wants the frames Airlock saw restarts its framing here: the link
    /// was lost, auto-baud moved to another rate (not when it settled on the one it is at), or
    /// received bytes are missing (a recording gap).
    pub fn resets_framing(&self) -> bool {
        matches!(
            self,
            Self::Lost { .. }
                | Self::Gap { .. }
                | Self::Baud {
                    detected: false,
                    ..
                }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_earlier_recorders_wrote_and_ignores_the_unknown() {
        let open = br#"{"event":"open","port":"/dev/pts/3","baud":57600,"description":"pty","usb_serial":null}"#;
        assert_eq!(
            LinkEvent::parse(open),
            Some(LinkEvent::Open {
                port: "/dev/pts/3".into(),
                baud: 57600,
                description: "pty".into(),
                usb_serial: None
            })
        );
        let baud = br#"{"event":"baud","baud":115200,"detected":false,"extra":1}"#;
        assert!(LinkEvent::parse(baud).unwrap().resets_framing());
        assert!(
            !LinkEvent::parse(br#"{"event":"baud","baud":1,"detected":true}"#)
                .unwrap()
                .resets_framing()
        );
        assert_eq!(
            LinkEvent::parse(br#"{"event":"teleport"}"#),
            Some(LinkEvent::Unknown)
        );
        assert_eq!(LinkEvent::parse(b"not json"), None);
        let request = LinkEvent::Request {
            id: 3,
            target: Some("1:1".into()),
            action: "arm".into(),
        };
        assert_eq!(LinkEvent::parse(&request.to_json()), Some(request));
    }
}
