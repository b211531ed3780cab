//! Live plots of message fields: rolling windows, several series, pause.

use std::collections::VecDeque;

use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::protocol::{fields, MavMessage};

/// One plotted field: (system, component, message id, field name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldKey {
    pub system_id: u8,
    pub component_id: u8,
    pub message_id: u32,
    pub message_name: String,
    pub field: String,
}

impl FieldKey {
    pub fn label(&self) -> String {
        format!(
            "{}.{} ({}:{})",
            self.message_name, self.field, self.system_id, self.component_id
        )
    }
}

/// Most points kept per series: an hour at 50 Hz.
pub const MAX_POINTS: usize = 50 * 3600;
/// Most points drawn per series; denser windows are reduced to min/max per pixel column.
const MAX_DRAWN: usize = 2000;

#[derive(Debug, Clone)]
pub struct Series {
    pub key: FieldKey,
    /// (seconds on the session clock, value)
    pub points: VecDeque<[f64; 2]>,
}

/// The live plots.
#[derive(Debug, Clone, Default)]
pub struct Plots {
    pub series: Vec<Series>,
    pub paused: bool,
    /// Time frozen at when paused.
    pub paused_at_s: Option<f64>,
}

impl Plots {
    pub fn contains(&self, key: &FieldKey) -> bool {
        self.series.iter().any(|s| &s.key == key)
    }

    pub fn toggle(&mut self, key: FieldKey) {
        if let Some(index) = self.series.iter().position(|s| s.key == key) {
            self.series.remove(index);
        } else {
            self.series.push(Series {
                key,
                points: VecDeque::new(),
            });
        }
    }

    /// Records the plotted fields of a received message.
    pub fn observe(
        &mut self,
        mono_us: u64,
        system_id: u8,
        component_id: u8,
        message_id: u32,
        message: &MavMessage,
    ) {
        let wanted = self.series.iter().any(|s| {
            s.key.message_id == message_id
                && s.key.system_id == system_id
                && s.key.component_id == component_id
        });
        if !wanted {
            return;
        }
        let values = fields::fields(message);
        let t = mono_us as f64 * 1e-6;
        for series in &mut self.series {
            let key = &series.key;
            if key.message_id != message_id
                || key.system_id != system_id
                || key.component_id != component_id
            {
                continue;
            }
            if let Some((_, fields::FieldValue::Number(value))) =
                values.iter().find(|(name, _)| name == &key.field)
            {
                if series.points.len() == MAX_POINTS {
                    series.points.pop_front();
                }
                series.points.push_back([t, *value]);
            }
        }
    }
}

/// Points of `points` within [start, end], reduced to at most about `MAX_DRAWN` by keeping the
/// minimum and maximum of each bucket (so spikes stay visible).
pub fn visible_points(points: &VecDeque<[f64; 2]>, start: f64, end: f64) -> Vec<[f64; 2]> {
    let from = points.partition_point(|p| p[0] < start);
    let to = points.partition_point(|p| p[0] <= end).max(from);
    crate::review::plot::decimate(points.range(from..to).copied(), MAX_DRAWN / 2)
}

/// Draws the plots of the last `window_s` seconds up to `now_s`.
pub fn show(ui: &mut egui::Ui, plots: &mut Plots, now_s: f64, window_s: f64) {
    ui.horizontal(|ui| {
        let label = if plots.paused { "Resume" } else { "Pause" };
        if ui.button(label).clicked() {
            plots.paused = !plots.paused;
            plots.paused_at_s = plots.paused.then_some(now_s);
        }
        if ui.button("Clear plots").clicked() {
            plots.series.clear();
        }
    });
    let end = plots.paused_at_s.unwrap_or(now_s);
    let start = end - window_s;
    let lines: Vec<(String, Vec<[f64; 2]>)> = plots
        .series
        .iter()
        .map(|s| (s.key.label(), visible_points(&s.points, start, end)))
        .collect();
    Plot::new("live-plot")
        .legend(Legend::default())
        .height(ui.available_height().max(160.0))
        .include_x(start)
        .include_x(end)
        .x_axis_label("time (s)")
        .allow_drag(plots.paused)
        .allow_zoom(plots.paused)
        .show(ui, |plot_ui| {
            for (name, points) in lines {
                plot_ui.line(Line::new(name, PlotPoints::from(points)));
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_extremes_and_bounds_the_count() {
        let mut points: VecDeque<[f64; 2]> = (0..100_000).map(|i| [i as f64 * 0.01, 0.0]).collect();
        points[54_321][1] = 99.0;
        points[77_777][1] = -42.0;
        let shown = visible_points(&points, 0.0, 1000.0);
        assert!(shown.len() <= MAX_DRAWN + 2, "{}", shown.len());
        assert!(shown.iter().any(|p| p[1] == 99.0));
        assert!(shown.iter().any(|p| p[1] == -42.0));
        let window = visible_points(&points, 10.0, 12.0);
        assert_eq!(window.len(), 201);
    }
}
