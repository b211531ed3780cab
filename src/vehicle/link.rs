//! Link quality from bytes and sequence numbers.

use crate::protocol::SequenceTracker;

/// Counters and per-second rates of the link, fed with monotonic times.
#[derive(Debug, Clone, Default)]
pub struct LinkStats {
    pub bytes_rx: u64,
    pub bytes_tx: u64,
    pub frames_rx: u64,
    pub frames_tx: u64,
    pub sequence: SequenceTracker,
    pub reconnects: u64,
    /// Bytes/s received over the last full second.
    pub rx_bytes_per_s: f64,
    pub tx_bytes_per_s: f64,
    pub rx_frames_per_s: f64,
    window_start_us: Option<u64>,
    window_rx_bytes: u64,
    window_tx_bytes: u64,
    window_rx_frames: u64,
}

impl LinkStats {
    pub fn on_rx_bytes(&mut self, mono_us: u64, count: usize) {
        self.bytes_rx += count as u64;
        self.window_rx_bytes += count as u64;
        self.roll_window(mono_us);
    }

    pub fn on_tx_bytes(&mut self, mono_us: u64, count: usize) {
        self.bytes_tx += count as u64;
        self.window_tx_bytes += count as u64;
        self.frames_tx += 1;
        self.roll_window(mono_us);
    }

    pub fn on_rx_frame(&mut self, system_id: u8, component_id: u8, sequence: u8) {
        self.frames_rx += 1;
        self.window_rx_frames += 1;
        self.sequence.observe(system_id, component_id, sequence);
    }

    /// Updates the per-second rates once a second has passed.
    pub fn roll_window(&mut self, mono_us: u64) {
        let start = *self.window_start_us.get_or_insert(mono_us);
        let elapsed = mono_us.saturating_sub(start);
        if elapsed >= 1_000_000 {
            let seconds = elapsed as f64 * 1e-6;
            self.rx_bytes_per_s = self.window_rx_bytes as f64 / seconds;
            self.tx_bytes_per_s = self.window_tx_bytes as f64 / seconds;
            self.rx_frames_per_s = self.window_rx_frames as f64 / seconds;
            self.window_start_us = Some(mono_us);
            self.window_rx_bytes = 0;
            self.window_tx_bytes = 0;
            self.window_rx_frames = 0;
        }
    }

    pub fn loss_percent(&self) -> f64 {
        self.sequence.loss_percent()
    }
}
