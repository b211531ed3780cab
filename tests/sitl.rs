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
    dir: tempfile::TempDir,
}

impl Sitl {
    fn start(bundle: &Path, loss: f64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (gcs, vehicle) = (dir.path().join("gcs"), dir.path().join("veh"));
        let radio = Command::new(bundle.join("radio-link"))
            .arg("--a")
            .arg(&gcs)
            .arg("--b")
            .arg(&vehicle)
            .args([
                "--baud",
                "57600",
                "--loss",
                &loss.to_string(),
                "--seed",
                "7",
            ])
            .stderr(Stdio::null())
            .spawn()
            .expect("radio-link starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(gcs.exists() && vehicle.exists()) {
            assert!(Instant::now() < deadline, "radio-link made no devices");
            std::thread::sleep(Duration::from_millis(50));
        }
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
        Self { radio, copter, dir }
    }

    fn gcs(&self) -> PathBuf {
        self.dir.path().join("gcs")
    }

    fn command(&self, flight: &Path, steps: &[&str]) -> Output {
        Command::new(AIRLOCK)
            .args(["command", "--baud", "57600", "--timeout", "150", "--port"])
            .arg(self.gcs())
            .arg("--out")
            .arg(flight)
            .args(steps)
            .env("AIRLOCK_DATA_DIR", self.dir.path().join("data"))
            .output()
            .expect("airlock runs")
    }
}

impl Drop for Sitl {
    fn drop(&mut self) {
        for child in [&mut self.copter, &mut self.radio] {
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
