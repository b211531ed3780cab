//! Colours with meaning, used the same way on every panel.

use egui::Color32;

pub const GOOD: Color32 = Color32::from_rgb(80, 200, 120);
pub const WARN: Color32 = Color32::from_rgb(240, 190, 60);
pub const BAD: Color32 = Color32::from_rgb(235, 80, 70);
pub const MUTED: Color32 = Color32::from_rgb(150, 150, 150);
pub const INFO: Color32 = Color32::from_rgb(110, 170, 240);

/// Colour of a MAV_SEVERITY level (0 emergency … 7 debug).
pub fn severity(level: u8) -> Color32 {
    match level {
        0..=3 => BAD,
        4 => WARN,
        5 => INFO,
        6 => Color32::from_gray(220),
        _ => MUTED,
    }
}

/// Colour of a battery's remaining charge.
pub fn battery(remaining_pct: Option<u8>) -> Color32 {
    match remaining_pct {
        Some(0..=20) => BAD,
        Some(21..=35) => WARN,
        Some(_) => GOOD,
        None => MUTED,
    }
}
