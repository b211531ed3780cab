//! The flight record on real files: round trips, damage, foreign logs.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use airlock::capture::raw::{check_header, RecordIter, RecordKind};
use airlock::capture::{FlightRecord, FlightSource, RAW_FILE, TLOG_FILE};
use airlock::review::{self, export};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tlogs")
        .join(name)
}

#[test]
fn foreign_tlogs_give_pymavlinks_counts() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("pymavlink-counts.json")).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert_eq!(expected.len(), 4);
    for (file, counts) in expected {
        let summary = review::summarize(&data(file)).unwrap();
        let mut want: BTreeMap<String, u64> =
            serde_json::from_value(counts["messages"].clone()).unwrap();
        // pymavlink read these with its MAVLink 1 dialect module, which lacks ids above 255:
        // it calls ESC_TELEMETRY_1_TO_4 (id 11030) UNKNOWN_11030. Airlock knows the message.
        if let Some(count) = want.remove("UNKNOWN_11030") {
            want.insert("ESC_TELEMETRY_1_TO_4".into(), count);
        }
        assert_eq!(summary.counts.messages, want, "{file}");
        let duration = counts["duration_s"].as_f64().unwrap();
        assert!(
            (summary.duration_s - duration).abs() < 0.001,
            "{file}: {}",
            summary.duration_s
        );
        assert_eq!(summary.counts.crc_errors, 0, "{file}");
        assert!(summary.notices.is_empty(), "{file}: {:?}", summary.notices);
    }
}

#[test]
fn a_truncated_tlog_opens_with_what_it_holds() {
    let whole = std::fs::read(data("magfit_scaling_test.tlog")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tlog");
    std::fs::write(&path, &whole[..whole.len() - 7]).unwrap();
    let summary = review::summarize(&path).unwrap();
    let total: u64 = summary.counts.messages.values().sum();
    assert_eq!(total, 2632 - 1);
    assert!(
        summary.notices.iter().any(|n| n.contains("incomplete")),
        "{:?}",
        summary.notices
    );
}

#[test]
fn a_corrupted_tlog_skips_the_damage_and_keeps_the_rest() {
    let mut bytes = std::fs::read(data("EAICS_flight.tlog")).unwrap();
    // Overwrite 300 bytes in the middle with noise.
    let mut rng = fastrand::Rng::with_seed(7);
    for byte in &mut bytes[100_000..100_300] {
        *byte = rng.u8(..);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.tlog");
    std::fs::write(&path, &bytes).unwrap();
    let summary = review::summarize(&path).unwrap();
    let total: u64 = summary.counts.messages.values().sum();
    assert!(total < 8164 && total > 8164 - 20, "{total}");
    assert!(summary.damaged_bytes > 0);
}

#[test]
fn a_garbage_file_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noise.tlog");
    let mut rng = fastrand::Rng::with_seed(3);
    let noise: Vec<u8> = (0..100_000).map(|_| rng.u8(..)).collect();
    std::fs::write(&path, noise).unwrap();
    let error = review::summarize(&path).unwrap_err().to_string();
    assert!(error.contains("no MAVLink frames found"), "{error}");
    let empty = dir.path().join("empty.tlog");
    std::fs::write(&empty, b"").unwrap();
    assert!(review::summarize(&empty).is_err());
}

fn record_sample_flight(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut record = FlightRecord::create(dir, FlightSource::default()).unwrap();
    let raw_tlog = std::fs::read(data("magfit_scaling_test.tlog")).unwrap();
    // Use real frames from a real vehicle as the received stream, with noise between chunks.
    let mut rx = Vec::new();
    let mut tx = Vec::new();
    for (i, chunk) in raw_tlog.chunks(333).enumerate() {
        record.record(RecordKind::Rx, 0, chunk);
        rx.extend_from_slice(chunk);
        if i % 10 == 0 {
            let sent = [0xfe, 0x00, i as u8, 0xff, 0xbe];
            record.record(RecordKind::Tx, 0, &sent);
            tx.extend_from_slice(&sent);
        }
        record.tick();
    }
    assert!(!record.is_paused());
    record.close().unwrap();
    (rx, tx)
}

#[test]
fn raw_capture_round_trips_every_byte_with_private_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (rx, tx) = record_sample_flight(&flight);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&flight), 0o700);
    for file in [RAW_FILE, TLOG_FILE, "flight.json"] {
        assert_eq!(mode(&flight.join(file)), 0o600, "{file}");
    }
    let opened = review::open(&flight).unwrap();
    for (direction, want) in [(export::Direction::Rx, &rx), (export::Direction::Tx, &tx)] {
        let mut out = Vec::new();
        export::export_raw(&opened, direction, &mut out).unwrap();
        assert_eq!(&out, want);
    }
}

#[test]
fn a_capture_torn_mid_record_keeps_every_whole_record() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (rx, _) = record_sample_flight(&flight);
    let raw_path = flight.join(RAW_FILE);
    let bytes = std::fs::read(&raw_path).unwrap();
    check_header(&bytes).unwrap();
    let records: Vec<_> = RecordIter::new(&bytes).collect();
    let last = records.last().unwrap();
    // Cut the file in the middle of its last record, as a crash mid-write would.
    let cut = last.offset as usize + 30;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&raw_path)
        .unwrap();
    file.set_len(cut as u64).unwrap();
    file.flush().unwrap();
    let cut_bytes = std::fs::read(&raw_path).unwrap();
    let mut iter = RecordIter::new(&cut_bytes);
    let kept: Vec<_> = iter.by_ref().collect();
    assert_eq!(kept.len(), records.len() - 1);
    assert_eq!(iter.damage().truncated_tail_bytes, 30);
    let summary = review::summarize(&flight).unwrap();
    assert!(summary.bytes_rx > 0 && summary.bytes_rx <= rx.len() as u64);
    assert!(summary.notices.iter().any(|n| n.contains("incomplete")));
}

#[test]
fn a_flipped_bit_in_a_capture_loses_one_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    record_sample_flight(&flight);
    let raw_path = flight.join(RAW_FILE);
    let mut bytes = std::fs::read(&raw_path).unwrap();
    let records: Vec<(u64, usize)> = RecordIter::new(&bytes)
        .map(|r| (r.offset, r.data.len()))
        .collect();
    let (offset, _) = records[records.len() / 2];
    bytes[offset as usize + 40] ^= 0x10;
    let damaged: Vec<_> = RecordIter::new(&bytes).collect();
    assert_eq!(damaged.len(), records.len() - 1);
}

#[test]
fn tlog_export_of_a_tlog_keeps_every_valid_record() {
    let dir = tempfile::tempdir().unwrap();
    let opened = review::open(&data("ahmadkhanfar_TLOG_test.tlog")).unwrap();
    let mut out = Vec::new();
    let records = export::export_tlog(&opened, &mut out).unwrap();
    assert_eq!(records, 10277);
    let path = dir.path().join("copy.tlog");
    std::fs::write(&path, &out).unwrap();
    let copy = review::summarize(&path).unwrap();
    let original = review::summarize(&data("ahmadkhanfar_TLOG_test.tlog")).unwrap();
    assert_eq!(copy.counts.messages, original.counts.messages);
}

#[test]
fn the_library_lists_flights_and_rebuilds_orphans() {
    let dir = tempfile::tempdir().unwrap();
    record_sample_flight(&dir.path().join("2026-01-01_10-00-00Z"));
    // A recorder that died: bytes recorded, never closed.
    let orphan_dir = dir.path().join("2026-01-02_10-00-00Z");
    let mut orphan = FlightRecord::create(&orphan_dir, FlightSource::default()).unwrap();
    let tlog = std::fs::read(data("magfit_scaling_test.tlog")).unwrap();
    orphan.record(RecordKind::Rx, 0, &tlog[..20_000]);
    orphan.sync().unwrap();
    drop(orphan);
    std::fs::create_dir_all(dir.path().join("not-a-flight")).unwrap();
    let flights = airlock::review::library::list_flights(dir.path()).unwrap();
    assert_eq!(flights.len(), 2);
    let orphan = flights.iter().find(|f| f.dir == orphan_dir).unwrap();
    assert!(orphan.recovered);
    assert!(
        orphan.messages > 100,
        "rebuilt from the capture: {}",
        orphan.messages
    );
    let closed = flights.iter().find(|f| f.dir != orphan_dir).unwrap();
    assert!(!closed.recovered);
    assert!(closed.duration_s.is_some() && closed.size_bytes > 100_000);
    assert_eq!(orphan.vehicle.as_deref(), Some("MAV_TYPE_QUADROTOR"));
    assert!(
        flights[0].started_us >= flights[1].started_us,
        "newest first"
    );
}
