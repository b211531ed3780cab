//! CSV of one message type, the way `mavlogdump.py --format csv --types NAME` writes it: a
//! `timestamp` column (seconds, 8 decimals) then one column per field named `TYPE.field`,
//! values as decoded, numbers at full precision in Python's notation, so that the two files
//! can be compared value for value.

use std::io::Write;

use mavlink::Message as _;

use super::frames::{for_each_frame_with, Span};
use super::open::Opened;
use crate::protocol::frame::FrameHeader;
use crate::protocol::{self, dialect, MavMessage};

/// A float as Python's `repr` writes it (shortest round trip; exponent outside 1e-4..1e16).
pub fn python_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust gives the shortest round-trip digit count; when two such strings are equally near,
    // Python takes the correctly rounded one (ties to even): format again at that precision.
    let shortest = format!("{value:e}");
    let digit_count = shortest
        .split_once('e')
        .map_or(shortest.as_str(), |(mantissa, _)| mantissa)
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    let scientific = format!("{value:.*e}", digit_count.saturating_sub(1));
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.unsigned_abs())
    }
}

fn python_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Number(number) => {
            if number.is_f64() {
                python_float(number.as_f64().unwrap_or(f64::NAN))
            } else {
                number.to_string()
            }
        }
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Bool(flag) => if *flag { "True" } else { "False" }.to_owned(),
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_value).collect();
            format!("[{}]", items.join(", "))
        }
        serde_json::Value::Object(map) => match map.get("type") {
            Some(serde_json::Value::String(variant)) if map.len() == 1 => variant.clone(),
            _ => value.to_string(),
        },
        serde_json::Value::Null => String::new(),
    }
}

fn field_values(message: &MavMessage) -> Vec<(String, serde_json::Value)> {
    match serde_json::to_value(message) {
        Ok(serde_json::Value::Object(map)) => {
            map.into_iter().filter(|(name, _)| name != "type").collect()
        }
        _ => Vec::new(),
    }
}

/// Errors of a CSV export.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("no message type named {0} in the ArduPilot dialect")]
    UnknownType(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Writes every `type_name` frame (both directions, in order) as CSV; returns the row count.
pub fn export_csv(opened: &Opened, type_name: &str, out: &mut impl Write) -> Result<u64, CsvError> {
    export_csv_span(opened, type_name, Span::ALL, &mut |_, _| {}, out)
}

/// [`export_csv`] of the frames in `span`, reporting `progress(done, total)` bytes.
pub fn export_csv_span(
    opened: &Opened,
    type_name: &str,
    span: Span,
    progress: &mut dyn FnMut(u64, u64),
    out: &mut impl Write,
) -> Result<u64, CsvError> {
    let id = dialect::message_id(type_name)
        .ok_or_else(|| CsvError::UnknownType(type_name.to_owned()))?;
    let name = dialect::display_name(id);
    let template = MavMessage::default_message_from_id(id)
        .ok_or_else(|| CsvError::UnknownType(name.clone()))?;
    let mut header = vec!["timestamp".to_owned()];
    header.extend(
        field_values(&template)
            .into_iter()
            .map(|(field, _)| format!("{name}.{field}")),
    );
    writeln!(out, "{}", header.join(","))?;
    let mut rows = 0u64;
    let mut result: std::io::Result<()> = Ok(());
    let mut row = |time_us: u64, header: &FrameHeader, bytes: &[u8]| {
        if header.message_id != id || result.is_err() || !span.contains(time_us) {
            return;
        }
        let Ok(message) = protocol::decode(header, bytes) else {
            return;
        };
        let mut line = format!("{:.8}", time_us as f64 * 1e-6);
        for (_, value) in field_values(&message) {
            line.push(',');
            line.push_str(&python_value(&value));
        }
        result = writeln!(out, "{line}");
        rows += 1;
    };
    for_each_frame_with(opened, progress, &mut |time_us, _, header, bytes| {
        row(time_us, header, bytes)
    });
    result?;
    out.flush()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_look_like_python_repr() {
        assert_eq!(python_float(f64::from(0.1f32)), "0.10000000149011612");
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(-2.5), "-2.5");
        assert_eq!(python_float(0.0), "0.0");
        assert_eq!(python_float(1e-5), "1e-05");
        assert_eq!(python_float(0.0001), "0.0001");
        assert_eq!(python_float(1.5e16), "1.5e+16");
        assert_eq!(python_float(123456789012345.0), "123456789012345.0");
        assert_eq!(
            python_float(-3.4028234663852886e38),
            "-3.4028234663852886e+38"
        );
        assert_eq!(python_float(f64::NAN), "nan");
        // An exact tie between two shortest candidates: Python keeps the even digit.
        // 0.60639190673828125 exactly, an ATTITUDE.yaw seen in a real log.
        let tie = f64::from(f32::from_bits(0x3f1b3c80));
        assert_eq!(python_float(tie), "0.6063919067382812");
    }
}
