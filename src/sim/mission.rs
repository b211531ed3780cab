//! The simulated vehicle's side of the mission protocol, with ArduPilot's rules: it asks for
//! items with MISSION_REQUEST, asks again after 1 s of silence and gives up after 8 s, answers
//! an item out of turn with INVALID_SEQUENCE and one after the end with ERROR, and serves item 0
//! of the mission as its own home. Mission, fence and rally lists are kept for the run.

use mavlink::dialects::ardupilotmega as apm;

use super::auto::Item;
use crate::protocol::services::mission::WireItem;
use crate::protocol::MavMessage;

/// Seconds of silence before the vehicle asks again, and before it gives up.
const REASK_S: f64 = 1.0;
const GIVE_UP_S: f64 = 8.0;

struct Receiving {
    mission_type: apm::MavMissionType,
    count: u16,
    items: Vec<WireItem>,
    /// Where the ground station is: (system, component).
    from: (u8, u8),
    last_heard_s: f64,
    started_s: f64,
}

/// The vehicle's stored lists and the upload in progress.
#[derive(Default)]
pub struct MissionStore {
    mission: Vec<WireItem>,
    fence: Vec<WireItem>,
    rally: Vec<WireItem>,
    receiving: Option<Receiving>,
    /// The mission list changed since [`MissionStore::take_changed_mission`] last looked.
    mission_changed: bool,
}

/// A stored item as the AUTO runner flies it.
pub fn runner_item(item: &WireItem) -> Item {
    Item {
        command: item.command as u16,
        frame: item.frame as u8,
        params: [item.param1, item.param2, item.param3, item.param4],
        lat_deg: f64::from(item.x) / 1e7,
        lon_deg: f64::from(item.y) / 1e7,
        alt: item.z,
    }
}

/// A runner's item as the vehicle stores it.
fn stored_item(seq: usize, item: &Item) -> WireItem {
    use num_traits::FromPrimitive;
    WireItem {
        seq: u16::try_from(seq).unwrap_or(u16::MAX),
        command: apm::MavCmd::from_u16(item.command).unwrap_or(apm::MavCmd::MAV_CMD_NAV_WAYPOINT),
        frame: apm::MavFrame::from_u8(item.frame).unwrap_or(apm::MavFrame::MAV_FRAME_GLOBAL),
        param1: item.params[0],
        param2: item.params[1],
        param3: item.params[2],
        param4: item.params[3],
        x: (item.lat_deg * 1e7).round() as i32,
        y: (item.lon_deg * 1e7).round() as i32,
        z: item.alt,
        autocontinue: 1,
        ..Default::default()
    }
}

fn ack(
    to: (u8, u8),
    mission_type: apm::MavMissionType,
    result: apm::MavMissionResult,
) -> MavMessage {
    MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
        target_system: to.0,
        target_component: to.1,
        mavtype: result,
        mission_type,
        opaque_id: 0,
    })
}

#[allow(deprecated)] // MISSION_REQUEST: what ArduPilot asks with
fn request(to: (u8, u8), mission_type: apm::MavMissionType, seq: u16) -> MavMessage {
    MavMessage::MISSION_REQUEST(apm::MISSION_REQUEST_DATA {
        seq,
        target_system: to.0,
        target_component: to.1,
        mission_type,
    })
}

impl MissionStore {
    /// Stores `items` (item 0 home) as the mission, as if a ground station had uploaded them.
    pub fn store_mission(&mut self, items: &[Item]) {
        self.mission = items
            .iter()
            .enumerate()
            .map(|(seq, item)| stored_item(seq, item))
            .collect();
        self.mission_changed = true;
    }

    /// The stored mission for the runner, once after each change.
    pub fn take_changed_mission(&mut self) -> Option<Vec<Item>> {
        if !std::mem::take(&mut self.mission_changed) {
            return None;
        }
        Some(self.mission.iter().map(runner_item).collect())
    }

    /// The stored mission for the runner.
    pub fn mission_for_runner(&self) -> Vec<Item> {
        self.mission.iter().map(runner_item).collect()
    }

    fn list(&mut self, mission_type: apm::MavMissionType) -> &mut Vec<WireItem> {
        match mission_type {
            apm::MavMissionType::MAV_MISSION_TYPE_FENCE => &mut self.fence,
            apm::MavMissionType::MAV_MISSION_TYPE_RALLY => &mut self.rally,
            _ => &mut self.mission,
        }
    }

    /// Asks again, or gives up, when the ground station went quiet mid-upload.
    pub fn tick(&mut self, now_s: f64) -> Vec<MavMessage> {
        let Some(receiving) = &mut self.receiving else {
            return Vec::new();
        };
        if now_s - receiving.started_s >= GIVE_UP_S && now_s - receiving.last_heard_s >= REASK_S {
            let cancelled = ack(
                receiving.from,
                receiving.mission_type,
                apm::MavMissionResult::MAV_MISSION_OPERATION_CANCELLED,
            );
            self.receiving = None;
            return vec![cancelled];
        }
        if now_s - receiving.last_heard_s >= REASK_S {
            receiving.last_heard_s = now_s;
            let next = u16::try_from(receiving.items.len()).unwrap_or(u16::MAX);
            return vec![request(receiving.from, receiving.mission_type, next)];
        }
        Vec::new()
    }

    /// Answers a message of the mission protocol from `from`; `home` is the vehicle's home as
    /// item 0. `None` when the message is not one of the protocol's.
    #[allow(deprecated)] // MISSION_REQUEST: older ground stations ask with it
    pub fn answer(
        &mut self,
        now_s: f64,
        from: (u8, u8),
        message: &MavMessage,
        home: &WireItem,
    ) -> Option<Vec<MavMessage>> {
        Some(match message {
            MavMessage::MISSION_COUNT(count) => {
                if count.count == 0 {
                    self.receiving = None;
                    self.clear(count.mission_type, home);
                    vec![ack(
                        from,
                        count.mission_type,
                        apm::MavMissionResult::MAV_MISSION_ACCEPTED,
                    )]
                } else {
                    self.receiving = Some(Receiving {
                        mission_type: count.mission_type,
                        count: count.count,
                        items: Vec::new(),
                        from,
                        last_heard_s: now_s,
                        started_s: now_s,
                    });
                    vec![request(from, count.mission_type, 0)]
                }
            }
            MavMessage::MISSION_ITEM_INT(item) if item.current == 2 => return None,
            MavMessage::MISSION_ITEM_INT(item) => {
                let Some(receiving) = &mut self.receiving else {
                    return Some(vec![ack(
                        from,
                        item.mission_type,
                        apm::MavMissionResult::MAV_MISSION_ERROR,
                    )]);
                };
                let next = u16::try_from(receiving.items.len()).unwrap_or(u16::MAX);
                if item.seq != next || item.mission_type != receiving.mission_type {
                    return Some(vec![ack(
                        from,
                        item.mission_type,
                        apm::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
                    )]);
                }
                receiving.items.push(item.clone());
                receiving.last_heard_s = now_s;
                if next + 1 < receiving.count {
                    return Some(vec![request(from, receiving.mission_type, next + 1)]);
                }
                let mission_type = receiving.mission_type;
                let items = std::mem::take(&mut receiving.items);
                self.receiving = None;
                *self.list(mission_type) = items;
                self.mission_changed |=
                    mission_type == apm::MavMissionType::MAV_MISSION_TYPE_MISSION;
                vec![ack(
                    from,
                    mission_type,
                    apm::MavMissionResult::MAV_MISSION_ACCEPTED,
                )]
            }
            MavMessage::MISSION_REQUEST_LIST(list) => {
                let count = self.list(list.mission_type).len();
                vec![MavMessage::MISSION_COUNT(apm::MISSION_COUNT_DATA {
                    count: u16::try_from(count).unwrap_or(u16::MAX),
                    target_system: from.0,
                    target_component: from.1,
                    mission_type: list.mission_type,
                    opaque_id: 0,
                })]
            }
            MavMessage::MISSION_REQUEST_INT(asked) => {
                self.item(from, asked.mission_type, asked.seq, home)
            }
            MavMessage::MISSION_REQUEST(asked) => {
                self.item(from, asked.mission_type, asked.seq, home)
            }
            MavMessage::MISSION_CLEAR_ALL(clear) => {
                self.clear(clear.mission_type, home);
                vec![ack(
                    from,
                    clear.mission_type,
                    apm::MavMissionResult::MAV_MISSION_ACCEPTED,
                )]
            }
            _ => return None,
        })
    }

    fn clear(&mut self, mission_type: apm::MavMissionType, home: &WireItem) {
        let list = self.list(mission_type);
        list.clear();
        if mission_type == apm::MavMissionType::MAV_MISSION_TYPE_MISSION {
            list.push(home.clone());
            self.mission_changed = true;
        }
    }

    fn item(
        &mut self,
        from: (u8, u8),
        mission_type: apm::MavMissionType,
        seq: u16,
        home: &WireItem,
    ) -> Vec<MavMessage> {
        let is_mission = mission_type == apm::MavMissionType::MAV_MISSION_TYPE_MISSION;
        let item = if is_mission && seq == 0 {
            Some(home.clone())
        } else {
            self.list(mission_type).get(usize::from(seq)).cloned()
        };
        match item {
            Some(mut item) => {
                item.seq = seq;
                item.target_system = from.0;
                item.target_component = from.1;
                item.mission_type = mission_type;
                vec![MavMessage::MISSION_ITEM_INT(item)]
            }
            None => vec![ack(
                from,
                mission_type,
                apm::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
            )],
        }
    }
}
