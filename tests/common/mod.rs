//! Helpers shared by the end-to-end tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs `command` and asserts it succeeded, showing its stderr otherwise.
pub fn ok(command: &mut Command) -> Output {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        command,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `command`, which must succeed and print JSON, and parses it.
pub fn json<T: serde::de::DeserializeOwned>(command: &mut Command) -> T {
    serde_json::from_slice(&ok(command).stdout).expect("the command prints JSON")
}

/// The received bytes of a flight, through `airlock export --format raw` (`airlock` is a
/// command already set up with its environment).
pub fn exported_rx(mut airlock: Command, flight: &Path) -> Vec<u8> {
    let file = flight.with_extension("rx.bin");
    ok(airlock
        .arg("export")
        .arg(flight)
        .args(["--format", "raw", "-o"])
        .arg(&file));
    std::fs::read(&file).expect("the export was written")
}

/// The frames of a tlog in `tests/data/tlogs`, without their timestamps.
pub fn tlog_frames(name: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tlogs")
        .join(name);
    let bytes = std::fs::read(path).expect("test tlog");
    airlock::review::tlog::TlogReader::new(&bytes)
        .filter_map(|item| match item {
            airlock::review::tlog::TlogItem::Frame { bytes, .. } => Some(bytes.to_vec()),
            airlock::review::tlog::TlogItem::CrcError { .. } => None,
        })
        .collect()
}

/// Starts `command` (`airlock sim`, or a peer that makes a pty) and returns it with the device
/// path it prints on its first line.
pub fn spawn_with_device(command: &mut Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the process starts");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("it prints its device path");
    (child, line.trim().to_owned())
}
