//! Quality control (issue #30) against ObsPy 1.5.1 on tests/fixtures/qc (make_qc.py): the
//! PPSD of every channel (segments, histogram, mode, mean, percentiles), the day metrics, and
//! Peterson's models against ObsPy's tables.

use std::path::{Path, PathBuf};

use seisbatch::archive::index::Index;
use seisbatch::inventory::{Inventories, XmlCache};
use seisbatch::qc;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qc")
}

fn golden() -> Value {
    serde_json::from_slice(&std::fs::read(fixture().join("golden.json")).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn analysed() -> Vec<qc::channel::ChannelQc> {
    let root = fixture().join("sds");
    let (files, _) = seisbatch::archive::files(&root, &Default::default()).unwrap();
    let index = Index::build(&root, &files, &|_, _, _| None);
    let cache = XmlCache::default();
    let inv = cache.inventory(&fixture().join("GR.FUR.xml"));
    let invs = Inventories { layers: vec![&inv] };
    qc::analyse(&index, (None, None), &invs, true)
}

#[test]
fn noise_models_are_obspys() {
    let g = golden();
    for (name, f) in [
        ("nlnm", qc::models::nlnm as fn(f64) -> Option<f64>),
        ("nhnm", qc::models::nhnm),
    ] {
        let per = floats(&g[name]["periods"]);
        let db = floats(&g[name]["db"]);
        for (t, want) in per.iter().zip(&db) {
            let got = f(*t).unwrap_or_else(|| panic!("{name} at {t} s"));
            // ObsPy's tables are the same curves rounded to 1e-4 dB.
            assert!(
                (got - want).abs() < 1e-3,
                "{name} at {t} s: {got} vs {want}"
            );
        }
    }
    assert_eq!(qc::models::nlnm(0.05), None);
    assert_eq!(qc::models::nhnm(2e5), None);
}

#[test]
fn ppsd_equals_obspys() {
    let g = golden();
    let all = analysed();
    assert_eq!(all.len(), 3);
    for c in &all {
        let want = &g["ppsd"][&c.id];
        let (p, h) = c.ppsd.as_ref().unwrap_or_else(|e| panic!("{}: {e}", c.id));
        assert_eq!(p.nfft as u64, want["nfft"].as_u64().unwrap(), "{}", c.id);
        assert_eq!(p.nlap as u64, want["nlap"].as_u64().unwrap());
        let centers = floats(&want["period_bin_centers"]);
        assert_eq!(p.bin_center.len(), centers.len(), "{}", c.id);
        for (a, b) in p.bin_center.iter().zip(&centers) {
            assert!(
                (a - b).abs() <= 1e-12 * b,
                "{}: period bin {a} vs {b}",
                c.id
            );
        }
        // Every segment at ObsPy's time, its smoothed PSD equal to float32's precision.
        let times: Vec<i64> = want["times_processed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_i64().unwrap())
            .collect();
        let got_times: Vec<i64> = c.segments.iter().map(|s| s.0).collect();
        assert_eq!(got_times, times, "{}: segment times", c.id);
        let mut worst = 0.0f64;
        for ((_, got), w) in c
            .segments
            .iter()
            .zip(want["psd_values"].as_array().unwrap())
        {
            for (a, b) in got.iter().zip(floats(w)) {
                assert!(a.is_finite() && b.is_finite(), "{}: {a} vs {b}", c.id);
                worst = worst.max((*a as f64 - b).abs());
            }
        }
        assert!(worst < 1e-3, "{}: PSD values differ by {worst} dB", c.id);
        // The histogram, and the curves read from it, within 1 dB (the bound); the
        // histogram differs only where a value sits on a bin edge.
        let hist: Vec<Vec<u64>> = want["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect()
            })
            .collect();
        let moved: u64 = h
            .counts
            .iter()
            .zip(&hist)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)))
            .sum();
        let total: u64 = hist.iter().flatten().sum();
        assert!(
            moved * 1000 <= total,
            "{}: {moved} of {total} counts moved",
            c.id
        );
        for (name, got) in [
            ("mode", h.mode(p)),
            ("mean", h.mean(p)),
            ("p10", h.percentile(p, 10.0)),
            ("p50", h.percentile(p, 50.0)),
            ("p90", h.percentile(p, 90.0)),
        ] {
            let want = match name {
                "mode" | "mean" => floats(&want[name]),
                _ => floats(&want["percentiles"][&name[1..]]),
            };
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1.0, "{}: {name} {a} vs {b}", c.id);
            }
        }
    }
}

#[test]
fn day_metrics_equal_obspy_streams() {
    let g = golden();
    for c in analysed() {
        let want = g["metrics"][&c.id].as_object().unwrap();
        assert_eq!(c.days.len(), want.len(), "{}: days", c.id);
        for d in &c.days {
            let day = seisbatch::time::iso(d.day_ns)[..10].to_string();
            let w = &want[&day];
            let got = serde_json::to_value(d).unwrap();
            for (k, v) in w.as_object().unwrap() {
                let (a, b) = (got[k].as_f64(), v.as_f64().unwrap());
                let a = a.unwrap_or_else(|| panic!("{} {day}: no {k}", c.id));
                // Exact for counts and samples; the PSD percentages compare values with
                // ObsPy's tabulated models (1e-4 dB apart from the formula).
                let tol = if k.starts_with("pct_") {
                    0.5
                } else {
                    1e-9 * b.abs().max(1.0)
                };
                assert!((a - b).abs() <= tol, "{} {day} {k}: {a} vs {b}", c.id);
            }
        }
    }
}
