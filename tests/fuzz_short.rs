//! The short fuzzing run CI does: every parser of outside data (`fuzz/targets.rs`) over its
//! real seed inputs, every committed regression input (`fuzz/regressions/TARGET/`), and
//! mutated seeds (bit flips, interesting bytes, insertions, deletions, duplications, cuts,
//! huge length fields). None may panic, and none may make an allocation larger than
//! 256 MiB (the allocator aborts the run). `FUZZ_CASES` sets the mutated inputs per target
//! (default 1000). The long, coverage-guided run is `fuzz/run.sh`.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[path = "../fuzz/targets.rs"]
mod targets;

#[global_allocator]
static ALLOCATOR: targets::Bounded = targets::Bounded;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(name: &str) {
    let target = targets::target(name).expect("a known target");
    let seeds = targets::seeds(root(), name);
    assert!(!seeds.is_empty(), "{name} has seeds");
    for seed in &seeds {
        target(seed);
    }
    let mut regressions = 0;
    if let Ok(entries) = std::fs::read_dir(root().join("fuzz/regressions").join(name)) {
        for entry in entries.flatten() {
            target(&std::fs::read(entry.path()).unwrap());
            regressions += 1;
        }
    }
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let edits = proptest::collection::vec(
        (any::<u8>(), any::<usize>(), any::<u8>(), any::<usize>()),
        1..12,
    );
    runner
        .run(&(any::<usize>(), edits), |(pick, edits)| {
            target(&targets::mutate(&seeds[pick % seeds.len()], &edits));
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{name}: {failure}"));
    println!(
        "{name}: {} seeds, {regressions} regression inputs, {cases} mutated inputs: no panic",
        seeds.len()
    );
}

#[test]
fn every_target_is_run() {
    let tested = [
        "framer", "tlog", "capture", "stored", "index", "mission", "params", "pck", "replies",
        "times", "json", "seal",
    ];
    let names: Vec<&str> = targets::TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, tested);
}

#[test]
fn framer() {
    run("framer");
}

#[test]
fn tlog() {
    run("tlog");
}

#[test]
fn capture() {
    run("capture");
}

#[test]
fn stored() {
    run("stored");
}

#[test]
fn index() {
    run("index");
}

#[test]
fn mission() {
    run("mission");
}

#[test]
fn params() {
    run("params");
}

#[test]
fn pck() {
    run("pck");
}

#[test]
fn replies() {
    run("replies");
}

#[test]
fn times() {
    run("times");
}

#[test]
fn json() {
    run("json");
}

#[test]
fn seal() {
    run("seal");
}
