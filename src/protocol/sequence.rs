//! Loss accounting from MAVLink sequence numbers, per (system, component).

use std::collections::HashMap;

/// Counts frames received and frames missing per sender, the way pymavlink and QGroundControl
/// do: a jump from `s` to `t` means `(t - s - 1) mod 256` frames were lost.
#[derive(Debug, Default, Clone)]
pub struct SequenceTracker {
    last: HashMap<(u8, u8), u8>,
    received: u64,
    lost: u64,
}

impl SequenceTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes a valid frame from `(system_id, component_id)` with `sequence`; returns the
    /// number of frames found missing just before it.
    pub fn observe(&mut self, system_id: u8, component_id: u8, sequence: u8) -> u64 {
        self.received += 1;
        let missing = match self.last.insert((system_id, component_id), sequence) {
            Some(previous) => u64::from(sequence.wrapping_sub(previous).wrapping_sub(1)),
            None => 0,
        };
        self.lost += missing;
        missing
    }

    /// Forgets the last sequence numbers (e.g. after the link came back).
    pub fn reset(&mut self) {
        self.last.clear();
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Lost frames as a percentage of frames expected.
    pub fn loss_percent(&self) -> f64 {
        let expected = self.received + self.lost;
        if expected == 0 {
            0.0
        } else {
            100.0 * self.lost as f64 / expected as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gaps_per_sender_and_wraps() {
        let mut tracker = SequenceTracker::new();
        assert_eq!(tracker.observe(1, 1, 254), 0);
        assert_eq!(tracker.observe(1, 1, 255), 0);
        assert_eq!(tracker.observe(1, 1, 2), 2); // 0 and 1 missing across the wrap
        assert_eq!(tracker.observe(2, 1, 7), 0); // another sender has its own sequence
        assert_eq!(tracker.observe(1, 1, 3), 0);
        assert_eq!(tracker.lost(), 2);
        assert_eq!(tracker.received(), 5);
        assert!((tracker.loss_percent() - 2.0 / 7.0 * 100.0).abs() < 1e-9);
    }
}
