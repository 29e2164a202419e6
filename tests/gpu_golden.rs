//! The GPU path against ObsPy 1.5.1's golden outputs: every golden case (both reference
//! chains included) through `gpu::batch::Driver`, which runs on the device whatever has a
//! kernel and on the CPU path the rest. Runs on lavapipe in CI.

mod common;

use common::{describe, fixture, golden_cases, gpu, read_f64, rel_l2};
use seisbatch::gpu::batch::Driver;
use seisbatch::inventory::{Inventories, XmlCache};
use seisbatch::pipeline::Pipeline;
use seisbatch::read::mseed::read_bytes;
use seisbatch::response::cache::ResponseCache;

/// Issue #3's tolerance for f32 device arithmetic: relative L2 per trace.
const GPU_REL_L2_TOL: f64 = 1e-4;

#[test]
fn golden_cases_on_the_gpu_path_match_obspy() {
    let Some(gpu) = gpu() else { return };
    let cases = golden_cases();
    let xml = XmlCache::default();
    let cache = ResponseCache::default();
    let mut driver = Driver::new(&gpu, 1 << 30);
    let mut failures = Vec::new();
    let mut worst = (0.0f64, String::new());
    let mut chains_on_device = 0;
    for c in &cases {
        let bytes = std::fs::read(fixture(&format!("data/{}", c.mseed))).unwrap();
        let tr = read_bytes(&bytes).traces[c.trace].clone();
        let inv = xml.inventory(&fixture(&format!("data/{}", c.xml)));
        let layers = Inventories {
            layers: vec![inv.as_ref()],
        };
        let pipeline = Pipeline::parse(&c.toml).unwrap();
        let before = driver.on_device;
        let out = driver.process(&pipeline.steps, vec![tr], &[&layers], &cache);
        let on_device = driver.on_device > before;
        if c.name.contains("chain") {
            assert!(on_device, "{} must run on the device", c.name);
            chains_on_device += 1;
        }
        let tr = match out.into_iter().next() {
            Some(Ok((tr, _))) => tr,
            other => {
                failures.push(format!("{}: {other:?}", c.name));
                continue;
            }
        };
        let want = read_f64(&format!("golden/{}.f64", c.name));
        let err = rel_l2(&tr.data, &want);
        eprintln!(
            "{:<40} {} rel L2 {err:.2e}",
            c.name,
            if on_device { "gpu" } else { "cpu" }
        );
        if err > worst.0 {
            worst = (err, c.name.clone());
        }
        if tr.data.len() != c.npts || err.is_nan() || err > GPU_REL_L2_TOL {
            failures.push(format!("{}: {}", c.name, describe(&tr.data, &want)));
        }
        if tr.start_ns != c.start_ns
            || (tr.sampling_rate - c.sampling_rate).abs() > 1e-12 * c.sampling_rate
        {
            failures.push(format!(
                "{}: start/rate {} {} != {} {}",
                c.name, tr.start_ns, tr.sampling_rate, c.start_ns, c.sampling_rate
            ));
        }
    }
    eprintln!(
        "worst relative L2 error: {:.3e} ({}); notes: {:?}",
        worst.0, worst.1, driver.notes
    );
    // FUR_chain_forum, FUR_chain_second (issue #2's two chains) and I59H1_chain_second.
    assert!(
        chains_on_device >= 2,
        "both reference chains are golden cases"
    );
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
