//! The mission protocol's transfers, without I/O: upload (MISSION_COUNT, then the items the
//! vehicle asks for, until MISSION_ACK) and download (MISSION_REQUEST_LIST, MISSION_COUNT, then
//! one MISSION_REQUEST_INT at a time, then MISSION_ACK), for the mission, fence and rally types.
//!
//! Made for bad radios: the vehicle may ask with MISSION_REQUEST or MISSION_REQUEST_INT (the
//! answer is always MISSION_ITEM_INT); when it goes quiet mid-upload, what it last asked for is
//! sent again instead of failing; a download re-asks for the item it is waiting for. Success is
//! only a MISSION_ACK ACCEPTED (upload) or every item received (download). A MISSION_ITEM_INT
//! nobody asked for (ArduPilot's home updates) is not part of a transfer.

use mavlink::dialects::ardupilotmega as apm;

use super::Target;
use crate::protocol::{FrameHeader, MavMessage, GCS_SYSTEM_ID};

/// How long a step waits for the vehicle before asking or sending again.
pub const STEP_TIMEOUT_US: u64 = 1_000_000;
/// Silent steps in a row before a transfer gives up.
pub const MAX_SILENT_STEPS: u32 = 8;

/// An item as MISSION_ITEM_INT carries it (positions in degrees × 10⁷).
pub type WireItem = apm::MISSION_ITEM_INT_DATA;

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferEnd {
    /// Upload accepted, or download complete with its items (sequence 0 first).
    Done(Vec<WireItem>),
    /// The vehicle refused with this MISSION_ACK result.
    Refused(apm::MavMissionResult),
    /// Every item went out but the vehicle's ACCEPTED never came (lost on the way, and a
    /// repeated last item then got ERROR): only reading the mission back can tell. The items
    /// that were sent.
    Unacknowledged(Vec<WireItem>),
    /// No answer after [`MAX_SILENT_STEPS`] tries of the same step.
    TimedOut { step: String },
}

/// What a transfer reports after a message or a tick: messages to send, and its end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransferPoll {
    pub send: Vec<MavMessage>,
    /// Items transferred of the total, when that moved.
    pub progress: Option<(u16, u16)>,
    pub ended: Option<TransferEnd>,
}

impl TransferPoll {
    fn send(message: MavMessage) -> Self {
        Self {
            send: vec![message],
            ..Self::default()
        }
    }

    fn idle() -> Self {
        Self::default()
    }
}

#[derive(Debug, Clone)]
enum Stage {
    /// Upload: COUNT sent, items asked for so far (highest + 1).
    Uploading {
        asked_up_to: u16,
        last_asked: Option<u16>,
    },
    /// Download: waiting for the count.
    Listing,
    /// MISSION_CLEAR_ALL sent, waiting for its ACK.
    Clearing,
    /// Download: waiting for item `next` of `count`.
    Receiving {
        count: u16,
        next: u16,
    },
    Finished,
}

/// One transfer with one vehicle; see the module documentation.
#[derive(Debug, Clone)]
pub struct Transfer {
    target: Target,
    mission_type: apm::MavMissionType,
    items: Vec<WireItem>,
    stage: Stage,
    deadline_us: u64,
    silent_steps: u32,
}

impl Transfer {
    /// An upload of `items` (sequence numbers are set here, 0 first); returns it with the
    /// message to send first.
    pub fn upload(
        now_us: u64,
        target: Target,
        mission_type: apm::MavMissionType,
        mut items: Vec<WireItem>,
    ) -> (Self, Vec<MavMessage>) {
        for (seq, item) in items.iter_mut().enumerate() {
            item.seq = u16::try_from(seq).unwrap_or(u16::MAX);
            item.target_system = target.system_id;
            item.target_component = target.component_id;
            item.mission_type = mission_type;
            item.current = 0;
        }
        let stage = Stage::Uploading {
            asked_up_to: 0,
            last_asked: None,
        };
        let transfer = Self::new(now_us, target, mission_type, items, stage);
        let first = transfer.count_message();
        (transfer, vec![first])
    }

    /// A download; returns it with the message to send first.
    pub fn download(
        now_us: u64,
        target: Target,
        mission_type: apm::MavMissionType,
    ) -> (Self, Vec<MavMessage>) {
        let transfer = Self::new(now_us, target, mission_type, Vec::new(), Stage::Listing);
        let first = transfer.list_message();
        (transfer, vec![first])
    }

    /// Clearing the vehicle's list; returns it with the message to send first.
    pub fn clear(
        now_us: u64,
        target: Target,
        mission_type: apm::MavMissionType,
    ) -> (Self, Vec<MavMessage>) {
        let transfer = Self::new(now_us, target, mission_type, Vec::new(), Stage::Clearing);
        let first = transfer.clear_message();
        (transfer, vec![first])
    }

    fn new(
        now_us: u64,
        target: Target,
        mission_type: apm::MavMissionType,
        items: Vec<WireItem>,
        stage: Stage,
    ) -> Self {
        Self {
            target,
            mission_type,
            items,
            stage,
            deadline_us: now_us + STEP_TIMEOUT_US,
            silent_steps: 0,
        }
    }

    fn clear_message(&self) -> MavMessage {
        MavMessage::MISSION_CLEAR_ALL(apm::MISSION_CLEAR_ALL_DATA {
            target_system: self.target.system_id,
            target_component: self.target.component_id,
            mission_type: self.mission_type,
        })
    }

    fn count_message(&self) -> MavMessage {
        MavMessage::MISSION_COUNT(apm::MISSION_COUNT_DATA {
            count: u16::try_from(self.items.len()).unwrap_or(u16::MAX),
            target_system: self.target.system_id,
            target_component: self.target.component_id,
            mission_type: self.mission_type,
            opaque_id: 0,
        })
    }

    fn list_message(&self) -> MavMessage {
        MavMessage::MISSION_REQUEST_LIST(apm::MISSION_REQUEST_LIST_DATA {
            target_system: self.target.system_id,
            target_component: self.target.component_id,
            mission_type: self.mission_type,
        })
    }

    fn request_message(&self, seq: u16) -> MavMessage {
        MavMessage::MISSION_REQUEST_INT(apm::MISSION_REQUEST_INT_DATA {
            seq,
            target_system: self.target.system_id,
            target_component: self.target.component_id,
            mission_type: self.mission_type,
        })
    }

    fn ack_message(&self) -> MavMessage {
        MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
            target_system: self.target.system_id,
            target_component: self.target.component_id,
            mavtype: apm::MavMissionResult::MAV_MISSION_ACCEPTED,
            mission_type: self.mission_type,
            opaque_id: 0,
        })
    }

    fn item_message(&self, seq: u16) -> Option<MavMessage> {
        self.items
            .get(usize::from(seq))
            .map(|item| MavMessage::MISSION_ITEM_INT(item.clone()))
    }

    fn heard(&mut self, now_us: u64) {
        self.silent_steps = 0;
        self.deadline_us = now_us + STEP_TIMEOUT_US;
    }

    fn end(&mut self, end: TransferEnd) -> TransferPoll {
        self.stage = Stage::Finished;
        TransferPoll {
            ended: Some(end),
            ..TransferPoll::default()
        }
    }

    /// Takes a message from the vehicle.
    pub fn on_message(
        &mut self,
        now_us: u64,
        header: &FrameHeader,
        message: &MavMessage,
    ) -> TransferPoll {
        if header.system_id != self.target.system_id {
            return TransferPoll::idle();
        }
        let for_us = |system: u8| system == 0 || system == GCS_SYSTEM_ID;
        let ours = |mission_type: apm::MavMissionType| mission_type == self.mission_type;
        match (&self.stage, message) {
            (Stage::Uploading { .. }, MavMessage::MISSION_REQUEST_INT(request))
                if for_us(request.target_system) && ours(request.mission_type) =>
            {
                self.asked(now_us, request.seq)
            }
            #[allow(deprecated)] // MISSION_REQUEST: what ArduPilot asks with
            (Stage::Uploading { .. }, MavMessage::MISSION_REQUEST(request))
                if for_us(request.target_system) && ours(request.mission_type) =>
            {
                self.asked(now_us, request.seq)
            }
            (Stage::Uploading { asked_up_to, .. }, MavMessage::MISSION_ACK(ack))
                if for_us(ack.target_system) && ours(ack.mission_type) =>
            {
                match ack.mavtype {
                    apm::MavMissionResult::MAV_MISSION_ACCEPTED
                        if usize::from(*asked_up_to) >= self.items.len() =>
                    {
                        let items = std::mem::take(&mut self.items);
                        self.end(TransferEnd::Done(items))
                    }
                    // Not fatal: the vehicle says an item came out of order and asks again.
                    apm::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE => TransferPoll::idle(),
                    apm::MavMissionResult::MAV_MISSION_ACCEPTED => TransferPoll::idle(),
                    // After the last item, a refusal answers a repeat of it: the first
                    // answer (maybe ACCEPTED) was lost.
                    _ if usize::from(*asked_up_to) >= self.items.len() => {
                        let items = std::mem::take(&mut self.items);
                        self.end(TransferEnd::Unacknowledged(items))
                    }
                    result => self.end(TransferEnd::Refused(result)),
                }
            }
            (Stage::Clearing, MavMessage::MISSION_ACK(ack))
                if for_us(ack.target_system) && ours(ack.mission_type) =>
            {
                match ack.mavtype {
                    apm::MavMissionResult::MAV_MISSION_ACCEPTED => {
                        self.end(TransferEnd::Done(Vec::new()))
                    }
                    result => self.end(TransferEnd::Refused(result)),
                }
            }
            (Stage::Listing, MavMessage::MISSION_COUNT(count))
                if for_us(count.target_system) && ours(count.mission_type) =>
            {
                self.heard(now_us);
                if count.count == 0 {
                    let ack = self.ack_message();
                    let mut poll = self.end(TransferEnd::Done(Vec::new()));
                    poll.send.push(ack);
                    return poll;
                }
                self.stage = Stage::Receiving {
                    count: count.count,
                    next: 0,
                };
                TransferPoll {
                    send: vec![self.request_message(0)],
                    progress: Some((0, count.count)),
                    ended: None,
                }
            }
            (Stage::Receiving { count, next }, MavMessage::MISSION_ITEM_INT(item))
                if for_us(item.target_system) && ours(item.mission_type) && item.seq == *next =>
            {
                let (count, next) = (*count, *next);
                self.items.push(item.clone());
                self.heard(now_us);
                if next + 1 >= count {
                    let ack = self.ack_message();
                    let items = std::mem::take(&mut self.items);
                    let mut poll = self.end(TransferEnd::Done(items));
                    poll.send.push(ack);
                    poll.progress = Some((count, count));
                    return poll;
                }
                self.stage = Stage::Receiving {
                    count,
                    next: next + 1,
                };
                TransferPoll {
                    send: vec![self.request_message(next + 1)],
                    progress: Some((next + 1, count)),
                    ended: None,
                }
            }
            _ => TransferPoll::idle(),
        }
    }

    fn asked(&mut self, now_us: u64, seq: u16) -> TransferPoll {
        let Some(message) = self.item_message(seq) else {
            return TransferPoll::idle();
        };
        self.heard(now_us);
        let total = u16::try_from(self.items.len()).unwrap_or(u16::MAX);
        let mut progress = None;
        if let Stage::Uploading {
            asked_up_to,
            last_asked,
        } = &mut self.stage
        {
            *asked_up_to = (*asked_up_to).max(seq + 1);
            *last_asked = Some(seq);
            progress = Some((*asked_up_to, total));
        }
        TransferPoll {
            send: vec![message],
            progress,
            ended: None,
        }
    }

    /// Moves the clock: after a silent step, the step is taken again.
    pub fn tick(&mut self, now_us: u64) -> TransferPoll {
        if now_us < self.deadline_us || matches!(self.stage, Stage::Finished) {
            return TransferPoll::idle();
        }
        self.silent_steps += 1;
        self.deadline_us = now_us + STEP_TIMEOUT_US;
        let (step, again) = match &self.stage {
            Stage::Uploading {
                last_asked: Some(seq),
                ..
            } => (format!("item {seq}"), self.item_message(*seq)),
            Stage::Uploading { .. } => ("count".to_owned(), Some(self.count_message())),
            Stage::Listing => ("list".to_owned(), Some(self.list_message())),
            Stage::Clearing => ("clear".to_owned(), Some(self.clear_message())),
            Stage::Receiving { next, .. } => {
                (format!("item {next}"), Some(self.request_message(*next)))
            }
            Stage::Finished => return TransferPoll::idle(),
        };
        if self.silent_steps > MAX_SILENT_STEPS {
            let all_sent = matches!(self.stage, Stage::Uploading { asked_up_to, .. }
                if usize::from(asked_up_to) >= self.items.len() && !self.items.is_empty());
            let end = if all_sent {
                TransferEnd::Unacknowledged(std::mem::take(&mut self.items))
            } else {
                TransferEnd::TimedOut { step }
            };
            return self.end(end);
        }
        again.map_or(TransferPoll::idle(), TransferPoll::send)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: Target = Target {
        system_id: 1,
        component_id: 1,
    };
    const MISSION: apm::MavMissionType = apm::MavMissionType::MAV_MISSION_TYPE_MISSION;

    fn header() -> FrameHeader {
        super::super::tests::header(1, 1)
    }

    fn items(n: u16) -> Vec<WireItem> {
        (0..n)
            .map(|i| WireItem {
                x: -353_632_610 + i32::from(i) * 1000,
                y: 1_491_652_370,
                z: 20.0 + f32::from(i),
                command: apm::MavCmd::MAV_CMD_NAV_WAYPOINT,
                frame: apm::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
                autocontinue: 1,
                ..WireItem::default()
            })
            .collect()
    }

    /// ArduPilot's side of the protocol, as the SITL bundle's README describes it: asks with
    /// MISSION_REQUEST, re-asks after 1 s of silence, answers an item out of turn with
    /// INVALID_SEQUENCE, ACKs at the end; answers a download one item at a time.
    #[derive(Default)]
    struct Vehicle {
        stored: Vec<WireItem>,
        receiving: Option<(u16, u16)>,
        last_heard_us: u64,
    }

    #[allow(deprecated)]
    fn request(seq: u16) -> MavMessage {
        MavMessage::MISSION_REQUEST(apm::MISSION_REQUEST_DATA {
            seq,
            target_system: 255,
            target_component: 190,
            mission_type: MISSION,
        })
    }

    impl Vehicle {
        fn tick(&mut self, now_us: u64) -> Vec<MavMessage> {
            match self.receiving {
                Some((_, next)) if now_us - self.last_heard_us >= 1_000_000 => {
                    self.last_heard_us = now_us;
                    vec![request(next)]
                }
                _ => Vec::new(),
            }
        }

        fn answer(&mut self, now_us: u64, message: &MavMessage) -> Vec<MavMessage> {
            self.last_heard_us = now_us;
            let ack = |result| {
                MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
                    target_system: 255,
                    target_component: 190,
                    mavtype: result,
                    mission_type: MISSION,
                    opaque_id: 0,
                })
            };
            match message {
                MavMessage::MISSION_COUNT(count) => {
                    self.stored.clear();
                    if count.count == 0 {
                        return vec![ack(apm::MavMissionResult::MAV_MISSION_ACCEPTED)];
                    }
                    self.receiving = Some((count.count, 0));
                    vec![request(0)]
                }
                MavMessage::MISSION_ITEM_INT(item) => match self.receiving {
                    Some((count, next)) if item.seq == next => {
                        self.stored.push(item.clone());
                        if next + 1 == count {
                            self.receiving = None;
                            vec![ack(apm::MavMissionResult::MAV_MISSION_ACCEPTED)]
                        } else {
                            self.receiving = Some((count, next + 1));
                            vec![request(next + 1)]
                        }
                    }
                    Some(_) => vec![ack(apm::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE)],
                    None => vec![ack(apm::MavMissionResult::MAV_MISSION_ERROR)],
                },
                MavMessage::MISSION_REQUEST_LIST(_) => {
                    vec![MavMessage::MISSION_COUNT(apm::MISSION_COUNT_DATA {
                        count: u16::try_from(self.stored.len()).unwrap(),
                        target_system: 255,
                        target_component: 190,
                        mission_type: MISSION,
                        opaque_id: 0,
                    })]
                }
                MavMessage::MISSION_REQUEST_INT(request) => self
                    .stored
                    .get(usize::from(request.seq))
                    .map(|item| {
                        let mut item = item.clone();
                        item.target_system = 255;
                        item.target_component = 190;
                        MavMessage::MISSION_ITEM_INT(item)
                    })
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            }
        }
    }

    /// Runs a transfer over a link that loses `loss` of the messages each way; returns its end
    /// and how many messages the ground station sent.
    fn run(
        mut transfer: Transfer,
        first: Vec<MavMessage>,
        vehicle: &mut Vehicle,
        loss: f64,
        seed: u64,
    ) -> (TransferEnd, usize) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut to_vehicle = first;
        let mut sent = to_vehicle.len();
        let mut now = 0;
        for _ in 0..100_000 {
            now += 50_000;
            let mut to_gcs = vehicle.tick(now);
            for message in to_vehicle.drain(..) {
                if rng.f64() >= loss {
                    to_gcs.extend(vehicle.answer(now, &message));
                }
            }
            let mut polls = vec![transfer.tick(now)];
            for message in to_gcs {
                if rng.f64() >= loss {
                    polls.push(transfer.on_message(now, &header(), &message));
                }
            }
            for poll in polls {
                sent += poll.send.len();
                to_vehicle.extend(poll.send);
                if let Some(end) = poll.ended {
                    // The last messages (a download's ACK) still go out.
                    for message in to_vehicle.drain(..) {
                        vehicle.answer(now, &message);
                    }
                    return (end, sent);
                }
            }
        }
        panic!("the transfer never ended");
    }

    #[test]
    fn uploads_and_downloads_through_a_lossy_link() {
        for (loss, seed) in [(0.0, 1), (0.05, 2), (0.2, 3), (0.3, 4)] {
            let mut vehicle = Vehicle::default();
            let (upload, first) = Transfer::upload(0, TARGET, MISSION, items(101));
            let (end, sent) = run(upload, first, &mut vehicle, loss, seed);
            // Done, or (when the final ACCEPTED was lost) for the read-back to confirm.
            assert!(
                matches!(end, TransferEnd::Done(_) | TransferEnd::Unacknowledged(_)),
                "loss {loss}: {end:?}"
            );
            let (mut uploaded, _) = Transfer::upload(0, TARGET, MISSION, items(101));
            assert_eq!(
                vehicle.stored,
                std::mem::take(&mut uploaded.items),
                "loss {loss}"
            );
            if loss == 0.0 {
                assert_eq!(sent, 102, "a count and each item once");
            }
            let (download, first) = Transfer::download(0, TARGET, MISSION);
            let (end, _) = run(download, first, &mut vehicle, loss, seed + 10);
            assert_eq!(
                end,
                TransferEnd::Done(
                    vehicle
                        .stored
                        .iter()
                        .map(|i| {
                            let mut i = i.clone();
                            i.target_system = 255;
                            i.target_component = 190;
                            i
                        })
                        .collect()
                ),
                "loss {loss}"
            );
        }
    }

    #[test]
    fn a_refusal_ends_it_and_silence_times_out() {
        let (mut upload, _) = Transfer::upload(0, TARGET, MISSION, items(3));
        let refused = MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
            target_system: 255,
            target_component: 190,
            mavtype: apm::MavMissionResult::MAV_MISSION_NO_SPACE,
            mission_type: MISSION,
            opaque_id: 0,
        });
        let poll = upload.on_message(10, &header(), &refused);
        assert_eq!(
            poll.ended,
            Some(TransferEnd::Refused(
                apm::MavMissionResult::MAV_MISSION_NO_SPACE
            ))
        );
        let (mut download, _) = Transfer::download(0, TARGET, MISSION);
        let mut asked = 0;
        let mut now = 0;
        let end = loop {
            now += 100_000;
            let poll = download.tick(now);
            asked += poll.send.len();
            if let Some(end) = poll.ended {
                break end;
            }
        };
        assert_eq!(
            end,
            TransferEnd::TimedOut {
                step: "list".into()
            }
        );
        assert_eq!(
            asked as u32, MAX_SILENT_STEPS,
            "asked again after each silent step"
        );
    }

    #[test]
    fn a_home_update_nobody_asked_for_is_not_part_of_an_upload() {
        let (mut upload, _) = Transfer::upload(0, TARGET, MISSION, items(2));
        let home = MavMessage::MISSION_ITEM_INT(WireItem {
            seq: 0,
            target_system: 255,
            mission_type: MISSION,
            ..WireItem::default()
        });
        assert_eq!(
            upload.on_message(10, &header(), &home),
            TransferPoll::default()
        );
        // The item the vehicle last asked for is sent again when it goes quiet.
        #[allow(deprecated)]
        let ask = MavMessage::MISSION_REQUEST(apm::MISSION_REQUEST_DATA {
            seq: 1,
            target_system: 255,
            target_component: 190,
            mission_type: MISSION,
        });
        let poll = upload.on_message(20, &header(), &ask);
        assert!(matches!(&poll.send[..], [MavMessage::MISSION_ITEM_INT(i)] if i.seq == 1));
        let poll = upload.tick(20 + STEP_TIMEOUT_US);
        assert!(matches!(&poll.send[..], [MavMessage::MISSION_ITEM_INT(i)] if i.seq == 1));
    }
}
