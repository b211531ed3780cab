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
    use crate::protocol::services::ftp::Packet;
    use crate::protocol::services::{Action, Hub, Outcome, Request, ServiceEvent};
    use crate::protocol::FrameHeader;
    use crate::sim::ftp::FtpServer;

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
    }

    fn header() -> FrameHeader {
        FrameHeader::of_sender(1, 1, 0)
    }

    /// The hub against the simulated vehicle's parameters and FTP server through a link that
    /// loses, duplicates and reorders, on a fake clock; the request's events.
    struct Rig {
        hub: Hub,
        vehicle: SimParams,
        ftp: Option<FtpServer>,
        rng: fastrand::Rng,
        loss: f64,
        now_us: u64,
        /// Opens still to serve a torn file: its second half laid out as if parameters had
        /// changed mid-read, as ArduPilot's can be seconds after boot.
        torn_opens: std::cell::Cell<u32>,
    }

    impl Rig {
        fn new(loss: f64, ftp: bool, seed: u64) -> Self {
            let mut hub = Hub::new(false);
            hub.link_up(0);
            let heartbeat = MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
                autopilot: apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                mavtype: apm::MavType::MAV_TYPE_QUADROTOR,
                ..Default::default()
            });
            hub.on_message(0, &header(), &heartbeat);
            Self {
                hub,
                vehicle: SimParams::ardupilot(),
                ftp: ftp.then(FtpServer::default),
                rng: fastrand::Rng::with_seed(seed),
                loss,
                now_us: 0,
                torn_opens: std::cell::Cell::new(0),
            }
        }

        fn run(&mut self, action: Action) -> (Outcome, Vec<ServiceEvent>) {
            self.hub.submit(
                self.now_us,
                7,
                Request {
                    target: None,
                    action,
                },
            );
            let mut events = Vec::new();
            for _ in 0..100_000 {
                self.now_us += 10_000;
                let now_s = self.now_us as f64 / 1e6;
                let mut to_gcs = Vec::new();
                while let Some(out) = self.hub.poll_transmit() {
                    if self.rng.f64() < self.loss {
                        continue;
                    }
                    if let Some(answers) = self.vehicle.answer(now_s, &out.message) {
                        to_gcs.extend(answers);
                    } else if let (MavMessage::FILE_TRANSFER_PROTOCOL(ftp), Some(server)) =
                        (&out.message, self.ftp.as_mut())
                    {
                        let packet = Packet::decode(&ftp.payload).unwrap();
                        let params = &self.vehicle;
                        let torn = &self.torn_opens;
                        let file = |path: &str| {
                            (path == crate::protocol::services::params::PARAM_FILE).then(|| {
                                let mut bytes = params.packed(true);
                                if torn.get() > 0 {
                                    torn.set(torn.get() - 1);
                                    let other = params.packed(false);
                                    let half = bytes.len() / 2;
                                    bytes.truncate(half);
                                    bytes.extend_from_slice(&other[half..]);
                                }
                                bytes
                            })
                        };
                        to_gcs.extend(server.request(now_s, &packet, &file).iter().map(|p| {
                            p.message(crate::protocol::services::Target {
                                system_id: 255,
                                component_id: 190,
                            })
                        }));
                    }
                }
                to_gcs.extend(self.vehicle.tick(now_s));
                if let Some(server) = self.ftp.as_mut() {
                    to_gcs.extend(server.tick(now_s).iter().map(|p| {
                        p.message(crate::protocol::services::Target {
                            system_id: 255,
                            component_id: 190,
                        })
                    }));
                }
                if to_gcs.len() > 1 && self.rng.f64() < 0.3 {
                    let (a, b) = (
                        self.rng.usize(..to_gcs.len()),
                        self.rng.usize(..to_gcs.len()),
                    );
                    to_gcs.swap(a, b);
                }
                for message in to_gcs {
                    if self.rng.f64() < self.loss {
                        continue;
                    }
                    if self.rng.f64() < self.loss {
                        self.hub.on_message(self.now_us, &header(), &message);
                    }
                    self.hub.on_message(self.now_us, &header(), &message);
                }
                self.hub.tick(self.now_us);
                while let Some(event) = self.hub.poll_event() {
                    if let ServiceEvent::Finished { outcome, .. } = event {
                        return (outcome, events);
                    }
                    events.push(event);
                }
            }
            panic!("the request never ended");
        }
    }

    fn fetched(events: &[ServiceEvent]) -> (Vec<Param>, String) {
        events
            .iter()
            .find_map(|event| match event {
                ServiceEvent::Params { params, via, .. } => Some((params.clone(), via.clone())),
                _ => None,
            })
            .expect("the parameters")
    }

    #[test]
    fn fetch_by_ftp_and_by_list_through_a_lossy_link_gets_every_parameter() {
        for (ftp, loss, seed) in [
            (true, 0.0, 1),
            (true, 0.05, 2),
            (false, 0.0, 3),
            (false, 0.05, 4),
        ] {
            let mut rig = Rig::new(loss, ftp, seed);
            let (outcome, events) = rig.run(Action::FetchParams { ftp: true });
            assert_eq!(outcome, Outcome::Accepted, "ftp {ftp}, loss {loss}");
            let (params, via) = fetched(&events);
            assert_eq!(via, if ftp { "ftp" } else { "list" });
            assert_eq!(params.len(), 1354);
            for param in &params {
                let theirs = rig.vehicle.get(&param.name).expect("a vehicle parameter");
                assert!(
                    params::same_value(param.value, theirs.value),
                    "{}",
                    param.name
                );
                assert_eq!(param.kind, theirs.kind, "{}", param.name);
            }
            if ftp {
                assert!(
                    params.iter().all(|p| p.default.is_some()),
                    "defaults by FTP"
                );
            } else {
                assert!(events.iter().any(|e| matches!(e,
                    ServiceEvent::Step { step, .. } if step.contains("PARAM_REQUEST_LIST"))));
            }
            println!(
                "ftp {ftp}, loss {loss}: {:.1} s of fake time",
                rig.now_us as f64 / 1e6
            );
        }
    }

    #[test]
    fn a_torn_file_is_read_again_and_two_give_way_to_the_list() {
        for (torn, via) in [(1, "ftp"), (2, "ftp"), (3, "list")] {
            let mut rig = Rig::new(0.0, true, 5);
            rig.torn_opens.set(torn);
            let (outcome, events) = rig.run(Action::FetchParams { ftp: true });
            assert_eq!(outcome, Outcome::Accepted, "{torn} torn");
            let (params, got_via) = fetched(&events);
            assert_eq!((params.len(), got_via.as_str()), (1354, via), "{torn} torn");
            let steps: Vec<&str> = events
                .iter()
                .filter_map(|event| match event {
                    ServiceEvent::Step { step, .. } => Some(step.as_str()),
                    _ => None,
                })
                .collect();
            let again = steps
                .iter()
                .filter(|s| s.starts_with("fetch by FTP again (param.pck, byte"))
                .count();
            assert_eq!(again, torn.min(2) as usize, "{steps:?}");
        }
    }

    #[test]
    fn sets_are_confirmed_by_the_echo_and_bad_ones_say_why() {
        let mut rig = Rig::new(0.05, true, 9);
        let (outcome, events) = rig.run(Action::SetParams {
            values: vec![
                ("RTL_ALT".into(), 2500.0),
                ("WPNAV_SPEED".into(), 750.5),
                ("LOG_BITMASK".into(), 196606.0),
            ],
        });
        assert_eq!(outcome, Outcome::Accepted, "{events:?}");
        assert_eq!(rig.vehicle.get("RTL_ALT").unwrap().value, 2500.0);
        assert_eq!(rig.vehicle.get("WPNAV_SPEED").unwrap().value, 750.5);
        assert_eq!(rig.vehicle.get("LOG_BITMASK").unwrap().value, 196606.0);
        let (outcome, _) = rig.run(Action::SetParams {
            values: vec![("FRAME_CLASS".into(), 300.0), ("NO_SUCH_PARAM".into(), 1.0)],
        });
        let Outcome::Refused { reason, .. } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            reason[0].contains("300 does not fit its type INT8"),
            "{reason:?}"
        );
        assert!(reason[1].contains("NO_SUCH_PARAM: no answer"), "{reason:?}");
    }
}
