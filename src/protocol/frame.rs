//! MAVLink framing: finding frames in a byte stream and judging them.
//!
//! The `mavlink` crate knows the messages; this module decides what counts as a frame, so that
//! every verdict (valid, CRC error, unknown id, garbage) is ours to count. It never decodes
//! payloads and never touches I/O.
//!
//! Rules:
//! - v1 frames start with `0xFE`, v2 frames with `0xFD`; a v2 frame whose `incompat_flags` has
//!   any bit other than "signed" is not a frame we can read, so its start byte is garbage.
//! - A frame with a known message id is valid when its CRC (with the id's CRC extra) matches.
//! - After a bad candidate, scanning restarts one byte after its start: a valid frame hiding
//!   inside a false candidate is never lost.
//! - A frame with an unknown id cannot be checked by CRC, so it is accepted only when no valid
//!   frame starts inside it and another whole frame (or the end of the stream) follows it.
//!   Garbage cannot swallow a real frame that way. Such frames are counted apart from valid ones.

use super::dialect;

/// Start byte of a MAVLink 1 frame.
pub const STX_V1: u8 = 0xFE;
/// Start byte of a MAVLink 2 frame.
pub const STX_V2: u8 = 0xFD;
/// Largest possible frame: v2 header (10) + payload (255) + CRC (2) + signature (13).
pub const MAX_FRAME_LEN: usize = 280;

const V1_HEADER_LEN: usize = 6;
const V2_HEADER_LEN: usize = 10;
const CRC_LEN: usize = 2;
const SIGNATURE_LEN: usize = 13;
const INCOMPAT_SIGNED: u8 = 0x01;

/// MAVLink protocol version of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Version {
    V1,
    V2,
}

/// The header fields of one frame, and where its bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub version: Version,
    pub payload_len: u8,
    pub incompat_flags: u8,
    pub compat_flags: u8,
    pub sequence: u8,
    pub system_id: u8,
    pub component_id: u8,
    pub message_id: u32,
    /// Whole frame length in bytes, from the start byte to the end of the signature.
    pub frame_len: usize,
}

impl FrameHeader {
    /// The header of a MAVLink 2 message from `system_id`:`component_id`, for messages that
    /// were not read off a wire (the simulator's, the tests', the fuzzer's).
    pub fn of_sender(system_id: u8, component_id: u8, message_id: u32) -> Self {
        Self {
            version: Version::V2,
            payload_len: 0,
            incompat_flags: 0,
            compat_flags: 0,
            sequence: 0,
            system_id,
            component_id,
            message_id,
            frame_len: 0,
        }
    }

    /// Whether the frame carries a v2 signature.
    pub fn is_signed(&self) -> bool {
        self.version == Version::V2 && self.incompat_flags & INCOMPAT_SIGNED != 0
    }

    /// Offset of the payload inside the frame.
    pub fn payload_offset(&self) -> usize {
        1 + match self.version {
            Version::V1 => V1_HEADER_LEN - 1,
            Version::V2 => V2_HEADER_LEN - 1,
        }
    }

    /// The payload bytes of `frame` (which must be the frame this header was read from).
    pub fn payload<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        let start = self.payload_offset();
        &frame[start..start + usize::from(self.payload_len)]
    }
}

/// What the bytes at the start of a buffer are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The first byte cannot start a frame.
    NotStart,
    /// A frame may start here but the buffer ends before it does.
    NeedMore,
    /// A complete frame of a known message whose CRC matches.
    Valid(FrameHeader),
    /// A complete frame of a known message whose CRC does not match.
    BadCrc(FrameHeader),
    /// A complete frame whose message id the dialect does not know (CRC not checkable).
    UnknownId(FrameHeader),
}

/// Reads the header at the start of `buf`, without judging the CRC.
pub fn read_header(buf: &[u8]) -> Result<FrameHeader, Probe> {
    let Some(&stx) = buf.first() else {
        return Err(Probe::NeedMore);
    };
    match stx {
        STX_V1 => {
            if buf.len() < V1_HEADER_LEN {
                return Err(Probe::NeedMore);
            }
            let payload_len = buf[1];
            Ok(FrameHeader {
                version: Version::V1,
                payload_len,
                incompat_flags: 0,
                compat_flags: 0,
                sequence: buf[2],
                system_id: buf[3],
                component_id: buf[4],
                message_id: u32::from(buf[5]),
                frame_len: V1_HEADER_LEN + usize::from(payload_len) + CRC_LEN,
            })
        }
        STX_V2 => {
            if buf.len() < 3 {
                return Err(Probe::NeedMore);
            }
            let incompat_flags = buf[2];
            if incompat_flags & !INCOMPAT_SIGNED != 0 {
                return Err(Probe::NotStart);
            }
            if buf.len() < V2_HEADER_LEN {
                return Err(Probe::NeedMore);
            }
            let payload_len = buf[1];
            let signature = if incompat_flags & INCOMPAT_SIGNED != 0 {
                SIGNATURE_LEN
            } else {
                0
            };
            Ok(FrameHeader {
                version: Version::V2,
                payload_len,
                incompat_flags,
                compat_flags: buf[3],
                sequence: buf[4],
                system_id: buf[5],
                component_id: buf[6],
                message_id: u32::from_le_bytes([buf[7], buf[8], buf[9], 0]),
                frame_len: V2_HEADER_LEN + usize::from(payload_len) + CRC_LEN + signature,
            })
        }
        _ => Err(Probe::NotStart),
    }
}

/// Judges the bytes at the start of `buf`: see [`Probe`].
pub fn probe(buf: &[u8]) -> Probe {
    let header = match read_header(buf) {
        Ok(header) => header,
        Err(verdict) => return verdict,
    };
    if buf.len() < header.frame_len {
        return Probe::NeedMore;
    }
    let Some(crc_extra) = dialect::crc_extra(header.message_id) else {
        return Probe::UnknownId(header);
    };
    let crc_end = header.payload_offset() + usize::from(header.payload_len);
    let expected = u16::from_le_bytes([buf[crc_end], buf[crc_end + 1]]);
    if mavlink::calculate_crc(&buf[1..crc_end], crc_extra) == expected {
        Probe::Valid(header)
    } else {
        Probe::BadCrc(header)
    }
}

/// What a stream of bytes turned out to hold, reported in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A valid frame of a known message (CRC checked), exactly as on the wire.
    Frame(FrameHeader, &'a [u8]),
    /// A frame with a message id the dialect does not know, exactly as on the wire.
    Unknown(FrameHeader, &'a [u8]),
    /// A complete frame of a known message whose CRC failed; its bytes are also reported as
    /// [`Parsed::Garbage`], since scanning restarts inside it.
    CrcError(FrameHeader),
    /// Bytes that are not part of any accepted frame.
    Garbage(&'a [u8]),
}

/// Counters a [`Framer`] keeps over everything it was fed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FramerStats {
    pub bytes: u64,
    pub frames: u64,
    pub unknown_frames: u64,
    pub crc_errors: u64,
    pub garbage_bytes: u64,
}

/// A streaming frame finder: feed it bytes in any chunks, get the same frames.
///
/// It is sans-I/O: callers push bytes and receive [`Parsed`] items through a callback.
#[derive(Debug, Default)]
pub struct Framer {
    pending: Vec<u8>,
    stats: FramerStats,
}

/// Result of looking at the candidate at the start of a buffer.
enum Step {
    /// Wait for more bytes before deciding.
    Wait,
    /// Accept a frame of this length (known or unknown).
    Accept(FrameHeader, bool),
    /// Not a frame: this many bytes (at least one) are garbage; maybe a CRC error to count.
    Skip(usize, Option<FrameHeader>),
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> FramerStats {
        self.stats
    }

    /// Bytes held back because they may begin a frame that is not complete yet.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Feeds `data` and reports every decision that can be made now.
    pub fn push(&mut self, data: &[u8], on: &mut impl FnMut(Parsed<'_>)) {
        self.stats.bytes += data.len() as u64;
        if self.pending.is_empty() {
            let used = self.scan(data, false, on);
            self.pending.extend_from_slice(&data[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.pending);
            buf.extend_from_slice(data);
            let used = self.scan(&buf, false, on);
            buf.drain(..used);
            self.pending = buf;
        }
    }

    /// The stream has ended (or the link was closed): decide on everything held back.
    pub fn flush(&mut self, on: &mut impl FnMut(Parsed<'_>)) {
        let buf = std::mem::take(&mut self.pending);
        let used = self.scan(&buf, true, on);
        debug_assert_eq!(used, buf.len());
    }

    /// Scans `buf`, reporting items; returns how many bytes were decided.
    fn scan(&mut self, buf: &[u8], at_end: bool, on: &mut impl FnMut(Parsed<'_>)) -> usize {
        let mut pos = 0;
        let mut garbage_from = 0;
        while pos < buf.len() {
            let rest = &buf[pos..];
            // Fast path over bytes that cannot start a frame.
            if rest[0] != STX_V1 && rest[0] != STX_V2 {
                pos += rest
                    .iter()
                    .position(|&b| b == STX_V1 || b == STX_V2)
                    .unwrap_or(rest.len());
                continue;
            }
            match step(rest, at_end) {
                Step::Wait => break,
                Step::Skip(n, crc_error) => {
                    if let Some(header) = crc_error {
                        self.stats.crc_errors += 1;
                        on(Parsed::CrcError(header));
                    }
                    pos += n;
                }
                Step::Accept(header, known) => {
                    self.report_garbage(&buf[garbage_from..pos], on);
                    let frame = &rest[..header.frame_len];
                    if known {
                        self.stats.frames += 1;
                        on(Parsed::Frame(header, frame));
                    } else {
                        self.stats.unknown_frames += 1;
                        on(Parsed::Unknown(header, frame));
                    }
                    pos += header.frame_len;
                    garbage_from = pos;
                }
            }
        }
        self.report_garbage(&buf[garbage_from..pos], on);
        pos
    }

    fn report_garbage(&mut self, bytes: &[u8], on: &mut impl FnMut(Parsed<'_>)) {
        if !bytes.is_empty() {
            self.stats.garbage_bytes += bytes.len() as u64;
            on(Parsed::Garbage(bytes));
        }
    }
}

/// Decides on the candidate at the start of `buf` (whose first byte is a start byte).
fn step(buf: &[u8], at_end: bool) -> Step {
    match probe(buf) {
        Probe::NotStart => Step::Skip(1, None),
        Probe::NeedMore if at_end => Step::Skip(1, None),
        Probe::NeedMore => Step::Wait,
        Probe::Valid(header) => Step::Accept(header, true),
        Probe::BadCrc(header) if buf.len() == header.frame_len && !at_end => Step::Wait,
        Probe::BadCrc(header) => {
            // Count it as a damaged frame only when it is followed by what looks like another
            // frame; a start byte inside random noise is not a frame that was damaged.
            let looks_framed = buf
                .get(header.frame_len)
                .is_none_or(|&b| b == STX_V1 || b == STX_V2);
            Step::Skip(1, looks_framed.then_some(header))
        }
        Probe::UnknownId(header) => judge_unknown(buf, header, at_end),
    }
}

fn judge_unknown(buf: &[u8], header: FrameHeader, at_end: bool) -> Step {
    let end = header.frame_len;
    // A real frame starting inside the candidate wins over it.
    let inner_valid = (1..end).any(|i| {
        (buf[i] == STX_V1 || buf[i] == STX_V2) && matches!(probe(&buf[i..]), Probe::Valid(_))
    });
    if inner_valid {
        return Step::Skip(1, None);
    }
    // A frame inside may still be incomplete: decide only when everything after is known.
    let inner_waiting = (1..end).any(|i| {
        (buf[i] == STX_V1 || buf[i] == STX_V2) && matches!(probe(&buf[i..]), Probe::NeedMore)
    });
    if inner_waiting && !at_end {
        return Step::Wait;
    }
    // What follows must be another whole frame (valid, or itself of an unknown id), or the end.
    match probe(&buf[end..]) {
        Probe::NeedMore if at_end => Step::Accept(header, false),
        Probe::NeedMore => Step::Wait,
        Probe::Valid(_) | Probe::UnknownId(_) => Step::Accept(header, false),
        Probe::NotStart | Probe::BadCrc(_) => Step::Skip(1, None),
    }
}

/// Parses a whole buffer at once (flushing at its end).
pub fn parse_all(data: &[u8], on: &mut impl FnMut(Parsed<'_>)) -> FramerStats {
    let mut framer = Framer::new();
    framer.push(data, on);
    framer.flush(on);
    framer.stats()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    // Golden frames, encoded by pymavlink 2.4 (an independent implementation).

    /// MAVLink 1 HEARTBEAT from system 1, component 1, sequence 0x4e.
    pub const V1_HEARTBEAT: [u8; 17] = [
        0xfe, // STX v1
        0x09, // payload length
        0x4e, // sequence
        0x01, 0x01, // system, component
        0x00, // message id 0: HEARTBEAT
        0x04, 0x00, 0x00, 0x00, // custom_mode = 4 (GUIDED)
        0x02, 0x03, 0x51, 0x03, 0x03, // type quad, autopilot APM, base_mode, state, version
        0x85, 0x43, // CRC (with CRC extra 50)
    ];

    /// MAVLink 2 ATTITUDE, payload truncated from 28 to 16 bytes (trailing zeros dropped).
    pub const V2_ATTITUDE: [u8; 28] = [
        0xfd, 0x10, // STX v2, payload length 16
        0x00, 0x00, // incompat, compat flags
        0x07, 0x01, 0x01, // sequence, system, component
        0x1e, 0x00, 0x00, // message id 30: ATTITUDE
        0xe8, 0x03, 0x00, 0x00, // time_boot_ms = 1000
        0xcd, 0xcc, 0xcc, 0x3d, // roll = 0.1
        0xcd, 0xcc, 0x4c, 0xbe, // pitch = -0.2
        0x00, 0x00, 0xc0, 0x3f, // yaw = 1.5 (the zero rates are truncated)
        0x2d, 0x11, // CRC
    ];

    /// MAVLink 2 HEARTBEAT, signed (incompat flag 1): 13 signature bytes follow the CRC.
    pub const V2_SIGNED_HEARTBEAT: [u8; 34] = [
        0xfd, 0x09, 0x01, 0x00, // STX, length, incompat = signed, compat
        0x09, 0x01, 0x01, // sequence, system, component
        0x00, 0x00, 0x00, // message id 0
        0x04, 0x00, 0x00, 0x00, 0x02, 0x03, 0x51, 0x03, 0x03, // payload
        0x4d, 0x04, // CRC
        0x00, // link id
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // timestamp (48 bits)
        0xe7, 0x91, 0x66, 0x74, 0x34, 0xa6, // signature (48 bits)
    ];

    fn collect(data: &[u8]) -> (Vec<Vec<u8>>, FramerStats) {
        let mut frames = Vec::new();
        let stats = parse_all(data, &mut |item| {
            if let Parsed::Frame(_, bytes) | Parsed::Unknown(_, bytes) = item {
                frames.push(bytes.to_vec());
            }
        });
        (frames, stats)
    }

    #[test]
    fn reads_golden_frames() {
        for frame in [&V1_HEARTBEAT[..], &V2_ATTITUDE, &V2_SIGNED_HEARTBEAT] {
            let Probe::Valid(header) = probe(frame) else {
                panic!("not valid: {frame:02x?}");
            };
            assert_eq!(header.frame_len, frame.len());
        }
        let Probe::Valid(signed) = probe(&V2_SIGNED_HEARTBEAT) else {
            unreachable!()
        };
        assert!(signed.is_signed());
        assert_eq!(signed.sequence, 9);
    }

    #[test]
    fn decodes_truncated_v2_payload() {
        let Probe::Valid(header) = probe(&V2_ATTITUDE) else {
            panic!()
        };
        let crate::protocol::MavMessage::ATTITUDE(att) =
            crate::protocol::decode(&header, &V2_ATTITUDE).expect("decodes")
        else {
            panic!("not ATTITUDE")
        };
        assert_eq!(att.time_boot_ms, 1000);
        assert!((att.yaw - 1.5).abs() < 1e-6);
        assert_eq!(att.yawspeed, 0.0);
    }

    #[test]
    fn resyncs_after_garbage_and_counts_it() {
        let mut data = vec![0x00, 0xfe, 0x13, 0xfd, 0xff, 0x42];
        data.extend_from_slice(&V1_HEARTBEAT);
        data.extend_from_slice(&[0xfd, 0xfd, 0x01]);
        data.extend_from_slice(&V2_ATTITUDE);
        let (frames, stats) = collect(&data);
        assert_eq!(frames, vec![V1_HEARTBEAT.to_vec(), V2_ATTITUDE.to_vec()]);
        assert_eq!(stats.garbage_bytes, 9);
        assert_eq!(stats.frames, 2);
    }

    #[test]
    fn a_frame_with_a_bad_crc_is_counted_and_its_successor_kept() {
        let mut broken = V2_ATTITUDE;
        broken[12] ^= 0x01;
        let mut data = broken.to_vec();
        data.extend_from_slice(&V1_HEARTBEAT);
        let (frames, stats) = collect(&data);
        assert_eq!(frames, vec![V1_HEARTBEAT.to_vec()]);
        assert_eq!(stats.crc_errors, 1);
        assert_eq!(stats.garbage_bytes, V2_ATTITUDE.len() as u64);
    }

    #[test]
    fn a_valid_frame_inside_a_false_start_is_found() {
        // A start byte whose length claims the next bytes: the real frame starts inside it.
        let mut data = vec![0xfe, 0x20, 0x00, 0x01, 0x01, 0x00];
        data.extend_from_slice(&V1_HEARTBEAT);
        data.extend_from_slice(&V2_ATTITUDE);
        data.extend_from_slice(&[0u8; 40]);
        let (frames, _) = collect(&data);
        assert_eq!(frames, vec![V1_HEARTBEAT.to_vec(), V2_ATTITUDE.to_vec()]);
    }

    #[test]
    fn a_false_unknown_frame_never_swallows_a_real_one() {
        // 0xfd, len 4, flags 0, seq, sys, comp, id 0xfffff0 (unknown): 16 bytes of "frame" that
        // would cover the start of the heartbeat after it.
        let mut data = vec![
            0xfd, 0x04, 0x00, 0x00, 0x00, 0x01, 0x01, 0xf0, 0xff, 0xff, 0x00,
        ];
        data.extend_from_slice(&V1_HEARTBEAT);
        let (frames, stats) = collect(&data);
        assert_eq!(frames, vec![V1_HEARTBEAT.to_vec()]);
        assert_eq!(stats.unknown_frames, 0);
    }

    #[test]
    fn a_real_unknown_frame_between_frames_is_counted() {
        // A well-formed v2 frame with an id no dialect we ship knows (0xabcdef).
        let mut unknown = vec![0xfd, 0x02, 0x00, 0x00, 0x05, 0x01, 0x01, 0xef, 0xcd, 0xab];
        unknown.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]);
        let mut data = V1_HEARTBEAT.to_vec();
        data.extend_from_slice(&unknown);
        data.extend_from_slice(&V2_ATTITUDE);
        let mut kinds = Vec::new();
        parse_all(&data, &mut |item| match item {
            Parsed::Frame(h, _) => kinds.push(format!("valid {}", h.message_id)),
            Parsed::Unknown(h, _) => kinds.push(format!("unknown {}", h.message_id)),
            _ => {}
        });
        assert_eq!(kinds, vec!["valid 0", "unknown 11259375", "valid 30"]);
    }

    #[test]
    fn reserved_incompat_flags_are_not_a_frame() {
        let mut data = V2_ATTITUDE.to_vec();
        data[2] = 0x02;
        let (frames, stats) = collect(&data);
        assert!(frames.is_empty());
        assert_eq!(stats.garbage_bytes, data.len() as u64);
    }

    #[test]
    fn a_truncated_last_frame_becomes_garbage_at_the_end() {
        let mut data = V1_HEARTBEAT.to_vec();
        data.extend_from_slice(&V2_ATTITUDE[..10]);
        let mut framer = Framer::new();
        let mut frames = 0;
        framer.push(&data, &mut |item| {
            frames += matches!(item, Parsed::Frame(..)) as u32
        });
        assert_eq!(frames, 1);
        assert_eq!(
            framer.pending_len(),
            10,
            "held back until more bytes or the end"
        );
        framer.flush(&mut |_| {});
        assert_eq!(framer.stats().garbage_bytes, 10);
        assert_eq!(framer.pending_len(), 0);
    }

    /// A stream built from golden frames, broken frames and garbage.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(V1_HEARTBEAT.to_vec()),
            Just(V2_ATTITUDE.to_vec()),
            Just(V2_SIGNED_HEARTBEAT.to_vec()),
            (0usize..28, any::<u8>()).prop_map(|(at, bit)| {
                let mut frame = V2_ATTITUDE.to_vec();
                frame[at.max(1)] ^= 1 << (bit % 8);
                frame
            }),
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(prop_oneof![Just(0xfd), Just(0xfe), any::<u8>()], 0..12),
        ]
    }

    proptest! {
        #[test]
        fn every_chunk_split_gives_the_same_frames(
            pieces in proptest::collection::vec(piece(), 0..30),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let data: Vec<u8> = pieces.concat();
            let mut whole = Vec::new();
            let whole_stats = parse_all(&data, &mut |item| whole.push(format!("{item:?}")));
            let mut offsets: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            offsets.push(0);
            offsets.push(data.len());
            offsets.sort_unstable();
            let mut framer = Framer::new();
            let mut split = Vec::new();
            for pair in offsets.windows(2) {
                framer.push(&data[pair[0]..pair[1]], &mut |item| split.push(format!("{item:?}")));
            }
            framer.flush(&mut |item| split.push(format!("{item:?}")));
            // Garbage may be reported in different pieces; everything else must be identical.
            let frames = |items: &[String]| items.iter().filter(|i| !i.starts_with("Garbage")).cloned().collect::<Vec<_>>();
            prop_assert_eq!(frames(&whole), frames(&split));
            prop_assert_eq!(whole_stats, framer.stats());
        }

        #[test]
        fn golden_frames_survive_any_surrounding_garbage(
            before in proptest::collection::vec(any::<u8>(), 0..64),
            after in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut data = before.clone();
            data.extend_from_slice(&V1_HEARTBEAT);
            data.extend_from_slice(&V2_SIGNED_HEARTBEAT);
            data.extend_from_slice(&after);
            let (frames, _) = collect(&data);
            prop_assert!(frames.contains(&V1_HEARTBEAT.to_vec()));
            prop_assert!(frames.contains(&V2_SIGNED_HEARTBEAT.to_vec()));
        }
    }
}
