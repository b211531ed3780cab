//! The connection bar: port and baud pickers, connect/disconnect, link state, recording.

use egui::RichText;

use super::{theme, LiveView, UiAction, UiSettings};
use crate::link::{Baud, PortInfo, AUTO_BAUD_RATES};
use crate::session::LinkState;

/// Words and colour for the link state.
pub fn link_words(state: &LinkState) -> (String, egui::Color32) {
    let colour = match state {
        LinkState::Connected { .. } => theme::GOOD,
        LinkState::Connecting | LinkState::DetectingBaud { .. } => theme::WARN,
        LinkState::Lost { .. } => theme::BAD,
        LinkState::Disconnected => theme::MUTED,
        LinkState::Failed { .. } => theme::BAD,
    };
    (state.to_string(), colour)
}

/// Human size: "12.3 MB".
pub fn bytes_text(bytes: u64) -> String {
    let value = bytes as f64;
    if value >= 1e9 {
        format!("{:.2} GB", value / 1e9)
    } else if value >= 1e6 {
        format!("{:.1} MB", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1} kB", value / 1e3)
    } else {
        format!("{bytes} B")
    }
}

pub fn bar(
    ui: &mut egui::Ui,
    view: &LiveView,
    settings: &mut UiSettings,
    ports: &[PortInfo],
    actions: &mut Vec<UiAction>,
) {
    ui.horizontal(|ui| {
        ui.strong("Airlock");
        super::privacy::badge(ui, view);
        ui.separator();
        let port_label = ui.label("Port");
        let selected = ports
            .iter()
            .find(|port| port.path == settings.port)
            .map_or_else(
                || settings.port.clone(),
                |port| format!("{} — {}", port.path, port.description()),
            );
        egui::ComboBox::from_id_salt("port")
            .width(260.0)
            .selected_text(if selected.is_empty() {
                "choose a port".to_owned()
            } else {
                selected
            })
            .show_ui(ui, |ui| {
                if ports.is_empty() {
                    ui.label(RichText::new("no serial ports found").color(theme::MUTED));
                }
                for port in ports {
                    let text = format!("{} — {}", port.path, port.description());
                    ui.selectable_value(&mut settings.port, port.path.clone(), text);
                }
            })
            .response
            .labelled_by(port_label.id);
        ui.add(
            egui::TextEdit::singleline(&mut settings.port)
                .hint_text("or type a device path")
                .desired_width(140.0),
        );
        let baud_label = ui.label("Baud");
        egui::ComboBox::from_id_salt("baud")
            .width(80.0)
            .selected_text(settings.baud.to_string())
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut settings.baud, Baud::Auto, "Auto");
                for rate in AUTO_BAUD_RATES {
                    ui.selectable_value(&mut settings.baud, Baud::Fixed(rate), rate.to_string());
                }
            })
            .response
            .labelled_by(baud_label.id);
        if view.session_running {
            if ui.button("Disconnect").clicked() {
                actions.push(UiAction::Disconnect);
            }
        } else {
            let can_connect = !settings.port.trim().is_empty();
            if ui
                .add_enabled(can_connect, egui::Button::new("Connect"))
                .clicked()
            {
                actions.push(UiAction::Connect {
                    port: settings.port.trim().to_owned(),
                    baud: settings.baud,
                });
            }
        }
        ui.separator();
        let (words, colour) = link_words(&view.link_state);
        ui.label(
            RichText::new(format!("Link: {words}"))
                .color(colour)
                .strong(),
        );
        if let Some(dir) = &view.flight_dir {
            ui.separator();
            let recording = view.session_running;
            let paused = view.recording_paused.as_ref().filter(|_| recording);
            let colour = match (recording, paused) {
                (true, Some(_)) => theme::WARN,
                (true, None) => theme::BAD,
                (false, _) => theme::MUTED,
            };
            let (dot, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().circle_filled(dot.center(), 5.0, colour);
            let mut words = match (recording, paused) {
                (true, Some(why)) => why.lines().next().unwrap_or_default().to_uppercase(),
                (true, None) => format!("REC {}", bytes_text(view.recorded_bytes)),
                (false, _) => format!("saved {}", bytes_text(view.recorded_bytes)),
            };
            if view.not_kept_bytes > 0 {
                words.push_str(&format!(" · {} not kept", bytes_text(view.not_kept_bytes)));
            }
            let hover = match paused {
                Some(why) => format!(
                    "{why}\nRetrying every second: recording resumes by itself when space \
                     returns. The link and the live view go on.\n{}",
                    dir.display()
                ),
                None => dir.display().to_string(),
            };
            let text = RichText::new(words).color(colour);
            let text = if paused.is_some() {
                text.strong()
            } else {
                text
            };
            ui.label(text).on_hover_text(hover);
            if ui.button("Open folder").clicked() {
                actions.push(UiAction::OpenFolder(dir.clone()));
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Flights…")
                .on_hover_text("The flight library: review, search, import, delete")
                .clicked()
            {
                actions.push(UiAction::ShowLibrary);
            }
        });
    });
}
