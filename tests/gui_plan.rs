//! The plan view of the real window on the simulated vehicle over a pseudo-terminal: three
//! waypoints added by clicking the map, one's altitude changed, the plan uploaded and verified
//! by read-back, the mission started, and the vehicle's current item advancing on the screen.

use std::time::Duration;

use airlock::app::{DemoVehicle, StartOptions};
use airlock::link::Baud;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

#[path = "common/gui.rs"]
mod gui;
use gui::{hold, run_until, run_until_within, shows, App};

fn click(harness: &mut Harness<'static, App>, at: egui::Pos2) {
    gui::pointer(harness, at, egui::PointerButton::Primary, true);
    harness.step();
    gui::pointer(harness, at, egui::PointerButton::Primary, false);
    harness.run_steps(3);
}

fn items(harness: &Harness<'static, App>) -> Vec<(u16, f64)> {
    harness.state().as_ref().map_or_else(Vec::new, |app| {
        app.plan()
            .items
            .iter()
            .map(|item| (item.command, item.z))
            .collect()
    })
}

#[test]
fn plan_three_waypoints_on_the_map_upload_verified_and_fly_them() {
    let dir = tempfile::tempdir().unwrap();
    let vehicle = DemoVehicle::start(57600).unwrap();
    let mut harness = gui::harness(StartOptions {
        connect_to: Some((vehicle.device.clone(), Baud::Fixed(57600))),
        ..gui::options(&dir.path().join("flights"))
    });
    run_until(&mut harness, "the vehicle's position", |h| {
        h.state()
            .as_ref()
            .is_some_and(|app| app.vehicle().position.is_some() && app.vehicle().home.is_some())
    });
    harness.get_by_label("Plan").click();
    harness.run_steps(3);
    let map = harness.get_by_label("map").rect();
    let centre = map.center();
    for offset in [
        egui::vec2(-180.0, -120.0),
        egui::vec2(160.0, -140.0),
        egui::vec2(150.0, 130.0),
    ] {
        click(&mut harness, centre + offset);
    }
    // The first click of an empty mission put a takeoff before its waypoint.
    let added = items(&harness);
    assert_eq!(
        added
            .iter()
            .map(|(command, _)| *command)
            .collect::<Vec<_>>(),
        [22, 16, 16, 16],
        "{added:?}"
    );
    // The last waypoint is selected: its altitude becomes 45 m.
    let altitude = harness.get_by_label("Altitude");
    altitude.click();
    harness.run_steps(2);
    harness.get_by_label("Altitude").type_text("45");
    harness.run_steps(1);
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    let edited = items(&harness);
    assert_eq!(edited[3].1, 45.0, "{edited:?}");
    assert!(
        shows(&harness, "45.0 m above home"),
        "the list shows the new altitude and its frame"
    );
    hold(&mut harness, "Upload");
    run_until_within(
        &mut harness,
        "the upload verified",
        Duration::from_secs(60),
        |h| shows(h, "uploaded and verified"),
    );
    run_until(&mut harness, "the pre-arm checks to pass", |h| {
        h.state()
            .as_ref()
            .is_some_and(|app| app.vehicle().prearm_ok == Some(true))
    });
    hold(&mut harness, "Start mission");
    run_until_within(
        &mut harness,
        "the vehicle past the first waypoint",
        Duration::from_secs(120),
        |h| {
            h.state().as_ref().is_some_and(|app| {
                let mission = &app.vehicle().mission;
                mission.current >= Some(3) && mission.reached.contains(&2)
            })
        },
    );
    assert!(shows(&harness, "Vehicle at item 3") || shows(&harness, "Vehicle at item 4"));
    let app = harness.state().as_ref().unwrap();
    println!(
        "current {:?}, reached {:?}; {:?}",
        app.vehicle().mission.current,
        app.vehicle().mission.reached,
        app.view.requests.latest().map(|e| e.words())
    );
    // What the vehicle holds is what was planned.
    let (held, planned) = (&app.view.vehicle_plan.items, &app.plan().items);
    assert_eq!(held.len(), planned.len());
    for (held, planned) in held.iter().zip(planned) {
        assert!(held.same_as(planned), "{held:?} vs {planned:?}");
    }
}
