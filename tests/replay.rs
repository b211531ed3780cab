//! A flight recorded live and then replayed ends in the same vehicle state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use airlock::link::Baud;
use airlock::session::{self, Control, FlightDir, SessionConfig, SessionEvent};
use airlock::sim::{self, Faults, PtyOptions};
use airlock::vehicle::VehicleState;

#[test]
fn live_and_replayed_state_are_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    let (path_tx, path_rx) = crossbeam_channel::bounded(1);
    let sim_stop = Arc::new(AtomicBool::new(false));
    let stopped = sim_stop.clone();
    let vehicle = std::thread::spawn(move || {
        let options = PtyOptions {
            baud: 115_200,
            faults: Faults {
                noise: 0.05,
                corrupt: 0.02,
                drop: 0.0,
                refuse_ftp: false,
            },
            seed: 3,
            duration: Some(Duration::from_secs(30)),
            demo_pilot: true,
            signing_enforced: false,
            logs_dir: None,
        };
        sim::run_on_pty(
            &options,
            |path| {
                let _ = path_tx.send(path.to_owned());
                Ok(())
            },
            || stopped.load(Ordering::SeqCst),
        )
    });
    let device = path_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let config = SessionConfig {
        port: device,
        baud: Baud::Fixed(115_200),
        flight_dir: FlightDir::Exact(flight.clone()),
        duration: Some(Duration::from_secs(8)),
        act_as_gcs: true,
        ask_telemetry: true,
        forward: None,
        signing: None,
        seal: None,
        inject: None,
    };
    let (_commands, commands) = crossbeam_channel::unbounded();
    let control = Control {
        stop: Arc::new(AtomicBool::new(false)),
        commands,
    };
    let mut live = VehicleState::new();
    session::run(&config, &control, &mut |event| {
        if let SessionEvent::Message {
            wall_us,
            header,
            message,
            ..
        } = event
        {
            live.apply(wall_us, wall_us, &header, &message);
        }
    })
    .unwrap();
    sim_stop.store(true, Ordering::SeqCst);
    vehicle.join().unwrap().unwrap();

    let opened = airlock::review::open(&flight).unwrap();
    let replayed = airlock::review::replay::state_at(&opened, None);
    assert!(
        live.status.as_ref().is_some_and(|s| s.armed),
        "the flight got airborne"
    );
    assert_eq!(replayed.status, live.status);
    assert_eq!(replayed.attitude, live.attitude);
    assert_eq!(replayed.position, live.position);
    assert_eq!(replayed.gps, live.gps);
    assert_eq!(replayed.hud, live.hud);
    assert_eq!(replayed.battery, live.battery);
    assert_eq!(replayed.home, live.home);
    assert_eq!(replayed.track, live.track);
    let texts = |state: &VehicleState| {
        state
            .status_log
            .messages()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&replayed), texts(&live));
    // The arming's texts ("Arming motors", "Takeoff to 30 m"): injected corruption may spoil one.
    assert!(
        texts(&live)
            .iter()
            .any(|t| t == "Arming motors" || t.starts_with("Takeoff to")),
        "{:?}",
        texts(&live)
    );
    // Replaying up to a moment gives the state of that moment, not the end.
    let first = live.track.first().unwrap();
    let early = airlock::review::replay::state_at(&opened, Some(first.wall_us));
    assert_eq!(early.track.len(), 1);
}
