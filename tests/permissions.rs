//! Every file Airlock writes under its data and config folders is 0600 and every folder 0700,
//! whatever the umask (022 here, as on most machines), and exports go out 0600: a whole
//! scenario — record from the simulator, list the flights (which indexes them), summarise,
//! export, save the privacy setting, set and export the signing key, pull an onboard log,
//! fetch the parameters and download the mission, import another ground station's
//! tlog (itself 0644), open a raw capture for review (which caches a tlog made from it) — then
//! both folders are walked.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

/// Every file or folder under `dir` whose mode is not 0600 (files) or 0700 (folders).
fn not_private(dir: &Path, found: &mut Vec<String>, count: &mut usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        *count += 1;
        let wanted = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != wanted {
            found.push(format!("{:o} {}", mode, path.display()));
        }
        if meta.is_dir() {
            not_private(&path, found, count);
        }
    }
}

fn airlock(data: &Path, config: &Path) -> Command {
    let mut command = Command::new(AIRLOCK);
    command
        .env("AIRLOCK_DATA_DIR", data)
        .env("AIRLOCK_CONFIG_DIR", config);
    command
}

fn only_flight(flights: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(flights)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.remove(0)
}

#[test]
fn every_file_is_0600_and_every_folder_0700_under_umask_022() {
    // SAFETY: umask only sets the process's file-creation mask; the one test of this binary.
    unsafe {
        libc::umask(0o022);
    }
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let config = root.path().join("config");
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();

    let (mut sim, device) =
        common::spawn_with_device(Command::new(AIRLOCK).args(["sim", "--idle"]));
    // Recorded, with an onboard log pulled during it.
    common::ok(airlock(&data, &config).args(["record", "--port", &device, "--duration", "3"]));
    let pulled = out.join("pulled");
    common::ok(
        airlock(&data, &config)
            .args(["logs", "get", "1", "--port", &device, "-o"])
            .arg(&pulled),
    );
    // The vehicle's parameters (a copy is kept in that session's flight) and its mission.
    let params = out.join("vehicle.param");
    common::ok(
        airlock(&data, &config)
            .args(["params", "fetch", "--port", &device, "-o"])
            .arg(&params),
    );
    let mission = out.join("mission.plan");
    common::ok(
        airlock(&data, &config)
            .args(["mission", "download", "--port", &device, "-o"])
            .arg(&mission),
    );
    let _ = sim.kill();
    let _ = sim.wait();

    let flights = data.join("flights");
    let flight = only_flight(&flights);
    // Listing indexes the flights (the index holds the track and the vehicle's texts).
    common::ok(airlock(&data, &config).arg("flights"));
    assert!(flight.join("flight.tlog.alidx").is_file());
    common::ok(airlock(&data, &config).arg("info").arg(&flight));
    let gpx = out.join("track.gpx");
    common::ok(
        airlock(&data, &config)
            .arg("export")
            .arg(&flight)
            .args(["--format", "gpx", "-o"])
            .arg(&gpx),
    );
    let csv = out.join("attitude.csv");
    common::ok(
        airlock(&data, &config)
            .arg("export")
            .arg(&flight)
            .args(["--format", "csv", "--type", "ATTITUDE", "-o"])
            .arg(&csv),
    );
    common::ok(airlock(&data, &config).args(["privacy", "on"]));
    // The signing key from a passphrase on standard input, and its exported copy.
    let mut set = airlock(&data, &config)
        .args(["signing", "set-passphrase"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut set.stdin.take().unwrap(), b"correct horse\n").unwrap();
    assert!(set.wait().unwrap().success());
    let key_copy = out.join("signing.key");
    common::ok(
        airlock(&data, &config)
            .args(["signing", "export-key"])
            .arg(&key_copy),
    );
    assert!(config.join("signing.key").is_file());

    // Another ground station's log, readable by everyone where it lies, imported.
    let theirs = root.path().join("theirs.tlog");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/UAVLogViewer_vtol.tlog"),
        &theirs,
    )
    .unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o644)).unwrap();
    airlock::review::library::import_tlog(&theirs, &flights).unwrap();
    // A raw capture alone, opened for review: a tlog is made from it in the cache.
    let lone = root.path().join("lone.alc");
    std::fs::copy(flight.join(airlock::capture::RAW_FILE), &lone).unwrap();
    let cache = data.join("review-cache");
    airlock::review::player::Player::open(&lone, &cache, &mut |_, _| {}).unwrap();
    assert!(
        std::fs::read_dir(&cache).unwrap().count() > 0,
        "a tlog cached"
    );

    let mut found = Vec::new();
    let mut count = 0;
    not_private(&data, &mut found, &mut count);
    not_private(&config, &mut found, &mut count);
    let log_copy = pulled.join("log0001_41250B.bin");
    for export in [&gpx, &csv, &log_copy, &pulled, &key_copy, &params, &mission] {
        let meta = std::fs::metadata(export).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if mode != if meta.is_dir() { 0o700 } else { 0o600 } {
            found.push(format!("{mode:o} {}", export.display()));
        }
    }
    println!("{count} files and folders walked");
    assert!(count >= 15, "{count}");
    assert!(found.is_empty(), "not private:\n{}", found.join("\n"));
}
