//! `airlock params` as an operator runs it, against `airlock sim` on a pseudo-terminal (real
//! processes): a fetch by FTP kept in the flight folder, a set read back, an output file never
//! overwritten, and a vehicle that refuses FTP answered by the list with every parameter.

use std::path::Path;
use std::process::{Command, Output};

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn params(device: &str, data: &Path, args: &[&str]) -> Output {
    common::output_within(
        Command::new(AIRLOCK)
            .arg("params")
            .args(args)
            .args(["--port", device, "--baud", "57600"])
            .env("AIRLOCK_DATA_DIR", data),
        std::time::Duration::from_secs(120),
    )
}

/// `airlock sim` waiting on the ground, with `extra` options: the process and its device.
fn start_sim(extra: &[&str]) -> (std::process::Child, String) {
    common::spawn_with_device(
        Command::new(AIRLOCK)
            .args(["sim", "--idle", "--duration", "120"])
            .args(extra),
    )
}

fn rows(file: &Path) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let (set, _) = airlock::params::files::read(&text).unwrap();
    set.len()
}

#[test]
fn fetch_set_get_and_a_vehicle_without_ftp() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // A vehicle with FTP: the packed file, every parameter, kept with the flight.
    let (mut sim, device) = start_sim(&[]);
    let first = dir.path().join("first.param");
    let out = params(&device, &data, &["fetch", "-o", first.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("fetch: 1354 of 1354 parameters by ftp"),
        "{stdout}"
    );
    assert_eq!(rows(&first), 1354);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let kept = kept_fetches(&data);
    assert_eq!(
        kept.len(),
        1,
        "the fetch kept in its flight folder: {kept:?}"
    );
    assert_eq!(rows(&kept[0]), 1354);

    // Never overwritten: refused before anything is fetched.
    let out = params(&device, &data, &["fetch", "-o", first.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(rows(&first), 1354);

    let out = params(&device, &data, &["set", "RTL_ALT", "2500"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("RTL_ALT = 2500: confirmed"),
        "{}",
        text(&out.stdout)
    );
    let out = params(&device, &data, &["get", "RTL_ALT"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("RTL_ALT 2500"),
        "{}",
        text(&out.stdout)
    );
    let after = dir.path().join("after.params");
    let out = params(&device, &data, &["fetch", "-o", after.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = sim.kill();
    let _ = sim.wait();

    // A vehicle that refuses FTP: the list, every parameter, and the reason said.
    let (mut sim, device) = start_sim(&["--no-ftp"]);
    let second = dir.path().join("second.parm");
    let out = params(&device, &data, &["fetch", "-o", second.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("fetch: 1354 of 1354 parameters by list"),
        "{stdout}"
    );
    assert!(
        stderr.contains("fetch by PARAM_REQUEST_LIST (FTP: open @PARAM/param.pck?withdefaults=1: unknown command)"),
        "{stderr}"
    );
    assert_eq!(rows(&second), 1354);
    let _ = sim.kill();
    let _ = sim.wait();

    // Before and after the set: that one value. FTP and the list: the same values.
    let diff = |a: &Path, b: &Path| {
        let out = common::output_within(
            Command::new(AIRLOCK).args(["params", "diff"]).arg(a).arg(b),
            std::time::Duration::from_secs(30),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(
        diff(&first, &after),
        "RTL_ALT: 1500 -> 2500\n1 difference\n"
    );
    assert_eq!(diff(&first, &second), "0 differences\n");
    // Flights compared by the fetches kept in their folders: the fetch before the set, and
    // the one after it (the third flight: the set itself fetched nothing).
    let flights: Vec<_> = kept_fetches(&data)
        .iter()
        .map(|p| p.parent().unwrap().to_path_buf())
        .collect();
    assert_eq!(flights.len(), 3, "{flights:?}");
    assert_eq!(
        diff(&flights[0], &flights[1]),
        "RTL_ALT: 1500 -> 2500\n1 difference\n"
    );
}

/// The parameter fetches kept in flight folders, oldest first (folders are named by time).
fn kept_fetches(data: &Path) -> Vec<std::path::PathBuf> {
    let mut kept: Vec<_> = common::walk(&data.join("flights"))
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("params-") && name.ends_with(".params")
        })
        .collect();
    kept.sort();
    kept
}
