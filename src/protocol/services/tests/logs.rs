//! The log service against a scripted ArduPilot logger on a fake clock: lost, duplicated and
//! reordered LOG_DATA, lost requests, a vehicle that stalls, link loss and a resumed download,
//! an armed vehicle, lists with lost entries, erase. The file is complete and identical, or the
//! request ends clearly incomplete.

use super::*;
use crate::protocol::services::ftp::Packet;
use crate::protocol::services::logs::{LogEntry, LogVia, DATA_LEN, MAX_STALLED, QUIET_US};
use crate::protocol::services::ranges::Ranges;
use crate::sim::ftp::{Files, FtpServer};

/// A scripted ArduPilot logger (AP_Logger_MAVLinkLogTransfer's rules): one range sent at a
/// time (a data request while sending is dropped), LOG_DATA of up to 90 bytes, a short packet
/// at the end of the file, nothing while armed but one "Disarm for log download".
struct Logger {
    files: Vec<Vec<u8>>,
    /// (log id, offset, bytes left) of the range being sent.
    sending: Option<(u16, u32, u32)>,
    /// LOG_DATA packets per 50 ms step (57 600 baud carries about 2.6).
    per_step: usize,
    armed: bool,
    warned: bool,
    /// Stops answering anything once this many bytes were sent.
    stall_after: Option<u32>,
    sent_bytes: u32,
    /// Data requests dropped because a range was still being sent.
    dropped_requests: u32,
    /// Every data request taken: (offset, count).
    requests: Vec<(u32, u32)>,
    queue: Vec<MavMessage>,
    /// The logs as files by MAVLink FTP (`/APM/LOGS/00000001.BIN`…), when it serves them.
    ftp: Option<FtpServer>,
    now_s: f64,
}

/// The logger's files as ArduPilot's log folder.
struct LogFolder<'a>(&'a [Vec<u8>]);

impl Files for LogFolder<'_> {
    fn file(&self, path: &str) -> Option<Vec<u8>> {
        let name = path.strip_prefix("/APM/LOGS/")?;
        let index = (0..self.0.len()).find(|&index| crate::sim::logs::file_name(index) == name)?;
        Some(self.0[index].clone())
    }

    fn dir(&self, path: &str) -> Option<Vec<(String, Option<u64>)>> {
        (path == "/APM/LOGS").then(|| {
            (0..self.0.len())
                .map(|index| {
                    let size = self.0[index].len() as u64;
                    (crate::sim::logs::file_name(index), Some(size))
                })
                .collect()
        })
    }
}

impl Logger {
    fn new(files: Vec<Vec<u8>>) -> Self {
        Self {
            files,
            sending: None,
            per_step: 3,
            armed: false,
            warned: false,
            stall_after: None,
            sent_bytes: 0,
            dropped_requests: 0,
            requests: Vec::new(),
            queue: Vec::new(),
            ftp: None,
            now_s: 0.0,
        }
    }

    /// Also serves the logs as files by MAVLink FTP, a burst packet every `pace_s` seconds.
    fn with_ftp(mut self, pace_s: f64) -> Self {
        self.ftp = Some(FtpServer::paced(pace_s));
        self
    }

    fn stalled(&self) -> bool {
        self.stall_after
            .is_some_and(|limit| self.sent_bytes >= limit)
    }

    fn take(&mut self, message: &MavMessage) {
        if self.stalled() {
            return;
        }
        let log_message = matches!(
            message,
            MavMessage::LOG_REQUEST_LIST(_)
                | MavMessage::LOG_REQUEST_DATA(_)
                | MavMessage::LOG_ERASE(_)
                | MavMessage::LOG_REQUEST_END(_)
        );
        if log_message && self.armed {
            if !self.warned {
                self.warned = true;
                self.queue.push(text(
                    apm::MavSeverity::MAV_SEVERITY_ERROR,
                    "Disarm for log download",
                ));
            }
            return;
        }
        match message {
            MavMessage::LOG_REQUEST_LIST(list) => {
                let count = self.files.len() as u16;
                let ids = if count == 0 {
                    0..=0
                } else {
                    list.start.max(1)..=list.end.min(count)
                };
                for id in ids {
                    let (size, time_utc) = match id {
                        0 => (0, 0),
                        _ => (
                            self.files[usize::from(id) - 1].len() as u32,
                            1_700_000_000 + u32::from(id),
                        ),
                    };
                    self.queue.push(MavMessage::LOG_ENTRY(apm::LOG_ENTRY_DATA {
                        time_utc,
                        size,
                        id,
                        num_logs: count,
                        last_log_num: count,
                    }));
                }
            }
            MavMessage::LOG_REQUEST_DATA(request) => {
                if self.sending.is_some() {
                    self.dropped_requests += 1;
                    return;
                }
                let Some(file) = self.files.get(usize::from(request.id).wrapping_sub(1)) else {
                    return;
                };
                let size = file.len() as u32;
                let remaining = size.saturating_sub(request.ofs).min(request.count);
                self.requests.push((request.ofs, request.count));
                self.sending = Some((request.id, request.ofs, remaining));
            }
            MavMessage::LOG_REQUEST_END(_) => self.sending = None,
            MavMessage::FILE_TRANSFER_PROTOCOL(ftp) => {
                let (Some(server), Some(packet)) = (&mut self.ftp, Packet::decode(&ftp.payload))
                else {
                    return;
                };
                let answers = server.request(self.now_s, &packet, &LogFolder(&self.files));
                self.queue
                    .extend(answers.iter().map(|answer| answer.message(GCS)));
            }
            // As ArduPilot 4.7 SITL does: the numbers stay listed, empty.
            MavMessage::LOG_ERASE(_) => self.files.iter_mut().for_each(Vec::clear),
            _ => {}
        }
    }

    /// What the logger sends in one step.
    fn step(&mut self) -> Vec<MavMessage> {
        let mut out = std::mem::take(&mut self.queue);
        if let Some(server) = &mut self.ftp {
            out.extend(server.tick(self.now_s).iter().map(|p| p.message(GCS)));
        }
        for _ in 0..self.per_step {
            if self.stalled() {
                break;
            }
            let Some((id, offset, remaining)) = self.sending else {
                break;
            };
            let file = &self.files[usize::from(id) - 1];
            let start = (offset as usize).min(file.len());
            let len = (remaining.min(DATA_LEN) as usize).min(file.len() - start);
            let mut data = [0u8; 90];
            data[..len].copy_from_slice(&file[start..start + len]);
            out.push(MavMessage::LOG_DATA(apm::LOG_DATA_DATA {
                ofs: offset,
                id,
                count: len as u8,
                data,
            }));
            self.sent_bytes += len as u32;
            let left = remaining - len as u32;
            self.sending =
                (len as u32 == DATA_LEN && left > 0).then_some((id, offset + len as u32, left));
        }
        out
    }
}

/// A file whose every byte says where it is.
fn file(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// How the link treats the vehicle's messages: `Some(n)` delivers the n-th message (counted
/// from 0) `n` times... kept simple: a function of the message number giving how many copies
/// arrive (0 = lost), and whether to hold it back behind the next one.
struct Weather {
    copies: Box<dyn FnMut(u64) -> usize>,
    reorder: bool,
}

impl Weather {
    /// Nothing reordered; `copies` of each message arrive.
    fn losing(copies: impl FnMut(u64) -> usize + 'static) -> Self {
        Self {
            copies: Box::new(copies),
            reorder: false,
        }
    }

    fn clear() -> Self {
        Self {
            copies: Box::new(|_| 1),
            reorder: false,
        }
    }
}

/// Runs the rig and the logger together until `id` ends or `limit_us` passes; the bytes each
/// LogData event brought, by offset.
fn run(
    rig: &mut Rig,
    logger: &mut Logger,
    id: RequestId,
    weather: &mut Weather,
    to_vehicle_lost: &mut dyn FnMut(&MavMessage, u64) -> bool,
    limit_us: u64,
) {
    let mut read = 0;
    let mut number = 0u64;
    let mut requests = 0u64;
    let mut held: Option<MavMessage> = None;
    let end = rig.now_us + limit_us;
    while rig.now_us < end && rig.outcomes(id).is_empty() {
        logger.now_s = rig.now_us as f64 / 1e6;
        for (_, message, _) in rig.sent[read..].iter().cloned() {
            if matches!(message, MavMessage::LOG_REQUEST_DATA(_)) {
                requests += 1;
                if to_vehicle_lost(&message, requests) {
                    continue;
                }
            }
            logger.take(&message);
        }
        read = rig.sent.len();
        for message in logger.step() {
            number += 1;
            for _ in 0..(weather.copies)(number) {
                if weather.reorder && held.is_none() {
                    held = Some(message.clone());
                    continue;
                }
                rig.vehicle_says(message.clone());
                if let Some(earlier) = held.take() {
                    rig.vehicle_says(earlier);
                }
            }
        }
        rig.wait(STEP_US);
    }
}

fn no_loss(_: &MavMessage, _: u64) -> bool {
    false
}

/// [`run`] through `weather`, every request reaching the vehicle.
fn run_in(rig: &mut Rig, logger: &mut Logger, id: RequestId, weather: &mut Weather, limit_us: u64) {
    run(rig, logger, id, weather, &mut no_loss, limit_us);
}

/// [`run`] over a link that loses, copies and reorders nothing.
fn run_clear(rig: &mut Rig, logger: &mut Logger, id: RequestId, limit_us: u64) {
    run_in(rig, logger, id, &mut Weather::clear(), limit_us);
}

/// The file as the LogData events of `id` built it, and how many bytes they carried.
fn assembled(rig: &Rig, id: RequestId, size: usize) -> (Vec<u8>, usize) {
    let mut bytes = vec![0u8; size];
    let mut carried = 0;
    for event in &rig.events {
        if let ServiceEvent::LogData {
            id: of,
            offset,
            bytes: data,
            ..
        } = event
        {
            if *of == id {
                bytes[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
                carried += data.len();
            }
        }
    }
    (bytes, carried)
}

fn data_requests(rig: &Rig) -> Vec<(u32, u32)> {
    rig.sent
        .iter()
        .filter_map(|(_, message, _)| match message {
            MavMessage::LOG_REQUEST_DATA(r) => Some((r.ofs, r.count)),
            _ => None,
        })
        .collect()
}

/// A download by log messages (the tests of the FTP way say so).
fn download(log_id: u16, size: usize, have: Vec<(u32, u32)>) -> Action {
    download_via(log_id, size, have, LogVia::Messages)
}

fn download_via(log_id: u16, size: usize, have: Vec<(u32, u32)>, via: LogVia) -> Action {
    Action::DownloadLog {
        log_id,
        size: size as u32,
        have,
        via,
    }
}

/// The ground station, as FTP answers name it.
const GCS: Target = Target {
    system_id: 255,
    component_id: 190,
};

#[test]
fn a_clean_download_is_one_request_and_every_byte_once() {
    let content = file(10_000, 1);
    let mut logger = Logger::new(vec![file(500, 9), content.clone()]);
    let mut rig = Rig::new();
    rig.submit(1, download(2, content.len(), Vec::new()));
    run_clear(&mut rig, &mut logger, 1, 60_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let (bytes, carried) = assembled(&rig, 1, content.len());
    assert_eq!(bytes, content);
    assert_eq!(carried, content.len(), "each byte reported once");
    assert_eq!(data_requests(&rig), vec![(0, 10_000)]);
    assert_eq!(logger.dropped_requests, 0);
    // It ends the vehicle's transfer, and reported its progress up to 100 %.
    assert!(matches!(
        rig.sent.last(),
        Some((_, MavMessage::LOG_REQUEST_END(_), _))
    ));
    assert!(rig.events.contains(&ServiceEvent::Progress {
        id: 1,
        percent: Some(100)
    }));
    assert_eq!(rig.hub.pending(), 0);
}

#[test]
fn lost_data_and_lost_requests_are_asked_for_again_one_request_at_a_time() {
    let content = file(30_011, 2);
    let mut logger = Logger::new(vec![content.clone()]);
    let mut rig = Rig::new();
    rig.submit(1, download(1, content.len(), Vec::new()));
    // About 6 % of the vehicle's packets lost, in runs; the 2nd and 5th data requests lost.
    let mut weather =
        Weather::losing(|n| usize::from(!(n % 17 == 3 || n % 29 == 0 || (200..203).contains(&n))));
    let mut lose = |_: &MavMessage, n: u64| n == 2 || n == 5;
    run(
        &mut rig,
        &mut logger,
        1,
        &mut weather,
        &mut lose,
        600_000_000,
    );
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let (bytes, carried) = assembled(&rig, 1, content.len());
    assert_eq!(bytes, content, "byte-identical");
    assert_eq!(carried, content.len());
    assert_eq!(
        logger.dropped_requests,
        0,
        "never a request while the vehicle was still sending: {:?}",
        data_requests(&rig)
    );
    // Holes are asked for as ranges, not the whole file again.
    let requests = data_requests(&rig);
    let asked_again: u32 = requests[1..].iter().map(|&(_, count)| count).sum();
    assert!(asked_again < 30_011 / 4, "{requests:?}");
}

#[test]
fn duplicated_and_reordered_data_changes_nothing() {
    let content = file(9_001, 3);
    let mut logger = Logger::new(vec![content.clone()]);
    let mut rig = Rig::new();
    rig.submit(1, download(1, content.len(), Vec::new()));
    let mut weather = Weather {
        copies: Box::new(|n| if n % 3 == 0 { 2 } else { 1 }),
        reorder: true,
    };
    run_in(&mut rig, &mut logger, 1, &mut weather, 120_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let (bytes, carried) = assembled(&rig, 1, content.len());
    assert_eq!(bytes, content);
    assert_eq!(carried, content.len(), "each byte reported once");
}

#[test]
fn a_vehicle_that_stalls_ends_timed_out_with_what_arrived_kept() {
    let content = file(20_000, 4);
    let mut logger = Logger::new(vec![content.clone()]);
    logger.stall_after = Some(9_000);
    let mut rig = Rig::new();
    rig.submit(1, download(1, content.len(), Vec::new()));
    let started = rig.now_us;
    run_clear(&mut rig, &mut logger, 1, 600_000_000);
    let Outcome::TimedOut { step, attempts } = rig.outcome(1) else {
        panic!("{:?}", rig.outcome(1));
    };
    assert_eq!(step, "download log 1 (9000 of 20000 bytes)");
    assert_eq!(attempts, MAX_STALLED);
    // Within a few seconds of the stall, not never.
    let took = rig.now_us - started;
    assert!(
        took < 20_000_000 + u64::from(MAX_STALLED + 2) * QUIET_US,
        "{took} µs"
    );
    let (bytes, carried) = assembled(&rig, 1, content.len());
    assert_eq!(carried, 9_000);
    assert_eq!(bytes[..9_000], content[..9_000]);
    assert!(!rig.events.contains(&ServiceEvent::Progress {
        id: 1,
        percent: Some(100)
    }));
}

#[test]
fn link_loss_ends_a_download_and_a_resumed_one_asks_only_for_the_rest() {
    let content = file(25_000, 5);
    let mut logger = Logger::new(vec![content.clone()]);
    let mut rig = Rig::new();
    rig.submit(1, download(1, content.len(), Vec::new()));
    // Every 10th packet lost, and the link gone after 2 s.
    let mut weather = Weather::losing(|n| usize::from(n % 10 != 0));
    run_in(&mut rig, &mut logger, 1, &mut weather, 2_000_000);
    assert!(rig.outcomes(1).is_empty());
    rig.hub.link_lost("the port vanished");
    rig.collect();
    assert!(matches!(rig.outcome(1), Outcome::LinkLost { .. }));
    let held = Ranges::from_pairs(rig.events.iter().filter_map(|event| match event {
        ServiceEvent::LogData { offset, bytes, .. } => {
            Some((*offset, *offset + bytes.len() as u32))
        }
        _ => None,
    }));
    let (first_part, _) = assembled(&rig, 1, content.len());
    assert!(
        held.held() > 5_000 && held.held() < 20_000,
        "{}",
        held.held()
    );
    assert!(held.pairs().len() > 1, "holes to fill: {:?}", held.pairs());

    // The vehicle's transfer was left running; the new connection resumes from the ranges
    // kept on disk.
    let mut again = Rig::new();
    again.submit(2, download(1, content.len(), held.pairs().to_vec()));
    run_clear(&mut again, &mut logger, 2, 120_000_000);
    assert_eq!(again.outcome(2), Outcome::Accepted);
    let (second_part, carried) = assembled(&again, 2, content.len());
    assert_eq!(
        carried as u64,
        content.len() as u64 - held.held(),
        "only the missing bytes"
    );
    let whole: Vec<u8> = (0..content.len())
        .map(|i| {
            if held
                .gaps(content.len() as u32)
                .any(|(a, b)| (a as usize..b as usize).contains(&i))
            {
                second_part[i]
            } else {
                first_part[i]
            }
        })
        .collect();
    assert_eq!(whole, content);
    // It began by ending the transfer the lost link left running, then asked for a hole.
    assert!(matches!(
        again
            .sent
            .iter()
            .find(|(_, m, _)| !matches!(m, MavMessage::HEARTBEAT(_))),
        Some((_, MavMessage::LOG_REQUEST_END(_), _))
    ));
    let first_ask = data_requests(&again)[0];
    assert_eq!(first_ask.0, held.first_gap(content.len() as u32).unwrap().0);
}

#[test]
fn an_armed_vehicle_refuses_with_its_own_words_then_with_ours() {
    let content = file(5_000, 6);
    let mut logger = Logger::new(vec![content.clone()]);
    logger.armed = true;
    let mut rig = Rig::with_vehicle(copter(4, true));
    rig.submit(1, download(1, content.len(), Vec::new()));
    run_clear(&mut rig, &mut logger, 1, 60_000_000);
    assert_eq!(
        rig.outcome(1),
        Outcome::Refused {
            step: "download log 1".into(),
            result: "ARMED".into(),
            reason: vec!["Disarm for log download".into()]
        }
    );
    // ArduPilot says it once; the next request ends refused all the same.
    rig.submit(2, Action::ListLogs);
    run_clear(&mut rig, &mut logger, 2, 60_000_000);
    let Outcome::Refused { result, reason, .. } = rig.outcome(2) else {
        panic!("{:?}", rig.outcome(2));
    };
    assert_eq!(result, "ARMED");
    assert!(reason[0].contains("only when disarmed"), "{reason:?}");
}

#[test]
fn a_list_with_lost_entries_asks_for_the_missing_ones() {
    let files = vec![file(100, 1), file(2_000, 2), file(30_000, 3), file(7, 4)];
    let mut logger = Logger::new(files);
    let mut rig = Rig::new();
    rig.submit(1, Action::ListLogs);
    // The first answer loses entries 2 and 3.
    let mut weather = Weather::losing(|n| usize::from(!(n == 2 || n == 3)));
    run_in(&mut rig, &mut logger, 1, &mut weather, 30_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let entries = rig.events.iter().find_map(|event| match event {
        ServiceEvent::Logs { entries, .. } => Some(entries.clone()),
        _ => None,
    });
    let sizes = [100, 2_000, 30_000, 7];
    let expected: Vec<LogEntry> = (1..=4)
        .map(|id| LogEntry {
            id,
            time_utc: 1_700_000_000 + u32::from(id),
            size: sizes[usize::from(id) - 1],
        })
        .collect();
    assert_eq!(entries, Some(expected));
    let lists: Vec<(u16, u16)> = rig
        .sent
        .iter()
        .filter_map(|(_, m, _)| match m {
            MavMessage::LOG_REQUEST_LIST(l) => Some((l.start, l.end)),
            _ => None,
        })
        .collect();
    assert_eq!(lists, vec![(0, u16::MAX), (2, 3)]);
}

#[test]
fn erase_is_confirmed_by_an_empty_list_and_an_empty_vehicle_lists_nothing() {
    let mut logger = Logger::new(vec![file(100, 1), file(200, 2)]);
    let mut rig = Rig::new();
    rig.submit(1, Action::EraseLogs);
    run_clear(&mut rig, &mut logger, 1, 30_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    assert!(logger.files.iter().all(Vec::is_empty));
    rig.submit(2, Action::ListLogs);
    run_clear(&mut rig, &mut logger, 2, 30_000_000);
    assert_eq!(rig.outcome(2), Outcome::Accepted);
    assert!(rig.events.contains(&ServiceEvent::Logs {
        id: 2,
        entries: Vec::new()
    }));
    // A vehicle that never logged answers with entry 0 of 0.
    let mut empty = Logger::new(Vec::new());
    let mut rig = Rig::new();
    rig.submit(3, Action::ListLogs);
    run_clear(&mut rig, &mut empty, 3, 30_000_000);
    assert!(rig.events.contains(&ServiceEvent::Logs {
        id: 3,
        entries: Vec::new()
    }));
}

#[test]
fn a_log_shorter_than_listed_is_refused_not_accepted() {
    let mut logger = Logger::new(vec![file(1_000, 1)]);
    let mut rig = Rig::new();
    rig.submit(1, download(1, 1_500, Vec::new()));
    run_clear(&mut rig, &mut logger, 1, 30_000_000);
    let Outcome::Refused { result, reason, .. } = rig.outcome(1) else {
        panic!("{:?}", rig.outcome(1));
    };
    assert_eq!(result, "SHORT");
    assert!(reason[0].contains("byte 1000"), "{reason:?}");
}

#[test]
#[allow(deprecated)]
fn a_gcs_hub_pauses_its_telemetry_for_a_download_and_asks_again_after() {
    let content = file(3_000, 7);
    let mut logger = Logger::new(vec![content.clone()]);
    let mut rig = Rig::new();
    rig.hub = Hub::new(true);
    rig.hub.link_up(rig.now_us);
    rig.vehicle_says(copter(0, false));
    rig.wait(STEP_US);
    let asks = |rig: &Rig| {
        rig.sent
            .iter()
            .filter(
                |(_, m, _)| matches!(m, MavMessage::REQUEST_DATA_STREAM(r) if r.start_stop == 1),
            )
            .count()
    };
    let first_asks = asks(&rig);
    assert!(first_asks > 0);
    let submitted = rig.sent.len();
    rig.submit(1, download(1, content.len(), Vec::new()));
    let stops = rig
        .sent
        .iter()
        .filter(|(_, m, _)| matches!(m, MavMessage::REQUEST_DATA_STREAM(r) if r.start_stop == 0 && r.req_message_rate == 0))
        .count();
    assert_eq!(stops, 1);
    assert!(rig
        .events
        .iter()
        .any(|e| matches!(e, ServiceEvent::Step { id: 1, step } if step.contains("paused"))));
    run_clear(&mut rig, &mut logger, 1, 60_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let ended = rig
        .sent
        .iter()
        .rposition(|(_, m, _)| matches!(m, MavMessage::LOG_REQUEST_END(_)))
        .unwrap();
    let during = rig.sent[submitted..ended]
        .iter()
        .filter(|(_, m, _)| matches!(m, MavMessage::REQUEST_DATA_STREAM(r) if r.start_stop == 1))
        .count();
    assert_eq!(during, 0, "no stream asked for during the download");
    rig.wait(STEP_US * 2);
    assert_eq!(asks(&rig), 2 * first_asks, "asked for again after it");
}

/// LOG_DATA as the vehicle sends it: `count` bytes of `content` at `ofs`.
fn data(content: &[u8], ofs: u32, count: u32) -> MavMessage {
    let mut bytes = [0u8; 90];
    let at = ofs as usize;
    bytes[..count as usize].copy_from_slice(&content[at..at + count as usize]);
    MavMessage::LOG_DATA(apm::LOG_DATA_DATA {
        ofs,
        id: 1,
        count: count as u8,
        data: bytes,
    })
}

#[test]
fn a_late_copy_of_an_earlier_ranges_last_packet_neither_ends_nor_re_asks() {
    let content = file(1_000, 8);
    let mut rig = Rig::new();
    rig.submit(1, download(1, 1_000, Vec::new()));
    // The first 450 bytes are lost; the rest of the range arrives, its short last packet too.
    for ofs in (450..990).step_by(90) {
        rig.vehicle_says(data(&content, ofs, 90));
    }
    rig.vehicle_says(data(&content, 990, 10));
    assert_eq!(data_requests(&rig), vec![(0, 1_000), (0, 450)]);
    // A radio's late duplicate of that short packet: not the range asked for now.
    rig.vehicle_says(data(&content, 990, 10));
    assert_eq!(
        data_requests(&rig),
        vec![(0, 1_000), (0, 450)],
        "no request the vehicle would drop"
    );
    assert!(rig.outcomes(1).is_empty());
    for ofs in (0..450).step_by(90) {
        rig.vehicle_says(data(&content, ofs, 90));
    }
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    assert_eq!(assembled(&rig, 1, 1_000).0, content);
}

/// The steps said for request `id`.
fn steps_of(rig: &Rig, id: RequestId) -> Vec<String> {
    rig.events
        .iter()
        .filter_map(|event| match event {
            ServiceEvent::Step { id: of, step } if *of == id => Some(step.clone()),
            _ => None,
        })
        .collect()
}

/// FTP requests the hub sent for request `id`.
fn ftp_sent(rig: &Rig, id: RequestId) -> usize {
    rig.sent
        .iter()
        .filter(|(_, m, of)| matches!(m, MavMessage::FILE_TRANSFER_PROTOCOL(_)) && *of == Some(id))
        .count()
}

/// LOG_REQUEST_DATA the hub sent for request `id`.
fn data_requests_of(rig: &Rig, id: RequestId) -> usize {
    rig.sent
        .iter()
        .filter(|(_, m, of)| matches!(m, MavMessage::LOG_REQUEST_DATA(_)) && *of == Some(id))
        .count()
}

#[test]
fn auto_measures_both_ways_and_goes_on_by_ftp_when_it_is_faster_and_remembers() {
    let first = file(400_000, 3);
    let second = file(300_000, 4);
    // Log messages: 3 a step (5 400 B/s); FTP: 239 bytes every 25 ms (9 560 B/s).
    let mut logger = Logger::new(vec![first.clone(), second.clone()]).with_ftp(0.025);
    let mut rig = Rig::new();
    rig.submit(1, download_via(1, first.len(), Vec::new(), LogVia::Auto));
    run_clear(&mut rig, &mut logger, 1, 600_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let (bytes, carried) = assembled(&rig, 1, first.len());
    assert_eq!(bytes, first, "byte-identical");
    assert_eq!(carried, first.len(), "each byte reported once");
    let steps = steps_of(&rig, 1);
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("log messages: 5") && s.contains("/APM/LOGS/00000001.BIN")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("MAVLink FTP 9") && s.ends_with("on by FTP")),
        "{steps:?}"
    );
    assert!(data_requests_of(&rig, 1) >= 1, "log messages were measured");
    assert_eq!(logger.dropped_requests, 0);

    // The next download goes straight by FTP: not one log message asked for.
    rig.submit(2, download_via(2, second.len(), Vec::new(), LogVia::Auto));
    run_clear(&mut rig, &mut logger, 2, 600_000_000);
    assert_eq!(rig.outcome(2), Outcome::Accepted);
    assert_eq!(assembled(&rig, 2, second.len()).0, second);
    assert_eq!(data_requests_of(&rig, 2), 0);
    let steps = steps_of(&rig, 2);
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("by MAVLink FTP (/APM/LOGS/00000002.BIN): faster")),
        "{steps:?}"
    );
}

#[test]
fn auto_goes_back_to_log_messages_when_ftp_is_slower_and_loses_no_byte() {
    let content = file(300_000, 5);
    // FTP: a packet every 200 ms (1 195 B/s), as an autopilot that gives FTP a third of a
    // slow link; the burst it was asked for goes on after the switch back.
    let mut logger = Logger::new(vec![content.clone()]).with_ftp(0.2);
    let mut rig = Rig::new();
    rig.submit(1, download_via(1, content.len(), Vec::new(), LogVia::Auto));
    // 3 % of the vehicle's messages lost.
    let mut weather = Weather::losing(|n| usize::from(n % 33 != 7));
    run_in(&mut rig, &mut logger, 1, &mut weather, 600_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let (bytes, carried) = assembled(&rig, 1, content.len());
    assert_eq!(bytes, content, "byte-identical");
    assert_eq!(carried, content.len(), "each byte reported once");
    let steps = steps_of(&rig, 1);
    assert!(
        steps.iter().any(|s| s.ends_with("on by log messages")),
        "{steps:?}"
    );
    assert_eq!(logger.dropped_requests, 0, "{:?}", data_requests(&rig));
}

#[test]
fn a_vehicle_without_ftp_gets_log_messages_after_a_short_search_once() {
    let first = file(200_000, 6);
    let second = file(150_000, 7);
    let mut logger = Logger::new(vec![first.clone(), second.clone()]);
    let mut rig = Rig::new();
    let started = rig.now_us;
    rig.submit(1, download_via(1, first.len(), Vec::new(), LogVia::Auto));
    run_clear(&mut rig, &mut logger, 1, 600_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    assert_eq!(assembled(&rig, 1, first.len()).0, first);
    let steps = steps_of(&rig, 1);
    assert!(
        steps
            .iter()
            .any(|s| s.contains("no log folder listed within 3 s; by log messages")),
        "{steps:?}"
    );
    // The search took its 3 s, not more.
    let first_request = rig
        .sent
        .iter()
        .find(|(_, m, _)| matches!(m, MavMessage::LOG_REQUEST_DATA(_)))
        .map(|(at, _, _)| *at)
        .unwrap();
    assert!(
        first_request - started <= 3_100_000,
        "{}",
        first_request - started
    );
    // The next one does not search again.
    rig.submit(2, download_via(2, second.len(), Vec::new(), LogVia::Auto));
    run_clear(&mut rig, &mut logger, 2, 600_000_000);
    assert_eq!(rig.outcome(2), Outcome::Accepted);
    assert_eq!(ftp_sent(&rig, 2), 0);
}

#[test]
fn by_ftp_a_resumed_download_reads_only_the_missing_bytes_through_loss() {
    let content = file(250_000, 8);
    let mut logger = Logger::new(vec![content.clone()]).with_ftp(0.025);
    let mut rig = Rig::new();
    let have = vec![(0, 100_000), (150_000, 200_000)];
    rig.submit(1, download_via(1, content.len(), have.clone(), LogVia::Ftp));
    // 5 % of the vehicle's messages lost, some duplicated, some out of order.
    let mut weather = Weather {
        copies: Box::new(|n| match n % 20 {
            3 => 0,
            11 => 2,
            _ => 1,
        }),
        reorder: true,
    };
    run_in(&mut rig, &mut logger, 1, &mut weather, 600_000_000);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let mut held = Ranges::from_pairs(have.iter().copied());
    let mut bytes = vec![0u8; content.len()];
    for &(start, end) in &have {
        bytes[start as usize..end as usize].copy_from_slice(&content[start as usize..end as usize]);
    }
    let mut carried = 0;
    for event in &rig.events {
        if let ServiceEvent::LogData {
            offset,
            bytes: data,
            ..
        } = event
        {
            let end = *offset + data.len() as u32;
            assert_eq!(
                held.insert(*offset, end),
                data.len() as u32,
                "new bytes only"
            );
            bytes[*offset as usize..end as usize].copy_from_slice(data);
            carried += data.len();
        }
    }
    assert_eq!(bytes, content, "byte-identical");
    assert_eq!(carried, 250_000 - 150_000, "only the missing bytes");
    assert_eq!(data_requests_of(&rig, 1), 0, "no log message asked for");
}

#[test]
fn ftp_only_is_refused_with_the_reason_when_no_file_is_offered_or_the_vehicle_is_armed() {
    let content = file(120_000, 9);
    // The vehicle lists its folder, but no file has the log's size.
    let mut logger = Logger::new(vec![content.clone()]).with_ftp(0.025);
    let mut rig = Rig::new();
    rig.submit(1, download_via(1, 999, Vec::new(), LogVia::Ftp));
    run_clear(&mut rig, &mut logger, 1, 60_000_000);
    match rig.outcome(1) {
        Outcome::Refused { result, reason, .. } => {
            assert_eq!(result, "NO_FILE");
            assert!(
                reason[0].contains("no file of 999 bytes in /APM/LOGS"),
                "{reason:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Armed: refused before anything is sent.
    let mut rig = Rig::with_vehicle(copter(0, true));
    rig.submit(2, download_via(1, content.len(), Vec::new(), LogVia::Ftp));
    let outcome = rig.outcome(2);
    assert!(
        matches!(&outcome, Outcome::NotSent { reason } if reason.contains("armed")),
        "{outcome:?}"
    );
    assert_eq!(ftp_sent(&rig, 2), 0);
}

#[test]
fn a_vehicle_that_arms_during_an_ftp_read_ends_it_refused_and_closes_the_file() {
    let content = file(300_000, 10);
    let mut logger = Logger::new(vec![content.clone()]).with_ftp(0.025);
    let mut rig = Rig::new();
    rig.submit(1, download_via(1, content.len(), Vec::new(), LogVia::Ftp));
    run_clear(&mut rig, &mut logger, 1, 3_000_000);
    assert!(rig.outcomes(1).is_empty());
    assert!(
        assembled(&rig, 1, content.len()).1 > 10_000,
        "reading by FTP"
    );
    rig.vehicle_says(copter(0, true));
    let outcome = rig.outcome(1);
    assert!(
        matches!(&outcome, Outcome::Refused { result, .. } if result == "ARMED"),
        "{outcome:?}"
    );
    let last_ftp = rig.sent.iter().rev().find_map(|(_, m, _)| match m {
        MavMessage::FILE_TRANSFER_PROTOCOL(ftp) => Packet::decode(&ftp.payload),
        _ => None,
    });
    assert_eq!(
        last_ftp.map(|p| p.opcode),
        Some(crate::protocol::services::ftp::Op::TerminateSession as u8),
        "the file is closed"
    );
}
