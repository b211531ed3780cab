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
use crate::review::export::{write_export, Export};
use crate::review::library::{FlightEntry, FlightFacts};
use crate::review::player::Player;
use crate::session::ports::PortWatcher;
use crate::session::{FlightDir, LinkState, SessionConfig, SessionEvent, SessionHandle};
use crate::sim::{self, PtyOptions};
use crate::tiles::{LocalTiles, TileSource};
use crate::ui::library::{ExportForm, ExportKind, LibraryRow};
use crate::ui::review::{PlotDetail, ReplayAction, ReviewView};
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
                    demo_pilot: true,
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
    /// Open this flight folder or log for review at once.
    pub open: Option<PathBuf>,
}

/// Most file bytes read (on a helper thread) for a zoomed-in plot; wider ranges keep the
/// overview, which is as detailed as the screen at those widths anyway.
const MAX_DETAIL_BYTES: u64 = 512 * 1024 * 1024;
/// Longest time a frame spends replaying.
const REPLAY_BUDGET: Duration = Duration::from_millis(8);

/// What a helper thread reports back to the UI.
enum Background {
    /// Indexing progress of the flight being opened (0..1).
    Opening(f32),
    Opened(Result<Box<Player>, String>),
    /// The operator chose a file in a dialog.
    Picked(Picked, PathBuf),
    Library(Vec<FlightEntry>),
    Facts(PathBuf, FlightFacts),
    /// Words for the export window or the problem strip.
    Status(String),
    /// A flight was imported into the library.
    Imported(PathBuf),
    /// A flight was deleted (or could not be): the library is listed again.
    Deleted,
    /// An export ended (its outcome in words).
    Exported(String),
    /// Every sample of the plotted fields over a range, for a zoomed-in plot of the review
    /// opened `n`-th.
    Detail(u64, PlotDetail),
}

/// What a file dialog was for.
enum Picked {
    Open,
    Import,
    Export(ExportForm),
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
    /// The flight under review.
    player: Option<Box<Player>>,
    /// When the replay clock last moved.
    last_tick: Option<Instant>,
    /// The range of plot samples being read on a helper thread.
    detail_pending: Option<(u64, u64)>,
    /// Counts the reviews opened, so that a helper's late answer for an earlier one is dropped.
    review_generation: u64,
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

    /// Where tlogs made from captures and indexes that cannot sit beside their log are kept.
    fn cache_dir(&self) -> PathBuf {
        self.flights_dir.with_file_name("review-cache")
    }

    /// Runs `work` on a helper thread; what it sends comes back through `drain_events`.
    fn in_background(
        &self,
        work: impl FnOnce(&crossbeam_channel::Sender<Background>) + Send + 'static,
    ) {
        let sender = self.background.0.clone();
        let ctx = self.ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("airlock-review".into())
            .spawn(move || {
                work(&sender);
                ctx.request_repaint();
            });
        if let Err(error) = spawned {
            self.background
                .0
                .send(Background::Status(format!(
                    "cannot start a helper thread: {error}"
                )))
                .ok();
        }
    }

    /// Opens a flight for review on a helper thread (building its index when needed).
    fn open_flight(&mut self, path: PathBuf) {
        if self.session.is_some() {
            self.problem(
                "disconnect before reviewing a flight: the live link is being recorded".to_owned(),
            );
            return;
        }
        self.view.opening = Some((path.display().to_string(), 0.0));
        let cache = self.cache_dir();
        let ctx = self.ctx.clone();
        self.in_background(move |sender| {
            let mut last = 0.0f32;
            let mut progress = |done: u64, total: u64| {
                let fraction = done as f32 / total.max(1) as f32;
                if fraction - last >= 0.01 {
                    last = fraction;
                    sender.send(Background::Opening(fraction)).ok();
                    ctx.request_repaint();
                }
            };
            let opened = Player::open(&path, &cache, &mut progress)
                .map(Box::new)
                .map_err(|error| error.to_string());
            sender.send(Background::Opened(opened)).ok();
        });
    }

    /// Shows a file dialog on a helper thread (it may block until the operator answers).
    fn pick(&self, what: Picked, folder: bool) {
        let flights = self.flights_dir.clone();
        self.in_background(move |sender| {
            let dialog = rfd::FileDialog::new().set_directory(&flights);
            let chosen = match &what {
                Picked::Export(form) => dialog
                    .add_filter(form.kind.extension(), &[form.kind.extension()])
                    .set_file_name(format!("flight.{}", form.kind.extension()))
                    .save_file(),
                _ if folder => dialog.pick_folder(),
                _ => dialog
                    .add_filter("telemetry logs", &["tlog", "alc"])
                    .pick_file(),
            };
            match chosen {
                Some(path) => {
                    sender.send(Background::Picked(what, path)).ok();
                }
                None => {
                    sender
                        .send(Background::Status(
                            "no file chosen (without a desktop file dialog, type the path in the library)"
                                .to_owned(),
                        ))
                        .ok();
                }
            }
        });
    }

    /// Lists the library's flights, then reads each one's facts from its index.
    fn refresh_library(&self) {
        let flights = self.flights_dir.clone();
        let cache = self.cache_dir();
        self.in_background(move |sender| {
            let entries = match crate::review::library::list_flights(&flights) {
                Ok(entries) => entries,
                Err(error) => {
                    sender
                        .send(Background::Status(format!(
                            "cannot list {}: {error}",
                            flights.display()
                        )))
                        .ok();
                    return;
                }
            };
            let dirs: Vec<PathBuf> = entries.iter().map(|e| e.dir.clone()).collect();
            sender.send(Background::Library(entries)).ok();
            for dir in dirs {
                if let Some(facts) = FlightFacts::of_flight(&dir, &cache) {
                    sender.send(Background::Facts(dir, facts)).ok();
                }
            }
        });
    }

    /// Writes an export of the flight under review to `path`, on a helper thread (the export
    /// window asks here once the operator chose where; so do the tests).
    pub fn export(&mut self, form: ExportForm, path: PathBuf) {
        let Some(player) = &self.player else { return };
        let source = player.source.clone();
        let start = player.index.start_us;
        let span = crate::review::frames::Span {
            from_us: start + (form.from_s.max(0.0) * 1e6) as u64,
            to_us: start + (form.to_s.max(0.0) * 1e6) as u64,
        };
        self.view.export_status = Some(format!("exporting to {} …", path.display()));
        self.in_background(move |sender| {
            let words = match export_to(&source, &form, span, &path) {
                Ok(done) => format!("wrote {done} to {}", path.display()),
                Err(error) => format!("export failed: {error:#}"),
            };
            sender.send(Background::Exported(words)).ok();
        });
    }

    /// Applies what helper threads reported.
    fn drain_background(&mut self) {
        while let Ok(report) = self.background.1.try_recv() {
            match report {
                Background::Opening(done) => {
                    if let Some((_, progress)) = &mut self.view.opening {
                        *progress = done;
                    }
                }
                Background::Opened(Ok(player)) => {
                    self.view.opening = None;
                    self.start_review(player);
                }
                Background::Opened(Err(error)) => {
                    self.view.opening = None;
                    self.problem(format!("cannot open the flight: {error}"));
                }
                Background::Picked(Picked::Open, path) => self.open_flight(path),
                Background::Picked(Picked::Import, path) => {
                    let flights = self.flights_dir.clone();
                    self.in_background(move |sender| {
                        let report = match crate::review::library::import_tlog(&path, &flights) {
                            Ok(dir) => Background::Imported(dir),
                            Err(error) => Background::Status(format!("cannot import: {error}")),
                        };
                        sender.send(report).ok();
                    });
                }
                Background::Picked(Picked::Export(form), path) => self.export(form, path),
                Background::Library(entries) => {
                    let mut facts: std::collections::HashMap<PathBuf, FlightFacts> = self
                        .view
                        .library
                        .drain(..)
                        .filter_map(|row| Some((row.entry.dir, row.facts?)))
                        .collect();
                    self.view.library = entries
                        .into_iter()
                        .map(|entry| LibraryRow {
                            facts: facts.remove(&entry.dir),
                            entry,
                        })
                        .collect();
                }
                Background::Facts(dir, facts) => {
                    if let Some(row) = self.view.library.iter_mut().find(|r| r.entry.dir == dir) {
                        row.facts = Some(facts);
                    }
                }
                Background::Status(words) => {
                    if self.ui_state.show_export {
                        self.view.export_status = Some(words);
                    } else {
                        self.problem(words);
                    }
                }
                Background::Detail(generation, detail) => {
                    if generation == self.review_generation {
                        self.detail_pending = None;
                        if let Some(review) = &mut self.view.review {
                            review.detail = Some(detail);
                        }
                    }
                }
                Background::Deleted => self.refresh_library(),
                Background::Exported(words) => {
                    self.view.export_status = Some(words.clone());
                    self.problem(words);
                }
                Background::Imported(dir) => {
                    self.problem(format!("imported into the library: {}", dir.display()));
                    self.refresh_library();
                }
            }
        }
    }

    /// Shows a freshly opened flight at its start.
    fn start_review(&mut self, mut player: Box<Player>) {
        let start = player.index.start_us;
        let vehicle = player.seek(start);
        self.view = LiveView {
            vehicle,
            review: Some(ReviewView {
                title: player.source.file_name().map_or_else(
                    || player.source.display().to_string(),
                    |name| name.to_string_lossy().into_owned(),
                ),
                path: player.source.display().to_string(),
                index: player.index.clone(),
                time_us: player.time_us,
                playing: false,
                speed: player.speed,
                notices: player.notices.clone(),
                detail: None,
            }),
            ..self.fresh_view()
        };
        self.ui_state.show_library = false;
        self.ui_state.map_memory = walkers::MapMemory::default();
        self.settings.map_follow = false;
        self.player = Some(player);
        self.last_tick = None;
        self.review_generation += 1;
        self.detail_pending = None;
    }

    /// Carries out a replay action (what the timeline's controls ask; the tests ask here).
    pub fn replay(&mut self, action: ReplayAction) {
        let Some(player) = self.player.as_mut() else {
            return;
        };
        match action {
            ReplayAction::Play => {
                if player.at_end() {
                    let start = player.index.start_us;
                    self.view.vehicle = player.seek(start);
                }
                player.playing = true;
                self.last_tick = Some(Instant::now());
            }
            ReplayAction::Pause => player.playing = false,
            ReplayAction::SetSpeed(speed) => player.speed = speed,
            ReplayAction::Seek(time_us) => {
                // The old state goes first, so that the new one reuses its memory.
                self.view.vehicle = VehicleState::new();
                self.view.vehicle = player.seek(time_us);
                crate::review::open::trim_heap();
            }
            ReplayAction::Step => {
                player.playing = false;
                if let Some(played) = player.step() {
                    self.view.vehicle.apply(
                        played.time_us,
                        played.time_us,
                        &played.header,
                        &played.message,
                    );
                }
            }
            ReplayAction::Detail { from_us, to_us } => {
                if self.detail_pending.is_some() {
                    // One read at a time; the plot asks again if the range moved meanwhile.
                    return;
                }
                let index = player.index.clone();
                let span = index.end_us.saturating_sub(index.start_us).max(1);
                let opened = player.opened.clone();
                let estimate = to_us.saturating_sub(from_us) as f64 / span as f64
                    * opened.bytes().len() as f64;
                if estimate as u64 > MAX_DETAIL_BYTES {
                    return;
                }
                let keys: Vec<ui::FieldKey> =
                    self.plots.series.iter().map(|s| s.key.clone()).collect();
                self.detail_pending = Some((from_us, to_us));
                let generation = self.review_generation;
                self.in_background(move |sender| {
                    let refs = ui::review::field_refs(&index, &keys);
                    let fields: Vec<_> = refs.iter().map(|(_, r)| *r).collect();
                    let bytes = opened.bytes();
                    let points = crate::review::plot::samples_releasing(
                        bytes,
                        &index,
                        &fields,
                        (from_us, to_us),
                        &mut |upto| opened.release(upto),
                    );
                    opened.release(usize::MAX);
                    crate::review::open::trim_heap();
                    let detail = PlotDetail {
                        from_us,
                        to_us,
                        fields: refs.into_iter().map(|(k, _)| k).collect(),
                        points,
                    };
                    sender.send(Background::Detail(generation, detail)).ok();
                });
            }
            ReplayAction::Close => {
                self.player = None;
                self.review_generation += 1;
                self.detail_pending = None;
                self.view = self.fresh_view();
                self.settings.map_follow = true;
            }
        }
        self.sync_review();
    }

    /// Moves the replay on by the time since the last frame.
    fn tick_replay(&mut self) {
        let Some(player) = self.player.as_mut() else {
            return;
        };
        let now = Instant::now();
        let elapsed = self.last_tick.map_or(Duration::ZERO, |last| now - last);
        self.last_tick = Some(now);
        let vehicle = &mut self.view.vehicle;
        player.advance(elapsed, REPLAY_BUDGET, &mut |played| {
            vehicle.apply(
                played.time_us,
                played.time_us,
                &played.header,
                &played.message,
            );
        });
        if player.playing {
            self.ctx.request_repaint();
        }
        self.sync_review();
    }

    /// Copies the replay's clock and settings into the view.
    fn sync_review(&mut self) {
        if let (Some(player), Some(review)) = (&self.player, &mut self.view.review) {
            review.time_us = player.time_us;
            review.playing = player.playing;
            review.speed = player.speed;
            self.view.now_mono_us = player.time_us;
            self.view.now_wall_us = player.time_us;
        }
    }

    /// Restores settings saved by an earlier run.
    pub fn load_settings(storage: Option<&dyn eframe::Storage>) -> UiSettings {
        storage
            .and_then(|storage| eframe::get_value(storage, SETTINGS_KEY))
            .unwrap_or_default()
    }

    fn connect(&mut self, port: String, baud: Baud) {
        self.disconnect();
        // A new flight starts with a fresh view.
        self.view = self.fresh_view();
        self.plots = Plots::default();
        self.clock = None;
        let config = SessionConfig {
            port,
            baud,
            flight_dir: FlightDir::Under(self.flights_dir.clone()),
            duration: None,
            act_as_gcs: true,
            forward: None,
            inject: None,
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

    /// Sends an operator's request to the vehicle; its outcome comes back as session events.
    fn request(&mut self, action: crate::protocol::services::Action) {
        let Some(session) = &self.session else {
            self.problem(format!("{}: not sent: not connected", action.describe()));
            return;
        };
        let id = session.request(crate::protocol::services::Request {
            target: None,
            action: action.clone(),
        });
        self.view.requests.asked(id, action, self.view.now_mono_us);
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
                if matches!(state, LinkState::Disconnected | LinkState::Failed { .. }) {
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
            SessionEvent::Service(event) => self.view.requests.apply(&event),
            SessionEvent::Closed(_) => {
                self.view.session_running = false;
                self.view.link_state = LinkState::Disconnected;
            }
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
            UiAction::Request(action) => self.request(action),
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
        if self.view.session_running || self.view.opening.is_some() {
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

/// Writes one export of the flight at `source`; returns what was written, in words.
fn export_to(
    source: &std::path::Path,
    form: &ExportForm,
    span: crate::review::frames::Span,
    path: &std::path::Path,
) -> anyhow::Result<String> {
    let opened = crate::review::open(source)?;
    let file = crate::capture::create_private_file(path)?;
    let mut out = std::io::BufWriter::new(file);
    let what = match form.kind {
        ExportKind::Csv => Export::Csv(&form.message_type),
        ExportKind::Tlog => Export::Tlog,
        ExportKind::Gpx => Export::Gpx,
        ExportKind::Kml => Export::Kml,
    };
    let name = source.display().to_string();
    Ok(write_export(
        &opened,
        what,
        span,
        &name,
        &mut |_, _| {},
        &mut out,
    )?)
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
