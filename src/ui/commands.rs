//! The command bar of the fly view: flight controls, each confirmed by pressing and holding
//! (a stray click sends nothing; Esc cancels), and the outcome of the last request in words.
//!
//! It only pushes [`UiAction::Request`]s; the app sends them and the session answers.

use egui::{Color32, RichText};

use super::{theme, LiveView, UiAction};
use crate::protocol::modes;
use crate::protocol::services::Action;
use crate::vehicle::requests::RequestState;

/// How long a hold confirms, seconds.
pub const HOLD_S: f64 = 1.0;

/// What the command bar remembers between frames.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandBarState {
    pub takeoff_alt_m: f32,
    /// The altitude "Change alt" climbs or descends to.
    pub new_alt_m: f32,
    pub goto_alt_m: f32,
    /// The mode the operator picked in the menu; until then the menu shows the vehicle's.
    pub mode: Option<String>,
    /// A point picked on the map ("Go here"), waiting for its confirmation.
    pub go_here: Option<(f64, f64)>,
}

impl Default for CommandBarState {
    fn default() -> Self {
        Self {
            takeoff_alt_m: 10.0,
            new_alt_m: 20.0,
            goto_alt_m: 20.0,
            mode: None,
            go_here: None,
        }
    }
}

/// A button that fires only after it has been held down for [`HOLD_S`]; its fill shows how
/// far the hold is. Releasing early or pressing Esc cancels. `says` tells what will happen.
pub fn hold_button(ui: &mut egui::Ui, label: &str, says: &str, danger: bool) -> bool {
    let id = ui.make_persistent_id(("hold", label));
    let response = ui
        .add(
            egui::Button::new(RichText::new(label).strong().color(if danger {
                theme::BAD
            } else {
                Color32::WHITE
            }))
            .sense(egui::Sense::click_and_drag())
            .min_size(egui::vec2(72.0, 26.0)),
        )
        .on_hover_text(format!("Hold {HOLD_S:.0} s to {says}. Esc cancels."));
    let now = ui.input(|i| i.time);
    let escape = ui.input(|i| i.key_pressed(egui::Key::Escape));
    // (start time, already fired or cancelled)
    let mut hold: Option<(f64, bool)> = ui.data(|d| d.get_temp(id));
    let mut fired = false;
    if response.is_pointer_button_down_on() {
        let (start, done) = hold.get_or_insert((now, false));
        if escape {
            *done = true;
        }
        let held = now - *start;
        if !*done && held >= HOLD_S {
            *done = true;
            fired = true;
        }
        if !*done {
            let fraction = (held / HOLD_S).clamp(0.0, 1.0) as f32;
            let mut fill = response.rect;
            fill.set_width(fill.width() * fraction);
            ui.painter()
                .rect_filled(fill, 3.0, theme::WARN.gamma_multiply(0.45));
            ui.ctx().request_repaint();
            // Above everything, on a dark plate: it may cover the row above.
            let painter = ui
                .ctx()
                .layer_painter(egui::LayerId::new(egui::Order::Tooltip, id.with("hint")));
            let galley = painter.layout_no_wrap(
                format!("keep holding to {says} (Esc cancels)"),
                egui::FontId::proportional(13.0),
                theme::WARN,
            );
            let at = response.rect.left_top() - egui::vec2(0.0, galley.size().y + 6.0);
            let plate = egui::Rect::from_min_size(at, galley.size()).expand(3.0);
            painter.rect_filled(plate, 3.0, Color32::from_black_alpha(235));
            painter.galley(at, galley, theme::WARN);
        }
    } else {
        hold = None;
    }
    ui.data_mut(|d| match hold {
        Some(hold) => {
            d.insert_temp(id, hold);
        }
        None => d.remove::<(f64, bool)>(id),
    });
    fired
}

/// An altitude above home to type or drag, 1–500 m; returns it.
fn altitude_field(ui: &mut egui::Ui, alt_m: &mut f32, says: &str) -> f32 {
    ui.add(egui::DragValue::new(alt_m).range(1.0..=500.0).suffix(" m"))
        .on_hover_text(says);
    *alt_m
}

/// The command bar.
pub fn bar(
    ui: &mut egui::Ui,
    view: &LiveView,
    state: &mut CommandBarState,
    actions: &mut Vec<UiAction>,
) {
    let vehicle = &view.vehicle;
    let connected = view.session_running && vehicle.status.is_some() && view.review.is_none();
    ui.add_enabled_ui(connected, |ui| {
        vehicle_choice(ui, view, actions);
        let mut send = |action: Action| actions.push(UiAction::Request(action));
        ui.horizontal(|ui| {
            ui.add_sized(
                [28.0, 26.0],
                egui::Label::new(RichText::new("Fly").strong()),
            );
            if hold_button(ui, "Arm", "ARM the motors: the propellers will spin", false) {
                send(Action::Arm);
            }
            if hold_button(ui, "Disarm", "DISARM the motors (refused in flight)", false) {
                send(Action::Disarm);
            }
            ui.label("to");
            let alt = altitude_field(ui, &mut state.takeoff_alt_m, "Takeoff altitude above home");
            if hold_button(
                ui,
                "Takeoff",
                &format!("TAKE OFF to {alt:.0} m (GUIDED, arm, climb)"),
                false,
            ) {
                send(Action::Takeoff { alt_m: alt });
            }
            if hold_button(ui, "Land", "LAND where the vehicle is", false) {
                send(Action::Land);
            }
            if hold_button(ui, "RTL", "RETURN to launch and land there", false) {
                send(Action::Rtl);
            }
            if hold_button(ui, "Brake", "STOP and hold position", false) {
                send(Action::Brake);
            }
            ui.separator();
            let alt = altitude_field(ui, &mut state.new_alt_m, "New altitude above home");
            if hold_button(
                ui,
                "Change alt",
                &format!("CLIMB OR DESCEND to {alt:.0} m (GUIDED, keeping its course)"),
                false,
            ) {
                send(Action::ChangeAltitude { alt_m: alt });
            }
        });
        ui.horizontal(|ui| {
            let status = vehicle.status.as_ref();
            let names =
                status.map_or_else(Vec::new, |s| modes::mode_names(s.autopilot, s.vehicle_type));
            let current = status.map(|s| s.mode_name.clone()).unwrap_or_default();
            let mut picked = state.mode.clone().unwrap_or_else(|| current.clone());
            let label = ui.label("Mode");
            egui::ComboBox::from_id_salt("command-mode")
                .selected_text(&picked)
                .show_ui(ui, |ui| {
                    for name in &names {
                        ui.selectable_value(&mut picked, (*name).to_owned(), *name);
                    }
                })
                .response
                .labelled_by(label.id);
            if picked != current {
                state.mode = Some(picked.clone());
            }
            if hold_button(ui, "Set mode", &format!("switch to {picked}"), false)
                && !picked.is_empty()
            {
                send(Action::SetMode { name: picked });
                // The menu follows the vehicle again.
                state.mode = None;
            }
            if hold_button(
                ui,
                "Start mission",
                "START the mission on the vehicle (AUTO)",
                false,
            ) {
                send(Action::MissionStart);
            }
            if hold_button(
                ui,
                "Reboot",
                "REBOOT the autopilot (refused while armed)",
                true,
            ) {
                send(Action::Reboot);
            }
            if hold_button(
                ui,
                "Force disarm",
                "STOP THE MOTORS NOW, even in flight: the vehicle falls",
                true,
            ) {
                send(Action::ForceDisarm);
            }
        });
        if let Some((lat, lon)) = state.go_here {
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("Go to {lat:.6}, {lon:.6} at")).color(theme::WARN));
                let alt = altitude_field(ui, &mut state.goto_alt_m, "Altitude above home");
                if hold_button(
                    ui,
                    "Go here",
                    &format!("FLY to the marked point at {alt:.0} m (GUIDED)"),
                    false,
                ) {
                    send(Action::GoTo {
                        lat_deg: lat,
                        lon_deg: lon,
                        alt_m: alt,
                    });
                    state.go_here = None;
                }
                if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    state.go_here = None;
                }
            });
        }
    });
    outcome_line(ui, view);
}

/// When several vehicles share the link: which one the screen shows and the bar commands.
fn vehicle_choice(ui: &mut egui::Ui, view: &LiveView, actions: &mut Vec<UiAction>) {
    if view.autopilots.len() < 2 {
        return;
    }
    let shown = (view.vehicle.system_id, view.vehicle.component_id);
    ui.horizontal(|ui| {
        let label = ui.label("Vehicle (several on this link)");
        egui::ComboBox::from_id_salt("command-vehicle")
            .selected_text(match shown {
                (Some(system), Some(component)) => format!("{system}:{component}"),
                _ => "?".to_owned(),
            })
            .show_ui(ui, |ui| {
                for target in &view.autopilots {
                    let selected = shown == (Some(target.system_id), Some(target.component_id));
                    if ui.selectable_label(selected, target.to_string()).clicked() && !selected {
                        actions.push(UiAction::FollowVehicle(*target));
                    }
                }
            })
            .response
            .labelled_by(label.id);
    });
}

/// The last request and where it stands, in words, where the operator is looking.
fn outcome_line(ui: &mut egui::Ui, view: &LiveView) {
    let Some(entry) = view.requests.latest() else {
        ui.label(RichText::new("Press and hold a control to send it.").color(theme::MUTED));
        return;
    };
    let colour = match &entry.state {
        RequestState::Pending { .. } => theme::WARN,
        RequestState::Done(outcome) if outcome.is_accepted() => theme::GOOD,
        RequestState::Done(_) => theme::BAD,
    };
    ui.label(RichText::new(entry.words()).color(colour).strong());
}

/// The last accepted "go to" point, for the map's target marker.
pub fn goto_target(view: &LiveView) -> Option<(f64, f64)> {
    view.requests
        .entries
        .iter()
        .rev()
        .find_map(|entry| match (&entry.action, &entry.state) {
            (
                Action::GoTo {
                    lat_deg, lon_deg, ..
                },
                RequestState::Done(outcome),
            ) if outcome.is_accepted() => Some((*lat_deg, *lon_deg)),
            _ => None,
        })
}
