//! The operator's requests and how each went: a plain-data log fed by the services' events,
//! for the command bar (what is pending, the last outcome in words) and the CLI.

use crate::protocol::services::{Action, Outcome, RequestId, ServiceEvent};

/// Most requests kept in the log.
const MAX_KEPT: usize = 50;

/// Where a request stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestState {
    /// Sent; the step being asked and the vehicle's progress when it gives one.
    Pending {
        step: Option<String>,
        percent: Option<u8>,
    },
    Done(Outcome),
}

/// One request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestEntry {
    pub id: RequestId,
    pub action: Action,
    /// When it was asked (the session's monotonic clock, µs).
    pub asked_mono_us: u64,
    pub state: RequestState,
}

impl RequestEntry {
    /// The request and where it stands, in words: `arm: refused (arm: FAILED): PreArm: …`.
    pub fn words(&self) -> String {
        let what = self.action.describe();
        match &self.state {
            RequestState::Pending { step, percent } => {
                let mut words = format!("{what}: waiting for the vehicle");
                if let Some(step) = step {
                    words = format!("{what}: {step}…");
                }
                if let Some(percent) = percent {
                    words.push_str(&format!(" {percent} %"));
                }
                words
            }
            RequestState::Done(Outcome::Accepted)
                if matches!(self.action, Action::UploadMission { .. }) =>
            {
                format!("{what}: uploaded and verified")
            }
            RequestState::Done(outcome) => format!("{what}: {outcome}"),
        }
    }
}

/// The requests of a session, newest last.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    pub entries: Vec<RequestEntry>,
}

impl RequestLog {
    /// Notes a request as asked.
    pub fn asked(&mut self, id: RequestId, action: Action, mono_us: u64) {
        self.entries.push(RequestEntry {
            id,
            action,
            asked_mono_us: mono_us,
            state: RequestState::Pending {
                step: None,
                percent: None,
            },
        });
        if self.entries.len() > MAX_KEPT {
            self.entries.remove(0);
        }
    }

    /// Applies one event of the services.
    pub fn apply(&mut self, event: &ServiceEvent) {
        let id = match event {
            ServiceEvent::Step { id, .. }
            | ServiceEvent::Progress { id, .. }
            | ServiceEvent::Mission { id, .. }
            | ServiceEvent::Params { id, .. }
            | ServiceEvent::ParamValue { id, .. }
            | ServiceEvent::Logs { id, .. }
            | ServiceEvent::LogData { id, .. }
            | ServiceEvent::Finished { id, .. } => *id,
        };
        let Some(entry) = self.entries.iter_mut().find(|entry| entry.id == id) else {
            return;
        };
        match (event, &mut entry.state) {
            (
                ServiceEvent::Step { step, .. },
                RequestState::Pending {
                    step: current,
                    percent,
                },
            ) => {
                *current = Some(step.clone());
                *percent = None;
            }
            (
                ServiceEvent::Progress { percent, .. },
                RequestState::Pending {
                    percent: current, ..
                },
            ) => {
                *current = *percent;
            }
            (ServiceEvent::Finished { outcome, .. }, _) => {
                entry.state = RequestState::Done(outcome.clone());
            }
            _ => {}
        }
    }

    /// The newest request.
    pub fn latest(&self) -> Option<&RequestEntry> {
        self.entries.last()
    }
}
