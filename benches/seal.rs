//! The cost of sealing flights (a plain program that prints figures, not a timed test): the
//! same bytes recorded with and without the seal, and `verify` of the sealed flight (intact,
//! then with one byte flipped near the end), with peak memory.
//!
//! `cargo bench --bench seal -- [SIZE_MB]` (default 200): the real logs of tests/data are fed
//! to the recorder's raw capture in 4 KiB chunks as if received, with a durable write (fsync, and with the
//! seal a signed journal entry) every 256 KiB — far more often per byte than a 57 600-baud
//! link's once a second, so the seal's share is an upper bound.

mod common;
use common::peak_rss_mb;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use airlock::capture::flight::{FlightRecord, FlightSource};
use airlock::capture::raw::RecordKind;
use airlock::capture::seal::SealKey;

/// Records `size` bytes of `traffic` into `dir`; the seconds it took.
fn record(dir: &Path, traffic: &[u8], size: u64, key: Option<Arc<SealKey>>) -> f64 {
    let started = Instant::now();
    let mut record = FlightRecord::create(dir, FlightSource::default()).expect("a flight");
    if let Some(key) = key {
        record.seal_with(key).expect("sealed");
    }
    let mut written = 0u64;
    let mut since_sync = 0u64;
    'outer: loop {
        for chunk in traffic.chunks(4096) {
            record.record(RecordKind::Rx, 0, chunk);
            written += chunk.len() as u64;
            since_sync += chunk.len() as u64;
            if since_sync >= 256 * 1024 {
                record.sync().expect("synced");
                since_sync = 0;
            }
            if written >= size {
                break 'outer;
            }
        }
    }
    record.close().expect("closed");
    started.elapsed().as_secs_f64()
}

fn main() {
    let size_mb: u64 = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs");
    let mut traffic = Vec::new();
    for entry in std::fs::read_dir(&data).expect("tests/data/tlogs") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "tlog") {
            traffic.extend(std::fs::read(&path).expect("a log"));
        }
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let key = Arc::new(
        SealKey::from_pkcs8(&SealKey::generate().expect("a key")).expect("the key reads back"),
    );
    let size = size_mb * 1_000_000;
    let plain = record(&dir.path().join("plain"), &traffic, size, None);
    let sealed_dir = dir.path().join("sealed");
    let sealed = record(&sealed_dir, &traffic, size, Some(key.clone()));
    let folder_mb = |dir: &Path| {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum::<u64>()
            })
            .unwrap_or(0) as f64
            / 1e6
    };
    let seal_kb = ["integrity.jsonl", "manifest.json", "manifest.sig"]
        .iter()
        .filter_map(|name| std::fs::metadata(sealed_dir.join(name)).ok())
        .map(|m| m.len())
        .sum::<u64>() as f64
        / 1e3;
    println!(
        "record {size_mb} MB received (capture + tlog {:.0} MB): unsealed {plain:.2} s, sealed {sealed:.2} s ({:+.1} %); the seal's files {seal_kb:.0} kB",
        folder_mb(&dir.path().join("plain")),
        (sealed / plain - 1.0) * 100.0
    );
    let started = Instant::now();
    let verdict = airlock::review::verify::verify(&sealed_dir, key.public()).expect("read");
    let took = started.elapsed().as_secs_f64();
    println!(
        "verify {:.0} MB folder: {took:.2} s ({:.0} MB/s): {}",
        folder_mb(&sealed_dir),
        folder_mb(&sealed_dir) / took,
        verdict.word()
    );
    let capture = sealed_dir.join("capture.alc");
    let at = std::fs::metadata(&capture).expect("the capture").len() - 1000;
    {
        use std::io::{Read, Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&capture)
            .expect("the capture opens");
        let mut byte = [0u8];
        file.seek(SeekFrom::Start(at)).expect("seek");
        file.read_exact(&mut byte).expect("read");
        byte[0] ^= 0x40;
        file.seek(SeekFrom::Start(at)).expect("seek");
        file.write_all(&byte).expect("write");
    }
    let started = Instant::now();
    let verdict = airlock::review::verify::verify(&sealed_dir, key.public()).expect("read");
    println!(
        "verify with byte {at} of the capture flipped: {:.2} s: {verdict}",
        started.elapsed().as_secs_f64()
    );
    println!("peak memory {:.0} MB", peak_rss_mb());
}
