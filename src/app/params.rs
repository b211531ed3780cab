//! The parameters view's work: fetches and writes through the session, every fetch kept in
//! the flight's folder, parameter files read and written on helper threads.

use std::path::PathBuf;

use super::review::Background;
use super::AirlockApp;
use crate::params::files::{self, ParamFormat};
use crate::params::ParamSet;
use crate::protocol::services::{Action, ServiceEvent};
use crate::ui::params::{FileDiff, ParamsAction};

impl AirlockApp {
    pub(super) fn params_action(&mut self, action: ParamsAction) {
        match action {
            ParamsAction::Fetch => {
                self.view.params_fetch = Some("fetching…".to_owned());
                self.request(Action::FetchParams { ftp: true });
            }
            ParamsAction::Write(values) => {
                for (name, _) in &values {
                    self.view.param_results.remove(name);
                }
                self.request(Action::SetParams { values });
            }
            ParamsAction::PickLoad => self.pick_params(false),
            ParamsAction::PickSave => self.pick_params(true),
            ParamsAction::Load(path) => self.load_params(path),
            ParamsAction::Save(path) => self.save_params(path),
            ParamsAction::LoadDocs(path) => self.load_param_docs(path),
        }
    }

    /// Reads the newest parameter fetch kept with the flight under review, on a helper thread:
    /// the configuration the vehicle had, shown in the parameters view.
    pub(super) fn read_params_of_flight(&self) {
        let Some(player) = &self.player else {
            return;
        };
        let source = player.source.clone();
        let generation = self.review_generation;
        self.in_background(move |sender| {
            // A flight folder, or a log inside one.
            let dir = if source.is_dir() {
                Some(source.as_path())
            } else {
                source.parent()
            };
            let kept = match dir.map(files::kept_in) {
                None => Ok(None),
                Some(Err(error)) => Err(error.to_string()),
                Some(Ok(mut kept)) => match kept.pop() {
                    None => Ok(None),
                    Some(newest) => {
                        files::read_path(&newest).map(|(path, set)| Some((path, Box::new(set))))
                    }
                },
            };
            sender
                .send(Background::ParamsOfFlight(generation, kept))
                .ok();
        });
    }

    /// Reads parameter documentation from a local file on a helper thread.
    pub(super) fn load_param_docs(&self, path: PathBuf) {
        self.in_background(move |sender| {
            let report = std::fs::read_to_string(&path)
                .map_err(|error| error.to_string())
                .and_then(|text| crate::params::meta::ParamDocs::parse(&text))
                .map_err(|error| format!("{}: {error}", path.display()));
            sender
                .send(Background::ParamDocs(report.map(Box::new)))
                .ok();
        });
    }

    /// Follows the services' events: a fetch's set (kept in the flight folder), each write.
    pub(super) fn params_service_event(&mut self, event: &ServiceEvent) {
        match event {
            ServiceEvent::Params {
                params,
                total,
                missing,
                via,
                ..
            } => {
                let set: ParamSet = params.iter().cloned().collect();
                let complete = missing.is_empty() && set.len() >= usize::from(*total);
                let mut words = format!("{} of {total} parameters by {via}", set.len());
                if !complete {
                    words.push_str(&format!("; missing indices {missing:?}"));
                }
                self.view.params_fetch = Some(words);
                if let Some(dir) = self.view.flight_dir.clone() {
                    self.keep_params(dir, &set, complete);
                }
                self.view.vehicle_params = set;
            }
            ServiceEvent::ParamValue { name, result, .. } => match result {
                Ok(param) => {
                    if let Some(kept) = self.view.vehicle_params.params.get_mut(name) {
                        kept.value = param.value;
                    }
                    let pending = &mut self.ui_state.params.pending;
                    if pending
                        .get(name)
                        .is_some_and(|v| crate::params::same_value(*v, param.value))
                    {
                        pending.remove(name);
                    }
                    if let Some(diff) = &mut self.ui_state.params.diff {
                        diff.rows.retain(|(change, _)| &change.name != name);
                    }
                    self.view
                        .param_results
                        .insert(name.clone(), Ok(param.value));
                }
                Err(why) => {
                    self.view
                        .param_results
                        .insert(name.clone(), Err(why.clone()));
                }
            },
            _ => {}
        }
    }

    /// Writes a fetch into the flight folder, owner-only, on a helper thread.
    fn keep_params(&self, dir: PathBuf, set: &ParamSet, complete: bool) {
        let name = crate::params::kept_name(std::time::SystemTime::now(), complete);
        let text = files::write(set, ParamFormat::QGroundControl, (1, 1));
        self.in_background(move |sender| {
            let result = text.map_err(|e| e.to_string()).and_then(|text| {
                crate::capture::write_private_atomic(&dir.join(&name), text.as_bytes())
                    .map_err(|e| e.to_string())
            });
            if let Err(why) = result {
                let words = format!("cannot keep the parameters with the flight: {why}");
                sender.send(Background::Status(words)).ok();
            }
        });
    }

    fn pick_params(&self, save: bool) {
        let start = self.flights_dir.clone();
        self.in_background(move |sender| {
            let dialog = rfd::FileDialog::new()
                .set_directory(&start)
                .add_filter("parameter files", &["param", "params", "parm"]);
            let chosen = if save {
                dialog.set_file_name("vehicle.params").save_file()
            } else {
                dialog.pick_file()
            };
            let report = match chosen {
                Some(path) => Background::ParamsPicked { path, save },
                None => Background::ParamsStatus(
                    "no file chosen (without a desktop file dialog, type the path)".to_owned(),
                ),
            };
            sender.send(report).ok();
        });
    }

    /// Reads a parameter file, or the newest fetch kept in a flight folder (to compare two
    /// flights), on a helper thread. A file that does not read changes nothing.
    fn load_params(&mut self, path: PathBuf) {
        self.in_background(move |sender| {
            let report = match files::read_path(&path) {
                Ok((file, set)) => Background::ParamsLoaded(file, Box::new(set)),
                Err(why) => Background::ParamsStatus(format!("not loaded: {why}")),
            };
            sender.send(report).ok();
        });
    }

    fn save_params(&mut self, path: PathBuf) {
        let Some(format) = ParamFormat::of_path(&path) else {
            self.ui_state.params.status = Some(format!(
                "{}: name it .param, .params or .parm to say the format",
                path.display()
            ));
            return;
        };
        let text = match files::write(&self.view.vehicle_params, format, (1, 1)) {
            Ok(text) => text,
            Err(error) => {
                self.ui_state.params.status = Some(format!("not saved: {error}"));
                return;
            }
        };
        self.in_background(move |sender| {
            let words = match crate::capture::write_private_atomic(&path, text.as_bytes()) {
                Ok(()) => format!("saved {}", path.display()),
                Err(error) => format!("cannot save {}: {error}", path.display()),
            };
            sender.send(Background::ParamsStatus(words)).ok();
        });
    }

    /// A helper thread's report about a parameter file.
    pub(super) fn params_background(&mut self, report: Background) {
        let state = &mut self.ui_state.params;
        match report {
            Background::ParamsPicked { path, save } => {
                state.path = path.display().to_string();
                if save {
                    self.save_params(path);
                } else {
                    self.load_params(path);
                }
            }
            Background::ParamsOfFlight(generation, kept) => {
                if generation != self.review_generation || self.view.review.is_none() {
                    return;
                }
                self.view.params_fetch = Some(match kept {
                    Ok(Some((path, set))) => {
                        let words = format!(
                            "kept with this flight: {}, {} parameters",
                            path.file_name()
                                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                            set.len()
                        );
                        self.view.vehicle_params = *set;
                        words
                    }
                    Ok(None) => "no parameter fetch was kept with this flight".to_owned(),
                    Err(why) => format!("the flight's parameters: {why}"),
                });
            }
            Background::ParamsLoaded(path, set) => {
                let reviewing = self.view.review.is_some();
                if self.view.vehicle_params.is_empty() {
                    state.status = Some(if reviewing {
                        "this flight kept no parameters to compare the file with".to_owned()
                    } else {
                        "fetch the vehicle's parameters first, to compare the file with them"
                            .to_owned()
                    });
                    return;
                }
                let diff =
                    FileDiff::of(path.display().to_string(), &self.view.vehicle_params, &set);
                state.status = Some(format!(
                    "{}: {} parameters, {} differ from {}",
                    path.display(),
                    set.len(),
                    diff.rows.len(),
                    crate::ui::params::compared_with(reviewing)
                ));
                state.path = path.display().to_string();
                state.diff = Some(diff);
            }
            Background::ParamsStatus(words) => state.status = Some(words),
            Background::ParamDocs(Ok(docs)) => {
                state.status = Some(format!("documentation of {} parameters", docs.len()));
                state.docs = Some(std::sync::Arc::new(*docs));
            }
            Background::ParamDocs(Err(why)) => {
                state.status = Some(format!("no documentation read: {why}"));
            }
            _ => {}
        }
    }
}
