//! The parameters view: the vehicle's whole configuration as last fetched, searched by name
//! and grouped by prefix, with type, default and "changed from default" where the vehicle
//! says; edits checked against the type and staged (highlighted) until written together,
//! which is held to confirm like every command; each write confirmed by the vehicle's echo or
//! shown failed. A file (Mission Planner, QGroundControl, MAVProxy) is compared with the
//! vehicle row by row, and only the rows the operator ticks are written.

use std::collections::{BTreeMap, BTreeSet};

use egui::{Color32, RichText};

use super::commands::hold_button;
use super::{theme, LiveView, UiAction};
use crate::params::{format_value, same_value, Change, Param, ParamSet};

/// What the parameters view asks the app for.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamsAction {
    Fetch,
    /// Write these values (the operator held the control).
    Write(Vec<(String, f64)>),
    /// Choose a file with the system's dialog, then compare it with the vehicle.
    PickLoad,
    Load(std::path::PathBuf),
    /// Choose where to save the fetched set (the extension says the format).
    PickSave,
    Save(std::path::PathBuf),
    /// Read parameter documentation from a local `apm.pdef.xml`.
    LoadDocs(std::path::PathBuf),
}

/// A file compared with the vehicle: each differing row and whether it is to be written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileDiff {
    pub source: String,
    pub rows: Vec<(Change, bool)>,
    /// Names in the file that the vehicle does not have.
    pub unknown: Vec<String>,
}

impl FileDiff {
    /// The rows of `file` that differ from `vehicle` (all ticked), and names the vehicle lacks.
    pub fn of(source: String, vehicle: &ParamSet, file: &ParamSet) -> Self {
        let rows = crate::params::diff(vehicle, file)
            .into_iter()
            .filter(|change| change.old.is_some() && change.new.is_some())
            .map(|change| (change, true))
            .collect();
        let unknown = file
            .iter()
            .filter(|p| vehicle.get(&p.name).is_none())
            .map(|p| p.name.clone())
            .collect();
        Self {
            source,
            rows,
            unknown,
        }
    }
}

/// What the view remembers between frames.
#[derive(Debug, Clone, Default)]
pub struct ParamsState {
    pub search: String,
    /// Show only names with this prefix (the part before the first `_`).
    pub group: Option<String>,
    pub selected: Option<String>,
    /// The value being typed for the selected parameter.
    pub edit: String,
    /// Staged values, not yet written.
    pub pending: BTreeMap<String, f64>,
    /// A loaded file's comparison with the vehicle.
    pub diff: Option<FileDiff>,
    /// A path typed in (for when no file dialog is available).
    pub path: String,
    pub status: Option<String>,
    /// Documentation read from a local metadata file.
    pub docs: Option<std::sync::Arc<crate::params::meta::ParamDocs>>,
}

/// What a loaded file is compared with: the live vehicle, or the flight under review.
pub fn compared_with(reviewing: bool) -> &'static str {
    if reviewing {
        "this flight's parameters"
    } else {
        "the vehicle"
    }
}

/// The prefix a name is grouped under.
fn group_of(name: &str) -> &str {
    name.split('_').next().unwrap_or(name)
}

/// Checks a typed value against the parameter's type.
pub fn check(param: &Param, text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number", text.trim()))?;
    match param.kind {
        Some(kind) if !kind.holds(value) => Err(format!(
            "{value} does not fit {} ({}; {} to {})",
            param.name,
            kind.name(),
            kind.range().0,
            kind.range().1
        )),
        None if !value.is_finite() => Err(format!("{value} is not a value")),
        _ => Ok(value),
    }
}

/// The parameters tab.
pub fn panel(
    ui: &mut egui::Ui,
    view: &LiveView,
    state: &mut ParamsState,
    settings: &mut super::UiSettings,
    actions: &mut Vec<UiAction>,
) {
    let push = |actions: &mut Vec<UiAction>, action| actions.push(UiAction::Params(action));
    let params = &view.vehicle_params;
    let connected = view.session_running && view.vehicle.status.is_some();
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(connected, egui::Button::new("Fetch"))
            .on_hover_text("Read every parameter (MAVLink FTP, else the classic list)")
            .clicked()
        {
            push(actions, ParamsAction::Fetch);
        }
        if ui.button("Load file…").clicked() {
            push(actions, ParamsAction::PickLoad);
        }
        if ui
            .add_enabled(!params.is_empty(), egui::Button::new("Save as…"))
            .clicked()
        {
            push(actions, ParamsAction::PickSave);
        }
        let label = ui.label("File");
        ui.add(
            egui::TextEdit::singleline(&mut state.path)
                .hint_text(".param, .params or .parm path")
                .desired_width(150.0),
        )
        .labelled_by(label.id);
        let path = state.path.trim();
        if ui
            .add_enabled(!path.is_empty(), egui::Button::new("Load"))
            .clicked()
        {
            push(actions, ParamsAction::Load(path.into()));
        }
        if ui
            .add_enabled(
                !path.is_empty() && !params.is_empty(),
                egui::Button::new("Save"),
            )
            .clicked()
        {
            push(actions, ParamsAction::Save(path.into()));
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Docs");
        ui.add(
            egui::TextEdit::singleline(&mut settings.param_docs_path)
                .hint_text("a local apm.pdef.xml (never fetched)")
                .desired_width(200.0),
        )
        .labelled_by(label.id);
        let path = settings.param_docs_path.trim();
        if ui
            .add_enabled(!path.is_empty(), egui::Button::new("Load docs"))
            .clicked()
        {
            push(actions, ParamsAction::LoadDocs(path.into()));
        }
        if let Some(docs) = &state.docs {
            ui.label(RichText::new(format!("{} documented", docs.len())).color(theme::MUTED));
        }
    });
    if let Some(fetch) = &view.params_fetch {
        ui.label(RichText::new(fetch).monospace());
    }
    if let Some(status) = &state.status {
        ui.label(RichText::new(status).color(theme::MUTED));
    }
    if let Some(diff) = &mut state.diff {
        if file_diff(ui, diff, view.review.is_some(), connected, actions) {
            state.diff = None;
        }
        return;
    }
    pending_bar(ui, view, state, connected, actions);
    ui.separator();
    ui.horizontal(|ui| {
        let label = ui.label("Search");
        ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .hint_text("name contains…")
                .desired_width(140.0),
        )
        .labelled_by(label.id);
        let groups: BTreeSet<&str> = params.iter().map(|p| group_of(&p.name)).collect();
        egui::ComboBox::from_id_salt("param-group")
            .selected_text(
                state
                    .group
                    .clone()
                    .unwrap_or_else(|| "all groups".to_owned()),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.group, None, "all groups");
                for group in groups {
                    let count = params.iter().filter(|p| group_of(&p.name) == group).count();
                    ui.selectable_value(
                        &mut state.group,
                        Some(group.to_owned()),
                        format!("{group} ({count})"),
                    );
                }
            });
    });
    let needle = state.search.trim().to_ascii_uppercase();
    let shown: Vec<&Param> = params
        .iter()
        .filter(|p| needle.is_empty() || p.name.contains(&needle))
        .filter(|p| {
            state
                .group
                .as_deref()
                .is_none_or(|g| group_of(&p.name) == g)
        })
        .collect();
    ui.label(
        RichText::new(format!("{} of {} parameters", shown.len(), params.len()))
            .color(theme::MUTED),
    );
    editor(ui, view, state);
    table(ui, view, state, &shown);
}

/// The staged changes and the control that writes them.
fn pending_bar(
    ui: &mut egui::Ui,
    view: &LiveView,
    state: &mut ParamsState,
    connected: bool,
    actions: &mut Vec<UiAction>,
) {
    if state.pending.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(match state.pending.len() {
                1 => "1 change staged".to_owned(),
                n => format!("{n} changes staged"),
            })
            .color(theme::WARN),
        );
        let values: Vec<(String, f64)> = state
            .pending
            .iter()
            .map(|(name, value)| (name.clone(), *value))
            .collect();
        ui.add_enabled_ui(connected, |ui| {
            if hold_button(
                ui,
                "Write",
                "WRITE the staged parameters to the vehicle",
                false,
            ) {
                actions.push(UiAction::Params(ParamsAction::Write(values)));
            }
        });
        if ui.button("Discard").clicked() {
            state.pending.clear();
        }
    });
    let _ = view;
}

/// What the documentation says of a parameter; a named value clicked becomes the new value.
fn documentation(ui: &mut egui::Ui, doc: &crate::params::meta::ParamDoc, edit: &mut String) {
    if !doc.description.is_empty() {
        ui.label(RichText::new(&doc.description).color(theme::MUTED));
    }
    let mut facts = Vec::new();
    if let Some((low, high)) = doc.range {
        facts.push(format!("range {low} to {high}"));
    }
    if let Some(units) = &doc.units {
        facts.push(format!("units {units}"));
    }
    if let Some(step) = doc.increment {
        facts.push(format!("increment {step}"));
    }
    if doc.reboot_required {
        facts.push("takes effect after a reboot".to_owned());
    }
    if !facts.is_empty() {
        ui.label(RichText::new(facts.join(", ")).color(theme::MUTED));
    }
    if !doc.values.is_empty() {
        ui.horizontal_wrapped(|ui| {
            for (code, name) in &doc.values {
                if ui.small_button(format!("{code}: {name}")).clicked() {
                    *edit = format_value(*code, None);
                }
            }
        });
    }
    if !doc.bits.is_empty() {
        let bits: Vec<String> = doc
            .bits
            .iter()
            .map(|(bit, name)| format!("{bit}: {name}"))
            .collect();
        ui.label(RichText::new(format!("bits: {}", bits.join(", "))).color(theme::MUTED));
    }
}

/// The selected parameter: its facts and the value to stage.
fn editor(ui: &mut egui::Ui, view: &LiveView, state: &mut ParamsState) {
    let Some(param) = state
        .selected
        .as_ref()
        .and_then(|name| view.vehicle_params.get(name))
    else {
        return;
    };
    let docs = state.docs.clone();
    let doc = docs.as_deref().and_then(|d| d.get(&param.name));
    ui.group(|ui| {
        ui.horizontal_wrapped(|ui| {
            ui.strong(&param.name);
            if let Some(doc) = doc {
                ui.label(&doc.human_name);
            }
            ui.label(format!(
                "{} {}",
                format_value(param.value, param.kind),
                param.kind.map_or("", |k| k.name())
            ));
            if let Some(default) = param.default {
                ui.label(
                    RichText::new(format!("default {}", format_value(default, param.kind)))
                        .color(theme::MUTED),
                );
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("New value");
            let response = ui
                .add(egui::TextEdit::singleline(&mut state.edit).desired_width(120.0))
                .labelled_by(label.id);
            let checked = check(param, &state.edit);
            let stage = ui
                .add_enabled(checked.is_ok(), egui::Button::new("Stage"))
                .clicked()
                || (response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)));
            match checked {
                Ok(value) if stage => {
                    if same_value(value, param.value) {
                        state.pending.remove(&param.name);
                    } else {
                        state.pending.insert(param.name.clone(), value);
                    }
                }
                Err(why) if !state.edit.trim().is_empty() => {
                    ui.label(RichText::new(why).color(theme::BAD));
                }
                Ok(value) => {
                    if let Some(words) = doc.and_then(|d| d.outside_range(value)) {
                        ui.label(RichText::new(words).color(theme::WARN));
                    }
                }
                _ => {}
            }
        });
        if let Some(doc) = doc {
            documentation(ui, doc, &mut state.edit);
        }
        if let Some(result) = view.param_results.get(&param.name) {
            match result {
                Ok(value) => ui.label(
                    RichText::new(format!("written: {}", format_value(*value, param.kind)))
                        .color(theme::GOOD),
                ),
                Err(why) => {
                    ui.label(RichText::new(format!("not written: {why}")).color(theme::BAD))
                }
            };
        }
    });
}

fn table(ui: &mut egui::Ui, view: &LiveView, state: &mut ParamsState, shown: &[&Param]) {
    use egui_extras::{Column, TableBuilder};
    let mut clicked = None;
    TableBuilder::new(ui)
        .id_salt("params-table")
        .striped(true)
        .sense(egui::Sense::click())
        .column(Column::exact(150.0))
        .column(Column::exact(95.0))
        .column(Column::exact(60.0))
        .column(Column::remainder())
        .header(18.0, |mut header| {
            for title in ["Name", "Value", "Type", "Default"] {
                header.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(18.0, shown.len(), |mut row| {
                let param = shown[row.index()];
                let pending = state.pending.get(&param.name);
                let colour = if pending.is_some() {
                    theme::WARN
                } else if view
                    .param_results
                    .get(&param.name)
                    .is_some_and(Result::is_err)
                {
                    theme::BAD
                } else {
                    Color32::WHITE
                };
                let selected = state.selected.as_deref() == Some(param.name.as_str());
                row.col(|ui| {
                    let name = RichText::new(&param.name).monospace().color(colour);
                    if ui.selectable_label(selected, name).clicked() {
                        clicked = Some(param.name.clone());
                    }
                });
                row.col(|ui| {
                    let text = match pending {
                        Some(new) => format!(
                            "{} -> {}",
                            format_value(param.value, param.kind),
                            format_value(*new, param.kind)
                        ),
                        None => {
                            let named = state
                                .docs
                                .as_deref()
                                .and_then(|d| d.get(&param.name))
                                .and_then(|d| d.value_name(param.value));
                            match named {
                                Some(name) => {
                                    format!("{} ({name})", format_value(param.value, param.kind))
                                }
                                None => format_value(param.value, param.kind),
                            }
                        }
                    };
                    ui.label(RichText::new(text).monospace().color(colour));
                });
                row.col(|ui| {
                    ui.label(param.kind.map_or("", |k| k.name()));
                });
                row.col(|ui| {
                    if let Some(default) = param.default {
                        let changed = param.changed_from_default() == Some(true);
                        let mut text = RichText::new(format_value(default, param.kind));
                        if changed {
                            text = text.color(theme::WARN);
                        }
                        ui.label(text).on_hover_text(if changed {
                            "changed from the default"
                        } else {
                            "at the default"
                        });
                    }
                });
                if row.response().clicked() {
                    clicked = Some(param.name.clone());
                }
            });
        });
    if let Some(name) = clicked {
        state.edit = view
            .vehicle_params
            .get(&name)
            .map(|p| format_value(p.value, p.kind))
            .unwrap_or_default();
        state.selected = Some(name);
    }
}

/// A loaded file against the vehicle; true when the operator closed it.
fn file_diff(
    ui: &mut egui::Ui,
    diff: &mut FileDiff,
    reviewing: bool,
    connected: bool,
    actions: &mut Vec<UiAction>,
) -> bool {
    let mut close = false;
    ui.separator();
    ui.strong(format!(
        "{}: {} rows differ from {}",
        diff.source,
        diff.rows.len(),
        compared_with(reviewing)
    ));
    if !diff.unknown.is_empty() {
        ui.label(
            RichText::new(format!(
                "{} names the vehicle does not have are left out: {}",
                diff.unknown.len(),
                diff.unknown
                    .iter()
                    .take(8)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .color(theme::WARN),
        );
    }
    let chosen: Vec<(String, f64)> = diff
        .rows
        .iter()
        .filter(|(_, on)| *on)
        .filter_map(|(change, _)| Some((change.name.clone(), change.new?)))
        .collect();
    ui.horizontal(|ui| {
        ui.add_enabled_ui(connected && !chosen.is_empty(), |ui| {
            if hold_button(
                ui,
                &format!("Write {} chosen", chosen.len()),
                "WRITE the chosen rows to the vehicle",
                false,
            ) {
                actions.push(UiAction::Params(ParamsAction::Write(chosen.clone())));
            }
        });
        if ui.button("All").clicked() {
            diff.rows.iter_mut().for_each(|(_, on)| *on = true);
        }
        if ui.button("None").clicked() {
            diff.rows.iter_mut().for_each(|(_, on)| *on = false);
        }
        if ui.button("Close").clicked() {
            close = true;
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("param-diff")
        .show(ui, |ui| {
            egui::Grid::new("param-diff-rows")
                .striped(true)
                .show(ui, |ui| {
                    ui.strong("Write");
                    ui.strong(if reviewing { "This flight" } else { "Vehicle" });
                    ui.strong("File");
                    ui.end_row();
                    for (change, on) in &mut diff.rows {
                        ui.checkbox(on, RichText::new(&change.name).monospace());
                        ui.label(change.old.map_or("-".to_owned(), |v| format_value(v, None)));
                        ui.label(change.new.map_or("-".to_owned(), |v| format_value(v, None)));
                        ui.end_row();
                    }
                });
        });
    close
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamType;

    #[test]
    fn typed_values_are_checked_against_the_type() {
        let param = Param::new("FRAME_CLASS", 1.0, Some(ParamType::Int8));
        assert_eq!(check(&param, " 2 "), Ok(2.0));
        assert!(check(&param, "2.5").unwrap_err().contains("does not fit"));
        assert!(check(&param, "300").unwrap_err().contains("INT8"));
        assert!(check(&param, "two").unwrap_err().contains("not a number"));
        let real = Param::new("WPNAV_SPEED", 1000.0, Some(ParamType::Real32));
        assert_eq!(check(&real, "750.5"), Ok(750.5));
    }
}
