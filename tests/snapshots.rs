//! Image snapshots of the live screen, rendered headless by wgpu (Mesa's llvmpipe here), from a
//! fixed stream of telemetry so that the picture is the same on every run.
//! `UPDATE_SNAPSHOTS=1 cargo test --test snapshots` rewrites `tests/snapshots/*.png`.

use airlock::app::{AirlockApp, StartOptions};
use airlock::protocol::{FrameHeader, MavMessage, Version};
use airlock::session::{LinkState, SessionEvent};
use airlock::sim::flight::state_at;
use airlock::ui::{FieldKey, UiSettings};
use egui_kittest::Harness;
use mavlink::dialects::ardupilotmega as apm;
use mavlink::Message as _;

fn feed(app: &mut AirlockApp, t: f64, sequence: &mut u8) {
    let s = state_at(t);
    let mut messages = vec![
        MavMessage::ATTITUDE(apm::ATTITUDE_DATA {
            time_boot_ms: (t * 1000.0) as u32,
            roll: s.roll_rad as f32,
            pitch: s.pitch_rad as f32,
            yaw: s.yaw_rad as f32,
            ..Default::default()
        }),
        MavMessage::GLOBAL_POSITION_INT(apm::GLOBAL_POSITION_INT_DATA {
            lat: (s.lat_deg * 1e7) as i32,
            lon: (s.lon_deg * 1e7) as i32,
            alt: ((584.0 + s.alt_rel_m) * 1e3) as i32,
            relative_alt: (s.alt_rel_m * 1e3) as i32,
            hdg: (s.yaw_rad.to_degrees().rem_euclid(360.0) * 100.0) as u16,
            ..Default::default()
        }),
        MavMessage::VFR_HUD(apm::VFR_HUD_DATA {
            groundspeed: s.groundspeed_m_s as f32,
            airspeed: s.groundspeed_m_s as f32,
            climb: s.climb_m_s as f32,
            alt: (584.0 + s.alt_rel_m) as f32,
            heading: s.yaw_rad.to_degrees().rem_euclid(360.0) as i16,
            throttle: s.throttle_pct as u16,
        }),
    ];
    if ((t * 10.0).round() as u64).is_multiple_of(10) {
        messages.push(MavMessage::HEARTBEAT(apm::HEARTBEAT_DATA {
            custom_mode: s.phase.copter_mode(),
            mavtype: apm::MavType::MAV_TYPE_QUADROTOR,
            autopilot: apm::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: if s.phase.armed() {
                apm::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED
            } else {
                apm::MavModeFlag::empty()
            },
            system_status: apm::MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        }));
        messages.push(MavMessage::SYS_STATUS(apm::SYS_STATUS_DATA {
            voltage_battery: (s.battery_v * 1000.0) as u16,
            current_battery: (s.battery_a * 100.0) as i16,
            battery_remaining: s.battery_pct as i8,
            ..Default::default()
        }));
        messages.push(MavMessage::GPS_RAW_INT(apm::GPS_RAW_INT_DATA {
            fix_type: apm::GpsFixType::GPS_FIX_TYPE_3D_FIX,
            satellites_visible: 14,
            eph: 78,
            epv: 120,
            ..Default::default()
        }));
    }
    if t == 6.0 {
        messages.push(MavMessage::STATUSTEXT(apm::STATUSTEXT_DATA {
            severity: apm::MavSeverity::MAV_SEVERITY_WARNING,
            text: "Arming motors".into(),
            ..Default::default()
        }));
    }
    for message in messages {
        *sequence = sequence.wrapping_add(1);
        let header = FrameHeader {
            version: Version::V2,
            payload_len: 28,
            incompat_flags: 0,
            compat_flags: 0,
            sequence: *sequence,
            system_id: 1,
            component_id: 1,
            message_id: message.message_id(),
            frame_len: 40,
        };
        app.apply_event(SessionEvent::Message {
            wall_us: 1_800_000_000_000_000 + (t * 1e6) as u64,
            mono_us: (t * 1e6) as u64,
            header,
            message: Box::new(message),
        });
    }
}

#[test]
fn live_screen_snapshot() {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 860.0))
        .wgpu()
        .build_ui_state(
            |ui, app: &mut Option<AirlockApp>| {
                app.get_or_insert_with(|| {
                    AirlockApp::new(
                        ui.ctx(),
                        UiSettings::default(),
                        StartOptions::default(),
                        None,
                    )
                })
                .show(ui);
            },
            None,
        );
    harness.step();
    {
        let app = harness.state_mut().as_mut().expect("the app was built");
        app.apply_event(SessionEvent::Link(LinkState::Connected { baud: 57600 }));
        app.plots.toggle(FieldKey {
            system_id: 1,
            component_id: 1,
            message_id: 30,
            message_name: "ATTITUDE".into(),
            field: "roll".into(),
        });
        app.select_stream((1, 1, 30));
        // Freeze the plot's time axis at the last sample: "now" would move it between runs.
        app.plots.paused = true;
        app.plots.paused_at_s = Some(30.0);
        let mut sequence = 0;
        for step in 0..=300 {
            feed(app, f64::from(step) * 0.1, &mut sequence);
        }
    }
    harness.run_steps(3);
    harness.snapshot("live_screen");
}
