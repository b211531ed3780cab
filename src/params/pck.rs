//! ArduPilot's packed parameter file, `@PARAM/param.pck`, read over MAVLink FTP: all the
//! parameters in one file, each name sharing its prefix with the one before.
//!
//! Layout (little-endian): a header of `magic: u16` (0x671b, or 0x671c when defaults follow
//! the values), `count: u16` (parameters in this file), `total: u16` (on the vehicle); then
//! entries, with zero bytes between them as padding: `type | flags << 4: u8` (type 1 int8,
//! 2 int16, 3 int32, 4 float; flag 1: a default follows), `(name_len - 1) << 4 | common: u8`
//! (`common` leading characters are the previous name's), the rest of the name, the value, and
//! the default when flagged.

use super::{Param, ParamType};

const MAGIC: u16 = 0x671b;
const MAGIC_WITH_DEFAULTS: u16 = 0x671c;
/// Entries never straddle a block of this size (the encoder pads; the decoder skips zeros).
const BLOCK: usize = 256;

/// A packed file that cannot be read: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("param.pck, byte {offset}: {message}")]
pub struct PckError {
    pub offset: usize,
    pub message: String,
}

fn error(offset: usize, message: impl Into<String>) -> PckError {
    PckError {
        offset,
        message: message.into(),
    }
}

/// The parameters of a packed file, and how many the vehicle has in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub params: Vec<Param>,
    pub total: u16,
}

fn size_of(kind: u8) -> Option<(usize, ParamType)> {
    Some(match kind {
        1 => (1, ParamType::Int8),
        2 => (2, ParamType::Int16),
        3 => (4, ParamType::Int32),
        4 => (4, ParamType::Real32),
        _ => return None,
    })
}

fn value_at(bytes: &[u8], kind: ParamType) -> f64 {
    match kind {
        ParamType::Int8 => f64::from(bytes[0] as i8),
        ParamType::Int16 => f64::from(i16::from_le_bytes([bytes[0], bytes[1]])),
        ParamType::Int32 => f64::from(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        _ => f64::from(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
    }
}

/// Reads a packed file.
pub fn decode(data: &[u8]) -> Result<Packed, PckError> {
    if data.len() < 6 {
        return Err(error(0, "shorter than its 6-byte header"));
    }
    let word = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]);
    let with_defaults = match word(0) {
        MAGIC => false,
        MAGIC_WITH_DEFAULTS => true,
        other => return Err(error(0, format!("not a param.pck (magic {other:#06x})"))),
    };
    let (count, total) = (word(2), word(4));
    let mut params = Vec::with_capacity(usize::from(count));
    let mut name: Vec<u8> = Vec::new();
    let mut at = 6;
    while at < data.len() {
        if data[at] == 0 {
            at += 1;
            continue;
        }
        let start = at;
        let Some(&[type_flags, lengths]) = data.get(at..at + 2) else {
            return Err(error(start, "entry cut off"));
        };
        let (size, kind) = size_of(type_flags & 0x0f)
            .ok_or_else(|| error(start, format!("unknown type {}", type_flags & 0x0f)))?;
        let has_default = with_defaults && (type_flags >> 4) & 1 == 1;
        let name_len = usize::from(lengths >> 4) + 1;
        let common = usize::from(lengths & 0x0f);
        if common > name.len() {
            return Err(error(
                start,
                format!(
                    "shares {common} characters with a {}-character name",
                    name.len()
                ),
            ));
        }
        at += 2;
        let suffix = data
            .get(at..at + name_len)
            .ok_or_else(|| error(start, "name cut off"))?;
        name.truncate(common);
        name.extend_from_slice(suffix);
        at += name_len;
        let value_bytes = data
            .get(at..at + size)
            .ok_or_else(|| error(start, "value cut off"))?;
        let value = value_at(value_bytes, kind);
        at += size;
        let default = if has_default {
            let bytes = data
                .get(at..at + size)
                .ok_or_else(|| error(start, "default cut off"))?;
            at += size;
            Some(value_at(bytes, kind))
        } else {
            None
        };
        let text = std::str::from_utf8(&name)
            .ok()
            .filter(|text| super::valid_name(text))
            .ok_or_else(|| error(start, "a name that is not a parameter name"))?;
        params.push(Param {
            name: text.to_owned(),
            value,
            kind: Some(kind),
            default,
        });
    }
    if params.len() != usize::from(count) {
        return Err(error(
            data.len(),
            format!("{} parameters where the header says {count}", params.len()),
        ));
    }
    Ok(Packed { params, total })
}

/// Writes a packed file of `params` (in their order; integer types are stored in the smallest
/// of int8/int16/int32 that the type names, reals as float) — the vehicle's side, for the
/// simulator and the tests. Defaults are written when `with_defaults`.
pub fn encode(params: &[Param], total: u16, with_defaults: bool) -> Vec<u8> {
    let magic = if with_defaults {
        MAGIC_WITH_DEFAULTS
    } else {
        MAGIC
    };
    let mut out = Vec::new();
    out.extend_from_slice(&magic.to_le_bytes());
    out.extend_from_slice(
        &u16::try_from(params.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&total.to_le_bytes());
    let mut previous: &[u8] = &[];
    for param in params {
        let name = param.name.as_bytes();
        let common = name
            .iter()
            .zip(previous)
            .take_while(|(a, b)| a == b)
            .count()
            .min(15)
            .min(name.len().saturating_sub(1));
        let suffix = &name[common..];
        let (code, size) = match param.kind {
            Some(ParamType::Int8 | ParamType::Uint8) => (1u8, 1),
            Some(ParamType::Int16 | ParamType::Uint16) => (2, 2),
            Some(ParamType::Int32 | ParamType::Uint32) => (3, 4),
            _ => (4, 4),
        };
        let default = param.default.filter(|_| with_defaults);
        let entry_len = 2 + suffix.len() + size * (1 + usize::from(default.is_some()));
        if out.len() / BLOCK != (out.len() + entry_len - 1) / BLOCK {
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out.push(code | u8::from(default.is_some()) << 4);
        out.push(((suffix.len() - 1) as u8) << 4 | common as u8);
        out.extend_from_slice(suffix);
        for value in std::iter::once(param.value).chain(default) {
            match code {
                1 => out.push(value as i8 as u8),
                2 => out.extend_from_slice(&(value as i16).to_le_bytes()),
                3 => out.extend_from_slice(&(value as i32).to_le_bytes()),
                _ => out.extend_from_slice(&(value as f32).to_le_bytes()),
            }
        }
        previous = name;
    }
    out
}
