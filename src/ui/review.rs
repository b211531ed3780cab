//! Reviewing a stored flight: the replay bar (title, damage notices, exports), the timeline
//! (play, pause, speed, step, seek by time, markers) and the whole-flight plot linked to the map.

use std::sync::Arc;

use egui::{pos2, vec2, Color32, RichText, Sense, Stroke};
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

use super::{theme, FieldKey, Plots, UiAction, UiState};
use crate::review::index::{FlightIndex, MarkerKind, StreamKey};
use crate::review::player::Speed;
use crate::review::plot;

/// What the screens show of a replay.
#[derive(Debug, Clone)]
pub struct ReviewView {
    /// The flight's folder or file name, for the title.
    pub title: String,
    /// Its whole path (shown on hover).
    pub path: String,
    pub index: Arc<FlightIndex>,
    /// The replay clock, µs since the epoch.
    pub time_us: u64,
    pub playing: bool,
    pub speed: Speed,
    /// Damage found in the log, in words.
    pub notices: Vec<String>,
    /// Every sample of the plotted fields over a zoomed-in range, when it was read.
    pub detail: Option<PlotDetail>,
}

/// Samples of a time range read from the log for a zoomed-in plot.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotDetail {
    pub from_us: u64,
    pub to_us: u64,
    pub fields: Vec<FieldKey>,
    pub points: Vec<Vec<[f64; 2]>>,
}

/// What the operator asks of the replay.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayAction {
    Play,
    Pause,
    SetSpeed(Speed),
    /// Go to this time (µs since the epoch): the exact state then.
    Seek(u64),
    /// Apply one more message.
    Step,
    /// Read every sample of the plotted fields in this range (µs).
    Detail {
        from_us: u64,
        to_us: u64,
    },
    /// Back to the live view.
    Close,
}

/// `h:mm:ss.s` of a duration in µs.
pub fn clock(duration_us: u64) -> String {
    let tenths = duration_us / 100_000;
    let (hours, rest) = (tenths / 36_000, tenths % 36_000);
    format!(
        "{hours}:{:02}:{:02}.{}",
        rest / 600,
        rest / 10 % 60,
        rest % 10
    )
}

fn marker_colour(kind: MarkerKind) -> Color32 {
    match kind {
        MarkerKind::Armed => theme::GOOD,
        MarkerKind::Disarmed => theme::MUTED,
        MarkerKind::Mode => Color32::from_rgb(90, 160, 255),
        MarkerKind::Warning => theme::WARN,
    }
}

/// The top bar while reviewing: what is open, what is wrong with it, exports, close.
pub fn bar(ui: &mut egui::Ui, review: &ReviewView, actions: &mut Vec<UiAction>) {
    ui.horizontal(|ui| {
        ui.strong("Reviewing");
        ui.label(RichText::new(&review.title).monospace())
            .on_hover_text(&review.path);
        let index = &review.index;
        ui.label(
            RichText::new(format!(
                "{} frames · {}",
                index.frames,
                clock(index.end_us.saturating_sub(index.start_us))
            ))
            .color(theme::MUTED),
        );
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Close review").clicked() {
                actions.push(UiAction::Replay(ReplayAction::Close));
            }
            if ui.button("Export…").clicked() {
                actions.push(UiAction::ShowExport);
            }
            if ui.button("Flights…").clicked() {
                actions.push(UiAction::ShowLibrary);
            }
        });
    });
    for notice in &review.notices {
        ui.label(RichText::new(format!("Damaged log: {notice}")).color(theme::WARN));
    }
}

/// The replay controls and the timeline.
pub fn timeline(
    ui: &mut egui::Ui,
    review: &ReviewView,
    state: &mut UiState,
    actions: &mut Vec<UiAction>,
) {
    let index = &review.index;
    let (start, end) = (index.start_us, index.end_us.max(index.start_us + 1));
    ui.horizontal(|ui| {
        let (label, action) = if review.playing {
            ("Pause", ReplayAction::Pause)
        } else {
            ("Play", ReplayAction::Play)
        };
        if ui.button(label).clicked() {
            actions.push(UiAction::Replay(action));
        }
        if ui
            .button("Step")
            .on_hover_text("Apply the next message")
            .clicked()
        {
            actions.push(UiAction::Replay(ReplayAction::Step));
        }
        let label = ui.label("Speed");
        egui::ComboBox::from_id_salt("replay-speed")
            .selected_text(review.speed.label())
            .show_ui(ui, |ui| {
                for speed in Speed::CHOICES {
                    if ui
                        .selectable_label(review.speed == speed, speed.label())
                        .clicked()
                    {
                        actions.push(UiAction::Replay(ReplayAction::SetSpeed(speed)));
                    }
                }
            })
            .response
            .labelled_by(label.id);
        ui.label(
            RichText::new(format!(
                "{} / {}",
                clock(review.time_us.saturating_sub(start)),
                clock(end - start)
            ))
            .monospace()
            .strong(),
        );
        ui.label(
            RichText::new(format!(
                "{} UTC",
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_micros(review.time_us)
                )
            ))
            .color(theme::MUTED),
        );
    });
    let (rect, response) =
        ui.allocate_exact_size(vec2(ui.available_width(), 30.0), Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_rgb(40, 44, 50));
    let x_of = |time_us: u64| {
        let fraction = time_us.saturating_sub(start) as f32 / (end - start) as f32;
        rect.left() + fraction.clamp(0.0, 1.0) * rect.width()
    };
    let time_of = |x: f32| {
        let fraction = ((x - rect.left()) / rect.width()).clamp(0.0, 1.0);
        start + (f64::from(fraction) * (end - start) as f64) as u64
    };
    painter.rect_filled(
        egui::Rect::from_min_max(rect.left_top(), pos2(x_of(review.time_us), rect.bottom())),
        4.0,
        Color32::from_rgb(55, 75, 95),
    );
    // One mark per kind and pixel column: a long flight's thousands of marks stay cheap.
    let mut drawn = std::collections::HashSet::new();
    for marker in &index.markers {
        let x = x_of(marker.time_us);
        if !drawn.insert((marker.kind as u8, x.round() as i32)) {
            continue;
        }
        painter.line_segment(
            [pos2(x, rect.top() + 3.0), pos2(x, rect.bottom() - 3.0)],
            Stroke::new(2.0, marker_colour(marker.kind)),
        );
    }
    if let Some(cursor) = state.plot_cursor_us {
        let x = x_of(cursor);
        painter.line_segment(
            [pos2(x, rect.top()), pos2(x, rect.bottom())],
            Stroke::new(1.0, Color32::from_gray(200)),
        );
    }
    let now = x_of(review.time_us);
    painter.line_segment(
        [pos2(now, rect.top()), pos2(now, rect.bottom())],
        Stroke::new(3.0, Color32::WHITE),
    );
    if let Some(pointer) = response.interact_pointer_pos() {
        if response.clicked() || response.dragged() {
            actions.push(UiAction::Replay(ReplayAction::Seek(time_of(pointer.x))));
        }
    }
    let response = response.on_hover_ui_at_pointer(|ui| {
        if let Some(pointer) = ui.ctx().pointer_hover_pos() {
            let time = time_of(pointer.x);
            ui.label(clock(time.saturating_sub(start)));
            let near = index
                .markers
                .iter()
                .filter(|m| (x_of(m.time_us) - pointer.x).abs() <= 4.0);
            for marker in near.take(6) {
                ui.label(RichText::new(&marker.text).color(marker_colour(marker.kind)));
            }
        }
    });
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, "Timeline"));
    ui.horizontal(|ui| {
        for (kind, words) in [
            (MarkerKind::Armed, "armed"),
            (MarkerKind::Disarmed, "disarmed"),
            (MarkerKind::Mode, "mode change"),
            (MarkerKind::Warning, "warning"),
        ] {
            let (swatch, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
            ui.painter().rect_filled(swatch, 2.0, marker_colour(kind));
            ui.label(RichText::new(words).color(marker_colour(kind)).small());
        }
    });
}

/// The stream and field position of a plotted field, in this flight.
fn field_ref(index: &FlightIndex, key: &FieldKey) -> Option<plot::FieldRef> {
    let stream_key = StreamKey {
        system_id: key.system_id,
        component_id: key.component_id,
        message_id: key.message_id,
    };
    let stream = index.stream(&stream_key)?;
    Some((stream_key, stream.field(&key.field)?))
}

/// The plotted fields as stream/field references (fields this flight lacks are left out).
pub fn field_refs(index: &FlightIndex, keys: &[FieldKey]) -> Vec<(FieldKey, plot::FieldRef)> {
    keys.iter()
        .filter_map(|key| field_ref(index, key).map(|r| (key.clone(), r)))
        .collect()
}

/// Columns a plot line is reduced to.
const PLOT_COLUMNS: usize = 1500;

/// The whole flight's plot of the chosen fields: min/max overview, every sample when zoomed in;
/// hovering moves a cursor on the timeline and the map, clicking seeks there.
pub fn flight_plot(
    ui: &mut egui::Ui,
    review: &ReviewView,
    plots: &mut Plots,
    state: &mut UiState,
    actions: &mut Vec<UiAction>,
) {
    let index = &review.index;
    let keys: Vec<FieldKey> = plots.series.iter().map(|s| s.key.clone()).collect();
    ui.horizontal(|ui| {
        ui.strong("Flight plot");
        if ui.button("Clear plots").clicked() {
            plots.series.clear();
        }
        ui.label(
            RichText::new("click: go there · Ctrl+scroll or right-drag: zoom · double-click: all")
                .color(theme::MUTED),
        )
        .on_hover_text("Drag to pan. Zoomed in, every sample of the range is read from the log.");
    });
    // Every sample is drawn only while zoomed in (as last frame's bounds say) and read for
    // the range on screen; otherwise the whole flight's overview.
    let flight_s = index.end_us.saturating_sub(index.start_us) as f64 * 1e-6;
    let zoomed_to = state
        .flight_plot_x
        .filter(|(from, to)| to > from && (to - from) * 8.0 < flight_s);
    let to_us = |seconds: f64| (index.start_us as f64 + seconds.max(0.0) * 1e6) as u64;
    let detail = review.detail.as_ref().filter(|d| {
        d.fields == keys
            && zoomed_to.is_some_and(|(from, to)| d.from_us <= to_us(from) && d.to_us >= to_us(to))
    });
    let mut lines = Vec::new();
    for (key, field) in field_refs(index, &keys) {
        let points = detail
            .and_then(|d| {
                d.fields
                    .iter()
                    .position(|k| *k == key)
                    .map(|i| &d.points[i])
            })
            .filter(|points| !points.is_empty())
            .map_or_else(
                || plot::overview(index, field),
                |points| plot::decimate(points.iter().copied(), PLOT_COLUMNS),
            );
        lines.push((key.label(), points));
    }
    let now_s = plot::seconds(index, review.time_us);
    let response = Plot::new("flight-plot")
        .legend(Legend::default())
        .height(ui.available_height().max(120.0))
        .x_axis_label("time since the first frame (s)")
        .show(ui, |plot_ui| {
            for (name, points) in lines {
                plot_ui.line(Line::new(name, PlotPoints::from(points)));
            }
            plot_ui.vline(VLine::new("now", now_s).color(Color32::WHITE));
            let bounds = plot_ui.plot_bounds();
            let pointer = plot_ui.pointer_coordinate();
            (bounds, pointer)
        });
    let (bounds, pointer) = response.inner;
    state.plot_cursor_us = if response.response.hovered() {
        pointer.map(|p| to_us(p.x))
    } else {
        None
    };
    if response.response.clicked() {
        if let Some(p) = pointer {
            actions.push(UiAction::Replay(ReplayAction::Seek(to_us(p.x))));
        }
    }
    let (from_s, to_s) = (bounds.min()[0], bounds.max()[0]);
    // The bounds are the operator's once they hold still for a frame (the first frames fit
    // them to the data).
    let settled = state.flight_plot_x == Some((from_s, to_s));
    state.flight_plot_x = Some((from_s, to_s));
    // Zoomed in well past the overview's resolution: ask for every sample of the range.
    let zoomed = to_s > from_s && (to_s - from_s) * 8.0 < flight_s;
    let covered = review
        .detail
        .as_ref()
        .is_some_and(|d| d.fields == keys && d.from_us <= to_us(from_s) && d.to_us >= to_us(to_s));
    let resting = !response.response.dragged() && !ui.input(|i| i.pointer.any_down());
    if zoomed && settled && !covered && resting && !keys.is_empty() {
        // A margin either side so that small pans need no new read.
        let margin = (to_s - from_s) / 2.0;
        actions.push(UiAction::Replay(ReplayAction::Detail {
            from_us: to_us(from_s - margin),
            to_us: to_us(to_s + margin),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_hours_minutes_seconds() {
        assert_eq!(clock(0), "0:00:00.0");
        assert_eq!(clock(61_500_000), "0:01:01.5");
        assert_eq!(clock(3_600_000_000 * 10 + 59_000_000), "10:00:59.0");
    }
}
