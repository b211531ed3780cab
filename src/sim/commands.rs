//! The simulated vehicle's side of the command protocol: COMMAND_LONG, COMMAND_INT and
//! guided MISSION_ITEM_INT, answered like ArduCopter answers them (an ACK first, texts after).

use mavlink::dialects::ardupilotmega as apm;

use super::model::{self, Mode, Point, Refusal};
use super::telemetry::{statustext, stream_members};
use super::{SimVehicle, REBOOT_S, SYSTEM_ID};
use crate::protocol::frame::FrameHeader;
use crate::protocol::MavMessage;

impl SimVehicle {
    /// The answer to one message from the ground station, if it gets one.
    #[allow(deprecated)] // REQUEST_DATA_STREAM: what ArduPilot still obeys
    pub(super) fn answer(
        &mut self,
        header: &FrameHeader,
        message: MavMessage,
    ) -> Option<MavMessage> {
        let for_us = |system: u8| system == SYSTEM_ID || system == 0;
        match message {
            MavMessage::HEARTBEAT(_) if !self.gcs_seen => {
                self.gcs_seen = true;
                Some(statustext(
                    apm::MavSeverity::MAV_SEVERITY_INFO,
                    "Ground station connected",
                ))
            }
            MavMessage::REQUEST_DATA_STREAM(request) if for_us(request.target_system) => {
                let rate = if request.start_stop == 0 {
                    0.0
                } else {
                    f64::from(request.req_message_rate)
                };
                for &id in stream_members(request.req_stream_id) {
                    self.schedule.set_rate(id, rate);
                }
                None
            }
            MavMessage::COMMAND_LONG(command) if for_us(command.target_system) => {
                self.pilot.hand_over();
                let result = self.command_long(&command);
                Some(ack(header, command.command, result))
            }
            MavMessage::COMMAND_INT(command) if for_us(command.target_system) => {
                self.pilot.hand_over();
                let result = self.command_int(&command);
                Some(ack(header, command.command, result))
            }
            MavMessage::MISSION_SET_CURRENT(set) if for_us(set.target_system) => {
                // No ACK for this message: the vehicle answers with MISSION_CURRENT.
                if self.model.auto.set_current(set.seq) {
                    None
                } else {
                    Some(statustext(
                        apm::MavSeverity::MAV_SEVERITY_WARNING,
                        "Mission: no such item",
                    ))
                }
            }
            MavMessage::MISSION_ITEM_INT(item)
                if for_us(item.target_system) && item.current == 2 =>
            {
                self.pilot.hand_over();
                let result = match self.go_to(item.frame, item.x, item.y, item.z) {
                    Ok(()) => apm::MavMissionResult::MAV_MISSION_ACCEPTED,
                    Err(_) => apm::MavMissionResult::MAV_MISSION_ERROR,
                };
                Some(MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
                    target_system: header.system_id,
                    target_component: header.component_id,
                    mavtype: result,
                    mission_type: apm::MavMissionType::MAV_MISSION_TYPE_MISSION,
                    opaque_id: 0,
                }))
            }
            _ => None,
        }
    }

    fn command_long(&mut self, command: &apm::COMMAND_LONG_DATA) -> apm::MavResult {
        use apm::MavCmd::*;
        let model = &mut self.model;
        let outcome = match command.command {
            MAV_CMD_COMPONENT_ARM_DISARM if command.param1 == 1.0 => model.arm(),
            MAV_CMD_COMPONENT_ARM_DISARM => model.disarm(command.param2 == 21196.0),
            MAV_CMD_DO_SET_MODE => match Mode::from_number(command.param2 as u32) {
                Some(mode) => model.set_mode(mode),
                None => Err(Refusal {
                    denied: false,
                    text: None,
                }),
            },
            MAV_CMD_NAV_TAKEOFF => model.takeoff(f64::from(command.param7)),
            MAV_CMD_NAV_LAND => model.set_mode(Mode::Land),
            MAV_CMD_NAV_RETURN_TO_LAUNCH => model.set_mode(Mode::Rtl),
            MAV_CMD_MISSION_START => model.set_mode(Mode::Auto).map(|()| {
                if model.armed && model.landed {
                    model.landed = false;
                }
            }),
            MAV_CMD_DO_SET_MISSION_CURRENT => {
                let seq = command.param1;
                if command.param2 == 1.0 {
                    model.auto.restart();
                }
                // −1: keep the current item (only the reset, if asked).
                if seq == -1.0 || (seq >= 0.0 && model.auto.set_current(seq as u16)) {
                    Ok(())
                } else {
                    Err(Refusal {
                        denied: true,
                        text: None,
                    })
                }
            }
            MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN if command.param1 == 1.0 => {
                if model.armed {
                    Err(Refusal {
                        denied: false,
                        text: None,
                    })
                } else {
                    self.rebooting_until_s = Some(self.now_s + REBOOT_S);
                    Ok(())
                }
            }
            MAV_CMD_SET_MESSAGE_INTERVAL => {
                let rate = match command.param2 {
                    interval if interval > 0.0 => 1e6 / f64::from(interval),
                    _ => 0.0,
                };
                if self.schedule.set_rate(command.param1 as u32, rate) {
                    Ok(())
                } else {
                    Err(Refusal {
                        denied: true,
                        text: None,
                    })
                }
            }
            _ => return apm::MavResult::MAV_RESULT_UNSUPPORTED,
        };
        result_of(outcome)
    }

    fn command_int(&mut self, command: &apm::COMMAND_INT_DATA) -> apm::MavResult {
        match command.command {
            apm::MavCmd::MAV_CMD_DO_REPOSITION => {
                result_of(self.go_to(command.frame, command.x, command.y, command.z))
            }
            _ => apm::MavResult::MAV_RESULT_UNSUPPORTED,
        }
    }

    /// A guided "fly there" to a point in degrees × 10⁷ and metres above home.
    #[allow(deprecated)] // the _INT frames: still what older ground stations send
    fn go_to(&mut self, frame: apm::MavFrame, x: i32, y: i32, z: f32) -> Result<(), Refusal> {
        let relative = matches!(
            frame,
            apm::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT
                | apm::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
        );
        if !relative || x == 0 && y == 0 {
            return Err(Refusal {
                denied: true,
                text: None,
            });
        }
        let (north_m, east_m) = model::lat_lon_to_offset(f64::from(x) / 1e7, f64::from(y) / 1e7);
        self.model.go_to(Point {
            north_m,
            east_m,
            alt_m: f64::from(z),
        })
    }
}

fn result_of(outcome: Result<(), Refusal>) -> apm::MavResult {
    match outcome {
        Ok(()) => apm::MavResult::MAV_RESULT_ACCEPTED,
        Err(Refusal { denied: true, .. }) => apm::MavResult::MAV_RESULT_DENIED,
        Err(_) => apm::MavResult::MAV_RESULT_FAILED,
    }
}

/// A COMMAND_ACK to the sender of `header`, as ArduPilot addresses it.
fn ack(header: &FrameHeader, command: apm::MavCmd, result: apm::MavResult) -> MavMessage {
    MavMessage::COMMAND_ACK(apm::COMMAND_ACK_DATA {
        command,
        result,
        progress: 0,
        result_param2: 0,
        target_system: header.system_id,
        target_component: header.component_id,
    })
}
