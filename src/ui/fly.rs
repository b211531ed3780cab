//! The fly view: horizon and the numbers an operator flies by, units in every label.

use egui::RichText;

use super::{attitude, theme, LiveView, Units};
use crate::vehicle::VehicleState;

fn row(ui: &mut egui::Ui, label: &str, value: String, colour: Option<egui::Color32>) {
    ui.label(RichText::new(label).color(theme::MUTED));
    let text = RichText::new(value).monospace().size(15.0);
    ui.label(match colour {
        Some(colour) => text.color(colour),
        None => text,
    });
    ui.end_row();
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".to_owned())
}

/// Heading to show: the fused one, else the HUD's, else the attitude's yaw.
pub fn heading_deg(vehicle: &VehicleState) -> Option<f64> {
    vehicle
        .position
        .and_then(|p| p.heading_deg)
        .or_else(|| vehicle.hud.map(|h| f64::from(h.heading_deg)))
        .or_else(|| {
            vehicle
                .attitude
                .map(|a| f64::from(a.yaw_rad).to_degrees().rem_euclid(360.0))
        })
}

pub fn instruments(ui: &mut egui::Ui, view: &LiveView, units: Units) {
    let vehicle = &view.vehicle;
    // Mode and armed state, large: the first thing an operator looks for.
    match &vehicle.status {
        Some(status) => {
            ui.horizontal(|ui| {
                let (armed, colour) = if status.armed {
                    ("ARMED", theme::BAD)
                } else {
                    ("DISARMED", theme::GOOD)
                };
                ui.label(RichText::new(armed).color(colour).strong().size(20.0));
                ui.label(RichText::new(&status.mode_name).strong().size(20.0));
            });
        }
        None => {
            ui.label(
                RichText::new("No vehicle heartbeat")
                    .color(theme::MUTED)
                    .size(18.0),
            );
        }
    }
    let width = ui.available_width().clamp(160.0, 320.0);
    attitude::horizon(
        ui,
        width,
        vehicle.attitude.map(|a| (a.roll_rad, a.pitch_rad)),
        heading_deg(vehicle),
    );
    ui.add_space(6.0);
    egui::Grid::new("fly-values")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            let pos = vehicle.position;
            let hud = vehicle.hud;
            let (alt, speed, climb) = (units.altitude(), units.speed(), units.climb());
            row(
                ui,
                &format!("Altitude rel ({})", alt.symbol),
                or_dash(pos.map(|p| format!("{:.1}", alt.of(p.alt_rel_m)))),
                None,
            );
            row(
                ui,
                &format!("Altitude AMSL ({})", alt.symbol),
                or_dash(pos.map(|p| format!("{:.1}", alt.of(p.alt_msl_m)))),
                None,
            );
            row(
                ui,
                &format!("Ground speed ({})", speed.symbol),
                or_dash(hud.map(|h| format!("{:.1}", speed.of(f64::from(h.groundspeed_m_s))))),
                None,
            );
            row(
                ui,
                &format!("Airspeed ({})", speed.symbol),
                or_dash(hud.map(|h| format!("{:.1}", speed.of(f64::from(h.airspeed_m_s))))),
                None,
            );
            row(
                ui,
                &format!("Climb ({})", climb.symbol),
                or_dash(hud.map(|h| format!("{:+.1}", climb.of(f64::from(h.climb_m_s))))),
                None,
            );
            row(
                ui,
                "Heading (°)",
                or_dash(heading_deg(vehicle).map(|h| format!("{h:03.0}"))),
                None,
            );
            row(
                ui,
                "Throttle (%)",
                or_dash(hud.map(|h| h.throttle_pct.to_string())),
                None,
            );
            let battery = vehicle.battery;
            let colour = Some(theme::battery(battery.remaining_pct));
            row(
                ui,
                "Battery (V)",
                or_dash(battery.voltage_v.map(|v| format!("{v:.2}"))),
                colour,
            );
            row(
                ui,
                "Current (A)",
                or_dash(battery.current_a.map(|a| format!("{a:.1}"))),
                None,
            );
            row(
                ui,
                "Remaining (%)",
                or_dash(battery.remaining_pct.map(|r| r.to_string())),
                colour,
            );
            if let Some(mah) = battery.consumed_mah {
                row(ui, "Consumed (mAh)", format!("{mah:.0}"), None);
            }
            let gps = vehicle.gps.as_ref();
            let gps_colour = gps.map(|g| match g.fix_level {
                0 | 1 => theme::BAD,
                2 => theme::WARN,
                _ => theme::GOOD,
            });
            row(
                ui,
                "GPS fix",
                or_dash(gps.map(|g| g.fix_type.clone())),
                gps_colour,
            );
            row(
                ui,
                "Satellites",
                or_dash(gps.and_then(|g| g.satellites).map(|s| s.to_string())),
                None,
            );
            row(
                ui,
                "HDOP",
                or_dash(gps.and_then(|g| g.hdop).map(|h| format!("{h:.2}"))),
                None,
            );
            row(
                ui,
                "System status",
                or_dash(vehicle.status.as_ref().map(|s| {
                    format!("{:?}", s.system_status)
                        .trim_start_matches("MAV_STATE_")
                        .to_owned()
                })),
                None,
            );
            let age = vehicle.heartbeat_age_s(view.now_mono_us);
            let age_colour = age.map(|a| if a > 3.0 { theme::BAD } else { theme::GOOD });
            row(
                ui,
                "Last heartbeat (s)",
                or_dash(age.map(|a| format!("{a:.1}"))),
                age_colour,
            );
            row(
                ui,
                &format!("Distance to home ({})", alt.symbol),
                or_dash(
                    vehicle
                        .distance_to_home_m()
                        .map(|d| format!("{:.0}", alt.of(d))),
                ),
                None,
            );
            if let Some(status) = &vehicle.status {
                let kind = format!("{:?}", status.vehicle_type);
                row(
                    ui,
                    "Vehicle",
                    kind.trim_start_matches("MAV_TYPE_").to_owned(),
                    None,
                );
            }
        });
}
