//! SAC output byte-identical to what ObsPy 1.5.1 writes for the same trace (header fields,
//! nulls, string padding, sub-millisecond `b`), from tests/fixtures/sac (make_fixtures.py).

mod common;

use seisbatch::time::parse_iso;
use seisbatch::trace::Trace;
use seisbatch::write::sac::encode;

/// The trace tests/fixtures/make_fixtures.py writes with ObsPy.
fn fixture_trace() -> Trace {
    Trace {
        network: "XX".into(),
        station: "STA01".into(),
        location: String::new(),
        channel: "BHZ".into(),
        start_ns: parse_iso("2020-02-29T23:59:58.123456Z").unwrap(),
        sampling_rate: 40.0,
        data: vec![1.5, -2.25, 3.0, 0.125],
    }
}

#[test]
fn sac_bytes_equal_obspy() {
    let tr = fixture_trace();
    let want = std::fs::read(common::fixture("sac/XX.STA01..BHZ.sac")).unwrap();
    let got = encode(&tr);
    assert_eq!(got.len(), want.len());
    let diff: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
    assert!(
        diff.is_empty(),
        "bytes differ at {:?} (word {:?})",
        &diff[..diff.len().min(10)],
        diff.first().map(|i| i / 4)
    );
}

/// With the station's coordinates and orientation and the event's origin: the header ObsPy
/// writes from `stats.sac` (stla .. cmpinc, evla, evlo, evdp, o, lcalda = 1, so it computes
/// dist, az, baz and gcarc itself), byte for byte.
#[test]
fn sac_bytes_with_station_and_event_equal_obspy() {
    use seisbatch::events::Event;
    use seisbatch::read::stationxml::Coordinates;
    use seisbatch::write::sac::{encode_with, Meta};
    let tr = fixture_trace();
    let meta = Meta {
        station: Some(Coordinates {
            latitude: 48.162899,
            longitude: 11.2752,
            elevation: 565.0,
            depth: 0.0,
            azimuth: Some(0.0),
            dip: Some(-90.0),
        }),
        event: Some(Event {
            time_ns: parse_iso("2020-02-29T23:50:00.5Z").unwrap(),
            latitude: 35.5,
            longitude: 139.25,
            depth_km: 40.0,
        }),
    };
    let want = std::fs::read(common::fixture("sac/XX.STA01..BHZ.event.sac")).unwrap();
    let got = encode_with(&tr, &meta);
    assert_eq!(got.len(), want.len());
    // Words 50-53 (dist, az, baz, gcarc): ObsPy's writer leaves them unset with lcalda = 1
    // and computes them on reading; seisbatch writes what ObsPy's reader computes.
    let back: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("sac/XX.STA01..BHZ.event.distances.json"))
            .unwrap(),
    )
    .unwrap();
    let word = |k: usize| f32::from_le_bytes(got[4 * k..4 * k + 4].try_into().unwrap());
    for (k, name) in [(50, "dist"), (51, "az"), (52, "baz"), (53, "gcarc")] {
        // (As float32: serde_json's default parse may miss the last f64 bit.)
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the header word is float32"
        )]
        let want_word = back[name].as_f64().unwrap() as f32;
        assert_eq!(word(k), want_word, "{name}");
        assert_eq!(
            want[4 * k..4 * k + 4],
            (-12345.0f32).to_le_bytes(),
            "{name} in ObsPy's"
        );
    }
    let diff: Vec<usize> = (0..got.len())
        .filter(|&i| !(200..216).contains(&i) && got[i] != want[i])
        .collect();
    assert!(
        diff.is_empty(),
        "bytes differ at {:?} (words {:?})",
        &diff[..diff.len().min(10)],
        diff.iter()
            .map(|i| i / 4)
            .collect::<std::collections::BTreeSet<_>>()
    );
}
