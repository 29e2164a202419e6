//! `fnmatch` against Python's `fnmatch.fnmatchcase` (tests/fixtures/make_select.py), and
//! `Select` as ObsPy's Stream.select decides a trace.

use super::*;

#[test]
fn fnmatch_equals_pythons() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/select/fnmatch.json"
    );
    let cases: Vec<(String, String, bool)> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() > 600);
    let wrong: Vec<_> = cases
        .iter()
        .filter(|(p, n, want)| fnmatch(n, p) != *want)
        .collect();
    assert!(
        wrong.is_empty(),
        "{} differ: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

#[test]
fn a_trace_is_selected_when_every_pattern_matches() {
    let tr = Trace {
        network: "GR".into(),
        station: "FUR".into(),
        location: String::new(),
        channel: "HHZ".into(),
        start_ns: 0,
        sampling_rate: 100.0,
        data: Vec::new(),
    };
    let s = |f: fn(&mut Select)| {
        let mut s = Select::default();
        f(&mut s);
        s
    };
    assert!(Select::default().matches(&tr));
    assert!(s(|s| s.sampling_rate = Some(100.0)).matches(&tr));
    assert!(!s(|s| s.sampling_rate = Some(20.0)).matches(&tr));
    assert!(s(|s| s.npts = Some(0)).matches(&tr));
    assert!(!s(|s| s.npts = Some(1)).matches(&tr));
    assert!(s(|s| s.component = Some("Z".into())).matches(&tr));
    assert!(!s(|s| s.component = Some("N".into())).matches(&tr));
    assert!(s(|s| s.id = Some("GR.FUR..HH?".into())).matches(&tr));
    assert!(s(|s| s.location = Some(String::new())).matches(&tr));
    assert!(!s(|s| s.location = Some("00".into())).matches(&tr));
    assert!(!s(|s| {
        s.network = Some("GR".into());
        s.station = Some("WET".into());
    })
    .matches(&tr));
    let both = s(|s| {
        s.channel = Some("HHZ".into());
        s.component = Some("N".into());
    });
    assert!(both.check().unwrap_err().contains("mutually exclusive"));
    assert!(s(|s| {
        s.channel = Some("HH?".into());
        s.component = Some("N".into());
    })
    .check()
    .is_ok());
}
