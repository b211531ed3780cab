//! The artificial horizon: roll and pitch against a fixed aircraft symbol, heading below.

use egui::{pos2, vec2, Color32, Pos2, Rect, Shape, Stroke};

const SKY: Color32 = Color32::from_rgb(54, 120, 196);
const GROUND: Color32 = Color32::from_rgb(130, 88, 48);
/// Vertical pixels per degree of pitch, as a fraction of the widget height.
const PITCH_SCALE: f32 = 1.0 / 60.0;

/// Keeps the part of `polygon` on the side of the line `a→b` where the cross product is >= 0.
fn clip(polygon: &[Pos2], a: Pos2, b: Pos2) -> Vec<Pos2> {
    let side = |p: Pos2| (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
    let mut out = Vec::new();
    for (i, &current) in polygon.iter().enumerate() {
        let next = polygon[(i + 1) % polygon.len()];
        let (sc, sn) = (side(current), side(next));
        if sc >= 0.0 {
            out.push(current);
        }
        if (sc >= 0.0) != (sn >= 0.0) {
            let t = sc / (sc - sn);
            out.push(current + (next - current) * t);
        }
    }
    out
}

/// Draws the horizon for `roll_rad`, `pitch_rad` and `heading_deg` (None: no data).
pub fn horizon(
    ui: &mut egui::Ui,
    size: f32,
    attitude: Option<(f32, f32)>,
    heading_deg: Option<f64>,
) {
    let (rect, response) = ui.allocate_exact_size(vec2(size, size), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let centre = rect.center();
    let Some((roll, pitch)) = attitude else {
        painter.rect_filled(rect, 6.0, Color32::from_gray(40));
        painter.text(
            centre,
            egui::Align2::CENTER_CENTER,
            "no attitude",
            egui::FontId::proportional(16.0),
            Color32::GRAY,
        );
        return;
    };
    response.on_hover_text(format!(
        "roll {:.1}°, pitch {:.1}°",
        roll.to_degrees(),
        pitch.to_degrees()
    ));
    let pixels_per_deg = rect.height() * PITCH_SCALE;
    // The horizon line moves down when the nose is up, and turns against the roll.
    let (sin, cos) = roll.sin_cos();
    let along = vec2(cos, -sin);
    let down = vec2(sin, cos);
    let offset = pitch.to_degrees() * pixels_per_deg;
    let mid = centre + down * offset;
    let far = rect.width() * 2.0;
    let a = mid - along * far;
    let b = mid + along * far;
    let corners = [
        rect.left_top(),
        rect.right_top(),
        rect.right_bottom(),
        rect.left_bottom(),
    ];
    painter.rect_filled(rect, 6.0, SKY);
    let ground = clip(&corners, a, b);
    if ground.len() >= 3 {
        painter.add(Shape::convex_polygon(ground, GROUND, Stroke::NONE));
    }
    painter.line_segment([a, b], Stroke::new(2.0, Color32::WHITE));
    // Pitch ladder every 10°.
    for step in [-30.0f32, -20.0, -10.0, 10.0, 20.0, 30.0] {
        let at = mid - down * (step * pixels_per_deg);
        let half = if step.abs() == 20.0 { 0.18 } else { 0.12 } * rect.width();
        painter.line_segment(
            [at - along * half, at + along * half],
            Stroke::new(1.0, Color32::WHITE),
        );
        painter.text(
            at + along * (half + 12.0),
            egui::Align2::CENTER_CENTER,
            format!("{}", step.abs() as i32),
            egui::FontId::proportional(10.0),
            Color32::WHITE,
        );
    }
    // Roll scale at the top, with a pointer.
    let radius = rect.width() * 0.42;
    for mark in [
        -60.0f32, -45.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 45.0, 60.0,
    ] {
        let angle = (mark - 90.0).to_radians();
        let dir = vec2(angle.cos(), angle.sin());
        let length = if mark % 30.0 == 0.0 { 10.0 } else { 6.0 };
        painter.line_segment(
            [centre + dir * radius, centre + dir * (radius - length)],
            Stroke::new(1.5, Color32::WHITE),
        );
    }
    let pointer_angle = -roll - std::f32::consts::FRAC_PI_2;
    let dir = vec2(pointer_angle.cos(), pointer_angle.sin());
    let tip = centre + dir * (radius - 12.0);
    let side = vec2(-dir.y, dir.x) * 6.0;
    painter.add(Shape::convex_polygon(
        vec![tip, tip - dir * 10.0 + side, tip - dir * 10.0 - side],
        Color32::YELLOW,
        Stroke::NONE,
    ));
    // The aircraft symbol, fixed.
    let wing = rect.width() * 0.22;
    let stroke = Stroke::new(4.0, Color32::YELLOW);
    painter.line_segment(
        [centre - vec2(wing, 0.0), centre - vec2(wing * 0.3, 0.0)],
        stroke,
    );
    painter.line_segment(
        [centre + vec2(wing * 0.3, 0.0), centre + vec2(wing, 0.0)],
        stroke,
    );
    painter.line_segment(
        [centre - vec2(wing * 0.3, 0.0), centre + vec2(0.0, 8.0)],
        stroke,
    );
    painter.line_segment(
        [centre + vec2(wing * 0.3, 0.0), centre + vec2(0.0, 8.0)],
        stroke,
    );
    painter.circle_filled(centre, 3.0, Color32::YELLOW);
    // Heading box at the bottom.
    if let Some(heading) = heading_deg {
        let box_rect =
            Rect::from_center_size(pos2(centre.x, rect.bottom() - 16.0), vec2(64.0, 22.0));
        painter.rect_filled(box_rect, 4.0, Color32::from_black_alpha(170));
        painter.text(
            box_rect.center(),
            egui::Align2::CENTER_CENTER,
            format!("{:03.0}°", heading.rem_euclid(360.0)),
            egui::FontId::monospace(15.0),
            Color32::WHITE,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_a_square_by_its_middle_keeps_half() {
        let square = [
            pos2(0.0, 0.0),
            pos2(10.0, 0.0),
            pos2(10.0, 10.0),
            pos2(0.0, 10.0),
        ];
        let below = clip(&square, pos2(-5.0, 5.0), pos2(15.0, 5.0));
        let area: f32 = below
            .iter()
            .zip(below.iter().cycle().skip(1))
            .map(|(p, q)| p.x * q.y - q.x * p.y)
            .sum::<f32>()
            .abs()
            / 2.0;
        assert!((area - 50.0).abs() < 1e-3, "{area}");
        assert!(below.iter().all(|p| p.y >= 5.0 - 1e-4));
    }
}
