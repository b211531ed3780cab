//! QGroundControl's `.plan` (JSON): mission, geofence, rally points, planned home, speeds.
//!
//! Simple items keep every member Airlock does not interpret (QGroundControl's altitude mode,
//! `AMSLAltAboveTerrain`…) and write it back. Complex items (surveys, corridor scans) are read
//! through the items they generated (`TransectStyleComplexItem.Items`) and written back as the
//! original complex item while those items are unchanged; once edited they are written as
//! simple items (flattened). `null` parameters are NaN and are written as `null` again.

use serde_json::{json, Map, Value};

use super::{
    ComplexBlock, Fence, FenceCircle, FencePolygon, MissionFileError, MissionItem, Plan,
    FRAME_GLOBAL, NAV_WAYPOINT,
};

/// Members of a simple item that Airlock itself reads and writes.
const OWN_MEMBERS: [&str; 6] = [
    "autoContinue",
    "command",
    "doJumpId",
    "frame",
    "params",
    "type",
];
/// QGroundControl's altitude modes in which `Altitude` is the item's z as it stands
/// (relative, absolute, terrain frame), so it is kept equal to z on writing.
const ALTITUDE_MODES_OF_Z: [u64; 3] = [1, 2, 4];

fn error(path: &str, message: impl Into<String>) -> MissionFileError {
    MissionFileError::file(format!("{path}: {}", message.into()))
}

fn get<'a>(object: &'a Value, key: &str, path: &str) -> Result<&'a Value, MissionFileError> {
    object
        .get(key)
        .ok_or_else(|| error(path, format!("`{key}` is missing")))
}

fn float(value: &Value, path: &str) -> Result<f64, MissionFileError> {
    match value {
        Value::Null => Ok(f64::NAN),
        Value::Number(n) => n.as_f64().ok_or_else(|| error(path, "not a number")),
        other => Err(error(path, format!("expected a number, found {other}"))),
    }
}

fn whole<T: TryFrom<u64>>(value: &Value, path: &str) -> Result<T, MissionFileError> {
    value
        .as_u64()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            error(
                path,
                format!("expected a whole number in range, found {value}"),
            )
        })
}

fn array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, MissionFileError> {
    value
        .as_array()
        .ok_or_else(|| error(path, format!("expected a list, found {value}")))
}

fn point(value: &Value, path: &str, len: usize) -> Result<Vec<f64>, MissionFileError> {
    let list = array(value, path)?;
    if list.len() < len {
        return Err(error(
            path,
            format!("expected {len} numbers, found {}", list.len()),
        ));
    }
    list.iter()
        .take(len)
        .enumerate()
        .map(|(i, v)| float(v, &format!("{path}[{i}]")))
        .collect()
}

fn simple_item(value: &Value, path: &str) -> Result<MissionItem, MissionFileError> {
    let params = array(get(value, "params", path)?, &format!("{path}.params"))?;
    if params.len() != 7 {
        return Err(error(
            &format!("{path}.params"),
            format!("expected 7 parameters, found {}", params.len()),
        ));
    }
    let p: Vec<f64> = params
        .iter()
        .enumerate()
        .map(|(i, v)| float(v, &format!("{path}.params[{i}]")))
        .collect::<Result<_, _>>()?;
    let autocontinue = match value.get("autoContinue") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(error(
                &format!("{path}.autoContinue"),
                format!("expected true or false, found {other}"),
            ))
        }
    };
    let extra = value
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(key, _)| !OWN_MEMBERS.contains(&key.as_str()))
                .map(|(key, v)| (key.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(MissionItem {
        command: whole(get(value, "command", path)?, &format!("{path}.command"))?,
        frame: whole(get(value, "frame", path)?, &format!("{path}.frame"))?,
        params: [p[0], p[1], p[2], p[3]],
        x: p[4],
        y: p[5],
        z: p[6],
        autocontinue,
        extra,
    })
}

/// The generated items of a complex item: every `Items` list inside it.
fn generated_items(
    value: &Value,
    path: &str,
    out: &mut Vec<MissionItem>,
) -> Result<(), MissionFileError> {
    match value {
        Value::Object(object) => {
            for (key, member) in object {
                let inner = format!("{path}.{key}");
                if key == "Items" {
                    for (i, item) in array(member, &inner)?.iter().enumerate() {
                        let item_path = format!("{inner}[{i}]");
                        match item.get("type").and_then(Value::as_str) {
                            Some("SimpleItem") | None => out.push(simple_item(item, &item_path)?),
                            _ => generated_items(item, &item_path, out)?,
                        }
                    }
                } else {
                    generated_items(member, &inner, out)?;
                }
            }
            Ok(())
        }
        Value::Array(list) => {
            for (i, member) in list.iter().enumerate() {
                generated_items(member, &format!("{path}[{i}]"), out)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Reads a `.plan`.
pub fn read(text: &str) -> Result<Plan, MissionFileError> {
    let root: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| MissionFileError::at(e.line(), None, format!("not valid JSON: {e}")))?;
    match root.get("fileType").and_then(Value::as_str) {
        Some("Plan") => {}
        other => {
            return Err(error(
                "fileType",
                format!("expected \"Plan\", found {}", other.unwrap_or("nothing")),
            ))
        }
    }
    let mut plan = Plan::default();
    if let Some(mission) = root.get("mission") {
        plan.cruise_speed_m_s = mission.get("cruiseSpeed").and_then(Value::as_f64);
        plan.hover_speed_m_s = mission.get("hoverSpeed").and_then(Value::as_f64);
        if let Some(home) = mission.get("plannedHomePosition") {
            let p = point(home, "mission.plannedHomePosition", 3)?;
            if !(p[0] == 0.0 && p[1] == 0.0 && p[2] == 0.0) {
                plan.home = Some(MissionItem::new(
                    NAV_WAYPOINT,
                    FRAME_GLOBAL,
                    p[0],
                    p[1],
                    p[2],
                ));
            }
        }
        for (i, item) in array(get(mission, "items", "mission")?, "mission.items")?
            .iter()
            .enumerate()
        {
            let path = format!("mission.items[{i}]");
            match item.get("type").and_then(Value::as_str) {
                Some("SimpleItem") => plan.items.push(simple_item(item, &path)?),
                Some("ComplexItem") => {
                    let mut items = Vec::new();
                    generated_items(item, &path, &mut items)?;
                    if items.is_empty() {
                        let kind = item
                            .get("complexItemType")
                            .and_then(Value::as_str)
                            .unwrap_or("?");
                        return Err(error(
                            &path,
                            format!("the complex item `{kind}` holds no generated items: open and save it in QGroundControl first"),
                        ));
                    }
                    plan.complex.push(ComplexBlock {
                        start: plan.items.len(),
                        items: items.clone(),
                        json: item.clone(),
                    });
                    plan.items.extend(items);
                }
                other => {
                    return Err(error(
                        &format!("{path}.type"),
                        format!(
                            "expected SimpleItem or ComplexItem, found {}",
                            other.unwrap_or("nothing")
                        ),
                    ))
                }
            }
        }
    }
    if let Some(fence) = root.get("geoFence") {
        plan.fence = read_fence(fence)?;
    }
    if let Some(rally) = root.get("rallyPoints") {
        if let Some(points) = rally.get("points") {
            for (i, p) in array(points, "rallyPoints.points")?.iter().enumerate() {
                let p = point(p, &format!("rallyPoints.points[{i}]"), 3)?;
                plan.rally.push((p[0], p[1], p[2]));
            }
        }
    }
    Ok(plan)
}

fn read_fence(fence: &Value) -> Result<Fence, MissionFileError> {
    let mut out = Fence::default();
    let inclusion = |value: &Value, path: &str| match value.get("inclusion") {
        None => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(error(
            path,
            format!("`inclusion` should be true or false, found {other}"),
        )),
    };
    if let Some(circles) = fence.get("circles") {
        for (i, c) in array(circles, "geoFence.circles")?.iter().enumerate() {
            let path = format!("geoFence.circles[{i}]");
            let circle = get(c, "circle", &path)?;
            let centre = point(
                get(circle, "center", &path)?,
                &format!("{path}.circle.center"),
                2,
            )?;
            out.circles.push(FenceCircle {
                lat_deg: centre[0],
                lon_deg: centre[1],
                radius_m: float(
                    get(circle, "radius", &path)?,
                    &format!("{path}.circle.radius"),
                )?,
                inclusion: inclusion(c, &path)?,
            });
        }
    }
    if let Some(polygons) = fence.get("polygons") {
        for (i, p) in array(polygons, "geoFence.polygons")?.iter().enumerate() {
            let path = format!("geoFence.polygons[{i}]");
            let vertices = array(get(p, "polygon", &path)?, &format!("{path}.polygon"))?
                .iter()
                .enumerate()
                .map(|(j, v)| point(v, &format!("{path}.polygon[{j}]"), 2).map(|v| (v[0], v[1])))
                .collect::<Result<Vec<_>, _>>()?;
            if vertices.len() < 3 {
                return Err(error(
                    &path,
                    format!("a polygon needs 3 vertices, it has {}", vertices.len()),
                ));
            }
            out.polygons.push(FencePolygon {
                vertices,
                inclusion: inclusion(p, &path)?,
            });
        }
    }
    if let Some(breach) = fence.get("breachReturn") {
        let p = point(breach, "geoFence.breachReturn", 3)?;
        out.return_point = Some((p[0], p[1], p[2]));
    }
    Ok(out)
}

fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn write_simple(item: &MissionItem, seq: usize) -> Value {
    let mut object = Map::new();
    for (key, value) in &item.extra {
        object.insert(key.clone(), value.clone());
    }
    let mode_of_z = object
        .get("AltitudeMode")
        .and_then(Value::as_u64)
        .is_some_and(|mode| ALTITUDE_MODES_OF_Z.contains(&mode));
    let altitude = object.get("Altitude").and_then(Value::as_f64);
    if mode_of_z && !item.z.is_nan() && altitude != Some(item.z) {
        object.insert("Altitude".into(), number(item.z));
    }
    object.insert("autoContinue".into(), Value::Bool(item.autocontinue));
    object.insert("command".into(), json!(item.command));
    object.insert("doJumpId".into(), json!(seq));
    object.insert("frame".into(), json!(item.frame));
    let [p1, p2, p3, p4] = item.params;
    object.insert(
        "params".into(),
        Value::Array(
            [p1, p2, p3, p4, item.x, item.y, item.z]
                .map(number)
                .to_vec(),
        ),
    );
    object.insert("type".into(), Value::String("SimpleItem".into()));
    Value::Object(object)
}

/// Writes `plan` as a `.plan`.
pub fn write(plan: &Plan) -> Result<String, MissionFileError> {
    let home = match &plan.home {
        None => vec![0.0, 0.0, 0.0],
        Some(home) if home.frame == FRAME_GLOBAL && home.command == NAV_WAYPOINT => {
            if home.x == 0.0 && home.y == 0.0 && home.z == 0.0 {
                return Err(MissionFileError::item(0, "a home at 0°, 0° and 0 m reads back as no home in a .plan"));
            }
            vec![home.x, home.y, home.z]
        }
        Some(home) => {
            return Err(MissionFileError::item(
                0,
                format!(
                    "a .plan holds home as a position above sea level (frame 0, command 16), not command {} in frame {}",
                    home.command, home.frame
                ),
            ))
        }
    };
    let mut items = Vec::new();
    let mut index = 0;
    while index < plan.items.len() {
        let block = plan.complex.iter().find(|block| {
            block.start == index
                && plan.items.get(index..index + block.items.len()) == Some(&block.items[..])
        });
        match block {
            Some(block) => {
                items.push(block.json.clone());
                index += block.items.len();
            }
            None => {
                items.push(write_simple(&plan.items[index], index + 1));
                index += 1;
            }
        }
    }
    let mut mission = json!({
        "cruiseSpeed": plan.cruise_speed_m_s.map_or(Value::Null, number),
        "hoverSpeed": plan.hover_speed_m_s.map_or(Value::Null, number),
        "firmwareType": 0,
        "vehicleType": 0,
        "items": items,
        "plannedHomePosition": home.into_iter().map(number).collect::<Vec<_>>(),
        "version": 2,
    });
    if let Some(object) = mission.as_object_mut() {
        object.retain(|_, value| !value.is_null());
    }
    let fence = json!({
        "circles": plan.fence.circles.iter().map(|c| json!({
            "circle": {"center": [number(c.lat_deg), number(c.lon_deg)], "radius": number(c.radius_m)},
            "inclusion": c.inclusion,
            "version": 1,
        })).collect::<Vec<_>>(),
        "polygons": plan.fence.polygons.iter().map(|p| json!({
            "polygon": p.vertices.iter().map(|(lat, lon)| [number(*lat), number(*lon)]).collect::<Vec<_>>(),
            "inclusion": p.inclusion,
            "version": 1,
        })).collect::<Vec<_>>(),
        "version": 2,
    });
    let mut fence = fence;
    if let (Some((lat, lon, alt)), Some(object)) = (plan.fence.return_point, fence.as_object_mut())
    {
        object.insert(
            "breachReturn".into(),
            json!([number(lat), number(lon), number(alt)]),
        );
    }
    let root = json!({
        "fileType": "Plan",
        "geoFence": fence,
        "groundStation": "Airlock",
        "mission": mission,
        "rallyPoints": {
            "points": plan.rally.iter().map(|(lat, lon, alt)| [number(*lat), number(*lon), number(*alt)]).collect::<Vec<_>>(),
            "version": 2,
        },
        "version": 1,
    });
    serde_json::to_string_pretty(&root)
        .map(|text| text + "\n")
        .map_err(|e| MissionFileError::file(format!("cannot write JSON: {e}")))
}
