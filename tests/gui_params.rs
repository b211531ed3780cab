//! The parameters view of the real window on the simulated vehicle over a pseudo-terminal:
//! fetch every parameter, search, edit one value, write it and see it confirmed; load a file,
//! see its differences from the vehicle, and write two of its rows.

use std::time::Duration;

use airlock::app::{DemoVehicle, StartOptions};
use airlock::link::Baud;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;

#[path = "common/gui.rs"]
mod gui;
use gui::{hold, run_until, run_until_within, shows, App};

fn result(harness: &Harness<'static, App>, name: &str) -> Option<Result<f64, String>> {
    harness
        .state()
        .as_ref()?
        .view
        .param_results
        .get(name)
        .cloned()
}

fn value(harness: &Harness<'static, App>, name: &str) -> Option<f64> {
    Some(
        harness
            .state()
            .as_ref()?
            .view
            .vehicle_params
            .get(name)?
            .value,
    )
}

fn type_into(harness: &mut Harness<'static, App>, label: &str, text: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(2);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label(label).type_text(text);
    harness.run_steps(2);
}

#[test]
fn fetch_search_edit_write_then_load_a_file_and_write_two_of_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let vehicle = DemoVehicle::start(57600).unwrap();
    let mut harness = gui::harness(StartOptions {
        connect_to: Some((vehicle.device.clone(), Baud::Fixed(57600))),
        ..gui::options(&dir.path().join("flights"))
    });
    run_until(&mut harness, "the vehicle's heartbeat", |h| {
        shows(h, "DISARMED") || shows(h, "ARMED")
    });
    harness.get_by_label("Params").click();
    harness.run_steps(3);
    harness.get_by_label("Fetch").click();
    run_until_within(
        &mut harness,
        "every parameter",
        Duration::from_secs(60),
        |h| shows(h, "1354 of 1354 parameters by ftp"),
    );
    type_into(&mut harness, "Search", "RTL_ALT");
    assert!(shows(&harness, "of 1354 parameters"));
    assert!(!shows(&harness, "WPNAV_SPEED"), "the search hides the rest");
    harness.get_by_label("RTL_ALT").click();
    harness.run_steps(3);
    type_into(&mut harness, "New value", "2500");
    harness.get_by_label("Stage").click();
    harness.run_steps(3);
    assert!(shows(&harness, "1 change staged"));
    hold(&mut harness, "Write");
    run_until(&mut harness, "RTL_ALT confirmed", |h| {
        result(h, "RTL_ALT") == Some(Ok(2500.0))
    });
    assert!(shows(&harness, "written: 2500"));
    assert_eq!(value(&harness, "RTL_ALT"), Some(2500.0));

    // A file with three differences; two of them are written.
    let file = dir.path().join("tuned.param");
    std::fs::write(
        &file,
        "ANGLE_MAX,3500\nPILOT_SPEED_UP,300\nWPNAV_SPEED,800\nRTL_ALT,2500\n",
    )
    .unwrap();
    type_into(&mut harness, "File", file.to_str().unwrap());
    harness.get_by_label("Load").click();
    run_until(&mut harness, "the file's differences", |h| {
        shows(h, "3 rows differ from the vehicle")
    });
    harness.get_by_label("None").click();
    harness.run_steps(2);
    harness.get_by_label("ANGLE_MAX").click();
    harness.get_by_label("WPNAV_SPEED").click();
    harness.run_steps(2);
    hold(&mut harness, "Write 2 chosen");
    run_until(&mut harness, "the two rows confirmed", |h| {
        result(h, "ANGLE_MAX") == Some(Ok(3500.0)) && result(h, "WPNAV_SPEED") == Some(Ok(800.0))
    });
    assert_ne!(
        value(&harness, "PILOT_SPEED_UP"),
        Some(300.0),
        "the unticked row stays"
    );
    assert_eq!(result(&harness, "PILOT_SPEED_UP"), None);
    drop(harness);
    drop(vehicle);

    // Reviewing that flight: the configuration kept with it (fetched before the writes), and
    // the same file compared with it; nothing can be written without a vehicle.
    let flights: Vec<_> = std::fs::read_dir(dir.path().join("flights"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    assert_eq!(flights.len(), 1, "{flights:?}");
    let mut harness = gui::harness(StartOptions {
        open: Some(flights[0].clone()),
        ..gui::options(&dir.path().join("flights"))
    });
    run_until(&mut harness, "the review", |h| {
        h.state()
            .as_ref()
            .is_some_and(|app| app.view.review.is_some())
    });
    harness.get_by_label("Params").click();
    run_until(&mut harness, "the flight's parameters", |h| {
        shows(h, "1354 parameters") && shows(h, "kept with this flight: params-")
    });
    assert_eq!(
        value(&harness, "RTL_ALT"),
        Some(1500.0),
        "as fetched, before the write"
    );
    type_into(&mut harness, "File", file.to_str().unwrap());
    harness.get_by_label("Load").click();
    run_until(&mut harness, "the file against the flight", |h| {
        shows(h, "4 rows differ from this flight's parameters")
    });
    assert!(
        harness
            .get_by_label("Write 4 chosen")
            .accesskit_node()
            .is_disabled(),
        "no vehicle to write to in a review"
    );
}
