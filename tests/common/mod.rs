//! Helpers shared by the end-to-end tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs `command` to its end like `Command::output`, but kills it and fails the test, with
/// what it printed so far, once `limit` has passed: a hung process must fail its test, not
/// hold CI until its own deadline.
pub fn output_within(command: &mut Command, limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    wait_within(child, &format!("{command:?}"), limit)
}

/// [`output_within`] for a child already started (its stdout and stderr piped).
pub fn wait_within(
    mut child: std::process::Child,
    what: &str,
    limit: std::time::Duration,
) -> Output {
    use std::io::Read;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let Some(status) = status else {
        let tail = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(20)..].join("\n")
        };
        panic!(
            "{what} still ran after {limit:?} and was killed\n--- stdout (end)\n{}\n--- stderr (end)\n{}",
            tail(&stdout),
            tail(&stderr)
        );
    };
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Whether the tests run as root (then `unshare -n` needs no user namespace).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

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

/// What a recorded flight shows of a vehicle flown by `airlock command`.
#[derive(Debug, Default)]
pub struct Flown {
    /// Highest altitude above home of the vehicle (system 1), metres.
    pub max_alt_rel_m: f64,
    /// Northernmost latitude, degrees.
    pub max_lat_deg: f64,
    /// Whether the vehicle's last heartbeat said armed.
    pub armed_at_end: Option<bool>,
    /// Commands (COMMAND_LONG/INT) sent, and COMMAND_ACKs received: (order in the capture,
    /// command id).
    pub commands: Vec<(usize, u32)>,
    pub acks: Vec<(usize, u32)>,
    /// The mission items the vehicle said it reached (MISSION_ITEM_REACHED), in order.
    pub reached: Vec<u16>,
    /// The vehicle's texts (STATUSTEXT), in order: why it did what it did.
    pub texts: Vec<String>,
}

/// Reads a flight folder: the vehicle's altitude, position and armed state from the tlog,
/// the order of commands and answers from the raw capture.
pub fn flown(flight: &Path) -> Flown {
    use airlock::capture::raw::RecordKind;
    use airlock::protocol::frame::Parsed;
    use airlock::protocol::MavMessage;
    use airlock::review::tlog::{TlogItem, TlogReader};
    use mavlink::dialects::ardupilotmega::MavModeFlag;
    let mut flown = Flown {
        max_lat_deg: f64::MIN,
        ..Flown::default()
    };
    let tlog = std::fs::read(flight.join("flight.tlog")).expect("the flight has a tlog");
    for item in TlogReader::new(&tlog) {
        let TlogItem::Frame { bytes, .. } = item else {
            continue;
        };
        let mut decoded = None;
        airlock::protocol::frame::parse_all(bytes, &mut |item| {
            if let Parsed::Frame(header, frame) = item {
                decoded = airlock::protocol::decode(&header, frame)
                    .ok()
                    .map(|m| (header, m));
            }
        });
        let Some((header, message)) = decoded else {
            continue;
        };
        if header.system_id != 1 {
            continue;
        }
        match message {
            MavMessage::GLOBAL_POSITION_INT(p) => {
                flown.max_alt_rel_m = flown.max_alt_rel_m.max(f64::from(p.relative_alt) / 1e3);
                if p.lat != 0 {
                    flown.max_lat_deg = flown.max_lat_deg.max(f64::from(p.lat) / 1e7);
                }
            }
            MavMessage::MISSION_ITEM_REACHED(r) => flown.reached.push(r.seq),
            MavMessage::STATUSTEXT(t) => flown.texts.push(
                String::from_utf8_lossy(&t.text[..])
                    .trim_end_matches('\0')
                    .to_owned(),
            ),
            MavMessage::HEARTBEAT(h) if header.component_id == 1 => {
                flown.armed_at_end = Some(
                    h.base_mode
                        .contains(MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED),
                );
            }
            _ => {}
        }
    }
    let capture = std::fs::read(flight.join("capture.alc")).expect("the flight has a capture");
    let mut order = 0usize;
    airlock::review::walk::walk_capture(&capture, &mut |event| {
        order += 1;
        let airlock::review::walk::CaptureEvent::Parsed {
            direction,
            item: Parsed::Frame(header, frame),
            ..
        } = event
        else {
            return;
        };
        match (direction, airlock::protocol::decode(&header, frame)) {
            (RecordKind::Tx, Ok(MavMessage::COMMAND_LONG(c))) => {
                flown.commands.push((order, c.command as u32))
            }
            (RecordKind::Tx, Ok(MavMessage::COMMAND_INT(c))) => {
                flown.commands.push((order, c.command as u32))
            }
            (RecordKind::Rx, Ok(MavMessage::COMMAND_ACK(a))) => {
                flown.acks.push((order, a.command as u32))
            }
            _ => {}
        }
    });
    flown
}

impl Flown {
    /// Every command has an answer written after it, and no answer comes before its command.
    pub fn assert_commands_on_disk_before_answers(&self) {
        for (at, command) in &self.commands {
            let answered = self
                .acks
                .iter()
                .any(|(ack_at, ack_command)| ack_command == command && ack_at > at);
            assert!(
                answered,
                "no ACK after command {command} at {at}: {:?}",
                self.acks
            );
        }
        for (ack_at, command) in &self.acks {
            let asked = self
                .commands
                .iter()
                .any(|(at, c)| c == command && at < ack_at);
            assert!(
                asked,
                "ACK of {command} at {ack_at} before any such command: {:?}",
                self.commands
            );
        }
    }
}

/// The flight of the commands issue's acceptance test, as `airlock command` steps: ready,
/// GUIDED, arm, take off to 20 m, go to `goto`, RTL, disarmed.
pub fn flight_steps(goto: &str) -> [&str; 8] {
    [
        "wait-ready",
        "mode GUIDED",
        "arm",
        "takeoff 20",
        "wait-alt 20",
        goto,
        "rtl",
        "wait-disarmed",
    ]
}

fn has_pymavlink(python: &str) -> bool {
    std::process::Command::new(python)
        .args(["-c", "import pymavlink, serial"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python with pymavlink: `AIRLOCK_TEST_PYTHON`, else a virtual environment made once
/// under `target/` from PyPI.
fn find_or_make_python() -> Option<String> {
    if let Ok(python) = std::env::var("AIRLOCK_TEST_PYTHON") {
        return has_pymavlink(&python).then_some(python);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pymavlink-venv");
    let python = venv.join("bin/python").to_string_lossy().into_owned();
    if has_pymavlink(&python) {
        return Some(python);
    }
    let made = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && std::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "pymavlink==2.4.*",
                "pyserial",
            ])
            .status()
            .is_ok_and(|s| s.success());
    (made && has_pymavlink(&python)).then_some(python)
}

/// A Python with pymavlink (see `find_or_make_python`); in CI its absence is a failure,
/// elsewhere the caller skips.
pub fn python() -> Option<String> {
    static PYTHON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let found = PYTHON.get_or_init(find_or_make_python).clone();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "pymavlink is required in CI and could not be installed"
        );
        eprintln!("SKIPPED: no Python with pymavlink (set AIRLOCK_TEST_PYTHON)");
    }
    found
}

/// Asserts that a mission read back from a vehicle says what was sent, item by item (float32
/// rounding allowed).
pub fn assert_same_items(
    sent: &[airlock::mission::MissionItem],
    read: &[airlock::mission::MissionItem],
) {
    assert_eq!(read.len(), sent.len(), "items read back");
    for (seq, (a, b)) in sent.iter().zip(read).enumerate() {
        assert!(a.same_as(b), "item {}: {a:?} came back as {b:?}", seq + 1);
    }
}

/// Every file under `root`, however deep.
pub fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
