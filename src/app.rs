//! The eframe app: wires the live session, the demo vehicle and the port watcher to the UI.
//!
//! Persisted settings are one `#[serde(default)]` struct saved through eframe's storage; the
//! runtime handles (threads, channels) live beside it and are never saved. Each frame drains
//! session events with a time budget, draws, then carries out the UI's actions.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::capture::wall_clock_us;
use crate::link::{Baud, PortInfo};
use crate::privacy::{self, NetworkLedger, PrivacyConfig, SealState};
use crate::session::ports::PortWatcher;
use crate::session::{FlightDir, LinkState, SessionConfig, SessionEvent, SessionHandle};
use crate::sim::{self, PtyOptions};
use crate::tiles::{LocalTiles, TileSource};
use crate::ui::{self, LiveView, Plots, UiAction, UiSettings, UiState};
use crate::vehicle::VehicleState;

/// Key of the settings in eframe's storage.
const SETTINGS_KEY: &str = "airlock-settings";
/// Longest time a frame spends applying session events before drawing.
const EVENT_BUDGET: Duration = Duration::from_millis(6);
/// Problems kept for the status strip.
const MAX_PROBLEMS: usize = 20;
/// What the map says when it has no tiles.
const NO_TILES: &str = "offline grid — no tiles loaded";

/// The simulated vehicle of `--demo`, on its own thread and pseudo-terminal.
pub struct DemoVehicle {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The device path of its pseudo-terminal.
    pub device: String,
}

impl DemoVehicle {
    /// Starts the simulator and waits (briefly) for its device path.
    pub fn start(baud: u32) -> anyhow::Result<Self> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (path_tx, path_rx) = crossbeam_channel::bounded(1);
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("airlock-demo-vehicle".into())
            .spawn(move || {
                let options = PtyOptions {
                    baud,
                    faults: sim::Faults::default(),
                    seed: 1,
                    duration: None,
                };
                let result = sim::run_on_pty(
                    &options,
                    |path| {
                        let _ = path_tx.send(Ok(path.to_owned()));
                        Ok(())
                    },
                    || stopped.load(Ordering::Relaxed),
                );
                if let Err(error) = result {
                    let _ = path_tx.send(Err(error.to_string()));
                }
            })?;
        let device = path_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| anyhow::anyhow!("the demo vehicle did not start"))?
            .map_err(|error| anyhow::anyhow!("the demo vehicle failed: {error}"))?;
        Ok(Self {
            stop,
            thread: Some(thread),
            device,
        })
    }
}

impl Drop for DemoVehicle {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

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
}

/// The running app.
pub struct AirlockApp {
    pub settings: UiSettings,
    pub view: LiveView,
    pub plots: Plots,
    ui_state: UiState,
    ports: Vec<PortInfo>,
    flights_dir: PathBuf,
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
            session: None,
            port_watcher,
            saved_port,
            _demo: demo,
            clock: None,
            tiles: None,
            tiles_status: NO_TILES.to_owned(),
            privacy_config: options.privacy_config.clone(),
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
        if let Some((port, baud)) = options.connect_to {
            app.settings.port = port.clone();
            app.settings.baud = baud;
            app.connect(port, baud);
        }
        app
    }

    /// Restores settings saved by an earlier run.
    pub fn load_settings(storage: Option<&dyn eframe::Storage>) -> UiSettings {
        storage
            .and_then(|storage| eframe::get_value(storage, SETTINGS_KEY))
            .unwrap_or_default()
    }

    fn connect(&mut self, port: String, baud: Baud) {
        self.disconnect();
        // A new flight starts with a fresh view; the privacy state belongs to the process.
        self.view = LiveView {
            privacy: self.view.privacy.clone(),
            privacy_saved_on: self.view.privacy_saved_on,
            ledger: std::mem::take(&mut self.view.ledger),
            ..LiveView::default()
        };
        self.plots = Plots::default();
        self.clock = None;
        let config = SessionConfig {
            port,
            baud,
            flight_dir: FlightDir::Under(self.flights_dir.clone()),
            duration: None,
            act_as_gcs: true,
            forward: None,
        };
        let ctx = self.ctx.clone();
        match SessionHandle::spawn(config, Box::new(move || ctx.request_repaint())) {
            Ok(session) => {
                self.session = Some(session);
                self.view.session_running = true;
                self.view.link_state = LinkState::Connecting;
            }
            Err(error) => self.problem(format!("cannot start the link: {error}")),
        }
    }

    fn disconnect(&mut self) {
        if let Some(session) = self.session.take() {
            // Ask it to close its flight; its last events are drained on a helper thread so
            // the UI never waits for the files to be synced.
            session.request_stop();
            std::thread::spawn(move || drop(session));
        }
        self.view.session_running = false;
        self.view.link_state = LinkState::Disconnected;
    }

    fn load_tiles(&mut self, path: &str) {
        self.tiles = None;
        self.tiles_status = NO_TILES.to_owned();
        if path.is_empty() {
            return;
        }
        let opened = TileSource::from_path(std::path::Path::new(path))
            .and_then(|source| LocalTiles::open(&source, &self.ctx));
        match opened {
            Ok(tiles) => {
                self.tiles = Some(Box::new(tiles));
                self.tiles_status = format!("local tiles: {path}");
            }
            Err(error) => {
                self.tiles_status = format!("no tiles ({error})");
                self.problem(format!("map tiles: {error}"));
            }
        }
    }

    fn use_online_tiles(&mut self) {
        let url = self.settings.online_tiles_url.clone();
        let host = url.split('/').nth(2).unwrap_or(url.as_str()).to_owned();
        match privacy::request_permit("Online map tiles", &host) {
            Ok(permit) => {
                let cache = self.flights_dir.with_file_name("tile-cache");
                let tiles = crate::tiles::online_tiles(&url, cache, &self.ctx, &permit);
                self.tiles = Some(Box::new(tiles));
                self.tiles_status = format!("{}: {host}", crate::ui::map::ONLINE_PREFIX);
            }
            Err(refused) => self.problem(refused.to_string()),
        }
    }

    fn problem(&mut self, text: String) {
        self.view.problems.push(text);
        if self.view.problems.len() > MAX_PROBLEMS {
            self.view.problems.remove(0);
        }
    }

    /// Applies one session event to the live view (the tests and benchmarks feed events here).
    pub fn apply_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::FlightStarted(dir) => self.view.flight_dir = Some(dir),
            SessionEvent::Link(state) => {
                if matches!(state, LinkState::Connected { .. })
                    && matches!(self.view.link_state, LinkState::Lost { .. })
                {
                    self.view.vehicle.link.reconnects += 1;
                }
                if state == LinkState::Disconnected {
                    self.view.session_running = false;
                }
                self.view.link_state = state;
            }
            SessionEvent::Bytes { mono_us, rx, tx } => {
                self.clock = Some((mono_us, Instant::now()));
                self.view.vehicle.note_bytes(mono_us, rx, tx);
            }
            SessionEvent::Message {
                wall_us,
                mono_us,
                header,
                message,
            } => {
                self.clock = Some((mono_us, Instant::now()));
                self.view.vehicle.apply(wall_us, mono_us, &header, &message);
                self.plots.observe(
                    mono_us,
                    header.system_id,
                    header.component_id,
                    header.message_id,
                    &message,
                );
            }
            SessionEvent::Framing(stats) => self.view.framing = stats,
            SessionEvent::Recorded { bytes } => self.view.recorded_bytes = bytes,
            SessionEvent::Problem(text) => self.problem(text),
            SessionEvent::Closed(_) => {
                self.view.session_running = false;
                self.view.link_state = LinkState::Disconnected;
            }
        }
    }

    /// Applies queued session events, for at most the time budget.
    pub fn drain_events(&mut self) {
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
        if self.view.session_running {
            // Ages and rates move even when no bytes arrive.
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
    }

    pub fn vehicle(&self) -> &VehicleState {
        &self.view.vehicle
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

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let mut settings = self.settings.clone();
        if let Some(port) = &self.saved_port {
            settings.port = port.clone();
        }
        eframe::set_value(storage, SETTINGS_KEY, &settings);
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
            let settings = AirlockApp::load_settings(cc.storage);
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
