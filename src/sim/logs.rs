//! The simulator's onboard logs, served with ArduPilot's rules (AP_Logger_MAVLinkLogTransfer):
//! LOG_REQUEST_LIST answered with LOG_ENTRY (one with id 0 when there are none), one
//! LOG_REQUEST_DATA range sent at a time (another one while it is sent is dropped), LOG_DATA of
//! up to 90 bytes paced by the room on the link, a short packet at the end of the file,
//! LOG_REQUEST_END stopping it, LOG_ERASE removing every log, and nothing while armed but one
//! "Disarm for log download".
//!
//! The vehicle starts with three logs of earlier flights (41 kB, 262 kB, 1 MB) and writes one
//! more for each armed period: a simple binary form of its own flight (`AIRLOCK-SIM-LOG 1`,
//! then 10 records a second of time, position, altitude, attitude, speed and battery). With a
//! folder, the logs are also files there (`00000001.BIN`…), as ArduPilot's `logs/` folder, so
//! a download can be compared with them. By MAVLink FTP they are files in [`DIR`], as on a
//! board (with ArduPilot's `LASTLOG.TXT`).

use std::path::PathBuf;

use mavlink::dialects::ardupilotmega as apm;

use super::model::Model;
use crate::protocol::MavMessage;

/// Data bytes in one LOG_DATA.
const DATA_LEN: usize = 90;
/// The logs' folder by MAVLink FTP (ArduPilot's on a board).
pub const DIR: &str = "/APM/LOGS";
/// LOG_DATA frame on the wire (MAVLink 2, full payload), bytes.
pub const LOG_DATA_FRAME: usize = 109;
/// The logs of earlier flights the vehicle starts with, bytes.
pub const START_SIZES: [usize; 3] = [41_250, 262_187, 1_048_741];
/// When the first of them was started (2026-11-20 09:00:00 UTC), then a day apart.
const FIRST_TIME_UTC: u32 = 1_795_165_200;
const MAGIC: &[u8] = b"AIRLOCK-SIM-LOG 1\n";
/// Bytes of one record of the vehicle's state.
const RECORD_LEN: usize = 40;

struct Log {
    time_utc: u32,
    bytes: Vec<u8>,
}

/// The onboard logs and their transfer; see the module documentation.
pub struct SimLogs {
    logs: Vec<Log>,
    dir: Option<PathBuf>,
    /// (log index, offset, bytes left) of the range being sent.
    sending: Option<(usize, usize, usize)>,
    /// LOG_ENTRY messages still to send.
    listing: Vec<MavMessage>,
    warned: bool,
    /// The armed period being logged, and when it was last sampled.
    recording: Option<Log>,
    next_sample_s: f64,
}

impl SimLogs {
    /// The three logs of earlier flights, made the same way every time.
    pub fn new() -> Self {
        let logs = START_SIZES
            .iter()
            .enumerate()
            .map(|(index, &size)| Log {
                time_utc: FIRST_TIME_UTC + index as u32 * 86_400,
                bytes: earlier_flight(index as u32 + 1, size),
            })
            .collect();
        Self {
            logs,
            dir: None,
            sending: None,
            listing: Vec::new(),
            warned: false,
            recording: None,
            next_sample_s: 0.0,
        }
    }

    /// Also keeps the logs as files in `dir` (written now, and as they are made or erased).
    pub fn keep_in(&mut self, dir: PathBuf) -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        for (index, log) in self.logs.iter().enumerate() {
            std::fs::write(dir.join(file_name(index)), &log.bytes)?;
        }
        self.dir = Some(dir);
        Ok(())
    }

    /// The bytes of a log file by its FTP path.
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        let name = path.strip_prefix(DIR)?.strip_prefix('/')?;
        if name == "LASTLOG.TXT" {
            return Some(self.logs.len().to_string().into_bytes());
        }
        let index = (0..self.logs.len()).find(|&index| file_name(index) == name)?;
        Some(self.logs[index].bytes.clone())
    }

    /// The logs' folder by FTP: as ArduPilot lists it.
    pub fn dir(&self, path: &str) -> Option<Vec<(String, Option<u64>)>> {
        if path != DIR {
            return None;
        }
        let mut entries = vec![(".".to_owned(), None), ("..".to_owned(), None)];
        entries.extend(
            self.logs
                .iter()
                .enumerate()
                .map(|(index, log)| (file_name(index), Some(log.bytes.len() as u64))),
        );
        let last = self.logs.len().to_string().len() as u64;
        entries.push(("LASTLOG.TXT".to_owned(), Some(last)));
        Some(entries)
    }

    /// Answers a log message from the ground station; texts to send at once.
    pub fn answer(&mut self, armed: bool, message: &MavMessage) -> Option<Vec<MavMessage>> {
        let log_message = matches!(
            message,
            MavMessage::LOG_REQUEST_LIST(_)
                | MavMessage::LOG_REQUEST_DATA(_)
                | MavMessage::LOG_ERASE(_)
                | MavMessage::LOG_REQUEST_END(_)
        );
        if !log_message {
            return None;
        }
        if armed {
            if self.warned {
                return Some(Vec::new());
            }
            self.warned = true;
            return Some(vec![super::statustext(
                apm::MavSeverity::MAV_SEVERITY_ERROR,
                "Disarm for log download",
            )]);
        }
        self.warned = false;
        match message {
            MavMessage::LOG_REQUEST_LIST(list) => {
                if self.sending.is_some() {
                    return Some(vec![super::statustext(
                        apm::MavSeverity::MAV_SEVERITY_INFO,
                        "Log download in progress",
                    )]);
                }
                let count = self.logs.len() as u16;
                let ids = if count == 0 {
                    0..=0
                } else {
                    list.start.max(1)..=list.end.min(count)
                };
                self.listing = ids
                    .map(|id| {
                        let (time_utc, size) = match id {
                            0 => (0, 0),
                            _ => {
                                let log = &self.logs[usize::from(id) - 1];
                                (log.time_utc, log.bytes.len() as u32)
                            }
                        };
                        MavMessage::LOG_ENTRY(apm::LOG_ENTRY_DATA {
                            time_utc,
                            size,
                            id,
                            num_logs: count,
                            last_log_num: count,
                        })
                    })
                    .collect();
                self.listing.reverse();
            }
            MavMessage::LOG_REQUEST_DATA(request) => {
                if self.sending.is_some() {
                    return Some(Vec::new());
                }
                let index = usize::from(request.id).wrapping_sub(1);
                let Some(log) = self.logs.get(index) else {
                    return Some(Vec::new());
                };
                let offset = request.ofs as usize;
                let left = log
                    .bytes
                    .len()
                    .saturating_sub(offset)
                    .min(request.count as usize);
                self.sending = Some((index, offset, left));
            }
            MavMessage::LOG_REQUEST_END(_) => self.sending = None,
            MavMessage::LOG_ERASE(_) => {
                self.sending = None;
                if let Some(dir) = &self.dir {
                    for index in 0..self.logs.len() {
                        let _ = std::fs::remove_file(dir.join(file_name(index)));
                    }
                }
                self.logs.clear();
            }
            _ => {}
        }
        Some(Vec::new())
    }

    /// What to send now, in at most `room` bytes of link; records the flight while armed.
    pub fn tick(&mut self, now_s: f64, model: &Model, room: usize) -> Vec<MavMessage> {
        self.record(now_s, model);
        let mut out = Vec::new();
        let mut room = room;
        while room >= LOG_DATA_FRAME {
            let Some(entry) = self.listing.pop() else {
                break;
            };
            out.push(entry);
            room -= LOG_DATA_FRAME;
        }
        if model.armed {
            // ArduPilot sends no log data while armed (it might be flying).
            return out;
        }
        while room >= LOG_DATA_FRAME {
            let Some((index, offset, left)) = self.sending else {
                break;
            };
            let log = &self.logs[index].bytes;
            let start = offset.min(log.len());
            let len = left.min(DATA_LEN).min(log.len() - start);
            let mut data = [0u8; DATA_LEN];
            data[..len].copy_from_slice(&log[start..start + len]);
            out.push(MavMessage::LOG_DATA(apm::LOG_DATA_DATA {
                ofs: offset as u32,
                id: index as u16 + 1,
                count: len as u8,
                data,
            }));
            room -= LOG_DATA_FRAME;
            let left = left - len;
            self.sending = (len == DATA_LEN && left > 0).then_some((index, offset + len, left));
        }
        out
    }

    /// Logs the vehicle's state at 10 Hz while armed; an armed period ends as a new log.
    fn record(&mut self, now_s: f64, model: &Model) {
        match (&mut self.recording, model.armed) {
            (None, true) => {
                let time_utc = FIRST_TIME_UTC + 7 * 86_400 + now_s as u32;
                self.recording = Some(Log {
                    time_utc,
                    bytes: MAGIC.to_vec(),
                });
                self.next_sample_s = now_s;
            }
            (Some(log), true) => {
                if now_s >= self.next_sample_s {
                    self.next_sample_s = now_s + 0.1;
                    log.bytes.extend(state_record(model));
                }
            }
            (Some(_), false) => {
                if let Some(log) = self.recording.take() {
                    if let Some(dir) = &self.dir {
                        let _ = std::fs::write(dir.join(file_name(self.logs.len())), &log.bytes);
                    }
                    self.logs.push(log);
                }
            }
            (None, false) => {}
        }
    }
}

impl Default for SimLogs {
    fn default() -> Self {
        Self::new()
    }
}

/// ArduPilot's name for log `index` (0-based): `00000001.BIN`.
pub fn file_name(index: usize) -> String {
    format!("{:08}.BIN", index + 1)
}

/// One record: time (ms), north, east, altitude (mm), roll, pitch, yaw (mrad), speeds (mm/s),
/// battery (‰), armed.
fn state_record(model: &Model) -> Vec<u8> {
    let mut record = Vec::with_capacity(RECORD_LEN);
    record.extend(((model.time_s * 1e3) as u32).to_le_bytes());
    for value in [model.pos.north_m, model.pos.east_m, model.pos.alt_m] {
        record.extend(((value * 1e3) as i32).to_le_bytes());
    }
    for value in [model.roll_rad, model.pitch_rad, model.yaw_rad] {
        record.extend(((value * 1e3) as i32).to_le_bytes());
    }
    for value in [model.vel_north_m_s, model.vel_east_m_s, model.climb_m_s] {
        record.extend(((value * 1e3) as i16).to_le_bytes());
    }
    record.extend(((model.battery_pct() * 10.0) as u16).to_le_bytes());
    record.push(u8::from(model.armed));
    record.resize(RECORD_LEN, 0);
    record
}

/// A log of an earlier flight, `size` bytes: records of a circuit flown at 10 Hz.
fn earlier_flight(id: u32, size: usize) -> Vec<u8> {
    let mut model = Model::new();
    model.armed = true;
    let mut bytes = MAGIC.to_vec();
    let mut step = 0u32;
    while bytes.len() < size {
        let t = f64::from(step) * 0.1;
        let angle = t * 0.05 + f64::from(id);
        model.time_s = t;
        model.pos.north_m = 60.0 * angle.cos();
        model.pos.east_m = 60.0 * angle.sin();
        model.pos.alt_m = 20.0 + 5.0 * (t * 0.01).sin();
        model.yaw_rad = angle + std::f64::consts::FRAC_PI_2;
        model.roll_rad = 0.1 * (t * 0.7).sin();
        model.vel_north_m_s = -3.0 * angle.sin();
        model.vel_east_m_s = 3.0 * angle.cos();
        bytes.extend(state_record(&model));
        step += 1;
    }
    bytes.truncate(size);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: u16, ofs: u32, count: u32) -> MavMessage {
        MavMessage::LOG_REQUEST_DATA(apm::LOG_REQUEST_DATA_DATA {
            ofs,
            count,
            id,
            target_system: 1,
            target_component: 1,
        })
    }

    #[test]
    fn serves_one_range_at_a_time_paced_by_the_room_and_ends_short() {
        let mut logs = SimLogs::new();
        let model = Model::new();
        logs.answer(false, &request(1, 41_100, u32::MAX));
        // Dropped: the first range is still being sent.
        logs.answer(false, &request(2, 0, 90));
        let sent = logs.tick(0.0, &model, LOG_DATA_FRAME);
        assert_eq!(sent.len(), 1);
        let sent = logs.tick(0.1, &model, 10 * LOG_DATA_FRAME);
        let [MavMessage::LOG_DATA(last)] = sent.as_slice() else {
            panic!("{sent:?}");
        };
        assert_eq!((last.id, last.ofs, last.count), (1, 41_190, 60));
        assert!(logs.tick(0.2, &model, 10 * LOG_DATA_FRAME).is_empty());
        // Armed: one text, then silence.
        let said = logs.answer(true, &request(1, 0, 90)).unwrap();
        assert_eq!(said.len(), 1);
        assert!(logs.answer(true, &request(1, 0, 90)).unwrap().is_empty());
    }

    #[test]
    fn an_armed_period_becomes_a_new_log() {
        let mut logs = SimLogs::new();
        let mut model = Model::new();
        model.armed = true;
        for step in 0..50 {
            logs.tick(f64::from(step) * 0.02, &model, 0);
        }
        model.armed = false;
        logs.tick(1.0, &model, 0);
        assert_eq!(logs.logs.len(), 4);
        let log = &logs.logs[3].bytes;
        assert!(log.starts_with(MAGIC));
        assert_eq!(log.len(), MAGIC.len() + 10 * RECORD_LEN);
    }
}
