//! The simulated vehicle's parameters: ArduCopter's own set (1 354 names, values and types
//! read from the SITL build in `../shared/sitl`, kept in `assets/sim/copter.params`), served
//! like ArduPilot serves them — PARAM_REQUEST_LIST streamed at what the radio carries,
//! PARAM_REQUEST_READ by index or name, PARAM_SET echoed with the value kept (integers cast),
//! and the packed file `@PARAM/param.pck` (with defaults) for MAVLink FTP. Changed values last
//! for the simulator's run.

use std::collections::HashMap;

use mavlink::dialects::ardupilotmega as apm;

use crate::params::{self, files, pck, Param, ParamType};
use crate::protocol::MavMessage;

const COPTER_PARAMS: &str = include_str!("../../assets/sim/copter.params");
/// PARAM_VALUEs a list request streams per second.
const LIST_PER_S: f64 = 100.0;

/// The vehicle's parameters and the list being streamed.
pub struct SimParams {
    list: Vec<Param>,
    by_name: HashMap<String, usize>,
    /// The next index of a PARAM_REQUEST_LIST stream, and when it is due.
    streaming: Option<(usize, f64)>,
    /// Answers to send, oldest first.
    queue: Vec<MavMessage>,
}

impl SimParams {
    /// ArduCopter's parameters at their defaults.
    pub fn ardupilot() -> Self {
        let list = match files::read_rows(COPTER_PARAMS) {
            Ok((rows, _)) => rows
                .into_iter()
                .map(|param| Param {
                    default: Some(param.value),
                    ..param
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        Self::from_list(list)
    }

    fn from_list(list: Vec<Param>) -> Self {
        let by_name = list
            .iter()
            .enumerate()
            .map(|(index, param)| (param.name.clone(), index))
            .collect();
        Self {
            list,
            by_name,
            streaming: None,
            queue: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Param> {
        self.by_name.get(name).map(|index| &self.list[*index])
    }

    /// The packed file FTP serves (`?withdefaults=1`: with the defaults).
    pub fn packed(&self, with_defaults: bool) -> Vec<u8> {
        let total = u16::try_from(self.list.len()).unwrap_or(u16::MAX);
        pck::encode(&self.list, total, with_defaults)
    }

    fn value_message(&self, index: usize) -> Option<MavMessage> {
        use num_traits::FromPrimitive;
        let param = self.list.get(index)?;
        let kind = param.kind.unwrap_or(ParamType::Real32);
        Some(MavMessage::PARAM_VALUE(apm::PARAM_VALUE_DATA {
            param_value: param.value as f32,
            param_count: u16::try_from(self.list.len()).unwrap_or(u16::MAX),
            param_index: u16::try_from(index).unwrap_or(u16::MAX),
            param_id: param.name.as_str().into(),
            param_type: apm::MavParamType::from_u8(kind.number())
                .unwrap_or(apm::MavParamType::MAV_PARAM_TYPE_REAL32),
        }))
    }

    /// Answers a parameter message; `None` when it is not one.
    pub fn answer(&mut self, now_s: f64, message: &MavMessage) -> Option<Vec<MavMessage>> {
        Some(match message {
            MavMessage::PARAM_REQUEST_LIST(_) => {
                self.streaming = Some((0, now_s));
                Vec::new()
            }
            MavMessage::PARAM_REQUEST_READ(read) => {
                let index = if read.param_index >= 0 {
                    Some(read.param_index as usize)
                } else {
                    self.by_name
                        .get(&params::name_from_bytes(&read.param_id[..]))
                        .copied()
                };
                index
                    .and_then(|i| self.value_message(i))
                    .into_iter()
                    .collect()
            }
            MavMessage::PARAM_SET(set) => {
                let name = params::name_from_bytes(&set.param_id[..]);
                let Some(&index) = self.by_name.get(&name) else {
                    // ArduPilot says nothing about a name it does not have.
                    return Some(Vec::new());
                };
                let param = &mut self.list[index];
                let kind = param.kind.unwrap_or(ParamType::Real32);
                let asked = f64::from(set.param_value);
                let kept = if kind.is_integer() {
                    asked.round()
                } else {
                    asked
                };
                if kind.holds(kept) {
                    param.value = kept;
                }
                self.value_message(index).into_iter().collect()
            }
            _ => return None,
        })
    }

    /// The list stream's PARAM_VALUEs due by `now_s`.
    pub fn tick(&mut self, now_s: f64) -> Vec<MavMessage> {
        let mut out = std::mem::take(&mut self.queue);
        while let Some((index, due_s)) = self.streaming {
            if due_s > now_s {
                break;
            }
            match self.value_message(index) {
                Some(message) => {
                    out.push(message);
                    self.streaming = Some((index + 1, due_s + 1.0 / LIST_PER_S));
                }
                None => self.streaming = None,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copter_set_is_ardupilot_sized_and_packs() {
        let params = SimParams::ardupilot();
        assert_eq!(params.len(), 1354);
        assert_eq!(
            params.get("FRAME_CLASS").map(|p| p.kind),
            Some(Some(ParamType::Int8))
        );
        let packed = pck::decode(&params.packed(true)).unwrap();
        assert_eq!(packed.params.len(), 1354);
        assert_eq!(packed.total, 1354);
        assert!(packed.params.iter().all(|p| p.default.is_some()));
        println!("param.pck: {} bytes", params.packed(true).len());
    }
}
