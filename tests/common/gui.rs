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
