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
//!   frame starts inside it and the byte right after it starts another frame (or the stream
//!   ends there). Garbage cannot swallow a real frame that way.

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
    match buf.get(end) {
        None if at_end => Step::Accept(header, false),
        None => Step::Wait,
        Some(_) if inner_waiting && !at_end => Step::Wait,
        Some(&next) if next == STX_V1 || next == STX_V2 => Step::Accept(header, false),
        Some(_) => Step::Skip(1, None),
    }
}

/// Parses a whole buffer at once (flushing at its end).
pub fn parse_all(data: &[u8], on: &mut impl FnMut(Parsed<'_>)) -> FramerStats {
    let mut framer = Framer::new();
    framer.push(data, on);
    framer.flush(on);
    framer.stats()
}
