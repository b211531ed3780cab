//! Helpers shared by the tests that drive the real window headless through egui_kittest.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::time::{Duration, Instant};

use airlock::app::{AirlockApp, StartOptions};
use airlock::ui::UiSettings;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

pub type App = Option<AirlockApp>;

/// The whole app in a 1500 × 950 window, started with `options`.
pub fn harness(options: StartOptions) -> Harness<'static, App> {
    let mut harness = Harness::new_ui_state(
        move |ui, app: &mut App| {
            app.get_or_insert_with(|| {
                AirlockApp::new(ui.ctx(), UiSettings::default(), options.clone(), None)
            })
            .show(ui);
        },
        None,
    );
    harness.set_size(egui::vec2(1500.0, 950.0));
    harness
}

/// Options for a window that records into `flights`.
pub fn options(flights: &Path) -> StartOptions {
    StartOptions {
        flights_dir: flights.to_owned(),
        ..StartOptions::default()
    }
}

/// Runs frames until `found` holds, in real time (the data comes from other threads); on a
/// timeout it says what the app last reported.
pub fn run_until(
    harness: &mut Harness<'static, App>,
    what: &str,
    found: impl Fn(&Harness<'static, App>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        harness.step();
        if found(harness) {
            return;
        }
        if Instant::now() >= deadline {
            let problems = harness
                .state()
                .as_ref()
                .map(|app| app.view.problems.clone())
                .unwrap_or_default();
            panic!("timed out waiting for {what}; problems: {problems:?}");
        }
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Whether some widget's label contains `text`.
pub fn shows(harness: &Harness<'static, App>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// Like [`run_until`], with a longer deadline for things that take a flight's time.
pub fn run_until_within(
    harness: &mut Harness<'static, App>,
    what: &str,
    limit: Duration,
    found: impl Fn(&Harness<'static, App>) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !found(harness) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        harness.step();
        std::thread::sleep(Duration::from_millis(30));
    }
}

pub fn pointer(
    harness: &mut Harness<'static, App>,
    pos: egui::Pos2,
    button: egui::PointerButton,
    pressed: bool,
) {
    harness
        .input_mut()
        .events
        .push(egui::Event::PointerMoved(pos));
    harness.input_mut().events.push(egui::Event::PointerButton {
        pos,
        button,
        pressed,
        modifiers: egui::Modifiers::default(),
    });
}

/// Presses the control labelled `label`, holds it for `held_s` seconds of the UI's clock
/// (the harness moves it on by a fixed step a frame), and lets go.
pub fn hold_for(harness: &mut Harness<'static, App>, label: &str, held_s: f64) {
    let centre = harness.get_by_label(label).rect().center();
    pointer(harness, centre, egui::PointerButton::Primary, true);
    harness.step();
    let pressed_at = harness.ctx.input(|i| i.time);
    while harness.ctx.input(|i| i.time) - pressed_at < held_s {
        harness.step();
    }
    pointer(harness, centre, egui::PointerButton::Primary, false);
    harness.run_steps(2);
}

/// Holds a control long enough to send it.
pub fn hold(harness: &mut Harness<'static, App>, label: &str) {
    hold_for(harness, label, airlock::ui::commands::HOLD_S + 0.3);
}

/// A right-click at `pos`.
pub fn right_click(harness: &mut Harness<'static, App>, pos: egui::Pos2) {
    pointer(harness, pos, egui::PointerButton::Secondary, true);
    harness.step();
    pointer(harness, pos, egui::PointerButton::Secondary, false);
    harness.run_steps(3);
}
