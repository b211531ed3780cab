//! In-process throughput figures (a plain program, not a timed test): framing a tlog, framing a
//! raw byte stream in 4 KiB chunks, decoding every message, and capture writes.
//!
//! `cargo bench --bench throughput -- FILE.tlog` (bench/parse.sh makes a big one).

use std::time::{Duration, Instant};

use airlock::capture::raw::RecordKind;
use airlock::capture::{FlightRecord, FlightSource};
use airlock::protocol::frame::Parsed;
use airlock::protocol::{self, Framer};
use airlock::review::tlog::{TlogItem, TlogReader};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(runs: usize, mut work: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(work());
        times.push(started.elapsed());
    }
    (median(times), last.expect("at least one run"))
}

fn report(what: &str, bytes: usize, items: u64, took: Duration) {
    let seconds = took.as_secs_f64();
    println!(
        "{what:<44} {:>8.1} MB/s {:>10.0} msg/s  ({:.3} s)",
        bytes as f64 / 1e6 / seconds,
        items as f64 / seconds,
        seconds
    );
}

fn main() {
    let Some(path) = std::env::args().skip(1).find(|arg| !arg.starts_with("--")) else {
        eprintln!("usage: cargo bench --bench throughput -- FILE.tlog");
        return;
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return;
        }
    };
    println!("{path}: {:.1} MB", bytes.len() as f64 / 1e6);

    let (took, frames) = time(3, || {
        TlogReader::new(&bytes)
            .filter(|item| matches!(item, TlogItem::Frame { .. }))
            .count() as u64
    });
    report(
        "tlog records, frames CRC-checked",
        bytes.len(),
        frames,
        took,
    );

    // The same frames as a raw serial stream, fed in 4 KiB reads.
    let mut stream = Vec::with_capacity(bytes.len());
    for item in TlogReader::new(&bytes) {
        if let TlogItem::Frame { bytes: frame, .. } = item {
            stream.extend_from_slice(frame);
        }
    }
    let (took, frames) = time(3, || {
        let mut framer = Framer::new();
        for chunk in stream.chunks(4096) {
            framer.push(chunk, &mut |_| {});
        }
        framer.flush(&mut |_| {});
        framer.stats().frames
    });
    report(
        "raw stream framing (4 KiB chunks)",
        stream.len(),
        frames,
        took,
    );

    let (took, decoded) = time(3, || {
        let mut decoded = 0u64;
        let mut framer = Framer::new();
        for chunk in stream.chunks(4096) {
            framer.push(chunk, &mut |item| {
                if let Parsed::Frame(header, frame) = item {
                    decoded += u64::from(protocol::decode(&header, frame).is_ok());
                }
            });
        }
        decoded
    });
    report(
        "raw stream framing + decoding every message",
        stream.len(),
        decoded,
        took,
    );

    let dir = std::env::temp_dir().join(format!("airlock-bench-{}", std::process::id()));
    let (took, written) = time(1, || {
        let mut record = FlightRecord::create(&dir, FlightSource::default()).expect("flight");
        let mut written = 0usize;
        for chunk in stream.chunks(4096) {
            record.record(RecordKind::Rx, 0, chunk);
            written += chunk.len();
            record.tick();
        }
        let _ = record.close();
        written
    });
    report("capture writes (4 KiB chunks, fsync 1/s)", written, 0, took);
    let _ = std::fs::remove_dir_all(&dir);
}
