//! The operator's screen: egui panels that read plain data and push [`UiAction`]s.
//!
//! It never opens a port or a file and never starts a thread: the app runs the actions at the
//! end of the frame.

pub mod attitude;
pub mod commands;
pub mod connection;
pub mod fly;
pub mod inspector;
pub mod library;
pub mod link;
pub mod logs;
pub mod map;
pub mod messages;
pub mod params;
pub mod plan;
pub mod plots;
pub mod privacy;
pub mod review;
pub mod theme;

use std::path::PathBuf;

use crate::link::{Baud, PortInfo};
use crate::protocol::frame::FramerStats;
use crate::session::LinkState;
use crate::vehicle::VehicleState;

pub use plots::{FieldKey, Plots};

/// What the operator asked for this frame; the app carries it out.
#[derive(Debug, Clone, PartialEq)]
pub enum UiAction {
    Connect {
        port: String,
        baud: Baud,
    },
    Disconnect,
    OpenFolder(PathBuf),
    /// Use the tiles at this path (folder or MBTiles file); empty: no tiles.
    LoadTiles(String),
    /// Turn privacy mode on (seals at once) or off (from the next start).
    SetPrivacy(bool),
    /// Use online map tiles (a network feature) or stop using them.
    OnlineTiles(bool),
    /// Read the network ledger again.
    RefreshLedger,
    /// Replay control of the flight under review.
    Replay(review::ReplayAction),
    /// Open a flight folder, a raw capture or any `.tlog` for review.
    OpenFlight(PathBuf),
    /// Ask for a file (or folder) to review with the system's dialog.
    PickFlight {
        folder: bool,
    },
    /// Ask for a `.tlog` to copy into the library.
    PickImport,
    /// Delete a flight folder (the operator confirmed).
    DeleteFlight(PathBuf),
    /// List the library's flights again.
    RefreshLibrary,
    ShowLibrary,
    ShowExport,
    /// Export the flight under review (asks where to save it).
    Export(library::ExportForm),
    /// Ask the vehicle for something (the operator confirmed by holding the control).
    Request(crate::protocol::services::Action),
    /// Show and command this vehicle (when several share the link).
    FollowVehicle(crate::protocol::services::Target),
    /// A file or vehicle operation of the plan view.
    Plan(plan::PlanAction),
    /// A file or vehicle operation of the parameters view.
    Params(params::ParamsAction),
    Logs(logs::LogsAction),
}

/// Everything the live screens show, kept by the app from session events.
#[derive(Debug, Clone)]
pub struct LiveView {
    pub vehicle: VehicleState,
    pub link_state: LinkState,
    pub flight_dir: Option<PathBuf>,
    pub recorded_bytes: u64,
    /// Why recording is paused (a full disk): headline, then the file and error.
    pub recording_paused: Option<String>,
    /// Link bytes the pauses of this session did not keep.
    pub not_kept_bytes: u64,
    /// With signing: what the received frames' signatures say.
    pub signing: Option<crate::protocol::signing::SigningStatus>,
    pub framing: FramerStats,
    /// The latest problems reported by the session, newest last.
    pub problems: Vec<String>,
    /// Monotonic time now on the session's clock, µs (for ages and rates).
    pub now_mono_us: u64,
    /// Wall-clock time now, µs since the epoch.
    pub now_wall_us: u64,
    /// Whether a session is running (connected or trying).
    pub session_running: bool,
    /// The network seal of this process.
    pub privacy: crate::privacy::SealState,
    /// The saved privacy choice (what the next start will do).
    pub privacy_saved_on: bool,
    /// The network ledger, as last read.
    pub ledger: Vec<crate::privacy::LedgerEntry>,
    /// The flight under review, when one is open (then the screens show it, not the link).
    pub review: Option<review::ReviewView>,
    /// A flight being opened: its path and how far its index is built (0..1).
    pub opening: Option<(String, f32)>,
    /// The flights in the data folder.
    pub library: Vec<library::LibraryRow>,
    /// The last export's outcome, in words.
    pub export_status: Option<String>,
    /// The operator's requests to the vehicle and how each went.
    pub requests: crate::vehicle::requests::RequestLog,
    /// The autopilots heard on the link (several vehicles may share one radio).
    pub autopilots: Vec<crate::protocol::services::Target>,
    /// The vehicle's mission, fence and rally points as last read from it or uploaded to it
    /// and verified (in a review: as the log says they were at the replayed time).
    pub vehicle_plan: crate::mission::Plan,
    /// The vehicle's parameters as last fetched (values updated by confirmed writes).
    pub vehicle_params: crate::params::ParamSet,
    /// The last fetch in words ("1354 of 1354 by ftp").
    pub params_fetch: Option<String>,
    /// The vehicle's onboard logs and their downloads.
    pub logs: logs::LogsView,
    /// The last write of each parameter: the value the vehicle confirmed, or why not.
    pub param_results: std::collections::BTreeMap<String, Result<f64, String>>,
}

impl Default for LiveView {
    fn default() -> Self {
        Self {
            vehicle: VehicleState::default(),
            link_state: LinkState::Disconnected,
            flight_dir: None,
            recorded_bytes: 0,
            recording_paused: None,
            not_kept_bytes: 0,
            signing: None,
            framing: FramerStats::default(),
            problems: Vec::new(),
            now_mono_us: 0,
            now_wall_us: 0,
            session_running: false,
            privacy: crate::privacy::SealState::NotEnforced("not initialised".into()),
            privacy_saved_on: true,
            ledger: Vec::new(),
            review: None,
            opening: None,
            library: Vec::new(),
            export_status: None,
            requests: Default::default(),
            autopilots: Vec::new(),
            vehicle_plan: Default::default(),
            vehicle_params: Default::default(),
            params_fetch: None,
            logs: Default::default(),
            param_results: Default::default(),
        }
    }
}

/// Which tab the right-hand panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SideTab {
    #[default]
    Inspector,
    Plan,
    Params,
    Logs,
    Link,
    Privacy,
}

/// Units for altitudes, distances and speeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Units {
    /// Metres, metres per second.
    #[default]
    Metric,
    /// Feet and knots (climb in feet per minute), as pilots use.
    Aviation,
    /// Feet and miles per hour.
    Imperial,
}

/// A unit: its symbol and its factor from SI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub symbol: &'static str,
    pub per_si: f64,
}

impl Unit {
    pub fn of(self, si: f64) -> f64 {
        si * self.per_si
    }
}

impl Units {
    pub const ALL: [Self; 3] = [Self::Metric, Self::Aviation, Self::Imperial];

    pub fn label(self) -> &'static str {
        match self {
            Self::Metric => "metric (m, m/s)",
            Self::Aviation => "aviation (ft, kn)",
            Self::Imperial => "imperial (ft, mph)",
        }
    }

    pub fn altitude(self) -> Unit {
        match self {
            Self::Metric => Unit {
                symbol: "m",
                per_si: 1.0,
            },
            Self::Aviation | Self::Imperial => Unit {
                symbol: "ft",
                per_si: 1.0 / 0.3048,
            },
        }
    }

    pub fn speed(self) -> Unit {
        match self {
            Self::Metric => Unit {
                symbol: "m/s",
                per_si: 1.0,
            },
            Self::Aviation => Unit {
                symbol: "kn",
                per_si: 3600.0 / 1852.0,
            },
            Self::Imperial => Unit {
                symbol: "mph",
                per_si: 3600.0 / 1609.344,
            },
        }
    }

    pub fn climb(self) -> Unit {
        match self {
            Self::Metric => Unit {
                symbol: "m/s",
                per_si: 1.0,
            },
            Self::Aviation => Unit {
                symbol: "ft/min",
                per_si: 60.0 / 0.3048,
            },
            Self::Imperial => Unit {
                symbol: "ft/s",
                per_si: 1.0 / 0.3048,
            },
        }
    }
}

/// UI settings that persist between runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UiSettings {
    pub port: String,
    pub baud: Baud,
    pub side_tab: SideTab,
    pub message_filter: String,
    /// Show only texts at or above this severity (0 emergency … 7 debug).
    pub min_severity: u8,
    pub plot_window_s: f64,
    pub map_follow: bool,
    /// Local map tiles: a folder of z/x/y tiles or an MBTiles file.
    pub tiles_path: String,
    /// Online tiles' URL template (used only with privacy off, when switched on).
    pub online_tiles_url: String,
    pub units: Units,
    /// A local `apm.pdef.xml` with the parameters' documentation.
    pub param_docs_path: String,
}

impl Default for UiSettings {
    fn default() -> Self {
        Self {
            port: String::new(),
            baud: Baud::Auto,
            side_tab: SideTab::Inspector,
            message_filter: String::new(),
            min_severity: 7,
            plot_window_s: 60.0,
            map_follow: true,
            tiles_path: String::new(),
            online_tiles_url: crate::tiles::OSM_URL.to_owned(),
            units: Units::Metric,
            param_docs_path: String::new(),
        }
    }
}

/// Per-run UI state (selections, map position) that is not worth persisting.
#[derive(Default)]
pub struct UiState {
    pub inspector_selected: Option<(u8, u8, u32)>,
    pub map_memory: walkers::MapMemory,
    /// The time under the pointer in the flight plot (shown on the timeline and the map).
    pub plot_cursor_us: Option<u64>,
    /// The flight plot's visible time range last frame (seconds since the first frame).
    pub flight_plot_x: Option<(f64, f64)>,
    pub show_library: bool,
    pub library_search: String,
    pub library_sort: library::Column,
    pub library_ascending: bool,
    pub library_recovered_only: bool,
    /// A flight the operator asked to delete, until confirmed or cancelled.
    pub confirm_delete: Option<PathBuf>,
    pub show_export: bool,
    pub export_form: library::ExportForm,
    /// A path typed into the library (for when no file dialog is available).
    pub library_path: String,
    /// The command bar's altitudes, mode choice and picked point.
    pub commands: commands::CommandBarState,
    /// The plan being edited.
    pub plan: plan::PlanState,
    pub params: params::ParamsState,
    pub logs: logs::LogsState,
}

/// What the app lends the screen for a frame besides the view: ports and map tiles.
pub struct Resources<'a> {
    pub ports: &'a [PortInfo],
    pub tiles: Option<&'a mut (dyn walkers::Tiles + 'static)>,
    pub tiles_status: &'a str,
}

/// Draws the whole live screen.
pub fn live_screen(
    ui: &mut egui::Ui,
    view: &LiveView,
    settings: &mut UiSettings,
    state: &mut UiState,
    plots: &mut Plots,
    resources: Resources<'_>,
    actions: &mut Vec<UiAction>,
) {
    let ports = resources.ports;
    egui::Panel::top("connection").show(ui, |ui| match &view.review {
        Some(review) => review::bar(ui, review, actions),
        None => connection::bar(ui, view, settings, ports, actions),
    });
    if view.review.is_none() {
        egui::Panel::top("commands").show(ui, |ui| {
            commands::bar(ui, view, &mut state.commands, actions);
        });
    }
    if let Some((path, done)) = &view.opening {
        egui::Panel::top("opening").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(format!("Opening {path}: indexing"));
                ui.add(egui::ProgressBar::new(*done).show_percentage());
            });
        });
    }
    egui::Panel::bottom("status").show(ui, |ui| {
        link::status_strip(ui, view);
    });
    if let Some(review) = &view.review {
        egui::Panel::bottom("timeline").show(ui, |ui| {
            review::timeline(ui, review, state, actions);
        });
    }
    let ctx = ui.ctx().clone();
    if state.show_library {
        library::window(&ctx, view, state, actions);
    }
    if state.show_export {
        library::export_window(&ctx, view, state, actions);
    }
    if let Some(path) = library::dropped_path(&ctx) {
        if crate::mission::Format::of_path(&path).is_some() {
            // A mission file goes to the plan view.
            settings.side_tab = SideTab::Plan;
            actions.push(UiAction::Plan(plan::PlanAction::Open(path)));
        } else {
            actions.push(UiAction::OpenFlight(path));
        }
    }
    egui::Panel::left("fly")
        .resizable(true)
        .default_size(300.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                fly::instruments(ui, view, settings.units);
                ui.add_space(8.0);
                let label = ui.label("Units");
                egui::ComboBox::from_id_salt("units")
                    .selected_text(settings.units.label())
                    .show_ui(ui, |ui| {
                        for units in Units::ALL {
                            ui.selectable_value(&mut settings.units, units, units.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
            });
        });
    egui::Panel::right("side")
        .resizable(true)
        .default_size(420.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut settings.side_tab, SideTab::Inspector, "Inspector");
                ui.selectable_value(&mut settings.side_tab, SideTab::Plan, "Plan");
                ui.selectable_value(&mut settings.side_tab, SideTab::Params, "Params");
                ui.selectable_value(&mut settings.side_tab, SideTab::Logs, "Logs");
                ui.selectable_value(&mut settings.side_tab, SideTab::Link, "Link");
                if ui
                    .selectable_value(&mut settings.side_tab, SideTab::Privacy, "Privacy")
                    .clicked()
                {
                    actions.push(UiAction::RefreshLedger);
                }
            });
            ui.separator();
            match settings.side_tab {
                SideTab::Inspector => inspector::panel(ui, view, state, settings, plots),
                SideTab::Plan => {
                    egui::ScrollArea::vertical()
                        .id_salt("plan-panel")
                        .show(ui, |ui| plan::panel(ui, view, &mut state.plan, actions));
                }
                SideTab::Params => params::panel(ui, view, &mut state.params, settings, actions),
                SideTab::Logs => logs::panel(ui, view, &mut state.logs, actions),
                SideTab::Link => link::panel(ui, view),
                SideTab::Privacy => privacy::panel(ui, view, actions),
            }
        });
    egui::Panel::bottom("messages")
        .resizable(true)
        .default_size(180.0)
        .show(ui, |ui| messages::panel(ui, view, settings));
    if let Some(review) = &view.review {
        if !plots.series.is_empty() {
            egui::Panel::bottom("flight-plot")
                .resizable(true)
                .default_size(240.0)
                .show(ui, |ui| {
                    review::flight_plot(ui, review, plots, state, actions)
                });
        }
    }
    let cursor = view.review.as_ref().and_then(|review| {
        let time = state.plot_cursor_us?;
        review.index.track_at(time).map(|p| (p.lat_deg, p.lon_deg))
    });
    let live = view.review.is_none();
    let plan_layer = if settings.side_tab == SideTab::Plan {
        plan::MapPlan::Edit(&mut state.plan, &view.vehicle_plan)
    } else {
        plan::MapPlan::Show(&view.vehicle_plan)
    };
    let map_tiles = map::MapTiles {
        plan: Some(plan_layer),
        tiles: resources.tiles,
        memory: &mut state.map_memory,
        status: resources.tiles_status,
        flight: view.review.as_ref().map(|r| r.index.track.as_slice()),
        cursor,
        target: commands::goto_target(view).filter(|_| live),
        go_here: live.then_some(&mut state.commands.go_here),
    };
    egui::CentralPanel::default_margins().show(ui, |ui| {
        map::panel(ui, view, settings, map_tiles, actions);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_conversions() {
        assert!((Units::Aviation.altitude().of(100.0) - 328.084).abs() < 1e-3);
        assert!((Units::Aviation.speed().of(10.0) - 19.438).abs() < 1e-3);
        assert!((Units::Imperial.speed().of(10.0) - 22.369).abs() < 1e-3);
        assert!((Units::Aviation.climb().of(1.0) - 196.85).abs() < 1e-2);
        assert_eq!(Units::Metric.speed().of(7.5), 7.5);
    }
}
