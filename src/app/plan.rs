//! The plan view's work: opening and saving mission files (on helper threads, through the
//! system's dialogs when there are any), and the transfers with the vehicle, one kind after
//! another (the vehicle takes one transfer at a time), stopping at the first that fails.

use std::collections::VecDeque;
use std::path::PathBuf;

use super::review::Background;
use super::AirlockApp;
use crate::mission::{wire, Format, Plan};
use crate::protocol::services::{Action, MissionKind, Outcome, RequestId, ServiceEvent};
use crate::ui::plan::PlanAction;

/// The plan transfers of the window: what is queued, what runs.
#[derive(Debug, Default)]
pub(super) struct PlanTransfers {
    /// The vehicle's mission was asked for on this connection.
    pub(super) read_on_connect: bool,
    queue: VecDeque<Action>,
    running: Option<RequestId>,
    /// Downloads whose items go into the editor.
    into_editor: Vec<RequestId>,
}

/// Every kind, in the order QGroundControl sends them.
const KINDS: [MissionKind; 3] = [MissionKind::Mission, MissionKind::Fence, MissionKind::Rally];

impl AirlockApp {
    pub(super) fn plan_action(&mut self, action: PlanAction) {
        match action {
            PlanAction::PickOpen => self.pick_plan(false),
            PlanAction::PickSave => self.pick_plan(true),
            PlanAction::Open(path) => self.open_plan(path),
            PlanAction::Save(path) => self.save_plan(path),
            PlanAction::Upload => {
                let plan = &self.ui_state.plan.plan;
                let on_vehicle = &self.view.vehicle_plan;
                let mut actions = Vec::new();
                for kind in KINDS {
                    // Fence and rally points go when there are some, or when the vehicle has
                    // some that the plan no longer has.
                    let wanted = match kind {
                        MissionKind::Mission => true,
                        MissionKind::Fence => {
                            !plan.fence.is_empty() || !on_vehicle.fence.is_empty()
                        }
                        MissionKind::Rally => {
                            !plan.rally.is_empty() || !on_vehicle.rally.is_empty()
                        }
                    };
                    if !wanted {
                        continue;
                    }
                    match wire::to_wire(plan, kind) {
                        Ok(items) => actions.push(Action::UploadMission { kind, items }),
                        Err(error) => {
                            // Nothing is sent when any part cannot be.
                            self.ui_state.plan.status =
                                Some(format!("not uploaded: {} {error}", kind.name()));
                            return;
                        }
                    }
                }
                self.queue_transfers(actions);
            }
            PlanAction::Download => {
                self.queue_transfers(
                    KINDS
                        .into_iter()
                        .map(|kind| Action::DownloadMission { kind })
                        .collect(),
                );
            }
            PlanAction::Clear => {
                self.queue_transfers(
                    KINDS
                        .into_iter()
                        .map(|kind| Action::ClearMission { kind })
                        .collect(),
                );
            }
        }
    }

    fn queue_transfers(&mut self, actions: Vec<Action>) {
        let busy = self.plan_transfers.running.is_some();
        self.plan_transfers.queue.extend(actions);
        if busy {
            self.ui_state.plan.status =
                Some("queued after the transfer with the vehicle that is running".to_owned());
        } else {
            self.next_transfer();
        }
    }

    /// As QGroundControl does, the vehicle's mission is read once it is heard, so that the map
    /// shows what it will fly (read-only; not in the operator's request log).
    pub(super) fn read_vehicle_mission(&mut self) {
        let Some(session) = &self.session else { return };
        if self.plan_transfers.running.is_some() {
            return;
        }
        let id = session.request(crate::protocol::services::Request {
            target: self.view.vehicle.followed(),
            action: Action::DownloadMission {
                kind: MissionKind::Mission,
            },
        });
        self.plan_transfers.running = Some(id);
    }

    fn next_transfer(&mut self) {
        let Some(action) = self.plan_transfers.queue.pop_front() else {
            return;
        };
        let download = matches!(action, Action::DownloadMission { .. });
        let id = self.request(action);
        self.plan_transfers.running = id;
        if let (Some(id), true) = (id, download) {
            self.plan_transfers.into_editor.push(id);
        }
    }

    /// Follows the services' events: the vehicle's plan as known, the editor's downloads, the
    /// queue of transfers.
    pub(super) fn plan_service_event(&mut self, event: &ServiceEvent) {
        match event {
            ServiceEvent::Mission { id, kind, items } => {
                wire::from_wire(&mut self.view.vehicle_plan, *kind, items);
                if let Some(at) = self.plan_transfers.into_editor.iter().position(|i| i == id) {
                    self.plan_transfers.into_editor.remove(at);
                    let editor = &mut self.ui_state.plan;
                    wire::from_wire(&mut editor.plan, *kind, items);
                    editor.selected = None;
                    editor.dirty = false;
                    // One line for the whole download: mission first, then fence and rally.
                    let words = match kind {
                        MissionKind::Mission => {
                            format!("mission {} items and home", items.len().saturating_sub(1))
                        }
                        _ => format!("{} {} items", kind.name(), items.len()),
                    };
                    editor.status = Some(match (&editor.status, kind) {
                        (Some(before), MissionKind::Fence | MissionKind::Rally)
                            if before.starts_with("downloaded from the vehicle:") =>
                        {
                            format!("{before}, {words}")
                        }
                        _ => format!("downloaded from the vehicle: {words}"),
                    });
                }
            }
            ServiceEvent::Finished { id, outcome } => {
                if *outcome == Outcome::Accepted {
                    self.note_vehicle_plan(*id);
                }
                if self.plan_transfers.running == Some(*id) {
                    self.plan_transfers.running = None;
                    if *outcome == Outcome::Accepted {
                        self.next_transfer();
                    } else {
                        self.plan_transfers.queue.clear();
                    }
                }
            }
            _ => {}
        }
    }

    /// An upload verified or a clear accepted: the vehicle now has that plan.
    fn note_vehicle_plan(&mut self, id: RequestId) {
        let Some(entry) = self.view.requests.entries.iter().find(|e| e.id == id) else {
            return;
        };
        match &entry.action {
            Action::UploadMission { kind, items } => {
                let kind = *kind;
                let items = items.clone();
                wire::from_wire(&mut self.view.vehicle_plan, kind, &items);
                if kind == MissionKind::Mission {
                    self.ui_state.plan.dirty = false;
                }
            }
            Action::ClearMission { kind } => {
                let kind = *kind;
                wire::from_wire(&mut self.view.vehicle_plan, kind, &[]);
            }
            _ => {}
        }
    }

    fn pick_plan(&self, save: bool) {
        let start = self.flights_dir.clone();
        self.in_background(move |sender| {
            let dialog = rfd::FileDialog::new()
                .set_directory(&start)
                .add_filter("mission files", &["plan", "waypoints", "txt", "mission"]);
            let chosen = if save {
                dialog.set_file_name("mission.plan").save_file()
            } else {
                dialog.pick_file()
            };
            let report = match chosen {
                Some(path) if save => Background::PlanPicked { path, save: true },
                Some(path) => Background::PlanPicked { path, save: false },
                None => Background::PlanStatus(
                    "no file chosen (without a desktop file dialog, type the path)".to_owned(),
                ),
            };
            sender.send(report).ok();
        });
    }

    pub(super) fn open_plan(&mut self, path: PathBuf) {
        self.in_background(move |sender| {
            let report = match std::fs::read_to_string(&path) {
                Err(error) => {
                    Background::PlanStatus(format!("cannot read {}: {error}", path.display()))
                }
                Ok(text) => match Plan::parse(&text) {
                    Ok(plan) => Background::PlanOpened(path, Box::new(plan)),
                    // The editor's plan stays as it was.
                    Err(error) => {
                        Background::PlanStatus(format!("{} not opened: {error}", path.display()))
                    }
                },
            };
            sender.send(report).ok();
        });
    }

    fn save_plan(&mut self, path: PathBuf) {
        let Some(format) = Format::of_path(&path) else {
            self.ui_state.plan.status = Some(format!(
                "{}: name it .plan, .waypoints or .txt to say the format",
                path.display()
            ));
            return;
        };
        let text = match self.ui_state.plan.plan.write(format) {
            Ok(text) => text,
            Err(error) => {
                self.ui_state.plan.status = Some(format!("not saved: {error}"));
                return;
            }
        };
        self.in_background(move |sender| {
            let report = match crate::capture::write_private_atomic(&path, text.as_bytes()) {
                Ok(()) => Background::PlanSaved(path),
                Err(error) => {
                    Background::PlanStatus(format!("cannot save {}: {error}", path.display()))
                }
            };
            sender.send(report).ok();
        });
    }

    /// A helper thread's report about a plan file.
    pub(super) fn plan_background(&mut self, report: Background) {
        let editor = &mut self.ui_state.plan;
        match report {
            Background::PlanPicked { path, save } => {
                editor.path = path.display().to_string();
                if save {
                    self.save_plan(path);
                } else {
                    self.open_plan(path);
                }
            }
            Background::PlanOpened(path, plan) => {
                let stats = crate::mission::stats::Stats::of(&plan);
                editor.status = Some(format!(
                    "opened {}: {} items, {} fence circles, {} fence polygons, {} rally points, {:.0} m",
                    path.display(),
                    plan.items.len(),
                    plan.fence.circles.len(),
                    plan.fence.polygons.len(),
                    plan.rally.len(),
                    stats.distance_m,
                ));
                editor.plan = *plan;
                editor.path = path.display().to_string();
                editor.selected = None;
                editor.drawing.clear();
                editor.dirty = false;
            }
            Background::PlanSaved(path) => {
                editor.status = Some(format!("saved {}", path.display()));
                editor.dirty = false;
            }
            Background::PlanStatus(words) => editor.status = Some(words),
            _ => {}
        }
    }
}
