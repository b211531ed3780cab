//! The onboard logs tab: the vehicle's list with date, size and what is already on this disk;
//! download the selected ones or all with progress, speed and time left; cancel; open the
//! folder; erase all after a confirmation that says what would be lost.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{LiveView, UiAction};
use crate::onboard::OnDisk;
use crate::protocol::services::logs::LogEntry;

/// What the logs tab asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum LogsAction {
    /// Ask the vehicle for its list.
    List,
    /// Pull these logs, one after the other.
    Download(Vec<u16>),
    /// Stop the download running (what arrived stays on disk; the next one resumes).
    Cancel,
    /// Erase every log on the vehicle.
    Erase,
}

/// One log the vehicle listed, and what of it is on this disk.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub entry: LogEntry,
    pub on_disk: OnDisk,
}

/// A download in progress, for its progress bar.
#[derive(Debug, Clone, PartialEq)]
pub struct LogProgress {
    pub log_id: u16,
    pub size: u32,
    /// Bytes on disk, and those that came in this session (for the speed).
    pub held: u64,
    pub received: u64,
    /// Seconds since it started.
    pub elapsed_s: f64,
    /// Logs waiting after this one.
    pub queued: usize,
}

/// What the app tells the logs tab.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogsView {
    pub rows: Option<Vec<LogRow>>,
    pub download: Option<LogProgress>,
    /// The last thing that happened, in words.
    pub status: Option<String>,
    /// Where this vehicle's logs are kept, once it exists.
    pub folder: Option<PathBuf>,
    /// A request (list, erase) is running.
    pub busy: bool,
}

/// The tab's own state.
#[derive(Debug, Clone, Default)]
pub struct LogsState {
    pub selected: BTreeSet<u16>,
    pub confirm_erase: bool,
}

fn size_words(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else if bytes >= 1_000 {
        format!("{:.0} kB", bytes as f64 / 1e3)
    } else {
        format!("{bytes} B")
    }
}

pub fn panel(
    ui: &mut egui::Ui,
    view: &LiveView,
    state: &mut LogsState,
    actions: &mut Vec<UiAction>,
) {
    let logs = &view.logs;
    let push = |actions: &mut Vec<UiAction>, action| actions.push(UiAction::Logs(action));
    let connected = view.session_running && view.vehicle.status.is_some();
    let idle = connected && logs.download.is_none() && !logs.busy;
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(idle, egui::Button::new("List"))
            .on_hover_text("Ask the vehicle which logs it holds")
            .clicked()
        {
            push(actions, LogsAction::List);
        }
        let rows = logs.rows.as_deref().unwrap_or_default();
        let selected: Vec<u16> = rows
            .iter()
            .map(|row| row.entry.id)
            .filter(|id| state.selected.contains(id))
            .collect();
        if ui
            .add_enabled(
                idle && !selected.is_empty(),
                egui::Button::new("Download selected"),
            )
            .clicked()
        {
            push(actions, LogsAction::Download(selected));
        }
        let missing: Vec<u16> = rows
            .iter()
            .filter(|row| !matches!(row.on_disk, OnDisk::Complete(_)))
            .map(|row| row.entry.id)
            .collect();
        if ui
            .add_enabled(
                idle && !missing.is_empty(),
                egui::Button::new("Download all"),
            )
            .on_hover_text("Every log not yet complete on this disk")
            .clicked()
        {
            push(actions, LogsAction::Download(missing));
        }
        if let Some(folder) = &logs.folder {
            if ui
                .button("Open folder")
                .on_hover_text(folder.display().to_string())
                .clicked()
            {
                actions.push(UiAction::OpenFolder(folder.clone()));
            }
        }
        if ui
            .add_enabled(idle && !rows.is_empty(), egui::Button::new("Erase all…"))
            .clicked()
        {
            state.confirm_erase = true;
        }
    });
    if let Some(progress) = &logs.download {
        download_bar(ui, progress, actions);
    }
    if let Some(status) = &logs.status {
        ui.label(status);
    }
    if state.confirm_erase {
        confirm_erase(ui, logs, state, actions);
    }
    ui.separator();
    let Some(rows) = &logs.rows else {
        ui.weak(if connected {
            "List the vehicle's onboard logs to see them here."
        } else {
            "Connect to a vehicle to list its onboard logs."
        });
        return;
    };
    if rows.is_empty() {
        ui.label("The vehicle holds no logs.");
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("onboard-logs")
        .show(ui, |ui| {
            egui::Grid::new("onboard-log-rows")
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    ui.strong("Log");
                    ui.strong("Started");
                    ui.strong("Size");
                    ui.strong("On this disk");
                    ui.end_row();
                    for row in rows {
                        let id = row.entry.id;
                        let mut on = state.selected.contains(&id);
                        if ui.checkbox(&mut on, format!("Log {id}")).changed() {
                            if on {
                                state.selected.insert(id);
                            } else {
                                state.selected.remove(&id);
                            }
                        }
                        ui.label(
                            row.entry
                                .started_words()
                                .unwrap_or_else(|| "no time".to_owned()),
                        );
                        ui.label(size_words(u64::from(row.entry.size)));
                        match &row.on_disk {
                            OnDisk::Complete(path) => {
                                ui.label("kept").on_hover_text(path.display().to_string());
                            }
                            OnDisk::Partial(held) => {
                                ui.label(format!("partly ({}), resumes", size_words(*held)));
                            }
                            OnDisk::Absent => {
                                ui.weak("no");
                            }
                        }
                        ui.end_row();
                    }
                });
        });
}

fn download_bar(ui: &mut egui::Ui, progress: &LogProgress, actions: &mut Vec<UiAction>) {
    let share = progress.held as f32 / progress.size.max(1) as f32;
    let speed = progress.received as f64 / progress.elapsed_s.max(0.1);
    let left = u64::from(progress.size).saturating_sub(progress.held);
    let eta = if speed > 1.0 {
        format!("{:.0} s left", left as f64 / speed)
    } else {
        "waiting for data".to_owned()
    };
    let mut words = format!(
        "log {}: {} of {} · {:.1} kB/s · {eta}",
        progress.log_id,
        size_words(progress.held),
        size_words(u64::from(progress.size)),
        speed / 1e3
    );
    if progress.queued > 0 {
        words.push_str(&format!(" · {} more after it", progress.queued));
    }
    ui.horizontal(|ui| {
        ui.add(
            egui::ProgressBar::new(share)
                .text(words)
                .desired_width(360.0),
        );
        if ui.button("Cancel").clicked() {
            actions.push(UiAction::Logs(LogsAction::Cancel));
        }
    });
}

fn confirm_erase(
    ui: &mut egui::Ui,
    logs: &LogsView,
    state: &mut LogsState,
    actions: &mut Vec<UiAction>,
) {
    let rows = logs.rows.as_deref().unwrap_or_default();
    let not_kept: Vec<&LogRow> = rows
        .iter()
        .filter(|row| !matches!(row.on_disk, OnDisk::Complete(_)))
        .collect();
    let lost: u64 = not_kept.iter().map(|row| u64::from(row.entry.size)).sum();
    egui::Frame::group(ui.style())
        .fill(ui.visuals().warn_fg_color.gamma_multiply(0.12))
        .show(ui, |ui| {
            ui.label(egui::RichText::new("Erase every onboard log?").strong());
            ui.label(format!(
                "The vehicle deletes all {} logs from its card. This cannot be undone.",
                rows.len()
            ));
            if not_kept.is_empty() {
                ui.label("Every one of them is complete on this disk.");
            } else {
                let ids: Vec<String> = not_kept.iter().map(|r| r.entry.id.to_string()).collect();
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "{} of them ({}) are NOT on this disk and would be lost: log {}.",
                        not_kept.len(),
                        size_words(lost),
                        ids.join(", ")
                    ),
                );
            }
            ui.horizontal(|ui| {
                if ui.button("Erase all logs").clicked() {
                    state.confirm_erase = false;
                    actions.push(UiAction::Logs(LogsAction::Erase));
                }
                if ui.button("Keep them").clicked() {
                    state.confirm_erase = false;
                }
            });
        });
}
