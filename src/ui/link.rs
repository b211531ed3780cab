//! Link quality: the full panel and the always-visible status strip.

use egui::RichText;

use super::connection::{bytes_text, link_words};
use super::{theme, LiveView};

pub fn panel(ui: &mut egui::Ui, view: &LiveView) {
    let link = &view.vehicle.link;
    let framing = &view.framing;
    egui::Grid::new("link-grid")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut row = |label: &str, value: String| {
                ui.label(RichText::new(label).color(theme::MUTED));
                ui.label(RichText::new(value).monospace());
                ui.end_row();
            };
            row("State", link_words(&view.link_state).0);
            row("Received (B/s)", format!("{:.0}", link.rx_bytes_per_s));
            row("Sent (B/s)", format!("{:.0}", link.tx_bytes_per_s));
            row("Messages (msg/s)", format!("{:.1}", link.rx_frames_per_s));
            row("Packet loss (%)", format!("{:.2}", link.loss_percent()));
            row("Frames lost", link.sequence.lost().to_string());
            row("Frames received", link.frames_rx.to_string());
            row("Frames sent", link.frames_tx.to_string());
            row("CRC errors", framing.crc_errors.to_string());
            row("Unknown-id frames", framing.unknown_frames.to_string());
            row("Non-MAVLink bytes", framing.garbage_bytes.to_string());
            row("Bytes received", bytes_text(link.bytes_rx));
            row("Bytes sent", bytes_text(link.bytes_tx));
            row("Reconnects", link.reconnects.to_string());
            row("Bytes recorded", bytes_text(view.recorded_bytes));
            row(
                "Signing",
                view.signing.map_or_else(
                    || "off (no signing key: airlock signing set-passphrase)".to_owned(),
                    |status| {
                        format!(
                            "{} — {} signed, {} unsigned, {} kept out",
                            status.words(),
                            status.counts.signed,
                            status.counts.unsigned,
                            status.rejected
                        )
                    },
                ),
            );
        });
    if let Some(dir) = &view.flight_dir {
        ui.add_space(6.0);
        ui.label(RichText::new(format!("Recording to {}", dir.display())).color(theme::MUTED));
    }
}

pub fn status_strip(ui: &mut egui::Ui, view: &LiveView) {
    let link = &view.vehicle.link;
    ui.horizontal(|ui| {
        let (words, colour) = if view.review.is_some() {
            ("replay (no link)".to_owned(), theme::INFO)
        } else {
            link_words(&view.link_state)
        };
        ui.label(RichText::new(words).color(colour));
        ui.separator();
        ui.label(format!(
            "in {:.0} B/s · out {:.0} B/s · {:.1} msg/s · loss {:.1} % · CRC errors {} · reconnects {}",
            link.rx_bytes_per_s,
            link.tx_bytes_per_s,
            link.rx_frames_per_s,
            link.loss_percent(),
            view.framing.crc_errors,
            link.reconnects,
        ));
        if let Some(status) = &view.signing {
            ui.separator();
            let colour = if status.counts.bad_signature + status.counts.stale > 0 {
                theme::BAD
            } else if status.last == Some(crate::protocol::signing::Verdict::Signed) {
                theme::GOOD
            } else {
                theme::WARN
            };
            ui.label(RichText::new(status.words()).color(colour));
        }
        if let Some(problem) = view.problems.last() {
            ui.separator();
            ui.label(RichText::new(problem).color(theme::WARN));
        }
    });
}
