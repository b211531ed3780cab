//! Every parser of outside data in Airlock, as a function of arbitrary bytes that must never
//! panic, hang or allocate without bound. Shared by the coverage-guided fuzzer (`fuzz/`, with
//! cargo-afl) and the short property-test run in CI (`tests/fuzz_short.rs`).
//!
//! A target returns nothing: what it checks is that it comes back. Allocation is bounded by
//! [`Bounded`], a global allocator that aborts on any single request above
//! [`MAX_ALLOCATION`] (inputs are at most a few MiB, so more can only come from trusting a
//! length field).

#![allow(dead_code)] // each user runs a different subset

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;

use airlock::capture::raw::{check_header, RecordIter};
use airlock::capture::{FlightMeta, LinkEvent};
use airlock::protocol::services::{Action, Hub, MissionKind, Request, Target};
use airlock::protocol::{decode, decode_payload, Framer};
use airlock::review::export::{write_export, Export};
use airlock::review::frames::Span;
use airlock::review::index::{state_at, FlightIndex};
use airlock::review::tlog::TlogReader;

/// The largest single allocation a target may make.
pub const MAX_ALLOCATION: usize = 256 << 20;

/// A global allocator that aborts (a finding) on an allocation larger than
/// [`MAX_ALLOCATION`].
pub struct Bounded;

unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            // Not a panic: a panic could be caught; this must be seen.
            let _ = std::io::stderr().write_all(b"fuzz: allocation above the bound\n");
            std::process::abort();
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOCATION {
            let _ = std::io::stderr().write_all(b"fuzz: allocation above the bound\n");
            std::process::abort();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// A target: a name and the function that takes the bytes.
pub type FuzzTarget = (&'static str, fn(&[u8]));

/// Every target, by name (the fuzzer's binary takes the name as its argument).
pub const TARGETS: &[FuzzTarget] = &[
    ("framer", framer),
    ("tlog", tlog),
    ("capture", capture),
    ("stored", stored),
    ("index", index),
    ("mission", mission),
    ("params", params),
    ("pck", pck),
    ("replies", replies),
    ("times", times),
    ("json", json),
    ("seal", seal),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, run)| *run)
}

/// The MAVLink framer and decoder on a received byte stream, as the live session runs them.
pub fn framer(data: &[u8]) {
    let mut framer = Framer::new();
    let mut on = |item: airlock::protocol::frame::Parsed<'_>| {
        if let airlock::protocol::frame::Parsed::Frame(header, bytes) = item {
            let _ = decode(&header, bytes);
        }
    };
    // In two pieces, as reads cut the stream anywhere.
    let cut = data.first().map_or(0, |&b| b as usize).min(data.len());
    framer.push(&data[..cut], &mut on);
    framer.push(&data[cut..], &mut on);
    framer.flush(&mut on);
    // What is sent is scanned for secrets to redact before it is recorded.
    let _ = airlock::protocol::signing::redact_secrets(data);
}

/// The `.tlog` reader, its index and the replay that seeks with it.
pub fn tlog(data: &[u8]) {
    let mut reader = TlogReader::new(data);
    let mut last = 0;
    for item in reader.by_ref() {
        if let airlock::review::tlog::TlogItem::Frame { time_us, .. } = item {
            last = time_us;
        }
    }
    let index = FlightIndex::build(data);
    let _ = state_at(data, &index, last);
    let _ = state_at(data, &index, last / 2);
    let _ = index.track_at(last / 2);
}

/// The raw capture reader and the walk that frames it again.
pub fn capture(data: &[u8]) {
    if check_header(data).is_ok() {
        let mut records = RecordIter::new(data);
        for record in records.by_ref() {
            if record.kind == airlock::capture::raw::RecordKind::Event {
                let _ = LinkEvent::parse(record.data);
            }
        }
        let _ = records.damage();
        let _ = airlock::review::summary::tally_capture(data);
    }
}

/// `airlock info` and every export, on the bytes as a stored file (tlog or raw capture).
pub fn stored(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let name = if data.starts_with(&airlock::capture::raw::MAGIC) {
        "capture.alc"
    } else {
        "flight.tlog"
    };
    let path = dir.path().join(name);
    if std::fs::write(&path, data).is_err() {
        return;
    }
    stored_file(&path);
}

fn stored_file(path: &Path) {
    let _ = airlock::review::summarize(path);
    let Ok(opened) = airlock::review::open(path) else {
        return;
    };
    for what in [
        Export::Tlog,
        Export::Csv("ATTITUDE"),
        Export::Gpx,
        Export::Kml,
        Export::Raw(airlock::review::export::Direction::Rx),
    ] {
        let _ = write_export(
            &opened,
            what,
            Span::ALL,
            "fuzz",
            &mut |_, _| {},
            &mut std::io::sink(),
        );
    }
}

/// A kept index file (`.alidx`), then used against a tlog: the input is the index's length
/// (4 bytes, little-endian), the index, the tlog.
pub fn index(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let cut = (u32::from_le_bytes(*len) as usize).min(rest.len());
    if let Some(index) = FlightIndex::decode(&rest[..cut]) {
        let tlog = &rest[cut..];
        let _ = state_at(tlog, &index, index.start_us);
        let _ = state_at(tlog, &index, index.end_us);
        let _ = index.track_at(index.end_us);
        let _ = index.checkpoint_before(index.end_us);
        for stream in &index.streams {
            let _ = index.rate_at(&stream.key, index.start_us);
        }
    }
}

/// Mission files: QGroundControl `.plan` and `QGC WPL 110` (`.waypoints`, `.txt`).
pub fn mission(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(plan) = airlock::mission::Plan::parse(&text) {
        for format in [
            airlock::mission::Format::Plan,
            airlock::mission::Format::Waypoints,
        ] {
            let _ = plan.write(format);
        }
        let _ = plan.to_json();
    }
}

/// Parameter files (Mission Planner `.param`, QGroundControl `.params`).
pub fn params(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok((set, format)) = airlock::params::files::read(&text) {
        let _ = airlock::params::files::write(&set, format, (1, 1));
    }
}

/// ArduPilot's packed parameter file, as read over MAVLink FTP.
pub fn pck(data: &[u8]) {
    let _ = airlock::params::pck::decode(data);
}

/// The vehicle's replies: the protocol services with every kind of request under way, fed
/// messages built from the input (id, payload), with the clock moving on.
pub fn replies(data: &[u8]) {
    let mut hub = Hub::new(true);
    let mut now_us = 1_000_000;
    hub.link_up(now_us);
    let target = Some(Target {
        system_id: 1,
        component_id: 1,
    });
    let actions = [
        Action::DownloadMission {
            kind: MissionKind::Mission,
        },
        Action::FetchParams { ftp: true },
        Action::ListLogs,
        Action::DownloadLog {
            log_id: 1,
            size: 4096,
            have: Vec::new(),
            via: Default::default(),
        },
        Action::Arm,
    ];
    for (id, action) in actions.into_iter().enumerate() {
        hub.submit(now_us, id as u64, Request { target, action });
    }
    // Each message: a 1-byte pick of the message id among those the services read, a 1-byte
    // payload length, the payload (zero-extended by the decoder, as MAVLink 2 does).
    const IDS: [u32; 13] = [0, 22, 39, 40, 44, 47, 51, 73, 77, 110, 118, 120, 253];
    let mut rest = data;
    while let [pick, len, tail @ ..] = rest {
        let len = (*len as usize).min(tail.len());
        let (payload, after) = tail.split_at(len);
        rest = after;
        let message_id = IDS[*pick as usize % IDS.len()];
        now_us += u64::from(*pick) * 10_000;
        if let Ok(message) = decode_payload(message_id, payload) {
            hub.on_message(
                now_us,
                &airlock::protocol::FrameHeader::of_sender(1, 1, message_id),
                &message,
            );
        }
        hub.tick(now_us);
        while hub.poll_transmit().is_some() {}
        while hub.poll_event().is_some() {}
    }
    // The link goes: every request must end.
    hub.link_lost("fuzz");
    while hub.poll_event().is_some() {}
}

/// Times on the command line (`--from`, `--to`).
pub fn times(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = airlock::cli::parse_time(&text, 1_700_000_000_000_000);
}

/// The JSON Airlock reads back: link events of a capture, and a flight's metadata.
pub fn json(data: &[u8]) {
    let _ = LinkEvent::parse(data);
    let _ = serde_json::from_slice::<FlightMeta>(data);
}

/// Real inputs for `name` to start from: the repository's real logs and mission files, and
/// files written the way vehicles and other ground stations write them. `root` is the
/// repository.
/// What separates the journal, the manifest and the capture in a `seal` input.
const SEAL_PARTS: &[u8] = b"\n--\n";

/// A flight's seal as `airlock verify` reads it, signed again: the input is a journal, then
/// (after a line `--`) a manifest, then (after another) the capture's bytes. Every journal
/// line that holds an entry is chained and signed with a key of this run, and so is the
/// manifest, so what is checked past the signatures is hostile too (a key holder's journal
/// may still be a lie; it must not crash the checker).
pub fn seal(data: &[u8]) {
    use airlock::capture::seal::{Line, SealKey, ENTRY_CONTEXT, GENESIS, MANIFEST_CONTEXT};
    static KEY: std::sync::OnceLock<Option<SealKey>> = std::sync::OnceLock::new();
    let Some(key) = KEY.get_or_init(|| {
        SealKey::generate()
            .ok()
            .and_then(|k| SealKey::from_pkcs8(&k))
    }) else {
        return;
    };
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < 2 {
        match rest.windows(SEAL_PARTS.len()).position(|w| w == SEAL_PARTS) {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = &rest[at + SEAL_PARTS.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    let Ok(dir) = tempfile::tempdir() else { return };
    let mut journal = Vec::new();
    let mut head = GENESIS;
    for text in parts[0].split(|&b| b == b'\n') {
        match serde_json::from_slice::<Line>(text) {
            Ok(mut line) => {
                let hash = line.entry.chain(&head);
                line.hash = to_hex(&hash);
                line.sig = to_hex(&key.sign(ENTRY_CONTEXT, &hash));
                head = hash;
                journal.extend(serde_json::to_vec(&line).unwrap_or_default());
            }
            Err(_) => journal.extend_from_slice(text),
        }
        journal.push(b'\n');
    }
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).is_ok();
    if !write("integrity.jsonl", &journal) {
        return;
    }
    if let Some(manifest) = parts.get(1).filter(|_| parts.len() == 3) {
        let signature = to_hex(&key.sign(MANIFEST_CONTEXT, manifest));
        if !(write("manifest.json", manifest) && write("manifest.sig", signature.as_bytes())) {
            return;
        }
    }
    if let Some(capture) = parts.last().filter(|_| parts.len() > 1) {
        if !write("capture.alc", capture) {
            return;
        }
    }
    let _ = airlock::review::verify::verify(dir.path(), key.public());
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn seeds(root: &Path, name: &str) -> Vec<Vec<u8>> {
    let data = root.join("tests/data");
    let read_all = |dir: &str, limit: usize| -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(data.join(dir))
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter(|path| path.extension().is_some_and(|e| e != "json" && e != "md"))
            .filter_map(|path| std::fs::read(path).ok())
            .map(|mut bytes| {
                bytes.truncate(limit);
                bytes
            })
            .collect()
    };
    let tlogs = || read_all("tlogs", 16 * 1024);
    match name {
        "framer" | "tlog" => tlogs(),
        "capture" => tlogs().iter().map(|t| capture_of(t)).collect(),
        "stored" => tlogs()
            .into_iter()
            .flat_map(|t| [capture_of(&t[..4096]), t[..4096].to_vec()])
            .collect(),
        "index" => tlogs()
            .iter()
            .filter_map(|t| {
                let index = FlightIndex::build(t).encode()?;
                let mut seed = (index.len() as u32).to_le_bytes().to_vec();
                seed.extend_from_slice(&index);
                seed.extend_from_slice(t);
                Some(seed)
            })
            .collect(),
        "mission" => read_all("missions", usize::MAX),
        "params" => vec![
            b"# Mission Planner\nRTL_ALT,2500\nWPNAV_SPEED,750.5\nLOG_BITMASK,196606\n".to_vec(),
            b"# Onboard parameters for Vehicle 1\n# MAV ID\tCOMPONENT ID\tPARAM NAME\tVALUE\t(TYPE)\n1\t1\tRTL_ALT\t2500\t6\n1\t1\tANGLE_MAX\t3000.000000000000000000\t4\n".to_vec(),
            b"RTL_ALT 2500\nFRAME_CLASS 1 # quad\n".to_vec(),
        ],
        "pck" => {
            use airlock::params::{Param, ParamType};
            let params = [
                Param::new("RTL_ALT", 2500.0, Some(ParamType::Int16)),
                Param::new("RTL_ALT_FINAL", 0.0, Some(ParamType::Int16)),
                Param::new("WPNAV_SPEED", 750.5, Some(ParamType::Real32)),
                Param::new("LOG_BITMASK", 196606.0, Some(ParamType::Int32)),
                Param::new("FRAME_CLASS", 1.0, Some(ParamType::Int8)),
            ];
            vec![
                airlock::params::pck::encode(&params, 5, false),
                airlock::params::pck::encode(&params, 7, true),
            ]
        }
        "replies" => vec![
            // MISSION_COUNT 2, then two MISSION_ITEM_INT, an ACK.
            vec![4, 5, 2, 0, 1, 1, 0, 7, 20, 0, 0, 0, 0, 7, 37, 1, 0, 0, 0, 3, 4, 0],
            // LOG_ENTRY, LOG_DATA, heartbeat, COMMAND_ACK accepted and denied, texts.
            vec![10, 14, 1, 0, 1, 0, 1, 0, 0, 16, 0, 0, 0, 0, 0, 0, 11, 9, 0, 0, 0, 0, 1, 0, 90, 1, 2],
            vec![0, 9, 0, 0, 0, 0, 2, 3, 81, 3, 4, 8, 3, 144, 1, 0, 8, 3, 144, 1, 4, 12, 6, 6, 80, 114, 101, 65, 114, 109],
            // FILE_TRANSFER_PROTOCOL: an ACK of an open, data, a NAK.
            vec![9, 20, 0, 1, 1, 1, 0, 0, 1, 0, 128, 4, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 9, 14, 0, 1, 1, 2, 0, 0, 5, 0, 128, 6, 0, 0, 0, 0],
        ],
        "times" => ["90", "1:30", "1:02:03.5", "2026-11-25T16:45:14Z", "-3", "99999999999:00"]
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .collect(),
        "json" => vec![
            br#"{"event":"open","port":"/dev/ttyACM0","baud":57600,"description":"pty","usb_serial":null}"#.to_vec(),
            br#"{"event":"gap","since_wall_us":1,"since_mono_us":2,"rx_bytes":3,"tx_bytes":4,"events":0,"tlog_records":1,"error":"full"}"#.to_vec(),
            serde_json::to_vec(&FlightMeta::default()).unwrap_or_default(),
        ],
        "seal" => tlogs().iter().filter_map(|t| sealed_flight(t)).collect(),
        _ => Vec::new(),
    }
}

/// A `seal` input from a real sealed flight that recorded `rx`: its journal, manifest and
/// capture.
fn sealed_flight(rx: &[u8]) -> Option<Vec<u8>> {
    use airlock::capture::flight::{FlightRecord, FlightSource};
    use airlock::capture::raw::RecordKind;
    use airlock::capture::seal::SealKey;
    let dir = tempfile::tempdir().ok()?;
    let flight = dir.path().join("flight");
    let key = SealKey::from_pkcs8(&SealKey::generate().ok()?)?;
    let mut record = FlightRecord::create(&flight, FlightSource::default()).ok()?;
    record.seal_with(std::sync::Arc::new(key)).ok()?;
    for chunk in rx.chunks(2048) {
        record.record(RecordKind::Rx, 0, chunk);
        record.sync().ok()?;
    }
    record.close().ok()?;
    let mut seed = std::fs::read(flight.join("integrity.jsonl")).ok()?;
    seed.extend_from_slice(SEAL_PARTS);
    seed.extend(std::fs::read(flight.join("manifest.json")).ok()?);
    seed.extend_from_slice(SEAL_PARTS);
    seed.extend(std::fs::read(flight.join("capture.alc")).ok()?);
    Some(seed)
}

/// A raw capture holding `rx` as received chunks around link events.
fn capture_of(rx: &[u8]) -> Vec<u8> {
    use airlock::capture::raw::{
        encode_record, RecordKind, FILE_HEADER_LEN, FORMAT_VERSION, MAGIC,
    };
    use airlock::capture::Timestamp;
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let mut record = Vec::new();
    let mut time = Timestamp {
        wall_us: 1_700_000_000_000_000,
        mono_us: 0,
    };
    let open = LinkEvent::Open {
        port: "/dev/ttyUSB0".into(),
        baud: 57600,
        description: "seed".into(),
        usb_serial: None,
    };
    encode_record(RecordKind::Event, 0, time, &open.to_json(), &mut record);
    out.extend_from_slice(&record);
    for (i, chunk) in rx.chunks(300).enumerate() {
        time.wall_us += 50_000;
        time.mono_us += 50_000;
        let kind = if i % 7 == 3 {
            RecordKind::Tx
        } else {
            RecordKind::Rx
        };
        encode_record(kind, 0, time, chunk, &mut record);
        out.extend_from_slice(&record);
    }
    out
}

/// Applies `edits` to `seed`, the way a fuzzer mutates inputs: each edit is
/// (operation, position, value, length) drawn at random.
pub fn mutate(seed: &[u8], edits: &[(u8, usize, u8, usize)]) -> Vec<u8> {
    const INTERESTING: [u8; 8] = [0x00, 0xff, 0x7f, 0x80, 0xfd, 0xfe, 0x01, 0x55];
    let mut bytes = seed.to_vec();
    for &(op, at, value, len) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            at % bytes.len()
        };
        let end = (at + len % 64).min(bytes.len());
        match op % 7 {
            0 => {
                if let Some(byte) = bytes.get_mut(at) {
                    *byte ^= 1 << (value % 8);
                }
            }
            1 => {
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = INTERESTING[value as usize % INTERESTING.len()];
                }
            }
            2 => bytes
                .splice(at..at, std::iter::repeat_n(value, len % 64))
                .for_each(drop),
            3 => bytes.drain(at..end).for_each(drop),
            4 => {
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy).for_each(drop);
            }
            5 => bytes.truncate(at),
            _ => {
                // A 32-bit length-like value, little- or big-endian.
                let word = if value % 2 == 0 {
                    u32::MAX
                } else {
                    0x0100_0000
                };
                let word = if value % 4 < 2 {
                    word.to_le_bytes()
                } else {
                    word.to_be_bytes()
                };
                for (i, b) in word.iter().enumerate() {
                    if let Some(byte) = bytes.get_mut(at + i) {
                        *byte = *b;
                    }
                }
            }
        }
    }
    bytes
}
