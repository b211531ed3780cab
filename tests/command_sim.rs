//! `airlock command` against `airlock sim`, both real processes on a real pseudo-terminal: a
//! refused arm prints the vehicle's own reason and exits 1; a whole flight (ready, GUIDED, arm,
//! takeoff, go to a point, RTL, disarmed) exits 0 and its capture proves every command was on
//! disk before the answer to it arrived.

use std::path::Path;
use std::process::{Child, Command, Output};

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

fn start_sim() -> (Child, String) {
    common::spawn_with_device(Command::new(AIRLOCK).args(["sim", "--idle", "--duration", "300"]))
}

fn command(device: &str, flight: &Path, steps: &[&str]) -> Output {
    Command::new(AIRLOCK)
        .args([
            "command",
            "--port",
            device,
            "--baud",
            "57600",
            "--timeout",
            "60",
        ])
        .arg("--out")
        .arg(flight)
        .args(steps)
        .output()
        .expect("airlock runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_arm_before_the_vehicle_is_ready_fails_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (mut sim, device) = start_sim();
    let out = command(&device, &flight, &["arm"]);
    let _ = sim.kill();
    let _ = sim.wait();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("recording to "), "{stdout}");
    assert!(
        stdout.contains("arm: failed: refused (arm: FAILED): PreArm: Need 3D Fix"),
        "{stdout}"
    );
    assert!(stderr.contains("PreArm: Need 3D Fix"), "{stderr}");
    // The flight was closed cleanly, and holds the request and its outcome.
    let summary = airlock::review::summarize(&flight).unwrap();
    assert!(!summary.recording);
    assert_eq!(summary.counts.sent_messages.get("COMMAND_LONG"), Some(&1));
}

#[test]
fn usage_errors_exit_2() {
    for steps in [&["takeoff"][..], &["fly"], &[]] {
        let out = Command::new(AIRLOCK)
            .args(["command", "--port", "/dev/null"])
            .args(steps)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{steps:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_whole_flight_then_every_command_is_on_disk_before_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (mut sim, device) = start_sim();
    // 100 m north of the simulator's home.
    let (lat, lon) = airlock::sim::model::offset_to_lat_lon(100.0, 0.0);
    let goto = format!("goto {lat:.7} {lon:.7} 20");
    let steps = common::flight_steps(&goto);
    let out = command(&device, &flight, &steps);
    let _ = sim.kill();
    let _ = sim.wait();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1 + steps.len(), "{stdout}");
    for (line, step) in lines[1..].iter().zip(steps) {
        assert!(line.starts_with(&format!("{step}: ")), "{line}");
        assert!(!line.contains("failed"), "{line}");
    }

    let flown = common::flown(&flight);
    assert!(flown.max_alt_rel_m >= 19.0, "{flown:?}");
    let (north_m, _) = airlock::sim::model::lat_lon_to_offset(flown.max_lat_deg, lon);
    assert!(north_m >= 97.0, "went {north_m} m north");
    assert_eq!(flown.armed_at_end, Some(false));
    // mode, arm, takeoff, reposition, mode RTL: each answered, each answer after its command.
    assert_eq!(flown.commands.len(), 5, "{flown:?}");
    flown.assert_commands_on_disk_before_answers();
}
