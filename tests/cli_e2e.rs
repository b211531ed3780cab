//! End to end with real processes: `airlock sim` ↔ `airlock record`, kills, and `info`/`export`.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

fn airlock(args: &[&str]) -> std::process::Output {
    Command::new(AIRLOCK)
        .args(args)
        .output()
        .expect("airlock runs")
}

fn info_json(path: &Path) -> serde_json::Value {
    let out = airlock(&["info", "--json", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("info --json prints JSON")
}

/// Starts `airlock sim` and returns it with the device path it printed first.
fn start_sim(extra: &[&str]) -> (Child, String) {
    common::spawn_with_device(Command::new(AIRLOCK).arg("sim").args(extra))
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

const SIGKILL: &str = "-KILL";
const SIGTERM: &str = "-TERM";

#[test]
fn sim_and_record_give_plausible_telemetry_with_no_errors() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (mut sim, device) = start_sim(&["--baud", "57600", "--duration", "20"]);
    assert!(device.starts_with("/dev/pts/"), "{device}");
    let out = airlock(&[
        "record",
        "--port",
        &device,
        "--baud",
        "57600",
        "--out",
        flight.to_str().unwrap(),
        "--duration",
        "6",
    ]);
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = info_json(&flight);
    assert_eq!(info["crc_errors"], 0);
    assert_eq!(info["garbage_bytes"], 0);
    assert_eq!(info["lost_frames"], 0);
    let count = |name: &str| info["messages"][name].as_u64().unwrap_or(0) as f64;
    let duration = info["duration_s"].as_f64().unwrap();
    assert!((5.5..7.0).contains(&duration), "{duration}");
    assert!(
        count("ATTITUDE") / duration > 8.0,
        "ATTITUDE {}",
        count("ATTITUDE")
    );
    assert!(
        (4.0..=8.0).contains(&count("HEARTBEAT")),
        "{}",
        count("HEARTBEAT")
    );
    for name in [
        "GLOBAL_POSITION_INT",
        "GPS_RAW_INT",
        "VFR_HUD",
        "SYS_STATUS",
        "BATTERY_STATUS",
        "STATUSTEXT",
    ] {
        assert!(count(name) >= 1.0, "{name} missing: {info}");
    }
    assert!(info["sent_messages"]["HEARTBEAT"].as_u64().unwrap() >= 4);
    assert_eq!(info["vehicles"][0]["vehicle_type"], "MAV_TYPE_QUADROTOR");
    // Airlock's own tlog holds the same frames as the capture, both directions.
    let tlog = info_json(&flight.join("flight.tlog"));
    let received: u64 = info["messages"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let sent: u64 = info["sent_messages"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let in_tlog: u64 = tlog["messages"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(in_tlog, received + sent);
}

#[test]
fn fault_injection_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (mut sim, device) = start_sim(&[
        "--baud",
        "115200",
        "--noise",
        "0.1",
        "--corrupt",
        "0.05",
        "--drop",
        "0.05",
        "--seed",
        "5",
    ]);
    let out = airlock(&[
        "record",
        "--port",
        &device,
        "--baud",
        "115200",
        "--listen-only",
        "--out",
        flight.to_str().unwrap(),
        "--duration",
        "5",
    ]);
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(out.status.success());
    let info = info_json(&flight);
    assert!(info["crc_errors"].as_u64().unwrap() > 0, "{info}");
    assert!(info["garbage_bytes"].as_u64().unwrap() > 0);
    assert!(info["lost_frames"].as_u64().unwrap() > 0);
    assert!(info["messages"]["ATTITUDE"].as_u64().unwrap() > 20);
    assert!(
        info["sent_messages"].as_object().unwrap().is_empty(),
        "listen-only sent nothing"
    );
}

#[test]
fn sigterm_closes_the_flight_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (mut sim, device) = start_sim(&["--duration", "20"]);
    let mut record = Command::new(AIRLOCK)
        .args([
            "record",
            "--port",
            &device,
            "--out",
            flight.to_str().unwrap(),
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    signal(&record, SIGTERM);
    let status = record.wait().unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(status.success(), "{status:?}");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(flight.join("flight.json")).unwrap()).unwrap();
    assert_eq!(meta["closed_cleanly"], true);
    assert_eq!(
        meta["source"]["baud"], 57600,
        "auto-baud found the sim's rate"
    );
    assert!(meta["messages"]["HEARTBEAT"].as_u64().unwrap() >= 1);
}

#[test]
fn sigkill_loses_nothing_older_than_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (mut master, slave) = TTYPort::pair().unwrap();
    let device = slave.name().unwrap();
    let mut record = Command::new(AIRLOCK)
        .args([
            "record",
            "--port",
            &device,
            "--baud",
            "57600",
            "--listen-only",
            "--out",
            flight.to_str().unwrap(),
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the recorder has the port open (its capture file exists and holds an event).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(flight.join("capture.alc")).map_or(0, |m| m.len()) < 40 {
        assert!(Instant::now() < deadline, "recorder did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Write a counting pattern for 3 s, remembering when each piece went out.
    let mut written: Vec<(Instant, usize)> = Vec::new();
    let mut all = Vec::new();
    let started = Instant::now();
    let mut n: u32 = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let piece: Vec<u8> = (0..64).map(|i| (n.wrapping_mul(7) + i) as u8).collect();
        master.write_all(&piece).unwrap();
        all.extend_from_slice(&piece);
        written.push((Instant::now(), all.len()));
        n += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill_time = Instant::now();
    signal(&record, SIGKILL);
    let _ = record.wait();
    let safe_len = written
        .iter()
        .rev()
        .find(|(at, _)| kill_time.duration_since(*at) >= Duration::from_secs(1))
        .map_or(0, |&(_, len)| len);
    assert!(safe_len > 10_000, "{safe_len}");
    let out_file = dir.path().join("rx.bin");
    let out = airlock(&[
        "export",
        flight.to_str().unwrap(),
        "--format",
        "raw",
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let captured = std::fs::read(&out_file).unwrap();
    assert!(
        captured.len() >= safe_len,
        "captured {} of {safe_len}",
        captured.len()
    );
    assert_eq!(
        &captured[..],
        &all[..captured.len()],
        "capture is a prefix of what was written"
    );
    let info = info_json(&flight);
    assert_eq!(info["recovered"], true, "{info}");
    assert_eq!(info["recording"], false);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(flight.join("flight.json")).unwrap()).unwrap();
    assert_eq!(meta["recovered"], true);
    assert_eq!(meta["bytes_rx"].as_u64().unwrap(), captured.len() as u64);
    drop(slave);
}

#[test]
fn info_refuses_garbage_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.tlog");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&[0x55; 5000]).unwrap();
    let out = airlock(&["info", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no MAVLink frames found"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn open_info_and_export_exit_non_zero_on_what_they_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.tlog");
    std::fs::write(&garbage, [0x55; 5000]).unwrap();
    let not_a_flight = dir.path().join("empty-folder");
    std::fs::create_dir(&not_a_flight).unwrap();
    let missing = dir.path().join("missing.tlog");
    let out = dir.path().join("out.csv");
    for (path, words) in [
        (&garbage, "no MAVLink frames found"),
        (&not_a_flight, "not a flight folder"),
        (&missing, "No such file"),
    ] {
        let path = path.to_str().unwrap();
        for args in [
            vec!["open", path],
            vec!["info", path],
            vec![
                "export", path, "--format", "csv", "--type", "ATTITUDE", "-o",
            ],
        ] {
            let mut command = Command::new(AIRLOCK);
            command
                .args(&args)
                .env_remove("DISPLAY")
                .env_remove("WAYLAND_DISPLAY");
            if args[0] == "export" {
                command.arg(&out);
            }
            let result = command.output().unwrap();
            let stderr = String::from_utf8_lossy(&result.stderr);
            assert_eq!(result.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains(words), "{args:?}: {stderr}");
            assert!(!out.exists(), "no export is left behind");
        }
    }
}

/// The signing key: made from a passphrase as Mission Planner and MAVProxy make it (its SHA-256,
/// checked with coreutils' sha256sum), kept, exported, imported; the key is never printed.
#[test]
fn the_signing_key_is_made_as_other_ground_stations_make_it_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let run = |args: &[&str], stdin: &[u8]| {
        let mut child = Command::new(AIRLOCK)
            .args(args)
            .env("AIRLOCK_CONFIG_DIR", &config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let (code, text) = run(&["signing", "status"], b"");
    assert_eq!(code, Some(0));
    assert!(text.contains("signing key: none"), "{text}");
    let mut said = Vec::new();
    let (code, text) = run(&["signing", "set-passphrase"], b"correct horse battery\n");
    assert_eq!(code, Some(0), "{text}");
    said.push(text);
    let (_, text) = run(&["signing", "status"], b"");
    assert!(text.contains("fingerprint"), "{text}");
    said.push(text);
    let exported = dir.path().join("key.txt");
    let (code, text) = run(&["signing", "export-key", exported.to_str().unwrap()], b"");
    assert_eq!(code, Some(0), "{text}");
    said.push(text);
    let sha = Command::new("sh")
        .args(["-c", "printf %s 'correct horse battery' | sha256sum"])
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&sha.stdout)[..64].to_owned();
    assert_eq!(std::fs::read_to_string(&exported).unwrap().trim(), expected);
    for text in &said {
        assert!(!text.contains(&expected), "the key was printed: {text}");
    }
    // Never over a file; a file that is not a key is refused; the exported one imports.
    let (code, _) = run(&["signing", "export-key", exported.to_str().unwrap()], b"");
    assert_eq!(code, Some(1));
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, b"no key here").unwrap();
    let (code, text) = run(&["signing", "import-key", garbage.to_str().unwrap()], b"");
    assert_eq!(code, Some(1));
    assert!(text.contains("not a signing key"), "{text}");
    let (code, text) = run(&["signing", "import-key", exported.to_str().unwrap()], b"");
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["signing", "set-passphrase"], b"\n");
    assert_eq!(code, Some(1));
    assert!(text.contains("empty passphrase"), "{text}");
}

/// `--from`/`--to` cut every export to the range: the CSV rows are exactly the full export's
/// rows in it, the tlog holds only records in it, the GPX only points in it.
#[test]
fn exports_cut_to_a_time_range() {
    let dir = tempfile::tempdir().unwrap();
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/EAICS_flight.tlog");
    let log = log.to_str().unwrap();
    let start_s = info_json(Path::new(log))["start_us"].as_u64().unwrap() as f64 * 1e-6;
    let export = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["export", log, "-o", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let done = airlock(&args);
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        std::fs::read_to_string(out).unwrap()
    };
    let full = export("all.csv", &["--format", "csv", "--type", "ATTITUDE"]);
    let part = export(
        "part.csv",
        &[
            "--format", "csv", "--type", "ATTITUDE", "--from", "20", "--to", "0:40",
        ],
    );
    let in_range = |line: &&str| {
        let t: f64 = line.split(',').next().unwrap().parse().unwrap();
        t >= start_s + 20.0 - 1e-6 && t <= start_s + 40.0 + 1e-6
    };
    let mut expected: Vec<&str> = full.lines().take(1).collect();
    expected.extend(full.lines().skip(1).filter(in_range));
    let got: Vec<&str> = part.lines().collect();
    assert!(got.len() > 10, "{} rows", got.len());
    assert!(got.len() < full.lines().count() / 2);
    assert_eq!(got, expected);

    let tlog_out = dir.path().join("part.tlog");
    let done = airlock(&[
        "export",
        log,
        "--format",
        "tlog",
        "--from",
        "20",
        "--to",
        "40",
        "-o",
        tlog_out.to_str().unwrap(),
    ]);
    assert!(done.status.success());
    let part_info = info_json(&tlog_out);
    let first = part_info["start_us"].as_u64().unwrap() as f64 * 1e-6;
    let last = part_info["end_us"].as_u64().unwrap() as f64 * 1e-6;
    assert!(
        first >= start_s + 20.0 && last <= start_s + 40.0,
        "{first} {last}"
    );

    let bad = airlock(&[
        "export",
        log,
        "--format",
        "gpx",
        "--from",
        "soon",
        "-o",
        dir.path().join("x.gpx").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a time"));
}
