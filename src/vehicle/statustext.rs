//! STATUSTEXT messages, with MAVLink 2 chunked texts joined back together.

use std::collections::VecDeque;

use mavlink::dialects::ardupilotmega::{MavSeverity, STATUSTEXT_DATA};

/// Most messages kept; older ones fall off (they stay in the flight record).
pub const MAX_MESSAGES: usize = 2000;

/// One text from the vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusMessage {
    /// When the (last chunk of the) text arrived, µs since the epoch.
    pub wall_us: u64,
    pub component_id: u8,
    pub severity: MavSeverity,
    pub text: String,
}

#[derive(Debug, Clone)]
struct Pending {
    id: u16,
    component_id: u8,
    severity: MavSeverity,
    next_chunk: u8,
    text: String,
}

/// The vehicle's texts, newest last.
#[derive(Debug, Clone, Default)]
pub struct StatusLog {
    messages: VecDeque<StatusMessage>,
    pending: Option<Pending>,
    total: u64,
}

/// The text of one chunk: up to 50 bytes, ending at the first NUL.
fn chunk_text(bytes: &[u8]) -> (String, bool) {
    let end = bytes.iter().position(|&b| b == 0);
    let text = String::from_utf8_lossy(&bytes[..end.unwrap_or(bytes.len())]).into_owned();
    (text, end.is_some())
}

impl StatusLog {
    /// Adds one STATUSTEXT. Texts with `id == 0` stand alone; others are chunks of one text
    /// that ends with a chunk shorter than 50 bytes (or when another text starts).
    pub fn push_chunk(&mut self, wall_us: u64, component_id: u8, msg: &STATUSTEXT_DATA) {
        let (text, ended) = chunk_text(&msg.text[..]);
        if msg.id == 0 {
            self.finish_pending(wall_us);
            self.push(StatusMessage {
                wall_us,
                component_id,
                severity: msg.severity,
                text,
            });
            return;
        }
        let continues = self.pending.as_ref().is_some_and(|pending| {
            pending.id == msg.id
                && pending.component_id == component_id
                && pending.next_chunk == msg.chunk_seq
        });
        if continues {
            if let Some(pending) = self.pending.as_mut() {
                pending.text.push_str(&text);
                pending.next_chunk = pending.next_chunk.wrapping_add(1);
            }
        } else {
            self.finish_pending(wall_us);
            self.pending = Some(Pending {
                id: msg.id,
                component_id,
                severity: msg.severity,
                next_chunk: msg.chunk_seq.wrapping_add(1),
                text,
            });
        }
        if ended {
            self.finish_pending(wall_us);
        }
    }

    fn finish_pending(&mut self, wall_us: u64) {
        if let Some(pending) = self.pending.take() {
            self.push(StatusMessage {
                wall_us,
                component_id: pending.component_id,
                severity: pending.severity,
                text: pending.text,
            });
        }
    }

    /// Adds a whole text (a replay restores the texts from before a seek this way).
    pub fn restore(&mut self, message: StatusMessage) {
        self.push(message);
    }

    fn push(&mut self, message: StatusMessage) {
        if self.messages.len() == MAX_MESSAGES {
            self.messages.pop_front();
        }
        self.messages.push_back(message);
        self.total += 1;
    }

    /// Kept messages, oldest first.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &StatusMessage> + ExactSizeIterator {
        self.messages.iter()
    }

    /// How many texts have arrived in all (including those no longer kept).
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str, id: u16, chunk_seq: u8) -> STATUSTEXT_DATA {
        STATUSTEXT_DATA {
            severity: MavSeverity::MAV_SEVERITY_WARNING,
            text: text.into(),
            id,
            chunk_seq,
        }
    }

    #[test]
    fn joins_chunks_and_keeps_single_texts() {
        let mut log = StatusLog::default();
        log.push_chunk(1, 1, &chunk("PreArm: Gyros inconsistent", 0, 0));
        let first = "A".repeat(50);
        log.push_chunk(2, 1, &chunk(&first, 7, 0));
        log.push_chunk(3, 1, &chunk("tail", 7, 1));
        let texts: Vec<&str> = log.messages().map(|m| m.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "PreArm: Gyros inconsistent".to_owned(),
                format!("{first}tail")
            ]
        );
        assert_eq!(log.total(), 2);
    }

    #[test]
    fn an_interrupted_chunked_text_is_kept_not_lost() {
        let mut log = StatusLog::default();
        log.push_chunk(1, 1, &chunk(&"B".repeat(50), 9, 0));
        log.push_chunk(2, 1, &chunk("standalone", 0, 0));
        assert_eq!(log.messages().count(), 2);
    }
}
