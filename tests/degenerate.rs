//! Degenerate traces against ObsPy 1.5.1 (issue #6): 0-3 and 7 samples, constant, all-zero,
//! a NaN or an Inf sample, and six seconds of noise (shorter than a 0.02 Hz band-pass or a
//! 12,000-sample output needs), each through every operation and both example chains, on the
//! CPU path and the GPU path. Where ObsPy returns finite samples we return the same numbers;
//! where ObsPy raises we fail the trace with a reason; where ObsPy returns NaN/Inf samples we
//! fail it (the engine never writes a non-finite result). Also one channel with mixed sampling
//! rates, and gaps with an overlap, read as `obspy.read` does.
//!
//! Fixtures: tests/fixtures/make_degenerate.py (tests/fixtures/degenerate/).

mod common;

use common::{backend, fixture, read_f64, Backend};
use seisbatch::inventory::{Inventories, XmlCache};
use seisbatch::pipeline::{Pipeline, Step};
use seisbatch::read::mseed::{read_with, Gaps};
use seisbatch::response::cache::ResponseCache;
use seisbatch::trace::Trace;
use serde_json::Value;

/// What one path made of one case.
#[derive(Debug)]
enum Ours {
    Ok(Trace),
    NonFinite,
    Failed(String),
}

fn fixtures() -> Value {
    let text = std::fs::read_to_string(fixture("degenerate/cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn input(all: &Value, name: &str) -> Trace {
    let data = all["inputs"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| match v {
            Value::String(s) => s.parse::<f64>().unwrap(), // "nan", "inf"
            v => v.as_f64().unwrap(),
        })
        .collect();
    Trace {
        network: "GR".into(),
        station: "FUR".into(),
        location: String::new(),
        channel: "HHZ".into(),
        start_ns: all["start_ns"].as_i64().unwrap(),
        sampling_rate: all["sampling_rate"].as_f64().unwrap(),
        data,
    }
}

fn classify(r: Result<Trace, String>) -> Ours {
    match r {
        Ok(t) if t.data.iter().all(|v| v.is_finite()) => Ours::Ok(t),
        Ok(_) => Ours::NonFinite,
        Err(e) => Ours::Failed(e),
    }
}

/// Checks one case; a mismatch is described in `failures`. `tol`: relative L2 per trace.
/// Outputs that are zero in ObsPy (a constant after demeaning) are compared against the
/// input's size instead, since any relative measure of a zero signal is meaningless.
fn check(case: &Value, ours: Ours, want: &[f64], input: &Trace, tol: f64) -> Option<String> {
    let name = case["name"].as_str().unwrap();
    match (case["outcome"].as_str().unwrap(), ours) {
        ("ok", Ours::Ok(t)) => {
            let npts = case["npts"].as_u64().unwrap() as usize;
            let off = case["offset"].as_u64().unwrap() as usize;
            let want = &want[off..off + npts];
            if t.data.len() != npts {
                return Some(format!("{name}: {} samples, ObsPy {npts}", t.data.len()));
            }
            if t.start_ns != case["start_ns"].as_i64().unwrap() {
                return Some(format!(
                    "{name}: start {} != ObsPy {}",
                    t.start_ns, case["start_ns"]
                ));
            }
            let rate = case["sampling_rate"].as_f64().unwrap();
            if (t.sampling_rate - rate).abs() > 1e-12 * rate {
                return Some(format!("{name}: rate {} != ObsPy {rate}", t.sampling_rate));
            }
            let l2 = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
            let err = l2(&mut t.data.iter().zip(want).map(|(a, b)| a - b));
            let scale = l2(&mut want.iter().copied());
            let floor = tol * l2(&mut input.data.iter().copied());
            (err > tol * scale && err > floor)
                .then(|| format!("{name}: |ours - ObsPy| = {err:.3e}, |ObsPy| = {scale:.3e}"))
        }
        ("error", Ours::Failed(e)) | ("nonfinite", Ours::Failed(e)) => {
            (e.trim().is_empty()).then(|| format!("{name}: failed without a reason"))
        }
        ("nonfinite", Ours::NonFinite) => None,
        (obspy, ours) => Some(format!(
            "{name}: ObsPy {obspy} {}, ours {ours:?}",
            case["error"].as_str().unwrap_or("")
        )),
    }
}

/// Every case through one path (`process`: steps, input, responses -> result), compared with
/// ObsPy's outcome at relative L2 `tol`.
fn against_obspy(
    tol: f64,
    mut process: impl FnMut(&[Step], Trace, &Inventories) -> Result<Trace, String>,
) {
    let all = fixtures();
    let want = read_f64("degenerate/outputs.f64");
    let xml = XmlCache::default();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let inv = xml.inventory(&root.join("examples/data/event_2014-01-01/resp/GR.FUR.xml"));
    let layers = Inventories {
        layers: vec![inv.as_ref()],
    };
    let cases = all["cases"].as_array().unwrap();
    assert!(cases.len() >= 150, "fixture set is complete");
    let mut failures = Vec::new();
    for c in cases {
        let tr = input(&all, c["input"].as_str().unwrap());
        let pipeline = Pipeline::parse(c["toml"].as_str().unwrap()).unwrap();
        let r = process(&pipeline.steps, tr.clone(), &layers);
        failures.extend(check(c, classify(r), &want, &tr, tol));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from ObsPy:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every case through `backend`'s executor.
fn degenerate_traces_match_obspy(backend: Backend) {
    let cache = ResponseCache::default();
    let mut on_device = 0;
    against_obspy(backend.tolerance(), |steps, tr, layers| {
        let (mut out, dev) = backend.process(steps, vec![tr], &[layers], &cache);
        on_device += dev;
        match out.pop() {
            Some(Ok((t, _))) => Ok(t),
            Some(Err(e)) => Err(e.to_string()),
            None => Err(String::new()),
        }
    });
    eprintln!("{}: {on_device} traces on the device", backend.name());
}

#[test]
fn degenerate_traces_match_obspy_on_the_cpu_path() {
    degenerate_traces_match_obspy(Backend::Cpu);
}

#[test]
fn degenerate_traces_match_obspy_on_the_gpu_path() {
    if let Some(b) = backend(true) {
        degenerate_traces_match_obspy(b);
    }
}

/// (id, npts, start, rate, sum of samples) of each trace, sorted by start and rate.
fn shape(traces: &[Trace]) -> Vec<(String, usize, i64, f64, f64)> {
    let mut v: Vec<_> = traces
        .iter()
        .map(|t| {
            (
                t.id(),
                t.data.len(),
                t.start_ns,
                t.sampling_rate,
                t.data.iter().sum::<f64>(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.2.cmp(&b.2).then(a.3.total_cmp(&b.3)));
    v
}

fn obspy_read(all: &Value, file: &str) -> Vec<(String, usize, i64, f64, f64)> {
    let mut v: Vec<_> = all["streams"][file]["read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["npts"].as_u64().unwrap() as usize,
                t["start_ns"].as_i64().unwrap(),
                t["sampling_rate"].as_f64().unwrap(),
                t["sum"].as_f64().unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.2.cmp(&b.2).then(a.3.total_cmp(&b.3)));
    v
}

#[test]
fn one_channel_at_two_rates_reads_as_obspy_and_is_never_joined() {
    let all = fixtures();
    let bytes = std::fs::read(fixture("degenerate/mixed_rates.mseed")).unwrap();
    let want = obspy_read(&all, "mixed_rates.mseed");
    assert_eq!(want.len(), 2, "ObsPy reads one trace per rate");
    // ObsPy's merge refuses the channel ("Sampling rate differs"); every gap policy keeps the
    // two traces apart, and says so.
    assert!(all["streams"]["mixed_rates.mseed"]["zeros"]
        .as_str()
        .unwrap()
        .contains("Sampling rate differs"));
    for gaps in [
        Gaps::Split,
        Gaps::Zeros { max_gap: 1e6 },
        Gaps::Interpolate { max_gap: 1e6 },
        Gaps::Reject,
    ] {
        let d = read_with(&bytes, gaps);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert!(d.rejected.is_empty(), "{gaps:?}: {:?}", d.rejected);
        assert_eq!(shape(&d.traces), want, "{gaps:?}");
        assert_eq!(
            d.warnings,
            vec![
                "GR.FUR..HHZ: records at 50 Hz, 100 Hz: one trace per rate (never joined across rates)"
            ],
            "{gaps:?}"
        );
    }
}

#[test]
fn gaps_and_an_overlap_in_one_file_read_as_obspy() {
    let all = fixtures();
    let bytes = std::fs::read(fixture("degenerate/gaps_overlaps.mseed")).unwrap();
    let want = obspy_read(&all, "gaps_overlaps.mseed");
    assert_eq!(want.len(), 3);
    let split = read_with(&bytes, Gaps::Split);
    assert_eq!(shape(&split.traces), want);
    assert!(split.warnings.is_empty());
    // Filling the 2.5 s gap joins the first two segments (400 + 250 + 300 samples); the
    // overlapping third stays a trace of its own. ObsPy's merge(fill_value=0) gives one
    // 1,050-sample trace instead: it masks the overlap where the two disagree and then fills
    // the mask with zeros, replacing recorded samples. seisbatch never does (docs/RELIABILITY.md).
    let z = read_with(&bytes, Gaps::Zeros { max_gap: 5.0 });
    let got = shape(&z.traces);
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].1, got[0].2), (950, want[0].2));
    assert_eq!(
        got[0].4,
        want[0].4 + want[1].4,
        "zeros add nothing to the sum"
    );
    assert_eq!(got[1], want[2]);
    assert_eq!(
        z.warnings,
        vec!["GR.FUR..HHZ: 1 gap(s) filled (250 samples, zeros)"]
    );
    let merged = &all["streams"]["gaps_overlaps.mseed"]["zeros"][0];
    assert_eq!(merged["npts"].as_u64(), Some(1050));
    // Rejecting the gap rejects the channel's traces, each named.
    let r = read_with(&bytes, Gaps::Reject);
    assert!(
        r.traces.is_empty() && r.rejected.len() == 3,
        "{:?}",
        r.rejected
    );
}
