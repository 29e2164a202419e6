//! Golden parity with ObsPy 1.5.1: every operation and its main variants, and the two
//! chains end to end, on real data shipped with ObsPy (tests/fixtures/README.md).
//! Fixtures come from tests/fixtures/make_fixtures.py.

mod common;

use common::{describe, fixture, golden_cases, read_f64, rel_l2};
use seisbatch::inventory::{Inventories, XmlCache};
use seisbatch::ops::run_steps;
use seisbatch::pipeline::Pipeline;
use seisbatch::read::mseed::read_bytes;
use seisbatch::response::cache::ResponseCache;

/// Issue #2's tolerance: relative L2 per trace. Our f64 arithmetic differs from ObsPy's only
/// in rounding order (FFT library, summation order), far below this.
const REL_L2_TOL: f64 = 1e-6;

#[test]
fn every_golden_case_matches_obspy() {
    let cases = golden_cases();
    assert!(cases.len() > 70, "fixture set is complete");
    let xml = XmlCache::default();
    let cache = ResponseCache::default();
    let mut failures = Vec::new();
    let mut worst = (0.0f64, String::new());
    for c in &cases {
        let bytes = std::fs::read(fixture(&format!("data/{}", c.mseed))).unwrap();
        let decoded = read_bytes(&bytes);
        assert!(
            decoded.problems.is_empty(),
            "{}: {:?}",
            c.mseed,
            decoded.problems
        );
        let mut tr = decoded.traces[c.trace].clone();
        let inv = xml.inventory(&fixture(&format!("data/{}", c.xml)));
        let layers = Inventories {
            layers: vec![inv.as_ref()],
        };
        let pipeline = Pipeline::parse(&c.toml).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        if let Err(e) = run_steps(&pipeline.steps, &mut tr, &layers, &cache) {
            failures.push(format!("{}: error {e}", c.name));
            continue;
        }
        let want = read_f64(&format!("golden/{}.f64", c.name));
        let err = rel_l2(&tr.data, &want);
        if err > worst.0 {
            worst = (err, c.name.clone());
        }
        if tr.data.len() != c.npts || err.is_nan() || err > REL_L2_TOL {
            failures.push(format!("{}: {}", c.name, describe(&tr.data, &want)));
        }
        if tr.start_ns != c.start_ns {
            failures.push(format!(
                "{}: start {} != ObsPy {}",
                c.name, tr.start_ns, c.start_ns
            ));
        }
        if (tr.sampling_rate - c.sampling_rate).abs() > 1e-12 * c.sampling_rate {
            failures.push(format!(
                "{}: rate {} != ObsPy {}",
                c.name, tr.sampling_rate, c.sampling_rate
            ));
        }
    }
    eprintln!("worst relative L2 error: {:.3e} ({})", worst.0, worst.1);
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A literal port of `tr.remove_response(inv, ...)` omits `water_level`: it must get ObsPy's
/// default of 60 (an omitted key meant "none" before and differed from ObsPy by a relative L2
/// of 191 on a DISP chain). Every golden case written with `water_level = 60` is run with the
/// key omitted and must still match ObsPy; with `water_level = false` the same cases must not
/// all match (so the default is what the test checks).
#[test]
fn omitted_water_level_is_obspys_default() {
    let xml = XmlCache::default();
    let cache = ResponseCache::default();
    let (mut checked, mut worst_none) = (0, 0.0f64);
    for c in golden_cases()
        .iter()
        .filter(|c| c.toml.contains("water_level = 60\n"))
    {
        let bytes = std::fs::read(fixture(&format!("data/{}", c.mseed))).unwrap();
        let tr0 = read_bytes(&bytes).traces[c.trace].clone();
        let inv = xml.inventory(&fixture(&format!("data/{}", c.xml)));
        let layers = Inventories {
            layers: vec![inv.as_ref()],
        };
        let want = read_f64(&format!("golden/{}.f64", c.name));
        let run = |toml: &str| {
            let p = Pipeline::parse(toml).unwrap();
            let mut tr = tr0.clone();
            run_steps(&p.steps, &mut tr, &layers, &cache).map(|_| rel_l2(&tr.data, &want))
        };
        let omitted = run(&c.toml.replace("water_level = 60\n", "")).unwrap();
        assert!(omitted <= REL_L2_TOL, "{}: {omitted:e}", c.name);
        if let Ok(e) = run(&c
            .toml
            .replace("water_level = 60\n", "water_level = false\n"))
        {
            worst_none = worst_none.max(if e.is_nan() { f64::INFINITY } else { e });
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked} cases");
    assert!(
        worst_none > 1e-3,
        "no water level would pass too: {worst_none:e}"
    );
}
