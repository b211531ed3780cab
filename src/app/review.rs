//! Reviewing stored flights from the window: opening (indexing on a helper thread), the
//! library, file dialogs, exports and the replay clock.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::AirlockApp;
use crate::review::export::{write_export, Export};
use crate::review::library::{FlightEntry, FlightFacts};
use crate::review::player::Player;
use crate::ui::library::{ExportForm, ExportKind, LibraryRow};
use crate::ui::review::{PlotDetail, ReplayAction, ReviewView};
use crate::ui::{self, LiveView};
use crate::vehicle::VehicleState;

/// Most file bytes read (on a helper thread) for a zoomed-in plot; wider ranges keep the
/// overview, which is as detailed as the screen at those widths anyway.
const MAX_DETAIL_BYTES: u64 = 512 * 1024 * 1024;
/// Longest time a frame spends replaying.
const REPLAY_BUDGET: Duration = Duration::from_millis(8);

/// What a helper thread reports back to the UI.
pub(super) enum Background {
    /// Indexing progress of the flight being opened (0..1).
    Opening(f32),
    Opened(Result<Box<Player>, String>),
    /// The operator chose a file in a dialog.
    Picked(Picked, PathBuf),
    Library(Vec<FlightEntry>),
    Facts(PathBuf, FlightFacts),
    Seal(PathBuf, crate::review::verify::Verdict),
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
    /// The operator chose a mission file to open or to save to.
    PlanPicked {
        path: PathBuf,
        save: bool,
    },
    PlanOpened(PathBuf, Box<crate::mission::Plan>),
    PlanSaved(PathBuf),
    /// Words about a mission file for the plan view.
    PlanStatus(String),
    /// The operator chose a parameter file to load or to save to.
    ParamsPicked {
        path: PathBuf,
        save: bool,
    },
    ParamsLoaded(PathBuf, Box<crate::params::ParamSet>),
    /// The parameter fetch kept with the flight under review (its generation), if any.
    ParamsOfFlight(
        u64,
        Result<Option<(PathBuf, Box<crate::params::ParamSet>)>, String>,
    ),
    /// Words about a parameter file for the parameters view.
    ParamsStatus(String),
    /// Parameter documentation read from a local metadata file.
    ParamDocs(Result<Box<crate::params::meta::ParamDocs>, String>),
    /// A log's file is open: the byte ranges already on disk.
    LogOpened(u16, Vec<(u32, u32)>),
    /// A log's download ended: complete (in words), or why not.
    LogKept(u16, Result<String, String>),
    /// Where this vehicle's logs are kept (once the folder exists), and what of each listed
    /// log is on this disk.
    LogsOnDisk(
        Option<PathBuf>,
        Vec<(
            crate::protocol::services::logs::LogEntry,
            crate::onboard::OnDisk,
        )>,
    ),
}

/// What a file dialog was for.
pub(super) enum Picked {
    Open,
    Import,
    Export(ExportForm),
}

impl AirlockApp {
    /// Where tlogs made from captures and indexes that cannot sit beside their log are kept.
    pub(super) fn cache_dir(&self) -> PathBuf {
        self.flights_dir.with_file_name("review-cache")
    }

    /// Runs `work` on a helper thread; what it sends comes back through `drain_events`.
    pub(super) fn in_background(
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
    pub(super) fn open_flight(&mut self, path: PathBuf) {
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
    pub(super) fn pick(&self, what: Picked, folder: bool) {
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
    pub(super) fn refresh_library(&self) {
        let flights = self.flights_dir.clone();
        let cache = self.cache_dir();
        let seal_key = self.seal.as_ref().map(|key| key.public().to_vec());
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
            let dirs: Vec<(PathBuf, bool)> = entries
                .iter()
                .map(|e| (e.dir.clone(), e.recording))
                .collect();
            sender.send(Background::Library(entries)).ok();
            for (dir, _) in &dirs {
                if let Some(facts) = FlightFacts::of_flight(dir, &cache) {
                    sender.send(Background::Facts(dir.clone(), facts)).ok();
                }
            }
            // Then each flight's seal (a flight still being recorded is not judged yet).
            let Some(key) = seal_key else { return };
            for (dir, recording) in dirs {
                if recording {
                    continue;
                }
                if let Ok(verdict) = crate::review::verify::verify(&dir, &key) {
                    sender.send(Background::Seal(dir, verdict)).ok();
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
    pub(super) fn drain_background(&mut self) {
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
                report @ (Background::PlanPicked { .. }
                | Background::PlanOpened(..)
                | Background::PlanSaved(_)
                | Background::PlanStatus(_)) => self.plan_background(report),
                report @ (Background::ParamsPicked { .. }
                | Background::ParamsLoaded(..)
                | Background::ParamsOfFlight(..)
                | Background::ParamsStatus(_)
                | Background::ParamDocs(_)) => self.params_background(report),
                Background::LogOpened(log_id, have) => self.log_opened(log_id, have),
                Background::LogKept(log_id, report) => self.log_kept(log_id, report),
                Background::LogsOnDisk(folder, states) => self.logs_on_disk(folder, states),
                Background::Library(entries) => {
                    let mut known: std::collections::HashMap<PathBuf, LibraryRow> = self
                        .view
                        .library
                        .drain(..)
                        .map(|row| (row.entry.dir.clone(), row))
                        .collect();
                    self.view.library = entries
                        .into_iter()
                        .map(|entry| {
                            let before = known.remove(&entry.dir);
                            LibraryRow {
                                facts: before.as_ref().and_then(|row| row.facts.clone()),
                                seal: before.and_then(|row| row.seal),
                                entry,
                            }
                        })
                        .collect();
                }
                Background::Facts(dir, facts) => {
                    if let Some(row) = self.view.library.iter_mut().find(|r| r.entry.dir == dir) {
                        row.facts = Some(facts);
                    }
                }
                Background::Seal(dir, verdict) => {
                    if let Some(row) = self.view.library.iter_mut().find(|r| r.entry.dir == dir) {
                        row.seal = Some(verdict);
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
    pub(super) fn start_review(&mut self, mut player: Box<Player>) {
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
        self.review_missions_shown = None;
        self.sync_review();
        self.review_generation += 1;
        self.detail_pending = None;
        // The parameters view shows the flight's own configuration, not what was staged live.
        self.ui_state.params.diff = None;
        self.ui_state.params.pending.clear();
        self.ui_state.params.status = None;
        self.read_params_of_flight();
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
    pub(super) fn tick_replay(&mut self) {
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
    pub(super) fn sync_review(&mut self) {
        if let (Some(player), Some(review)) = (&self.player, &mut self.view.review) {
            review.time_us = player.time_us;
            review.playing = player.playing;
            review.speed = player.speed;
            self.view.now_mono_us = player.time_us;
            self.view.now_wall_us = player.time_us;
            // The plan the vehicle held at the replayed time (rebuilt only when that changes).
            let missions = &player.index.missions;
            let known = missions.partition_point(|s| s.time_us <= player.time_us);
            if self.review_missions_shown != Some(known) {
                self.view.vehicle_plan = crate::mission::watch::plan_at(missions, player.time_us);
                self.review_missions_shown = Some(known);
            }
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
    let mut out = crate::capture::NewFile::create(path)?;
    let what = match form.kind {
        ExportKind::Csv => Export::Csv(&form.message_type),
        ExportKind::Tlog => Export::Tlog,
        ExportKind::Gpx => Export::Gpx,
        ExportKind::Kml => Export::Kml,
    };
    let name = source.display().to_string();
    let written = write_export(&opened, what, span, &name, &mut |_, _| {}, &mut out)?;
    out.commit()?;
    Ok(written)
}
