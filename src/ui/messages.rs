//! The vehicle's text messages (STATUSTEXT), coloured by severity, newest first, filterable.

use egui::RichText;

use super::{theme, LiveView, UiSettings};

const SEVERITY_NAMES: [&str; 8] = [
    "EMERGENCY",
    "ALERT",
    "CRITICAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
];

/// Local time-of-day text for a µs timestamp (UTC, as the flight folders are named).
pub fn clock_text(wall_us: u64) -> String {
    let seconds = wall_us / 1_000_000;
    format!(
        "{:02}:{:02}:{:02}Z",
        (seconds / 3600) % 24,
        (seconds / 60) % 60,
        seconds % 60
    )
}

pub fn panel(ui: &mut egui::Ui, view: &LiveView, settings: &mut UiSettings) {
    let log = &view.vehicle.status_log;
    ui.horizontal(|ui| {
        ui.strong("Messages");
        ui.label(RichText::new(format!("{} received", log.total())).color(theme::MUTED));
        ui.add(
            egui::TextEdit::singleline(&mut settings.message_filter)
                .hint_text("filter text")
                .desired_width(160.0),
        );
        let severity_label = ui.label("Severity");
        egui::ComboBox::from_id_salt("severity")
            .selected_text(format!(
                "up to {}",
                SEVERITY_NAMES[usize::from(settings.min_severity.min(7))]
            ))
            .show_ui(ui, |ui| {
                for (level, name) in SEVERITY_NAMES.iter().enumerate() {
                    ui.selectable_value(&mut settings.min_severity, level as u8, *name);
                }
            })
            .response
            .labelled_by(severity_label.id);
    });
    let filter = settings.message_filter.to_lowercase();
    let shown: Vec<_> = log
        .messages()
        .rev()
        .filter(|message| {
            message.severity as u8 <= settings.min_severity
                && (filter.is_empty() || message.text.to_lowercase().contains(&filter))
        })
        .collect();
    // Only the visible rows are laid out: thousands of texts cost what a screenful costs.
    let row_height = ui
        .text_style_height(&egui::TextStyle::Body)
        .max(ui.text_style_height(&egui::TextStyle::Monospace));
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, shown.len(), |ui, rows| {
            egui::Grid::new("messages-grid")
                .num_columns(3)
                .striped(true)
                .min_row_height(row_height)
                .show(ui, |ui| {
                    for message in &shown[rows] {
                        let level = message.severity as u8;
                        let colour = theme::severity(level);
                        ui.label(
                            RichText::new(clock_text(message.wall_us))
                                .monospace()
                                .color(theme::MUTED),
                        );
                        ui.label(
                            RichText::new(SEVERITY_NAMES[usize::from(level.min(7))]).color(colour),
                        );
                        ui.label(RichText::new(&message.text).color(colour));
                        ui.end_row();
                    }
                });
        });
}
