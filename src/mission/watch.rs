//! Missions seen on a link from the outside: follows the mission protocol's transfers between
//! any ground station and any vehicle in a stream of frames (a tlog, either direction) and
//! tells when the vehicle's mission, fence or rally points became known — a download complete,
//! an upload the vehicle accepted, a clear the vehicle accepted. The review uses it to show the
//! mission that was on the vehicle at the replayed time.
//!
//! Only what the log proves: an upload whose items the log does not hold (a ground station
//! that records only what it receives) is not guessed at, and ArduPilot's unsolicited item-0
//! home updates belong to no transfer.

use std::collections::{BTreeSet, HashMap};

use mavlink::dialects::ardupilotmega as apm;
use serde::{Deserialize, Serialize};

use crate::protocol::services::mission::WireItem;
use crate::protocol::services::MissionKind;
use crate::protocol::{FrameHeader, MavMessage};

/// An item as a snapshot keeps it (MISSION_ITEM_INT's numbers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeenItem {
    pub command: u16,
    pub frame: u8,
    pub params: [f32; 4],
    pub x: i32,
    pub y: i32,
    pub z: f32,
    pub autocontinue: bool,
}

impl SeenItem {
    fn of(item: &WireItem) -> Self {
        Self {
            command: item.command as u16,
            frame: item.frame as u8,
            params: [item.param1, item.param2, item.param3, item.param4],
            x: item.x,
            y: item.y,
            z: item.z,
            autocontinue: item.autocontinue != 0,
        }
    }

    /// Back to the wire form (for [`super::wire::from_wire`]).
    pub fn to_wire(&self, seq: u16) -> WireItem {
        use num_traits::FromPrimitive;
        WireItem {
            seq,
            command: apm::MavCmd::from_u16(self.command)
                .unwrap_or(apm::MavCmd::MAV_CMD_NAV_WAYPOINT),
            frame: apm::MavFrame::from_u8(self.frame).unwrap_or(apm::MavFrame::MAV_FRAME_GLOBAL),
            param1: self.params[0],
            param2: self.params[1],
            param3: self.params[2],
            param4: self.params[3],
            x: self.x,
            y: self.y,
            z: self.z,
            autocontinue: u8::from(self.autocontinue),
            ..WireItem::default()
        }
    }
}

/// What the vehicle held from a moment on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub time_us: u64,
    pub kind: MissionKind,
    /// Sequence 0 first (ArduPilot's mission: home).
    pub items: Vec<SeenItem>,
}

/// A transfer under way: who sends the items, who receives them.
struct Pending {
    sender: (u8, u8),
    receiver: u8,
    items: Vec<Option<SeenItem>>,
}

impl Pending {
    fn complete(&self) -> Option<Vec<SeenItem>> {
        self.items.iter().copied().collect()
    }
}

/// Follows transfers in a stream of frames; see the module documentation.
#[derive(Default)]
pub struct MissionWatch {
    autopilots: BTreeSet<(u8, u8)>,
    pending: HashMap<(u8, MissionKind), Pending>,
    /// A clear asked of a vehicle: (vehicle system, kind).
    clearing: BTreeSet<(u8, MissionKind)>,
}

fn kind_of(mission_type: apm::MavMissionType) -> Option<MissionKind> {
    match mission_type {
        apm::MavMissionType::MAV_MISSION_TYPE_MISSION => Some(MissionKind::Mission),
        apm::MavMissionType::MAV_MISSION_TYPE_FENCE => Some(MissionKind::Fence),
        apm::MavMissionType::MAV_MISSION_TYPE_RALLY => Some(MissionKind::Rally),
        _ => None,
    }
}

/// Most items a transfer may announce before it is not believed (a damaged count).
const MAX_ITEMS: u16 = 10_000;

impl MissionWatch {
    /// Looks at one frame; a snapshot when it completed one.
    #[allow(deprecated)] // MISSION_ITEM: older vehicles and ground stations still send it
    pub fn observe(
        &mut self,
        time_us: u64,
        header: &FrameHeader,
        message: &MavMessage,
    ) -> Option<Snapshot> {
        let from = (header.system_id, header.component_id);
        match message {
            MavMessage::HEARTBEAT(heartbeat) => {
                if crate::vehicle::is_autopilot_heartbeat(heartbeat) {
                    self.autopilots.insert(from);
                }
                None
            }
            MavMessage::MISSION_COUNT(count) => {
                let kind = kind_of(count.mission_type)?;
                if count.count > MAX_ITEMS {
                    return None;
                }
                let pending = Pending {
                    sender: from,
                    receiver: count.target_system,
                    items: vec![None; usize::from(count.count)],
                };
                let vehicle = if self.autopilots.contains(&from) {
                    from.0
                } else {
                    count.target_system
                };
                self.pending.insert((vehicle, kind), pending);
                self.downloaded(time_us, vehicle, kind)
            }
            MavMessage::MISSION_ITEM_INT(item) => self.item(
                time_us,
                from,
                item.mission_type,
                item.seq,
                SeenItem::of(item),
            ),
            MavMessage::MISSION_ITEM(item) => {
                let seen = SeenItem {
                    command: item.command as u16,
                    frame: item.frame as u8,
                    params: [item.param1, item.param2, item.param3, item.param4],
                    x: (f64::from(item.x) * 1e7).round() as i32,
                    y: (f64::from(item.y) * 1e7).round() as i32,
                    z: item.z,
                    autocontinue: item.autocontinue != 0,
                };
                self.item(time_us, from, item.mission_type, item.seq, seen)
            }
            MavMessage::MISSION_CLEAR_ALL(clear) => {
                let kind = kind_of(clear.mission_type)?;
                self.clearing.insert((clear.target_system, kind));
                None
            }
            MavMessage::MISSION_ACK(ack) => {
                let kind = kind_of(ack.mission_type)?;
                let accepted = ack.mavtype == apm::MavMissionResult::MAV_MISSION_ACCEPTED;
                let vehicle = from.0;
                if self.clearing.remove(&(vehicle, kind)) && accepted {
                    self.pending.remove(&(vehicle, kind));
                    return Some(Snapshot {
                        time_us,
                        kind,
                        items: Vec::new(),
                    });
                }
                // An upload ends with the vehicle's ACK to the items it received.
                let pending = self.pending.get(&(vehicle, kind))?;
                if pending.receiver != vehicle {
                    return None;
                }
                let items = pending.complete();
                self.pending.remove(&(vehicle, kind));
                Some(Snapshot {
                    time_us,
                    kind,
                    items: items.filter(|_| accepted)?,
                })
            }
            _ => None,
        }
    }

    fn item(
        &mut self,
        time_us: u64,
        from: (u8, u8),
        mission_type: apm::MavMissionType,
        seq: u16,
        item: SeenItem,
    ) -> Option<Snapshot> {
        let kind = kind_of(mission_type)?;
        let key = self
            .pending
            .iter()
            .find(|((_, k), p)| *k == kind && p.sender == from)
            .map(|(key, _)| *key)?;
        let pending = self.pending.get_mut(&key)?;
        *pending.items.get_mut(usize::from(seq))? = Some(item);
        self.downloaded(time_us, key.0, kind)
    }

    /// A download is over when the vehicle sent every item it counted.
    fn downloaded(&mut self, time_us: u64, vehicle: u8, kind: MissionKind) -> Option<Snapshot> {
        let pending = self.pending.get(&(vehicle, kind))?;
        if pending.sender.0 != vehicle || !self.autopilots.contains(&pending.sender) {
            return None;
        }
        let items = pending.complete()?;
        self.pending.remove(&(vehicle, kind));
        Some(Snapshot {
            time_us,
            kind,
            items,
        })
    }
}

/// The plan the vehicle held at `time_us`, from snapshots in time order.
pub fn plan_at(snapshots: &[Snapshot], time_us: u64) -> super::Plan {
    let mut plan = super::Plan::default();
    for snapshot in snapshots.iter().take_while(|s| s.time_us <= time_us) {
        let items: Vec<WireItem> = snapshot
            .items
            .iter()
            .enumerate()
            .map(|(seq, item)| item.to_wire(u16::try_from(seq).unwrap_or(u16::MAX)))
            .collect();
        super::wire::from_wire(&mut plan, snapshot.kind, &items);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(system_id: u8, component_id: u8) -> FrameHeader {
        FrameHeader::of_sender(system_id, component_id, 0)
    }

    const VEHICLE: (u8, u8) = (1, 1);
    const GCS: (u8, u8) = (255, 190);
    const MISSION: apm::MavMissionType = apm::MavMissionType::MAV_MISSION_TYPE_MISSION;

    fn count(to: u8, count: u16) -> MavMessage {
        MavMessage::MISSION_COUNT(apm::MISSION_COUNT_DATA {
            count,
            target_system: to,
            mission_type: MISSION,
            ..Default::default()
        })
    }

    fn item(seq: u16, lat: i32) -> MavMessage {
        MavMessage::MISSION_ITEM_INT(apm::MISSION_ITEM_INT_DATA {
            seq,
            x: lat,
            y: 1_490_000_000,
            z: 30.0,
            command: apm::MavCmd::MAV_CMD_NAV_WAYPOINT,
            mission_type: MISSION,
            ..Default::default()
        })
    }

    fn ack(to: u8) -> MavMessage {
        MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
            target_system: to,
            mavtype: apm::MavMissionResult::MAV_MISSION_ACCEPTED,
            mission_type: MISSION,
            ..Default::default()
        })
    }

    #[test]
    fn uploads_downloads_and_clears_are_seen_and_home_updates_are_not() {
        let mut watch = MissionWatch::default();
        let mut see = |time_us, (s, c): (u8, u8), message: &MavMessage| {
            watch.observe(time_us, &header(s, c), message)
        };
        let heartbeat = MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
            autopilot: apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            mavtype: apm::MavType::MAV_TYPE_QUADROTOR,
            ..Default::default()
        });
        assert!(see(1, VEHICLE, &heartbeat).is_none());
        // ArduPilot's unsolicited home item: no transfer.
        assert!(see(2, VEHICLE, &item(0, -353_000_000)).is_none());
        // Upload: the ground station counts and sends, the vehicle accepts.
        assert!(see(10, GCS, &count(1, 2)).is_none());
        assert!(see(11, GCS, &item(0, -353_000_000)).is_none());
        assert!(see(12, GCS, &item(1, -353_100_000)).is_none());
        let uploaded = see(13, VEHICLE, &ack(255)).expect("upload seen");
        assert_eq!(uploaded.time_us, 13);
        assert_eq!(uploaded.items.len(), 2);
        assert_eq!(uploaded.items[1].x, -353_100_000);
        // Download: the vehicle counts and sends; complete at its last item.
        assert!(see(20, VEHICLE, &count(255, 2)).is_none());
        assert!(see(21, VEHICLE, &item(0, -353_000_000)).is_none());
        let downloaded = see(22, VEHICLE, &item(1, -353_200_000)).expect("download seen");
        assert_eq!(downloaded.items[1].x, -353_200_000);
        assert!(see(23, GCS, &ack(1)).is_none());
        // An upload the vehicle refuses changes nothing.
        assert!(see(30, GCS, &count(1, 1)).is_none());
        let refused = MavMessage::MISSION_ACK(apm::MISSION_ACK_DATA {
            target_system: 255,
            mavtype: apm::MavMissionResult::MAV_MISSION_NO_SPACE,
            mission_type: MISSION,
            ..Default::default()
        });
        assert!(see(31, VEHICLE, &refused).is_none());
        // A clear the vehicle accepts.
        let clear = MavMessage::MISSION_CLEAR_ALL(apm::MISSION_CLEAR_ALL_DATA {
            target_system: 1,
            mission_type: MISSION,
            ..Default::default()
        });
        assert!(see(40, GCS, &clear).is_none());
        let cleared = see(41, VEHICLE, &ack(255)).expect("clear seen");
        assert!(cleared.items.is_empty());
        let snapshots = [uploaded, downloaded, cleared];
        assert!(plan_at(&snapshots, 5).items.is_empty());
        assert_eq!(plan_at(&snapshots, 15).items.len(), 1);
        assert!((plan_at(&snapshots, 25).items[0].x - -35.32).abs() < 1e-9);
        assert!(plan_at(&snapshots, 45).items.is_empty());
    }
}
