//! The live link from the window: connecting, the operator's requests to the vehicle, the
//! session's events, and the map's tiles.

use std::time::Instant;

use super::{AirlockApp, NO_TILES};
use crate::capture::RecordingNews;
use crate::link::Baud;
use crate::privacy;
use crate::protocol::services::{Action, Request, Target};
use crate::session::{FlightDir, LinkState, SessionConfig, SessionEvent, SessionHandle};
use crate::tiles::{LocalTiles, TileSource};
use crate::ui::Plots;

impl AirlockApp {
    pub(super) fn connect(&mut self, port: String, baud: Baud) {
        self.disconnect();
        // A new flight starts with a fresh view.
        self.view = self.fresh_view();
        self.plots = Plots::default();
        self.clock = None;
        self.plan_transfers = Default::default();
        let config = SessionConfig {
            port,
            baud,
            flight_dir: FlightDir::Under(self.flights_dir.clone()),
            duration: None,
            act_as_gcs: true,
            ask_telemetry: true,
            forward: None,
            signing: self.signing.clone(),
            seal: self.seal.clone(),
            inject: self.inject,
        };
        let ctx = self.ctx.clone();
        match SessionHandle::spawn(config, Box::new(move || ctx.request_repaint())) {
            Ok(session) => {
                self.session = Some(session);
                self.view.session_running = true;
                self.view.link_state = LinkState::Connecting;
            }
            Err(error) => self.problem(format!("cannot start the link: {error}")),
        }
    }

    /// Sends an operator's request to the vehicle; its outcome comes back as session events.
    /// Its id, when it went to a session.
    pub(super) fn request(
        &mut self,
        action: Action,
    ) -> Option<crate::protocol::services::RequestId> {
        let Some(session) = &self.session else {
            self.problem(format!("{}: not sent: not connected", action.describe()));
            return None;
        };
        // The vehicle on the screen is the one commanded.
        let target = self.view.vehicle.followed();
        let id = session.request(Request {
            target,
            action: action.clone(),
        });
        self.view.requests.asked(id, action, self.view.now_mono_us);
        Some(id)
    }

    pub(super) fn disconnect(&mut self) {
        if let Some(session) = self.session.take() {
            // Ask it to close its flight; its last events are drained on a helper thread so
            // the UI never waits for the files to be synced.
            session.request_stop();
            std::thread::spawn(move || drop(session));
        }
        self.view.session_running = false;
        self.view.link_state = LinkState::Disconnected;
    }

    pub(super) fn load_tiles(&mut self, path: &str) {
        self.tiles = None;
        self.tiles_status = NO_TILES.to_owned();
        if path.is_empty() {
            return;
        }
        let opened = TileSource::from_path(std::path::Path::new(path))
            .and_then(|source| LocalTiles::open(&source, &self.ctx));
        match opened {
            Ok(tiles) => {
                self.tiles = Some(Box::new(tiles));
                self.tiles_status = format!("local tiles: {path}");
            }
            Err(error) => {
                self.tiles_status = format!("no tiles ({error})");
                self.problem(format!("map tiles: {error}"));
            }
        }
    }

    pub(super) fn use_online_tiles(&mut self) {
        let url = self.settings.online_tiles_url.clone();
        let host = url.split('/').nth(2).unwrap_or(url.as_str()).to_owned();
        match privacy::request_permit("Online map tiles", &host) {
            Ok(permit) => {
                let cache = self.flights_dir.with_file_name("tile-cache");
                let tiles = crate::tiles::online_tiles(&url, cache, &self.ctx, &permit);
                self.tiles = Some(Box::new(tiles));
                self.tiles_status = format!("{}: {host}", crate::ui::map::ONLINE_PREFIX);
            }
            Err(refused) => self.problem(refused.to_string()),
        }
    }

    /// Shows and commands `target` from now on (its state builds up from its next messages).
    pub(super) fn follow_vehicle(&mut self, target: Target) {
        self.view.vehicle = crate::vehicle::VehicleState {
            system_id: Some(target.system_id),
            component_id: Some(target.component_id),
            ..Default::default()
        };
        // Its mission is its own: read it again.
        self.view.vehicle_plan = Default::default();
        self.plan_transfers.read_on_connect = false;
    }

    /// Makes the plots asked for at start whose message this is, for the vehicle that sent it.
    fn plot_when_heard(&mut self, header: &crate::protocol::FrameHeader) {
        let Some(name) = crate::protocol::dialect::message_name(header.message_id) else {
            return;
        };
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending_plots)
            .into_iter()
            .partition(|(message, _)| message == name);
        self.pending_plots = later;
        for (_, field) in now {
            let key = crate::ui::plots::FieldKey {
                system_id: header.system_id,
                component_id: header.component_id,
                message_id: header.message_id,
                message_name: name.to_owned(),
                field,
            };
            if !self.plots.contains(&key) {
                self.plots.toggle(key);
            }
        }
    }

    /// Applies one session event to the live view (the tests and benchmarks feed events here).
    pub fn apply_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::FlightStarted(dir) => self.view.flight_dir = Some(dir),
            SessionEvent::Link(state) => {
                if matches!(state, LinkState::Connected { .. })
                    && matches!(self.view.link_state, LinkState::Lost { .. })
                {
                    self.view.vehicle.link.reconnects += 1;
                }
                if matches!(state, LinkState::Disconnected | LinkState::Failed { .. }) {
                    self.view.session_running = false;
                }
                self.view.link_state = state;
            }
            SessionEvent::Bytes { mono_us, rx, tx } => {
                self.clock = Some((mono_us, Instant::now()));
                self.view.vehicle.note_bytes(mono_us, rx, tx);
            }
            SessionEvent::Message {
                wall_us,
                mono_us,
                header,
                message,
            } => {
                self.clock = Some((mono_us, Instant::now()));
                if let crate::protocol::MavMessage::HEARTBEAT(heartbeat) = message.as_ref() {
                    let target = Target {
                        system_id: header.system_id,
                        component_id: header.component_id,
                    };
                    if crate::vehicle::is_autopilot_heartbeat(heartbeat)
                        && !self.view.autopilots.contains(&target)
                    {
                        self.view.autopilots.push(target);
                        self.view.autopilots.sort();
                    }
                }
                self.view.vehicle.apply(wall_us, mono_us, &header, &message);
                if !self.plan_transfers.read_on_connect && self.view.vehicle.status.is_some() {
                    self.plan_transfers.read_on_connect = true;
                    self.read_vehicle_mission();
                }
                if !self.pending_plots.is_empty() {
                    self.plot_when_heard(&header);
                }
                self.plots.observe(
                    mono_us,
                    header.system_id,
                    header.component_id,
                    header.message_id,
                    &message,
                );
            }
            SessionEvent::Framing(stats) => self.view.framing = stats,
            SessionEvent::Recorded { bytes } => self.view.recorded_bytes = bytes,
            SessionEvent::Problem(text) => self.problem(text),
            SessionEvent::Signing(status) => self.view.signing = Some(status),
            SessionEvent::Recording(news) => {
                self.view.recording_paused = match &news {
                    RecordingNews::Paused { headline, detail } => {
                        Some(format!("{headline}\n{detail}"))
                    }
                    RecordingNews::Resumed { not_kept, .. } => {
                        self.view.not_kept_bytes += not_kept.bytes();
                        None
                    }
                };
                self.problem(news.to_string());
            }
            SessionEvent::Service(event) => {
                self.view.requests.apply(&event);
                self.plan_service_event(&event);
                self.params_service_event(&event);
                self.logs_service_event(&event);
            }
            SessionEvent::Closed(_) => {
                self.view.session_running = false;
                self.view.link_state = LinkState::Disconnected;
            }
        }
    }
}
