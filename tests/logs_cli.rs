//! `airlock logs` as an operator runs it, against `airlock sim` on a pseudo-terminal (real
//! processes): the list, pulls byte-identical to the vehicle's own files with their SHA-256
//! and their flight, a second pull that finds them on disk, an armed vehicle's refusal in its
//! own words, and erase confirmed by an empty list.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");
/// A fast link keeps the test short (the 1 MB log takes about 25 s at 460 800 baud).
const BAUD: &str = "460800";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn airlock(device: &str, data: &Path, args: &[&str]) -> Output {
    common::output_within(
        Command::new(AIRLOCK)
            .args(args)
            .args(["--port", device, "--baud", BAUD])
            .env("AIRLOCK_DATA_DIR", data),
        std::time::Duration::from_secs(180),
    )
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn list_pull_find_on_disk_refuse_while_armed_and_erase() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vehicle_logs = dir.path().join("vehicle-logs");
    let (mut sim, device) = common::spawn_with_device(
        Command::new(AIRLOCK)
            .args([
                "sim",
                "--idle",
                "--duration",
                "170",
                "--baud",
                BAUD,
                "--logs-dir",
            ])
            .arg(&vehicle_logs),
    );

    let out = airlock(&device, &data, &["logs", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sizes: Vec<u64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![41_250, 262_187, 1_048_741]);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["on_disk"] == "no"));

    // Two logs pulled, each identical to the vehicle's file, kept owner-only with its hash.
    let out_dir = dir.path().join("out");
    let out = airlock(
        &device,
        &data,
        &["logs", "get", "1", "2", "-o", out_dir.to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    // The big one measured both ways (log messages, then the file by MAVLink FTP).
    assert!(
        stderr.contains("trying MAVLink FTP (/APM/LOGS/00000002.BIN)"),
        "{stderr}"
    );
    assert!(stderr.contains("B/s: on by"), "{stderr}");
    let pulled = files_in(&out_dir);
    assert_eq!(pulled.len(), 2, "{pulled:?}");
    for (index, path) in pulled.iter().enumerate() {
        let theirs = vehicle_logs.join(format!("{:08}.BIN", index + 1));
        assert!(std::fs::read(path).unwrap() == std::fs::read(&theirs).unwrap());
    }
    let kept_dir = data.join("onboard-logs/sys1-ardupilotmega-quadrotor");
    let kept = files_in(&kept_dir);
    let names: Vec<String> = kept
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "log0001_41250B.bin",
            "log0001_41250B.bin.json",
            "log0001_41250B.bin.sha256",
            "log0002_262187B.bin",
            "log0002_262187B.bin.json",
            "log0002_262187B.bin.sha256",
        ]
    );
    use std::os::unix::fs::PermissionsExt;
    for path in &kept {
        assert_eq!(
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        std::fs::metadata(&kept_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let sha = airlock::onboard::sha256_of(&kept[0]).unwrap();
    let line = std::fs::read_to_string(&kept[2]).unwrap();
    assert_eq!(line, format!("{sha}  log0001_41250B.bin\n"));
    assert!(stdout.contains(&format!("sha256 {sha}")), "{stdout}");
    // The flight of the pull lists them.
    let flight = stdout
        .lines()
        .find_map(|line| line.strip_prefix("recording to "))
        .unwrap();
    let records = airlock::onboard::pulled_during(Path::new(flight));
    assert_eq!(
        records.iter().map(|r| r.log_id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    // The library says which flights pulled onboard logs.
    let out = common::output_within(
        Command::new(AIRLOCK)
            .args(["flights", "--json"])
            .env("AIRLOCK_DATA_DIR", &data),
        std::time::Duration::from_secs(60),
    );
    let flights: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts: Vec<(String, u64)> = flights
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["dir"].as_str().unwrap().to_owned(),
                f["onboard_logs"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(counts.contains(&(flight.to_owned(), 2)), "{counts:?}");
    assert_eq!(
        counts.iter().filter(|(_, n)| *n > 0).count(),
        1,
        "{counts:?}"
    );

    // Pulled again: found on disk, nothing downloaded; the list says so.
    let out = airlock(&device, &data, &["logs", "get", "1"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("log 1: already on disk"),
        "{}",
        text(&out.stdout)
    );
    let out = airlock(&device, &data, &["logs", "list"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("3 onboard logs"), "{stdout}");
    assert_eq!(stdout.matches("on disk: ").count(), 2, "{stdout}");

    // Armed: refused with the vehicle's own words; nothing erased.
    let out = airlock(
        &device,
        &data,
        &["command", "wait-ready", "mode GUIDED", "arm"],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = airlock(&device, &data, &["logs", "erase"]);
    assert_eq!(out.status.code(), Some(1));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("Disarm for log download"), "{said}");
    let out = airlock(&device, &data, &["command", "disarm", "wait-disarmed"]);
    assert!(out.status.success(), "{}", text(&out.stdout));

    // Erase: confirmed by an empty list, and gone from the vehicle's folder.
    let out = airlock(&device, &data, &["logs", "erase"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("erase: accepted"), "{stdout}");
    let out = airlock(&device, &data, &["logs", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, serde_json::json!([]));
    assert_eq!(files_in(&vehicle_logs), Vec::<PathBuf>::new());
    let _ = sim.kill();
    let _ = sim.wait();
}
