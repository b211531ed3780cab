//! Image snapshots of the live screen, rendered headless by wgpu (Mesa's llvmpipe here), from the
//! simulator's telemetry (fixed seed, no faults) so that the picture is the same on every run.
//! `UPDATE_SNAPSHOTS=1 cargo test --test snapshots` rewrites `tests/snapshots/*.png`.

use airlock::app::{AirlockApp, StartOptions};
use airlock::session::{LinkState, SessionEvent};
use airlock::sim::{Faults, SimVehicle};
use airlock::ui::{FieldKey, UiSettings};
use egui_kittest::Harness;

/// Feeds the simulator's telemetry due at `t` (real frames, fixed seed, no faults).
fn feed(app: &mut AirlockApp, vehicle: &mut SimVehicle, t: f64) {
    for (header, message) in vehicle.tick_messages(t) {
        app.apply_event(SessionEvent::Message {
            wall_us: 1_800_000_000_000_000 + (t * 1e6) as u64,
            mono_us: (t * 1e6) as u64,
            header,
            message: Box::new(message),
        });
    }
}

#[test]
fn live_screen_snapshot() {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 860.0))
        .wgpu()
        .build_ui_state(
            |ui, app: &mut Option<AirlockApp>| {
                app.get_or_insert_with(|| {
                    AirlockApp::new(
                        ui.ctx(),
                        UiSettings::default(),
                        StartOptions::default(),
                        None,
                    )
                })
                .show(ui);
            },
            None,
        );
    harness.step();
    {
        let app = harness.state_mut().as_mut().expect("the app was built");
        app.apply_event(SessionEvent::Link(LinkState::Connected { baud: 57600 }));
        app.plots.toggle(FieldKey {
            system_id: 1,
            component_id: 1,
            message_id: 30,
            message_name: "ATTITUDE".into(),
            field: "roll".into(),
        });
        app.select_stream((1, 1, 30));
        // Freeze the plot's time axis at the last sample: "now" would move it between runs.
        app.plots.paused = true;
        app.plots.paused_at_s = Some(30.0);
        let mut vehicle = SimVehicle::new(Faults::default(), 1);
        for step in 0..=300 {
            feed(app, &mut vehicle, f64::from(step) * 0.1);
        }
    }
    harness.run_steps(3);
    harness.snapshot("live_screen");
}

/// The review screen of a real log: half-way through, two fields plotted over the whole flight.
#[test]
fn review_screen_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("vtol.tlog");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/tlogs/UAVLogViewer_vtol.tlog"),
        &log,
    )
    .unwrap();
    let options = StartOptions {
        flights_dir: dir.path().join("flights"),
        open: Some(log),
        ..StartOptions::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 860.0))
        .wgpu()
        .build_ui_state(
            move |ui, app: &mut Option<AirlockApp>| {
                app.get_or_insert_with(|| {
                    AirlockApp::new(ui.ctx(), UiSettings::default(), options.clone(), None)
                })
                .show(ui);
            },
            None,
        );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while harness
        .state()
        .as_ref()
        .is_none_or(|app| app.view.review.is_none())
    {
        assert!(std::time::Instant::now() < deadline, "the log did not open");
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    {
        let app = harness.state_mut().as_mut().expect("the app was built");
        for field in ["roll", "pitch"] {
            app.plots.toggle(FieldKey {
                system_id: 1,
                component_id: 1,
                message_id: 30,
                message_name: "ATTITUDE".into(),
                field: field.into(),
            });
        }
        app.select_stream((1, 1, 30));
        let index = app.view.review.as_ref().unwrap().index.clone();
        app.replay(airlock::ui::review::ReplayAction::Seek(
            index.start_us + (index.end_us - index.start_us) * 11 / 20,
        ));
    }
    harness.run_steps(4);
    harness.snapshot("review_screen");
}
