//! Message rates and last values per (system, component, message id): the inspector's data.

use std::collections::BTreeMap;

use mavlink::Message as _;

use crate::protocol::{FrameHeader, MavMessage};

/// How long a rate is measured over before it is updated.
const RATE_WINDOW_US: u64 = 1_000_000;

/// One message type from one sender.
#[derive(Debug, Clone)]
pub struct MessageStream {
    pub name: &'static str,
    pub count: u64,
    /// Measured rate over the last full window, in Hz.
    pub rate_hz: f64,
    pub last_mono_us: u64,
    pub last: MavMessage,
    window_start_us: u64,
    window_count: u64,
}

/// Key of a message stream: (system id, component id, message id).
pub type StreamKey = (u8, u8, u32);

/// Every message stream seen.
#[derive(Debug, Clone, Default)]
pub struct MessageRates {
    streams: BTreeMap<StreamKey, MessageStream>,
}

impl MessageRates {
    pub fn observe(&mut self, mono_us: u64, header: &FrameHeader, msg: &MavMessage) {
        let key = (header.system_id, header.component_id, header.message_id);
        let stream = self.streams.entry(key).or_insert_with(|| MessageStream {
            name: msg.message_name(),
            count: 0,
            rate_hz: 0.0,
            last_mono_us: mono_us,
            last: msg.clone(),
            window_start_us: mono_us,
            window_count: 0,
        });
        stream.count += 1;
        stream.window_count += 1;
        stream.last_mono_us = mono_us;
        stream.last = msg.clone();
        let elapsed = mono_us.saturating_sub(stream.window_start_us);
        if elapsed >= RATE_WINDOW_US {
            // The message that closes the window belongs to the next one's interval count.
            stream.rate_hz = (stream.window_count - 1) as f64 * 1e6 / elapsed as f64;
            stream.window_start_us = mono_us;
            stream.window_count = 1;
        }
    }

    /// The rate to show at `mono_us`: zero once a stream has been silent for longer than three
    /// windows and 2.5 of its own intervals (so slow streams are not shown as stopped).
    pub fn rate_at(stream: &MessageStream, mono_us: u64) -> f64 {
        let silent_us = mono_us.saturating_sub(stream.last_mono_us) as f64;
        let interval_us = if stream.rate_hz > 0.0 {
            1e6 / stream.rate_hz
        } else {
            0.0
        };
        if silent_us > (3.0 * RATE_WINDOW_US as f64).max(2.5 * interval_us) {
            0.0
        } else {
            stream.rate_hz
        }
    }

    pub fn streams(&self) -> impl Iterator<Item = (&StreamKey, &MessageStream)> {
        self.streams.iter()
    }

    pub fn get(&self, key: &StreamKey) -> Option<&MessageStream> {
        self.streams.get(key)
    }

    /// Sets every stream's rate from `rate_of` (a replay sets the rates at a sought time from
    /// its index, since the few frames a seek applies cannot measure them); the next window
    /// starts at each stream's last message.
    pub fn set_rates(&mut self, rate_of: impl Fn(&StreamKey) -> Option<f64>) {
        for (key, stream) in &mut self.streams {
            if let Some(rate) = rate_of(key) {
                stream.rate_hz = rate;
            }
            stream.window_start_us = stream.last_mono_us;
            stream.window_count = 1;
        }
    }
}
