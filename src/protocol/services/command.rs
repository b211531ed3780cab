//! One command exchange of the MAVLink command protocol, without I/O.
//!
//! An [`Exchange`] sends a COMMAND_LONG or COMMAND_INT (or, for the guided "go to" fallback, a
//! MISSION_ITEM_INT with `current = 2`) and waits for the answer that belongs to it: a
//! COMMAND_ACK with the same command from the target system (or a MISSION_ACK for the guided
//! item). Silence is retried — COMMAND_LONG with `confirmation` + 1 — and ends as timed out
//! after the last retry; `IN_PROGRESS` answers stop the retries and move the deadline. An answer
//! after the end is not this exchange's any more (the hub drops it). It never reads a clock: the
//! caller passes the time in.

use mavlink::dialects::ardupilotmega as apm;

use super::Target;
use crate::protocol::{FrameHeader, MavMessage, GCS_SYSTEM_ID};

/// How long one attempt waits for its answer.
pub const ACK_TIMEOUT_US: u64 = 1_500_000;
/// Attempts after the first one.
pub const RETRIES: u32 = 3;
/// How long a command that answered `IN_PROGRESS` may stay silent before it is given up.
pub const IN_PROGRESS_TIMEOUT_US: u64 = 10_000_000;

/// What goes on the wire for one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Wire {
    /// COMMAND_LONG with its seven parameters.
    Long {
        command: apm::MavCmd,
        params: [f32; 7],
    },
    /// COMMAND_INT: four parameters and a position (degrees × 10⁷, altitude in metres).
    Int {
        command: apm::MavCmd,
        frame: apm::MavFrame,
        params: [f32; 4],
        x: i32,
        y: i32,
        z: f32,
    },
    /// A guided-mode target as MISSION_ITEM_INT with `current = 2`, answered by MISSION_ACK.
    GuidedItem {
        frame: apm::MavFrame,
        x: i32,
        y: i32,
        z: f32,
    },
}

impl Wire {
    /// The command the answer names (NAV_WAYPOINT for a guided item).
    pub fn command(&self) -> apm::MavCmd {
        match self {
            Self::Long { command, .. } | Self::Int { command, .. } => *command,
            Self::GuidedItem { .. } => apm::MavCmd::MAV_CMD_NAV_WAYPOINT,
        }
    }

    /// The message for attempt number `attempt` (0 for the first).
    fn message(&self, target: Target, attempt: u32) -> MavMessage {
        match *self {
            Self::Long { command, params } => MavMessage::COMMAND_LONG(apm::COMMAND_LONG_DATA {
                param1: params[0],
                param2: params[1],
                param3: params[2],
                param4: params[3],
                param5: params[4],
                param6: params[5],
                param7: params[6],
                command,
                target_system: target.system_id,
                target_component: target.component_id,
                confirmation: u8::try_from(attempt).unwrap_or(u8::MAX),
            }),
            Self::Int {
                command,
                frame,
                params,
                x,
                y,
                z,
            } => MavMessage::COMMAND_INT(apm::COMMAND_INT_DATA {
                param1: params[0],
                param2: params[1],
                param3: params[2],
                param4: params[3],
                x,
                y,
                z,
                command,
                target_system: target.system_id,
                target_component: target.component_id,
                frame,
                current: 0,
                autocontinue: 0,
            }),
            Self::GuidedItem { frame, x, y, z } => {
                MavMessage::MISSION_ITEM_INT(apm::MISSION_ITEM_INT_DATA {
                    param1: 0.0,
                    param2: 0.0,
                    param3: 0.0,
                    param4: f32::NAN,
                    x,
                    y,
                    z,
                    seq: 0,
                    command: apm::MavCmd::MAV_CMD_NAV_WAYPOINT,
                    target_system: target.system_id,
                    target_component: target.component_id,
                    frame,
                    current: 2,
                    autocontinue: 0,
                    mission_type: apm::MavMissionType::MAV_MISSION_TYPE_MISSION,
                })
            }
        }
    }
}

/// The vehicle's final word on an exchange.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Command(apm::MavResult),
    Mission(apm::MavMissionResult),
}

impl Answer {
    pub fn accepted(self) -> bool {
        matches!(
            self,
            Self::Command(apm::MavResult::MAV_RESULT_ACCEPTED)
                | Self::Mission(apm::MavMissionResult::MAV_MISSION_ACCEPTED)
        )
    }

    pub fn unsupported(self) -> bool {
        matches!(self, Self::Command(apm::MavResult::MAV_RESULT_UNSUPPORTED))
    }

    /// The result's name without its prefix (`DENIED`, `FAILED`, `ERROR`…).
    pub fn name(self) -> String {
        let full = match self {
            Self::Command(result) => format!("{result:?}"),
            Self::Mission(result) => format!("{result:?}"),
        };
        full.trim_start_matches("MAV_RESULT_")
            .trim_start_matches("MAV_MISSION_")
            .to_owned()
    }
}

/// What an exchange reports after a message or a tick.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// Nothing new.
    Idle,
    /// Send this (the first attempt or a retry).
    Send(Box<MavMessage>),
    /// The vehicle is working on it (`IN_PROGRESS`), with its percentage when it gives one.
    Progress(Option<u8>),
    /// The vehicle answered for good.
    Answered(Answer),
    /// No answer after the last attempt.
    TimedOut { attempts: u32 },
}

/// One command in flight.
#[derive(Debug, Clone)]
pub struct Exchange {
    wire: Wire,
    target: Target,
    /// Attempts sent so far.
    attempts: u32,
    deadline_us: u64,
    in_progress: bool,
    /// When the first attempt went out.
    pub started_us: u64,
}

impl Exchange {
    /// A new exchange; its first message comes from [`Exchange::start`].
    pub fn new(wire: Wire, target: Target) -> Self {
        Self {
            wire,
            target,
            attempts: 0,
            deadline_us: 0,
            in_progress: false,
            started_us: 0,
        }
    }

    pub fn wire(&self) -> &Wire {
        &self.wire
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// The first attempt.
    pub fn start(&mut self, now_us: u64) -> MavMessage {
        self.started_us = now_us;
        self.attempt(now_us)
    }

    fn attempt(&mut self, now_us: u64) -> MavMessage {
        let message = self.wire.message(self.target, self.attempts);
        self.attempts += 1;
        self.deadline_us = now_us + ACK_TIMEOUT_US;
        message
    }

    /// Whether a message from `header` answers this exchange.
    fn answer_of(&self, header: &FrameHeader, message: &MavMessage) -> Option<(Answer, u8)> {
        if header.system_id != self.target.system_id {
            return None;
        }
        // A target of 0 means any component; otherwise the answer comes from the one asked.
        if self.target.component_id != 0 && header.component_id != self.target.component_id {
            return None;
        }
        let for_us = |system: u8| system == 0 || system == GCS_SYSTEM_ID;
        match (message, &self.wire) {
            (MavMessage::COMMAND_ACK(ack), Wire::Long { .. } | Wire::Int { .. })
                if ack.command == self.wire.command() && for_us(ack.target_system) =>
            {
                Some((Answer::Command(ack.result), ack.progress))
            }
            (MavMessage::MISSION_ACK(ack), Wire::GuidedItem { .. })
                if ack.mission_type == apm::MavMissionType::MAV_MISSION_TYPE_MISSION
                    && for_us(ack.target_system) =>
            {
                Some((Answer::Mission(ack.mavtype), 0))
            }
            _ => None,
        }
    }

    /// Takes a message from the vehicle.
    pub fn on_message(&mut self, now_us: u64, header: &FrameHeader, message: &MavMessage) -> Poll {
        let Some((answer, progress)) = self.answer_of(header, message) else {
            return Poll::Idle;
        };
        if answer == Answer::Command(apm::MavResult::MAV_RESULT_IN_PROGRESS) {
            self.in_progress = true;
            self.deadline_us = now_us + IN_PROGRESS_TIMEOUT_US;
            // 255 means "no percentage" in COMMAND_ACK.progress.
            return Poll::Progress((progress <= 100).then_some(progress));
        }
        Poll::Answered(answer)
    }

    /// Moves the clock: a retry or the end when the deadline has passed.
    pub fn tick(&mut self, now_us: u64) -> Poll {
        if now_us < self.deadline_us {
            return Poll::Idle;
        }
        if self.in_progress || self.attempts > RETRIES {
            return Poll::TimedOut {
                attempts: self.attempts,
            };
        }
        Poll::Send(Box::new(self.attempt(now_us)))
    }
}
