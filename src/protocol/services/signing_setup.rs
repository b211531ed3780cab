//! Installing the signing key on a vehicle, or turning its signing off: SETUP_SIGNING.
//!
//! SETUP_SIGNING has no answer of its own. ArduPilot keeps the key and signs every frame it
//! sends from then on (an all-zero key with timestamp 0 turns signing off), so the vehicle's
//! next heartbeat tells whether it took it: signed after an install, unsigned after a removal.
//! When that heartbeat does not come the message goes again, [`ATTEMPTS`] times in all.
//!
//! The key is never part of a [`Request`](super::Request) (requests are logged and shown): the
//! hub holds the session's key and puts it in the message itself.

use mavlink::dialects::ardupilotmega as apm;

use super::{Action, Outbound, Outcome, RequestId, ServiceEvent, Target};
use crate::protocol::signing::SigningKey;
use crate::protocol::{FrameHeader, MavMessage};

/// How many times SETUP_SIGNING is sent before the request times out.
pub const ATTEMPTS: u32 = 3;
/// How long a heartbeat that shows the change is waited for after each attempt (ArduPilot
/// sends one a second).
pub const WAIT_US: u64 = 3_000_000;

/// Whether an action is one of these.
pub(super) fn handles(action: &Action) -> bool {
    matches!(
        action,
        Action::InstallSigning { .. } | Action::RemoveSigning
    )
}

struct Job {
    id: RequestId,
    target: Target,
    /// After an install the vehicle signs; after a removal it does not.
    want_signed: bool,
    message: MavMessage,
    attempts: u32,
    sent_us: u64,
}

impl super::ServiceJob for Job {
    fn request(&self) -> RequestId {
        self.id
    }
}

impl Job {
    fn send(&mut self, now_us: u64) -> Outbound {
        self.attempts += 1;
        self.sent_us = now_us;
        Outbound {
            message: self.message.clone(),
            request: Some(self.id),
        }
    }
}

/// The SETUP_SIGNING requests under way.
#[derive(Default)]
pub(super) struct SigningSetups {
    jobs: Vec<Job>,
}

impl SigningSetups {
    /// Starts an install or a removal for `target`; the first message to send, or why not.
    pub(super) fn begin(
        &mut self,
        now_us: u64,
        id: RequestId,
        target: Target,
        armed: bool,
        action: &Action,
        key: Option<&SigningKey>,
    ) -> Result<Vec<Outbound>, String> {
        if armed {
            return Err(
                "the vehicle is armed: its signing key is changed only on the ground".to_owned(),
            );
        }
        if self.jobs.iter().any(|job| job.target == target) {
            return Err(format!("the signing of {target} is already being changed"));
        }
        let (want_signed, initial_timestamp, secret_key) = match action {
            Action::InstallSigning { initial_timestamp } => {
                let Some(key) = key else {
                    return Err(
                        "no signing key is set (airlock signing set-passphrase or import-key)"
                            .to_owned(),
                    );
                };
                if *initial_timestamp == 0 {
                    return Err("a signing timestamp of 0 would turn signing off".to_owned());
                }
                (true, *initial_timestamp, *key.bytes())
            }
            // All zero: ArduPilot turns signing off.
            _ => (false, 0, [0; 32]),
        };
        let mut job = Job {
            id,
            target,
            want_signed,
            message: MavMessage::SETUP_SIGNING(apm::SETUP_SIGNING_DATA {
                initial_timestamp,
                target_system: target.system_id,
                target_component: target.component_id,
                secret_key,
            }),
            attempts: 0,
            sent_us: now_us,
        };
        let first = job.send(now_us);
        self.jobs.push(job);
        Ok(vec![first])
    }

    /// A heartbeat from the target that shows the change ends its request, accepted.
    pub(super) fn on_message(
        &mut self,
        _now_us: u64,
        header: &FrameHeader,
        message: &MavMessage,
    ) -> Vec<ServiceEvent> {
        if !matches!(message, MavMessage::HEARTBEAT(_)) {
            return Vec::new();
        }
        let mut events = Vec::new();
        self.jobs.retain(|job| {
            let from_target = header.system_id == job.target.system_id
                && header.component_id == job.target.component_id;
            if from_target && header.is_signed() == job.want_signed {
                events.push(ServiceEvent::Finished {
                    id: job.id,
                    outcome: Outcome::Accepted,
                });
                return false;
            }
            true
        });
        events
    }

    /// Sends again when no heartbeat showed the change in time; times out after the last try.
    pub(super) fn tick(&mut self, now_us: u64) -> (Vec<Outbound>, Vec<ServiceEvent>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        self.jobs.retain_mut(|job| {
            if now_us.saturating_sub(job.sent_us) < WAIT_US {
                return true;
            }
            if job.attempts < ATTEMPTS {
                out.push(job.send(now_us));
                return true;
            }
            let seen = if job.want_signed {
                "a signed heartbeat"
            } else {
                "an unsigned heartbeat"
            };
            events.push(ServiceEvent::Finished {
                id: job.id,
                outcome: Outcome::TimedOut {
                    step: format!("SETUP_SIGNING (waiting for {seen})"),
                    attempts: job.attempts,
                },
            });
            false
        });
        (out, events)
    }

    pub(super) fn len(&self) -> usize {
        self.jobs.len()
    }

    pub(super) fn remove(&mut self, id: RequestId) -> bool {
        super::take_job(&mut self.jobs, id).is_some()
    }

    pub(super) fn drain_ids(&mut self) -> Vec<RequestId> {
        super::drain_jobs(&mut self.jobs)
    }
}
