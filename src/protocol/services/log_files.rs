//! Onboard logs as files over MAVLink FTP: which file is a listed log, and how fast each way
//! carries it.
//!
//! ArduPilot keeps its logs as `NNNNNNNN.BIN` in one folder (`/APM/LOGS` on boards, `logs` in
//! SITL, `/var/APM/logs` on Linux boards) and numbers the list oldest first. The file of a
//! listed log is the one of its size (DataFlash logs are not of the same size by chance); when
//! several are, the one at the log's place in the numbered order. A log whose file cannot be
//! told this way is not read by FTP.

use super::ftp::{DirEntry, FtpEnd, FtpPoll, FtpTransfer};
use super::Target;
use crate::protocol::{FrameHeader, MavMessage};

/// Where ArduPilot keeps its logs, most likely first.
pub const LOG_DIRS: [&str; 3] = ["/APM/LOGS", "logs", "/var/APM/logs"];

/// The file of log `log_id` of `size` bytes among a log folder's entries, by name.
pub fn pick_log_file(entries: &[DirEntry], log_id: u16, size: u32) -> Option<String> {
    let mut numbered: Vec<(u32, &str, u64)> = entries
        .iter()
        .filter_map(|entry| match entry {
            DirEntry::File { name, size } => {
                let stem = name
                    .strip_suffix(".BIN")
                    .or_else(|| name.strip_suffix(".bin"))?;
                let number = stem
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| stem.parse().ok())??;
                Some((number, name.as_str(), *size))
            }
            DirEntry::Dir { .. } => None,
        })
        .collect();
    numbered.sort_unstable();
    let same_size: Vec<usize> = (0..numbered.len())
        .filter(|&index| numbered[index].2 == u64::from(size))
        .collect();
    let index = match same_size.as_slice() {
        [only] => *only,
        [] => return None,
        several => {
            let place = usize::from(log_id).checked_sub(1)?;
            *several.iter().find(|&&index| index == place)?
        }
    };
    Some(numbered[index].1.to_owned())
}

/// What a search for a log's file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The file's path, and the folder it is in.
    File { path: String, dir: String },
    /// No file for the log: why.
    NotOffered(String),
}

/// Lists the log folders, one after the other, until one holds the log's file.
pub struct Finder {
    target: Target,
    log_id: u16,
    size: u32,
    /// Folders still to list, the one being listed first.
    dirs: Vec<String>,
    listing: FtpTransfer,
    /// Why each folder listed so far did not do.
    misses: Vec<String>,
}

impl Finder {
    /// Looks in `dirs` (in order) for the file of log `log_id`.
    pub fn start(
        now_us: u64,
        target: Target,
        log_id: u16,
        size: u32,
        dirs: Vec<String>,
    ) -> (Self, Vec<MavMessage>) {
        let first = dirs.first().cloned().unwrap_or_default();
        let (listing, send) = FtpTransfer::list(now_us, target, &first);
        let finder = Self {
            target,
            log_id,
            size,
            dirs,
            listing,
            misses: Vec::new(),
        };
        (finder, send)
    }

    pub fn on_message(
        &mut self,
        now_us: u64,
        header: &FrameHeader,
        message: &MavMessage,
    ) -> (Vec<MavMessage>, Option<Found>) {
        let poll = self.listing.on_message(now_us, header, message);
        self.after(now_us, poll)
    }

    pub fn tick(&mut self, now_us: u64) -> (Vec<MavMessage>, Option<Found>) {
        let poll = self.listing.tick(now_us);
        self.after(now_us, poll)
    }

    fn after(&mut self, now_us: u64, poll: FtpPoll) -> (Vec<MavMessage>, Option<Found>) {
        let mut send = poll.send;
        let Some(end) = poll.ended else {
            return (send, None);
        };
        let dir = self.dirs.first().cloned().unwrap_or_default();
        match end {
            FtpEnd::Listing(entries) => {
                return match pick_log_file(&entries, self.log_id, self.size) {
                    Some(name) => {
                        let path = format!("{}/{name}", dir.trim_end_matches('/'));
                        (send, Some(Found::File { path, dir }))
                    }
                    None => (
                        send,
                        Some(Found::NotOffered(format!(
                            "no file of {} bytes in {dir}",
                            self.size
                        ))),
                    ),
                };
            }
            FtpEnd::Refused { reason, .. } => self.misses.push(format!("{dir}: {reason}")),
            FtpEnd::TimedOut { .. } => self.misses.push(format!("{dir}: no answer")),
            FtpEnd::File(_) | FtpEnd::Streamed => self.misses.push(format!("{dir}: not a folder")),
        }
        self.dirs.remove(0);
        match self.dirs.first() {
            Some(next) => {
                let (listing, first) = FtpTransfer::list(now_us, self.target, next);
                self.listing = listing;
                send.extend(first);
                (send, None)
            }
            None => (send, Some(Found::NotOffered(self.misses.join("; ")))),
        }
    }
}

/// New bytes a way of downloading brought over a stretch of time, from its first ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meter {
    /// When its first bytes came.
    from: Option<u64>,
    /// New bytes since then (those first ones start the clock and are not counted).
    counted: u64,
}

impl Meter {
    /// Notes `bytes` new bytes at `now_us`.
    pub fn note(&mut self, now_us: u64, bytes: u64) {
        if self.from.is_none() {
            self.from = Some(now_us);
        } else {
            self.counted += bytes;
        }
    }

    /// When its first bytes came.
    pub fn first_at(&self) -> Option<u64> {
        self.from
    }

    /// How long it has measured, µs.
    pub fn span_us(&self, now_us: u64) -> u64 {
        self.from.map_or(0, |from| now_us.saturating_sub(from))
    }

    /// Bytes a second, over what it measured up to `now_us`.
    pub fn rate(&self, now_us: u64) -> f64 {
        match self.span_us(now_us) {
            0 => 0.0,
            span => self.counted as f64 * 1e6 / span as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, size: u64) -> DirEntry {
        DirEntry::File {
            name: name.to_owned(),
            size,
        }
    }

    #[test]
    fn the_file_of_a_log_is_the_one_of_its_size() {
        let entries = vec![
            DirEntry::Dir {
                name: ".".to_owned(),
            },
            file("00000001.BIN", 323_842),
            file("LASTLOG.TXT", 3),
            file("00000002.BIN", 41_000),
        ];
        assert_eq!(
            pick_log_file(&entries, 2, 41_000).as_deref(),
            Some("00000002.BIN")
        );
        assert_eq!(
            pick_log_file(&entries, 1, 323_842).as_deref(),
            Some("00000001.BIN")
        );
        assert_eq!(
            pick_log_file(&entries, 1, 3),
            None,
            "only numbered .BIN files"
        );
        assert_eq!(pick_log_file(&entries, 3, 999), None);
    }

    #[test]
    fn logs_of_one_size_are_told_apart_by_their_place() {
        let entries = vec![
            file("00000007.BIN", 500),
            file("00000003.BIN", 500),
            file("00000005.bin", 900),
        ];
        // Oldest first: 3, 5, 7.
        assert_eq!(
            pick_log_file(&entries, 1, 500).as_deref(),
            Some("00000003.BIN")
        );
        assert_eq!(
            pick_log_file(&entries, 3, 500).as_deref(),
            Some("00000007.BIN")
        );
        assert_eq!(pick_log_file(&entries, 2, 500), None, "no guess");
    }

    #[test]
    fn a_meter_measures_from_its_first_byte() {
        let mut meter = Meter::default();
        assert_eq!(meter.rate(5_000_000), 0.0);
        meter.note(1_000_000, 1_000);
        meter.note(2_000_000, 4_000);
        meter.note(3_000_000, 6_000);
        assert_eq!(meter.span_us(3_000_000), 2_000_000);
        assert!((meter.rate(3_000_000) - 5_000.0).abs() < 1e-9);
    }
}
