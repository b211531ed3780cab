//! The fields of any decoded message, by name, for the inspector, plots and exports.

use super::MavMessage;

/// One field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Number(f64),
    Text(String),
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(value) => write!(f, "{value}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

fn flatten(name: String, value: &serde_json::Value, out: &mut Vec<(String, FieldValue)>) {
    match value {
        serde_json::Value::Number(number) => {
            out.push((
                name,
                FieldValue::Number(number.as_f64().unwrap_or(f64::NAN)),
            ));
        }
        serde_json::Value::Bool(flag) => {
            out.push((name, FieldValue::Number(f64::from(u8::from(*flag)))))
        }
        serde_json::Value::String(text) => out.push((name, FieldValue::Text(text.clone()))),
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten(format!("{name}[{index}]"), item, out);
            }
        }
        // Enums are serialised as {"type": "NAME"}.
        serde_json::Value::Object(map) => match map.get("type") {
            Some(serde_json::Value::String(variant)) if map.len() == 1 => {
                out.push((name, FieldValue::Text(variant.clone())));
            }
            _ => out.push((name, FieldValue::Text(value.to_string()))),
        },
        serde_json::Value::Null => out.push((name, FieldValue::Text(String::new()))),
    }
}

/// Every field of `message` in declaration order, arrays expanded as `name[i]`.
pub fn fields(message: &MavMessage) -> Vec<(String, FieldValue)> {
    let mut out = Vec::new();
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(message) else {
        return out;
    };
    for (name, value) in &map {
        if name == "type" {
            continue;
        }
        flatten(name.clone(), value, &mut out);
    }
    out
}

/// One numeric field of `message` by name (as [`fields`] names it).
pub fn numeric_field(message: &MavMessage, field: &str) -> Option<f64> {
    fields(message)
        .into_iter()
        .find(|(name, _)| name == field)
        .and_then(|(_, value)| match value {
            FieldValue::Number(number) => Some(number),
            FieldValue::Text(_) => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavlink::dialects::ardupilotmega as apm;

    #[test]
    fn lists_numbers_enums_and_arrays() {
        let message = MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
            custom_mode: 5,
            mavtype: apm::MavType::MAV_TYPE_QUADROTOR,
            autopilot: apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: apm::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED,
            system_status: apm::MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        });
        let fields = fields(&message);
        assert!(fields.contains(&("custom_mode".into(), FieldValue::Number(5.0))));
        assert!(fields.contains(&(
            "mavtype".into(),
            FieldValue::Text("MAV_TYPE_QUADROTOR".into())
        )));
        let battery = MavMessage::BATTERY_STATUS(apm::BATTERY_STATUS_DATA::default());
        assert!(numeric_field(&battery, "voltages[9]").is_some());
    }
}
