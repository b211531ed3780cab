//! MAVLink 2 message signing (the specification's "Message Signing" chapter), sans-I/O.
//!
//! A signed frame has incompatibility flag 0x01 and ends in a 13-byte block: the link id (1),
//! a timestamp (6, little-endian, in 10 µs units since 2015-01-01 00:00 UTC) and the first 6
//! bytes of SHA-256(secret key ‖ every frame byte from the magic to the timestamp). The key is
//! 32 bytes; Mission Planner and MAVProxy make it as the SHA-256 of a passphrase.
//!
//! A sender's timestamps never go backwards: each is the later of the clock and one more than
//! the last, and the last is kept across runs. A receiver keeps the last timestamp of each
//! (system, component, link) stream and refuses one not newer (a replay); a stream it has not
//! seen is accepted when its timestamp is no more than a minute behind its own clock.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::frame::FrameHeader;

/// The incompatibility flag of a signed frame.
pub const INCOMPAT_SIGNED: u8 = 0x01;
/// Length of the signature block.
pub const SIGNATURE_LEN: usize = 13;
/// 2015-01-01 00:00:00 UTC, µs since the Unix epoch: signing timestamps count from there.
pub const EPOCH_2015_US: u64 = 1_420_070_400_000_000;
/// A new stream's first timestamp may be this far behind the receiver's (one minute).
pub const NEW_STREAM_WINDOW: u64 = 6_000_000;
/// RADIO_STATUS: a radio modem inserts it unsigned; the specification lets it through.
pub const RADIO_STATUS_ID: u32 = 109;
/// MAVLink 2 header length (magic to message id).
const HEADER_LEN: usize = 10;
/// SETUP_SIGNING's message id: it carries the key in clear.
pub const SETUP_SIGNING_ID: u32 = 256;
/// What stands for SETUP_SIGNING's secret key in what Airlock records: every byte `*`.
pub const REDACTION_BYTE: u8 = b'*';
/// Where SETUP_SIGNING's `secret_key` lies in its payload (after `initial_timestamp`,
/// `target_system`, `target_component`).
const SECRET_KEY_AT: std::ops::Range<usize> = 10..42;

/// `chunk` as it may be recorded: every whole, valid SETUP_SIGNING frame in it has its secret
/// key replaced by [`REDACTION_BYTE`] (as much of it as the frame carries: MAVLink 2 trims
/// trailing zero bytes) and its CRC computed again, so a reader sees a valid frame whose key
/// is `****…` (a signature block, if any, no longer matches). `None` when there is none: the
/// chunk is recorded as it is.
pub fn redact_secrets(chunk: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut redacted: Option<Vec<u8>> = None;
    let mut frames = 0;
    let mut at = 0;
    while at < chunk.len() {
        let rest = &chunk[at..];
        if let super::frame::Probe::Valid(header) = super::frame::probe(rest) {
            if header.message_id == SETUP_SIGNING_ID {
                let out = redacted.get_or_insert_with(|| chunk.to_vec());
                let payload_at = at + HEADER_LEN;
                let payload_end = payload_at + usize::from(header.payload_len);
                let key = (payload_at + SECRET_KEY_AT.start).min(payload_end)
                    ..(payload_at + SECRET_KEY_AT.end).min(payload_end);
                out[key].fill(REDACTION_BYTE);
                if let Some(crc_extra) = super::dialect::crc_extra(header.message_id) {
                    let crc = mavlink::calculate_crc(&out[at + 1..payload_end], crc_extra);
                    out[payload_end..payload_end + 2].copy_from_slice(&crc.to_le_bytes());
                }
                frames += 1;
                at += header.frame_len;
                continue;
            }
        }
        at += 1;
    }
    redacted.map(|bytes| (bytes, frames))
}

/// A 32-byte signing key. Its bytes are never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

impl SigningKey {
    /// The key Mission Planner and MAVProxy make from a passphrase: its SHA-256.
    pub fn from_passphrase(passphrase: &str) -> Self {
        Self(Sha256::digest(passphrase.as_bytes()).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 6-byte signature of `signed_part` (magic to timestamp).
    fn signature(&self, signed_part: &[u8]) -> [u8; 6] {
        let digest = Sha256::new()
            .chain_update(self.0)
            .chain_update(signed_part)
            .finalize();
        let mut signature = [0u8; 6];
        signature.copy_from_slice(&digest[..6]);
        signature
    }
}

/// The signing timestamp of a wall-clock time (µs since the Unix epoch).
pub fn timestamp_of_wall(wall_us: u64) -> u64 {
    wall_us.saturating_sub(EPOCH_2015_US) / 10
}

/// Signs an unsigned MAVLink 2 frame in place: sets the flag, computes the CRC again (the flag
/// is under it) and appends the block. False (frame untouched) for anything but a whole
/// unsigned MAVLink 2 frame of a known message.
pub fn sign_frame(frame: &mut Vec<u8>, key: &SigningKey, link_id: u8, timestamp: u64) -> bool {
    let Ok(header) = super::frame::read_header(frame) else {
        return false;
    };
    let Some(crc_extra) = super::dialect::crc_extra(header.message_id) else {
        return false;
    };
    if header.version != super::frame::Version::V2
        || header.is_signed()
        || frame.len() != header.frame_len
    {
        return false;
    }
    let crc_end = HEADER_LEN + usize::from(header.payload_len);
    frame[2] |= INCOMPAT_SIGNED;
    let crc = mavlink::calculate_crc(&frame[1..crc_end], crc_extra);
    frame[crc_end..crc_end + 2].copy_from_slice(&crc.to_le_bytes());
    frame.push(link_id);
    frame.extend_from_slice(&timestamp.to_le_bytes()[..6]);
    let signature = key.signature(frame);
    frame.extend_from_slice(&signature);
    true
}

/// Signs what a ground station sends: one link id, timestamps that never go backwards.
#[derive(Debug, Clone)]
pub struct Signer {
    key: SigningKey,
    link_id: u8,
    last: u64,
}

impl Signer {
    /// `last` is the latest timestamp used before (kept across runs), 0 if none.
    pub fn new(key: SigningKey, link_id: u8, last: u64) -> Self {
        Self { key, link_id, last }
    }

    /// The timestamp for a frame sent at `wall_us`: the clock's, or one more than the last.
    pub fn next_timestamp(&mut self, wall_us: u64) -> u64 {
        self.last = timestamp_of_wall(wall_us).max(self.last + 1);
        self.last
    }

    /// Signs `frame` (see [`sign_frame`]); false when it cannot be signed.
    pub fn sign(&mut self, frame: &mut Vec<u8>, wall_us: u64) -> bool {
        let timestamp = self.next_timestamp(wall_us);
        sign_frame(frame, &self.key, self.link_id, timestamp)
    }

    /// The latest timestamp used: keep it for the next run.
    pub fn last_timestamp(&self) -> u64 {
        self.last
    }
}

/// What a received frame's signature says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    /// Signed with the key, and newer than its stream's last.
    Signed,
    /// Not signed.
    Unsigned,
    /// Not signed, but a RADIO_STATUS, which a radio inserts: allowed.
    UnsignedRadioStatus,
    /// Signed, but not with this key (or altered on the way).
    BadSignature,
    /// Signed with the key, but not newer than its stream's last (a replay), or a new stream
    /// more than a minute behind.
    Stale,
}

impl Verdict {
    /// Whether a link that enforces signing takes the frame.
    pub fn accepted(self) -> bool {
        matches!(self, Self::Signed | Self::UnsignedRadioStatus)
    }
}

/// Counts of what was received, by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SigningCounts {
    pub signed: u64,
    pub unsigned: u64,
    pub bad_signature: u64,
    pub stale: u64,
}

/// What the operator is shown of a signed link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SigningStatus {
    pub counts: SigningCounts,
    /// Whether the latest frame let through was signed or unsigned (those kept out are
    /// counted, not shown as the link's state).
    pub last: Option<Verdict>,
    /// Frames kept from the live state and the services (badly signed, stale, or unsigned from
    /// a sender that signed before).
    pub rejected: u64,
}

impl SigningStatus {
    /// `signed`, `unsigned`, or with `bad signatures (N)` when any came.
    pub fn words(&self) -> String {
        let state = if self.last == Some(Verdict::Signed) {
            "signed"
        } else {
            "unsigned"
        };
        let bad = self.counts.bad_signature + self.counts.stale;
        if bad > 0 {
            format!("{state} · bad signatures ({bad})")
        } else {
            state.to_owned()
        }
    }
}

/// Checks received frames against a key, per (system, component, link) stream.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: SigningKey,
    streams: HashMap<(u8, u8, u8), u64>,
    /// Senders that have signed: their unsigned frames are refused from then on.
    signers: std::collections::HashSet<(u8, u8)>,
    /// The latest timestamp this side knows (its clock, or a newer one seen).
    now: u64,
    pub counts: SigningCounts,
    status: SigningStatus,
}

impl Verifier {
    pub fn new(key: SigningKey) -> Self {
        Self {
            key,
            streams: HashMap::new(),
            signers: Default::default(),
            now: 0,
            counts: SigningCounts::default(),
            status: SigningStatus::default(),
        }
    }

    /// Judges a frame and says whether it may reach the live state and the services: signed
    /// frames and a radio's RADIO_STATUS do; badly signed and stale ones never; unsigned ones
    /// only from a sender that has not signed before (a vehicle without the key still shows,
    /// as *unsigned*; one that signs cannot be spoken for by an unsigned intruder).
    pub fn admit(&mut self, header: &FrameHeader, frame: &[u8], wall_us: u64) -> bool {
        let verdict = self.check(header, frame, wall_us);
        let sender = (header.system_id, header.component_id);
        let admitted = match verdict {
            Verdict::Signed => {
                self.signers.insert(sender);
                true
            }
            Verdict::UnsignedRadioStatus => true,
            Verdict::Unsigned => !self.signers.contains(&sender),
            Verdict::BadSignature | Verdict::Stale => false,
        };
        // An intruder's unsigned frame, kept out, does not make the link look unsigned.
        if admitted && matches!(verdict, Verdict::Signed | Verdict::Unsigned) {
            self.status.last = Some(verdict);
        }
        if !admitted {
            self.status.rejected += 1;
        }
        admitted
    }

    /// What the operator is shown.
    pub fn status(&self) -> SigningStatus {
        SigningStatus {
            counts: self.counts,
            ..self.status
        }
    }

    /// Judges one whole frame (as the framer gave it) received at `wall_us`, and counts it.
    pub fn check(&mut self, header: &FrameHeader, frame: &[u8], wall_us: u64) -> Verdict {
        self.now = self.now.max(timestamp_of_wall(wall_us));
        let verdict = self.judge(header, frame);
        match verdict {
            Verdict::Signed => self.counts.signed += 1,
            Verdict::Unsigned | Verdict::UnsignedRadioStatus => self.counts.unsigned += 1,
            Verdict::BadSignature => self.counts.bad_signature += 1,
            Verdict::Stale => self.counts.stale += 1,
        }
        verdict
    }

    fn judge(&mut self, header: &FrameHeader, frame: &[u8]) -> Verdict {
        if !header.is_signed() || frame.len() < SIGNATURE_LEN {
            return if header.message_id == RADIO_STATUS_ID {
                Verdict::UnsignedRadioStatus
            } else {
                Verdict::Unsigned
            };
        }
        let (signed_part, signature) = frame.split_at(frame.len() - 6);
        if self.key.signature(signed_part) != signature {
            return Verdict::BadSignature;
        }
        let block = &signed_part[signed_part.len() - 7..];
        let link_id = block[0];
        let mut stamp = [0u8; 8];
        stamp[..6].copy_from_slice(&block[1..7]);
        let timestamp = u64::from_le_bytes(stamp);
        let stream = (header.system_id, header.component_id, link_id);
        let fresh = match self.streams.get(&stream) {
            Some(&last) => timestamp > last,
            None => timestamp + NEW_STREAM_WINDOW >= self.now,
        };
        if !fresh {
            return Verdict::Stale;
        }
        self.streams.insert(stream, timestamp);
        self.now = self.now.max(timestamp);
        Verdict::Signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::read_header;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A HEARTBEAT signed by pymavlink 2.4 with the SHA-256 of "airlock test passphrase", link
    /// 3, timestamp 0x123456789a (an independent implementation's bytes).
    const PYMAVLINK_SIGNED: &str =
        "fd09010000ffbe000000000000000608000403dab0039a7856341200273be90e4e72";

    /// The ground station's heartbeat from system 255, component 190, sequence 0.
    fn heartbeat() -> Vec<u8> {
        crate::protocol::Outgoing::new(255, 190).encode(&crate::protocol::outgoing::gcs_heartbeat())
    }

    #[test]
    fn signs_exactly_as_pymavlink_does() {
        let key = SigningKey::from_passphrase("airlock test passphrase");
        assert_eq!(
            key.bytes().to_vec(),
            hex("1876a8bc238623a547eefa7d40d3b2a19b7dadf49dbe13c2e0a0d1ef8ea6fe06")
        );
        let mut frame = heartbeat();
        assert!(sign_frame(&mut frame, &key, 3, 0x12_3456_789a));
        assert_eq!(frame, hex(PYMAVLINK_SIGNED));
        // Already signed, or not a frame: left alone.
        assert!(!sign_frame(&mut frame, &key, 3, 1));
        let mut junk = vec![0xfd, 1, 2];
        assert!(!sign_frame(&mut junk, &key, 3, 1));
        assert_eq!(junk, [0xfd, 1, 2]);
        assert_eq!(format!("{key:?}"), "SigningKey(…)");
    }

    #[test]
    fn verifies_counts_and_refuses_replays_and_other_keys() {
        let key = SigningKey::from_passphrase("airlock test passphrase");
        let signed = hex(PYMAVLINK_SIGNED);
        let header = read_header(&signed).unwrap();
        // 2015-01-01 + 0x123456789a × 10 µs, give or take: the receiver's clock then.
        let wall_us = EPOCH_2015_US + 0x12_3456_789a * 10;
        let mut verifier = Verifier::new(key.clone());
        assert_eq!(verifier.check(&header, &signed, wall_us), Verdict::Signed);
        assert_eq!(verifier.check(&header, &signed, wall_us), Verdict::Stale);
        let mut other = Verifier::new(SigningKey::from_passphrase("another"));
        assert_eq!(
            other.check(&header, &signed, wall_us),
            Verdict::BadSignature
        );
        let mut flipped = signed.clone();
        flipped[12] ^= 1;
        assert_eq!(
            Verifier::new(key.clone()).check(&header, &flipped, wall_us),
            Verdict::BadSignature
        );
        // A new stream an hour behind the receiver's clock is stale.
        assert_eq!(
            Verifier::new(key).check(&header, &signed, wall_us + 3_600_000_000),
            Verdict::Stale
        );
        let unsigned = heartbeat();
        let header = read_header(&unsigned).unwrap();
        assert_eq!(
            verifier.check(&header, &unsigned, wall_us),
            Verdict::Unsigned
        );
        assert_eq!(
            verifier.counts,
            SigningCounts {
                signed: 1,
                unsigned: 1,
                bad_signature: 0,
                stale: 1
            }
        );
    }

    #[test]
    fn the_secret_of_setup_signing_is_redacted_and_the_frame_stays_valid() {
        use crate::protocol::frame::{parse_all, Parsed};
        let key = SigningKey::from_passphrase("airlock test passphrase");
        let setup = crate::protocol::MavMessage::SETUP_SIGNING(
            mavlink::dialects::ardupilotmega::SETUP_SIGNING_DATA {
                initial_timestamp: 0x12_3456_789a,
                target_system: 1,
                target_component: 1,
                secret_key: *key.bytes(),
            },
        );
        let mut outgoing = crate::protocol::Outgoing::new(255, 190);
        let mut chunk = heartbeat();
        let setup_frame = outgoing.encode(&setup);
        chunk.extend_from_slice(&setup_frame);
        chunk.extend_from_slice(&heartbeat());
        let (redacted, frames) = redact_secrets(&chunk).expect("found");
        assert_eq!(frames, 1);
        assert_eq!(redacted.len(), chunk.len());
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(contains(&chunk, key.bytes()));
        assert!(!contains(&redacted, &key.bytes()[..8]));
        // Still three valid frames; the SETUP_SIGNING one now holds `****…`.
        let mut secrets = Vec::new();
        let stats = parse_all(&redacted, &mut |item| {
            if let Parsed::Frame(header, bytes) = item {
                if let Ok(crate::protocol::MavMessage::SETUP_SIGNING(data)) =
                    crate::protocol::decode(&header, bytes)
                {
                    secrets.push((data.secret_key, data.initial_timestamp));
                }
            }
        });
        assert_eq!((stats.frames, stats.crc_errors), (3, 0));
        assert_eq!(secrets, [([REDACTION_BYTE; 32], 0x12_3456_789a)]);
        // Anything else is left as it is.
        assert_eq!(redact_secrets(&heartbeat()), None);
        assert_eq!(redact_secrets(&setup_frame[..20]), None);
    }

    #[test]
    fn a_signers_timestamps_never_go_backwards() {
        let key = SigningKey::from_bytes([7; 32]);
        let wall = EPOCH_2015_US + 1_000_000_000;
        let mut signer = Signer::new(key.clone(), 0, 0);
        let first = signer.next_timestamp(wall);
        assert_eq!(first, 100_000_000);
        // The same instant, or a clock set back: one more each time.
        assert_eq!(signer.next_timestamp(wall), first + 1);
        assert_eq!(signer.next_timestamp(wall - 5_000_000), first + 2);
        // A run that kept a later timestamp starts after it.
        let mut next_run = Signer::new(key.clone(), 0, first + 1_000);
        assert_eq!(next_run.next_timestamp(wall), first + 1_001);
        // What a signer sends, a verifier takes, in order.
        let mut verifier = Verifier::new(key);
        for _ in 0..3 {
            let mut frame = heartbeat();
            assert!(signer.sign(&mut frame, wall));
            let header = read_header(&frame).unwrap();
            assert_eq!(verifier.check(&header, &frame, wall), Verdict::Signed);
        }
    }
}
