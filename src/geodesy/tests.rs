//! Against ObsPy 1.5.1's gps2dist_azimuth (Vincenty, no geographiclib) on 312 pairs:
//! random ones, the equator, near-antipodes (ObsPy's fallback), poles, identical points,
//! longitudes beyond +-180 (tests/fixtures/make_geodesy.py).

use super::*;

#[test]
fn equals_obspys_vincenty() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/geodesy/cases.json"
    );
    let cases: Vec<[f64; 7]> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() > 300);
    for c in &cases {
        let (d, az, baz) = gps2dist_azimuth(c[0], c[1], c[2], c[3]).unwrap();
        assert!(
            (d - c[4]).abs() <= 1e-6 && (az - c[5]).abs() <= 1e-9 && (baz - c[6]).abs() <= 1e-9,
            "{c:?}: got {d} {az} {baz}"
        );
    }
    assert_eq!(gps2dist_azimuth(91.0, 0.0, 0.0, 0.0), None);
    assert!((kilometers2degrees(111.19492664455873) - 1.0).abs() < 1e-12);
}
