//! `airlock privacy check`: seal exactly as the app does, then prove it holds.

// The one place allowed to name network sockets (see clippy.toml).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use super::SealState;

/// One probe and what it found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Probe {
    pub what: String,
    /// What must happen for the seal to hold.
    pub expected: &'static str,
    pub observed: String,
    pub passed: bool,
}

fn refused(result: std::io::Result<()>) -> (String, bool) {
    match result {
        Ok(()) => ("succeeded".into(), false),
        Err(error) if error.kind() == ErrorKind::PermissionDenied => {
            (format!("refused: {error}"), true)
        }
        Err(error) => (format!("failed otherwise: {error}"), false),
    }
}

fn works(result: std::io::Result<()>) -> (String, bool) {
    match result {
        Ok(()) => ("works".into(), true),
        Err(error) => (format!("failed: {error}"), false),
    }
}

fn raw_socket(family: i32, kind: i32) -> std::io::Result<()> {
    // SAFETY: socket(2) with constant arguments; the descriptor is closed at once.
    let fd = unsafe { libc::socket(family, kind, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: closing the descriptor we just created.
    unsafe { libc::close(fd) };
    Ok(())
}

fn io_uring() -> std::io::Result<()> {
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup(2) with a zeroed params struct of the kernel's size; a returned
    // descriptor is closed at once.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: closing the descriptor we just created.
    unsafe { libc::close(fd as i32) };
    Ok(())
}

fn pty_round_trip() -> std::io::Result<()> {
    let (mut master, mut slave) = serialport::TTYPort::pair().map_err(std::io::Error::other)?;
    serialport::SerialPort::set_timeout(&mut slave, Duration::from_secs(1))
        .map_err(std::io::Error::other)?;
    master.write_all(b"airlock")?;
    let mut buf = [0u8; 7];
    slave.read_exact(&mut buf)?;
    if &buf == b"airlock" {
        Ok(())
    } else {
        Err(std::io::Error::other("bytes changed on the way"))
    }
}

fn file_round_trip() -> std::io::Result<()> {
    let path = std::env::temp_dir().join(format!("airlock-privacy-check-{}", std::process::id()));
    std::fs::write(&path, b"flight data")?;
    let back = std::fs::read(&path)?;
    std::fs::remove_file(&path)?;
    if back == b"flight data" {
        Ok(())
    } else {
        Err(std::io::Error::other("file content changed"))
    }
}

/// Runs every probe in this (already sealed) process.
pub fn probes() -> Vec<Probe> {
    let mut out = Vec::new();
    let mut add = |what: &str, expected: &'static str, (observed, passed): (String, bool)| {
        out.push(Probe {
            what: what.to_owned(),
            expected,
            observed,
            passed,
        });
    };
    add(
        "TCP connect to 127.0.0.1:9",
        "refused",
        refused(std::net::TcpStream::connect(("127.0.0.1", 9)).map(drop)),
    );
    add(
        "UDP bind on 127.0.0.1",
        "refused",
        refused(std::net::UdpSocket::bind(("127.0.0.1", 0)).map(drop)),
    );
    add(
        "TCP connect to [::1]:9",
        "refused",
        refused(std::net::TcpStream::connect(("::1", 9)).map(drop)),
    );
    add(
        "raw packet socket (AF_PACKET)",
        "refused",
        refused(raw_socket(libc::AF_PACKET, libc::SOCK_RAW)),
    );
    add(
        "Bluetooth socket (AF_BLUETOOTH)",
        "refused",
        refused(raw_socket(libc::AF_BLUETOOTH, libc::SOCK_STREAM)),
    );
    add(
        "io_uring (could open sockets unseen)",
        "refused",
        refused(io_uring()),
    );
    add(
        "local socket pair (AF_UNIX: display, D-Bus)",
        "works",
        works(std::os::unix::net::UnixStream::pair().map(drop)),
    );
    add(
        "pseudo-terminal (a serial port) write and read",
        "works",
        works(pty_round_trip()),
    );
    add("file write and read", "works", works(file_round_trip()));
    out
}

/// Seals this process as the app does, then probes. Returns the seal state and the probes.
pub fn run() -> (SealState, Vec<Probe>) {
    let seal = super::seal_now();
    (seal, probes())
}
