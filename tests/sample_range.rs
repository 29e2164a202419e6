//! Every sample is checked in the type it is written in (issue #23, item 4): `normalize` with
//! `norm = 1e-300` or a trim padded with `fill_value = 1e300` wrote SAC and miniSEED files full
//! of float32 `inf`, exit 0, because the finite check ran on f64 before the cast. Such a
//! trace now fails naming the step that made the values, on both paths and in both formats;
//! values out of range in the middle of a chain and brought back are fine (f64 on the CPU
//! path; the device's float32 overflow reruns those stages on the CPU twins).

mod common;

use std::path::Path;

use common::*;
use seisbatch::exec::Executor;
use seisbatch::trace::Holds;

fn chain(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

const NORMALIZE_TINY: &str = "[[step]]\nop = \"normalize\"\nnorm = 1e-300\n";
const PAD_HUGE: &str =
    "[[step]]\nop = \"trim\"\nstarttime = \"start-5\"\npad = true\nfill_value = 1e300\n";
const THEN_TAPER: &str = "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"normalize\"\nnorm = 1e-300\n[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n";
const BROUGHT_BACK: &str =
    "[[step]]\nop = \"normalize\"\nnorm = 1e-300\n[[step]]\nop = \"normalize\"\n";

#[test]
fn samples_float32_cannot_hold_fail_their_trace_naming_the_step() {
    let tmp = tempfile::tempdir().unwrap();
    let input = one_trace_input(tmp.path());
    let mut devices = vec!["cpu"];
    if gpu_available() {
        devices.push("gpu");
    }
    let cases = [
        (
            "normalize",
            NORMALIZE_TINY,
            Some("step 1 (normalize): produced values beyond float32's range"),
        ),
        (
            "trim",
            PAD_HUGE,
            Some("step 1 (trim): produced values beyond float32's range"),
        ),
        (
            "taper_after",
            THEN_TAPER,
            Some("step 2 (normalize): produced values beyond float32's range"),
        ),
        ("brought_back", BROUGHT_BACK, None),
    ];
    for (name, text, want) in cases {
        let pipeline = chain(tmp.path(), name, text);
        for device in &devices {
            for format in ["sac", "mseed"] {
                let out = tmp.path().join(format!("{name}_{device}_{format}"));
                let o = run_cmd(&pipeline, &input, &out)
                    .args(["--device", device, "--format", format, "--quiet"])
                    .output()
                    .unwrap();
                let what = format!("{name} on {device} as {format}");
                let (files, _) = outputs(&out);
                match want {
                    Some(reason) => {
                        exit_in(&o, &[3]);
                        let r = report(&out);
                        assert_eq!(r["ok"], 0, "{what}");
                        let got = r["failures"][0]["reason"].as_str().unwrap();
                        assert!(got.starts_with(reason), "{what}: {got}");
                        assert!(got.contains("float32"), "{what}: {got}");
                        assert!(files.is_empty(), "{what}: wrote {:?}", files.keys());
                    }
                    None => {
                        exit_in(&o, &[0]);
                        assert_eq!(files.len(), 1, "{what}");
                        let bytes = files.values().next().unwrap();
                        // The samples are the input's divided by its peak: within [-1, 1].
                        let tr = if format == "mseed" {
                            seisbatch::read::mseed::read_bytes(bytes).traces.remove(0)
                        } else {
                            sac_trace(bytes)
                        };
                        let peak = tr.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                        assert!((peak - 1.0).abs() < 1e-6, "{what}: peak {peak}");
                    }
                }
            }
        }
    }
}

/// A SAC file's samples (little-endian float32 after the 632-byte header).
fn sac_trace(bytes: &[u8]) -> seisbatch::trace::Trace {
    let mut t = trace(["XX", "S", "", "BHZ"], "2020-01-01T00:00:00", 20.0, 0);
    t.data = bytes[632..]
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
        .collect();
    t
}

/// Python's arrays are float64 (`Holds::F64`): 1e300 is a sample it holds, an overflow of f64
/// is not, and the reason names the step; on the device, whose float32 cannot hold either,
/// the stages run again in f64.
#[test]
fn float64_outputs_hold_what_float64_holds() {
    let cache = seisbatch::response::cache::ResponseCache::default();
    for gpu in [false, true] {
        let Some(b) = backend(gpu) else { continue };
        for (norm, fails) in [(1e-300, false), (1e-310, true)] {
            let p = seisbatch::pipeline::Pipeline::parse(&format!(
                "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"normalize\"\nnorm = {norm:e}\n"
            ))
            .unwrap();
            let planner = seisbatch::plan::Planner::new(&p.steps).holding(Holds::F64);
            let tr = trace(["XX", "S", "", "BHZ"], "2020-01-01T00:00:00", 20.0, 400);
            let src = NoResponses;
            let sources: Vec<&dyn seisbatch::inventory::ResponseSource> = vec![&src];
            let out = match &b {
                Backend::Cpu => seisbatch::exec::cpu::Cpu {
                    planner: &planner,
                    cache: &cache,
                    clock: None,
                }
                .process(vec![tr.clone()], &sources),
                Backend::Gpu(g) => {
                    seisbatch::gpu::executor::Driver::new(g, 1 << 30, &planner, &cache)
                        .process(vec![tr.clone()], &sources)
                }
            };
            let what = format!("norm {norm:e} on {}", b.name());
            match (&out[0], fails) {
                (Ok((t, _)), false) => {
                    let peak = t.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    assert!(peak > 1e300 && peak.is_finite(), "{what}: peak {peak:e}");
                }
                (Err(e), true) => {
                    let e = e.to_string();
                    assert!(
                        e.starts_with("step 2 (normalize): produced a non-finite sample"),
                        "{what}: {e}"
                    );
                }
                (o, _) => panic!("{what}: {:?}", o.as_ref().map(|(t, _)| t.data[0])),
            }
        }
    }
}
