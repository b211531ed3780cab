//! The ground station's presence on the link: its heartbeat, once a second, and the telemetry
//! it asks each ArduPilot vehicle for (ArduPilot streams nothing until asked). A vehicle whose
//! heartbeat stopped for a while and came back (a reboot, a radio out of range) is asked again.

use std::collections::{BTreeMap, BTreeSet};

use mavlink::dialects::ardupilotmega as apm;

use super::{SeenVehicle, Target};
use crate::protocol::{outgoing, MavMessage};

/// How often the heartbeat goes out.
pub const HEARTBEAT_INTERVAL_US: u64 = 1_000_000;
/// A vehicle silent this long is asked for telemetry again when it comes back.
const SILENCE_US: u64 = 5_000_000;

/// Heartbeat and stream requests; see the module documentation.
#[derive(Debug, Clone)]
pub struct Presence {
    act_as_gcs: bool,
    /// Ask ArduPilot vehicles for telemetry streams (a transfer-only session does not: the
    /// streams would share the radio with the transfer, and ArduPilot keeps the rates asked for
    /// as parameters).
    ask_telemetry: bool,
    next_heartbeat_us: Option<u64>,
    /// Vehicles asked for telemetry, with their heartbeat time then.
    asked: BTreeMap<Target, u64>,
    /// Systems asked (streams are per system).
    asked_systems: BTreeSet<u8>,
}

impl Presence {
    pub fn new(act_as_gcs: bool) -> Self {
        Self {
            act_as_gcs,
            ask_telemetry: true,
            next_heartbeat_us: None,
            asked: BTreeMap::new(),
            asked_systems: BTreeSet::new(),
        }
    }

    /// Whether ArduPilot vehicles are asked for telemetry (yes unless told otherwise).
    pub fn set_ask_telemetry(&mut self, ask: bool) {
        self.ask_telemetry = ask;
    }

    /// A (new) connection: heartbeat at once, streams asked for again.
    pub fn link_up(&mut self, now_us: u64) {
        self.next_heartbeat_us = Some(now_us);
        self.asked.clear();
        self.asked_systems.clear();
    }

    /// Whether this ground station asked `system_id` for telemetry.
    pub fn asked_system(&self, system_id: u8) -> bool {
        self.asked_systems.contains(&system_id)
    }

    /// `system_id`'s telemetry is asked for again at the next tick.
    pub fn forget_system(&mut self, system_id: u8) {
        self.asked_systems.remove(&system_id);
    }

    pub fn link_down(&mut self) {
        self.next_heartbeat_us = None;
    }

    /// Messages due at `now_us`.
    pub fn tick(
        &mut self,
        now_us: u64,
        vehicles: &BTreeMap<Target, SeenVehicle>,
        paused: &BTreeSet<u8>,
    ) -> Vec<MavMessage> {
        let mut out = Vec::new();
        if !self.act_as_gcs {
            return out;
        }
        if let Some(next) = self.next_heartbeat_us {
            if now_us >= next {
                out.push(outgoing::gcs_heartbeat());
                // Keep the beat on the second; after a stall, start again from now.
                let due = next + HEARTBEAT_INTERVAL_US;
                self.next_heartbeat_us = Some(if due <= now_us {
                    now_us + HEARTBEAT_INTERVAL_US
                } else {
                    due
                });
            }
        }
        for (target, seen) in vehicles {
            if !self.ask_telemetry
                || seen.autopilot != apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA
                || paused.contains(&target.system_id)
            {
                continue;
            }
            let back_after_silence = self
                .asked
                .get(target)
                .is_some_and(|&last| seen.last_heartbeat_us.saturating_sub(last) > SILENCE_US);
            if back_after_silence {
                self.asked_systems.remove(&target.system_id);
            }
            self.asked.insert(*target, seen.last_heartbeat_us);
            if self.asked_systems.insert(target.system_id) {
                out.extend(outgoing::request_telemetry(
                    target.system_id,
                    target.component_id,
                ));
            }
        }
        out
    }
}
