//! Cross-checks against pymavlink, an implementation nobody here wrote.
//!
//! Needs a Python with pymavlink: `AIRLOCK_TEST_PYTHON` names one, else the tests make a
//! virtual environment under `target/` and install pymavlink from PyPI. If that cannot be done
//! they fail in CI, and elsewhere say SKIPPED and pass.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pymavlink_peer.py")
}

fn python() -> Option<String> {
    common::python()
}

fn pymavlink_counts(python: &str, tlog: &Path) -> BTreeMap<String, u64> {
    common::json(
        Command::new(python)
            .arg(peer_script())
            .arg("count")
            .arg(tlog),
    )
}

fn info(path: &Path) -> serde_json::Value {
    common::json(Command::new(AIRLOCK).args(["info", "--json"]).arg(path))
}

fn counts(value: &serde_json::Value) -> BTreeMap<String, u64> {
    serde_json::from_value(value.clone()).unwrap()
}

/// pymavlink writes a tlog of many message types with random values (seeded) to `out`.
fn pymavlink_writes_tlog(python: &str, out: &Path, seed: u32) {
    let status = Command::new(python)
        .arg(peer_script())
        .arg("write-tlog")
        .arg(out)
        .arg(seed.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_tlog_written_by_pymavlink_gives_pymavlinks_counts() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tlog = dir.path().join("pymavlink.tlog");
    pymavlink_writes_tlog(&python, &tlog, 17);
    let theirs = pymavlink_counts(&python, &tlog);
    let ours = info(&tlog);
    assert_eq!(counts(&ours["messages"]), theirs);
    assert!(theirs.len() > 200, "many message types: {}", theirs.len());
    assert_eq!(ours["crc_errors"], 0);

    // It opens for review and plays to the end through the live reducers.
    let mut player =
        airlock::review::player::Player::open(&tlog, &dir.path().join("cache"), &mut |_, _| {})
            .unwrap();
    let frames: u64 = theirs.values().sum();
    assert_eq!(player.index.frames, frames);
    assert!(player.notices.is_empty(), "{:?}", player.notices);
    let mut state = player.seek(0);
    player.playing = true;
    player.speed = airlock::review::player::Speed::Max;
    let mut played = 0u64;
    while player.playing {
        player.advance(
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(5),
            &mut |p| {
                state.apply(p.time_us, p.time_us, &p.header, &p.message);
                played += 1;
            },
        );
    }
    let replayed = airlock::review::replay::state_at(&player.opened, None);
    assert_eq!(state.status, replayed.status);
    assert_eq!(state.attitude, replayed.attitude);
    assert_eq!(state.position, replayed.position);
    assert!(played > frames / 2, "{played} of {frames}");
}

#[test]
fn the_tlog_airlock_writes_reads_back_in_pymavlink() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (mut sim, device) =
        common::spawn_with_device(Command::new(AIRLOCK).args(["sim", "--duration", "15"]));
    let out = Command::new(AIRLOCK)
        .args([
            "record",
            "--port",
            device.trim(),
            "--out",
            flight.to_str().unwrap(),
            "--duration",
            "4",
        ])
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(out.status.success());
    let summary = info(&flight);
    let mut ours = counts(&summary["messages"]);
    for (name, count) in counts(&summary["sent_messages"]) {
        *ours.entry(name).or_default() += count;
    }
    let theirs = pymavlink_counts(&python, &flight.join("flight.tlog"));
    assert_eq!(ours, theirs);
}

#[test]
fn an_independent_stream_with_damage_is_captured_byte_exact_and_counted_exactly() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("written.bin");
    let expected = dir.path().join("counts.json");
    let flight = dir.path().join("flight");
    // Another seed can be tried with AIRLOCK_PEER_SEED.
    let seed = std::env::var("AIRLOCK_PEER_SEED").unwrap_or_else(|_| "23".into());
    let mut peer = Command::new(&python)
        .arg(peer_script())
        .args([
            "stream",
            written.to_str().unwrap(),
            expected.to_str().unwrap(),
            &seed,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peer_out = BufReader::new(peer.stdout.take().unwrap());
    let mut device = String::new();
    peer_out.read_line(&mut device).unwrap();
    let mut record = Command::new(AIRLOCK)
        .args([
            "record",
            "--port",
            device.trim(),
            "--baud",
            "115200",
            "--listen-only",
        ])
        .args(["--out", flight.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(flight.join("capture.alc")).map_or(0, |m| m.len()) < 40 {
        assert!(Instant::now() < deadline, "recorder did not open the port");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut peer_in = peer.stdin.take().unwrap();
    writeln!(peer_in, "go").unwrap();
    let mut done = String::new();
    peer_out.read_line(&mut done).unwrap();
    assert_eq!(done.trim(), "done");
    std::thread::sleep(Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-INT", &record.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(record.wait().unwrap().success());
    drop(peer_in);
    let _ = peer.wait();

    let exported = dir.path().join("rx.bin");
    let out = Command::new(AIRLOCK)
        .args([
            "export",
            flight.to_str().unwrap(),
            "--format",
            "raw",
            "-o",
            exported.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = std::fs::read(&written).unwrap();
    let got = std::fs::read(&exported).unwrap();
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "captured bytes differ from the bytes pymavlink wrote"
    );
    let summary = info(&flight);
    let expected: BTreeMap<String, u64> =
        serde_json::from_slice(&std::fs::read(&expected).unwrap()).unwrap();
    assert_eq!(counts(&summary["messages"]), expected);
    assert!(summary["crc_errors"].as_u64().unwrap() > 0);
    assert!(summary["signed_frames"].as_u64().unwrap() > 0);
}

#[test]
fn csv_exports_equal_mavlogdump_byte_for_byte() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Real logs from other ground stations, and a log pymavlink itself wrote with random values
    // in every field of every message type.
    let written = dir.path().join("pymavlink-written.tlog");
    pymavlink_writes_tlog(&python, &written, 23);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs");
    for (file, min_len) in [
        ("ahmadkhanfar_TLOG_test.tlog", 1000),
        ("EAICS_flight.tlog", 1000),
        ("UAVLogViewer_vtol.tlog", 1000),
        (written.to_str().unwrap(), 200),
    ] {
        for message in ["ATTITUDE", "GLOBAL_POSITION_INT"] {
            let theirs = Command::new(&python)
                .args([
                    "-m",
                    "pymavlink.tools.mavlogdump",
                    "--format",
                    "csv",
                    "--types",
                    message,
                ])
                .arg(data.join(file))
                .env("MAVLINK20", "1")
                .output()
                .unwrap();
            assert!(
                theirs.status.success(),
                "{}",
                String::from_utf8_lossy(&theirs.stderr)
            );
            let csv = dir
                .path()
                .join(format!("{}.{message}.csv", file.replace('/', "_")));
            let out = Command::new(AIRLOCK)
                .arg("export")
                .arg(data.join(file))
                .args(["--format", "csv", "--type", message, "-o"])
                .arg(&csv)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let ours = std::fs::read(&csv).unwrap();
            assert!(
                ours.len() > min_len,
                "{file} {message}: {} bytes",
                ours.len()
            );
            assert!(
                ours == theirs.stdout,
                "{file} {message}: CSV differs from mavlogdump"
            );
        }
    }
}
