//! Against ObsPy 1.5.1's `Stream.merge(...)` + `split()` (tests/fixtures/make_merge.py): gaps,
//! overlaps of equal and different data, contained and contiguous traces, a misaligned start,
//! counts and float data, every method and fill.

use super::*;

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    args: serde_json::Value,
    #[serde(default)]
    inputs: Vec<Piece>,
    #[serde(default)]
    outputs: Vec<Piece>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct Piece {
    start_ns: i64,
    #[serde(default)]
    rate: f64,
    data: Vec<f64>,
}

fn args_of(v: &serde_json::Value) -> MergeArgs {
    let fill = match &v["fill_value"] {
        serde_json::Value::Null => Fill::Masked,
        serde_json::Value::String(s) if s == "interpolate" => Fill::Interpolate,
        serde_json::Value::String(s) if s == "latest" => Fill::Latest,
        x => Fill::Value(x.as_f64().unwrap()),
    };
    MergeArgs {
        method: v["method"].as_i64().unwrap() as i8,
        fill_value: fill,
        interpolation_samples: v["interpolation_samples"].as_i64().unwrap_or(0),
    }
}

#[test]
fn merge_then_split_equals_obspy() {
    let cases: Vec<Case> =
        serde_json::from_str(include_str!("../../../tests/fixtures/merge/cases.json")).unwrap();
    assert!(cases.len() >= 90);
    let mut checked = 0;
    for c in cases {
        let a = args_of(&c.args);
        let traces: Vec<Trace> = c
            .inputs
            .iter()
            .map(|p| Trace {
                network: "XX".into(),
                station: "M".into(),
                location: String::new(),
                channel: "BHZ".into(),
                start_ns: p.start_ns,
                sampling_rate: p.rate,
                data: p.data.clone(),
            })
            .collect();
        let what = format!("{} {}", c.name, c.args);
        let got = merge(traces, &a);
        if let Some(e) = &c.error {
            // ObsPy cannot put a fractional fill into int32 counts; nor does seisbatch.
            let got = got
                .err()
                .unwrap_or_else(|| panic!("{what}: no error, ObsPy's {e}"));
            assert!(
                got.contains("int32") && e.contains("int32"),
                "{what}: {got} vs {e}"
            );
            continue;
        }
        let got = got.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(got.len(), c.outputs.len(), "{what}: traces");
        for (g, w) in got.iter().zip(&c.outputs) {
            assert_eq!(g.start_ns, w.start_ns, "{what}: start");
            let bad = g.data.iter().zip(&w.data).position(|(a, b)| a != b);
            assert!(
                g.data.len() == w.data.len() && bad.is_none(),
                "{what}: samples differ at {bad:?} of {}/{}: {:?} vs {:?}",
                g.data.len(),
                w.data.len(),
                bad.map(|i| g.data[i]),
                bad.map(|i| w.data[i])
            );
        }
        checked += 1;
    }
    assert!(checked >= 90, "{checked}");
}

#[test]
fn a_fractional_fill_for_counts_and_differing_rates_are_errors() {
    let t = |start_ns: i64, rate: f64, data: Vec<f64>| Trace {
        network: "XX".into(),
        station: "M".into(),
        location: String::new(),
        channel: "BHZ".into(),
        start_ns,
        sampling_rate: rate,
        data,
    };
    let a = MergeArgs {
        method: 0,
        fill_value: Fill::Value(7.5),
        interpolation_samples: 0,
    };
    let e = merge(
        vec![
            t(0, 10.0, vec![1.0; 5]),
            t(1_000_000_000, 10.0, vec![2.0; 5]),
        ],
        &a,
    )
    .unwrap_err();
    assert!(e.contains("int32"), "{e}");
    let e = merge(
        vec![
            t(0, 10.0, vec![1.0; 5]),
            t(1_000_000_000, 20.0, vec![2.0; 5]),
        ],
        &a,
    )
    .unwrap_err();
    assert!(e.contains("differing sampling rates"), "{e}");
}
