//! Response evaluation against ObsPy's `get_evalresp_response` on every StationXML file with
//! a response in ObsPy 1.5.1's test data (tests/fixtures/response, made by
//! tests/fixtures/make_fixtures.py).

mod common;

use common::{fixture, read_f64};
use num_complex::Complex64;
use seisbatch::pipeline::Output;
use seisbatch::read::stationxml;
use seisbatch::response::eval::{evaluate, grid};
use seisbatch::response::StageKind;

/// Issue #2: 1e-9 relative. Measured against the response's peak (pointwise relative error
/// is meaningless in FIR stop-band notches, where |H| is 1e-8 of the peak and ObsPy's own
/// C arithmetic differs from any re-implementation at that level: an independent numpy
/// re-implementation of evalresp differed from ObsPy by 4e-9 pointwise in such a notch).
const REL_TOL: f64 = 1e-9;

/// Outside a ResponseList table ObsPy extrapolates the cubic spline's end piece (and warns).
/// A cubic fitted on a 0.02 Hz interval and evaluated several Hz away amplifies rounding by
/// (distance/interval)^3 ~ 1e7, so both ObsPy's FITPACK result and ours are only defined to
/// that level there: 1e-9 x 1e3 headroom. Inside every table the 1e-9 bound holds.
const REL_TOL_LIST_EXTRAPOLATED: f64 = 1e-6;

#[derive(serde::Deserialize)]
struct Eval {
    network: String,
    station: String,
    location: String,
    channel: String,
    start_ns: Option<i64>,
    t_samp: f64,
    nfft: usize,
    output: String,
    values: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct File {
    file: String,
    evaluations: Vec<Eval>,
}

#[test]
fn responses_match_obspy_on_all_test_stationxml() {
    let files: Vec<File> =
        serde_json::from_str(&std::fs::read_to_string(fixture("response/manifest.json")).unwrap())
            .unwrap();
    assert!(files.len() >= 30);
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in &files {
        let epochs = match stationxml::read_file(&fixture(&format!("response/xml/{}", f.file))) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{}: parse error {e}", f.file));
                continue;
            }
        };
        for e in &f.evaluations {
            let label = format!(
                "{} {}.{}.{}.{} nfft={} {}",
                f.file, e.network, e.station, e.location, e.channel, e.nfft, e.output
            );
            let Some(ch) = epochs.iter().find(|c| {
                c.network == e.network
                    && c.station == e.station
                    && c.location == e.location
                    && c.channel == e.channel
                    && c.start_ns == e.start_ns
            }) else {
                failures.push(format!("{label}: channel epoch not found"));
                continue;
            };
            let output = match e.output.as_str() {
                "DISP" => Output::Disp,
                "VEL" => Output::Vel,
                "ACC" => Output::Acc,
                _ => Output::Def,
            };
            let got = match &ch.response {
                Some(Ok((_, r))) => evaluate(r, &grid(e.t_samp, e.nfft), output),
                Some(Err(m)) => Err(m.clone()),
                None => Err("no response".into()),
            };
            checked += 1;
            match (&e.values, got) {
                (None, Err(_)) => {}
                (None, Ok(_)) => failures.push(format!(
                    "{label}: ObsPy fails ({}) but we evaluate",
                    e.error.as_deref().unwrap_or("")
                )),
                // Issue #2: Polynomial stages are refused with a reason that says so (ObsPy
                // evaluates only their 1- and 2-coefficient forms, as gains).
                (Some(_), Err(m)) if m.contains("Polynomial") => {}
                (Some(_), Err(m)) => failures.push(format!("{label}: we fail: {m}")),
                (Some(v), Ok(h)) => {
                    let w = read_f64(&format!("response/{v}"));
                    let want: Vec<Complex64> = w
                        .chunks_exact(2)
                        .map(|c| Complex64::new(c[0], c[1]))
                        .collect();
                    let peak = want.iter().map(|c| c.norm()).fold(0.0, f64::max);
                    let table = match &ch.response {
                        Some(Ok((_, r))) => r.stages.iter().find_map(|s| match &s.kind {
                            StageKind::List(v) if !v.is_empty() => Some((v[0].0, v[v.len() - 1].0)),
                            _ => None,
                        }),
                        _ => None,
                    };
                    let f = grid(e.t_samp, e.nfft);
                    let tol = |k: usize| match table {
                        Some((lo, hi)) if f[k] < lo || f[k] > hi => REL_TOL_LIST_EXTRAPOLATED,
                        _ => REL_TOL,
                    };
                    let (k, err) = h
                        .iter()
                        .zip(&want)
                        .map(|(a, b)| (a - b).norm())
                        .enumerate()
                        .fold((0, 0.0), |m, (i, d)| {
                            if d / tol(i) > m.1 / tol(m.0) {
                                (i, d)
                            } else {
                                m
                            }
                        });
                    let nan = h.iter().zip(&want).any(|(a, b)| a.is_nan() != b.is_nan());
                    if h.len() != want.len() || nan || err > tol(k) * peak {
                        failures.push(format!(
                            "{label}: max |Δ|/peak = {:.3e} at bin {k} (got {:?}, want {:?})",
                            err / peak,
                            h.get(k),
                            want.get(k)
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} evaluations differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 300, "only {checked} evaluations");
}
