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
    assert_eq!(again, index);
    let attitude = &index.streams[&30];
    assert_eq!(attitude.len(), 888);
    let (start, end) = (attitude[0].time_us, attitude[attitude.len() - 1].time_us);
    for step in 1..=10 {
        let time = start + (end - start) / 10 * step;
        let sought = state_at(opened.bytes(), &index, time);
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
    // Make the "beside" place unwritable by pointing at a file inside a missing, uncreatable path.
    let odd = dir.path().join("not-a-dir");
    std::fs::write(&odd, b"x").unwrap();
    let log_in_odd = odd.join("flight.tlog");
    let (index, built) = FlightIndex::open_or_build(&log_in_odd, &bytes, Some(&fallback));
    assert!(built);
    assert_eq!(index.streams[&0].len(), 97);
    assert!(std::fs::read_dir(&fallback).unwrap().count() == 1);
}
