//! The privacy badge (always visible) and the privacy panel: state, switch, network ledger.

use egui::RichText;

use super::messages::clock_text;
use super::{theme, LiveView, UiAction};
use crate::privacy::SealState;

/// Colour of the seal's badge.
pub fn badge_colour(state: &SealState) -> egui::Color32 {
    match state {
        SealState::Sealed => theme::GOOD,
        SealState::NetworkAllowed => theme::WARN,
        SealState::NotEnforced(_) => theme::BAD,
    }
}

/// The always-visible badge.
pub fn badge(ui: &mut egui::Ui, view: &LiveView) {
    let text = RichText::new(view.privacy.badge())
        .strong()
        .color(badge_colour(&view.privacy));
    let hover = match &view.privacy {
        SealState::Sealed => "The kernel refuses every network socket to this process (seccomp): nothing can leave this computer.".to_owned(),
        SealState::NetworkAllowed => "Privacy mode is off: network features may run, and each attempt is written to the ledger.".to_owned(),
        SealState::NotEnforced(reason) => format!("Privacy mode is on but this system could not seal the process: {reason}"),
    };
    ui.label(text).on_hover_text(hover);
}

/// The privacy tab.
pub fn panel(ui: &mut egui::Ui, view: &LiveView, actions: &mut Vec<UiAction>) {
    badge(ui, view);
    match &view.privacy {
        SealState::Sealed => {
            ui.label("This window is sealed off the network by the kernel. Serial ports, files and the display keep working.");
            if view.privacy_saved_on {
                if ui
                    .button("Turn privacy off (from the next start)")
                    .clicked()
                {
                    actions.push(UiAction::SetPrivacy(false));
                }
            } else {
                ui.label(
                    RichText::new("Privacy is switched off: network features will be allowed after a restart. This window stays sealed.")
                        .color(theme::WARN),
                );
                if ui.button("Keep privacy on").clicked() {
                    actions.push(UiAction::SetPrivacy(true));
                }
            }
        }
        SealState::NetworkAllowed => {
            ui.label("Network features may run (MAVLink over UDP/TCP, forwarding). Each attempt is in the ledger below.");
            if ui
                .button("Turn privacy on now (seals this window at once)")
                .clicked()
            {
                actions.push(UiAction::SetPrivacy(true));
            }
        }
        SealState::NotEnforced(reason) => {
            ui.label(
                RichText::new(format!("The seal could not be installed: {reason}"))
                    .color(theme::BAD),
            );
        }
    }
    ui.separator();
    ui.horizontal(|ui| {
        ui.strong("Network ledger");
        if ui.button("Refresh").clicked() {
            actions.push(UiAction::RefreshLedger);
        }
    });
    if view.ledger.is_empty() {
        ui.label(RichText::new("No network attempts recorded.").color(theme::MUTED));
    }
    egui::ScrollArea::vertical()
        .id_salt("ledger")
        .show(ui, |ui| {
            egui::Grid::new("ledger-grid")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    for entry in view.ledger.iter().rev() {
                        ui.label(RichText::new(clock_text(entry.time_us)).monospace());
                        if entry.allowed {
                            ui.label(RichText::new("allowed").color(theme::WARN));
                        } else {
                            ui.label(RichText::new("blocked").color(theme::GOOD));
                        }
                        ui.label(format!("{} → {}", entry.feature, entry.destination));
                        ui.end_row();
                    }
                });
        });
}
