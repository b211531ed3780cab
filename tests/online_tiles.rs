//! Online map tiles are a network feature: with privacy off they are fetched from an
//! OpenStreetMap-compatible server (here a local one) and cached on disk; once sealed, the
//! permit is refused and the ledger says so.

// A local tile server on loopback for the test.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use airlock::privacy::{self, NetworkLedger, SealState};
use walkers::{TileId, Tiles};

fn png() -> Vec<u8> {
    let image = image::RgbaImage::from_pixel(256, 256, image::Rgba([40, 140, 60, 255]));
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

/// Answers every GET with the same PNG; counts requests.
fn serve_tiles(listener: TcpListener, served: std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let body = png();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        let mut request = [0u8; 2048];
        let _ = stream.read(&mut request);
        served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nCache-Control: max-age=86400\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    }
}

#[test]
fn online_tiles_are_fetched_and_cached_with_privacy_off_and_refused_once_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("network-ledger.jsonl");
    assert_eq!(
        privacy::init(false, Some(ledger_path.clone())),
        SealState::NetworkAllowed
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = served.clone();
    std::thread::spawn(move || serve_tiles(listener, counter));

    let permit = privacy::request_permit("Online map tiles", &format!("127.0.0.1:{port}")).unwrap();
    let ctx = egui::Context::default();
    let cache = dir.path().join("tile-cache");
    let url = format!("http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png");
    let mut tiles = airlock::tiles::online_tiles(&url, cache.clone(), &ctx, &permit);
    let id = TileId {
        x: 1,
        y: 2,
        zoom: 3,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while tiles.at(id).is_none() {
        assert!(Instant::now() < deadline, "the tile never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let cached = walk(&cache);
    assert!(cached > 0, "the tile is cached on disk");

    // Turning privacy on seals the process at once; the feature is refused and recorded.
    assert_eq!(privacy::seal_now(), SealState::Sealed);
    let refused =
        privacy::request_permit("Online map tiles", "tile.openstreetmap.org").unwrap_err();
    assert!(refused.to_string().contains("privacy mode is on"));
    let entries = NetworkLedger::new(ledger_path).read().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[0].allowed && !entries[1].allowed);
    assert_eq!(entries[1].destination, "tile.openstreetmap.org");
    // And the kernel agrees: no new connection to the tile server can be made.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}
