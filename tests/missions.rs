//! Mission files of other tools (`tests/data/missions`): each loads, keeps every item's
//! command, frame, parameters and position through `.plan` ⇄ `.waypoints`, and reads back the
//! same from Airlock's own output; malformed files give an error with the line or field.

use std::path::PathBuf;

use airlock::mission::{Format, Plan};

mod common;

fn missions() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/missions");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| Format::of_path(path).is_some())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn load(name: &str) -> Plan {
    let (_, text) = missions().into_iter().find(|(n, _)| n == name).unwrap();
    Plan::parse(&text).unwrap()
}

#[test]
fn every_mission_file_loads_with_its_items() {
    let counts = [
        ("ardupilot_autotest_copter_mission.txt", 12),
        ("ardupilot_autotest_plane_Dalby-OBC2016.txt", 34),
        ("qgc_test_SITL_simple_square.plan", 5),
        ("qgc_test_plans_ArduPilotSITL-ArduCopter.plan", 11),
    ];
    assert_eq!(missions().len(), counts.len());
    for (name, items) in counts {
        let plan = load(name);
        assert_eq!(plan.items.len(), items, "{name}");
        assert!(plan.home.is_some(), "{name} has a home");
    }
}

#[test]
fn each_file_survives_both_formats_and_its_own_format() {
    for (name, text) in missions() {
        let plan = Plan::parse(&text).unwrap();
        for format in [Format::Plan, Format::Waypoints] {
            let written = plan.write(format).unwrap();
            let back = Plan::parse(&written).unwrap();
            assert_eq!(
                back.home,
                plan.home.clone().map(|mut h| {
                    h.extra.clear();
                    h
                }),
                "{name} via {format:?}: home"
            );
            assert_eq!(back.items.len(), plan.items.len(), "{name} via {format:?}");
            for (seq, (a, b)) in plan.items.iter().zip(&back.items).enumerate() {
                let same = a.command == b.command
                    && a.frame == b.frame
                    && a.autocontinue == b.autocontinue
                    && a.params
                        .iter()
                        .zip(&b.params)
                        .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
                    && [(a.x, b.x), (a.y, b.y), (a.z, b.z)]
                        .iter()
                        .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()));
                assert!(
                    same,
                    "{name} via {format:?}, item {}: {a:?} became {b:?}",
                    seq + 1
                );
            }
            // Our own output in its own format reads back exactly, extras and all.
            if Format::of_text(&text) == Some(format) {
                assert_eq!(back, plan, "{name} round trip in its own format");
            }
        }
    }
}

#[test]
fn altitude_frames_are_kept_exactly_including_terrain_and_uncomputed_ones() {
    let plan = load("qgc_test_plans_ArduPilotSITL-ArduCopter.plan");
    let frames: Vec<u8> = plan.items.iter().map(|item| item.frame).collect();
    assert_eq!(frames, [3, 3, 2, 0, 3, 0, 3, 10, 3, 3, 3]);
    // Item 6: "80 m above terrain" that QGroundControl never computed: frame 0 (sea level)
    // with no altitude. It stays that way — never 80 m above sea level.
    let item = &plan.items[5];
    assert!(item.z.is_nan(), "{item:?}");
    assert_eq!(item.extra["AltitudeMode"], 3);
    let waypoints = plan.write(Format::Waypoints).unwrap();
    let row = waypoints.lines().nth(7).unwrap();
    assert!(
        row.starts_with("6\t0\t0\t16\t") && row.ends_with("\tNaN\t1"),
        "{row}"
    );
    // The terrain-frame item keeps frame 10 in both formats.
    let back = Plan::parse(&waypoints).unwrap();
    assert_eq!(back.items[7].frame, 10);
    assert_eq!(back.items[7].z, 50.0);
}

#[test]
fn malformed_files_say_where_and_change_nothing() {
    let bad_field = "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t-35\t149\t580\t1\n1\t0\t3\t16\t0\tabc\t0\t0\t-35\t149\t20\t1\n";
    let error = Plan::parse(bad_field).unwrap_err().to_string();
    assert_eq!(error, "line 3, param2: `abc` is not a number");
    let short = "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t-35\t149\n";
    assert_eq!(
        Plan::parse(short).unwrap_err().to_string(),
        "line 2: the row has 10 fields, not 12"
    );
    let gap = "QGC WPL 110\n0 1 0 16 0 0 0 0 -35 149 580 1\n2 0 3 16 0 0 0 0 -35 149 20 1\n";
    assert!(Plan::parse(gap)
        .unwrap_err()
        .to_string()
        .starts_with("line 3, seq:"));
    let (_, text) = missions()
        .into_iter()
        .find(|(n, _)| n.ends_with("simple_square.plan"))
        .unwrap();
    let cut = &text[..text.len() / 2];
    assert!(
        Plan::parse(cut)
            .unwrap_err()
            .to_string()
            .starts_with("line "),
        "truncated JSON"
    );
    let wrong = text.replacen("\"command\": 16", "\"command\": \"sixteen\"", 1);
    assert_eq!(
        Plan::parse(&wrong).unwrap_err().to_string(),
        "mission.items[1].command: expected a whole number in range, found \"sixteen\""
    );
    assert!(Plan::parse("hello").is_err());
    assert!(Plan::parse("").is_err());
}

#[test]
fn cli_shows_json_and_converts() {
    let airlock = env!("CARGO_BIN_EXE_airlock");
    let dir = tempfile::tempdir().unwrap();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/missions/qgc_test_plans_ArduPilotSITL-ArduCopter.plan");
    let out = std::process::Command::new(airlock)
        .args(["mission", "show", "--json"])
        .arg(&source)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["home"]["seq"], 0);
    assert_eq!(shown["home"]["z"], 584.0);
    let items = shown["items"].as_array().unwrap();
    assert_eq!(items.len(), 11);
    assert_eq!(items[0]["seq"], 1);
    assert_eq!(items[0]["command"], 22);
    assert_eq!(items[0]["params"], serde_json::json!([0.0, 0.0, 0.0, null]));
    assert_eq!(items[5]["frame"], 0);
    assert_eq!(items[5]["z"], serde_json::Value::Null);
    assert_eq!(items[7]["frame"], 10);
    assert!(shown["fence"]["circles"].as_array().unwrap().is_empty());
    assert!(shown["rally"].as_array().unwrap().is_empty());
    assert!(shown["stats"]["distance_m"].as_f64().unwrap() > 1000.0);

    let converted = dir.path().join("mission.waypoints");
    let status = std::process::Command::new(airlock)
        .args(["mission", "convert"])
        .arg(&source)
        .arg("-o")
        .arg(&converted)
        .status()
        .unwrap();
    assert!(status.success());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&converted).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let back = Plan::parse(&std::fs::read_to_string(&converted).unwrap()).unwrap();
    assert_eq!(back.items.len(), 11);
    // A malformed file: non-zero exit, the line named, nothing written.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "QGC WPL 110\n0 1 0 16 0 0 0 0 x 149 584 1\n").unwrap();
    let target = dir.path().join("never.plan");
    let out = std::process::Command::new(airlock)
        .args(["mission", "convert"])
        .arg(&bad)
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2, x (latitude): `x` is not a number"),
        "{stderr}"
    );
    assert!(!target.exists());
}

/// A plan with a fence (a polygon, an exclusion circle, a return point) and rally points.
fn fenced_plan() -> Plan {
    use airlock::mission::{FenceCircle, FencePolygon};
    let mut plan = load("ardupilot_autotest_copter_mission.txt");
    plan.fence.polygons.push(FencePolygon {
        vertices: vec![
            (-35.36, 149.16),
            (-35.36, 149.17),
            (-35.37, 149.17),
            (-35.37, 149.16),
        ],
        inclusion: true,
    });
    plan.fence.circles.push(FenceCircle {
        lat_deg: -35.365,
        lon_deg: 149.165,
        radius_m: 30.0,
        inclusion: false,
    });
    plan.fence.return_point = Some((-35.3631, 149.1651, 25.0));
    plan.rally = vec![(-35.3625, 149.1655, 30.0), (-35.3640, 149.1640, 40.0)];
    plan
}

#[test]
fn upload_verify_download_and_clear_on_the_simulator() {
    use std::process::Command;
    let airlock = env!("CARGO_BIN_EXE_airlock");
    let dir = tempfile::tempdir().unwrap();
    let plan = fenced_plan();
    let file = dir.path().join("fenced.plan");
    std::fs::write(&file, plan.write(Format::Plan).unwrap()).unwrap();
    let (mut sim, device) = common::spawn_with_device(Command::new(airlock).args([
        "sim",
        "--idle",
        "--duration",
        "120",
    ]));
    let run = |args: &[&str]| {
        Command::new(airlock)
            .args(args)
            .args(["--port", device.trim(), "--baud", "57600"])
            .env("AIRLOCK_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap()
    };
    let out = run(&["mission", "upload", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("upload mission: 13 items uploaded and verified"),
        "{stdout}"
    );
    assert!(
        stdout.contains("upload fence: 6 items uploaded and verified"),
        "{stdout}"
    );
    assert!(
        stdout.contains("upload rally points: 2 items uploaded and verified"),
        "{stdout}"
    );
    // The flight recorded by the upload holds the transfers: its review knows the plan the
    // vehicle held from the moment it accepted it, and nothing before.
    let flight = stdout
        .lines()
        .find_map(|line| line.strip_prefix("recording to "))
        .expect("the flight's folder is printed");
    let tlog = std::fs::read(std::path::Path::new(flight).join("flight.tlog")).unwrap();
    let index = airlock::review::index::FlightIndex::build(&tlog);
    let kinds: Vec<_> = index.missions.iter().map(|s| s.kind).collect();
    assert!(kinds.len() >= 3, "uploads and read-backs seen: {kinds:?}");
    let before = airlock::mission::watch::plan_at(&index.missions, index.start_us);
    assert!(before.items.is_empty() && before.fence.is_empty() && before.rally.is_empty());
    let held = airlock::mission::watch::plan_at(&index.missions, index.end_us);
    common::assert_same_items(&plan.items, &held.items);
    assert_eq!(held.fence.polygons.len(), 1);
    assert_eq!(held.fence.circles.len(), 1);
    assert_eq!(held.rally.len(), 2);

    let back = dir.path().join("back.plan");
    let out = run(&[
        "mission",
        "download",
        "--type",
        "all",
        "-o",
        back.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = Plan::parse(&std::fs::read_to_string(&back).unwrap()).unwrap();
    common::assert_same_items(&plan.items, &read.items);
    assert_eq!(read.fence.polygons.len(), 1);
    assert_eq!(read.fence.polygons[0].vertices.len(), 4);
    assert!(!read.fence.circles[0].inclusion);
    assert!((read.fence.circles[0].radius_m - 30.0).abs() < 1e-4);
    assert!(read.fence.return_point.is_some());
    assert_eq!(read.rally.len(), 2);

    let out = run(&["mission", "clear"]);
    assert!(out.status.success());
    let empty = dir.path().join("empty.waypoints");
    let out = run(&["mission", "download", "-o", empty.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = Plan::parse(&std::fs::read_to_string(&empty).unwrap()).unwrap();
    assert!(read.items.is_empty(), "cleared: {read:?}");
    assert!(read.home.is_some(), "the vehicle's home stays item 0");
    let _ = sim.kill();
    let _ = sim.wait();
}
