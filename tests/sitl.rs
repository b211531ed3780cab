//! `airlock command` against a real ArduPilot Copter (SITL) through the emulated 57 600-baud
//! telemetry radio of `../shared/sitl`, with and without 2 % loss: the autopilot is the judge
//! of what Airlock sends.
//!
//! Needs the SITL bundle: `AIRLOCK_SITL_DIR` names it (`.ci/run` sets it when `../shared/sitl`
//! exists). Without it, each test says so and passes without running.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");
/// SITL's default home (CMAC), which `run-copter` uses.
const HOME_LAT_DEG: f64 = -35.363_262;
const HOME_LON_DEG: f64 = 149.165_237;
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Longest any one process of a test may run (the longest, a 5-waypoint flight, takes
/// about 2 minutes): past it the process is killed and the test fails with its output.
const PROCESS_LIMIT: Duration = Duration::from_secs(400);

/// One SITL at a time: two would fight over the two cores and their timing.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn bundle() -> Option<PathBuf> {
    match std::env::var_os("AIRLOCK_SITL_DIR") {
        Some(dir) if Path::new(&dir).join("run-copter").exists() => Some(PathBuf::from(dir)),
        Some(dir) => {
            eprintln!("skipped: AIRLOCK_SITL_DIR={dir:?} holds no run-copter");
            None
        }
        None => {
            eprintln!("skipped: no ArduPilot SITL bundle (set AIRLOCK_SITL_DIR to ../shared/sitl; .ci/run does)");
            None
        }
    }
}

/// A radio link and an ArduCopter SITL on its far end, stopped when dropped.
struct Sitl {
    radio: Child,
    copter: Child,
    /// With [`Sitl::start_with_cable`]: the cable on the vehicle's first port.
    cable: Option<Child>,
    dir: tempfile::TempDir,
}

/// A pty pair relayed by `radio-link` at `baud` (`loss` of its chunks lost): `a` for the
/// ground station, `b` for the vehicle.
fn relay(bundle: &Path, a: &Path, b: &Path, baud: u32, loss: f64) -> Child {
    let child = Command::new(bundle.join("radio-link"))
        .arg("--a")
        .arg(a)
        .arg("--b")
        .arg(b)
        .args([
            "--baud",
            &baud.to_string(),
            "--loss",
            &loss.to_string(),
            "--seed",
            "7",
        ])
        .stderr(Stdio::null())
        .spawn()
        .expect("radio-link starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(a.exists() && b.exists()) {
        assert!(Instant::now() < deadline, "radio-link made no devices");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Sitl {
    fn start(bundle: &Path, loss: f64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (gcs, vehicle) = (dir.path().join("gcs"), dir.path().join("veh"));
        let radio = relay(bundle, &gcs, &vehicle, 57600, loss);
        let log = std::fs::File::create(dir.path().join("sitl.log")).unwrap();
        let copter = Command::new(bundle.join("run-copter"))
            .arg(&vehicle)
            .arg("--workdir")
            .arg(dir.path().join("sitl"))
            .arg("--wipe")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run-copter starts");
        Self {
            radio,
            copter,
            cable: None,
            dir,
        }
    }

    /// SITL with two MAVLink ports, as a flight controller has: the first (SERIAL0, which
    /// ArduPilot counts as its USB port and where it always accepts unsigned frames) on a
    /// cable (`cable()`), the second (SERIAL1, where signing is enforced once a key is set)
    /// on the 57 600-baud radio (`gcs()`). `run-copter` gives SITL one port only, so this
    /// starts the bundle's `arducopter` as it does: the same defaults, in a private network
    /// namespace.
    fn start_with_cable(bundle: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (gcs, vehicle) = (dir.path().join("gcs"), dir.path().join("veh"));
        let (usb_gcs, usb_vehicle) = (dir.path().join("usb"), dir.path().join("usb-veh"));
        let radio = relay(bundle, &gcs, &vehicle, 57600, 0.0);
        let cable = relay(bundle, &usb_gcs, &usb_vehicle, 115_200, 0.0);
        let workdir = dir.path().join("sitl");
        std::fs::create_dir_all(&workdir).unwrap();
        let log = std::fs::File::create(dir.path().join("sitl.log")).unwrap();
        let uart = |path: &Path| {
            format!(
                "uart:{}:57600",
                std::fs::canonicalize(path).unwrap().display()
            )
        };
        let defaults = format!(
            "{},{}",
            bundle.join("copter.parm").display(),
            bundle.join("link.parm").display()
        );
        let namespace: &[&str] = if common::is_root() {
            &["-n"]
        } else {
            &["-r", "-n"]
        };
        let copter = Command::new("unshare")
            .args(namespace)
            .args([
                "/bin/sh",
                "-c",
                "ip link set lo up 2>/dev/null; exec \"$@\"",
                "sitl",
            ])
            .arg(bundle.join("arducopter"))
            .args(["--model", "+", "--speedup", "1", "--defaults", &defaults])
            .args(["--sim-address=127.0.0.1", "-I0", "-w"])
            .args([
                "--serial0",
                &uart(&usb_vehicle),
                "--serial1",
                &uart(&vehicle),
            ])
            .args(["--serial2", "none"])
            .current_dir(&workdir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("arducopter starts");
        Self {
            radio,
            copter,
            cable: Some(cable),
            dir,
        }
    }

    /// The ground station's end of the cable (with [`Sitl::start_with_cable`]).
    fn cable(&self) -> PathBuf {
        self.dir.path().join("usb")
    }

    fn gcs(&self) -> PathBuf {
        self.dir.path().join("gcs")
    }

    fn command(&self, flight: &Path, steps: &[&str]) -> Output {
        common::output_within(
            Command::new(AIRLOCK)
                .args(["command", "--baud", "57600", "--timeout", "150", "--port"])
                .arg(self.gcs())
                .arg("--out")
                .arg(flight)
                .args(steps)
                .env("AIRLOCK_DATA_DIR", self.dir.path().join("data")),
            PROCESS_LIMIT,
        )
    }
}

impl Drop for Sitl {
    fn drop(&mut self) {
        let children = [
            Some(&mut self.copter),
            Some(&mut self.radio),
            self.cable.as_mut(),
        ];
        for child in children.into_iter().flatten() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_early_arm_is_refused_with_the_autopilots_own_reason() {
    let Some(bundle) = bundle() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start(&bundle, 0.0);
    let flight = sitl.dir.path().join("flight");
    let out = sitl.command(&flight, &["arm"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("arm: failed: refused (arm: FAILED)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("Arm: ") || stderr.contains("PreArm: "),
        "the vehicle's reason: {stderr}"
    );
    println!("{stdout}");
}

fn takeoff_goto_rtl(loss: f64) {
    let Some(bundle) = bundle() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start(&bundle, loss);
    let flight = sitl.dir.path().join("flight");
    let north_lat = HOME_LAT_DEG + (100.0 / EARTH_RADIUS_M).to_degrees();
    let goto = format!("goto {north_lat:.7} {HOME_LON_DEG:.7} 20");
    let started = Instant::now();
    let out = sitl.command(&flight, &common::flight_steps(&goto));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "loss {loss}: {stdout}\n{stderr}\nSITL: {}",
        std::fs::read_to_string(sitl.dir.path().join("sitl.log")).unwrap_or_default()
    );
    println!(
        "loss {loss}: {:.0} s\n{stdout}",
        started.elapsed().as_secs_f64()
    );
    let flown = common::flown(&flight);
    assert!(flown.max_alt_rel_m >= 19.0, "{flown:?}");
    let north_m = (flown.max_lat_deg - HOME_LAT_DEG).to_radians() * EARTH_RADIUS_M;
    assert!(north_m >= 95.0, "went {north_m:.1} m north");
    assert_eq!(flown.armed_at_end, Some(false), "disarmed at the end");
    flown.assert_commands_on_disk_before_answers();
    println!(
        "highest {:.1} m, {:.1} m north, {} commands, {} ACKs",
        flown.max_alt_rel_m,
        north_m,
        flown.commands.len(),
        flown.acks.len()
    );
}

#[test]
fn takeoff_goto_and_rtl_over_a_clean_radio() {
    takeoff_goto_rtl(0.0);
}

#[test]
fn takeoff_goto_and_rtl_over_a_radio_losing_2_percent() {
    takeoff_goto_rtl(0.02);
}

/// pymavlink reads the vehicle's mission on its own (one item at a time, re-asking on silence)
/// and prints `[[seq, command, frame, x, y, z], …]`.
const PYMAVLINK_DOWNLOAD: &str = r#"
import json, sys, time
from pymavlink import mavutil
m = mavutil.mavlink_connection(sys.argv[1], baud=57600, source_system=254, source_component=190)
m.wait_heartbeat(timeout=30)
count = None
for _ in range(30):
    m.mav.mission_request_list_send(1, 1, 0)
    msg = m.recv_match(type='MISSION_COUNT', blocking=True, timeout=1)
    if msg is not None:
        count = msg.count
        break
items = []
for seq in range(count):
    for _ in range(30):
        m.mav.mission_request_int_send(1, 1, seq, 0)
        msg = m.recv_match(type='MISSION_ITEM_INT', blocking=True, timeout=0.7)
        if msg is not None and msg.seq == seq:
            items.append([msg.seq, msg.command, msg.frame, msg.x, msg.y, msg.z])
            break
    else:
        sys.exit("item %d never came" % seq)
m.mav.mission_ack_send(1, 1, 0, 0)
print(json.dumps(items))
"#;

#[test]
fn a_100_waypoint_mission_fence_and_rally_upload_verified_over_a_lossy_radio() {
    use airlock::mission::{FenceCircle, FencePolygon, Format, MissionItem, Plan};
    let Some(bundle) = bundle() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start(&bundle, 0.02);
    let mut plan = Plan {
        home: Some(MissionItem::new(16, 0, HOME_LAT_DEG, HOME_LON_DEG, 584.0)),
        ..Plan::default()
    };
    plan.items
        .push(MissionItem::new(22, 3, HOME_LAT_DEG, HOME_LON_DEG, 20.0));
    for i in 0..99 {
        let angle = f64::from(i) * 0.2;
        let north = 150.0 * angle.cos();
        let east = 150.0 * angle.sin();
        plan.items.push(MissionItem::new(
            16,
            3,
            HOME_LAT_DEG + (north / EARTH_RADIUS_M).to_degrees(),
            HOME_LON_DEG + (east / (EARTH_RADIUS_M * HOME_LAT_DEG.to_radians().cos())).to_degrees(),
            20.0 + f64::from(i % 10),
        ));
    }
    let d = 0.003;
    plan.fence.polygons.push(FencePolygon {
        vertices: vec![
            (HOME_LAT_DEG - d, HOME_LON_DEG - d),
            (HOME_LAT_DEG + d, HOME_LON_DEG - d),
            (HOME_LAT_DEG + d, HOME_LON_DEG + d),
            (HOME_LAT_DEG - d, HOME_LON_DEG + d),
        ],
        inclusion: true,
    });
    plan.fence.circles.push(FenceCircle {
        lat_deg: HOME_LAT_DEG + 0.001,
        lon_deg: HOME_LON_DEG,
        radius_m: 20.0,
        inclusion: false,
    });
    plan.rally = vec![(HOME_LAT_DEG + 0.0005, HOME_LON_DEG, 30.0)];
    let file = sitl.dir.path().join("hundred.plan");
    std::fs::write(&file, plan.write(Format::Plan).unwrap()).unwrap();
    let airlock = |args: &[&str]| {
        common::output_within(
            Command::new(AIRLOCK)
                .args(args)
                .args(["--baud", "57600", "--port"])
                .arg(sitl.gcs())
                .env("AIRLOCK_DATA_DIR", sitl.dir.path().join("data")),
            PROCESS_LIMIT,
        )
    };
    // ArduPilot answers NO_SPACE until its mission storage is up (seen 2 s after start).
    std::thread::sleep(Duration::from_secs(10));
    let started = Instant::now();
    let out = airlock(&["mission", "upload", file.to_str().unwrap()]);
    let upload_s = started.elapsed().as_secs_f64();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("upload mission: 101 items uploaded and verified"),
        "{stdout}"
    );
    assert!(
        stdout.contains("upload fence: 5 items uploaded and verified"),
        "{stdout}"
    );
    assert!(
        stdout.contains("upload rally points: 1 items uploaded and verified"),
        "{stdout}"
    );
    let back = sitl.dir.path().join("back.plan");
    let started = Instant::now();
    let out = airlock(&[
        "mission",
        "download",
        "--type",
        "all",
        "-o",
        back.to_str().unwrap(),
    ]);
    let download_s = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let read = Plan::parse(&std::fs::read_to_string(&back).unwrap()).unwrap();
    assert_eq!(read.items.len(), 100);
    common::assert_same_items(&plan.items, &read.items);
    assert_eq!(read.fence.polygons.len(), 1);
    assert_eq!(read.fence.circles.len(), 1);
    assert_eq!(read.rally.len(), 1);
    println!("2 % loss: upload and verify of mission, fence and rally {upload_s:.1} s (process included); download of all three {download_s:.1} s");
    // pymavlink, on its own, reads the same mission from the vehicle.
    let Some(python) = common::python() else {
        return;
    };
    let out = common::output_within(
        Command::new(python)
            .args(["-c", PYMAVLINK_DOWNLOAD])
            .arg(sitl.gcs()),
        PROCESS_LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let theirs: Vec<(u16, u16, u8, i32, i32, f32)> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), 101);
    for (seq, item) in plan.items.iter().enumerate() {
        let (_, command, frame, x, y, z) = theirs[seq + 1];
        assert_eq!(
            (command, frame),
            (item.command, item.frame),
            "item {}",
            seq + 1
        );
        assert_eq!(
            (x, y),
            ((item.x * 1e7).round() as i32, (item.y * 1e7).round() as i32)
        );
        assert_eq!(z, item.z as f32);
    }
}

#[test]
fn mission_start_flies_a_5_waypoint_mission_and_lands() {
    use airlock::mission::{Format, MissionItem, Plan};
    let Some(bundle) = bundle() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start(&bundle, 0.0);
    let at = |north: f64, east: f64| {
        (
            HOME_LAT_DEG + (north / EARTH_RADIUS_M).to_degrees(),
            HOME_LON_DEG + (east / (EARTH_RADIUS_M * HOME_LAT_DEG.to_radians().cos())).to_degrees(),
        )
    };
    let mut plan = Plan {
        home: Some(MissionItem::new(16, 0, HOME_LAT_DEG, HOME_LON_DEG, 584.0)),
        ..Plan::default()
    };
    plan.items.push(MissionItem::new(22, 3, 0.0, 0.0, 15.0));
    for (north, east) in [
        (40.0, 0.0),
        (40.0, 40.0),
        (0.0, 40.0),
        (-30.0, 20.0),
        (0.0, 10.0),
    ] {
        let (lat, lon) = at(north, east);
        plan.items.push(MissionItem::new(16, 3, lat, lon, 15.0));
    }
    plan.items.push(MissionItem::new(21, 3, 0.0, 0.0, 0.0));
    let file = sitl.dir.path().join("five.plan");
    std::fs::write(&file, plan.write(Format::Plan).unwrap()).unwrap();
    // At once: ArduPilot answers NO_SPACE until its mission storage is up, and the upload
    // starts again until it is.
    let out = common::output_within(
        Command::new(AIRLOCK)
            .args(["mission", "upload", "--baud", "57600", "--port"])
            .arg(sitl.gcs())
            .arg(&file)
            .env("AIRLOCK_DATA_DIR", sitl.dir.path().join("data")),
        PROCESS_LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    println!("{}", text(&out.stdout));
    let flight = sitl.dir.path().join("flight");
    let started = Instant::now();
    let out = sitl.command(
        &flight,
        &[
            "wait-ready",
            "mission-item 1",
            "mission-start",
            "wait-disarmed",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let flown = common::flown(&flight);
    println!(
        "{:.0} s\n{stdout}reached {:?}, highest {:.1} m",
        started.elapsed().as_secs_f64(),
        flown.reached,
        flown.max_alt_rel_m
    );
    for seq in 1..=6 {
        assert!(
            flown.reached.contains(&seq),
            "item {seq} not reached: {flown:#?}"
        );
    }
    assert!(flown.max_alt_rel_m >= 14.0, "{flown:?}");
    assert_eq!(flown.armed_at_end, Some(false), "landed and disarmed");
    flown.assert_commands_on_disk_before_answers();
}

/// pymavlink fetches every parameter on its own (PARAM_REQUEST_LIST, then the missing ones by
/// index) and prints `{name: [value, type], …}`; with NAME arguments, only those, by name.
const PYMAVLINK_PARAMS: &str = r#"
import json, sys, time
from pymavlink import mavutil
m = mavutil.mavlink_connection(sys.argv[1], baud=57600, source_system=254, source_component=190)
m.wait_heartbeat(timeout=30)
names = sys.argv[2:]
got = {}
if names:
    for name in names:
        for _ in range(20):
            m.mav.param_request_read_send(1, 1, name.encode(), -1)
            msg = m.recv_match(type='PARAM_VALUE', blocking=True, timeout=1)
            if msg is not None and msg.param_id == name:
                got[name] = [msg.param_value, msg.param_type]
                break
    print(json.dumps(got))
    sys.exit(0)
by_index = {}
count = None
m.mav.param_request_list_send(1, 1)
quiet = 0
while quiet < 30:
    msg = m.recv_match(type='PARAM_VALUE', blocking=True, timeout=1)
    if msg is None:
        quiet += 1
        if count is not None and len(by_index) >= count:
            break
        if count is None:
            m.mav.param_request_list_send(1, 1)
        for i in [i for i in range(count or 0) if i not in by_index][:20]:
            m.mav.param_request_read_send(1, 1, b'', i)
        continue
    quiet = 0
    if msg.param_index < msg.param_count:
        count = msg.param_count
        by_index[msg.param_index] = (msg.param_id, msg.param_value, msg.param_type)
print(json.dumps({name: [value, kind] for (name, value, kind) in by_index.values()}))
"#;

fn pymavlink_params(
    sitl: &Sitl,
    names: &[&str],
) -> Option<std::collections::BTreeMap<String, (f32, u8)>> {
    let python = common::python()?;
    let out = common::output_within(
        Command::new(python)
            .args(["-c", PYMAVLINK_PARAMS])
            .arg(sitl.gcs())
            .args(names),
        PROCESS_LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn airlock_params(sitl: &Sitl, args: &[&str]) -> Output {
    common::output_within(
        Command::new(AIRLOCK)
            .arg("params")
            .args(args)
            .args(["--baud", "57600", "--port"])
            .arg(sitl.gcs())
            .env("AIRLOCK_DATA_DIR", sitl.dir.path().join("data")),
        PROCESS_LIMIT,
    )
}

/// Parameters the autopilot keeps changing while it runs, so two reads seconds apart differ:
/// its statistics and the ground pressure it tracks while disarmed. Those are compared by
/// name and type only.
fn set_by_the_vehicle(name: &str) -> bool {
    name.starts_with("STAT_") || (name.starts_with("BARO") && name.ends_with("_GND_PRESS"))
}

fn fetch_equals_pymavlink(loss: f64, ftp: bool) {
    use airlock::params::files;
    let Some(bundle) = bundle() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start(&bundle, loss);
    // pymavlink first: its fetch takes the vehicle past its first seconds, in which ArduPilot
    // still sets sensor ids and the like (a fetch then is tested by the simulator's torn file).
    let theirs = pymavlink_params(&sitl, &[]);
    let file = sitl.dir.path().join("vehicle.params");
    let started = Instant::now();
    let mut args = vec!["fetch", "-o", file.to_str().unwrap()];
    if !ftp {
        args.push("--no-ftp");
    }
    let out = airlock_params(&sitl, &args);
    let seconds = started.elapsed().as_secs_f64();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    println!("loss {loss}, ftp {ftp}: {seconds:.1} s (process)\n{stdout}");
    let via = if ftp { "by ftp" } else { "by list" };
    assert!(stdout.contains(via), "{stdout}\n{}", text(&out.stderr));
    let (ours, _) = files::read(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let Some(theirs) = theirs else {
        return;
    };
    assert_eq!(ours.len(), theirs.len(), "count");
    let mut changed = Vec::new();
    for (name, (value, kind)) in &theirs {
        let mine = ours.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(mine.kind.map(|k| k.number()), Some(*kind), "{name}");
        if mine.value as f32 != *value && !set_by_the_vehicle(name) {
            changed.push(name.as_str());
        }
    }
    // A value that differs must be what the vehicle holds now: it changed between the two
    // fetches (the stream rates Airlock asks for, a declination from the first GPS fix).
    if !changed.is_empty() {
        let now = pymavlink_params(&sitl, &changed).unwrap_or_default();
        for name in &changed {
            let mine = ours.params[*name].value as f32;
            assert_eq!(
                Some(mine),
                now.get(*name).map(|(value, _)| *value),
                "{name}: {} before, {mine} by Airlock",
                theirs[*name].0
            );
        }
    }
    println!(
        "{} parameters, the same as pymavlink's ({} changed on the vehicle between: {changed:?})",
        ours.len(),
        changed.len()
    );
}

#[test]
fn params_fetch_by_ftp_equals_pymavlink_over_a_clean_radio() {
    fetch_equals_pymavlink(0.0, true);
}

#[test]
fn params_fetch_by_ftp_equals_pymavlink_over_a_radio_losing_2_percent() {
    fetch_equals_pymavlink(0.02, true);
}

#[test]
fn params_fetch_by_the_list_alone_equals_pymavlink_over_a_radio_losing_2_percent() {
    fetch_equals_pymavlink(0.02, false);
}

#[test]
fn params_set_integer_float_and_bitmask_read_back_by_pymavlink_and_load_dry_run_shows_the_changes()
{
    use airlock::params::files::{self, ParamFormat};
    let Some(bundle) = bundle() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start(&bundle, 0.0);
    let out = airlock_params(
        &sitl,
        &[
            "set",
            "RTL_ALT",
            "2500",
            "WPNAV_SPEED",
            "750.5",
            "LOG_BITMASK",
            "196606",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("RTL_ALT = 2500: confirmed"), "{stdout}");
    if let Some(theirs) = pymavlink_params(&sitl, &["RTL_ALT", "WPNAV_SPEED", "LOG_BITMASK"]) {
        assert_eq!(theirs["RTL_ALT"].0, 2500.0);
        assert_eq!(theirs["WPNAV_SPEED"].0, 750.5);
        assert_eq!(theirs["LOG_BITMASK"].0, 196606.0);
    }
    // A whole fetched file with two values edited: the dry run shows exactly those two.
    let file = sitl.dir.path().join("vehicle.param");
    let out = airlock_params(&sitl, &["fetch", "-o", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (mut set, _) = files::read(&std::fs::read_to_string(&file).unwrap()).unwrap();
    set.params.get_mut("RTL_ALT").unwrap().value = 1800.0;
    set.params.get_mut("ANGLE_MAX").unwrap().value = 3500.0;
    set.params.retain(|name, _| !set_by_the_vehicle(name));
    let edited = sitl.dir.path().join("edited.param");
    std::fs::write(
        &edited,
        files::write(&set, ParamFormat::MissionPlanner, (1, 1)).unwrap(),
    )
    .unwrap();
    let out = airlock_params(&sitl, &["load", "--dry-run", edited.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(
        rows,
        ["ANGLE_MAX: 3000 -> 3500", "RTL_ALT: 2500 -> 1800"],
        "{stdout}"
    );
    println!("{stdout}");
    if let Some(theirs) = pymavlink_params(&sitl, &["RTL_ALT"]) {
        assert_eq!(theirs["RTL_ALT"].0, 2500.0, "a dry run writes nothing");
    }
}

/// `airlock logs ARGS…` on the SITL's link.
fn airlock_logs(sitl: &Sitl, args: &[&str]) -> Command {
    let mut command = Command::new(AIRLOCK);
    command
        .arg("logs")
        .args(args)
        .args(["--baud", "57600", "--port"])
        .arg(sitl.gcs())
        .env("AIRLOCK_DATA_DIR", sitl.dir.path().join("data"));
    command
}

/// Makes the autopilot write a log: it logs while disarmed for `seconds` (LOG_DISARMED), then
/// stops; the log is left a few seconds to settle. Its path in SITL's own log folder.
fn sitl_writes_a_log(sitl: &Sitl, seconds: u64) -> PathBuf {
    for (value, wait) in [("1", seconds), ("0", 4)] {
        let out = airlock_params(sitl, &["set", "LOG_DISARMED", value]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::thread::sleep(Duration::from_secs(wait));
    }
    let log = sitl.dir.path().join("sitl/logs/00000001.BIN");
    assert!(log.is_file(), "SITL wrote no log");
    // ArduPilot goes on writing for a few seconds; a log that grows between two pulls is
    // another log to them (its size and time are in its name). Wait until it holds still.
    let size = || std::fs::metadata(&log).map_or(0, |m| m.len());
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut last, mut still_since) = (size(), Instant::now());
    while still_since.elapsed() < Duration::from_secs(3) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        let now = size();
        if now != last {
            (last, still_since) = (now, Instant::now());
        }
    }
    log
}

/// The one file in `dir`.
fn only_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Pulls the newest log `via` a way (`auto`: whichever is faster, both measured) and compares
/// it with SITL's file; what the pull said on stderr.
fn logs_get_latest_is_byte_identical(loss: f64, via: &str) -> String {
    let Some(bundle) = bundle() else {
        return String::new();
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start(&bundle, loss);
    let log = sitl_writes_a_log(&sitl, 3);
    let out_dir = sitl.dir.path().join("out");
    let out = common::output_within(
        &mut airlock_logs(
            &sitl,
            &[
                "get",
                "latest",
                "--via",
                via,
                "-o",
                out_dir.to_str().unwrap(),
            ],
        ),
        PROCESS_LIMIT,
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success());
    let got = only_file(&out_dir);
    let (ours, theirs) = (std::fs::read(&got).unwrap(), std::fs::read(&log).unwrap());
    assert!(
        ours == theirs,
        "{} bytes pulled, {} in SITL's folder",
        ours.len(),
        theirs.len()
    );
    println!("byte-identical to {}: {} bytes", log.display(), ours.len());
    stderr
}

/// Both ways measured (log messages, then the file by MAVLink FTP), then the faster one.
fn both_ways_were_measured(stderr: &str) {
    if stderr.is_empty() {
        return; // no SITL here
    }
    assert!(
        stderr.contains("trying MAVLink FTP (logs/00000001.BIN)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(": on by FTP") || stderr.contains(": on by log messages"),
        "{stderr}"
    );
}

#[test]
fn logs_get_latest_is_byte_identical_over_a_clean_radio() {
    both_ways_were_measured(&logs_get_latest_is_byte_identical(0.0, "auto"));
}

#[test]
fn logs_get_latest_is_byte_identical_over_a_radio_losing_2_percent() {
    both_ways_were_measured(&logs_get_latest_is_byte_identical(0.02, "auto"));
}

#[test]
fn logs_by_ftp_alone_are_byte_identical_over_a_radio_losing_2_percent() {
    let stderr = logs_get_latest_is_byte_identical(0.02, "ftp");
    assert!(
        stderr.is_empty() || stderr.contains("by MAVLink FTP (logs/00000001.BIN)"),
        "{stderr}"
    );
}

/// A pull cut mid-way (the process killed: the link gone without a goodbye) resumes from what
/// is on disk and completes identical; erase then leaves an empty list.
#[test]
fn a_cut_pull_resumes_identical_and_erase_leaves_an_empty_list() {
    let Some(bundle) = bundle() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start(&bundle, 0.0);
    let log = sitl_writes_a_log(&sitl, 3);
    let size = std::fs::metadata(&log).unwrap().len();
    let parts = sitl
        .dir
        .path()
        .join("data/onboard-logs/sys1-ardupilotmega-quadrotor");
    let held = || -> u64 {
        let Ok(entries) = std::fs::read_dir(&parts) else {
            return 0;
        };
        entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part.ranges"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str::<Vec<(u64, u64)>>(&t).ok())
            .map(|ranges| ranges.iter().map(|(a, b)| b - a).sum::<u64>())
            .sum()
    };
    let mut first = airlock_logs(&sitl, &["get", "latest"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while held() < size / 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = first.kill();
    let _ = first.wait();
    let cut_at = held();
    assert!(cut_at >= size / 3 && cut_at < size, "{cut_at} of {size}");

    let out_dir = sitl.dir.path().join("out");
    let out = common::output_within(
        &mut airlock_logs(&sitl, &["get", "latest", "-o", out_dir.to_str().unwrap()]),
        PROCESS_LIMIT,
    );
    let stdout = text(&out.stdout);
    println!(
        "cut at {cut_at} of {size} bytes\n{stdout}{}",
        text(&out.stderr)
    );
    assert!(out.status.success());
    assert!(
        stdout.contains(&format!(
            "resuming: {cut_at} of {size} bytes already on disk"
        )),
        "{stdout}"
    );
    let got = only_file(&out_dir);
    assert!(std::fs::read(&got).unwrap() == std::fs::read(&log).unwrap());

    let out = common::output_within(&mut airlock_logs(&sitl, &["erase"]), PROCESS_LIMIT);
    println!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success());
    let out = common::output_within(&mut airlock_logs(&sitl, &["list", "--json"]), PROCESS_LIMIT);
    assert!(out.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, serde_json::json!([]));
}

/// Over the radio with pymavlink, unsigned: asks for flight mode `mode` (COMMAND_LONG
/// DO_SET_MODE), then prints JSON: the COMMAND_ACK's result (null when none came in 6 s) and
/// the mode of the vehicle's last heartbeat 3 s later. Asked up to `tries` times until the
/// mode holds: just after boot, the first reading of the RC mode switch sets the mode back.
const PYMAVLINK_SET_MODE: &str = r#"
import json, sys, time
from pymavlink import mavutil
m = mavutil.mavlink_connection(sys.argv[1], baud=57600, source_system=254, source_component=190)
m.wait_heartbeat(timeout=60)
mode, tries = int(sys.argv[2]), int(sys.argv[3])
for attempt in range(tries):
    m.mav.command_long_send(1, 1, 176, 0, 1, mode, 0, 0, 0, 0, 0)
    ack = m.recv_match(type='COMMAND_ACK', blocking=True, timeout=6)
    end = time.time() + 3
    last = None
    while time.time() < end:
        hb = m.recv_match(type='HEARTBEAT', blocking=True, timeout=1)
        if hb is not None and hb.get_srcSystem() == 1 and hb.get_srcComponent() == 1:
            last = hb.custom_mode
    if last == mode:
        break
print(json.dumps({"ack": None if ack is None else ack.result, "mode": last, "tries": attempt + 1}))
"#;

/// Writes `count` HEARTBEATs as if from the vehicle (1:1), signed with a wrong key, into the
/// vehicle's end of the radio (beside SITL, which has it open too): they reach the ground
/// station on the line like the vehicle's own frames.
const PYMAVLINK_INJECT: &str = r#"
import os, sys, time
from pymavlink.dialects.v20 import ardupilotmega as mavlink2
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NOCTTY)
out = os.fdopen(fd, 'wb', buffering=0)
mav = mavlink2.MAVLink(out, srcSystem=1, srcComponent=1)
mav.signing.secret_key = bytes(range(32))
mav.signing.sign_outgoing = True
mav.signing.link_id = 1
mav.signing.timestamp = int((time.time() - 1420070400) * 100000)
for _ in range(int(sys.argv[2])):
    mav.heartbeat_send(2, 3, 0, 0, 3)
    time.sleep(0.3)
"#;

fn pymavlink_set_mode(python: &str, sitl: &Sitl, mode: u32, tries: u32) -> serde_json::Value {
    let out = common::output_within(
        Command::new(python)
            .args(["-c", PYMAVLINK_SET_MODE])
            .arg(sitl.gcs())
            .arg(mode.to_string())
            .arg(tries.to_string()),
        PROCESS_LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

const STABILIZE: u32 = 0;
const ALT_HOLD: u32 = 2;

#[test]
fn signing_installed_over_the_cable_makes_the_radio_obey_only_signed_frames() {
    let Some(bundle) = bundle() else { return };
    let Some(python) = common::python() else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sitl = Sitl::start_with_cable(&bundle);
    let config_dir = sitl.dir.path().join("config");
    let data_dir = sitl.dir.path().join("data");
    let airlock = |args: &[&str], port: &Path, stdin: &str| {
        let mut child = Command::new(AIRLOCK)
            .args(args)
            .arg("--port")
            .arg(port)
            .args(["--baud", "57600"])
            .env("AIRLOCK_CONFIG_DIR", &config_dir)
            .env("AIRLOCK_DATA_DIR", &data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        let out = common::wait_within(child, &args.join(" "), PROCESS_LIMIT);
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let report = |what: &str, out: &(Option<i32>, String, String)| {
        format!("{what}: {:?}\n{}\n{}", out.0, out.1, out.2)
    };
    // Exit 0 and `words` on standard output.
    let succeeded = |what: &str, out: &(Option<i32>, String, String), words: &str| {
        assert_eq!(out.0, Some(0), "{}", report(what, out));
        assert!(out.1.contains(words), "{}", report(what, out));
    };

    // Before: the radio obeys an unsigned command (so "ignored" below means something).
    let before = pymavlink_set_mode(&python, &sitl, ALT_HOLD, 4);
    assert_eq!(
        (before["ack"].as_u64(), before["mode"].as_u64()),
        (Some(0), Some(u64::from(ALT_HOLD))),
        "unsigned, before signing: {before}"
    );
    println!("pymavlink unsigned, before: {before}");

    let key = Command::new(AIRLOCK)
        .args(["signing", "set-passphrase"])
        .env("AIRLOCK_CONFIG_DIR", &config_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut key = key;
        let _ = key
            .stdin
            .take()
            .unwrap()
            .write_all(b"airlock sitl signing test\n");
        assert!(
            common::wait_within(key, "signing set-passphrase", PROCESS_LIMIT)
                .status
                .success()
        );
    }

    // Not over a port that is not known to be a cable, and not without the confirmation.
    let refused = airlock(&["signing", "install", "--yes"], &sitl.cable(), "");
    assert_eq!(refused.0, Some(1), "{}", report("no --wired", &refused));
    assert!(
        refused.2.contains("--wired"),
        "{}",
        report("no --wired", &refused)
    );
    let unconfirmed = airlock(&["signing", "install", "--wired"], &sitl.cable(), "no\n");
    assert_eq!(
        unconfirmed.0,
        Some(1),
        "{}",
        report("unconfirmed", &unconfirmed)
    );
    assert!(
        unconfirmed.2.contains("If the key is lost") && unconfirmed.2.contains("not confirmed"),
        "{}",
        report("unconfirmed", &unconfirmed)
    );

    let started = Instant::now();
    let install = airlock(
        &["signing", "install", "--wired"],
        &sitl.cable(),
        "install\n",
    );
    succeeded("install", &install, "signing installed");
    println!(
        "install: {:.1} s\n{}",
        started.elapsed().as_secs_f64(),
        install.1
    );

    // The radio now ignores an unsigned command...
    let ignored = pymavlink_set_mode(&python, &sitl, STABILIZE, 1);
    assert_eq!(
        (ignored["ack"].as_u64(), ignored["mode"].as_u64()),
        (None, Some(u64::from(ALT_HOLD))),
        "unsigned, after install: {ignored}"
    );
    println!("pymavlink unsigned, after install: {ignored}");
    // ...and obeys the same from Airlock, signed.
    let flight = sitl.dir.path().join("flight-signed");
    let obeyed = airlock(
        &[
            "command",
            "--timeout",
            "60",
            "--out",
            flight.to_str().unwrap(),
            "mode STABILIZE",
        ],
        &sitl.gcs(),
        "",
    );
    succeeded("airlock mode", &obeyed, "accepted");
    println!("airlock, signed: {}", obeyed.1.trim());

    // Airlock's link shows signed; frames with a wrong signature put on the line are counted.
    let inject = Command::new(&python)
        .args(["-c", PYMAVLINK_INJECT])
        .arg(sitl.dir.path().join("veh"))
        .arg("10")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let record = airlock(&["record", "--duration", "8"], &sitl.gcs(), "");
    let injected = common::wait_within(inject, "the injector", PROCESS_LIMIT);
    assert!(injected.status.success(), "{}", text(&injected.stderr));
    assert_eq!(record.0, Some(0), "{}", report("record", &record));
    assert!(
        record.2.contains("signing: signed"),
        "{}",
        report("record", &record)
    );
    let bad: u64 = record
        .2
        .lines()
        .find_map(|line| line.strip_prefix("signatures: "))
        .and_then(|line| line.split(", ").nth(2))
        .and_then(|part| part.trim_end_matches(" bad").parse().ok())
        .unwrap_or_else(|| panic!("{}", report("record", &record)));
    assert!(
        bad >= 8,
        "10 injected, {bad} counted: {}",
        report("record", &record)
    );
    println!("{}", record.2);

    // Turned off the same way, the radio obeys unsigned frames again.
    let remove = airlock(
        &["signing", "remove", "--wired", "--yes"],
        &sitl.cable(),
        "",
    );
    succeeded("remove", &remove, "signing turned off");
    let after = pymavlink_set_mode(&python, &sitl, ALT_HOLD, 1);
    assert_eq!(
        (after["ack"].as_u64(), after["mode"].as_u64()),
        (Some(0), Some(u64::from(ALT_HOLD))),
        "unsigned, after remove: {after}"
    );
    println!(
        "pymavlink unsigned, after remove: {after}\n{}",
        remove.1.trim()
    );

    // The key is in the key store and nowhere else Airlock wrote; the SETUP_SIGNING it sent
    // is in the install's capture and tlog with the key redacted.
    use sha2::Digest;
    let key: [u8; 32] = sha2::Sha256::digest(b"airlock sitl signing test").into();
    let hex_lower: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let mut holding = Vec::new();
    let mut files = 0;
    for root in [&data_dir, &config_dir] {
        for file in common::walk(root) {
            files += 1;
            let bytes = std::fs::read(&file).unwrap();
            if contains(&bytes, &key)
                || contains(&bytes, hex_lower.as_bytes())
                || contains(&bytes, hex_lower.to_uppercase().as_bytes())
            {
                holding.push(file);
            }
        }
    }
    assert_eq!(
        holding,
        [config_dir.join("signing.key")],
        "{files} files searched"
    );
    let install_flight = install
        .1
        .lines()
        .find_map(|line| line.strip_prefix("recording to "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{}", report("install", &install)));
    for name in ["capture.alc", "flight.tlog"] {
        let bytes = std::fs::read(install_flight.join(name)).unwrap();
        assert!(
            contains(&bytes, &[b'*'; 32]),
            "no redacted SETUP_SIGNING in {name}"
        );
    }
    println!(
        "key searched in {files} files: only {}",
        holding[0].display()
    );
}
