//! Every message type seen, per system/component, with its rate and last values; click a
//! numeric field to plot it.

use egui::RichText;

use super::plots::{self, FieldKey, Plots};
use super::{theme, LiveView, UiSettings, UiState};
use crate::protocol::fields::{fields, FieldValue};
use crate::vehicle::MessageRates;

pub fn panel(
    ui: &mut egui::Ui,
    view: &LiveView,
    state: &mut UiState,
    settings: &mut UiSettings,
    plots: &mut Plots,
) {
    let rates = &view.vehicle.rates;
    let list_height = (ui.available_height() * 0.35).max(120.0);
    egui::ScrollArea::vertical()
        .id_salt("inspector-list")
        .max_height(list_height)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            egui::Grid::new("inspector-grid")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    ui.label(RichText::new("sys:comp").color(theme::MUTED));
                    ui.label(RichText::new("message").color(theme::MUTED));
                    ui.label(RichText::new("Hz").color(theme::MUTED));
                    ui.end_row();
                    for (&(system, component, id), stream) in rates.streams() {
                        let key = (system, component, id);
                        ui.label(format!("{system}:{component}"));
                        let selected = state.inspector_selected == Some(key);
                        if ui.selectable_label(selected, stream.name).clicked() {
                            state.inspector_selected = Some(key);
                        }
                        ui.label(
                            RichText::new(format!(
                                "{:.1}",
                                MessageRates::rate_at(stream, view.now_mono_us)
                            ))
                            .monospace(),
                        );
                        ui.end_row();
                    }
                });
        });
    ui.separator();
    if let Some(key) = state.inspector_selected {
        if let Some(stream) = rates.get(&key) {
            ui.label(
                RichText::new(format!(
                    "{} from {}:{} — click a field name to plot it",
                    stream.name, key.0, key.1
                ))
                .strong(),
            );
            egui::ScrollArea::vertical()
                .id_salt("inspector-fields")
                .max_height(ui.available_height() * 0.45)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    egui::Grid::new("fields-grid")
                        .num_columns(2)
                        .striped(true)
                        .show(ui, |ui| {
                            for (name, value) in fields(&stream.last) {
                                match value {
                                    FieldValue::Number(number) => {
                                        let field_key = FieldKey {
                                            system_id: key.0,
                                            component_id: key.1,
                                            message_id: key.2,
                                            message_name: stream.name.to_owned(),
                                            field: name.clone(),
                                        };
                                        let plotted = plots.contains(&field_key);
                                        if ui
                                            .selectable_label(plotted, &name)
                                            .on_hover_text("plot this field")
                                            .clicked()
                                        {
                                            plots.toggle(field_key);
                                        }
                                        ui.label(RichText::new(format!("{number}")).monospace());
                                    }
                                    FieldValue::Text(text) => {
                                        ui.label(&name);
                                        ui.label(RichText::new(text).monospace());
                                    }
                                }
                                ui.end_row();
                            }
                        });
                });
        }
    } else {
        ui.label(RichText::new("Select a message to see its fields.").color(theme::MUTED));
    }
    if view.review.is_some() {
        if !plots.series.is_empty() {
            ui.label(
                RichText::new("Plotted over the whole flight below the messages.")
                    .color(theme::MUTED),
            );
        }
    } else if !plots.series.is_empty() {
        ui.separator();
        ui.horizontal(|ui| {
            let label = ui.label("Window (s)");
            ui.add(egui::DragValue::new(&mut settings.plot_window_s).range(5.0..=3600.0))
                .labelled_by(label.id);
        });
        plots::show(
            ui,
            plots,
            view.now_mono_us as f64 * 1e-6,
            settings.plot_window_s,
        );
    }
}
