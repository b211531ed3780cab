//! Privacy mode against the real kernel, in child processes (a seal cannot be lifted, so the
//! test process itself is never sealed): the seal holds, the CLI refuses network links while
//! privacy is on and records it, `strace` sees no IP socket, and with privacy off the network
//! features work against local peers.

// Local peers for the network features (loopback only).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

/// `airlock` with its own settings and data folders.
fn airlock(home: &Path) -> Command {
    let mut command = Command::new(AIRLOCK);
    command
        .env("AIRLOCK_CONFIG_DIR", home.join("config"))
        .env("AIRLOCK_DATA_DIR", home.join("data"));
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("airlock runs")
}

fn start_sim(home: &Path) -> (Child, String) {
    common::spawn_with_device(airlock(home).args(["sim", "--duration", "30"]))
}

#[test]
fn privacy_is_on_by_default_and_the_check_proves_the_seal() {
    let home = tempfile::tempdir().unwrap();
    let status = run(airlock(home.path()).args(["privacy", "status"]));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("privacy mode: on"), "{text}");
    assert!(text.contains("this process: Privacy: sealed"), "{text}");
    let check = run(airlock(home.path()).args(["privacy", "check"]));
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for probe in [
        "TCP connect to 127.0.0.1",
        "UDP bind",
        "[::1]",
        "AF_PACKET",
        "io_uring",
        "pseudo-terminal",
        "file write",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("PASS") && l.contains(probe)),
            "{probe}: {text}"
        );
    }
    // Off is saved and applies to the next process; on again restores the default.
    assert!(run(airlock(home.path()).args(["privacy", "off"]))
        .status
        .success());
    let status = run(airlock(home.path()).args(["privacy", "status"]));
    assert!(String::from_utf8_lossy(&status.stdout).contains("this process: Network allowed"));
    let once = run(airlock(home.path()).args(["--privacy", "on", "privacy", "status"]));
    assert!(String::from_utf8_lossy(&once.stdout).contains("this process: Privacy: sealed"));
}

#[test]
fn a_network_link_is_refused_with_privacy_on_and_the_ledger_says_so() {
    let home = tempfile::tempdir().unwrap();
    let out = run(airlock(home.path()).args([
        "record",
        "--port",
        "tcp:127.0.0.1:5760",
        "--duration",
        "2",
    ]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("privacy mode is on"), "{stderr}");
    assert!(
        !home.path().join("data/flights").exists(),
        "no flight for a refused link"
    );
    let ledger = run(airlock(home.path()).args(["privacy", "ledger"]));
    let text = String::from_utf8_lossy(&ledger.stdout);
    assert!(
        text.contains("BLOCKED")
            && text.contains("MAVLink over TCP")
            && text.contains("127.0.0.1:5760"),
        "{text}"
    );
}

#[test]
fn with_privacy_off_a_tcp_peer_is_captured_byte_exact_and_forwarding_reaches_udp() {
    let home = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let forward_to = UdpSocket::bind("127.0.0.1:0").unwrap();
    forward_to
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let forward_port = forward_to.local_addr().unwrap().port();
    // A local MAVLink peer: real frames from a real vehicle's log, then a pause.
    let stream: Vec<u8> = common::tlog_frames("magfit_scaling_test.tlog").concat();
    let sent = stream.clone();
    let peer = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        for chunk in sent.chunks(500) {
            socket.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(800));
        let mut answer = Vec::new();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let _ = socket.read_to_end(&mut answer);
    });
    let flight = home.path().join("flight");
    let out = run(airlock(home.path()).args([
        "--privacy",
        "off",
        "record",
        "--port",
        &format!("tcp:127.0.0.1:{port}"),
        "--listen-only",
        "--forward",
        &format!("127.0.0.1:{forward_port}"),
        "--out",
        flight.to_str().unwrap(),
        "--duration",
        "3",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    peer.join().unwrap();
    let mut forwarded = [0u8; 512];
    let (count, _) = forward_to
        .recv_from(&mut forwarded)
        .expect("a forwarded frame");
    assert!(count > 8 && (forwarded[0] == 0xfe || forwarded[0] == 0xfd));
    assert!(
        common::exported_rx(airlock(home.path()), &flight) == stream,
        "TCP bytes captured byte-exact"
    );
    let ledger = run(airlock(home.path()).args(["privacy", "ledger"]));
    let text = String::from_utf8_lossy(&ledger.stdout);
    assert!(
        text.contains("allowed") && text.contains("MAVLink over TCP"),
        "{text}"
    );
    assert!(text.contains("MAVLink forwarding over UDP"), "{text}");
}

#[test]
fn with_privacy_off_udp_links_listen_and_send() {
    let home = tempfile::tempdir().unwrap();
    // Find a free port for Airlock to listen on.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let flight = home.path().join("flight");
    let mut record = airlock(home.path())
        .args([
            "--privacy",
            "off",
            "record",
            "--port",
            &format!("udp:127.0.0.1:{port}"),
        ])
        .args(["--out", flight.to_str().unwrap(), "--duration", "4"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    // A vehicle speaking MAVLink over UDP: real frames, then it listens for the GCS heartbeat.
    let vehicle = UdpSocket::bind("127.0.0.1:0").unwrap();
    vehicle
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut sent = Vec::new();
    for frame in common::tlog_frames("magfit_scaling_test.tlog")
        .iter()
        .take(600)
    {
        vehicle.send_to(frame, ("127.0.0.1", port)).unwrap();
        sent.extend_from_slice(frame);
        std::thread::sleep(Duration::from_micros(300));
    }
    let mut reply = [0u8; 300];
    let (count, _) = vehicle
        .recv_from(&mut reply)
        .expect("the GCS answers over UDP");
    assert!(count > 8, "a frame came back");
    assert!(record.wait().unwrap().success());
    assert!(
        common::exported_rx(airlock(home.path()), &flight) == sent,
        "UDP bytes captured byte-exact"
    );
}

#[test]
fn strace_sees_no_ip_socket_in_a_sealed_record_session() {
    if Command::new("strace").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace is required in CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED: strace is not installed");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let (mut sim, device) = start_sim(home.path());
    let trace = home.path().join("trace.txt");
    let out = run(Command::new("strace")
        .args(["-f", "-e", "trace=network", "-o"])
        .arg(&trace)
        .arg(AIRLOCK)
        .env("AIRLOCK_CONFIG_DIR", home.path().join("config"))
        .env("AIRLOCK_DATA_DIR", home.path().join("data"))
        .args(["record", "--port", &device, "--duration", "3"]));
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(&trace).unwrap();
    let ip_sockets: Vec<&str> = trace
        .lines()
        .filter(|line| line.contains("socket(AF_INET") || line.contains("socket(AF_PACKET"))
        .filter(|line| !line.contains("= -1"))
        .collect();
    assert!(
        ip_sockets.is_empty(),
        "IP sockets were created: {ip_sockets:?}"
    );
    // The session really ran: the flight holds telemetry.
    let flights: Vec<_> = std::fs::read_dir(home.path().join("data/flights"))
        .unwrap()
        .collect();
    assert_eq!(flights.len(), 1);
}
