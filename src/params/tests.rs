use proptest::prelude::*;

use super::files::{self, ParamFormat};
use super::pck;
use super::*;

fn name_strategy() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_]{0,15}"
}

/// A parameter as ArduPilot has them: int8, int16, int32 or float, with or without a default.
fn ardupilot_param() -> impl Strategy<Value = Param> {
    (
        name_strategy(),
        prop_oneof![
            Just(ParamType::Int8),
            Just(ParamType::Int16),
            Just(ParamType::Int32),
            Just(ParamType::Real32)
        ],
        any::<i32>(),
        any::<f32>().prop_filter("finite", |v| v.is_finite()),
        proptest::option::of(any::<i8>()),
    )
        .prop_map(|(name, kind, int, real, default)| {
            let value = match kind {
                ParamType::Int8 => f64::from(int as i8),
                ParamType::Int16 => f64::from(int as i16),
                ParamType::Int32 => f64::from(int),
                _ => f64::from(real),
            };
            Param {
                name,
                value,
                kind: Some(kind),
                default: default.map(f64::from),
            }
        })
}

fn unique(params: Vec<Param>) -> Vec<Param> {
    let set: ParamSet = params.into_iter().collect();
    set.params.into_values().collect()
}

proptest! {
    #[test]
    fn param_pck_round_trips(params in proptest::collection::vec(ardupilot_param(), 0..300), defaults: bool) {
        let params = unique(params);
        let bytes = pck::encode(&params, 1234, defaults);
        let packed = pck::decode(&bytes).unwrap();
        prop_assert_eq!(packed.total, 1234);
        prop_assert_eq!(packed.params.len(), params.len());
        for (read, written) in packed.params.iter().zip(&params) {
            prop_assert_eq!(&read.name, &written.name);
            prop_assert!(same_value(read.value, written.value), "{} {}", read.value, written.value);
            prop_assert_eq!(read.kind, written.kind);
            prop_assert_eq!(read.default, if defaults { written.default } else { None });
        }
    }

    #[test]
    fn param_pck_never_panics_on_damage(params in proptest::collection::vec(ardupilot_param(), 1..40), cut in 0usize..2000, flip in 0usize..2000, bit in 0u8..8) {
        let mut bytes = pck::encode(&unique(params), 40, true);
        if !bytes.is_empty() {
            let at = flip % bytes.len();
            bytes[at] ^= 1 << bit;
        }
        bytes.truncate(cut.min(bytes.len()));
        let _ = pck::decode(&bytes);
    }

    #[test]
    fn param_pck_never_panics_on_noise(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = pck::decode(&bytes);
        let mut with_header = vec![0x1c, 0x67, 5, 0, 5, 0];
        with_header.extend(bytes);
        let _ = pck::decode(&with_header);
    }

    #[test]
    fn every_file_format_round_trips(params in proptest::collection::vec(ardupilot_param(), 1..100)) {
        let set: ParamSet = params.into_iter().collect();
        for format in [ParamFormat::MissionPlanner, ParamFormat::QGroundControl, ParamFormat::MavProxy] {
            let text = files::write(&set, format, (1, 1)).unwrap();
            let (read, read_format) = files::read(&text).unwrap();
            prop_assert_eq!(read_format, format);
            prop_assert_eq!(read.len(), set.len());
            for (a, b) in read.iter().zip(set.iter()) {
                prop_assert_eq!(&a.name, &b.name);
                prop_assert!(same_value(a.value, b.value), "{:?}: {} vs {}", format, a.value, b.value);
                if format == ParamFormat::QGroundControl {
                    prop_assert_eq!(a.kind, b.kind);
                }
            }
            prop_assert!(diff(&set, &read).is_empty());
        }
    }

    #[test]
    fn files_never_panic_on_noise(text in "[ -~\t\n,#]{0,400}") {
        let _ = files::read(&text);
    }
}

#[test]
fn each_format_is_read_with_its_comments_and_quirks() {
    let mp = "#NOTE: 26/11/2026 frame type quad\r\nFRAME_CLASS,1\r\nRTL_ALT,1500\r\nATC_RAT_RLL_P,0.135 # tuned\r\n";
    let (set, format) = files::read(mp).unwrap();
    assert_eq!(format, ParamFormat::MissionPlanner);
    assert_eq!(set.get("ATC_RAT_RLL_P").unwrap().value, 0.135);
    assert_eq!(set.len(), 3);
    let qgc = "# Onboard parameters for Vehicle 1\n#\n# Vehicle-Id Component-Id Name Value Type\n1\t1\tFRAME_CLASS\t1\t2\n1\t1\tWPNAV_SPEED\t1000\t9\n";
    let (set, format) = files::read(qgc).unwrap();
    assert_eq!(format, ParamFormat::QGroundControl);
    assert_eq!(set.get("FRAME_CLASS").unwrap().kind, Some(ParamType::Int8));
    let mavproxy = "FRAME_CLASS      1\nWPNAV_SPEED      1000.000000 # cm/s\n";
    let (set, format) = files::read(mavproxy).unwrap();
    assert_eq!(format, ParamFormat::MavProxy);
    assert_eq!(set.get("WPNAV_SPEED").unwrap().value, 1000.0);
}

#[test]
fn malformed_lines_are_named_by_number() {
    let cases = [
        (
            "FRAME_CLASS,1\nRTL_ALT,fifteen\n",
            "line 2: `fifteen` is not a number",
        ),
        ("A 1\nB 2 3\n", "line 2: unexpected `3`"),
        (
            "1\t1\tA\t1\t2\n1\t1\tB\t300\t2\n",
            "line 2: 300 does not fit its type INT8",
        ),
        ("1\t1\tA\t1\t99\n", "line 1: `99` is not a MAV_PARAM_TYPE"),
        ("A,1\nA,2\n", "line 2: A is already set on line 1"),
        (
            "THIS_NAME_IS_FAR_TOO_LONG,1\n",
            "line 1: `THIS_NAME_IS_FAR_TOO_LONG` is not a parameter name",
        ),
        ("# only a comment\n", "line 1: no parameters"),
    ];
    for (text, expected) in cases {
        let error = files::read(text).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{text:?}: {error}");
    }
}

#[test]
fn a_qgc_file_needs_every_type() {
    let (set, _) = files::read("A,1\n").unwrap();
    let error = files::write(&set, ParamFormat::QGroundControl, (1, 1)).unwrap_err();
    assert!(
        error.to_string().starts_with("A: its type is not known"),
        "{error}"
    );
}

#[test]
fn diff_names_changed_added_and_missing() {
    let old: ParamSet = [
        Param::new("A", 1.0, None),
        Param::new("B", 0.1, None),
        Param::new("C", 3.0, None),
    ]
    .into_iter()
    .collect();
    let new: ParamSet = [
        Param::new("A", 1.0, None),
        Param::new("B", f64::from(0.1f32), None),
        Param::new("C", 4.0, None),
        Param::new("D", 5.0, None),
    ]
    .into_iter()
    .collect();
    let changes = diff(&old, &new);
    let names: Vec<_> = changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["C", "D"], "B equal as float32: {changes:?}");
    assert_eq!(changes[1].old, None);
}

#[test]
fn pck_rejects_what_is_not_one() {
    assert!(pck::decode(b"").unwrap_err().to_string().contains("header"));
    assert!(pck::decode(&[0, 0, 0, 0, 0, 0])
        .unwrap_err()
        .to_string()
        .contains("magic"));
    // Says two, holds one.
    let mut bytes = pck::encode(&[Param::new("A", 1.0, Some(ParamType::Int8))], 2, false);
    bytes[2] = 2;
    assert!(pck::decode(&bytes)
        .unwrap_err()
        .to_string()
        .contains("header says 2"));
}
