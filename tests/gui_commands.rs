//! The command bar of the real window on the simulated vehicle over a pseudo-terminal: a stray
//! click on a control that moves the vehicle sends nothing.

use airlock::app::{DemoVehicle, StartOptions};
use airlock::link::Baud;
use egui_kittest::kittest::Queryable;

#[path = "common/gui.rs"]
mod gui;
use gui::{run_until, shows};

#[test]
fn a_stray_click_on_a_flight_control_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let vehicle = DemoVehicle::start(57600).unwrap();
    let mut harness = gui::harness(StartOptions {
        connect_to: Some((vehicle.device.clone(), Baud::Fixed(57600))),
        ..gui::options(&dir.path().join("flights"))
    });
    run_until(&mut harness, "the vehicle's heartbeat", |h| {
        shows(h, "DISARMED")
    });
    for control in ["Arm", "Takeoff", "RTL", "Force disarm"] {
        harness.get_by_label(control).click();
        harness.run_steps(5);
    }
    let app = harness.state().as_ref().unwrap();
    assert!(
        app.view.requests.entries.is_empty(),
        "{:?}",
        app.view.requests.entries
    );
    assert!(shows(&harness, "Press and hold a control to send it."));
}
