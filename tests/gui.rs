//! The real UI, headless through egui_kittest and AccessKit, connected to the simulated
//! vehicle over a real pseudo-terminal: values appear and change, a clicked inspector field is
//! plotted, and an unplugged device shows "link lost" and then recovers by itself.

use std::path::Path;

use airlock::app::{DemoVehicle, StartOptions};
use airlock::link::Baud;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

#[path = "common/gui.rs"]
mod gui;
use gui::{run_until, shows, App};

fn harness(port: &Path, flights: &Path) -> Harness<'static, App> {
    gui::harness(StartOptions {
        connect_to: Some((port.to_string_lossy().into_owned(), Baud::Auto)),
        ..gui::options(flights)
    })
}

fn point_link(link: &Path, device: &str) {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(device, link).unwrap();
}

#[test]
fn live_telemetry_inspector_plot_and_unplug_recovery() {
    // Seal this test process as `main` does: everything below must work sealed.
    assert_eq!(
        airlock::privacy::init(true, None),
        airlock::privacy::SealState::Sealed
    );
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("vehicle");
    let flights = dir.path().join("flights");
    let vehicle = DemoVehicle::start(57600).unwrap();
    point_link(&link, &vehicle.device);
    let mut harness = harness(&link, &flights);

    run_until(&mut harness, "connected", |h| {
        shows(h, "connected at 57600 baud")
    });
    // The sim sits on the ground disarmed in STABILIZE, then arms and takes off in GUIDED.
    run_until(&mut harness, "first heartbeat", |h| {
        shows(h, "DISARMED") && shows(h, "STABILIZE")
    });
    assert!(shows(&harness, "REC "), "recording indicator");
    assert!(shows(&harness, "Privacy: sealed"), "privacy badge");
    run_until(&mut harness, "arming and mode change", |h| {
        h.query_by_label("ARMED").is_some() && shows(h, "GUIDED")
    });
    let altitude = |h: &Harness<'static, App>| {
        h.state()
            .as_ref()
            .and_then(|app| app.vehicle().position)
            .map(|p| p.alt_rel_m)
    };
    let climbing_from = altitude(&harness).unwrap();
    run_until(&mut harness, "climb", |h| {
        altitude(h).is_some_and(|a| a > climbing_from + 2.0)
    });

    // Inspector: pick ATTITUDE, click its roll field, and a live plot fills.
    harness.get_by_label("ATTITUDE").click();
    run_until(&mut harness, "ATTITUDE fields", |h| {
        shows(h, "click a field name to plot it")
    });
    harness.get_by_label("roll").click();
    run_until(&mut harness, "plotted roll samples", |h| {
        h.state()
            .as_ref()
            .is_some_and(|app| app.plots.series.len() == 1 && app.plots.series[0].points.len() > 10)
    });
    assert_eq!(
        harness.state().as_ref().unwrap().plots.series[0].key.field,
        "roll"
    );

    // Unplug: the simulator and its device vanish.
    drop(vehicle);
    std::fs::remove_file(&link).unwrap();
    run_until(&mut harness, "link lost", |h| {
        shows(h, "link lost — reconnecting")
    });

    // Replug under a new device node: recovers with no operator action.
    let vehicle = DemoVehicle::start(57600).unwrap();
    point_link(&link, &vehicle.device);
    run_until(&mut harness, "reconnected", |h| {
        shows(h, "connected at 57600 baud")
    });
    run_until(&mut harness, "reconnect counted", |h| {
        shows(h, "reconnects 1")
    });
    drop(harness);
    drop(vehicle);

    // The same flight folder holds both phases.
    let flights: Vec<_> = std::fs::read_dir(&flights).unwrap().collect();
    assert_eq!(flights.len(), 1);
    let folder = flights[0].as_ref().unwrap().path();
    let summary = airlock::review::summarize(&folder).unwrap();
    assert_eq!(summary.reconnects, 1, "{:?}", summary.notices);
    assert!(summary.counts.messages["HEARTBEAT"] >= 5);
}

#[test]
fn plots_asked_for_at_start_fill_as_soon_as_the_vehicle_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    let vehicle = DemoVehicle::start(57600).unwrap();
    let wanted = ["ATTITUDE.roll", "vfr_hud.alt", "SYS_STATUS.voltage_battery"];
    let mut harness = gui::harness(StartOptions {
        connect_to: Some((vehicle.device.clone(), Baud::Fixed(57600))),
        plots: wanted.iter().map(|plot| plot.to_string()).collect(),
        ..gui::options(&dir.path().join("flights"))
    });
    run_until(&mut harness, "three plots filling", |h| {
        h.state().as_ref().is_some_and(|app| {
            app.plots.series.len() == 3 && app.plots.series.iter().all(|s| s.points.len() > 5)
        })
    });
    let mut labels: Vec<String> = harness
        .state()
        .as_ref()
        .unwrap()
        .plots
        .series
        .iter()
        .map(|s| s.key.label())
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            "ATTITUDE.roll (1:1)",
            "SYS_STATUS.voltage_battery (1:1)",
            "VFR_HUD.alt (1:1)"
        ]
    );
}

/// The window keeps its settings itself (eframe would rewrite them in place): a change is
/// written whole, private whatever the umask, read back by the next start; an unreadable file
/// gives the defaults.
#[test]
fn window_settings_are_kept_whole_and_private() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only sets the process's file-creation mask (022 is the usual one).
    unsafe {
        libc::umask(0o022);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config/window.json");
    let mut harness = gui::harness(StartOptions {
        settings_file: Some(file.clone()),
        ..gui::options(&dir.path().join("flights"))
    });
    harness.run_steps(3);
    harness.get_by_label("Params").click();
    run_until(&mut harness, "the settings written", |_| {
        airlock::app::AirlockApp::load_settings(Some(&file)).side_tab
            == airlock::ui::SideTab::Params
    });
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&file), mode(file.parent().unwrap())), (0o600, 0o700));
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["window.json"]);
    std::fs::write(&file, b"{ half a fi").unwrap();
    assert_eq!(
        airlock::app::AirlockApp::load_settings(Some(&file)),
        airlock::ui::UiSettings::default()
    );
}
