//! Replay: a stored flight fed, frame by frame, through the same decoder and vehicle reducers
//! as the live link, so that the state at the end (or at any frame) is the live state.

use super::frames::{for_each_frame, Side};
use super::open::Opened;
use crate::protocol;
use crate::vehicle::VehicleState;

/// The vehicle state after every received frame of `opened` before the first one later than
/// `until_us` (wall clock, µs; `None`: the whole flight).
pub fn state_at(opened: &Opened, until_us: Option<u64>) -> VehicleState {
    let mut state = VehicleState::new();
    let mut done = false;
    for_each_frame(opened, &mut |time_us, side, header, bytes| {
        done = done || until_us.is_some_and(|until| time_us > until);
        if done || side == Side::Sent {
            return;
        }
        if let Ok(message) = protocol::decode(header, bytes) {
            state.apply(time_us, time_us, header, &message);
        }
    });
    state
}
