//! The map: vehicle with heading, flown track and home on a scaled metric grid.
//!
//! Offline first: tiles come from the operator's own disk (a folder of XYZ tiles or an MBTiles
//! file) through the `walkers` widget; with no tiles it draws a grid in metres around home, so
//! the operator always sees where the vehicle is relative to launch.

use egui::{pos2, vec2, Color32, Pos2, Rect, RichText, Shape, Stroke};

use super::{fly::heading_deg, theme, LiveView, UiAction, UiSettings};

const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Most track points drawn; longer tracks are thinned for drawing only.
const MAX_DRAWN_POINTS: usize = 4000;

/// East/north metres of (lat, lon) from a reference point (equirectangular: fine at map scale).
pub fn local_m(ref_lat: f64, ref_lon: f64, lat: f64, lon: f64) -> (f64, f64) {
    let north = (lat - ref_lat).to_radians() * EARTH_RADIUS_M;
    let east = (lon - ref_lon).to_radians() * EARTH_RADIUS_M * ref_lat.to_radians().cos();
    (east, north)
}

/// A "nice" grid step (1, 2 or 5 × 10^n metres) for about `target` metres.
pub fn nice_step(target: f64) -> f64 {
    let magnitude = 10f64.powf(target.max(1e-3).log10().floor());
    let scaled = target / magnitude;
    let nice = if scaled < 1.5 {
        1.0
    } else if scaled < 3.5 {
        2.0
    } else if scaled < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// How the map's status starts when online tiles are in use.
pub const ONLINE_PREFIX: &str = "online tiles";

/// The tile source shown on the map, and the map widget's memory.
pub struct MapTiles<'a, 't> {
    pub tiles: Option<&'a mut (dyn walkers::Tiles + 't)>,
    pub memory: &'a mut walkers::MapMemory,
    /// Words about the source ("Local tiles: /path", or an error).
    pub status: &'a str,
    /// The whole flight's track, when reviewing one.
    pub flight: Option<&'a [crate::review::index::IndexedPoint]>,
    /// A place to point at (the time under the pointer in the flight plot).
    pub cursor: Option<(f64, f64)>,
    /// Where the operator picked "Go here" (right-click or long-press), and where the vehicle
    /// was last sent: the target marker and the line to it.
    pub go_here: Option<&'a mut Option<(f64, f64)>>,
    pub target: Option<(f64, f64)>,
    /// The plan to show, or to edit on the map.
    pub plan: Option<super::plan::MapPlan<'a>>,
}

/// Latitude and longitude of a point `east_m`, `north_m` from a reference (inverse of [`local_m`]).
pub fn from_local_m(ref_lat: f64, ref_lon: f64, east_m: f64, north_m: f64) -> (f64, f64) {
    let lat = ref_lat + (north_m / EARTH_RADIUS_M).to_degrees();
    let lon = ref_lon + (east_m / (EARTH_RADIUS_M * ref_lat.to_radians().cos())).to_degrees();
    (lat, lon)
}

/// Offers "Go here" on a right-click or a long press of the map; `at` turns the pointer's
/// position into latitude and longitude.
fn go_here_menu(
    ui: &egui::Ui,
    response: &egui::Response,
    go_here: Option<&mut Option<(f64, f64)>>,
    at: impl Fn(Pos2) -> (f64, f64),
) {
    let Some(go_here) = go_here else { return };
    let id = response.id.with("go-here");
    if response.secondary_clicked() || response.long_touched() {
        if let Some(pos) = response.interact_pointer_pos() {
            ui.data_mut(|d| d.insert_temp(id, at(pos)));
        }
    }
    response.context_menu(|ui| {
        let picked: Option<(f64, f64)> = ui.data(|d| d.get_temp(id));
        if let Some((lat, lon)) = picked {
            if ui
                .button("Go here")
                .on_hover_text(format!("{lat:.6}, {lon:.6}: confirm in the command bar"))
                .clicked()
            {
                *go_here = Some((lat, lon));
                ui.close();
            }
        }
    });
}

/// The picked point (hollow) and the vehicle's target (filled) with a line from the vehicle.
fn draw_targets(
    painter: &egui::Painter,
    vehicle: Option<Pos2>,
    picked: Option<Pos2>,
    target: Option<Pos2>,
) {
    if let (Some(from), Some(to)) = (vehicle, target) {
        painter.line_segment([from, to], Stroke::new(1.5, theme::WARN));
    }
    if let Some(at) = target {
        painter.circle_filled(at, 6.0, theme::WARN);
        painter.circle_stroke(at, 9.0, Stroke::new(1.5, theme::WARN));
    }
    if let Some(at) = picked {
        painter.circle_stroke(at, 8.0, Stroke::new(2.0, Color32::WHITE));
        painter.line_segment(
            [at - vec2(5.0, 0.0), at + vec2(5.0, 0.0)],
            Stroke::new(1.0, Color32::WHITE),
        );
        painter.line_segment(
            [at - vec2(0.0, 5.0), at + vec2(0.0, 5.0)],
            Stroke::new(1.0, Color32::WHITE),
        );
    }
}

pub fn panel(
    ui: &mut egui::Ui,
    view: &LiveView,
    settings: &mut UiSettings,
    map: MapTiles<'_, '_>,
    actions: &mut Vec<UiAction>,
) {
    ui.horizontal(|ui| {
        ui.strong("Map");
        ui.label(RichText::new(map.status).color(theme::MUTED));
        ui.checkbox(&mut settings.map_follow, "Follow vehicle");
        let label = ui.label("Tiles");
        ui.add(
            egui::TextEdit::singleline(&mut settings.tiles_path)
                .hint_text("folder of z/x/y tiles or .mbtiles file")
                .desired_width(220.0),
        )
        .labelled_by(label.id);
        if ui.button("Load tiles").clicked() {
            actions.push(UiAction::LoadTiles(settings.tiles_path.trim().to_owned()));
        }
        let network_allowed = !view.privacy.privacy_on();
        let online = map.status.starts_with(ONLINE_PREFIX);
        let mut wanted = online;
        let response = ui
            .add_enabled(
                network_allowed,
                egui::Checkbox::new(&mut wanted, "Online tiles"),
            )
            .on_disabled_hover_text("A network feature: privacy mode is on, so it is off.")
            .on_hover_text(format!("{} (cached on disk)", settings.online_tiles_url));
        if response.changed() {
            actions.push(UiAction::OnlineTiles(wanted));
        }
    });
    let vehicle = &view.vehicle;
    let position = vehicle
        .position
        .filter(|p| p.lat_deg != 0.0 || p.lon_deg != 0.0);
    let mut map = map;
    match (map.tiles.take(), position) {
        (Some(tiles), Some(p)) => {
            if settings.map_follow {
                map.memory.follow_my_position();
            }
            walkers::Map::new(
                Some(tiles),
                map.memory,
                walkers::lat_lon(p.lat_deg, p.lon_deg),
            )
            .with_plugin(Overlay {
                view,
                flight: map.flight,
                cursor: map.cursor,
                go_here: map.go_here,
                target: map.target,
                plan: map.plan,
            })
            .show(ui, |_, _, _, _| ());
        }
        _ => grid_map(ui, view, settings, map),
    }
}

/// Draws the track, home and vehicle on a tile map.
struct Overlay<'a> {
    view: &'a LiveView,
    flight: Option<&'a [crate::review::index::IndexedPoint]>,
    cursor: Option<(f64, f64)>,
    go_here: Option<&'a mut Option<(f64, f64)>>,
    target: Option<(f64, f64)>,
    plan: Option<super::plan::MapPlan<'a>>,
}

impl walkers::Plugin for Overlay<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut egui::Ui,
        response: &egui::Response,
        projector: &walkers::Projector,
        _memory: &walkers::MapMemory,
    ) {
        let picked = self.go_here.as_deref().copied().flatten();
        go_here_menu(ui, response, self.go_here, |pos| {
            let p = projector.unproject(pos.to_vec2());
            (p.y(), p.x())
        });
        let vehicle = &self.view.vehicle;
        let at = |lat: f64, lon: f64| projector.project(walkers::lat_lon(lat, lon)).to_pos2();
        if let Some(plan) = self.plan {
            let unproject = |pos: Pos2| {
                let p = projector.unproject(pos.to_vec2());
                (p.y(), p.x())
            };
            super::plan::on_map(ui, response, &at, &unproject, plan, &vehicle.mission);
        }
        let painter = ui.painter();
        if let Some(flight) = self.flight {
            draw_flight(painter, flight, at);
        }
        draw_track(painter, track_points(vehicle, at));
        if let Some((lat, lon)) = self.cursor {
            draw_cursor(painter, at(lat, lon));
        }
        if let Some(home) = vehicle.home {
            draw_home(painter, at(home.lat_deg, home.lon_deg));
        }
        draw_targets(
            painter,
            vehicle.position.map(|p| at(p.lat_deg, p.lon_deg)),
            picked.map(|(lat, lon)| at(lat, lon)),
            self.target.map(|(lat, lon)| at(lat, lon)),
        );
        if let Some(p) = vehicle.position {
            draw_vehicle(painter, at(p.lat_deg, p.lon_deg), heading_deg(vehicle));
        }
    }
}

/// The track in screen points, thinned to at most [`MAX_DRAWN_POINTS`] (the last one kept).
fn track_points(
    vehicle: &crate::vehicle::VehicleState,
    at: impl Fn(f64, f64) -> Pos2,
) -> Vec<Pos2> {
    let stride = (vehicle.track.len() / MAX_DRAWN_POINTS).max(1);
    vehicle
        .track
        .iter()
        .step_by(stride)
        .chain(vehicle.track.last())
        .map(|p| at(p.lat_deg, p.lon_deg))
        .collect()
}

fn draw_track(painter: &egui::Painter, track: Vec<Pos2>) {
    if track.len() >= 2 {
        painter.add(Shape::line(
            track,
            Stroke::new(2.5, Color32::from_rgb(255, 140, 0)),
        ));
    }
}

/// The whole flight under review, faint under the track flown so far.
fn draw_flight(
    painter: &egui::Painter,
    flight: &[crate::review::index::IndexedPoint],
    at: impl Fn(f64, f64) -> Pos2,
) {
    let stride = (flight.len() / MAX_DRAWN_POINTS).max(1);
    let points: Vec<Pos2> = flight
        .iter()
        .step_by(stride)
        .map(|p| at(p.lat_deg, p.lon_deg))
        .collect();
    if points.len() >= 2 {
        painter.add(Shape::line(
            points,
            Stroke::new(2.0, Color32::from_rgba_unmultiplied(120, 170, 255, 120)),
        ));
    }
}

/// Where the vehicle was at the time under the plot's pointer.
fn draw_cursor(painter: &egui::Painter, at: Pos2) {
    painter.circle_stroke(at, 8.0, Stroke::new(2.5, Color32::WHITE));
    painter.circle_filled(at, 3.0, Color32::WHITE);
}

fn draw_home(painter: &egui::Painter, at: Pos2) {
    painter.circle(
        at,
        9.0,
        Color32::from_rgb(30, 120, 60),
        Stroke::new(2.0, Color32::WHITE),
    );
    painter.text(
        at,
        egui::Align2::CENTER_CENTER,
        "H",
        egui::FontId::proportional(12.0),
        Color32::WHITE,
    );
}

fn draw_vehicle(painter: &egui::Painter, at: Pos2, heading_deg: Option<f64>) {
    let heading = heading_deg.unwrap_or(0.0).to_radians() as f32;
    let forward = vec2(heading.sin(), -heading.cos());
    let right = vec2(-forward.y, forward.x);
    let shape = vec![
        at + forward * 16.0,
        at - forward * 10.0 + right * 10.0,
        at - forward * 5.0,
        at - forward * 10.0 - right * 10.0,
    ];
    painter.add(Shape::convex_polygon(
        shape,
        Color32::from_rgb(240, 60, 60),
        Stroke::new(1.5, Color32::WHITE),
    ));
}

/// The map without tiles: a metric grid around home.
fn grid_map(ui: &mut egui::Ui, view: &LiveView, settings: &UiSettings, map: MapTiles<'_, '_>) {
    let MapTiles {
        flight,
        cursor,
        go_here,
        target,
        plan,
        ..
    } = map;
    let editing = matches!(plan, Some(super::plan::MapPlan::Edit(..)));
    let follow = settings.map_follow && !editing;
    let picked = go_here.as_deref().copied().flatten();
    let rect = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(rect, egui::Sense::click());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "map"));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::from_rgb(28, 32, 36));
    let vehicle = &view.vehicle;
    let position = vehicle
        .position
        .filter(|p| p.lat_deg != 0.0 || p.lon_deg != 0.0);
    let reference = vehicle
        .home
        .map(|h| (h.lat_deg, h.lon_deg))
        .or_else(|| vehicle.track.first().map(|p| (p.lat_deg, p.lon_deg)))
        .or_else(|| position.map(|p| (p.lat_deg, p.lon_deg)))
        .or_else(|| {
            flight
                .and_then(|f| f.first())
                .map(|p| (p.lat_deg, p.lon_deg))
        });
    let Some((ref_lat, ref_lon)) = reference else {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "waiting for a position",
            egui::FontId::proportional(18.0),
            theme::MUTED,
        );
        return;
    };
    let to_local = |lat: f64, lon: f64| local_m(ref_lat, ref_lon, lat, lon);
    // What must be visible: the vehicle and home always, the whole track unless following.
    let mut points: Vec<(f64, f64)> = Vec::new();
    if let Some(p) = position {
        points.push(to_local(p.lat_deg, p.lon_deg));
    }
    points.push((0.0, 0.0));
    let (mut min_e, mut max_e, mut min_n, mut max_n) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let mut include = |(e, n): (f64, f64)| {
        min_e = min_e.min(e);
        max_e = max_e.max(e);
        min_n = min_n.min(n);
        max_n = max_n.max(n);
    };
    points.iter().copied().for_each(&mut include);
    if let Some(plan) = &plan {
        plan_points(plan)
            .into_iter()
            .for_each(|(lat, lon)| include(to_local(lat, lon)));
    }
    if !follow {
        let track = vehicle.track.iter().map(|p| (p.lat_deg, p.lon_deg));
        let flight = flight.unwrap_or(&[]).iter().map(|p| (p.lat_deg, p.lon_deg));
        track
            .chain(flight)
            .for_each(|(lat, lon)| include(to_local(lat, lon)));
    }
    let span_m = (max_e - min_e)
        .max(max_n - min_n)
        .max(if follow { 300.0 } else { 100.0 })
        * 1.3;
    let centre_m = if follow {
        position.map_or((0.0, 0.0), |p| to_local(p.lat_deg, p.lon_deg))
    } else {
        ((min_e + max_e) / 2.0, (min_n + max_n) / 2.0)
    };
    let pixels_per_m = (rect.width().min(rect.height()) as f64 / span_m) as f32;
    let to_screen = |(e, n): (f64, f64)| -> Pos2 {
        rect.center()
            + vec2(
                ((e - centre_m.0) as f32) * pixels_per_m,
                -((n - centre_m.1) as f32) * pixels_per_m,
            )
    };
    draw_grid(&painter, rect, pixels_per_m, centre_m);
    if let Some(flight) = flight {
        draw_flight(&painter, flight, |lat, lon| to_screen(to_local(lat, lon)));
    }
    draw_track(
        &painter,
        track_points(vehicle, |lat, lon| to_screen(to_local(lat, lon))),
    );
    if let Some((lat, lon)) = cursor {
        draw_cursor(&painter, to_screen(to_local(lat, lon)));
    }
    if vehicle.home.is_some() {
        draw_home(&painter, to_screen((0.0, 0.0)));
    }
    let to_screen_ll = |(lat, lon): (f64, f64)| to_screen(to_local(lat, lon));
    draw_targets(
        &painter,
        position.map(|p| to_screen_ll((p.lat_deg, p.lon_deg))),
        picked.map(to_screen_ll),
        target.map(to_screen_ll),
    );
    let unproject = |pos: Pos2| {
        let offset = pos - rect.center();
        let east = f64::from(offset.x / pixels_per_m) + centre_m.0;
        let north = -f64::from(offset.y / pixels_per_m) + centre_m.1;
        from_local_m(ref_lat, ref_lon, east, north)
    };
    if let Some(plan) = plan {
        let project = |lat: f64, lon: f64| to_screen(to_local(lat, lon));
        super::plan::on_map(ui, &response, &project, &unproject, plan, &vehicle.mission);
    }
    go_here_menu(ui, &response, go_here, unproject);
    if let Some(p) = position {
        draw_vehicle(
            &painter,
            to_screen(to_local(p.lat_deg, p.lon_deg)),
            heading_deg(vehicle),
        );
        response.on_hover_text(format!(
            "{:.6}, {:.6}  alt {:.1} m rel",
            p.lat_deg, p.lon_deg, p.alt_rel_m
        ));
        painter.text(
            rect.left_top() + vec2(8.0, 8.0),
            egui::Align2::LEFT_TOP,
            format!("{:.6}°, {:.6}°", p.lat_deg, p.lon_deg),
            egui::FontId::monospace(13.0),
            Color32::WHITE,
        );
    }
}

/// The places of a plan the grid map keeps in view.
fn plan_points(plan: &super::plan::MapPlan<'_>) -> Vec<(f64, f64)> {
    let plan = match plan {
        super::plan::MapPlan::Show(plan) => *plan,
        super::plan::MapPlan::Edit(state, _) => &state.plan,
    };
    plan.items
        .iter()
        .filter(|item| crate::mission::stats::has_position(item))
        .map(|item| (item.x, item.y))
        .chain(plan.rally.iter().map(|(lat, lon, _)| (*lat, *lon)))
        .chain(
            plan.fence
                .polygons
                .iter()
                .flat_map(|p| p.vertices.iter().copied()),
        )
        .chain(plan.fence.circles.iter().map(|c| (c.lat_deg, c.lon_deg)))
        .collect()
}

fn draw_grid(painter: &egui::Painter, rect: Rect, pixels_per_m: f32, centre_m: (f64, f64)) {
    let step = nice_step(120.0 / f64::from(pixels_per_m));
    let half_w = f64::from(rect.width() / pixels_per_m) / 2.0;
    let half_h = f64::from(rect.height() / pixels_per_m) / 2.0;
    let line = Stroke::new(1.0, Color32::from_gray(55));
    let mut e = ((centre_m.0 - half_w) / step).floor() * step;
    while e <= centre_m.0 + half_w {
        let x = rect.center().x + ((e - centre_m.0) as f32) * pixels_per_m;
        painter.line_segment([pos2(x, rect.top()), pos2(x, rect.bottom())], line);
        e += step;
    }
    let mut n = ((centre_m.1 - half_h) / step).floor() * step;
    while n <= centre_m.1 + half_h {
        let y = rect.center().y - ((n - centre_m.1) as f32) * pixels_per_m;
        painter.line_segment([pos2(rect.left(), y), pos2(rect.right(), y)], line);
        n += step;
    }
    // Scale bar and north arrow.
    let bar = step as f32 * pixels_per_m;
    let origin = rect.left_bottom() + vec2(16.0, -18.0);
    painter.line_segment(
        [origin, origin + vec2(bar, 0.0)],
        Stroke::new(3.0, Color32::WHITE),
    );
    let label = if step >= 1000.0 {
        format!("{} km", step / 1000.0)
    } else {
        format!("{step} m")
    };
    painter.text(
        origin + vec2(bar / 2.0, -4.0),
        egui::Align2::CENTER_BOTTOM,
        label,
        egui::FontId::proportional(12.0),
        Color32::WHITE,
    );
    let north = rect.right_top() + vec2(-22.0, 30.0);
    painter.add(Shape::convex_polygon(
        vec![
            north + vec2(0.0, -14.0),
            north + vec2(7.0, 6.0),
            north + vec2(-7.0, 6.0),
        ],
        Color32::WHITE,
        Stroke::NONE,
    ));
    painter.text(
        north + vec2(0.0, 10.0),
        egui::Align2::CENTER_TOP,
        "N",
        egui::FontId::proportional(12.0),
        Color32::WHITE,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_steps_are_round_numbers() {
        assert_eq!(nice_step(120.0), 100.0);
        assert_eq!(nice_step(260.0), 200.0);
        assert_eq!(nice_step(4.0), 5.0);
        assert_eq!(nice_step(0.9), 1.0);
    }

    #[test]
    fn local_metres_match_the_haversine_distance() {
        let (e, n) = local_m(-35.36, 149.16, -35.361, 149.161);
        let flat = e.hypot(n);
        let round = crate::vehicle::haversine_m(-35.36, 149.16, -35.361, 149.161);
        assert!((flat - round).abs() < 0.1, "{flat} vs {round}");
    }
}
