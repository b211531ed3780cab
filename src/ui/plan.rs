//! The plan view: a mission, geofence and rally points edited on the map and in the side
//! panel, opened from and saved to the files other ground stations use, and sent to or read
//! from the vehicle (each confirmed by holding the control).
//!
//! On the map: with the waypoint tool a click adds a waypoint (the first click of an empty
//! mission adds a takeoff before it, as QGroundControl does); markers are dragged to move and
//! clicked to select; fence circles, polygons and rally points are drawn with their tools. Live,
//! the item the vehicle flies is highlighted and the items it reached are marked.
//! Every item's altitude frame is shown beside its altitude, never assumed.

use egui::{vec2, Color32, Pos2, RichText, Stroke};

use super::commands::hold_button;
use super::{theme, LiveView, UiAction};
use crate::mission::stats::{self, Stats};
use crate::mission::{FenceCircle, FencePolygon, MissionItem, Plan};
use crate::vehicle::MissionProgress;

/// Height of new items above home, metres, until the operator picks another.
pub const DEFAULT_ALT_M: f64 = 30.0;
/// Radius of a new fence circle, metres.
const DEFAULT_FENCE_RADIUS_M: f64 = 100.0;
/// MAV_FRAME numbers the editor offers (others are kept and shown by number).
const FRAME_GLOBAL: u8 = 0;
const FRAME_RELATIVE: u8 = 3;
const FRAME_TERRAIN: u8 = 10;
/// MAV_CMD numbers of the commands the editor offers.
const WAYPOINT: u16 = 16;
const LOITER_UNLIM: u16 = 17;
const LOITER_TURNS: u16 = 18;
const LOITER_TIME: u16 = 19;
const RETURN_TO_LAUNCH: u16 = 20;
const LAND: u16 = 21;
const TAKEOFF: u16 = 22;
const SPLINE_WAYPOINT: u16 = 82;
const DO_JUMP: u16 = 177;
const DO_CHANGE_SPEED: u16 = 178;
const OFFERED_COMMANDS: [u16; 10] = [
    WAYPOINT,
    TAKEOFF,
    LAND,
    RETURN_TO_LAUNCH,
    LOITER_TIME,
    LOITER_TURNS,
    LOITER_UNLIM,
    SPLINE_WAYPOINT,
    DO_CHANGE_SPEED,
    DO_JUMP,
];
const MARKER_RADIUS: f32 = 10.0;
const MISSION_COLOUR: Color32 = Color32::from_rgb(90, 200, 250);
const REACHED_COLOUR: Color32 = Color32::from_rgb(80, 190, 110);
const RALLY_COLOUR: Color32 = Color32::from_rgb(200, 120, 255);
const INCLUSION_COLOUR: Color32 = Color32::from_rgb(90, 220, 120);
const EXCLUSION_COLOUR: Color32 = Color32::from_rgb(240, 80, 80);

/// What a click on the map adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    #[default]
    Waypoint,
    Rally,
    FenceCircle,
    FencePolygon,
    /// Clicks only select; markers still drag.
    Select,
}

impl Tool {
    const ALL: [Self; 5] = [
        Self::Waypoint,
        Self::Rally,
        Self::FenceCircle,
        Self::FencePolygon,
        Self::Select,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Waypoint => "Waypoint",
            Self::Rally => "Rally",
            Self::FenceCircle => "Fence circle",
            Self::FencePolygon => "Fence polygon",
            Self::Select => "Select",
        }
    }
}

/// The plan being edited and the editor's choices.
#[derive(Debug, Clone)]
pub struct PlanState {
    pub plan: Plan,
    /// Index into the plan's items (item number − 1).
    pub selected: Option<usize>,
    pub tool: Tool,
    /// Altitude and frame of new items.
    pub new_alt_m: f64,
    pub new_frame: u8,
    pub fence_radius_m: f64,
    pub fence_inclusion: bool,
    /// Vertices of a fence polygon being drawn.
    pub drawing: Vec<(f64, f64)>,
    /// A path typed in (for when no file dialog is available).
    pub path: String,
    /// The last file operation, in words.
    pub status: Option<String>,
    /// Changed since it was opened, saved, uploaded or downloaded.
    pub dirty: bool,
}

impl Default for PlanState {
    fn default() -> Self {
        Self {
            plan: Plan::default(),
            selected: None,
            tool: Tool::default(),
            new_alt_m: DEFAULT_ALT_M,
            new_frame: FRAME_RELATIVE,
            fence_radius_m: DEFAULT_FENCE_RADIUS_M,
            fence_inclusion: true,
            drawing: Vec::new(),
            path: String::new(),
            status: None,
            dirty: false,
        }
    }
}

/// What the plan view asks the app for.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanAction {
    /// Choose a file with the system's dialog and open it.
    PickOpen,
    /// Choose where to save with the system's dialog (the extension says the format).
    PickSave,
    Open(std::path::PathBuf),
    Save(std::path::PathBuf),
    /// Send the mission, fence and rally points to the vehicle and read them back.
    Upload,
    /// Read the vehicle's mission, fence and rally points into the editor.
    Download,
    /// Remove the vehicle's mission, fence and rally points.
    Clear,
}

/// A frame's short name, as shown beside an altitude.
pub fn frame_name(frame: u8) -> String {
    match frame {
        0 | 5 => "AMSL".to_owned(),
        3 | 6 => "above home".to_owned(),
        10 | 11 => "above terrain".to_owned(),
        2 => "mission".to_owned(),
        other => format!("frame {other}"),
    }
}

/// An item's one-line summary for the list.
fn summary(item: &MissionItem) -> String {
    let name = stats::command_name(item.command);
    match item.command {
        DO_JUMP => format!("{name} to {} x{}", item.params[0], item.params[1]),
        DO_CHANGE_SPEED => format!("{name} {} m/s", item.params[1]),
        _ if item.command < 100 => format!("{name} {:.1} m {}", item.z, frame_name(item.frame)),
        _ => name,
    }
}

fn positioned(item: &MissionItem) -> bool {
    stats::has_position(item)
}

impl PlanState {
    /// Adds what the current tool adds at `lat`, `lon`.
    pub fn click(&mut self, lat: f64, lon: f64) {
        match self.tool {
            Tool::Waypoint => {
                if self.plan.items.is_empty() {
                    // As QGroundControl does: a mission starts with a takeoff.
                    self.plan.items.push(MissionItem::new(
                        TAKEOFF,
                        self.new_frame,
                        0.0,
                        0.0,
                        self.new_alt_m,
                    ));
                }
                let at = self.selected.map_or(self.plan.items.len(), |i| i + 1);
                let at = at.min(self.plan.items.len());
                self.plan.items.insert(
                    at,
                    MissionItem::new(WAYPOINT, self.new_frame, lat, lon, self.new_alt_m),
                );
                self.selected = Some(at);
            }
            Tool::Rally => self.plan.rally.push((lat, lon, self.new_alt_m)),
            Tool::FenceCircle => self.plan.fence.circles.push(FenceCircle {
                lat_deg: lat,
                lon_deg: lon,
                radius_m: self.fence_radius_m,
                inclusion: self.fence_inclusion,
            }),
            Tool::FencePolygon => {
                self.drawing.push((lat, lon));
                return;
            }
            Tool::Select => {
                self.selected = None;
                return;
            }
        }
        self.changed();
    }

    /// Ends the fence polygon being drawn (three vertices at least).
    pub fn finish_polygon(&mut self) {
        if self.drawing.len() >= 3 {
            self.plan.fence.polygons.push(FencePolygon {
                vertices: std::mem::take(&mut self.drawing),
                inclusion: self.fence_inclusion,
            });
            self.changed();
        }
        self.drawing.clear();
    }

    fn changed(&mut self) {
        self.dirty = true;
        // Generated blocks are written back only while their items are as generated; the
        // plan file writer checks that.
    }

    /// Moves item `index` by `by` places (−1 up, +1 down).
    fn shift(&mut self, index: usize, by: isize) {
        let Some(to) = index.checked_add_signed(by) else {
            return;
        };
        if to < self.plan.items.len() {
            self.plan.items.swap(index, to);
            self.selected = Some(to);
            self.changed();
        }
    }

    fn delete(&mut self, index: usize) {
        if index < self.plan.items.len() {
            self.plan.items.remove(index);
            self.selected = if self.plan.items.is_empty() {
                None
            } else {
                Some(index.min(self.plan.items.len() - 1))
            };
            self.changed();
        }
    }

    /// A copy of item `index` after it (a waypoint halfway to the next one when both have
    /// positions).
    fn insert_after(&mut self, index: usize) {
        let Some(item) = self.plan.items.get(index) else {
            return;
        };
        let mut new = MissionItem::new(WAYPOINT, item.frame, item.x, item.y, item.z);
        if let Some(next) = self.plan.items.get(index + 1).filter(|n| positioned(n)) {
            if positioned(item) {
                new.x = (item.x + next.x) / 2.0;
                new.y = (item.y + next.y) / 2.0;
            }
        }
        self.plan.items.insert(index + 1, new);
        self.selected = Some(index + 1);
        self.changed();
    }
}

/// How the map shows a plan: to look at, or to edit.
pub enum MapPlan<'a> {
    Show(&'a Plan),
    /// The plan being edited, over the vehicle's own (drawn faintly when they differ).
    Edit(&'a mut PlanState, &'a Plan),
}

/// Draws a plan on a map; editing, lets the operator change it there. `project` puts a
/// latitude and longitude on the screen, `unproject` does the reverse; `response` is the map's.
pub fn on_map(
    ui: &mut egui::Ui,
    response: &egui::Response,
    project: &dyn Fn(f64, f64) -> Pos2,
    unproject: &dyn Fn(Pos2) -> (f64, f64),
    layer: MapPlan<'_>,
    progress: &MissionProgress,
) {
    match layer {
        MapPlan::Show(plan) => draw(ui, project, plan, None, &[], progress),
        MapPlan::Edit(state, on_vehicle) => {
            if !on_vehicle.items.is_empty() && on_vehicle.items != state.plan.items {
                draw_ghost(ui, project, on_vehicle);
            }
            let mut grabbed = false;
            for index in 0..state.plan.items.len() {
                let item = &state.plan.items[index];
                if !positioned(item) {
                    continue;
                }
                let at = project(item.x, item.y);
                let marker = ui.interact(
                    egui::Rect::from_center_size(at, vec2(2.4, 2.4) * MARKER_RADIUS),
                    response.id.with(("plan-item", index)),
                    egui::Sense::click_and_drag(),
                );
                if marker.clicked() || marker.drag_started() {
                    state.selected = Some(index);
                }
                if marker.dragged() {
                    if let Some(pointer) = marker.interact_pointer_pos() {
                        let (lat, lon) = unproject(pointer);
                        let item = &mut state.plan.items[index];
                        item.x = lat;
                        item.y = lon;
                        state.dirty = true;
                    }
                }
                grabbed |= marker.hovered() || marker.dragged();
                marker.on_hover_text(format!(
                    "{}: {} (drag to move)",
                    index + 1,
                    summary(&state.plan.items[index])
                ));
            }
            for index in 0..state.plan.rally.len() {
                let (lat, lon, _) = state.plan.rally[index];
                let marker = ui.interact(
                    egui::Rect::from_center_size(project(lat, lon), vec2(2.4, 2.4) * MARKER_RADIUS),
                    response.id.with(("plan-rally", index)),
                    egui::Sense::drag(),
                );
                if marker.dragged() {
                    if let Some(pointer) = marker.interact_pointer_pos() {
                        let (lat, lon) = unproject(pointer);
                        state.plan.rally[index].0 = lat;
                        state.plan.rally[index].1 = lon;
                        state.dirty = true;
                    }
                }
                grabbed |= marker.hovered() || marker.dragged();
            }
            if response.clicked() && !grabbed {
                if let Some(pointer) = response.interact_pointer_pos() {
                    let (lat, lon) = unproject(pointer);
                    state.click(lat, lon);
                }
            }
            draw(
                ui,
                project,
                &state.plan,
                state.selected,
                &state.drawing,
                progress,
            );
        }
    }
}

/// The vehicle's mission, faint, under the one being edited.
fn draw_ghost(ui: &egui::Ui, project: &dyn Fn(f64, f64) -> Pos2, plan: &Plan) {
    let colour = Color32::from_gray(140).gamma_multiply(0.6);
    let points: Vec<Pos2> = plan
        .items
        .iter()
        .filter(|item| positioned(item))
        .map(|item| project(item.x, item.y))
        .collect();
    for point in &points {
        ui.painter()
            .circle_stroke(*point, 5.0, Stroke::new(1.5, colour));
    }
    ui.painter().add(egui::Shape::dashed_line(
        &points,
        Stroke::new(1.5, colour),
        6.0,
        4.0,
    ));
}

/// Pixels per metre near `(lat, lon)` on this projection.
fn pixels_per_m(project: &dyn Fn(f64, f64) -> Pos2, lat: f64, lon: f64) -> f32 {
    let north = lat + (100.0 / 6_371_008.8f64).to_degrees();
    (project(north, lon) - project(lat, lon)).length() / 100.0
}

fn draw(
    ui: &egui::Ui,
    project: &dyn Fn(f64, f64) -> Pos2,
    plan: &Plan,
    selected: Option<usize>,
    drawing: &[(f64, f64)],
    progress: &MissionProgress,
) {
    let painter = ui.painter();
    for circle in &plan.fence.circles {
        let centre = project(circle.lat_deg, circle.lon_deg);
        let radius = circle.radius_m as f32 * pixels_per_m(project, circle.lat_deg, circle.lon_deg);
        let colour = if circle.inclusion {
            INCLUSION_COLOUR
        } else {
            EXCLUSION_COLOUR
        };
        painter.circle(
            centre,
            radius,
            colour.gamma_multiply(0.08),
            Stroke::new(2.0, colour),
        );
    }
    for polygon in &plan.fence.polygons {
        let colour = if polygon.inclusion {
            INCLUSION_COLOUR
        } else {
            EXCLUSION_COLOUR
        };
        let mut points: Vec<Pos2> = polygon
            .vertices
            .iter()
            .map(|(lat, lon)| project(*lat, *lon))
            .collect();
        if let Some(first) = points.first().copied() {
            points.push(first);
        }
        painter.add(egui::Shape::line(points, Stroke::new(2.0, colour)));
    }
    if !drawing.is_empty() {
        let points: Vec<Pos2> = drawing
            .iter()
            .map(|(lat, lon)| project(*lat, *lon))
            .collect();
        for point in &points {
            painter.circle_filled(*point, 4.0, Color32::WHITE);
        }
        painter.add(egui::Shape::dashed_line(
            &points,
            Stroke::new(2.0, Color32::WHITE),
            8.0,
            5.0,
        ));
    }
    // The path: home, then every item with a position.
    let mut path: Vec<Pos2> = plan
        .home
        .iter()
        .filter(|home| positioned(home))
        .map(|home| project(home.x, home.y))
        .collect();
    path.extend(
        plan.items
            .iter()
            .filter(|item| positioned(item))
            .map(|item| project(item.x, item.y)),
    );
    if path.len() >= 2 {
        painter.add(egui::Shape::line(path, Stroke::new(2.5, MISSION_COLOUR)));
    }
    for (index, item) in plan.items.iter().enumerate() {
        if !positioned(item) {
            continue;
        }
        let seq = u16::try_from(index + 1).unwrap_or(u16::MAX);
        let at = project(item.x, item.y);
        let current = progress.current == Some(seq);
        let reached = progress.reached.contains(&seq);
        let fill = if current {
            theme::WARN
        } else if reached {
            REACHED_COLOUR
        } else {
            Color32::from_rgb(20, 70, 110)
        };
        let radius = if current {
            MARKER_RADIUS + 3.0
        } else {
            MARKER_RADIUS
        };
        let ring = if selected == Some(index) {
            Stroke::new(3.0, Color32::WHITE)
        } else {
            Stroke::new(1.5, MISSION_COLOUR)
        };
        painter.circle(at, radius, fill, ring);
        painter.text(
            at,
            egui::Align2::CENTER_CENTER,
            format!("{}", index + 1),
            egui::FontId::proportional(12.0),
            if current {
                Color32::BLACK
            } else {
                Color32::WHITE
            },
        );
    }
    for (lat, lon, _) in &plan.rally {
        let at = project(*lat, *lon);
        painter.circle(
            at,
            MARKER_RADIUS,
            RALLY_COLOUR,
            Stroke::new(1.5, Color32::WHITE),
        );
        painter.text(
            at,
            egui::Align2::CENTER_CENTER,
            "R",
            egui::FontId::proportional(12.0),
            Color32::WHITE,
        );
    }
}

/// The latest mission transfers and how they went, newest last.
fn transfer_lines(view: &LiveView) -> Vec<String> {
    use crate::protocol::services::Action;
    view.requests
        .entries
        .iter()
        .filter(|entry| {
            matches!(
                entry.action,
                Action::UploadMission { .. }
                    | Action::DownloadMission { .. }
                    | Action::ClearMission { .. }
                    | Action::SetMissionCurrent { .. }
            )
        })
        .rev()
        .take(3)
        .map(|entry| entry.words())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// The plan tab of the side panel.
pub fn panel(
    ui: &mut egui::Ui,
    view: &LiveView,
    state: &mut PlanState,
    actions: &mut Vec<UiAction>,
) {
    let push = |actions: &mut Vec<UiAction>, action| actions.push(UiAction::Plan(action));
    ui.horizontal_wrapped(|ui| {
        if ui.button("Open…").clicked() {
            push(actions, PlanAction::PickOpen);
        }
        if ui.button("Save as…").clicked() {
            push(actions, PlanAction::PickSave);
        }
        let label = ui.label("File");
        ui.add(
            egui::TextEdit::singleline(&mut state.path)
                .hint_text(".plan or .waypoints path")
                .desired_width(170.0),
        )
        .labelled_by(label.id);
        let path = state.path.trim();
        if ui
            .add_enabled(!path.is_empty(), egui::Button::new("Open"))
            .clicked()
        {
            push(actions, PlanAction::Open(path.into()));
        }
        if ui
            .add_enabled(!path.is_empty(), egui::Button::new("Save"))
            .clicked()
        {
            push(actions, PlanAction::Save(path.into()));
        }
    });
    if let Some(status) = &state.status {
        ui.label(RichText::new(status).color(theme::MUTED));
    }
    ui.separator();
    let connected = view.session_running && view.vehicle.status.is_some();
    ui.add_enabled_ui(connected, |ui| {
        ui.horizontal(|ui| {
            ui.strong("Vehicle");
            if hold_button(ui, "Upload", "UPLOAD this plan to the vehicle", false) {
                push(actions, PlanAction::Upload);
            }
            if hold_button(
                ui,
                "Download",
                "DOWNLOAD the vehicle's plan, replacing this one",
                false,
            ) {
                push(actions, PlanAction::Download);
            }
            if hold_button(
                ui,
                "Clear vehicle",
                "CLEAR the vehicle's mission, fence and rally points",
                true,
            ) {
                push(actions, PlanAction::Clear);
            }
        });
    });
    for line in transfer_lines(view) {
        ui.label(RichText::new(line).monospace());
    }
    let progress = &view.vehicle.mission;
    if let Some(current) = progress.current {
        let total = progress.total.map_or(String::new(), |t| format!(" of {t}"));
        ui.label(format!(
            "Vehicle at item {current}{total}{}",
            if progress.active {
                " (flying the mission)"
            } else {
                ""
            }
        ));
    }
    ui.separator();
    ui.horizontal_wrapped(|ui| {
        ui.label("Click adds");
        for tool in Tool::ALL {
            if ui
                .selectable_value(&mut state.tool, tool, tool.label())
                .changed()
                && tool != Tool::FencePolygon
            {
                state.drawing.clear();
            }
        }
    });
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("New items at");
        ui.add(
            egui::DragValue::new(&mut state.new_alt_m)
                .range(0.0..=10_000.0)
                .suffix(" m"),
        )
        .labelled_by(label.id);
        frame_menu(ui, "new-frame", &mut state.new_frame);
        match state.tool {
            Tool::FenceCircle | Tool::FencePolygon => {
                ui.checkbox(&mut state.fence_inclusion, "inclusion");
                if state.tool == Tool::FenceCircle {
                    let label = ui.label("radius");
                    ui.add(
                        egui::DragValue::new(&mut state.fence_radius_m)
                            .range(1.0..=100_000.0)
                            .suffix(" m"),
                    )
                    .labelled_by(label.id);
                }
            }
            _ => {}
        }
    });
    if state.tool == Tool::FencePolygon {
        ui.horizontal(|ui| {
            ui.label(format!("{} vertices", state.drawing.len()));
            if ui
                .add_enabled(
                    state.drawing.len() >= 3,
                    egui::Button::new("Finish polygon"),
                )
                .clicked()
            {
                state.finish_polygon();
            }
            if ui.button("Cancel").clicked() {
                state.drawing.clear();
            }
        });
    }
    ui.separator();
    item_list(ui, state, progress);
    if let Some(index) = state.selected.filter(|i| *i < state.plan.items.len()) {
        ui.separator();
        item_editor(ui, state, index);
    }
    ui.separator();
    fence_and_rally(ui, state);
    ui.separator();
    statistics(ui, &state.plan);
}

fn frame_menu(ui: &mut egui::Ui, salt: &str, frame: &mut u8) -> bool {
    let before = *frame;
    egui::ComboBox::from_id_salt(salt)
        .selected_text(frame_name(*frame))
        .show_ui(ui, |ui| {
            for offered in [FRAME_RELATIVE, FRAME_GLOBAL, FRAME_TERRAIN] {
                ui.selectable_value(frame, offered, frame_name(offered));
            }
        });
    *frame != before
}

fn item_list(ui: &mut egui::Ui, state: &mut PlanState, progress: &MissionProgress) {
    ui.horizontal(|ui| {
        ui.strong(format!("Mission: {} items", state.plan.items.len()));
        if let Some(home) = &state.plan.home {
            ui.label(
                RichText::new(format!("home {:.6}, {:.6}", home.x, home.y)).color(theme::MUTED),
            );
        }
    });
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .id_salt("plan-items")
        .max_height(220.0)
        .show(ui, |ui| {
            for (index, item) in state.plan.items.iter().enumerate() {
                let seq = u16::try_from(index + 1).unwrap_or(u16::MAX);
                let mark = if progress.current == Some(seq) {
                    "now "
                } else if progress.reached.contains(&seq) {
                    "done"
                } else {
                    "    "
                };
                let text = format!("{mark} {:>3}  {}", index + 1, summary(item));
                let mut text = RichText::new(text).monospace();
                if progress.current == Some(seq) {
                    text = text.color(theme::WARN);
                }
                if ui
                    .selectable_label(state.selected == Some(index), text)
                    .clicked()
                {
                    clicked = Some(index);
                }
            }
        });
    if let Some(index) = clicked {
        state.selected = Some(index);
    }
    if let Some(index) = state.selected.filter(|i| *i < state.plan.items.len()) {
        ui.horizontal(|ui| {
            if ui.button("Up").clicked() {
                state.shift(index, -1);
            }
            if ui.button("Down").clicked() {
                state.shift(index, 1);
            }
            if ui.button("Insert after").clicked() {
                state.insert_after(index);
            }
            if ui.button("Delete").clicked() {
                state.delete(index);
            }
        });
    }
}

fn item_editor(ui: &mut egui::Ui, state: &mut PlanState, index: usize) {
    let item = &mut state.plan.items[index];
    let mut changed = false;
    ui.strong(format!("Item {}", index + 1));
    egui::Grid::new("plan-item-editor")
        .num_columns(2)
        .show(ui, |ui| {
            let label = ui.label("Command");
            let before = item.command;
            egui::ComboBox::from_id_salt("plan-command")
                .selected_text(stats::command_name(item.command))
                .show_ui(ui, |ui| {
                    for command in OFFERED_COMMANDS {
                        ui.selectable_value(
                            &mut item.command,
                            command,
                            stats::command_name(command),
                        );
                    }
                })
                .response
                .labelled_by(label.id);
            changed |= item.command != before;
            ui.end_row();
            let label = ui.label("Frame");
            changed |= frame_menu(ui, "plan-frame", &mut item.frame);
            let _ = label;
            ui.end_row();
            let label = ui.label("Altitude");
            changed |= ui
                .add(egui::DragValue::new(&mut item.z).speed(0.5).suffix(" m"))
                .labelled_by(label.id)
                .changed();
            ui.end_row();
            let label = ui.label("Latitude");
            changed |= ui
                .add(
                    egui::DragValue::new(&mut item.x)
                        .speed(1e-6)
                        .max_decimals(7)
                        .suffix("°"),
                )
                .labelled_by(label.id)
                .changed();
            ui.end_row();
            let label = ui.label("Longitude");
            changed |= ui
                .add(
                    egui::DragValue::new(&mut item.y)
                        .speed(1e-6)
                        .max_decimals(7)
                        .suffix("°"),
                )
                .labelled_by(label.id)
                .changed();
            ui.end_row();
            for (p, name) in param_names(item.command).iter().enumerate() {
                let label = ui.label(*name);
                changed |= ui
                    .add(egui::DragValue::new(&mut item.params[p]).speed(0.1))
                    .labelled_by(label.id)
                    .changed();
                ui.end_row();
            }
        });
    if changed {
        state.changed();
    }
}

/// The parameters an operator sets for a command, by its number.
fn param_names(command: u16) -> &'static [&'static str] {
    match command {
        WAYPOINT => &[
            "Hold (s)",
            "Accept radius (m)",
            "Pass radius (m)",
            "Yaw (°)",
        ],
        LOITER_TIME => &["Time (s)", "", "Radius (m)", ""],
        LOITER_TURNS => &["Turns", "", "Radius (m)", ""],
        LOITER_UNLIM => &["", "", "Radius (m)", "Yaw (°)"],
        TAKEOFF => &["Pitch (°)", "", "", "Yaw (°)"],
        LAND => &["Abort alt (m)", "Precision land", "", "Yaw (°)"],
        DO_JUMP => &["Jump to item", "Repeat (-1 for ever)"],
        DO_CHANGE_SPEED => &["Speed type", "Speed (m/s)", "Throttle (%)"],
        RETURN_TO_LAUNCH => &[],
        _ => &["Param 1", "Param 2", "Param 3", "Param 4"],
    }
}

fn fence_and_rally(ui: &mut egui::Ui, state: &mut PlanState) {
    let fence = &state.plan.fence;
    let words = format!(
        "{} circles, {} polygons{}",
        fence.circles.len(),
        fence.polygons.len(),
        if fence.return_point.is_some() {
            ", return point"
        } else {
            ""
        }
    );
    let has_fence = !fence.is_empty();
    ui.horizontal_wrapped(|ui| {
        ui.strong("Fence");
        ui.label(words);
        if ui
            .add_enabled(has_fence, egui::Button::new("Remove fence"))
            .clicked()
        {
            state.plan.fence = Default::default();
            state.changed();
        }
    });
    ui.horizontal(|ui| {
        ui.strong("Rally");
        ui.label(format!("{} points", state.plan.rally.len()));
        if ui
            .add_enabled(
                !state.plan.rally.is_empty(),
                egui::Button::new("Remove rally points"),
            )
            .clicked()
        {
            state.plan.rally.clear();
            state.changed();
        }
    });
}

fn statistics(ui: &mut egui::Ui, plan: &Plan) {
    let stats = Stats::of(plan);
    ui.strong("Statistics");
    let minutes = (stats.time_s / 60.0).floor();
    let seconds = stats.time_s - minutes * 60.0;
    ui.label(format!(
        "{:.0} m, about {minutes:.0} min {seconds:.0} s at {:.1} m/s",
        stats.distance_m, stats.cruise_speed_m_s
    ));
    if let Some(highest) = stats.highest_alt_m {
        ui.label(format!("Highest item: {highest:.1} m (in its own frame)"));
    }
    let kinds: Vec<String> = stats
        .items_by_kind
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    if !kinds.is_empty() {
        ui.label(RichText::new(kinds.join(", ")).color(theme::MUTED));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_waypoint_of_an_empty_mission_comes_after_a_takeoff() {
        let mut state = PlanState::default();
        state.click(-35.36, 149.16);
        state.click(-35.361, 149.161);
        let commands: Vec<u16> = state.plan.items.iter().map(|i| i.command).collect();
        assert_eq!(commands, [TAKEOFF, WAYPOINT, WAYPOINT]);
        assert_eq!(state.plan.items[1].frame, FRAME_RELATIVE);
        assert_eq!(state.plan.items[2].z, DEFAULT_ALT_M);
        assert_eq!(state.selected, Some(2));
        assert!(state.dirty);
    }

    #[test]
    fn insert_shift_delete_and_polygons() {
        let mut state = PlanState::default();
        for i in 0..3 {
            state.click(-35.36 - f64::from(i) * 1e-3, 149.16);
        }
        state.insert_after(1);
        assert_eq!(state.plan.items.len(), 5);
        assert!((state.plan.items[2].x - (-35.3605)).abs() < 1e-9);
        state.shift(2, -1);
        assert_eq!(state.selected, Some(1));
        state.delete(1);
        assert_eq!(state.plan.items.len(), 4);
        state.tool = Tool::FencePolygon;
        state.click(1.0, 1.0);
        state.click(1.0, 2.0);
        state.finish_polygon();
        assert!(
            state.plan.fence.polygons.is_empty(),
            "two vertices are no polygon"
        );
        for (lat, lon) in [(1.0, 1.0), (1.0, 2.0), (2.0, 2.0)] {
            state.click(lat, lon);
        }
        state.finish_polygon();
        assert_eq!(state.plan.fence.polygons[0].vertices.len(), 3);
    }
}
