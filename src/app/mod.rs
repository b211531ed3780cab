//! The eframe app: wires the live session, the demo vehicle and the port watcher to the UI.
//!
//! Persisted settings are one `#[serde(default)]` struct kept in `window.json` in the config
//! folder, written whole (temporary file, rename) when they change; the runtime handles
//! (threads, channels) live beside it and are never saved. Each frame drains
//! session events with a time budget, draws, then carries out the UI's actions.

mod demo;
mod live;
mod logs;
mod params;
mod plan;
mod review;

pub use demo::DemoVehicle;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::capture::wall_clock_us;
use crate::link::{Baud, PortInfo};
use crate::privacy::{self, NetworkLedger, PrivacyConfig, SealState};
use crate::review::player::Player;
use crate::session::ports::PortWatcher;
use crate::session::SessionHandle;
use crate::ui::{self, LiveView, Plots, UiAction, UiSettings, UiState};
use crate::vehicle::VehicleState;
use review::{Background, Picked};

/// Least time between two writes of changed settings.
const SETTINGS_SAVE_INTERVAL: Duration = Duration::from_secs(2);
/// Longest time a frame spends applying session events before drawing.
const EVENT_BUDGET: Duration = Duration::from_millis(6);
/// Problems kept for the status strip.
const MAX_PROBLEMS: usize = 20;
/// What the map says when it has no tiles.
const NO_TILES: &str = "offline grid — no tiles loaded";

/// How the app starts.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Connect at once to this port.
    pub connect_to: Option<(String, Baud)>,
    /// Where flights are recorded.
    pub flights_dir: PathBuf,
    /// Map tiles to use instead of the saved choice.
    pub tiles: Option<PathBuf>,
    /// Where the privacy choice is saved (None: the switch only seals, saves nothing).
    pub privacy_config: Option<PathBuf>,
    /// Open this flight folder or log for review at once.
    pub open: Option<PathBuf>,
    /// For tests of the failure paths only: a fault every session's worker injects into itself.
    #[doc(hidden)]
    pub inject: Option<crate::session::InjectedFault>,
    /// Fields to plot as soon as a vehicle sends them: `MESSAGE.field` (`ATTITUDE.roll`).
    pub plots: Vec<String>,
    /// Where the window's settings are kept (None: nothing is saved).
    pub settings_file: Option<PathBuf>,
    /// MAVLink 2 signing for every connection (the key store's key, when one is set).
    pub signing: Option<crate::session::SigningSetup>,
    /// The key that seals every flight recorded (None: unsealed).
    pub seal: Option<std::sync::Arc<crate::capture::seal::SealKey>>,
}

/// The running app.
pub struct AirlockApp {
    pub settings: UiSettings,
    pub view: LiveView,
    pub plots: Plots,
    ui_state: UiState,
    ports: Vec<PortInfo>,
    flights_dir: PathBuf,
    /// MAVLink 2 signing for every connection.
    signing: Option<crate::session::SigningSetup>,
    seal: Option<std::sync::Arc<crate::capture::seal::SealKey>>,
    /// Where the settings are kept, what was last written (or failed), and when.
    settings_file: Option<PathBuf>,
    settings_saved: Option<UiSettings>,
    settings_tried: Instant,
    /// The settings write under way, and how it ended.
    settings_writing: Option<crossbeam_channel::Receiver<Result<(), String>>>,
    /// Plots asked for at start (`--plot`), made when their message is first heard.
    pending_plots: Vec<(String, String)>,
    session: Option<SessionHandle>,
    port_watcher: Option<PortWatcher>,
    /// Kept alive for the demo; dropped (stopped) with the app.
    _demo: Option<DemoVehicle>,
    /// The session clock: last event's monotonic time and when it arrived.
    clock: Option<(u64, Instant)>,
    tiles: Option<Box<dyn walkers::Tiles>>,
    tiles_status: String,
    /// The port to save in the settings (the demo's pseudo-terminal is not worth keeping).
    saved_port: Option<String>,
    privacy_config: Option<PathBuf>,
    /// See [`StartOptions::inject`].
    inject: Option<crate::session::InjectedFault>,
    /// The flight under review.
    player: Option<Box<Player>>,
    /// When the replay clock last moved.
    last_tick: Option<Instant>,
    /// The range of plot samples being read on a helper thread.
    detail_pending: Option<(u64, u64)>,
    /// Counts the reviews opened, so that a helper's late answer for an earlier one is dropped.
    review_generation: u64,
    /// The plan view's transfers with the vehicle.
    plan_transfers: plan::PlanTransfers,
    /// The logs tab's requests and downloads.
    log_work: logs::LogWork,
    /// How many of the review's mission snapshots the shown plan holds.
    review_missions_shown: Option<usize>,
    /// Helper threads' reports (opening, dialogs, library, exports).
    background: (
        crossbeam_channel::Sender<Background>,
        crossbeam_channel::Receiver<Background>,
    ),
    ctx: egui::Context,
}

impl AirlockApp {
    /// Builds the app; `settings` come from storage (or defaults).
    pub fn new(
        ctx: &egui::Context,
        settings: UiSettings,
        options: StartOptions,
        demo: Option<DemoVehicle>,
    ) -> Self {
        let waker_ctx = ctx.clone();
        let port_watcher = PortWatcher::spawn(Box::new(move || waker_ctx.request_repaint())).ok();
        let saved_port = demo.as_ref().map(|_| settings.port.clone());
        let mut app = Self {
            settings,
            view: LiveView::default(),
            plots: Plots::default(),
            ui_state: UiState::default(),
            ports: Vec::new(),
            flights_dir: options.flights_dir,
            inject: options.inject,
            settings_saved: None,
            settings_tried: Instant::now(),
            settings_writing: None,
            settings_file: options.settings_file.clone(),
            signing: options.signing.clone(),
            seal: options.seal.clone(),
            pending_plots: options
                .plots
                .iter()
                .filter_map(|plot| plot.split_once('.'))
                .map(|(message, field)| (message.to_uppercase(), field.to_owned()))
                .collect(),
            session: None,
            port_watcher,
            saved_port,
            _demo: demo,
            clock: None,
            tiles: None,
            tiles_status: NO_TILES.to_owned(),
            privacy_config: options.privacy_config.clone(),
            player: None,
            last_tick: None,
            detail_pending: None,
            review_generation: 0,
            plan_transfers: Default::default(),
            log_work: Default::default(),
            review_missions_shown: None,
            background: crossbeam_channel::unbounded(),
            ctx: ctx.clone(),
        };
        app.view.privacy = privacy::state();
        app.view.privacy_saved_on = app
            .privacy_config
            .as_deref()
            .map_or(app.view.privacy.privacy_on(), |path| {
                PrivacyConfig::load(path).privacy
            });
        if let Some(tiles) = &options.tiles {
            app.settings.tiles_path = tiles.to_string_lossy().into_owned();
        }
        let tiles_path = app.settings.tiles_path.clone();
        app.load_tiles(&tiles_path);
        let docs = app.settings.param_docs_path.trim().to_owned();
        if !docs.is_empty() {
            app.load_param_docs(docs.into());
        }
        if let Some((port, baud)) = options.connect_to {
            app.settings.port = port.clone();
            app.settings.baud = baud;
            app.connect(port, baud);
        }
        if let Some(path) = options.open {
            app.open_flight(path);
        }
        app
    }

    /// An empty view for a new flight or review, keeping what belongs to the process rather
    /// than to a flight: the privacy state, the ledger, the library.
    fn fresh_view(&mut self) -> LiveView {
        LiveView {
            privacy: self.view.privacy.clone(),
            privacy_saved_on: self.view.privacy_saved_on,
            ledger: std::mem::take(&mut self.view.ledger),
            library: std::mem::take(&mut self.view.library),
            ..LiveView::default()
        }
    }

    /// Restores settings saved by an earlier run: missing is the defaults; unreadable is the
    /// defaults with the reason on stderr (the file is replaced by the next save).
    pub fn load_settings(file: Option<&std::path::Path>) -> UiSettings {
        let Some(file) = file else {
            return UiSettings::default();
        };
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                eprintln!(
                    "airlock: {}: {error}; using the default settings",
                    file.display()
                );
                UiSettings::default()
            }),
            Err(_) => UiSettings::default(),
        }
    }

    /// The settings as they should be saved (the demo's port is not the operator's).
    fn settings_to_save(&self) -> UiSettings {
        let mut settings = self.settings.clone();
        if let Some(port) = &self.saved_port {
            settings.port = port.clone();
        }
        settings
    }

    /// Writes the settings when they changed (at most every 2 s; `now` on exit), whole or not
    /// at all, on a thread of its own: the write syncs to disk, which the UI never waits for.
    /// A failure is said once in the status strip (then tried again when they change).
    fn save_settings(&mut self, now: bool) {
        if let Some(done) = &self.settings_writing {
            match done.try_recv() {
                Ok(Err(error)) => {
                    self.settings_writing = None;
                    self.problem(format!("cannot save the window's settings: {error}"));
                }
                Ok(Ok(())) | Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    self.settings_writing = None
                }
                // One write at a time.
                Err(crossbeam_channel::TryRecvError::Empty) if !now => return,
                Err(crossbeam_channel::TryRecvError::Empty) => {}
            }
        }
        let Some(file) = self.settings_file.clone() else {
            return;
        };
        let settings = self.settings_to_save();
        if self.settings_saved.as_ref() == Some(&settings)
            || (!now && self.settings_tried.elapsed() < SETTINGS_SAVE_INTERVAL)
        {
            return;
        }
        self.settings_tried = Instant::now();
        // Plain data with string keys always serialises.
        let text = serde_json::to_vec_pretty(&settings).unwrap_or_default();
        self.settings_saved = Some(settings);
        let write = move || {
            file.parent()
                .map_or(Ok(()), crate::capture::create_private_dir)
                .and_then(|()| crate::capture::write_private_atomic(&file, &text))
                .map_err(|error| error.to_string())
        };
        if now {
            // The window is closing: nothing is left to keep responsive.
            if let Err(error) = write() {
                eprintln!("airlock: cannot save the window's settings: {error}");
            }
            return;
        }
        let (done, writing) = crossbeam_channel::bounded(1);
        let spawned = std::thread::Builder::new()
            .name("airlock-settings".into())
            .spawn(move || {
                let _ = done.send(write());
            });
        match spawned {
            Ok(_) => self.settings_writing = Some(writing),
            Err(error) => self.problem(format!("cannot save the window's settings: {error}")),
        }
    }

    fn problem(&mut self, text: String) {
        self.view.problems.push(text);
        if self.view.problems.len() > MAX_PROBLEMS {
            self.view.problems.remove(0);
        }
    }

    /// Applies queued session events, for at most the time budget.
    pub fn drain_events(&mut self) {
        self.drain_background();
        let started = Instant::now();
        while started.elapsed() < EVENT_BUDGET {
            let Some(session) = &self.session else { break };
            match session.events.try_recv() {
                Ok(event) => self.apply_event(event),
                Err(_) => break,
            }
        }
        if self.session.as_ref().is_some_and(|s| !s.events.is_empty()) {
            self.ctx.request_repaint();
        }
        if let Some(watcher) = &self.port_watcher {
            while let Ok(ports) = watcher.updates.try_recv() {
                self.ports = ports;
            }
        }
        self.view.now_mono_us = self
            .clock
            .map_or(0, |(mono_us, at)| mono_us + at.elapsed().as_micros() as u64);
        self.view.now_wall_us = wall_clock_us();
        self.tick_replay();
    }

    fn run(&mut self, action: UiAction) {
        match action {
            UiAction::Connect { port, baud } => self.connect(port, baud),
            UiAction::Disconnect => self.disconnect(),
            UiAction::LoadTiles(path) => self.load_tiles(&path),
            UiAction::SetPrivacy(on) => {
                if let Some(path) = &self.privacy_config {
                    if let Err(error) = (PrivacyConfig { privacy: on }).store(path) {
                        self.problem(format!("cannot save the privacy setting: {error}"));
                    }
                }
                self.view.privacy_saved_on = on;
                if on && !matches!(self.view.privacy, SealState::Sealed) {
                    self.view.privacy = privacy::seal_now();
                }
            }
            UiAction::OnlineTiles(on) => {
                if on {
                    self.use_online_tiles();
                } else {
                    let path = self.settings.tiles_path.clone();
                    self.load_tiles(&path);
                }
            }
            UiAction::RefreshLedger => {
                if let Some(path) = privacy::ledger_path() {
                    match NetworkLedger::new(path).read() {
                        Ok(entries) => self.view.ledger = entries,
                        Err(error) => {
                            self.problem(format!("cannot read the network ledger: {error}"))
                        }
                    }
                }
            }
            UiAction::Replay(action) => self.replay(action),
            UiAction::OpenFlight(path) => self.open_flight(path),
            UiAction::PickFlight { folder } => self.pick(Picked::Open, folder),
            UiAction::PickImport => self.pick(Picked::Import, false),
            UiAction::DeleteFlight(dir) => {
                let reviewing = self
                    .player
                    .as_ref()
                    .is_some_and(|p| p.source == dir || p.opened.file.starts_with(&dir));
                if reviewing {
                    self.problem("close the review of this flight before deleting it".to_owned());
                    return;
                }
                // A flight can be gigabytes of files: removed on a helper thread.
                self.in_background(move |sender| {
                    if let Err(error) = crate::review::library::delete_flight(&dir) {
                        let words = format!("cannot delete the flight: {error}");
                        sender.send(Background::Status(words)).ok();
                    }
                    sender.send(Background::Deleted).ok();
                });
            }
            UiAction::RefreshLibrary => self.refresh_library(),
            UiAction::ShowLibrary => {
                self.ui_state.show_library = true;
                self.refresh_library();
            }
            UiAction::ShowExport => {
                self.ui_state.show_export = true;
                self.view.export_status = None;
            }
            UiAction::Export(form) => self.pick(Picked::Export(form), false),
            UiAction::Request(action) => {
                self.request(action);
            }
            UiAction::Plan(action) => self.plan_action(action),
            UiAction::Params(action) => self.params_action(action),
            UiAction::Logs(action) => self.logs_action(action),
            UiAction::FollowVehicle(target) => self.follow_vehicle(target),
            UiAction::OpenFolder(dir) => {
                if let Err(error) = std::process::Command::new("xdg-open").arg(&dir).spawn() {
                    self.problem(format!("cannot open {}: {error}", dir.display()));
                }
            }
        }
    }

    /// The whole UI for one frame (also what the headless tests drive).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.drain_events();
        self.save_settings(false);
        let mut actions = Vec::new();
        let tiles = self.tiles.as_deref_mut();
        let resources = ui::Resources {
            ports: &self.ports,
            tiles,
            tiles_status: &self.tiles_status,
        };
        ui::live_screen(
            ui,
            &self.view,
            &mut self.settings,
            &mut self.ui_state,
            &mut self.plots,
            resources,
            &mut actions,
        );
        for action in actions {
            self.run(action);
        }
        if self.view.session_running || self.view.opening.is_some() {
            // Ages and rates move even when no bytes arrive.
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
    }

    pub fn vehicle(&self) -> &VehicleState {
        &self.view.vehicle
    }

    /// The plan in the plan view.
    pub fn plan(&self) -> &crate::mission::Plan {
        &self.ui_state.plan.plan
    }

    /// Shows the fields of one message stream in the inspector.
    pub fn select_stream(&mut self, key: (u8, u8, u32)) {
        self.ui_state.inspector_selected = Some(key);
    }
}

impl eframe::App for AirlockApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.save_settings(true);
    }
}

impl Drop for AirlockApp {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            session.stop();
        }
    }
}
/// Opens the window and runs until it is closed.
pub fn run_window(options: StartOptions, demo: bool) -> anyhow::Result<()> {
    let demo_vehicle = if demo {
        Some(DemoVehicle::start(57600)?)
    } else {
        None
    };
    let mut options = options;
    if let Some(demo) = &demo_vehicle {
        options.connect_to = Some((demo.device.clone(), Baud::Auto));
    }
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Airlock")
            .with_inner_size([1500.0, 900.0])
            .with_min_inner_size([900.0, 600.0]),
        ..Default::default()
    };
    eframe::run_native(
        "airlock",
        native,
        Box::new(move |cc| {
            close_on_signals(&cc.egui_ctx);
            let settings = AirlockApp::load_settings(options.settings_file.as_deref());
            Ok(Box::new(AirlockApp::new(
                &cc.egui_ctx,
                settings,
                options,
                demo_vehicle,
            )))
        }),
    )
    .map_err(|error| anyhow::anyhow!("cannot open the window: {error}"))
}

/// SIGINT or SIGTERM closes the window the normal way, so the flight is closed cleanly.
fn close_on_signals(ctx: &egui::Context) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let ctx = ctx.clone();
    let _ = std::thread::Builder::new()
        .name("airlock-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                ctx.request_repaint();
            }
        });
}
