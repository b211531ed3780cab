//! A plan as the items of the mission protocol (MISSION_ITEM_INT) and back: the mission with
//! home as item 0, the fence as MAV_CMD_NAV_FENCE_* items, rally points as
//! MAV_CMD_NAV_RALLY_POINT items.

use mavlink::dialects::ardupilotmega as apm;
use num_traits::{FromPrimitive, ToPrimitive};

use super::{
    Fence, FenceCircle, FencePolygon, MissionFileError, MissionItem, Plan, FRAME_GLOBAL,
    NAV_WAYPOINT,
};
use crate::protocol::services::mission::WireItem;
use crate::protocol::services::MissionKind;

const FENCE_RETURN_POINT: u16 = 5000;
const FENCE_POLYGON_INCLUSION: u16 = 5001;
const FENCE_POLYGON_EXCLUSION: u16 = 5002;
const FENCE_CIRCLE_INCLUSION: u16 = 5003;
const FENCE_CIRCLE_EXCLUSION: u16 = 5004;
const RALLY_POINT: u16 = 5100;
/// MAV_FRAME_GLOBAL_RELATIVE_ALT.
const FRAME_RELATIVE: u8 = 3;

fn degrees_e7(degrees: f64, seq: usize) -> Result<i32, MissionFileError> {
    let scaled = (degrees * 1e7).round();
    if scaled.is_finite() && scaled.abs() <= f64::from(i32::MAX) {
        Ok(scaled as i32)
    } else {
        Err(MissionFileError::item(
            seq,
            format!("{degrees} is not a latitude or longitude"),
        ))
    }
}

fn to_wire_item(item: &MissionItem, seq: usize) -> Result<WireItem, MissionFileError> {
    let command = apm::MavCmd::from_u16(item.command).ok_or_else(|| {
        MissionFileError::item(
            seq,
            format!(
                "command {} is not one Airlock can send (unknown to its MAVLink dialect)",
                item.command
            ),
        )
    })?;
    let frame = apm::MavFrame::from_u8(item.frame).ok_or_else(|| {
        MissionFileError::item(seq, format!("frame {} is not a MAVLink frame", item.frame))
    })?;
    Ok(WireItem {
        param1: item.params[0] as f32,
        param2: item.params[1] as f32,
        param3: item.params[2] as f32,
        param4: item.params[3] as f32,
        x: degrees_e7(item.x, seq)?,
        y: degrees_e7(item.y, seq)?,
        z: item.z as f32,
        seq: u16::try_from(seq).unwrap_or(u16::MAX),
        command,
        frame,
        autocontinue: u8::from(item.autocontinue),
        ..WireItem::default()
    })
}

fn from_wire_item(item: &WireItem) -> MissionItem {
    MissionItem {
        command: item.command.to_u16().unwrap_or(u16::MAX),
        frame: item.frame.to_u8().unwrap_or(u8::MAX),
        params: [item.param1, item.param2, item.param3, item.param4].map(f64::from),
        x: f64::from(item.x) / 1e7,
        y: f64::from(item.y) / 1e7,
        z: f64::from(item.z),
        autocontinue: item.autocontinue != 0,
        extra: serde_json::Map::new(),
    }
}

/// The items of one kind of a plan, sequence 0 first.
pub fn to_wire(plan: &Plan, kind: MissionKind) -> Result<Vec<WireItem>, MissionFileError> {
    let items: Vec<MissionItem> = match kind {
        MissionKind::Mission => {
            let home = plan
                .home
                .clone()
                .unwrap_or_else(|| MissionItem::new(NAV_WAYPOINT, FRAME_GLOBAL, 0.0, 0.0, 0.0));
            std::iter::once(home)
                .chain(plan.items.iter().cloned())
                .collect()
        }
        MissionKind::Fence => {
            let mut items = Vec::new();
            for polygon in &plan.fence.polygons {
                let command = if polygon.inclusion {
                    FENCE_POLYGON_INCLUSION
                } else {
                    FENCE_POLYGON_EXCLUSION
                };
                for (lat, lon) in &polygon.vertices {
                    // ArduPilot keeps fence points in the global frame (they have no altitude).
                    let mut item = MissionItem::new(command, FRAME_GLOBAL, *lat, *lon, 0.0);
                    item.params[0] = polygon.vertices.len() as f64;
                    items.push(item);
                }
            }
            for circle in &plan.fence.circles {
                let command = if circle.inclusion {
                    FENCE_CIRCLE_INCLUSION
                } else {
                    FENCE_CIRCLE_EXCLUSION
                };
                let mut item =
                    MissionItem::new(command, FRAME_RELATIVE, circle.lat_deg, circle.lon_deg, 0.0);
                item.params[0] = circle.radius_m;
                items.push(item);
            }
            if let Some((lat, lon, alt)) = plan.fence.return_point {
                items.push(MissionItem::new(
                    FENCE_RETURN_POINT,
                    FRAME_RELATIVE,
                    lat,
                    lon,
                    alt,
                ));
            }
            items
        }
        MissionKind::Rally => plan
            .rally
            .iter()
            .map(|(lat, lon, alt)| MissionItem::new(RALLY_POINT, FRAME_RELATIVE, *lat, *lon, *alt))
            .collect(),
    };
    items
        .iter()
        .enumerate()
        .map(|(seq, item)| to_wire_item(item, seq))
        .collect()
}

/// Puts items of one kind read from a vehicle into `plan`.
pub fn from_wire(plan: &mut Plan, kind: MissionKind, items: &[WireItem]) {
    let items: Vec<MissionItem> = items.iter().map(from_wire_item).collect();
    match kind {
        MissionKind::Mission => {
            let mut rest = items.into_iter();
            plan.home = rest.next().filter(|home| !(home.x == 0.0 && home.y == 0.0));
            plan.items = rest.collect();
        }
        MissionKind::Fence => {
            let mut fence = Fence::default();
            let mut index = 0;
            while index < items.len() {
                let item = &items[index];
                match item.command {
                    FENCE_POLYGON_INCLUSION | FENCE_POLYGON_EXCLUSION => {
                        let count = (item.params[0] as usize).max(1);
                        let vertices = items[index..(index + count).min(items.len())]
                            .iter()
                            .map(|v| (v.x, v.y))
                            .collect();
                        fence.polygons.push(FencePolygon {
                            vertices,
                            inclusion: item.command == FENCE_POLYGON_INCLUSION,
                        });
                        index += count;
                        continue;
                    }
                    FENCE_CIRCLE_INCLUSION | FENCE_CIRCLE_EXCLUSION => {
                        fence.circles.push(FenceCircle {
                            lat_deg: item.x,
                            lon_deg: item.y,
                            radius_m: item.params[0],
                            inclusion: item.command == FENCE_CIRCLE_INCLUSION,
                        })
                    }
                    FENCE_RETURN_POINT => fence.return_point = Some((item.x, item.y, item.z)),
                    _ => {}
                }
                index += 1;
            }
            plan.fence = fence;
        }
        MissionKind::Rally => {
            plan.rally = items.iter().map(|item| (item.x, item.y, item.z)).collect();
        }
    }
}
