//! The command bar of the real window on the simulated vehicle over a pseudo-terminal: a stray
//! click sends nothing; a refused arm shows the vehicle's reason; hold to arm, take off to
//! 10 m, "Go here" on the map, change altitude, RTL, and the vehicle lands and disarms.

use std::time::Duration;

use airlock::app::{DemoVehicle, StartOptions};
use airlock::link::Baud;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

#[path = "common/gui.rs"]
mod gui;
use gui::{hold, hold_for, right_click, run_until, run_until_within, shows, App};

fn start(dir: &std::path::Path, vehicle: &DemoVehicle) -> Harness<'static, App> {
    gui::harness(StartOptions {
        connect_to: Some((vehicle.device.clone(), Baud::Fixed(57600))),
        ..gui::options(&dir.join("flights"))
    })
}

fn latest(harness: &Harness<'static, App>) -> String {
    harness
        .state()
        .as_ref()
        .and_then(|app| app.view.requests.latest().map(|entry| entry.words()))
        .unwrap_or_default()
}

fn alt_north(harness: &Harness<'static, App>) -> Option<(f64, f64)> {
    let app = harness.state().as_ref()?;
    let p = app.vehicle().position?;
    let (north, _) = airlock::sim::model::lat_lon_to_offset(p.lat_deg, p.lon_deg);
    Some((p.alt_rel_m, north))
}

#[test]
fn a_stray_click_on_a_flight_control_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let vehicle = DemoVehicle::start(57600).unwrap();
    let mut harness = start(dir.path(), &vehicle);
    run_until(&mut harness, "the vehicle's heartbeat", |h| {
        shows(h, "DISARMED")
    });
    for control in ["Arm", "Takeoff", "RTL", "Force disarm"] {
        harness.get_by_label(control).click();
        harness.run_steps(5);
    }
    // Half a hold is not a hold either.
    hold_for(&mut harness, "Arm", 0.5);
    // Nor is a whole hold cancelled by Esc.
    let arm = harness.get_by_label("Arm").rect().center();
    gui::pointer(&mut harness, arm, egui::PointerButton::Primary, true);
    harness.step();
    harness.input_mut().events.push(egui::Event::Key {
        key: egui::Key::Escape,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::default(),
    });
    harness.run_steps(8);
    gui::pointer(&mut harness, arm, egui::PointerButton::Primary, false);
    harness.run_steps(2);
    let app = harness.state().as_ref().unwrap();
    assert!(
        app.view.requests.entries.is_empty(),
        "{:?}",
        app.view.requests.entries
    );
    assert!(shows(&harness, "Press and hold a control to send it."));
}

#[test]
fn refused_arm_then_hold_to_arm_takeoff_go_here_rtl_and_land() {
    let dir = tempfile::tempdir().unwrap();
    let vehicle = DemoVehicle::start(57600).unwrap();
    let mut harness = start(dir.path(), &vehicle);
    run_until(&mut harness, "the vehicle's heartbeat", |h| {
        shows(h, "DISARMED")
    });

    // Too early: no 3-D fix yet. The reason is the vehicle's own words.
    hold(&mut harness, "Arm");
    run_until(&mut harness, "the refusal", |h| {
        latest(h).contains("refused")
    });
    assert!(
        latest(&harness).contains("PreArm: Need 3D Fix"),
        "{}",
        latest(&harness)
    );
    assert!(shows(
        &harness,
        "arm: refused (arm: FAILED): PreArm: Need 3D Fix"
    ));

    run_until(&mut harness, "a 3-D fix", |h| shows(h, "3D fix"));
    hold(&mut harness, "Arm");
    run_until(&mut harness, "armed", |h| {
        latest(h) == "arm: accepted" && shows(h, "ARMED")
    });

    hold(&mut harness, "Takeoff");
    run_until(&mut harness, "takeoff accepted", |h| {
        latest(h) == "take off to 10 m: accepted"
    });
    run_until(&mut harness, "10 m in the HUD", |h| {
        alt_north(h).is_some_and(|(alt, _)| (alt - 10.0).abs() < 0.5)
    });
    assert!(shows(&harness, "GUIDED"));

    // Right-click the map above the vehicle (the map follows it: it is at the centre).
    let (_, north_before) = alt_north(&harness).unwrap();
    let map = harness.get_by_label("Map").rect();
    let messages = harness.get_by_label("Messages").rect();
    let inspector = harness.get_by_label("Inspector").rect();
    let centre = egui::pos2(
        (map.left() + inspector.left()) / 2.0,
        (map.bottom() + messages.top()) / 2.0,
    );
    right_click(&mut harness, centre - egui::vec2(0.0, 60.0));
    harness.get_by_label("Go here").click();
    harness.run_steps(3);
    assert!(
        shows(&harness, "Go to -35."),
        "the picked point waits for its confirmation"
    );
    hold(&mut harness, "Go here");
    run_until(&mut harness, "go to accepted", |h| {
        latest(h).contains("accepted") && latest(h).starts_with("go to")
    });
    run_until(&mut harness, "the vehicle flies north", |h| {
        alt_north(h).is_some_and(|(_, north)| north > north_before + 20.0)
    });

    // Up to 20 m on the way, still heading for the picked point.
    hold(&mut harness, "Change alt");
    run_until(&mut harness, "change of altitude accepted", |h| {
        latest(h) == "change altitude to 20 m: accepted"
    });
    run_until(&mut harness, "20 m", |h| {
        alt_north(h).is_some_and(|(alt, _)| (alt - 20.0).abs() < 0.5)
    });
    assert!(alt_north(&harness).is_some_and(|(_, north)| north > north_before + 20.0));

    hold(&mut harness, "RTL");
    run_until(&mut harness, "RTL accepted", |h| {
        latest(h) == "return to launch: accepted"
    });
    run_until_within(
        &mut harness,
        "landed and disarmed",
        Duration::from_secs(90),
        |h| {
            shows(h, "DISARMED")
                && alt_north(h).is_some_and(|(alt, north)| alt < 0.5 && north.abs() < 2.0)
        },
    );
}

#[test]
fn with_two_vehicles_on_the_link_the_operator_picks_which_one_to_show_and_command() {
    use airlock::protocol::{FrameHeader, MavMessage, Version};
    use airlock::session::SessionEvent;
    use mavlink::dialects::ardupilotmega as apm;
    let dir = tempfile::tempdir().unwrap();
    let mut harness = gui::harness(gui::options(&dir.path().join("flights")));
    harness.step();
    {
        let app = harness.state_mut().as_mut().unwrap();
        app.view.session_running = true;
        for system_id in [1, 2] {
            let header = FrameHeader {
                version: Version::V2,
                payload_len: 9,
                incompat_flags: 0,
                compat_flags: 0,
                sequence: 0,
                system_id,
                component_id: 1,
                message_id: 0,
                frame_len: 21,
            };
            let heartbeat = MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
                custom_mode: 0,
                mavtype: apm::MavType::MAV_TYPE_QUADROTOR,
                autopilot: apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                base_mode: apm::MavModeFlag::empty(),
                system_status: apm::MavState::MAV_STATE_STANDBY,
                mavlink_version: 3,
            });
            app.apply_event(SessionEvent::Message {
                wall_us: 1,
                mono_us: 1,
                header,
                message: Box::new(heartbeat),
            });
        }
    }
    harness.run_steps(2);
    assert!(shows(&harness, "Vehicle (several on this link)"));
    assert_eq!(
        harness.state().as_ref().unwrap().vehicle().system_id,
        Some(1)
    );
    harness
        .get_by_role_and_label(
            egui::accesskit::Role::ComboBox,
            "Vehicle (several on this link)",
        )
        .click();
    harness.run_steps(2);
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, "2:1")
        .click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().as_ref().unwrap().vehicle().system_id,
        Some(2)
    );
}

#[test]
fn a_failed_link_worker_shows_disconnected_with_its_reason_and_the_window_connects_again() {
    use airlock::session::InjectedFault;
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let vehicle = DemoVehicle::start(57600).unwrap();
    let mut harness = gui::harness(StartOptions {
        connect_to: Some((vehicle.device.clone(), Baud::Fixed(57600))),
        inject: Some(InjectedFault::ReadErrorAfter(
            Duration::from_secs(3),
            libc::EBADF,
        )),
        ..gui::options(&dir.path().join("flights"))
    });
    run_until(&mut harness, "connected", |h| {
        shows(h, "connected at 57600 baud")
    });
    let connected = Instant::now();
    run_until(&mut harness, "the failure", |h| {
        shows(h, "disconnected — the link failed")
    });
    let shown_after = connected.elapsed();
    println!("failure shown {shown_after:?} after the link connected (fault at 3 s)");
    assert!(shown_after < Duration::from_secs(4), "{shown_after:?}");
    assert!(shows(&harness, "Bad file descriptor"));
    // Still usable: connect again.
    harness.get_by_label("Connect").click();
    run_until(&mut harness, "connected again", |h| {
        shows(h, "connected at 57600 baud")
    });
}
