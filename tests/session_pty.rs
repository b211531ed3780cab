//! The live session against real pseudo-terminals made by the test: byte-exact capture,
//! the GCS side of the protocol, and unplug/replug of the device.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock::link::Baud;
use airlock::protocol::frame::{parse_all, Parsed};
use airlock::protocol::{dialect, MavMessage, Outgoing};
use airlock::review::{self, export};
use airlock::session::{self, Control, FlightDir, LinkState, SessionConfig, SessionEvent};
use serialport::{SerialPort, TTYPort};

fn heartbeat(outgoing: &mut Outgoing) -> Vec<u8> {
    use mavlink::dialects::ardupilotmega as apm;
    outgoing.encode(&MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
        custom_mode: 5,
        mavtype: apm::MavType::MAV_TYPE_QUADROTOR,
        autopilot: apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
        base_mode: apm::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
        system_status: apm::MavState::MAV_STATE_STANDBY,
        mavlink_version: 3,
    }))
}

/// A fake vehicle on the master side of a fresh pty, reachable through `link` (a symlink).
struct Plug {
    master: TTYPort,
    _slave: TTYPort,
}

fn plug(link: &Path) -> Plug {
    let (mut master, slave) = TTYPort::pair().expect("pty pair");
    master.set_timeout(Duration::from_millis(20)).unwrap();
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(slave.name().unwrap(), link).unwrap();
    Plug {
        master,
        _slave: slave,
    }
}

fn wait_for(
    events: &crossbeam_channel::Receiver<SessionEvent>,
    what: impl Fn(&SessionEvent) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(event) = events.recv_timeout(Duration::from_millis(100)) {
            if what(&event) {
                return;
            }
        }
    }
    panic!("timed out waiting for a session event");
}

/// A session worker as a ground station on `link`, recording into `flight`: its events, the
/// flag that stops it, and its thread.
fn start(
    link: &Path,
    flight: &Path,
    baud: Baud,
    signing: Option<session::SigningSetup>,
) -> (
    crossbeam_channel::Receiver<SessionEvent>,
    Arc<AtomicBool>,
    std::thread::JoinHandle<anyhow::Result<airlock::capture::FlightMeta>>,
) {
    let (event_tx, events) = crossbeam_channel::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let (_commands_tx, commands) = crossbeam_channel::unbounded();
    let control = Control {
        stop: stop.clone(),
        commands,
    };
    let config = SessionConfig {
        port: link.to_string_lossy().into_owned(),
        baud,
        flight_dir: FlightDir::Exact(flight.to_owned()),
        duration: None,
        act_as_gcs: true,
        ask_telemetry: true,
        forward: None,
        signing,
        seal: None,
        inject: None,
    };
    let worker = std::thread::spawn(move || {
        // The command sender lives as long as the session: a closed channel is not a stop.
        let _commands_tx = _commands_tx;
        session::run(&config, &control, &mut |event| {
            let _ = event_tx.send(event);
        })
    });
    (events, stop, worker)
}

#[test]
fn captures_byte_exact_answers_as_a_gcs_and_survives_unplug() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("vehicle");
    let flight = dir.path().join("flight");
    let mut first = plug(&link);

    let (events, stop, session) = start(&link, &flight, Baud::Auto, None);

    let mut vehicle = Outgoing::new(1, 1);
    let mut written = Vec::new();
    let mut heard = Vec::new();
    let mut rng = fastrand::Rng::with_seed(11);
    let send = |plug: &mut Plug, bytes: &[u8], written: &mut Vec<u8>| {
        plug.master.write_all(bytes).unwrap();
        written.extend_from_slice(bytes);
    };
    // Phase 1: heartbeats with garbage between them, every byte value included.
    let all_bytes: Vec<u8> = (0..=255).collect();
    send(&mut first, &all_bytes, &mut written);
    wait_for(&events, |e| {
        matches!(e, SessionEvent::Link(LinkState::DetectingBaud { .. }))
    });
    for _ in 0..30 {
        let frame = heartbeat(&mut vehicle);
        send(&mut first, &frame, &mut written);
        let noise: Vec<u8> = (0..rng.usize(0..20)).map(|_| rng.u8(..)).collect();
        send(&mut first, &noise, &mut written);
        std::thread::sleep(Duration::from_millis(30));
        let mut buf = [0u8; 512];
        if let Ok(n) = first.master.read(&mut buf) {
            heard.extend_from_slice(&buf[..n]);
        }
    }
    wait_for(&events, |e| {
        matches!(e, SessionEvent::Link(LinkState::Connected { baud: 57600 }))
    });
    std::thread::sleep(Duration::from_millis(1200));
    let mut buf = [0u8; 4096];
    while let Ok(n) = first.master.read(&mut buf) {
        if n == 0 {
            break;
        }
        heard.extend_from_slice(&buf[..n]);
    }
    // The ground station announced itself and asked the ArduPilot vehicle for telemetry.
    let mut sent_names = Vec::new();
    parse_all(&heard, &mut |item| {
        if let Parsed::Frame(header, _) = item {
            assert_eq!((header.system_id, header.component_id), (255, 190));
            sent_names.push(dialect::display_name(header.message_id));
        }
    });
    assert!(
        sent_names.contains(&"HEARTBEAT".to_owned()),
        "{sent_names:?}"
    );
    assert!(
        sent_names.contains(&"REQUEST_DATA_STREAM".to_owned()),
        "{sent_names:?}"
    );

    // Unplug: the device disappears.
    drop(first);
    std::fs::remove_file(&link).unwrap();
    wait_for(&events, |e| {
        matches!(e, SessionEvent::Link(LinkState::Lost { .. }))
    });
    std::thread::sleep(Duration::from_millis(800));

    // Replug under a new device node; the session must find it by itself.
    let mut second = plug(&link);
    wait_for(&events, |e| {
        matches!(e, SessionEvent::Link(LinkState::Connected { .. }))
    });
    for _ in 0..10 {
        let frame = heartbeat(&mut vehicle);
        send(&mut second, &frame, &mut written);
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let meta = session.join().unwrap().unwrap();
    drop(second);

    assert_eq!(meta.reconnects, 1);
    assert_eq!(meta.counts.messages.get("HEARTBEAT"), Some(&40));
    assert!(meta.closed_cleanly);
    let opened = review::open(&flight).unwrap();
    let mut captured = Vec::new();
    export::export_raw(&opened, export::Direction::Rx, &mut captured).unwrap();
    assert_eq!(captured.len(), written.len());
    assert!(
        captured == written,
        "the capture differs from what was written"
    );
    let summary = review::summarize(&flight).unwrap();
    assert_eq!(summary.counts.messages.get("HEARTBEAT"), Some(&40));
    assert_eq!(summary.reconnects, 1);
    assert_eq!(summary.counts.lost_frames, 0);
}

/// With a signing key, every frame the session sends is signed with it (checked by a verifier
/// on the vehicle's side) and the latest timestamp is kept for the next run; what the vehicle
/// sends is judged: unsigned frames show *unsigned* until the vehicle signs, then are kept out,
/// and a frame signed with another key is counted and kept out. Everything is still recorded.
#[test]
fn a_signed_session_signs_what_it_sends_and_judges_what_it_receives() {
    use airlock::keys::KeyStore;
    use airlock::protocol::signing::{Signer, SigningKey, Verdict, Verifier};
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("vehicle");
    let flight = dir.path().join("flight");
    let config_dir = dir.path().join("config");
    let mut vehicle = plug(&link);
    let key = SigningKey::from_passphrase("shared by the vehicle and the ground station");
    let store = KeyStore::new(&config_dir);

    let signing = session::SigningSetup {
        key: key.clone(),
        store: Some(store.clone()),
        verify: true,
    };
    let (events, stop, worker) = start(&link, &flight, Baud::Fixed(57600), Some(signing));
    wait_for(&events, |e| {
        matches!(e, SessionEvent::Link(LinkState::Connected { .. }))
    });

    let mut outgoing = Outgoing::new(1, 1);
    let mut signer = Signer::new(key.clone(), 0, 0);
    let mut intruder = Signer::new(SigningKey::from_passphrase("a guess"), 0, 0);
    let wall = || airlock::capture::wall_clock_us();
    let send = |vehicle: &mut Plug, bytes: Vec<u8>| {
        vehicle.master.write_all(&bytes).unwrap();
        std::thread::sleep(Duration::from_millis(150));
    };
    // Wait for the latest status after what was sent, then the messages delivered meanwhile.
    let settle = |events: &crossbeam_channel::Receiver<SessionEvent>| {
        let mut delivered = 0;
        let mut status = None;
        let deadline = Instant::now() + Duration::from_millis(600);
        while Instant::now() < deadline {
            match events.recv_timeout(Duration::from_millis(50)) {
                Ok(SessionEvent::Message { header, .. }) if header.system_id == 1 => delivered += 1,
                Ok(SessionEvent::Signing(s)) => status = Some(s),
                _ => {}
            }
        }
        (delivered, status.expect("a signing status"))
    };
    // Unsigned: shown, as unsigned.
    send(&mut vehicle, heartbeat(&mut outgoing));
    let (delivered, status) = settle(&events);
    assert_eq!((delivered, status.words().as_str()), (1, "unsigned"));
    // Signed with the key: shown, as signed.
    let mut frame = heartbeat(&mut outgoing);
    assert!(signer.sign(&mut frame, wall()));
    send(&mut vehicle, frame);
    let (delivered, status) = settle(&events);
    assert_eq!((delivered, status.words().as_str()), (1, "signed"));
    // Unsigned again from a vehicle that signs, and signed with another key: kept out, counted.
    send(&mut vehicle, heartbeat(&mut outgoing));
    let mut forged = heartbeat(&mut outgoing);
    assert!(intruder.sign(&mut forged, wall()));
    send(&mut vehicle, forged);
    let (delivered, status) = settle(&events);
    assert_eq!(delivered, 0);
    assert_eq!(status.words(), "signed · bad signatures (1)");
    assert_eq!((status.rejected, status.counts.unsigned), (2, 2));

    // Everything the session sent is signed with the key, in order.
    let mut sent = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(n) = vehicle.master.read(&mut buf) {
            sent.extend_from_slice(&buf[..n]);
        }
    }
    stop.store(true, Ordering::SeqCst);
    worker.join().unwrap().unwrap();
    let mut checker = Verifier::new(key);
    let mut verdicts = Vec::new();
    parse_all(&sent, &mut |item| {
        if let Parsed::Frame(header, bytes) = item {
            verdicts.push(checker.check(&header, bytes, wall()));
        }
    });
    assert!(verdicts.len() >= 3, "{verdicts:?}");
    assert!(
        verdicts.iter().all(|v| *v == Verdict::Signed),
        "{verdicts:?}"
    );
    // The latest timestamp is kept: the next run starts after it.
    let kept = store.last_timestamp();
    assert!(kept >= airlock::protocol::signing::timestamp_of_wall(wall()) - 10_000_000);
    // The capture holds every received frame, kept out or not.
    let summary = review::summarize(&flight).unwrap();
    assert_eq!(summary.counts.messages.get("HEARTBEAT"), Some(&4));
    println!(
        "{} frames sent, all signed; received: {status:?}; timestamp kept {kept}",
        verdicts.len()
    );
}
