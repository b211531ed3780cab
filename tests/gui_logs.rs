//! The logs tab of the real window on the simulated vehicle over a pseudo-terminal: list the
//! vehicle's onboard logs, download one with its progress shown, see it marked on disk and
//! byte-identical to the vehicle's file; the erase confirmation says what would be lost.

use std::time::Duration;

use airlock::app::{DemoVehicle, StartOptions};
use airlock::link::Baud;
use egui_kittest::kittest::Queryable;

#[path = "common/gui.rs"]
mod gui;
use gui::{run_until, run_until_within, shows};

#[test]
fn list_download_one_with_progress_and_see_it_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let vehicle_logs = dir.path().join("vehicle-logs");
    let vehicle = DemoVehicle::on_ground(115_200, vehicle_logs.clone()).unwrap();
    let mut harness = gui::harness(StartOptions {
        connect_to: Some((vehicle.device.clone(), Baud::Fixed(115_200))),
        ..gui::options(&dir.path().join("flights"))
    });
    run_until(&mut harness, "the vehicle's heartbeat", |h| {
        shows(h, "DISARMED")
    });
    harness.get_by_label("Logs").click();
    harness.run_steps(3);
    assert!(shows(
        &harness,
        "List the vehicle's onboard logs to see them here."
    ));
    harness.get_by_label("List").click();
    run_until(&mut harness, "the list", |h| shows(h, "1.0 MB"));
    assert!(shows(&harness, "41 kB") && shows(&harness, "262 kB"));
    assert!(shows(&harness, "2026-11-20 09:00:00 UTC"));

    harness.get_by_label("Log 2").click();
    harness.run_steps(2);
    harness.get_by_label("Download selected").click();
    // Its progress: bytes, speed, time left, and a way to stop it.
    run_until(&mut harness, "the progress bar", |h| {
        h.state()
            .as_ref()
            .and_then(|app| app.view.logs.download.clone())
            .is_some_and(|progress| progress.held > 20_000)
    });
    assert!(shows(&harness, "Cancel"));
    let progress = harness
        .state()
        .as_ref()
        .unwrap()
        .view
        .logs
        .download
        .clone()
        .unwrap();
    assert_eq!((progress.log_id, progress.size), (2, 262_187));
    run_until_within(&mut harness, "log 2 kept", Duration::from_secs(90), |h| {
        shows(h, "log 2 kept (262187 bytes), SHA-256 ")
    });
    // What is on disk is looked up on a helper thread: the row says so a moment later.
    run_until(&mut harness, "log 2 marked kept on disk", |h| {
        h.query_by_label("kept").is_some()
    });
    assert_eq!(
        harness.query_all_by_label("no").count(),
        2,
        "logs 1 and 3 are not"
    );
    let kept = dir
        .path()
        .join("onboard-logs/sys1-ardupilotmega-quadrotor/log0002_262187B.bin");
    assert!(
        std::fs::read(&kept).unwrap() == std::fs::read(vehicle_logs.join("00000002.BIN")).unwrap()
    );

    // Asked again, it is found on disk and not pulled twice.
    harness.get_by_label("Download selected").click();
    run_until(&mut harness, "found on disk", |h| {
        shows(h, "log 2: already on disk")
    });

    // Erase asks first, naming what is not on this disk.
    harness.get_by_label("Erase all…").click();
    harness.run_steps(3);
    assert!(shows(&harness, "Erase every onboard log?"));
    assert!(
        shows(
            &harness,
            "2 of them (1.1 MB) are NOT on this disk and would be lost: log 1, 3."
        ),
        "the warning names the logs not kept"
    );
    harness.get_by_label("Keep them").click();
    harness.run_steps(3);
    assert!(!shows(&harness, "Erase every onboard log?"));
    assert_eq!(
        std::fs::read_dir(&vehicle_logs).unwrap().count(),
        3,
        "nothing erased"
    );
    drop(harness);
    drop(vehicle);
}
