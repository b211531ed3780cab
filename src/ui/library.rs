//! The flight library window (every flight in the data folder: sort, search, open, delete,
//! import) and the export window of the flight under review.

use std::path::PathBuf;

use egui::RichText;

use super::review::clock;
use super::{connection::bytes_text, theme, LiveView, UiAction, UiState};
use crate::review::library::{matches, FlightEntry, FlightFacts};

/// A flight in the library with what its index adds (once read).
#[derive(Debug, Clone)]
pub struct LibraryRow {
    pub entry: FlightEntry,
    pub facts: Option<FlightFacts>,
    /// What `airlock verify` says of the flight, once checked.
    pub seal: Option<crate::review::verify::Verdict>,
}

/// The library's columns, for sorting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Column {
    #[default]
    Date,
    Duration,
    Vehicle,
    MaxAltitude,
    Distance,
    Size,
}

impl Column {
    const ALL: [(Self, &'static str); 6] = [
        (Self::Date, "Date (UTC)"),
        (Self::Duration, "Duration"),
        (Self::Vehicle, "Vehicle"),
        (Self::MaxAltitude, "Max alt"),
        (Self::Distance, "Distance"),
        (Self::Size, "Size"),
    ];
}

/// Export formats offered in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportKind {
    #[default]
    Csv,
    Kml,
    Gpx,
    Tlog,
}

impl ExportKind {
    pub const ALL: [Self; 4] = [Self::Csv, Self::Kml, Self::Gpx, Self::Tlog];

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Kml => "kml",
            Self::Gpx => "gpx",
            Self::Tlog => "tlog",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Csv => "CSV of one message type",
            Self::Kml => "KML 3-D track (by flight mode)",
            Self::Gpx => "GPX track",
            Self::Tlog => "tlog of the time range",
        }
    }
}

/// What the export window asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportForm {
    pub kind: ExportKind,
    /// For CSV: the message type's name.
    pub message_type: String,
    /// Seconds since the first frame.
    pub from_s: f64,
    pub to_s: f64,
}

fn when(started_us: u64) -> String {
    if started_us == 0 {
        return "-".into();
    }
    let text = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_micros(started_us),
    )
    .to_string();
    text.replace('T', " ").trim_end_matches('Z').to_owned()
}

fn sort_rows(rows: &mut [&LibraryRow], column: Column, ascending: bool) {
    let alt = |r: &LibraryRow| r.facts.as_ref().and_then(|f| f.max_alt_rel_m);
    let distance = |r: &LibraryRow| r.facts.as_ref().map(|f| f.distance_m);
    rows.sort_by(|a, b| {
        let order = match column {
            Column::Date => a.entry.started_us.cmp(&b.entry.started_us),
            Column::Duration => a
                .entry
                .duration_s
                .partial_cmp(&b.entry.duration_s)
                .unwrap_or(std::cmp::Ordering::Equal),
            Column::Vehicle => a.entry.vehicle.cmp(&b.entry.vehicle),
            Column::MaxAltitude => alt(a)
                .partial_cmp(&alt(b))
                .unwrap_or(std::cmp::Ordering::Equal),
            Column::Distance => distance(a)
                .partial_cmp(&distance(b))
                .unwrap_or(std::cmp::Ordering::Equal),
            Column::Size => a.entry.size_bytes.cmp(&b.entry.size_bytes),
        };
        if ascending {
            order
        } else {
            order.reverse()
        }
    });
}

/// The library window.
pub fn window(
    ctx: &egui::Context,
    view: &LiveView,
    state: &mut UiState,
    actions: &mut Vec<UiAction>,
) {
    let mut open = state.show_library;
    egui::Window::new("Flight library")
        .open(&mut open)
        .default_size([900.0, 420.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Search");
                ui.add(
                    egui::TextEdit::singleline(&mut state.library_search)
                        .hint_text("folder, vehicle or vehicle text (e.g. PreArm)")
                        .desired_width(280.0),
                )
                .labelled_by(label.id);
                if ui.button("Refresh").clicked() {
                    actions.push(UiAction::RefreshLibrary);
                }
                ui.checkbox(&mut state.library_recovered_only, "recovered only");
                ui.separator();
                if ui.button("Open file…").clicked() {
                    actions.push(UiAction::PickFlight { folder: false });
                }
                if ui.button("Open folder…").clicked() {
                    actions.push(UiAction::PickFlight { folder: true });
                }
                if ui.button("Import .tlog…").clicked() {
                    actions.push(UiAction::PickImport);
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label("Path");
                let edit = ui
                    .add(
                        egui::TextEdit::singleline(&mut state.library_path)
                            .hint_text("a flight folder, its capture.alc or any .tlog")
                            .desired_width(380.0),
                    )
                    .labelled_by(label.id);
                let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("Open path").clicked() || entered)
                    && !state.library_path.trim().is_empty()
                {
                    actions.push(UiAction::OpenFlight(PathBuf::from(
                        state.library_path.trim(),
                    )));
                }
                ui.label(
                    RichText::new("or drop a .tlog or a flight folder on the window")
                        .color(theme::MUTED),
                );
            });
            ui.separator();
            let mut rows: Vec<&LibraryRow> = view
                .library
                .iter()
                .filter(|r| matches(&r.entry, r.facts.as_ref(), &state.library_search))
                .filter(|r| !state.library_recovered_only || r.entry.recovered)
                .collect();
            sort_rows(&mut rows, state.library_sort, state.library_ascending);
            ui.label(format!("{} of {} flights", rows.len(), view.library.len()));
            egui::ScrollArea::vertical().show(ui, |ui| {
                egui::Grid::new("library")
                    .striped(true)
                    .num_columns(9)
                    .show(ui, |ui| {
                        for (column, title) in Column::ALL {
                            let arrow =
                                match (state.library_sort == column, state.library_ascending) {
                                    (true, true) => ", ascending",
                                    (true, false) => ", descending",
                                    _ => "",
                                };
                            if ui.button(format!("{title}{arrow}")).clicked() {
                                if state.library_sort == column {
                                    state.library_ascending = !state.library_ascending;
                                } else {
                                    state.library_sort = column;
                                    state.library_ascending = false;
                                }
                            }
                        }
                        ui.label("Seal").on_hover_text(
                            "Whether the flight is as it was recorded, by its signed seal \
                             (airlock verify): intact, altered, truncated, or not signed.",
                        );
                        ui.label("");
                        ui.label("");
                        ui.end_row();
                        for row in rows {
                            library_row(ui, row, state, actions);
                        }
                    });
            });
        });
    state.show_library = open;
    confirm_delete(ctx, state, actions);
}

/// The flight's seal: a word the operator can trust at a glance, the verdict on hover.
fn seal_cell(ui: &mut egui::Ui, row: &LibraryRow) {
    use crate::review::verify::Verdict;
    let Some(verdict) = &row.seal else {
        let word = if row.entry.recording { "-" } else { "…" };
        ui.label(RichText::new(word).color(theme::MUTED));
        return;
    };
    let (word, color) = match verdict {
        Verdict::Intact { closed: true, .. } => ("intact", theme::GOOD),
        Verdict::Intact { closed: false, .. } => ("intact to crash", theme::GOOD),
        Verdict::Altered { .. } => ("ALTERED", theme::BAD),
        Verdict::Truncated { .. } => ("TRUNCATED", theme::BAD),
        Verdict::NotSigned { .. } => ("not signed", theme::MUTED),
    };
    ui.label(RichText::new(word).color(color).strong())
        .on_hover_text(verdict.to_string());
}

fn library_row(
    ui: &mut egui::Ui,
    row: &LibraryRow,
    state: &mut UiState,
    actions: &mut Vec<UiAction>,
) {
    let entry = &row.entry;
    let mut date = RichText::new(when(entry.started_us)).monospace();
    if entry.recording {
        date = date.color(theme::GOOD);
    }
    let label = ui.label(date);
    if let Some(problem) = &entry.problem {
        label.on_hover_text(problem);
    } else {
        label.on_hover_text(entry.dir.display().to_string());
    }
    let duration = entry
        .duration_s
        .or(row.facts.as_ref().map(|f| f.span_s))
        .map_or("-".into(), |s| clock((s * 1e6) as u64));
    ui.label(duration);
    ui.label(
        entry
            .vehicle
            .as_deref()
            .unwrap_or("-")
            .trim_start_matches("MAV_TYPE_"),
    );
    match &row.facts {
        Some(facts) => {
            ui.label(
                facts
                    .max_alt_rel_m
                    .map_or("-".into(), |a| format!("{a:.0} m")),
            );
            ui.label(format!("{:.2} km", facts.distance_m / 1000.0));
        }
        None => {
            ui.label(RichText::new("…").color(theme::MUTED));
            ui.label(RichText::new("…").color(theme::MUTED));
        }
    }
    ui.label(bytes_text(entry.size_bytes));
    seal_cell(ui, row);
    let (state_word, color) = if entry.recording {
        ("recording", theme::GOOD)
    } else if entry.recovered {
        ("recovered", theme::WARN)
    } else {
        ("", ui.visuals().text_color())
    };
    let logs_word = match entry.onboard_logs {
        0 => String::new(),
        1 => "1 onboard log".to_owned(),
        n => format!("{n} onboard logs"),
    };
    let words = [state_word, logs_word.as_str()]
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    ui.label(RichText::new(words).color(color)).on_hover_text(
        "Recovered: the recorder stopped without closing this flight (crash or power loss); \
         its metadata was rebuilt from the raw capture. Onboard logs: the vehicle's own logs \
         pulled during this flight (kept in the data folder's onboard-logs).",
    );
    ui.horizontal(|ui| {
        if ui.button("Open").clicked() {
            actions.push(UiAction::OpenFlight(entry.dir.clone()));
        }
        if ui
            .add_enabled(!entry.recording, egui::Button::new("Delete…"))
            .clicked()
        {
            state.confirm_delete = Some(entry.dir.clone());
        }
    });
    ui.end_row();
}

fn confirm_delete(ctx: &egui::Context, state: &mut UiState, actions: &mut Vec<UiAction>) {
    let Some(dir) = state.confirm_delete.clone() else {
        return;
    };
    let modal = egui::Modal::new(egui::Id::unique("confirm-delete")).show(ctx, |ui| {
        ui.heading("Delete this flight?");
        ui.label(RichText::new(dir.display().to_string()).monospace());
        ui.label(
            "Its raw capture, tlog and metadata are removed from the disk. This cannot be undone.",
        );
        ui.horizontal(|ui| {
            if ui
                .button(RichText::new("Delete").color(theme::BAD))
                .clicked()
            {
                actions.push(UiAction::DeleteFlight(dir.clone()));
                state.confirm_delete = None;
            }
            if ui.button("Cancel").clicked() {
                state.confirm_delete = None;
            }
        });
    });
    if modal.should_close() {
        state.confirm_delete = None;
    }
}

/// The export window of the flight under review.
pub fn export_window(
    ctx: &egui::Context,
    view: &LiveView,
    state: &mut UiState,
    actions: &mut Vec<UiAction>,
) {
    let Some(review) = &view.review else {
        state.show_export = false;
        return;
    };
    let span_s = review.index.end_us.saturating_sub(review.index.start_us) as f64 * 1e-6;
    let mut open = state.show_export;
    egui::Window::new("Export")
        .open(&mut open)
        .default_width(420.0)
        .show(ctx, |ui| {
            let form = &mut state.export_form;
            if form.to_s <= 0.0 || form.to_s > span_s {
                form.to_s = span_s;
            }
            for kind in ExportKind::ALL {
                ui.radio_value(&mut form.kind, kind, kind.label());
            }
            if form.kind == ExportKind::Csv {
                ui.horizontal(|ui| {
                    let label = ui.label("Message type");
                    let names: Vec<String> = {
                        let mut names: Vec<String> = review
                            .index
                            .streams
                            .iter()
                            .map(|s| crate::protocol::dialect::display_name(s.key.message_id))
                            .collect();
                        names.sort();
                        names.dedup();
                        names
                    };
                    if form.message_type.is_empty() {
                        // The usual first question of a review: how did it fly.
                        if let Some(name) =
                            names.iter().find(|n| *n == "ATTITUDE").or(names.first())
                        {
                            form.message_type = name.clone();
                        }
                    }
                    egui::ComboBox::from_id_salt("export-type")
                        .selected_text(&form.message_type)
                        .show_ui(ui, |ui| {
                            for name in names {
                                ui.selectable_value(&mut form.message_type, name.clone(), name);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                });
            }
            ui.horizontal(|ui| {
                let label = ui.label("From (s)");
                ui.add(egui::DragValue::new(&mut form.from_s).range(0.0..=span_s))
                    .labelled_by(label.id);
                let label = ui.label("to (s)");
                ui.add(egui::DragValue::new(&mut form.to_s).range(0.0..=span_s))
                    .labelled_by(label.id);
                if ui.button("whole flight").clicked() {
                    form.from_s = 0.0;
                    form.to_s = span_s;
                }
            });
            let now_s = review.time_us.saturating_sub(review.index.start_us) as f64 * 1e-6;
            ui.horizontal(|ui| {
                if ui.button("from = now").clicked() {
                    form.from_s = now_s;
                }
                if ui.button("to = now").clicked() {
                    form.to_s = now_s;
                }
            });
            let ready = form.kind != ExportKind::Csv || !form.message_type.is_empty();
            if ui
                .add_enabled(ready, egui::Button::new("Save as…"))
                .clicked()
            {
                actions.push(UiAction::Export(form.clone()));
            }
            if let Some(status) = &view.export_status {
                ui.label(status);
            }
        });
    state.show_export = open;
}

/// A path from a dropped file, if any was dropped this frame.
pub fn dropped_path(ctx: &egui::Context) -> Option<PathBuf> {
    ctx.input(|input| {
        input.raw.dropped_files.iter().find_map(|f| {
            let path = f.path();
            (!path.as_os_str().is_empty()).then(|| path.to_owned())
        })
    })
}
