//! The flight index: built once and kept, reused while fresh, and seeking with it gives the
//! same state as replaying the flight from its start.

use std::path::Path;

use airlock::review::index::{state_at, FlightIndex};
use airlock::review::replay;

#[test]
fn seeking_with_the_index_gives_the_replayed_state() {
    let dir = tempfile::tempdir().unwrap();
    let tlog = dir.path().join("vtol.tlog");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/UAVLogViewer_vtol.tlog"),
        &tlog,
    )
    .unwrap();
    let opened = airlock::review::open(&tlog).unwrap();
    let (index, built) = FlightIndex::open_or_build(&tlog, opened.bytes(), None);
    assert!(built);
    assert!(
        tlog.with_extension("tlog.alidx").is_file(),
        "kept beside the log"
    );
    let (again, built_again) = FlightIndex::open_or_build(&tlog, opened.bytes(), None);
    assert!(!built_again, "a fresh index is reused");
    assert_eq!(again.encode(), index.encode());
    let attitude = index.first_stream_of(30).unwrap();
    assert_eq!(attitude.count, 888);
    assert!(index.checkpoints.len() > 1, "a checkpoint every 256 KiB");
    let (start, end) = (index.start_us, index.end_us);
    for step in 0..=40 {
        let time = start + (end - start) / 40 * step;
        let (sought, _) = state_at(opened.bytes(), &index, time);
        let replayed = replay::state_at(&opened, Some(time));
        assert_eq!(sought.status, replayed.status, "at {time}");
        assert_eq!(sought.attitude, replayed.attitude, "at {time}");
        assert_eq!(sought.position, replayed.position, "at {time}");
        assert_eq!(sought.gps, replayed.gps, "at {time}");
        assert_eq!(sought.hud, replayed.hud, "at {time}");
        assert_eq!(sought.battery, replayed.battery, "at {time}");
        assert_eq!(sought.home, replayed.home, "at {time}");
        let texts = |s: &airlock::vehicle::VehicleState| {
            s.status_log
                .messages()
                .map(|m| m.text.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&sought), texts(&replayed), "at {time}");
    }
    // A changed file makes the index stale: it is rebuilt.
    let mut bytes = std::fs::read(&tlog).unwrap();
    bytes.extend_from_within(..1000);
    std::fs::write(&tlog, &bytes).unwrap();
    let (_, rebuilt) = FlightIndex::open_or_build(&tlog, &bytes, None);
    assert!(rebuilt);
}

#[test]
fn a_read_only_folder_keeps_the_index_in_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let tlog =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/magfit_scaling_test.tlog");
    let bytes = std::fs::read(&tlog).unwrap();
    let fallback = dir.path().join("index");
    // The place beside the log cannot take the index (root ignores permissions, so a folder
    // stands where the index file would go).
    let log = dir.path().join("flight.tlog");
    std::fs::write(&log, &bytes).unwrap();
    std::fs::create_dir(dir.path().join("flight.tlog.alidx")).unwrap();
    let (index, built) = FlightIndex::open_or_build(&log, &bytes, Some(&fallback));
    assert!(built);
    let heartbeats: u64 = index
        .streams
        .iter()
        .filter(|s| s.key.message_id == 0)
        .map(|s| s.count)
        .sum();
    assert_eq!(heartbeats, 97);
    assert!(std::fs::read_dir(&fallback).unwrap().count() == 1);
    let (_, rebuilt) = FlightIndex::open_or_build(&log, &bytes, Some(&fallback));
    assert!(!rebuilt, "the index kept in the fallback is found again");
}
