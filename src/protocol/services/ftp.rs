//! MAVLink FTP (FILE_TRANSFER_PROTOCOL), the client side, without I/O: reading a file (open,
//! burst read, re-reading what a burst lost, terminate) and listing a directory, with timeouts,
//! retries and the vehicle's NAKs in words. Time comes in as an argument; messages to send
//! come out of each call.
//!
//! Made for bad radios: burst packets carry their offset, so any order and any duplicate is
//! fine; when a burst ends (or goes quiet) the ranges still missing are asked for again — a new
//! burst from the first gap, or single reads of holes in the middle. A vehicle whose FTP
//! sessions are all taken (a ground station that went away mid-transfer) is reset (a few times at most:
//! an open of ours whose answer was lost leaves our own session open).
//!
//! A read either keeps the file's bytes and hands them over at the end (`@PARAM/param.pck`),
//! or streams them ([`FtpTransfer::read_streaming`]: an onboard log of a known size, resumed
//! from the ranges already held): new bytes come out in [`FtpPoll::data`] as they arrive and
//! nothing is kept in memory.

use mavlink::dialects::ardupilotmega as apm;

use super::ranges::Ranges;
use super::Target;
use crate::protocol::{FrameHeader, MavMessage};

/// The next request's sequence number, for every transfer of this program: ArduPilot takes a
/// request numbered as the one before (in the same session) for that one again and sends its
/// answer again, so a new transfer must not start again at 1 (a folder listed after another
/// got the first folder's "not found").
static NEXT_SEQ: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(1);

/// How long a request waits for its answer before it is sent again.
pub const REQUEST_TIMEOUT_US: u64 = 1_000_000;
/// How long a burst may go quiet before what is missing is asked for again.
pub const BURST_QUIET_US: u64 = 500_000;
/// Unanswered tries in a row before a transfer gives up.
pub const MAX_SILENT: u32 = 8;
/// Data bytes in one FTP packet.
pub const MAX_DATA: usize = 239;
/// Session resets a transfer may make.
const MAX_RESETS: u32 = 3;
/// Reads in a row that bring no new byte before a read gives up: a vehicle that answers but
/// never sends the rest must end in an outcome, not a loop.
const MAX_STALLED: u32 = 20;
/// Single reads of holes a streamed read keeps in flight at once (ArduPilot queues a few
/// requests and answers them in turn): a hole costs a round trip, and a lossy radio leaves one
/// every few packets of a burst.
pub const MAX_READS: usize = 4;
/// Largest file a read accepts (param.pck is tens of kB; onboard logs can be large).
pub const MAX_FILE: u32 = 512 * 1024 * 1024;

/// The FTP opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    None = 0,
    TerminateSession = 1,
    ResetSessions = 2,
    ListDirectory = 3,
    OpenFileRO = 4,
    ReadFile = 5,
    BurstReadFile = 15,
    Ack = 128,
    Nak = 129,
}

impl Op {
    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0 => Self::None,
            1 => Self::TerminateSession,
            2 => Self::ResetSessions,
            3 => Self::ListDirectory,
            4 => Self::OpenFileRO,
            5 => Self::ReadFile,
            15 => Self::BurstReadFile,
            128 => Self::Ack,
            129 => Self::Nak,
            _ => return None,
        })
    }
}

/// An FTP packet: the payload of FILE_TRANSFER_PROTOCOL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packet {
    pub seq: u16,
    pub session: u8,
    pub opcode: u8,
    pub req_opcode: u8,
    pub burst_complete: bool,
    pub offset: u32,
    pub data: Vec<u8>,
}

impl Packet {
    /// Reads the payload of a FILE_TRANSFER_PROTOCOL message.
    pub fn decode(payload: &[u8]) -> Option<Self> {
        if payload.len() < 12 {
            return None;
        }
        let size = usize::from(payload[4]);
        let data = payload.get(12..12 + size)?.to_vec();
        Some(Self {
            seq: u16::from_le_bytes([payload[0], payload[1]]),
            session: payload[2],
            opcode: payload[3],
            req_opcode: payload[5],
            burst_complete: payload[6] != 0,
            offset: u32::from_le_bytes([payload[8], payload[9], payload[10], payload[11]]),
            data,
        })
    }

    /// The 251-byte payload.
    pub fn encode(&self) -> [u8; 251] {
        let mut payload = [0u8; 251];
        let size = self.data.len().min(MAX_DATA);
        payload[0..2].copy_from_slice(&self.seq.to_le_bytes());
        payload[2] = self.session;
        payload[3] = self.opcode;
        payload[4] = size as u8;
        payload[5] = self.req_opcode;
        payload[6] = u8::from(self.burst_complete);
        payload[8..12].copy_from_slice(&self.offset.to_le_bytes());
        payload[12..12 + size].copy_from_slice(&self.data[..size]);
        payload
    }

    /// As a message to `target` (or, from a vehicle, to the ground station `target`).
    pub fn message(&self, target: Target) -> MavMessage {
        MavMessage::FILE_TRANSFER_PROTOCOL(apm::FILE_TRANSFER_PROTOCOL_DATA {
            target_network: 0,
            target_system: target.system_id,
            target_component: target.component_id,
            payload: self.encode(),
        })
    }

    /// The error of a NAK, in words.
    pub fn nak_reason(&self) -> String {
        let errno = self.data.get(1).copied();
        match self.data.first() {
            Some(1) => "failed".to_owned(),
            Some(2) => format!("failed (errno {})", errno.unwrap_or(0)),
            Some(3) => "invalid data size".to_owned(),
            Some(4) => "invalid session".to_owned(),
            Some(5) => "no sessions available".to_owned(),
            Some(6) => "end of file".to_owned(),
            Some(7) => "unknown command".to_owned(),
            Some(8) => "file exists".to_owned(),
            Some(9) => "file protected".to_owned(),
            Some(10) => "file not found".to_owned(),
            Some(code) => format!("error {code}"),
            None => "no reason given".to_owned(),
        }
    }

    fn nak_code(&self) -> u8 {
        self.data.first().copied().unwrap_or(0)
    }
}

const NAK_NO_SESSIONS: u8 = 5;
const NAK_EOF: u8 = 6;

/// How an FTP transfer ended.
#[derive(Debug, Clone, PartialEq)]
pub enum FtpEnd {
    /// The file's bytes, or the directory's entries.
    File(Vec<u8>),
    /// A streamed read has every byte of the file (they came out in [`FtpPoll::data`]).
    Streamed,
    Listing(Vec<DirEntry>),
    /// The vehicle refused: the request and its reason.
    Refused {
        op: String,
        reason: String,
    },
    /// No answer after [`MAX_SILENT`] tries.
    TimedOut {
        op: String,
    },
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirEntry {
    File { name: String, size: u64 },
    Dir { name: String },
}

/// What a transfer reports after a message or a tick.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FtpPoll {
    pub send: Vec<MavMessage>,
    /// Bytes received of the file's size, when that moved.
    pub progress: Option<(u64, u64)>,
    /// A streamed read's new bytes: (offset, bytes), each byte once.
    pub data: Vec<(u32, Vec<u8>)>,
    pub ended: Option<FtpEnd>,
}

#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Resetting,
    Opening,
    /// Burst reading (or single reads of holes); the file's size.
    Reading {
        size: u32,
    },
    Listing,
    Finished,
}

/// A read or a listing with one vehicle; see the module documentation.
#[derive(Debug, Clone)]
pub struct FtpTransfer {
    target: Target,
    path: String,
    stage: Stage,
    seq: u16,
    session: u8,
    /// Received bytes, and which ranges of the file they cover (sorted, disjoint, end-exclusive).
    data: Vec<u8>,
    have: Ranges,
    entries: Vec<DirEntry>,
    /// The request waiting for its answer, and when it is sent again.
    pending: Option<Packet>,
    deadline_us: u64,
    silent: u32,
    /// Sessions reset so far (an open whose answer was lost leaves our own session open).
    resets: u32,
    /// Bytes held when the last read was asked for, and reads since that brought none.
    asked_with: u64,
    stalled: u32,
    /// A streamed read: the file's size as the caller knows it (the open must agree).
    streaming: Option<u32>,
    /// A streamed read's new bytes, until the next poll takes them.
    fresh: Vec<(u32, Vec<u8>)>,
    /// A streamed read's single reads of holes in flight: their offsets.
    reads: Vec<u32>,
}

impl FtpTransfer {
    /// Reads the file at `path` (ArduPilot: `@PARAM/param.pck`, `@SYS/…`, `/APM/LOGS/…`).
    pub fn read(now_us: u64, target: Target, path: &str) -> (Self, Vec<MavMessage>) {
        Self::start(now_us, target, path, Stage::Opening)
    }

    /// Reads the file at `path`, `size` bytes long, apart from the ranges in `have`: its new
    /// bytes come out in [`FtpPoll::data`] as they arrive, and it ends [`FtpEnd::Streamed`]
    /// when every byte is held. A file of another size is refused at the open.
    pub fn read_streaming(
        now_us: u64,
        target: Target,
        path: &str,
        size: u32,
        have: Ranges,
    ) -> (Self, Vec<MavMessage>) {
        let (mut transfer, first) = Self::start(now_us, target, path, Stage::Opening);
        transfer.streaming = Some(size);
        transfer.have = have;
        transfer.asked_with = transfer.have.held();
        (transfer, first)
    }

    /// Lists the directory at `path`.
    pub fn list(now_us: u64, target: Target, path: &str) -> (Self, Vec<MavMessage>) {
        Self::start(now_us, target, path, Stage::Listing)
    }

    fn start(now_us: u64, target: Target, path: &str, stage: Stage) -> (Self, Vec<MavMessage>) {
        let mut transfer = Self {
            target,
            path: path.to_owned(),
            stage,
            seq: 0,
            session: 0,
            data: Vec::new(),
            have: Ranges::default(),
            entries: Vec::new(),
            pending: None,
            deadline_us: now_us,
            silent: 0,
            resets: 0,
            asked_with: 0,
            stalled: 0,
            streaming: None,
            fresh: Vec::new(),
            reads: Vec::new(),
        };
        let first = match transfer.stage {
            Stage::Listing => transfer.list_request(now_us, 0),
            _ => transfer.open_request(now_us),
        };
        (transfer, vec![first])
    }

    pub fn finished(&self) -> bool {
        self.stage == Stage::Finished
    }

    /// The session of a file being read.
    pub fn reading_session(&self) -> Option<u8> {
        matches!(self.stage, Stage::Reading { .. }).then_some(self.session)
    }

    /// The session of the file opened (0 before any).
    pub fn session(&self) -> u8 {
        self.session
    }

    /// Bytes a streamed read got another way: not asked for again.
    pub fn also_have(&mut self, start: u32, end: u32) {
        if end > start {
            self.have.insert(start, end);
        }
    }

    /// Stops here: the message that closes the session, if a file is open. The vehicle may
    /// still be sending the burst it was asked for.
    pub fn close(&mut self) -> Vec<MavMessage> {
        if self.stage == Stage::Finished {
            return Vec::new();
        }
        let at = self.deadline_us;
        self.end(
            at,
            FtpEnd::TimedOut {
                op: "closed".to_owned(),
            },
        )
        .send
    }

    fn request(&mut self, now_us: u64, opcode: Op, offset: u32, data: Vec<u8>) -> MavMessage {
        self.seq = NEXT_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let packet = Packet {
            seq: self.seq,
            session: self.session,
            opcode: opcode as u8,
            offset,
            data,
            ..Packet::default()
        };
        let message = packet.message(self.target);
        self.pending = Some(packet);
        self.deadline_us = now_us
            + if opcode == Op::BurstReadFile {
                BURST_QUIET_US
            } else {
                REQUEST_TIMEOUT_US
            };
        message
    }

    fn open_request(&mut self, now_us: u64) -> MavMessage {
        let path = self.path.as_bytes().to_vec();
        self.request(now_us, Op::OpenFileRO, 0, path)
    }

    fn list_request(&mut self, now_us: u64, offset: u32) -> MavMessage {
        let path = self.path.as_bytes().to_vec();
        self.request(now_us, Op::ListDirectory, offset, path)
    }

    fn end(&mut self, now_us: u64, end: FtpEnd) -> FtpPoll {
        // The session is closed whatever happened (a listing holds none), without waiting for
        // the answer: the transfer's end does not depend on it, and if the close is lost the
        // next open is answered "no sessions" and resets them.
        let send = if matches!(self.stage, Stage::Reading { .. }) {
            vec![self.request(now_us, Op::TerminateSession, 0, Vec::new())]
        } else {
            Vec::new()
        };
        self.stage = Stage::Finished;
        self.pending = None;
        FtpPoll {
            send,
            ended: Some(end),
            ..FtpPoll::default()
        }
    }

    /// The first bytes not received, if any.
    fn first_gap(&self, size: u32) -> Option<(u32, u32)> {
        self.have.first_gap(size)
    }

    fn note(&mut self, offset: u32, bytes: &[u8], size: u32) {
        let end = offset.saturating_add(bytes.len() as u32).min(size);
        if end <= offset {
            return;
        }
        if self.streaming.is_some() {
            if self.have.insert(offset, end) > 0 {
                self.fresh
                    .push((offset, bytes[..(end - offset) as usize].to_vec()));
            }
            return;
        }
        let (start, stop) = (offset as usize, end as usize);
        if self.data.len() < stop {
            self.data.resize(stop, 0);
        }
        self.data[start..stop].copy_from_slice(&bytes[..stop - start]);
        self.have.insert(offset, end);
    }

    /// The vehicle says the file ends at `size` (before the size it gave at open).
    fn ends_at(&mut self, size: u32) -> u32 {
        self.stage = Stage::Reading { size };
        size
    }

    /// Whether any byte past `offset` was received.
    fn holds_past(&self, offset: u32) -> bool {
        self.have.holds_past(offset)
    }

    fn received(&self) -> u64 {
        self.have.held()
    }

    /// Asks for what is missing: a burst from the first gap when nothing after it came, else a
    /// single read of the hole; the end when nothing is missing. A streamed read bursts the
    /// rest of the file first and fills the holes after: a resumed or switched download starts
    /// with holes, and each costs a round trip.
    fn ask_for_missing(&mut self, now_us: u64, size: u32) -> FtpPoll {
        let held = self.received();
        if held == self.asked_with {
            self.stalled += 1;
        } else {
            (self.asked_with, self.stalled) = (held, 0);
        }
        if self.stalled > MAX_STALLED && self.first_gap(size).is_some() {
            let reason = format!("no new byte after {MAX_STALLED} reads ({held} of {size})");
            return self.end(now_us, refused("read", &reason));
        }
        let gap = if self.streaming.is_some() {
            let tail = self.have.gaps(size).last().filter(|(_, end)| *end == size);
            if tail.is_none() && self.first_gap(size).is_some() {
                return self.read_holes(now_us, size);
            }
            self.reads.clear();
            tail
        } else {
            self.first_gap(size)
        };
        match gap {
            None if self.streaming.is_some() => self.end(now_us, FtpEnd::Streamed),
            None => {
                let mut bytes = std::mem::take(&mut self.data);
                bytes.truncate(size as usize);
                self.end(now_us, FtpEnd::File(bytes))
            }
            Some((start, end)) if end == size => FtpPoll {
                // The size field of a read says how much to send per packet; its data is
                // zeros (MAVLink 2 does not send trailing zeros).
                send: vec![self.request(now_us, Op::BurstReadFile, start, vec![0; MAX_DATA])],
                ..FtpPoll::default()
            },
            Some((start, end)) => {
                let len = (end - start).min(MAX_DATA as u32) as usize;
                FtpPoll {
                    send: vec![self.request(now_us, Op::ReadFile, start, vec![0; len])],
                    ..FtpPoll::default()
                }
            }
        }
    }

    /// A streamed read's holes, [`MAX_READS`] single reads in flight: the reads answered are
    /// topped up with the next holes (239 bytes at most each).
    fn read_holes(&mut self, now_us: u64, size: u32) -> FtpPoll {
        let have = &self.have;
        self.reads.retain(|&offset| {
            have.gaps(size)
                .any(|(start, end)| start <= offset && offset < end)
        });
        let mut pieces = Vec::new();
        for (start, end) in self.have.gaps(size) {
            let mut at = start;
            while at < end && pieces.len() < MAX_READS {
                let len = (end - at).min(MAX_DATA as u32);
                pieces.push((at, len));
                at += len;
            }
            if pieces.len() >= MAX_READS {
                break;
            }
        }
        let mut send = Vec::new();
        for (offset, len) in pieces {
            if self.reads.len() >= MAX_READS {
                break;
            }
            if !self.reads.contains(&offset) {
                self.reads.push(offset);
                send.push(self.request(now_us, Op::ReadFile, offset, vec![0; len as usize]));
            }
        }
        FtpPoll {
            send,
            ..FtpPoll::default()
        }
    }

    /// Takes a message from the vehicle.
    pub fn on_message(
        &mut self,
        now_us: u64,
        header: &FrameHeader,
        message: &MavMessage,
    ) -> FtpPoll {
        let mut poll = self.answer(now_us, header, message);
        poll.data = std::mem::take(&mut self.fresh);
        poll
    }

    fn answer(&mut self, now_us: u64, header: &FrameHeader, message: &MavMessage) -> FtpPoll {
        let MavMessage::FILE_TRANSFER_PROTOCOL(ftp) = message else {
            return FtpPoll::default();
        };
        if header.system_id != self.target.system_id
            || header.component_id != self.target.component_id
        {
            return FtpPoll::default();
        }
        let Some(packet) = Packet::decode(&ftp.payload) else {
            return FtpPoll::default();
        };
        let Some(pending) = self.pending.clone() else {
            return FtpPoll::default();
        };
        // An answer is numbered one past its request (a burst's EOF: as the request); a late
        // answer to an earlier request of the same kind (a radio's delay, a retry's double)
        // is not this one's.
        let answers_pending = packet.req_opcode == pending.opcode
            && (packet.seq == pending.seq.wrapping_add(1) || packet.seq == pending.seq);
        let nak = packet.opcode == Op::Nak as u8;
        let ack = packet.opcode == Op::Ack as u8;
        if !(ack || nak) {
            return FtpPoll::default();
        }
        self.silent = 0;
        match self.stage.clone() {
            Stage::Resetting if answers_pending => {
                self.stage = Stage::Opening;
                FtpPoll {
                    send: vec![self.open_request(now_us)],
                    ..FtpPoll::default()
                }
            }
            Stage::Opening if answers_pending && ack => {
                let Some(size) = packet
                    .data
                    .get(0..4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                else {
                    return self.end(now_us, refused("open", "no file size in the answer"));
                };
                if size > MAX_FILE {
                    return self.end(now_us, refused("open", &format!("{size} bytes is too big")));
                }
                if let Some(expected) = self.streaming.filter(|expected| *expected != size) {
                    self.session = packet.session;
                    self.stage = Stage::Reading { size };
                    let reason = format!("it has {size} bytes, not {expected}");
                    return self.end(now_us, refused(&format!("open {}", self.path), &reason));
                }
                self.session = packet.session;
                self.stage = Stage::Reading { size };
                self.ask_for_missing(now_us, size)
            }
            Stage::Opening if answers_pending => {
                if packet.nak_code() == NAK_NO_SESSIONS && self.resets < MAX_RESETS {
                    self.resets += 1;
                    self.stage = Stage::Resetting;
                    return FtpPoll {
                        send: vec![self.request(now_us, Op::ResetSessions, 0, vec![])],
                        ..FtpPoll::default()
                    };
                }
                self.stage = Stage::Finished;
                self.pending = None;
                FtpPoll {
                    ended: Some(refused(
                        &format!("open {}", self.path),
                        &packet.nak_reason(),
                    )),
                    ..FtpPoll::default()
                }
            }
            Stage::Reading { size } => {
                let data_answer = packet.req_opcode == Op::BurstReadFile as u8
                    || packet.req_opcode == Op::ReadFile as u8;
                if !data_answer || packet.session != self.session {
                    return FtpPoll::default();
                }
                if ack {
                    // The size at open is only an upper bound for files the vehicle makes up
                    // as they are read (ArduPilot's `@PARAM/param.pck` said 16 248 bytes and
                    // sent 15 035): a burst's last packet, short and marked complete, is the
                    // end of the file.
                    let end = packet.offset.saturating_add(packet.data.len() as u32);
                    let short_last = packet.req_opcode == Op::BurstReadFile as u8
                        && packet.burst_complete
                        && packet.data.len() < MAX_DATA;
                    if short_last && end < size && self.streaming.is_some() {
                        let reason = format!("the file ends at byte {end}, before {size}");
                        return self.end(now_us, refused("read", &reason));
                    }
                    let size = if short_last && end < size && !self.holds_past(end) {
                        self.ends_at(end)
                    } else {
                        size
                    };
                    let before = self.received();
                    self.note(packet.offset, &packet.data, size);
                    let moved = self.received() != before;
                    if !moved && self.streaming.is_some() && !self.reads.is_empty() {
                        // A copy of an answer: the reads in flight are answered by themselves.
                        return FtpPoll::default();
                    }
                    let burst_over =
                        packet.req_opcode == Op::ReadFile as u8 || packet.burst_complete;
                    let mut poll = if burst_over || self.first_gap(size).is_none() {
                        self.ask_for_missing(now_us, size)
                    } else {
                        // More of the burst is coming: wait for it.
                        self.deadline_us = now_us + BURST_QUIET_US;
                        FtpPoll::default()
                    };
                    if moved {
                        poll.progress = Some((self.received(), u64::from(size)));
                    }
                    return poll;
                }
                if packet.nak_code() == NAK_EOF {
                    // A read answered at once by EOF says the file ends where that read
                    // began. "At once": numbered as the read (ArduPilot's burst) or one past it.
                    let at_once =
                        packet.seq == pending.seq || packet.seq == pending.seq.wrapping_add(1);
                    if answers_pending && at_once && pending.offset < size {
                        if let Some(expected) = self.streaming {
                            let at = pending.offset;
                            let reason = format!("the file ends at byte {at}, before {expected}");
                            return self.end(now_us, refused("read", &reason));
                        }
                        if self.holds_past(pending.offset) {
                            let reason = format!(
                                "the vehicle ended the file at {} after sending bytes past it",
                                pending.offset
                            );
                            return self.end(now_us, refused("read", &reason));
                        }
                        let size = self.ends_at(pending.offset);
                        return self.ask_for_missing(now_us, size);
                    }
                    // The end of a burst at the end of the file: anything lost is asked again.
                    return self.ask_for_missing(now_us, size);
                }
                if !answers_pending {
                    return FtpPoll::default();
                }
                let reason = packet.nak_reason();
                self.end(now_us, refused("read", &reason))
            }
            Stage::Listing if answers_pending => {
                if nak {
                    if packet.nak_code() == NAK_EOF {
                        let entries = std::mem::take(&mut self.entries);
                        return self.end(now_us, FtpEnd::Listing(entries));
                    }
                    let reason = packet.nak_reason();
                    return self.end(now_us, refused(&format!("list {}", self.path), &reason));
                }
                if packet.offset != pending.offset {
                    return FtpPoll::default();
                }
                // Entries are NUL-separated: `F<name>\t<size>`, `D<name>`, `S` (skip).
                let mut count = 0u32;
                for entry in packet.data.split(|b| *b == 0).filter(|e| !e.is_empty()) {
                    count += 1;
                    let text = String::from_utf8_lossy(&entry[1..]).into_owned();
                    match entry[0] {
                        b'F' => {
                            let (name, size) = text.split_once('\t').unwrap_or((&text, "0"));
                            self.entries.push(DirEntry::File {
                                name: name.to_owned(),
                                size: size.trim().parse().unwrap_or(0),
                            });
                        }
                        b'D' => self.entries.push(DirEntry::Dir { name: text }),
                        _ => {}
                    }
                }
                if count == 0 {
                    let entries = std::mem::take(&mut self.entries);
                    return self.end(now_us, FtpEnd::Listing(entries));
                }
                let next = pending.offset + count;
                FtpPoll {
                    send: vec![self.list_request(now_us, next)],
                    ..FtpPoll::default()
                }
            }
            _ => FtpPoll::default(),
        }
    }

    /// Moves time on: a request unanswered for too long is sent again, or the transfer ends.
    pub fn tick(&mut self, now_us: u64) -> FtpPoll {
        if self.stage == Stage::Finished || now_us < self.deadline_us {
            return FtpPoll::default();
        }
        self.silent += 1;
        if self.silent > MAX_SILENT {
            let op = match &self.stage {
                Stage::Resetting => "reset sessions",
                Stage::Opening => "open",
                Stage::Reading { .. } => "read",
                Stage::Listing => "list",
                Stage::Finished => return FtpPoll::default(),
            }
            .to_owned();
            return self.end(now_us, FtpEnd::TimedOut { op });
        }
        if let Stage::Reading { size } = self.stage {
            // A burst went quiet, or reads went unanswered: ask for what is still missing.
            self.reads.clear();
            return self.ask_for_missing(now_us, size);
        }
        // Anything else: the same request again, with the same sequence number.
        let Some(pending) = self.pending.clone() else {
            return FtpPoll::default();
        };
        self.deadline_us = now_us + REQUEST_TIMEOUT_US;
        FtpPoll {
            send: vec![pending.message(self.target)],
            ..FtpPoll::default()
        }
    }
}

fn refused(op: &str, reason: &str) -> FtpEnd {
    FtpEnd::Refused {
        op: op.to_owned(),
        reason: reason.to_owned(),
    }
}
