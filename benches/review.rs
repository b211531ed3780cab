//! Flight review on a big log (a plain program that prints figures, not a timed test):
//! index build, index reuse, seek-by-time, whole-flight plot of one field, peak memory.
//!
//! `cargo bench --bench review -- FILE.tlog [SIZE_MB]`: makes FILE first when it is missing,
//! from the real logs in tests/data repeated with time running on (one long flight).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use airlock::protocol::{self, fields};
use airlock::review::index::{frame_at, state_at, FlightIndex};
use airlock::review::tlog::{TlogItem, TlogReader};

fn make_big_tlog(path: &Path, size_mb: u64) -> std::io::Result<()> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs");
    let mut sources = Vec::new();
    for name in [
        "EAICS_flight.tlog",
        "UAVLogViewer_vtol.tlog",
        "ahmadkhanfar_TLOG_test.tlog",
        "magfit_scaling_test.tlog",
    ] {
        sources.push(std::fs::read(data.join(name))?);
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let (mut written, mut clock_us) = (0u64, 1_800_000_000_000_000u64);
    while written < size_mb * 1_000_000 {
        for source in &sources {
            let mut first = None;
            let mut last = 0;
            for item in TlogReader::new(source) {
                if let TlogItem::Frame { time_us, bytes, .. } = item {
                    let start = *first.get_or_insert(time_us);
                    last = clock_us + time_us.saturating_sub(start);
                    out.write_all(&last.to_be_bytes())?;
                    out.write_all(bytes)?;
                    written += 8 + bytes.len() as u64;
                }
            }
            clock_us = last + 1_000_000;
        }
    }
    out.flush()
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<f64>().ok())
                })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(file) = args.first() else {
        eprintln!("usage: cargo bench --bench review -- FILE.tlog [SIZE_MB]");
        return;
    };
    let path = Path::new(file);
    if !path.exists() {
        let size_mb = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
        let started = Instant::now();
        if let Err(error) = make_big_tlog(path, size_mb) {
            eprintln!("cannot make {file}: {error}");
            return;
        }
        println!("made {file} in {:.1} s", started.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_file(path.with_extension("tlog.alidx"));
    let started = Instant::now();
    let Ok(opened) = airlock::review::open(path) else {
        eprintln!("cannot open {file}");
        return;
    };
    let bytes = opened.bytes();
    println!("{file}: {:.1} MB", bytes.len() as f64 / 1e6);
    let (index, _) = FlightIndex::open_or_build(path, bytes, None);
    let build = started.elapsed();
    let frames: usize = index.streams.values().map(Vec::len).sum();
    println!(
        "index build (first open): {:.2} s for {frames} frames",
        build.as_secs_f64()
    );
    let started = Instant::now();
    let (reloaded, rebuilt) = FlightIndex::open_or_build(path, bytes, None);
    println!(
        "index reuse (later opens): {:.0} ms (rebuilt: {rebuilt})",
        ms(started.elapsed())
    );
    drop(reloaded);
    let attitude = &index.streams[&30];
    let (start, end) = (attitude[0].time_us, attitude[attitude.len() - 1].time_us);
    println!("flight: {:.1} h", (end - start) as f64 / 3.6e9);
    let mut seeks: Vec<Duration> = (0..50)
        .map(|i| {
            let time = start + (end - start) / 50 * i + 123_456;
            let started = Instant::now();
            let state = state_at(bytes, &index, time);
            std::hint::black_box(state.attitude);
            started.elapsed()
        })
        .collect();
    seeks.sort();
    println!(
        "seek by time, 50 places: median {:.1} ms, max {:.1} ms",
        ms(seeks[25]),
        ms(seeks[49])
    );
    // The whole flight's ATTITUDE.roll, min/max per pixel column of a 2000-px plot.
    let started = Instant::now();
    let columns = 2000usize;
    let span = (end - start).max(1) as f64;
    let mut low = vec![f64::INFINITY; columns];
    let mut high = vec![f64::NEG_INFINITY; columns];
    for entry in attitude {
        let Some((time, header, frame)) = frame_at(bytes, entry.offset) else {
            continue;
        };
        let Ok(message) = protocol::decode(&header, frame) else {
            continue;
        };
        if let Some(value) = fields::numeric_field(&message, "roll") {
            let column = (((time - start) as f64 / span) * (columns - 1) as f64) as usize;
            low[column] = low[column].min(value);
            high[column] = high[column].max(value);
        }
    }
    std::hint::black_box((&low, &high));
    println!(
        "whole-flight plot of ATTITUDE.roll ({} samples → {columns} columns): {:.2} s",
        attitude.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "peak RSS: {:.0} MB (the log is memory-mapped: its pages count when touched)",
        peak_rss_mb()
    );
}
