//! Property tests: any plan survives save → load in both formats; any text loads or errs, and
//! never panics.

use proptest::prelude::*;

use super::*;

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1e7..1e7f64,
        1 => Just(0.0),
        1 => Just(f64::NAN),
        1 => (-1000i32..1000).prop_map(f64::from),
    ]
}

fn item() -> impl Strategy<Value = MissionItem> {
    (
        any::<u16>(),
        any::<u8>(),
        [value(), value(), value(), value()],
        -90.0..90.0f64,
        -180.0..180.0f64,
        value(),
        any::<bool>(),
    )
        .prop_map(
            |(command, frame, params, x, y, z, autocontinue)| MissionItem {
                command,
                frame,
                params,
                x,
                y,
                z,
                autocontinue,
                extra: serde_json::Map::new(),
            },
        )
}

fn home() -> impl Strategy<Value = Option<MissionItem>> {
    proptest::option::of(
        (-89.0..89.0f64, 1.0..179.0f64, 1.0..5000.0f64)
            .prop_map(|(x, y, z)| MissionItem::new(NAV_WAYPOINT, FRAME_GLOBAL, x, y, z)),
    )
}

fn mission() -> impl Strategy<Value = Plan> {
    (home(), proptest::collection::vec(item(), 0..40)).prop_map(|(home, items)| Plan {
        home,
        items,
        ..Plan::default()
    })
}

fn whole_plan() -> impl Strategy<Value = Plan> {
    let point = (-89.0..89.0f64, -179.0..179.0f64);
    (
        mission(),
        proptest::collection::vec((point.clone(), 1.0..5000.0f64, any::<bool>()), 0..4),
        proptest::collection::vec(
            (
                proptest::collection::vec(point.clone(), 3..8),
                any::<bool>(),
            ),
            0..3,
        ),
        proptest::collection::vec((point, 0.0..500.0f64), 0..5),
        proptest::option::of(1.0..40.0f64),
    )
        .prop_map(|(mut plan, circles, polygons, rally, cruise)| {
            plan.fence.circles = circles
                .into_iter()
                .map(|((lat, lon), radius, inclusion)| FenceCircle {
                    lat_deg: lat,
                    lon_deg: lon,
                    radius_m: radius,
                    inclusion,
                })
                .collect();
            plan.fence.polygons = polygons
                .into_iter()
                .map(|(vertices, inclusion)| FencePolygon {
                    vertices,
                    inclusion,
                })
                .collect();
            plan.rally = rally
                .into_iter()
                .map(|((lat, lon), alt)| (lat, lon, alt))
                .collect();
            plan.cruise_speed_m_s = cruise;
            plan
        })
}

proptest! {
    #[test]
    fn any_mission_survives_a_waypoint_file(plan in mission()) {
        let text = plan.write(Format::Waypoints).unwrap();
        prop_assert_eq!(Plan::parse(&text).unwrap(), plan);
    }

    #[test]
    fn any_plan_survives_a_plan_file(plan in whole_plan()) {
        let text = plan.write(Format::Plan).unwrap();
        prop_assert_eq!(Plan::parse(&text).unwrap(), plan);
    }

    #[test]
    fn any_text_loads_or_says_why(text in ".{0,400}") {
        let _ = Plan::parse(&text);
        let _ = Plan::parse(&format!("QGC WPL 110\n{text}"));
    }

    #[test]
    fn mangled_files_load_or_say_why(plan in whole_plan(), cut in any::<prop::sample::Index>(), junk in ".{0,8}") {
        for format in [Format::Plan, Format::Waypoints] {
            let Ok(text) = plan.write(format) else { continue };
            let at = cut.index(text.len() + 1);
            let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            let mangled = format!("{}{junk}{}", &text[..at], &text[at..]);
            if let Err(error) = Plan::parse(&mangled) {
                prop_assert!(!error.to_string().is_empty());
            }
            let _ = Plan::parse(&text[..at]);
        }
    }
}

#[test]
fn a_fence_cannot_go_into_a_waypoint_file() {
    let mut plan = Plan::default();
    plan.rally.push((1.0, 2.0, 30.0));
    let error = plan.write(Format::Waypoints).unwrap_err().to_string();
    assert!(error.contains("1 rally points would be lost"), "{error}");
    let plan = Plan {
        home: Some(MissionItem::new(NAV_WAYPOINT, 3, 1.0, 2.0, 3.0)),
        ..Plan::default()
    };
    let error = plan.write(Format::Plan).unwrap_err().to_string();
    assert!(error.starts_with("item 0: a .plan holds home"), "{error}");
}

#[test]
fn statistics_of_a_square() {
    let mut plan = Plan {
        home: Some(MissionItem::new(
            NAV_WAYPOINT,
            FRAME_GLOBAL,
            0.0,
            0.001,
            100.0,
        )),
        cruise_speed_m_s: Some(10.0),
        ..Plan::default()
    };
    for (x, y) in [(0.001, 0.001), (0.001, 0.002), (0.0, 0.002)] {
        plan.items
            .push(MissionItem::new(NAV_WAYPOINT, 3, x, y, 30.0));
    }
    plan.items.push(MissionItem::new(20, 3, 0.0, 0.0, 0.0));
    let stats = stats::Stats::of(&plan);
    assert!(
        (stats.distance_m - 333.6).abs() < 0.5,
        "{}",
        stats.distance_m
    );
    assert!((stats.time_s - 33.36).abs() < 0.1);
    assert_eq!(stats.highest_alt_m, Some(30.0));
    assert_eq!(stats.items_by_kind["WAYPOINT"], 3);
    assert_eq!(stats.items_by_kind["RETURN_TO_LAUNCH"], 1);
}
