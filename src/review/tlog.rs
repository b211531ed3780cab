//! Reading `.tlog` files from any ground station, tolerating damage.
//!
//! Each record is a timestamp and a frame; the frame's own header says where the next record
//! starts. A record whose frame fails its CRC is skipped as a whole when the next record is
//! where it should be (pymavlink does the same); when the structure is lost, reading resumes at
//! the next place where a valid frame follows a plausible timestamp.

use crate::capture::tlog::{timestamp_at, TIMESTAMP_LEN};
use crate::protocol::frame::{probe, FrameHeader, Probe, STX_V1, STX_V2};

/// Timestamps further than this from the previous one are not trusted when resynchronising.
const MAX_TIME_JUMP_US: u64 = 24 * 3600 * 1_000_000;
/// 2000-01-01 and 2100-01-01 in µs since the epoch: the range a first timestamp must be in.
const PLAUSIBLE_US: std::ops::Range<u64> = 946_684_800_000_000..4_102_444_800_000_000;

/// One record of a tlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlogItem<'a> {
    /// A frame: `known` when the dialect knows its id (then its CRC was checked).
    Frame {
        time_us: u64,
        header: FrameHeader,
        bytes: &'a [u8],
        known: bool,
        offset: usize,
    },
    /// A frame of a known message whose CRC failed.
    CrcError { time_us: u64, header: FrameHeader },
}

/// Iterates over a tlog held in memory.
#[derive(Debug)]
pub struct TlogReader<'a> {
    buf: &'a [u8],
    pos: usize,
    last_time_us: Option<u64>,
    /// Bytes skipped because they formed no record.
    pub skipped_bytes: u64,
    /// Bytes at the end that form an incomplete record.
    pub truncated_tail_bytes: u64,
}

impl<'a> TlogReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self::at(buf, 0)
    }

    /// Starts reading at a record boundary `pos` (from an index).
    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Self {
            buf,
            pos,
            last_time_us: None,
            skipped_bytes: 0,
            truncated_tail_bytes: 0,
        }
    }

    /// Byte offset of the next record.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether a record boundary at `at` is believable: end of file, or a start byte after the
    /// timestamp.
    fn boundary_plausible(&self, at: usize) -> bool {
        match self.buf.get(at + TIMESTAMP_LEN) {
            None => true,
            Some(&stx) => stx == STX_V1 || stx == STX_V2,
        }
    }

    fn time_plausible(&self, time_us: u64) -> bool {
        match self.last_time_us {
            Some(last) => time_us.abs_diff(last) <= MAX_TIME_JUMP_US,
            None => PLAUSIBLE_US.contains(&time_us),
        }
    }

    /// Finds the next record start after `from` where a valid frame follows a plausible time.
    fn resync(&self, from: usize) -> Option<usize> {
        let mut at = from;
        while at + TIMESTAMP_LEN < self.buf.len() {
            let frame_at = at + TIMESTAMP_LEN;
            let next_stx = self.buf[frame_at..]
                .iter()
                .position(|&b| b == STX_V1 || b == STX_V2)?;
            at += next_stx;
            let frame_at = at + TIMESTAMP_LEN;
            if matches!(probe(&self.buf[frame_at..]), Probe::Valid(_))
                && timestamp_at(self.buf, at).is_some_and(|time| self.time_plausible(time))
            {
                return Some(at);
            }
            at += 1;
        }
        None
    }

    fn skip_to_next(&mut self) -> bool {
        match self.resync(self.pos + 1) {
            Some(next) => {
                self.skipped_bytes += (next - self.pos) as u64;
                self.pos = next;
                true
            }
            None => {
                self.skipped_bytes += (self.buf.len() - self.pos) as u64;
                self.pos = self.buf.len();
                false
            }
        }
    }
}

impl<'a> Iterator for TlogReader<'a> {
    type Item = TlogItem<'a>;

    fn next(&mut self) -> Option<TlogItem<'a>> {
        loop {
            let remaining = self.buf.len().saturating_sub(self.pos);
            if remaining == 0 {
                return None;
            }
            let Some(time_us) = timestamp_at(self.buf, self.pos) else {
                self.truncated_tail_bytes += remaining as u64;
                self.pos = self.buf.len();
                return None;
            };
            let frame_at = self.pos + TIMESTAMP_LEN;
            let verdict = probe(&self.buf[frame_at..]);
            match verdict {
                Probe::Valid(header) | Probe::UnknownId(header) | Probe::BadCrc(header) => {
                    let end = frame_at + header.frame_len;
                    let known = matches!(verdict, Probe::Valid(_));
                    if !known && !self.boundary_plausible(end) {
                        if !self.skip_to_next() {
                            return None;
                        }
                        continue;
                    }
                    let offset = self.pos;
                    self.pos = end;
                    self.last_time_us = Some(time_us);
                    return Some(match verdict {
                        Probe::BadCrc(header) => TlogItem::CrcError { time_us, header },
                        _ => TlogItem::Frame {
                            time_us,
                            header,
                            bytes: &self.buf[frame_at..end],
                            known,
                            offset,
                        },
                    });
                }
                Probe::NeedMore => {
                    // A record cut short: at the end of the file that is a truncated tail.
                    if self.resync(self.pos + 1).is_none() {
                        self.truncated_tail_bytes += remaining as u64;
                        self.pos = self.buf.len();
                        return None;
                    }
                    self.skip_to_next();
                }
                Probe::NotStart => {
                    if !self.skip_to_next() {
                        return None;
                    }
                }
            }
        }
    }
}
