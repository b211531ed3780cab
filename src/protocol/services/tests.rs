//! The hub driven by a fake clock and a scripted vehicle: every way a command exchange can go
//! (answers, refusals, progress, losses both ways, duplicates, reordering, late answers, link
//! loss) ends in exactly one outcome.

use mavlink::dialects::ardupilotmega as apm;

use super::command::{ACK_TIMEOUT_US, IN_PROGRESS_TIMEOUT_US, RETRIES};
use super::*;

const STEP_US: u64 = 50_000;

/// A frame header from `system_id`:`component_id` (also for the mission transfer tests).
pub(crate) fn header(system_id: u8, component_id: u8) -> FrameHeader {
    FrameHeader::of_sender(system_id, component_id, 0)
}

fn heartbeat(
    mode: u32,
    armed: bool,
    mavtype: apm::MavType,
    autopilot: apm::MavAutopilot,
) -> MavMessage {
    let mut base_mode = apm::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED;
    if armed {
        base_mode |= apm::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
    }
    MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
        custom_mode: mode,
        mavtype,
        autopilot,
        base_mode,
        system_status: apm::MavState::MAV_STATE_STANDBY,
        mavlink_version: 3,
    })
}

pub(crate) fn copter(mode: u32, armed: bool) -> MavMessage {
    heartbeat(
        mode,
        armed,
        apm::MavType::MAV_TYPE_QUADROTOR,
        apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
    )
}

fn ack(command: apm::MavCmd, result: apm::MavResult, progress: u8) -> MavMessage {
    MavMessage::COMMAND_ACK(apm::COMMAND_ACK_DATA {
        command,
        result,
        progress,
        result_param2: 0,
        target_system: crate::protocol::GCS_SYSTEM_ID,
        target_component: crate::protocol::GCS_COMPONENT_ID,
    })
}

fn text(severity: apm::MavSeverity, words: &str) -> MavMessage {
    MavMessage::STATUSTEXT(apm::STATUSTEXT_DATA {
        severity,
        text: words.into(),
        id: 0,
        chunk_seq: 0,
    })
}

/// A hub on a live link with one ArduCopter (1:1) heard, and what it sent and said.
struct Rig {
    hub: Hub,
    now_us: u64,
    sent: Vec<(u64, MavMessage, Option<RequestId>)>,
    events: Vec<ServiceEvent>,
}

impl Rig {
    fn new() -> Self {
        Self::with_vehicle(copter(0, false))
    }

    fn with_vehicle(heartbeat: MavMessage) -> Self {
        let mut rig = Self {
            hub: Hub::new(false),
            now_us: 1_000_000,
            sent: Vec::new(),
            events: Vec::new(),
        };
        rig.hub.link_up(rig.now_us);
        rig.vehicle_says(heartbeat);
        rig
    }

    fn collect(&mut self) {
        while let Some(out) = self.hub.poll_transmit() {
            self.sent.push((self.now_us, out.message, out.request));
        }
        while let Some(event) = self.hub.poll_event() {
            self.events.push(event);
        }
    }

    fn vehicle_says(&mut self, message: MavMessage) {
        self.hub.on_message(self.now_us, &header(1, 1), &message);
        self.collect();
    }

    fn submit(&mut self, id: RequestId, action: Action) {
        self.submit_to(id, None, action);
    }

    fn submit_to(&mut self, id: RequestId, target: Option<Target>, action: Action) {
        self.hub.submit(self.now_us, id, Request { target, action });
        self.collect();
    }

    /// Moves the fake clock on by `us`, ticking as a session would.
    fn wait(&mut self, us: u64) {
        let end = self.now_us + us;
        while self.now_us < end {
            self.now_us = (self.now_us + STEP_US).min(end);
            self.hub.tick(self.now_us);
            self.collect();
        }
    }

    fn outcomes(&self, id: RequestId) -> Vec<Outcome> {
        self.events
            .iter()
            .filter_map(|event| match event {
                ServiceEvent::Finished { id: done, outcome } if *done == id => {
                    Some(outcome.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// The one outcome of `id` (fails when there are none or several).
    fn outcome(&self, id: RequestId) -> Outcome {
        let outcomes = self.outcomes(id);
        assert_eq!(outcomes.len(), 1, "outcomes of {id}: {outcomes:?}");
        outcomes[0].clone()
    }

    fn commands_sent(&self) -> Vec<&apm::COMMAND_LONG_DATA> {
        self.sent
            .iter()
            .filter_map(|(_, message, _)| match message {
                MavMessage::COMMAND_LONG(command) => Some(command),
                _ => None,
            })
            .collect()
    }
}

const ARM: apm::MavCmd = apm::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM;

#[test]
fn accepted_ends_once_and_a_duplicate_ack_changes_nothing() {
    let mut rig = Rig::new();
    rig.submit(1, Action::Arm);
    let sent = rig.commands_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].command, sent[0].param1, sent[0].confirmation),
        (ARM, 1.0, 0)
    );
    assert_eq!((sent[0].target_system, sent[0].target_component), (1, 1));
    rig.wait(200_000);
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    rig.wait(10 * ACK_TIMEOUT_US);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    assert_eq!(rig.commands_sent().len(), 1, "no retry after the answer");
    assert_eq!(rig.hub.pending(), 0);
}

#[test]
fn each_refusal_ends_refused_with_its_result_and_the_vehicles_reason() {
    for (result, name) in [
        (apm::MavResult::MAV_RESULT_DENIED, "DENIED"),
        (apm::MavResult::MAV_RESULT_FAILED, "FAILED"),
        (
            apm::MavResult::MAV_RESULT_TEMPORARILY_REJECTED,
            "TEMPORARILY_REJECTED",
        ),
        (apm::MavResult::MAV_RESULT_UNSUPPORTED, "UNSUPPORTED"),
        (apm::MavResult::MAV_RESULT_CANCELLED, "CANCELLED"),
    ] {
        let mut rig = Rig::new();
        // A text from before the request is not its reason.
        rig.vehicle_says(text(
            apm::MavSeverity::MAV_SEVERITY_CRITICAL,
            "PreArm: old news",
        ));
        rig.wait(100_000);
        rig.submit(7, Action::Arm);
        rig.wait(150_000);
        rig.vehicle_says(ack(ARM, result, 0));
        // ArduPilot's texts come just after its ACK.
        rig.wait(100_000);
        rig.vehicle_says(text(
            apm::MavSeverity::MAV_SEVERITY_CRITICAL,
            "PreArm: Need 3D Fix",
        ));
        rig.vehicle_says(text(
            apm::MavSeverity::MAV_SEVERITY_INFO,
            "an info line is not a reason",
        ));
        assert!(
            rig.outcomes(7).is_empty(),
            "the reason is still being gathered"
        );
        rig.wait(REASON_GRACE_US);
        assert_eq!(
            rig.outcome(7),
            Outcome::Refused {
                step: "arm".into(),
                result: name.into(),
                reason: vec!["PreArm: Need 3D Fix".into()],
            }
        );
        // Texts after the grace are not added, and nothing is retried.
        rig.vehicle_says(text(
            apm::MavSeverity::MAV_SEVERITY_CRITICAL,
            "PreArm: later",
        ));
        rig.wait(5 * ACK_TIMEOUT_US);
        assert_eq!(rig.outcomes(7).len(), 1);
        assert_eq!(rig.commands_sent().len(), 1);
    }
}

#[test]
fn in_progress_then_done_reports_progress_and_stops_retrying() {
    let mut rig = Rig::new();
    rig.submit(3, Action::Reboot);
    let reboot = apm::MavCmd::MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN;
    rig.wait(300_000);
    rig.vehicle_says(ack(reboot, apm::MavResult::MAV_RESULT_IN_PROGRESS, 40));
    rig.wait(3 * ACK_TIMEOUT_US);
    rig.vehicle_says(ack(reboot, apm::MavResult::MAV_RESULT_IN_PROGRESS, 255));
    rig.wait(3 * ACK_TIMEOUT_US);
    assert!(rig.outcomes(3).is_empty());
    rig.vehicle_says(ack(reboot, apm::MavResult::MAV_RESULT_ACCEPTED, 100));
    assert_eq!(rig.outcome(3), Outcome::Accepted);
    let progress: Vec<_> = rig
        .events
        .iter()
        .filter_map(|e| match e {
            ServiceEvent::Progress { id: 3, percent } => Some(*percent),
            _ => None,
        })
        .collect();
    assert_eq!(progress, vec![Some(40), None]);
    assert_eq!(
        rig.commands_sent().len(),
        1,
        "IN_PROGRESS stops the retries"
    );
}

#[test]
fn in_progress_that_goes_silent_times_out() {
    let mut rig = Rig::new();
    rig.submit(3, Action::Reboot);
    rig.vehicle_says(ack(
        apm::MavCmd::MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN,
        apm::MavResult::MAV_RESULT_IN_PROGRESS,
        10,
    ));
    rig.wait(IN_PROGRESS_TIMEOUT_US - STEP_US);
    assert!(rig.outcomes(3).is_empty());
    rig.wait(2 * STEP_US);
    assert!(matches!(
        rig.outcome(3),
        Outcome::TimedOut { attempts: 1, .. }
    ));
}

#[test]
fn a_lost_command_or_a_lost_ack_is_retried_with_the_next_confirmation() {
    // Lost command: the vehicle never saw attempt 0; it answers attempt 1.
    let mut rig = Rig::new();
    rig.submit(1, Action::Arm);
    rig.wait(ACK_TIMEOUT_US);
    let confirmations: Vec<u8> = rig.commands_sent().iter().map(|c| c.confirmation).collect();
    assert_eq!(confirmations, vec![0, 1]);
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    assert_eq!(rig.outcome(1), Outcome::Accepted);

    // Lost ACK: the vehicle answered attempt 0 but the answer never came; attempt 1's answer
    // arrives, then the lost one turns up late as a duplicate.
    let mut rig = Rig::new();
    rig.submit(2, Action::Disarm);
    rig.wait(ACK_TIMEOUT_US + STEP_US);
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    rig.wait(5 * ACK_TIMEOUT_US);
    assert_eq!(rig.outcome(2), Outcome::Accepted);
    assert_eq!(rig.commands_sent().len(), 2);
    assert_eq!(rig.commands_sent()[1].confirmation, 1);
}

#[test]
fn no_answer_times_out_after_the_last_retry_and_a_late_answer_is_ignored() {
    let mut rig = Rig::new();
    rig.submit(5, Action::Arm);
    rig.wait(u64::from(RETRIES + 1) * ACK_TIMEOUT_US - STEP_US);
    assert!(rig.outcomes(5).is_empty());
    rig.wait(2 * STEP_US);
    assert_eq!(
        rig.outcome(5),
        Outcome::TimedOut {
            step: "arm".into(),
            attempts: RETRIES + 1
        }
    );
    let confirmations: Vec<u8> = rig.commands_sent().iter().map(|c| c.confirmation).collect();
    assert_eq!(confirmations, vec![0, 1, 2, 3]);
    // Attempts were spaced by the timeout.
    let times: Vec<u64> = rig.sent.iter().map(|(at, _, _)| *at).collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] == ACK_TIMEOUT_US),
        "{times:?}"
    );
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    assert_eq!(rig.outcomes(5).len(), 1);
}

#[test]
fn answers_to_something_else_do_not_end_a_request() {
    let mut rig = Rig::new();
    rig.submit(1, Action::Arm);
    // Reordered or foreign: another command's ACK, an ACK for another ground station, the same
    // command's ACK from another system.
    rig.vehicle_says(ack(
        apm::MavCmd::MAV_CMD_DO_SET_MODE,
        apm::MavResult::MAV_RESULT_ACCEPTED,
        0,
    ));
    let mut foreign = ack(ARM, apm::MavResult::MAV_RESULT_DENIED, 0);
    if let MavMessage::COMMAND_ACK(data) = &mut foreign {
        data.target_system = 254;
    }
    rig.vehicle_says(foreign);
    rig.hub.on_message(
        rig.now_us,
        &header(2, 1),
        &ack(ARM, apm::MavResult::MAV_RESULT_DENIED, 0),
    );
    rig.collect();
    assert!(rig.outcomes(1).is_empty());
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    assert_eq!(rig.outcome(1), Outcome::Accepted);
}

#[test]
fn link_loss_mid_request_ends_it_once_and_later_requests_are_not_sent() {
    let mut rig = Rig::new();
    rig.submit(1, Action::Takeoff { alt_m: 10.0 });
    rig.wait(300_000);
    rig.hub.link_lost("the port vanished");
    rig.collect();
    assert_eq!(
        rig.outcome(1),
        Outcome::LinkLost {
            reason: "the port vanished".into()
        }
    );
    rig.wait(10 * ACK_TIMEOUT_US);
    rig.vehicle_says(ack(
        apm::MavCmd::MAV_CMD_DO_SET_MODE,
        apm::MavResult::MAV_RESULT_ACCEPTED,
        0,
    ));
    assert_eq!(rig.outcomes(1).len(), 1);
    let sent = rig.sent.len();
    rig.submit(2, Action::Arm);
    assert!(matches!(rig.outcome(2), Outcome::NotSent { .. }));
    assert_eq!(rig.sent.len(), sent);
}

#[test]
fn takeoff_is_guided_then_arm_then_takeoff_and_stops_at_the_first_refusal() {
    let mut rig = Rig::new();
    rig.submit(1, Action::Takeoff { alt_m: 20.0 });
    let set_mode = apm::MavCmd::MAV_CMD_DO_SET_MODE;
    let takeoff = apm::MavCmd::MAV_CMD_NAV_TAKEOFF;
    assert_eq!(rig.commands_sent()[0].command, set_mode);
    assert_eq!(rig.commands_sent()[0].param2, 4.0, "GUIDED");
    rig.vehicle_says(ack(set_mode, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    assert_eq!(rig.commands_sent()[1].command, ARM);
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    let last = rig.commands_sent()[2];
    assert_eq!((last.command, last.param7), (takeoff, 20.0));
    rig.vehicle_says(ack(takeoff, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    let steps: Vec<String> = rig
        .events
        .iter()
        .filter_map(|e| match e {
            ServiceEvent::Step { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(steps, ["mode GUIDED", "arm", "takeoff"]);
    // What was accepted is known at once: another takeoff asks neither mode nor arm again.
    rig.submit(9, Action::Takeoff { alt_m: 30.0 });
    assert_eq!(rig.commands_sent().len(), 4);
    assert_eq!(rig.commands_sent()[3].command, takeoff);

    // Already guided and armed: only the takeoff. A refused arm stops the plan.
    let mut rig = Rig::with_vehicle(copter(4, true));
    rig.submit(2, Action::Takeoff { alt_m: 5.0 });
    assert_eq!(rig.commands_sent().len(), 1);
    assert_eq!(rig.commands_sent()[0].command, takeoff);
    let mut rig = Rig::with_vehicle(copter(4, false));
    rig.submit(3, Action::Takeoff { alt_m: 5.0 });
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_FAILED, 0));
    rig.wait(REASON_GRACE_US + STEP_US);
    assert!(matches!(&rig.outcome(3), Outcome::Refused { step, .. } if step == "arm"));
    assert_eq!(rig.commands_sent().len(), 1);
}

#[test]
fn goto_uses_reposition_and_falls_back_to_a_guided_item_when_unsupported() {
    let mut rig = Rig::with_vehicle(copter(4, true));
    rig.submit(
        1,
        Action::GoTo {
            lat_deg: -35.36,
            lon_deg: 149.16,
            alt_m: 20.0,
        },
    );
    let MavMessage::COMMAND_INT(reposition) = &rig.sent[0].1 else {
        panic!("{:?}", rig.sent[0].1);
    };
    assert_eq!(reposition.command, apm::MavCmd::MAV_CMD_DO_REPOSITION);
    assert_eq!(
        (reposition.x, reposition.y, reposition.z),
        (-353_600_000, 1_491_600_000, 20.0)
    );
    assert_eq!(
        reposition.frame,
        apm::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT
    );
    rig.vehicle_says(ack(
        apm::MavCmd::MAV_CMD_DO_REPOSITION,
        apm::MavResult::MAV_RESULT_UNSUPPORTED,
        0,
    ));
    let MavMessage::MISSION_ITEM_INT(item) = &rig.sent[1].1 else {
        panic!("{:?}", rig.sent[1].1);
    };
    assert_eq!((item.current, item.x, item.z), (2, -353_600_000, 20.0));
    assert!(rig.outcomes(1).is_empty());
    rig.vehicle_says(MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
        target_system: 255,
        target_component: 190,
        mavtype: apm::MavMissionResult::MAV_MISSION_ACCEPTED,
        mission_type: apm::MavMissionType::MAV_MISSION_TYPE_MISSION,
        opaque_id: 0,
    }));
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    // A change of altitude then keeps that point.
    rig.submit(2, Action::ChangeAltitude { alt_m: 35.0 });
    let MavMessage::COMMAND_INT(change) = &rig.sent[2].1 else {
        panic!("{:?}", rig.sent[2].1);
    };
    assert_eq!(
        (change.x, change.y, change.z),
        (-353_600_000, 1_491_600_000, 35.0)
    );
}

#[test]
fn requests_that_cannot_be_asked_are_not_sent_and_say_why() {
    let mut rig = Rig::new();
    rig.submit(
        1,
        Action::SetMode {
            name: "WARP".into(),
        },
    );
    let Outcome::NotSent { reason } = rig.outcome(1) else {
        panic!()
    };
    assert!(
        reason.contains("no mode `WARP`") && reason.contains("GUIDED"),
        "{reason}"
    );
    rig.submit(2, Action::Takeoff { alt_m: f32::NAN });
    assert!(matches!(rig.outcome(2), Outcome::NotSent { .. }));
    // No vehicle heard yet.
    let mut hub = Hub::new(false);
    hub.link_up(0);
    hub.submit(
        0,
        3,
        Request {
            target: None,
            action: Action::Arm,
        },
    );
    assert!(matches!(
        hub.poll_event(),
        Some(ServiceEvent::Finished {
            id: 3,
            outcome: Outcome::NotSent { .. }
        })
    ));
    assert!(hub.poll_transmit().is_none());
}

#[test]
fn modes_and_px4_commands_follow_the_autopilot() {
    let mut rig = Rig::with_vehicle(heartbeat(
        3 << 16,
        true,
        apm::MavType::MAV_TYPE_QUADROTOR,
        apm::MavAutopilot::MAV_AUTOPILOT_PX4,
    ));
    rig.submit(
        1,
        Action::SetMode {
            name: "mission".into(),
        },
    );
    let sent = rig.commands_sent()[0];
    assert_eq!((sent.param1, sent.param2, sent.param3), (1.0, 4.0, 4.0));
    rig.submit(2, Action::Rtl);
    assert_eq!(
        rig.commands_sent()[1].command,
        apm::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH
    );
    rig.submit(3, Action::Takeoff { alt_m: 10.0 });
    assert!(matches!(&rig.outcome(3), Outcome::NotSent { reason } if reason.contains("home")));

    let mut rig = Rig::new();
    rig.submit(4, Action::Rtl);
    rig.submit(5, Action::Land);
    let sent = rig.commands_sent();
    assert_eq!(sent.len(), 1, "one DO_SET_MODE in flight at a time");
    assert_eq!(sent[0].param2, 6.0, "RTL");
    rig.vehicle_says(ack(
        apm::MavCmd::MAV_CMD_DO_SET_MODE,
        apm::MavResult::MAV_RESULT_ACCEPTED,
        0,
    ));
    assert_eq!(rig.outcome(4), Outcome::Accepted);
    assert_eq!(rig.commands_sent()[1].param2, 9.0, "then LAND");
    rig.submit(6, Action::ForceDisarm);
    let force = rig.commands_sent()[2];
    assert_eq!(
        (force.command, force.param1, force.param2),
        (ARM, 0.0, 21196.0)
    );
}

#[test]
#[allow(deprecated)] // REQUEST_DATA_STREAM: what ArduPilot obeys
fn presence_beats_every_second_and_asks_an_ardupilot_for_telemetry_once() {
    let mut hub = Hub::new(true);
    hub.link_up(0);
    let mut sent = Vec::new();
    let mut now = 0;
    fn run(hub: &mut Hub, now: &mut u64, until: u64, sent: &mut Vec<(u64, MavMessage)>) {
        while *now < until {
            hub.tick(*now);
            while let Some(out) = hub.poll_transmit() {
                sent.push((*now, out.message));
            }
            *now += 100_000;
        }
    }
    run(&mut hub, &mut now, 2_000_000, &mut sent);
    hub.on_message(now, &header(1, 1), &copter(0, false));
    run(&mut hub, &mut now, 5_000_000, &mut sent);
    let beats: Vec<u64> = sent
        .iter()
        .filter(|(_, m)| matches!(m, MavMessage::HEARTBEAT(_)))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(beats, vec![0, 1_000_000, 2_000_000, 3_000_000, 4_000_000]);
    let streams = sent
        .iter()
        .filter(|(_, m)| matches!(m, MavMessage::REQUEST_DATA_STREAM(_)))
        .count();
    assert_eq!(streams, crate::protocol::outgoing::TELEMETRY_STREAMS.len());
    // Back after a long silence (a reboot): asked again.
    hub.on_message(12_000_000, &header(1, 1), &copter(0, false));
    now = 12_000_000;
    run(&mut hub, &mut now, 12_500_000, &mut sent);
    let streams = sent
        .iter()
        .filter(|(_, m)| matches!(m, MavMessage::REQUEST_DATA_STREAM(_)))
        .count();
    assert_eq!(
        streams,
        2 * crate::protocol::outgoing::TELEMETRY_STREAMS.len()
    );
}

#[test]
fn a_transfer_only_hub_beats_but_asks_for_no_telemetry() {
    let mut hub = Hub::new(true);
    hub.set_ask_telemetry(false);
    hub.link_up(0);
    hub.on_message(0, &header(1, 1), &copter(0, false));
    let mut sent = Vec::new();
    for step in 0..30 {
        hub.tick(step * 100_000);
        while let Some(out) = hub.poll_transmit() {
            sent.push(out.message);
        }
    }
    let beats = sent
        .iter()
        .filter(|m| matches!(m, MavMessage::HEARTBEAT(_)))
        .count();
    assert_eq!(beats, 3);
    assert_eq!(sent.len(), beats, "nothing but heartbeats: {sent:?}");
}

#[test]
fn a_request_goes_to_the_chosen_vehicle_and_only_its_answer_ends_it() {
    let mut rig = Rig::new();
    let second = Target {
        system_id: 2,
        component_id: 1,
    };
    rig.submit_to(1, Some(second), Action::Arm);
    assert!(
        matches!(&rig.outcome(1), Outcome::NotSent { reason } if reason.contains("2:1")),
        "not heard yet"
    );
    rig.hub
        .on_message(rig.now_us, &header(2, 1), &copter(0, false));
    rig.submit_to(2, Some(second), Action::Arm);
    let sent = rig.commands_sent()[0];
    assert_eq!((sent.target_system, sent.target_component), (2, 1));
    rig.vehicle_says(ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0));
    assert!(
        rig.outcomes(2).is_empty(),
        "system 1's answer is not system 2's"
    );
    rig.hub.on_message(
        rig.now_us,
        &header(2, 1),
        &ack(ARM, apm::MavResult::MAV_RESULT_ACCEPTED, 0),
    );
    rig.collect();
    assert_eq!(rig.outcome(2), Outcome::Accepted);
    assert_eq!(
        rig.hub.default_target(),
        Some(Target {
            system_id: 1,
            component_id: 1
        })
    );
}

#[test]
fn an_upload_refused_with_no_space_after_boot_starts_again_a_few_times_then_is_refused() {
    let mut rig = Rig::new();
    let items = vec![super::mission::WireItem::default(); 2];
    rig.submit(
        7,
        Action::UploadMission {
            kind: MissionKind::Mission,
            items,
        },
    );
    let counts = |rig: &Rig| -> Vec<u64> {
        rig.sent
            .iter()
            .filter(|(_, message, _)| matches!(message, MavMessage::MISSION_COUNT(_)))
            .map(|(at, _, _)| *at)
            .collect()
    };
    let no_space = MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
        target_system: 255,
        target_component: 190,
        mavtype: apm::MavMissionResult::MAV_MISSION_NO_SPACE,
        mission_type: apm::MavMissionType::MAV_MISSION_TYPE_MISSION,
        opaque_id: 0,
    });
    for attempt in 1..=6 {
        assert_eq!(counts(&rig).len(), attempt, "a MISSION_COUNT per attempt");
        rig.vehicle_says(no_space.clone());
        rig.wait(2_100_000);
    }
    let sent = counts(&rig);
    assert!(
        sent.windows(2).all(|w| w[1] - w[0] >= 2_000_000),
        "2 s apart: {sent:?}"
    );
    match rig.outcome(7) {
        Outcome::Refused { result, .. } => assert_eq!(result, "NO_SPACE"),
        other => panic!("{other:?}"),
    }
    assert!(rig.events.iter().any(|event| matches!(
        event,
        ServiceEvent::Step { step, .. } if step.contains("NO_SPACE") && step.contains("5 of 5")
    )));
}

mod logs;
mod signing;
