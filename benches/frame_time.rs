//! Frame CPU time of the real UI, headless: the simulator's telemetry at 50 Hz, one hour of plot
//! history.
//!
//! `cargo bench --bench frame_time` prints p50/p99/max of (UI pass + tessellation) per frame.
//! A plain program, not a timed test: machines differ, the figure goes in the notes.

use std::time::{Duration, Instant};

use airlock::app::{AirlockApp, StartOptions};
use airlock::session::{LinkState, SessionEvent};
use airlock::sim::{Faults, SimVehicle};
use airlock::ui::{FieldKey, UiSettings};
use egui_kittest::Harness;

const RATE_HZ: f64 = 50.0;
const HISTORY_S: f64 = 3600.0;
const FRAMES: usize = 600;
const FRAME_S: f64 = 1.0 / 60.0;

/// Feeds the simulator's telemetry due at `t` to the app, as the session would.
fn feed(app: &mut AirlockApp, vehicle: &mut SimVehicle, t: f64) {
    for (header, message) in vehicle.tick_messages(t) {
        app.apply_event(SessionEvent::Message {
            wall_us: 1_800_000_000_000_000 + (t * 1e6) as u64,
            mono_us: (t * 1e6) as u64,
            header,
            message: Box::new(message),
        });
    }
    app.apply_event(SessionEvent::Bytes {
        mono_us: (t * 1e6) as u64,
        rx: 120,
        tx: 0,
    });
}

fn main() {
    let mut harness = Harness::new_ui_state(
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
    harness.set_size(egui::vec2(1500.0, 950.0));
    harness.step();
    let Some(app) = harness.state_mut().as_mut() else {
        return;
    };
    app.apply_event(SessionEvent::Link(LinkState::Connected { baud: 57600 }));
    for field in ["roll", "pitch", "yaw"] {
        app.plots.toggle(FieldKey {
            system_id: 1,
            component_id: 1,
            message_id: 30,
            message_name: "ATTITUDE".into(),
            field: field.into(),
        });
    }
    app.select_stream((1, 1, 30));
    app.settings.plot_window_s = HISTORY_S;
    let started = Instant::now();
    let mut vehicle = SimVehicle::new(Faults::default(), 1);
    vehicle.request_all_streams(RATE_HZ as u16);
    let samples = (HISTORY_S * RATE_HZ) as u64;
    for i in 0..samples {
        feed(app, &mut vehicle, i as f64 / RATE_HZ);
    }
    let points: usize = app.plots.series.iter().map(|s| s.points.len()).sum();
    println!(
        "history: {samples} samples per stream ({points} plot points, {} track points) in {:.1} s",
        app.vehicle().track.len(),
        started.elapsed().as_secs_f64()
    );
    let mut t = HISTORY_S;
    let mut times: Vec<Duration> = Vec::with_capacity(FRAMES);
    let mut fed_until = HISTORY_S;
    for _ in 0..FRAMES {
        t += FRAME_S;
        if let Some(app) = harness.state_mut().as_mut() {
            while fed_until < t {
                feed(app, &mut vehicle, fed_until);
                fed_until += 1.0 / RATE_HZ;
            }
        }
        let frame_started = Instant::now();
        harness.step();
        let shapes = harness.output().shapes.clone();
        let ppp = harness.output().pixels_per_point;
        let primitives = harness.ctx.tessellate(shapes, ppp);
        times.push(frame_started.elapsed());
        std::hint::black_box(primitives);
    }
    times.sort();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "frame CPU (UI pass + tessellation), {FRAMES} frames at 1500x950, 3 series x 1 h x 50 Hz, window 1 h:"
    );
    println!(
        "  p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        pick(1.0).as_secs_f64() * 1e3
    );
}
