//! Flight review on a big log (a plain program that prints figures, not a timed test):
//! index build, index reuse, seek-by-time, whole-flight plot of one field, peak memory.
//!
//! `cargo bench --bench review -- FILE.tlog [SIZE_MB]`: makes FILE first when it is missing,
//! from the real logs in tests/data repeated with time running on (one long flight).

mod common;
use common::peak_rss_mb;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use airlock::review::index::{state_at, FlightIndex};
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
    let mut index =
        FlightIndex::build_with(bytes, &mut |_, _| {}, &mut |upto| opened.release(upto));
    index.stamp_and_store(path, None);
    let build = started.elapsed();
    let kept = std::fs::metadata(path.with_extension("tlog.alidx")).map_or(0, |m| m.len());
    println!(
        "index build (first open): {:.2} s for {} frames, {} checkpoints; index file {:.1} MB",
        build.as_secs_f64(),
        index.frames,
        index.checkpoints.len(),
        kept as f64 / 1e6
    );
    println!("peak RSS after the build: {:.0} MB", peak_rss_mb());
    drop(index);
    // A later open: the kept index, then the first whole-flight plot (ATTITUDE.roll).
    let started = Instant::now();
    let Some(index) = FlightIndex::load(path, None) else {
        eprintln!("the index was not kept");
        return;
    };
    let loaded = started.elapsed();
    println!(
        "index in memory: {:.1} MB ({} checkpoints, {} texts, {} markers, {} track points, {} streams)",
        index.heap_bytes() as f64 / 1e6,
        index.checkpoints.len(),
        index.texts.len(),
        index.markers.len(),
        index.track.len(),
        index.streams.len()
    );
    let Some(attitude) = index.first_stream_of(30) else {
        eprintln!("no ATTITUDE in the log");
        return;
    };
    let roll = attitude.field("roll").unwrap_or(0);
    let points: Vec<[f64; 2]> = (0..index.buckets_used())
        .flat_map(|bucket| {
            let t = (index.bucket_time_us(bucket) - index.start_us) as f64 * 1e-6;
            [
                [t, f64::from(attitude.low[roll][bucket])],
                [t, f64::from(attitude.high[roll][bucket])],
            ]
        })
        .collect();
    std::hint::black_box(&points);
    println!(
        "open → first whole-flight plot of ATTITUDE.roll ({} samples, {} points): {:.0} ms (index load {:.0} ms)",
        attitude.count,
        points.len(),
        ms(started.elapsed()),
        ms(loaded)
    );
    let (start, end) = (index.start_us, index.end_us);
    println!("flight: {:.1} h", (end - start) as f64 / 3.6e9);
    let mut seeks: Vec<Duration> = (0..50)
        .map(|i| {
            let time = start + (end - start) / 50 * i + 123_456;
            let started = Instant::now();
            let (state, _) = state_at(bytes, &index, time);
            std::hint::black_box(state.attitude);
            let took = started.elapsed();
            opened.release(bytes.len());
            took
        })
        .collect();
    seeks.sort();
    println!(
        "seek by time, 50 places: median {:.1} ms, max {:.1} ms",
        ms(seeks[25]),
        ms(seeks[49])
    );
    // Zoomed in: every ATTITUDE.roll sample of one minute in the middle of the flight.
    let started = Instant::now();
    let middle = start + (end - start) / 2;
    let detail = airlock::review::plot::samples(
        bytes,
        &index,
        &[(attitude.key, roll)],
        middle,
        middle + 60_000_000,
    );
    println!(
        "one minute zoomed in: {} samples in {:.1} ms",
        detail.first().map_or(0, Vec::len),
        ms(started.elapsed())
    );
    opened.release(bytes.len());
    println!(
        "peak RSS: {:.0} MB (mapped pages are released behind each scan)",
        peak_rss_mb()
    );
}
