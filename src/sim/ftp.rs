//! The simulated vehicle's MAVLink FTP server, with ArduPilot's rules: one session at a time
//! (a second open gets "no sessions available" until a reset or a close), answers numbered
//! one past the request (but a burst that starts at the end: as the request), bursts paced to
//! what the radio carries, their last packet short and marked complete, then an EOF NAK,
//! read-only files and folders from a provider (`@PARAM/param.pck`, the onboard logs), a
//! folder listed as ArduPilot does (`F<name>\t<size>`, `D<name>`, NUL-separated, as many as
//! fit, the request's offset counting entries to skip). Like ArduPilot, the size an open
//! gives for a file made up as it is read (`@PARAM/…`) is an upper bound: the read ends at an
//! EOF before it.

use std::collections::VecDeque;

use crate::protocol::services::ftp::{Op, Packet, MAX_DATA};

/// NAK error codes.
const FAIL: u8 = 1;
const INVALID_SESSION: u8 = 4;
const NO_SESSIONS: u8 = 5;
const EOF: u8 = 6;
const UNKNOWN_COMMAND: u8 = 7;
const NOT_FOUND: u8 = 10;

/// Seconds between two burst packets (about what a 57 600-baud radio carries beside the
/// telemetry).
const BURST_PACKET_S: f64 = 0.07;

struct Open {
    session: u8,
    bytes: Vec<u8>,
}

struct Burst {
    offset: u32,
    size: usize,
    seq: u16,
    next_s: f64,
}

/// What the server serves: files, and folders' entries.
pub trait Files {
    fn file(&self, path: &str) -> Option<Vec<u8>>;

    /// A folder's entries: a name and, for a file, its size (`None`: a folder).
    fn dir(&self, _path: &str) -> Option<Vec<(String, Option<u64>)>> {
        None
    }
}

impl<F: Fn(&str) -> Option<Vec<u8>>> Files for F {
    fn file(&self, path: &str) -> Option<Vec<u8>> {
        self(path)
    }
}

/// The server; see the module documentation.
#[derive(Default)]
pub struct FtpServer {
    open: Option<Open>,
    burst: Option<Burst>,
    next_session: u8,
    /// Packets waiting to go out, oldest first.
    queue: VecDeque<Packet>,
    /// Seconds between two burst packets, when not [`BURST_PACKET_S`].
    pace_s: Option<f64>,
    /// The answer to the last request (sent again for a request numbered as it).
    last_answer: Option<Packet>,
}

fn reply(request: &Packet, opcode: Op) -> Packet {
    Packet {
        seq: request.seq.wrapping_add(1),
        session: request.session,
        opcode: opcode as u8,
        req_opcode: request.opcode,
        offset: request.offset,
        ..Packet::default()
    }
}

/// The answer of a vehicle without MAVLink FTP to any request.
pub fn unknown_command(request: &Packet) -> Packet {
    nak(request, UNKNOWN_COMMAND)
}

fn nak(request: &Packet, code: u8) -> Packet {
    Packet {
        data: vec![code],
        ..reply(request, Op::Nak)
    }
}

impl FtpServer {
    /// A server whose bursts send a packet every `seconds` (an autopilot that paces FTP to a
    /// share of the link, or a fast one).
    pub fn paced(seconds: f64) -> Self {
        Self {
            pace_s: Some(seconds),
            ..Self::default()
        }
    }

    /// Answers one request; `files` gives a path's bytes or entries.
    pub fn request(&mut self, now_s: f64, request: &Packet, files: &dyn Files) -> Vec<Packet> {
        // As ArduPilot: a request numbered as the last one is that one again (its answer was
        // lost): the same answer goes again.
        if let Some(last) = self.last_answer.as_ref().filter(|last| {
            last.seq == request.seq.wrapping_add(1) && last.req_opcode == request.opcode
        }) {
            return vec![last.clone()];
        }
        let answers = self.answer(now_s, request, files);
        if let [answer] = answers.as_slice() {
            self.last_answer = Some(answer.clone());
        }
        answers
    }

    fn answer(&mut self, now_s: f64, request: &Packet, files: &dyn Files) -> Vec<Packet> {
        let Some(op) = Op::from_u8(request.opcode) else {
            return vec![nak(request, UNKNOWN_COMMAND)];
        };
        let answer = match op {
            Op::ResetSessions => {
                self.open = None;
                self.burst = None;
                reply(request, Op::Ack)
            }
            Op::TerminateSession => {
                if self
                    .open
                    .as_ref()
                    .is_some_and(|o| o.session == request.session)
                {
                    self.open = None;
                    self.burst = None;
                    reply(request, Op::Ack)
                } else {
                    nak(request, INVALID_SESSION)
                }
            }
            Op::OpenFileRO => {
                if self.open.is_some() {
                    return vec![nak(request, NO_SESSIONS)];
                }
                let path = String::from_utf8_lossy(&request.data).into_owned();
                let Some(bytes) = files.file(path.trim_end_matches('\0')) else {
                    return vec![nak(request, NOT_FOUND)];
                };
                let session = self.next_session;
                self.next_session = self.next_session.wrapping_add(1);
                let mut size = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                if path.starts_with("@PARAM/") {
                    // ArduPilot: 16 248 said, 15 035 sent for its 1 354 parameters.
                    size = size.saturating_add(size / 12);
                }
                self.open = Some(Open { session, bytes });
                Packet {
                    session,
                    data: size.to_le_bytes().to_vec(),
                    ..reply(request, Op::Ack)
                }
            }
            Op::ReadFile | Op::BurstReadFile => {
                let Some(open) = self.open.as_ref().filter(|o| o.session == request.session) else {
                    return vec![nak(request, INVALID_SESSION)];
                };
                let size = if request.data.is_empty() {
                    MAX_DATA
                } else {
                    request.data.len().min(MAX_DATA)
                };
                if request.offset as usize >= open.bytes.len() {
                    let mut eof = nak(request, EOF);
                    if op == Op::BurstReadFile {
                        eof.seq = request.seq;
                    }
                    return vec![eof];
                }
                if op == Op::BurstReadFile {
                    self.burst = Some(Burst {
                        offset: request.offset,
                        size,
                        seq: request.seq.wrapping_add(1),
                        next_s: now_s,
                    });
                    return self.tick(now_s);
                }
                let start = request.offset as usize;
                let end = (start + size).min(open.bytes.len());
                Packet {
                    data: open.bytes[start..end].to_vec(),
                    ..reply(request, Op::Ack)
                }
            }
            Op::ListDirectory => {
                let path = String::from_utf8_lossy(&request.data).into_owned();
                let path = path.trim_end_matches('\0').trim_end_matches('/');
                let Some(entries) = files.dir(path) else {
                    return vec![nak(request, NOT_FOUND)];
                };
                let mut data = Vec::new();
                for (name, size) in entries.iter().skip(request.offset as usize) {
                    let entry = match size {
                        Some(size) => format!("F{name}\t{size}\0"),
                        None => format!("D{name}\0"),
                    };
                    if data.len() + entry.len() > MAX_DATA {
                        break;
                    }
                    data.extend_from_slice(entry.as_bytes());
                }
                if data.is_empty() {
                    return vec![nak(request, EOF)];
                }
                Packet {
                    data,
                    ..reply(request, Op::Ack)
                }
            }
            Op::None | Op::Ack | Op::Nak => nak(request, FAIL),
        };
        vec![answer]
    }

    /// The burst packets due by `now_s`.
    pub fn tick(&mut self, now_s: f64) -> Vec<Packet> {
        let mut out: Vec<Packet> = self.queue.drain(..).collect();
        let (Some(burst), Some(open)) = (&mut self.burst, &self.open) else {
            return out;
        };
        while burst.next_s <= now_s {
            burst.next_s += self.pace_s.unwrap_or(BURST_PACKET_S);
            let start = burst.offset as usize;
            let request_like = Packet {
                seq: burst.seq.wrapping_sub(1),
                session: open.session,
                opcode: Op::BurstReadFile as u8,
                offset: burst.offset,
                ..Packet::default()
            };
            burst.seq = burst.seq.wrapping_add(1);
            if start >= open.bytes.len() {
                out.push(nak(&request_like, EOF));
                self.burst = None;
                break;
            }
            let end = (start + burst.size).min(open.bytes.len());
            out.push(Packet {
                data: open.bytes[start..end].to_vec(),
                burst_complete: end - start < burst.size,
                ..reply(&request_like, Op::Ack)
            });
            burst.offset = end as u32;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::services::ftp::{FtpEnd, FtpTransfer};
    use crate::protocol::services::Target;
    use crate::protocol::{FrameHeader, MavMessage};

    const VEHICLE: Target = Target {
        system_id: 1,
        component_id: 1,
    };

    fn header() -> FrameHeader {
        FrameHeader::of_sender(1, 1, 110)
    }

    fn packet_of(message: &MavMessage) -> Packet {
        match message {
            MavMessage::FILE_TRANSFER_PROTOCOL(ftp) => Packet::decode(&ftp.payload).unwrap(),
            other => panic!("not FTP: {other:?}"),
        }
    }

    /// Runs a read through a link that loses, duplicates and reorders, on a fake clock.
    fn read_through(
        path: &'static str,
        file: Vec<u8>,
        loss: f64,
        duplicate: f64,
        reorder: f64,
        seed: u64,
        session_left_open: bool,
    ) -> (FtpEnd, usize) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut server = FtpServer::default();
        let provider = move |asked: &str| (asked == path).then(|| file.clone());
        if session_left_open {
            // A ground station that went away mid-transfer.
            let open = Packet {
                seq: 1,
                opcode: Op::OpenFileRO as u8,
                data: path.as_bytes().to_vec(),
                ..Packet::default()
            };
            server.request(0.0, &open, &provider);
        }
        let mut now_us = 0u64;
        let (mut client, first) = FtpTransfer::read(now_us, VEHICLE, path);
        let mut to_vehicle: Vec<MavMessage> = first;
        let mut to_gcs: Vec<MavMessage> = Vec::new();
        let mut sent = 0;
        let through = |rng: &mut fastrand::Rng, items: &mut Vec<_>| {
            let mut out = Vec::new();
            for item in items.drain(..) {
                if rng.f64() < loss {
                    continue;
                }
                if rng.f64() < duplicate {
                    out.push(Clone::clone(&item));
                }
                out.push(item);
            }
            if out.len() > 1 && rng.f64() < reorder {
                let a = rng.usize(..out.len());
                let b = rng.usize(..out.len());
                out.swap(a, b);
            }
            out
        };
        for _ in 0..200_000 {
            now_us += 10_000;
            let now_s = now_us as f64 / 1e6;
            sent += to_vehicle.len();
            for message in through(&mut rng, &mut to_vehicle) {
                let answers = server.request(now_s, &packet_of(&message), &provider);
                to_gcs.extend(answers.iter().map(|p| p.message(VEHICLE)));
            }
            to_gcs.extend(server.tick(now_s).iter().map(|p| p.message(VEHICLE)));
            for message in through(&mut rng, &mut to_gcs) {
                let poll = client.on_message(now_us, &header(), &message);
                to_vehicle.extend(poll.send);
                if let Some(end) = poll.ended {
                    return (end, sent + to_vehicle.len());
                }
            }
            let poll = client.tick(now_us);
            to_vehicle.extend(poll.send);
            if let Some(end) = poll.ended {
                return (end, sent + to_vehicle.len());
            }
        }
        panic!("the read never ended");
    }

    fn file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    const PARAMS: &str = "@PARAM/param.pck";

    #[test]
    fn a_clean_read_is_one_burst() {
        let data = file(15_000);
        let (end, sent) = read_through("/APM/LOGS/1.BIN", data.clone(), 0.0, 0.0, 0.0, 1, false);
        assert!(end == FtpEnd::File(data), "the whole file");
        assert_eq!(sent, 3, "open, one burst, close");
    }

    #[test]
    fn a_file_shorter_than_its_size_at_open_ends_at_its_eof() {
        let data = file(15_035);
        let (end, sent) = read_through(PARAMS, data.clone(), 0.0, 0.0, 0.0, 1, false);
        let got = match &end {
            FtpEnd::File(bytes) => bytes.len(),
            other => panic!("{other:?}"),
        };
        assert_eq!(got, data.len());
        assert!(end == FtpEnd::File(data), "the whole file, no more");
        assert_eq!(sent, 3, "open, one burst that ends short, close");
    }

    #[test]
    fn reads_survive_loss_duplicates_and_reordering() {
        for seed in 0..30 {
            for (loss, duplicate, reorder) in [(0.05, 0.0, 0.0), (0.2, 0.1, 0.3), (0.02, 0.05, 0.5)]
            {
                let data = file(3_000 + seed as usize * 517);
                let (end, _) =
                    read_through(PARAMS, data.clone(), loss, duplicate, reorder, seed, false);
                let whole = end == FtpEnd::File(data);
                let shown = match &end {
                    FtpEnd::File(bytes) => format!("{} bytes", bytes.len()),
                    other => format!("{other:?}"),
                };
                assert!(
                    whole,
                    "seed {seed}, loss {loss}, dup {duplicate}, reorder {reorder}: {shown}"
                );
            }
        }
    }

    #[test]
    fn a_session_left_open_is_reset_and_an_empty_file_reads_empty() {
        let data = file(1000);
        let (end, _) = read_through(PARAMS, data.clone(), 0.0, 0.0, 0.0, 3, true);
        assert!(end == FtpEnd::File(data), "the whole file after a reset");
        let (end, _) = read_through(PARAMS, Vec::new(), 0.0, 0.0, 0.0, 3, false);
        assert_eq!(end, FtpEnd::File(Vec::new()));
    }

    #[test]
    fn a_missing_file_is_refused_with_its_reason_and_silence_times_out() {
        let mut server = FtpServer::default();
        let (mut client, first) = FtpTransfer::read(0, VEHICLE, "@PARAM/nothing");
        let answer = server.request(0.0, &packet_of(&first[0]), &|_: &str| None);
        let poll = client.on_message(1, &header(), &answer[0].message(VEHICLE));
        assert_eq!(
            poll.ended,
            Some(FtpEnd::Refused {
                op: "open @PARAM/nothing".to_owned(),
                reason: "file not found".to_owned()
            })
        );
        let (mut client, _) = FtpTransfer::read(0, VEHICLE, "@PARAM/param.pck");
        let mut now = 0;
        let mut resent = 0;
        loop {
            now += 100_000;
            let poll = client.tick(now);
            resent += poll.send.len();
            if let Some(end) = poll.ended {
                assert_eq!(
                    end,
                    FtpEnd::TimedOut {
                        op: "open".to_owned()
                    }
                );
                break;
            }
            assert!(now < 60_000_000);
        }
        assert_eq!(resent, 8, "the same request again, eight times");
    }

    #[test]
    fn a_vehicle_that_answers_but_never_sends_the_rest_ends_the_read() {
        // Every read is answered by an EOF that is not the read's own answer, so nothing says
        // where the file ends and nothing new comes: the read must give up, not loop.
        let mut server = FtpServer::default();
        let provider = |_: &str| Some(file(1000));
        let (mut client, first) = FtpTransfer::read(0, VEHICLE, "/APM/LOGS/1.BIN");
        let open = server.request(0.0, &packet_of(&first[0]), &provider);
        let mut poll = client.on_message(1, &header(), &open[0].message(VEHICLE));
        let mut reads = 0;
        let end = loop {
            if let Some(end) = poll.ended.take() {
                break end;
            }
            let request = packet_of(&poll.send[0]);
            reads += 1;
            assert!(reads < 100, "still reading after {reads} requests");
            let stray = Packet {
                seq: request.seq.wrapping_add(7),
                session: request.session,
                opcode: Op::Nak as u8,
                req_opcode: request.opcode,
                data: vec![EOF],
                ..Packet::default()
            };
            poll = client.on_message(2, &header(), &stray.message(VEHICLE));
            if poll.send.is_empty() && poll.ended.is_none() {
                poll = client.tick(10_000_000);
            }
        };
        assert!(
            matches!(&end, FtpEnd::Refused { op, reason } if op == "read" && reason.starts_with("no new byte after 20 reads")),
            "{end:?}"
        );
    }
}
