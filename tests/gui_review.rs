//! Reviewing stored flights in the real window, headless through egui_kittest: a real tlog is
//! opened, played, sought on the timeline (the state then is the replayed state), plotted over
//! the whole flight; the library lists, deletes after confirmation, and opens a damaged log
//! with a notice. The process is sealed as `main` seals it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use airlock::app::StartOptions;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

#[path = "common/gui.rs"]
mod gui;
use gui::{run_until, shows, App};

fn harness(open: Option<PathBuf>, flights: &Path) -> Harness<'static, App> {
    gui::harness(StartOptions {
        open,
        ..gui::options(flights)
    })
}

fn replay_time(harness: &Harness<'static, App>) -> u64 {
    harness
        .state()
        .as_ref()
        .and_then(|app| app.view.review.as_ref())
        .map_or(0, |review| review.time_us)
}

fn test_log(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tlogs")
        .join(name)
}

#[test]
fn a_stored_flight_plays_seeks_and_plots_in_the_window() {
    assert_eq!(
        airlock::privacy::init(true, None),
        airlock::privacy::SealState::Sealed
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("vtol.tlog");
    std::fs::copy(test_log("UAVLogViewer_vtol.tlog"), &log).unwrap();
    let flights = dir.path().join("flights");
    let mut harness = harness(Some(log.clone()), &flights);
    run_until(&mut harness, "the review", |h| shows(h, "Reviewing"));
    // Panels settle their sizes over the first frames; an operator's click comes after that.
    harness.run_steps(3);
    assert!(
        shows(&harness, "23894 frames"),
        "the frame count in the bar"
    );
    assert!(shows(&harness, "replay (no link)"));
    let (start, end) = {
        let review = harness
            .state()
            .as_ref()
            .unwrap()
            .view
            .review
            .clone()
            .unwrap();
        (review.index.start_us, review.index.end_us)
    };
    assert_eq!(replay_time(&harness), start);

    // Play in real time: the clock moves with the wall clock.
    harness.get_by_label("Play").click();
    let played_from = Instant::now();
    run_until(&mut harness, "the clock to move", |h| {
        replay_time(h) > start + 500_000
    });
    harness.get_by_label("Pause").click();
    harness.step();
    let played = replay_time(&harness) - start;
    assert!(
        played as f64 <= played_from.elapsed().as_secs_f64() * 1e6 + 200_000.0,
        "1× must not run ahead of the wall clock ({played} µs)"
    );

    // Seek: a click in the middle of the timeline shows the exact state at that time.
    harness.get_by_label("Timeline").click();
    harness.step();
    let middle = replay_time(&harness);
    let span = end - start;
    assert!(
        middle.abs_diff(start + span / 2) < span / 50,
        "sought to {middle}, the middle is {}",
        start + span / 2
    );
    let opened = airlock::review::open(&log).unwrap();
    let replayed = airlock::review::replay::state_at(&opened, Some(middle));
    let shown = harness.state().as_ref().unwrap().vehicle().clone();
    assert_eq!(shown.attitude, replayed.attitude);
    assert_eq!(shown.position, replayed.position);
    assert_eq!(shown.status, replayed.status);
    assert_eq!(shown.gps, replayed.gps);
    assert!(shows(&harness, "GUIDED") || shows(&harness, "QLOITER") || shows(&harness, "AUTO"));

    // Step: one message more.
    let before = harness.state().as_ref().unwrap().vehicle().rates.clone();
    harness.get_by_label("Step").click();
    harness.step();
    let after = harness.state().as_ref().unwrap().vehicle().rates.clone();
    assert_ne!(
        format!("{before:?}"),
        format!("{after:?}"),
        "a step applies a message"
    );

    // Whole-flight plot of a field picked in the inspector.
    harness.get_by_label("ATTITUDE").click();
    run_until(&mut harness, "ATTITUDE fields", |h| {
        shows(h, "click a field name to plot it")
    });
    harness.get_by_label("roll").click();
    run_until(&mut harness, "the flight plot", |h| shows(h, "Flight plot"));
    assert!(shows(&harness, "ATTITUDE.roll (1:1)"));
    // Zoomed in, every sample of the range is read on a helper thread.
    let (from_us, to_us) = (start + 60_000_000, start + 70_000_000);
    harness
        .state_mut()
        .as_mut()
        .unwrap()
        .replay(airlock::ui::review::ReplayAction::Detail { from_us, to_us });
    run_until(&mut harness, "the zoomed-in samples", |h| {
        h.state()
            .as_ref()
            .and_then(|app| app.view.review.as_ref())
            .is_some_and(|r| r.detail.is_some())
    });
    let detail = harness
        .state()
        .as_ref()
        .unwrap()
        .view
        .review
        .clone()
        .unwrap()
        .detail
        .unwrap();
    let index = airlock::review::index::FlightIndex::build(opened.bytes());
    let attitude = index.first_stream_of(30).unwrap();
    let roll = (attitude.key, attitude.field("roll").unwrap());
    let expected = airlock::review::plot::samples(opened.bytes(), &index, &[roll], from_us, to_us);
    assert_eq!(detail.points, expected);
    assert!(
        expected[0].len() > 20,
        "{} samples in 10 s",
        expected[0].len()
    );

    // Export a time range as CSV: the same rows as the library's exporter writes for it.
    let csv = dir.path().join("range.csv");
    let form = airlock::ui::library::ExportForm {
        kind: airlock::ui::library::ExportKind::Csv,
        message_type: "ATTITUDE".into(),
        from_s: 30.0,
        to_s: 60.0,
    };
    harness
        .state_mut()
        .as_mut()
        .unwrap()
        .export(form, csv.clone());
    run_until(&mut harness, "the export", |h| {
        h.state()
            .as_ref()
            .and_then(|app| app.view.export_status.clone())
            .is_some_and(|s| s.starts_with("wrote"))
    });
    let mut expected = Vec::new();
    airlock::review::csv::export_csv_span(
        &opened,
        "ATTITUDE",
        airlock::review::frames::Span {
            from_us: start + 30_000_000,
            to_us: start + 60_000_000,
        },
        &mut |_, _| {},
        &mut expected,
    )
    .unwrap();
    let written = std::fs::read(&csv).unwrap();
    assert_eq!(written, expected);
    assert!(written.iter().filter(|&&b| b == b'\n').count() > 50);

    // Back to live.
    harness.get_by_label("Close review").click();
    run_until(&mut harness, "the live view", |h| !shows(h, "Reviewing"));

    // A log dropped on the window opens for review.
    let other = dir.path().join("dropped.tlog");
    std::fs::copy(test_log("magfit_scaling_test.tlog"), &other).unwrap();
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(other)));
    run_until(&mut harness, "the dropped log", |h| {
        shows(h, "Reviewing") && shows(h, "dropped.tlog")
    });
}

/// A file dropped on the window, as the windowing integration hands it to egui.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn the_library_lists_deletes_and_opens_a_damaged_log_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let flights = dir.path().join("flights");
    std::fs::create_dir_all(&flights).unwrap();
    let kept =
        airlock::review::library::import_tlog(&test_log("EAICS_flight.tlog"), &flights).unwrap();
    let doomed =
        airlock::review::library::import_tlog(&test_log("magfit_scaling_test.tlog"), &flights)
            .unwrap();
    // A log cut off mid-record, as a crashed writer leaves it.
    let bytes = std::fs::read(test_log("EAICS_flight.tlog")).unwrap();
    let cut = dir.path().join("cut.tlog");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3 + 5]).unwrap();

    let mut harness = harness(None, &flights);
    harness.step();
    harness.get_by_label("Flights…").click();
    run_until(&mut harness, "the library", |h| shows(h, "2 of 2 flights"));
    // The facts from each flight's index arrive in the background (distance in km).
    run_until(&mut harness, "the facts", |h| {
        h.state()
            .as_ref()
            .is_some_and(|app| app.view.library.iter().all(|row| row.facts.is_some()))
    });
    // Search by a vehicle text.
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Search")
        .click();
    harness.step();
    let text = {
        let app = harness.state().as_ref().unwrap();
        let row = app
            .view
            .library
            .iter()
            .find(|r| r.entry.dir == kept)
            .unwrap();
        row.facts.as_ref().unwrap().texts.first().cloned().unwrap()
    };
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Search")
        .type_text(&text);
    run_until(&mut harness, "the search", |h| shows(h, "1 of 2 flights"));
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.key_press(egui::Key::Backspace);
    run_until(&mut harness, "the search cleared", |h| {
        shows(h, "2 of 2 flights")
    });

    // Delete asks first; cancelling keeps the flight. Rows are sorted by date, newest first
    // (the default): the first row's button is that flight's.
    assert_eq!(harness.query_all_by_label("Delete…").count(), 2);
    let first_row = harness.state().as_ref().unwrap().view.library[0]
        .entry
        .dir
        .clone();
    let ask_to_delete_the_first = |harness: &mut Harness<'static, App>| {
        harness
            .query_all_by_label("Delete…")
            .next()
            .unwrap()
            .click();
        run_until(harness, "the confirmation", |h| {
            shows(h, "Delete this flight?")
        });
    };
    ask_to_delete_the_first(&mut harness);
    harness.get_by_label("Cancel").click();
    run_until(&mut harness, "cancelled", |h| {
        !shows(h, "Delete this flight?")
    });
    assert!(first_row.is_dir());
    ask_to_delete_the_first(&mut harness);
    harness.get_by_label("Delete").click();
    run_until(&mut harness, "one flight left", |h| {
        shows(h, "1 of 1 flights")
    });
    assert!(!first_row.is_dir());
    assert!(kept.is_dir() != doomed.is_dir(), "exactly one was deleted");

    // A damaged log opens with what it holds and says so.
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Path")
        .click();
    harness.step();
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Path")
        .type_text(&cut.to_string_lossy());
    harness.step();
    harness.get_by_label("Open path").click();
    run_until(&mut harness, "the damaged log", |h| shows(h, "Reviewing"));
    assert!(shows(
        &harness,
        "Damaged log: the log ends in an incomplete record"
    ));
}

/// A sealed flight of a few frames from the test log, recorded through the real recorder.
fn sealed_flight(dir: &Path, key: &std::sync::Arc<airlock::capture::seal::SealKey>) {
    use airlock::capture::flight::{FlightRecord, FlightSource};
    use airlock::capture::raw::RecordKind;
    let mut record = FlightRecord::create(dir, FlightSource::default()).unwrap();
    record.seal_with(key.clone()).unwrap();
    let bytes = std::fs::read(test_log("EAICS_flight.tlog")).unwrap();
    for chunk in bytes.chunks(4096).take(40) {
        record.record(RecordKind::Rx, 0, chunk);
        record.tick();
    }
    record.close().unwrap();
}

#[test]
fn the_library_shows_each_flights_seal() {
    use airlock::capture::seal::SealKey;
    let dir = tempfile::tempdir().unwrap();
    let flights = dir.path().join("flights");
    let key = std::sync::Arc::new(SealKey::from_pkcs8(&SealKey::generate().unwrap()).unwrap());
    sealed_flight(&flights.join("2026-11-27_09-00-00Z"), &key);
    let altered = flights.join("2026-11-27_10-00-00Z");
    sealed_flight(&altered, &key);
    let capture = altered.join("capture.alc");
    let mut bytes = std::fs::read(&capture).unwrap();
    bytes[70_000] ^= 1;
    std::fs::write(&capture, bytes).unwrap();
    airlock::review::library::import_tlog(&test_log("magfit_scaling_test.tlog"), &flights).unwrap();

    let mut harness = gui::harness(StartOptions {
        seal: Some(key),
        ..gui::options(&flights)
    });
    harness.step();
    harness.get_by_label("Flights…").click();
    run_until(&mut harness, "the library", |h| shows(h, "3 of 3 flights"));
    run_until(&mut harness, "the seals", |h| {
        h.state()
            .as_ref()
            .is_some_and(|app| app.view.library.iter().all(|row| row.seal.is_some()))
    });
    harness.step();
    for word in ["intact", "ALTERED", "not signed"] {
        assert!(shows(&harness, word), "{word}");
    }
    let verdicts: Vec<String> = harness
        .state()
        .as_ref()
        .unwrap()
        .view
        .library
        .iter()
        .map(|row| row.seal.as_ref().unwrap().to_string())
        .collect();
    assert!(
        verdicts
            .iter()
            .any(|v| v.starts_with("altered: capture.alc byte 70000 differs")),
        "{verdicts:?}"
    );
}
