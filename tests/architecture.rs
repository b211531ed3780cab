//! The module rules of DESIGN.md, checked by reading the source: arrows point one way.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Lines of code (comments dropped) of every file under `src/<module>`.
fn code_of(module: &str) -> Vec<(PathBuf, String)> {
    let root = src().join(module);
    let files = if root.is_dir() {
        rust_files(&root)
    } else {
        vec![root.with_extension("rs")]
    };
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .map(|line| format!("{line}\n"))
                .collect();
            (path, code)
        })
        .collect()
}

fn assert_never_names(module: &str, forbidden: &[&str]) {
    for (path, code) in code_of(module) {
        for word in forbidden {
            assert!(!code.contains(word), "{} names `{word}`", path.display());
        }
    }
}

#[test]
fn the_ui_touches_no_files_ports_threads_or_network() {
    assert_never_names(
        "ui",
        &[
            "std::fs",
            "std::thread",
            "serialport",
            "std::net",
            "crate::session::SessionHandle",
        ],
    );
}

#[test]
fn vehicle_state_is_pure() {
    assert_never_names(
        "vehicle",
        &[
            "egui",
            "std::fs",
            "std::thread",
            "std::net",
            "serialport",
            "Instant::now",
            "SystemTime::now",
        ],
    );
}

#[test]
fn protocol_and_capture_stand_alone() {
    assert_never_names(
        "protocol",
        &[
            "crate::capture",
            "crate::session",
            "crate::link",
            "crate::vehicle",
            "std::fs",
            "std::net",
        ],
    );
    assert_never_names(
        "capture",
        &[
            "crate::protocol",
            "crate::session",
            "crate::link",
            "crate::vehicle",
            "std::net",
        ],
    );
}

#[test]
fn only_the_privacy_gate_and_network_links_name_std_net() {
    for path in rust_files(&src()) {
        let relative = path
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if relative == "link/net.rs" || relative == "privacy/check.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("std::net"), "{relative} names std::net");
    }
}

#[test]
fn protocol_services_are_sans_io() {
    // Time comes in as a number and bytes go out as values: no clock, thread, port or file.
    assert_never_names(
        "protocol",
        &[
            "Instant::now",
            "SystemTime::now",
            "std::thread",
            "serialport",
            "std::io::Write",
        ],
    );
}
