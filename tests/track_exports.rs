//! GPX and KML exports parse with a standard XML parser (Python's `xml.etree`) and hold the
//! track: every position of the followed vehicle, with time and elevation, modes in KML.

mod common;

use std::path::Path;
use std::process::Command;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

/// Parses `file` with Python's standard XML parser and prints what it found as JSON.
const READ_XML: &str = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
gpx = "{http://www.topografix.com/GPX/1/1}"
kml = "{http://www.opengis.net/kml/2.2}"
points = root.findall(f".//{gpx}trkpt")
if points:
    first = points[0]
    print(json.dumps({"points": len(points), "lat": float(first.get("lat")), "lon": float(first.get("lon")),
        "ele": float(first.find(f"{gpx}ele").text), "time": first.find(f"{gpx}time").text}))
else:
    lines = root.findall(f".//{kml}Placemark")
    coords = [c for p in lines for c in p.find(f".//{kml}coordinates").text.split()]
    print(json.dumps({"placemarks": len(lines), "names": sorted({p.find(f"{kml}name").text for p in lines}),
        "coordinates": len(coords), "first": [float(v) for v in coords[0].split(",")]}))
"#;

fn export(path: &Path, format: &str, out: &Path) {
    common::ok(
        Command::new(AIRLOCK)
            .arg("export")
            .arg(path)
            .args(["--format", format, "-o"])
            .arg(out),
    );
}

fn read_xml(file: &Path) -> serde_json::Value {
    common::json(Command::new("python3").args(["-c", READ_XML]).arg(file))
}

#[test]
fn gpx_and_kml_of_a_real_flight_parse_and_hold_the_track() {
    let dir = tempfile::tempdir().unwrap();
    let tlog =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tlogs/UAVLogViewer_vtol.tlog");
    let gpx = dir.path().join("vtol.gpx");
    let kml = dir.path().join("vtol.kml");
    export(&tlog, "gpx", &gpx);
    export(&tlog, "kml", &kml);
    let opened = airlock::review::open(&tlog).unwrap();
    let track = airlock::review::track::track_of(&opened);
    assert!(track.len() > 500, "{}", track.len());
    let gpx = read_xml(&gpx);
    assert_eq!(gpx["points"], track.len());
    assert!((gpx["lat"].as_f64().unwrap() - track[0].lat_deg).abs() < 1e-6);
    assert!((gpx["ele"].as_f64().unwrap() - track[0].alt_msl_m).abs() < 1e-3);
    assert!(gpx["time"].as_str().unwrap().starts_with("20"), "{gpx}");
    let kml = read_xml(&kml);
    let placemarks = kml["placemarks"].as_u64().unwrap();
    // Runs share their boundary point, so the coordinates count each mode change once more.
    assert_eq!(
        kml["coordinates"].as_u64().unwrap(),
        track.len() as u64 + placemarks - 1
    );
    let names: Vec<String> = serde_json::from_value(kml["names"].clone()).unwrap();
    assert!(
        names.len() >= 2,
        "a quadplane flight changes mode: {names:?}"
    );
    assert!((kml["first"][0].as_f64().unwrap() - track[0].lon_deg).abs() < 1e-6);
}
