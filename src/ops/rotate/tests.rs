//! `rotate` against ObsPy 1.5.1 (tests/fixtures/rotate, made by make_rotate.py) and against
//! what a rotation must do whatever the reference says.

use super::*;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn rjob() -> Vec<Trace> {
    let bytes = std::fs::read(fixtures().join("data/BW.RJOB.mseed")).unwrap();
    crate::read::mseed::read_with(&bytes, crate::read::mseed::Gaps::Split).traces
}

fn f64s(name: &str) -> Vec<f64> {
    std::fs::read(fixtures().join("rotate").join(name))
        .unwrap()
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

struct Given {
    baz: Result<f64, String>,
    orient: std::collections::HashMap<String, (f64, f64)>,
}

impl Geometry for Given {
    fn back_azimuth(&self) -> Result<f64, String> {
        self.baz.clone()
    }
    fn orientation(&self, tr: &Trace) -> Result<(f64, f64), String> {
        self.orient
            .get(&tr.channel)
            .copied()
            .ok_or_else(|| format!("no orientation for {}", tr.id()))
    }
}

fn no_geometry() -> Given {
    Given {
        baz: Err("no event".into()),
        orient: Default::default(),
    }
}

fn args(c: &serde_json::Value) -> RotateArgs {
    RotateArgs {
        method: Method::parse(c["method"].as_str().unwrap()).unwrap(),
        back_azimuth: c["back_azimuth"].as_f64(),
        inclination: c["inclination"].as_f64(),
        components: vec!["Z12".into(), "123".into()],
    }
}

#[test]
fn every_method_matches_obspy() {
    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixtures().join("rotate/cases.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for c in cases.iter().filter(|c| c.get("outputs").is_some()) {
        let mut traces = rjob();
        assert_eq!(traces.len(), 3);
        let mut geo = no_geometry();
        for (tr, name) in traces.iter_mut().zip(c["inputs"].as_array().unwrap()) {
            tr.channel = name.as_str().unwrap().to_string();
            tr.data.iter_mut().for_each(|v| *v = v.round());
        }
        if let Some(spans) = c.get("spans") {
            // The input as ObsPy had it: a later start (off the sample grid), an earlier end.
            for tr in traces.iter_mut() {
                let span = &spans[&tr.channel];
                let start = crate::time::parse_iso(span[0].as_str().unwrap()).unwrap();
                let len = span[1].as_u64().unwrap() as usize;
                let skip = ((start - tr.start_ns) as f64 * 1e-9 * tr.sampling_rate) as usize;
                tr.data = tr.data[skip..skip + len].to_vec();
                tr.start_ns = start;
            }
        }
        if let Some(o) = c.get("orientation") {
            for (k, v) in o.as_object().unwrap() {
                let v = v.as_array().unwrap();
                geo.orient
                    .insert(k.clone(), (v[0].as_f64().unwrap(), v[1].as_f64().unwrap()));
            }
        }
        let mut refs: Vec<&mut Trace> = traces.iter_mut().collect();
        rotate_group(&args(c), &mut refs, &geo).unwrap();
        for tr in &traces {
            let want =
                f64s(c["outputs"][&tr.channel].as_str().unwrap_or_else(|| {
                    panic!("{}: ObsPy has no output {}", c["name"], tr.channel)
                }));
            let worst = tr
                .data
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
                .fold(0.0, f64::max);
            assert_eq!(tr.data.len(), want.len());
            assert!(worst < 1e-12, "{} {}: {worst:e}", c["name"], tr.channel);
            if let Some(starts) = c.get("starts") {
                // ObsPy hands the outputs to its inputs in pop order, so a start may be
                // another component's: within half a sample.
                let want = crate::time::parse_iso(starts[&tr.channel].as_str().unwrap()).unwrap();
                assert!((tr.start_ns - want).abs() <= 5_000_000, "{}", tr.channel);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn components_of_different_length_fail_with_obspys_reason() {
    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixtures().join("rotate/cases.json")).unwrap())
            .unwrap();
    let c = cases
        .iter()
        .find(|c| c["name"] == "lengths_differ")
        .unwrap();
    let mut traces = rjob();
    traces[2].data.pop();
    let mut refs: Vec<&mut Trace> = traces.iter_mut().collect();
    let a = RotateArgs {
        back_azimuth: Some(10.0),
        ..args(c)
    };
    let e = rotate_group(&a, &mut refs, &no_geometry()).unwrap_err();
    assert!(e.starts_with(c["error"].as_str().unwrap()), "{e}");
    // Nothing renamed or changed.
    assert_eq!(traces[1].channel, "EHN");
    // A start more than half a sample apart fails the same way; within half, it rotates.
    for (shift, ok) in [(5_000_001, false), (5_000_000, true)] {
        let mut traces = rjob();
        traces[2].start_ns += shift;
        let mut refs: Vec<&mut Trace> = traces.iter_mut().collect();
        assert_eq!(rotate_group(&a, &mut refs, &no_geometry()).is_ok(), ok);
    }
}

#[test]
fn a_missing_component_fails_instead_of_staying_unrotated() {
    let mut traces = rjob();
    traces.remove(2); // no E
    let mut refs: Vec<&mut Trace> = traces.iter_mut().collect();
    let a = RotateArgs {
        method: Method::NeRt,
        back_azimuth: Some(10.0),
        inclination: None,
        components: vec![],
    };
    let e = rotate_group(&a, &mut refs, &no_geometry()).unwrap_err();
    assert!(e.contains("missing component E"), "{e}");
    // A vertical alone is not NE->RT's input: nothing to do, no failure.
    let mut z = rjob();
    z.truncate(1);
    let mut refs: Vec<&mut Trace> = z.iter_mut().collect();
    rotate_group(&a, &mut refs, &no_geometry()).unwrap();
    assert_eq!(z[0].channel, "EHZ");
    // ->ZNE: 1 and 2 without Z is a missing component; Z, N, E is already rotated.
    let mut t = rjob();
    t[1].channel = "EH1".into();
    t[2].channel = "EH2".into();
    t.remove(0);
    let to_zne = RotateArgs {
        method: Method::ToZne,
        back_azimuth: None,
        inclination: None,
        components: vec!["Z12".into(), "123".into()],
    };
    let mut refs: Vec<&mut Trace> = t.iter_mut().collect();
    assert!(rotate_group(&to_zne, &mut refs, &no_geometry())
        .unwrap_err()
        .contains("missing component"));
    let mut zne = rjob();
    let before: Vec<f64> = zne[1].data.clone();
    let mut refs: Vec<&mut Trace> = zne.iter_mut().collect();
    rotate_group(&to_zne, &mut refs, &no_geometry()).unwrap();
    assert_eq!(zne[1].data, before);
}

#[test]
fn without_a_back_azimuth_the_geometry_gives_it_or_the_reason() {
    let a = RotateArgs {
        method: Method::NeRt,
        back_azimuth: None,
        inclination: None,
        components: vec![],
    };
    let mut t = rjob();
    let mut refs: Vec<&mut Trace> = t.iter_mut().collect();
    let e = rotate_group(&a, &mut refs, &no_geometry()).unwrap_err();
    assert_eq!(e, "no event");
    // baz 0: R = -N, T = -E... (rotate_ne_rt at 0 degrees: r = -n, t = -e * 1 + 0).
    let mut t = rjob();
    let (n, e) = (t[1].data.clone(), t[2].data.clone());
    let geo = Given {
        baz: Ok(0.0),
        orient: Default::default(),
    };
    let mut refs: Vec<&mut Trace> = t.iter_mut().collect();
    rotate_group(&a, &mut refs, &geo).unwrap();
    assert_eq!(
        (t[1].channel.as_str(), t[2].channel.as_str()),
        ("EHR", "EHT")
    );
    assert!(t[1].data.iter().zip(&n).all(|(r, n)| *r == -n));
    assert!(t[2].data.iter().zip(&e).all(|(t, e)| *t == -e));
}

#[test]
fn to_zne_and_back_is_the_identity_for_any_independent_directions() {
    // Rotating a ZNE signal into a tilted frame by the base vectors, then ->ZNE, gives it back.
    let orient = [(3.0, -88.0), (30.0, 2.0), (118.0, -1.0)];
    let m: Vec<[f64; 3]> = orient.iter().map(|&(a, d)| base_vector(d, a)).collect();
    let zne = rjob();
    let mut t = rjob();
    for (i, tr) in t.iter_mut().enumerate() {
        tr.channel = ["EHZ", "EH1", "EH2"][i].into();
        for j in 0..tr.data.len() {
            tr.data[j] =
                m[i][0] * zne[0].data[j] + m[i][1] * zne[1].data[j] + m[i][2] * zne[2].data[j];
        }
    }
    let geo = Given {
        baz: Err("unused".into()),
        orient: ["EHZ", "EH1", "EH2"]
            .iter()
            .zip(orient)
            .map(|(c, o)| (c.to_string(), o))
            .collect(),
    };
    let a = RotateArgs {
        method: Method::ToZne,
        back_azimuth: None,
        inclination: None,
        components: vec!["Z12".into()],
    };
    let mut refs: Vec<&mut Trace> = t.iter_mut().collect();
    rotate_group(&a, &mut refs, &geo).unwrap();
    for (got, want) in t.iter().zip(&zne) {
        assert_eq!(got.channel, want.channel);
        let worst = got
            .data
            .iter()
            .zip(&want.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "{}: {worst}", got.channel);
    }
    // Dependent directions are refused with ObsPy's reason.
    let geo = Given {
        baz: Err("unused".into()),
        orient: ["EHZ", "EH1", "EH2"]
            .iter()
            .map(|c| (c.to_string(), (0.0, 0.0)))
            .collect(),
    };
    let mut t = rjob();
    for (tr, c) in t.iter_mut().zip(["EHZ", "EH1", "EH2"]) {
        tr.channel = c.into();
    }
    let mut refs: Vec<&mut Trace> = t.iter_mut().collect();
    let e = rotate_group(&a, &mut refs, &geo).unwrap_err();
    assert!(e.contains("not linearly independent"), "{e}");
}
