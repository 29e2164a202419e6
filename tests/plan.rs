//! `seisbatch plan`: what a user sees before a million-trace job, and the modeled traffic the
//! speed work measures itself against.

mod common;

use common::bin;

fn plan(args: &[&str]) -> std::process::Output {
    plan_with(args, "")
}

/// `seisbatch plan` with SEISBATCH_GPU_FFT set to `fft` ("" leaves it unset: the f64 default).
fn plan_with(args: &[&str], fft: &str) -> std::process::Output {
    let mut c = bin();
    c.arg("plan").args(args).env_remove("SEISBATCH_GPU_FFT");
    if !fft.is_empty() {
        c.env("SEISBATCH_GPU_FFT", fft);
    }
    c.output().unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    json_with(args, "")
}

fn json_with(args: &[&str], fft: &str) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    let o = plan_with(&a, fft);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

const FORUM: [&str; 5] = [
    "examples/forum_chain.toml",
    "--npts",
    "120000",
    "--sampling-rate",
    "100",
];

#[test]
fn forum_chain_plan_for_a_20_minute_trace() {
    let o = plan(&FORUM);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("output: 12000 samples at 10.0 Hz"), "{text}");
    for s in ["detrend", "taper", "deconvolve", "interpolate"] {
        assert!(text.contains(s), "{s}: {text}");
    }
    let v = json(&FORUM);
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["detrend", "taper", "deconvolve", "interpolate"]);
    let d = &v["stages"][2]["parameters"];
    assert_eq!(d["nfft"], 240_000);
    assert_eq!(d["fft"]["radices"], serde_json::json!([16, 8, 25, 25, 3]));
    assert_eq!(v["responses"][0]["bins"], 120_001);
    assert!(v.get("gpu").is_none(), "the CPU plan has no device program");
    assert!(v["warnings"].as_array().unwrap().is_empty());
}

/// Issue #15's roofline: the forum chain's modeled device traffic per trace in f32, <= 8 MB
/// (6.3: remove_response's transform pair in rfft.wgsl's three passes, the taper fused into
/// the first one's load, the demean done on upload; ~50 MB as one device-memory pass per
/// radix step). The default on an adapter with SHADER_F64 is the f64 pair (issue #23): the
/// plan says so, and what it costs.
#[test]
fn gpu_plan_reports_dispatches_and_device_bytes_per_trace() {
    let mut a = FORUM.to_vec();
    a.extend(["--device", "gpu"]);
    let v = json(&a);
    let kernels: Vec<&str> = v["gpu"]["segments"][0]["dispatches_for_one_trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kernel"].as_str().unwrap())
        .collect();
    assert_eq!(kernels[..3], ["taper", "fft64_pack", "fft64_pass"]);
    let bytes = v["gpu"]["device_bytes_per_trace"].as_u64().unwrap();
    assert!((93_000_000..=94_000_000).contains(&bytes), "{bytes}");
    let v = json_with(&a, "rfft");
    let g = &v["gpu"];
    let bytes = g["device_bytes_per_trace"].as_u64().unwrap();
    assert!(bytes <= 8_000_000, "{bytes}");
    let segs = g["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0]["on"], "gpu");
    // The demean is the upload's centring; the taper is in rfft_in's load.
    assert_eq!(segs[0]["dispatches_per_batch"], 4);
    let rfft_in = &segs[0]["dispatches_for_one_trace"][0];
    assert_eq!(rfft_in["kernel"], "rfft_in");
    assert_eq!(rfft_in["fused"], serde_json::json!(["taper"]));
    assert_eq!(segs[0]["upload_f32_centred"], true);
    // Forcing a stage onto its CPU twin splits the program there.
    a.extend(["--cpu-stages", "deconvolve"]);
    let v = json_with(&a, "rfft");
    let on: Vec<&str> = v["gpu"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["on"].as_str().unwrap())
        .collect();
    assert_eq!(on, ["gpu", "cpu", "gpu"]);
    let text = String::from_utf8_lossy(&plan(&a).stdout).to_string();
    assert!(text.contains("device_bytes_per_trace"), "{text}");
    a.truncate(a.len() - 2);
    let text = String::from_utf8_lossy(&plan_with(&a, "rfft").stdout).to_string();
    assert!(text.contains("(with taper)"), "{text}");
}

#[test]
fn a_shape_obspy_refuses_says_why_and_bad_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.toml");
    std::fs::write(
        &p,
        "[[step]]\nop = \"decimate\"\nfactor = 3\nstrict_length = true\n",
    )
    .unwrap();
    let v = json(&[
        p.to_str().unwrap(),
        "--npts",
        "100",
        "--sampling-rate",
        "10",
    ]);
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("step 1 (decimate)") && e.contains("multiple"),
        "{e}"
    );
    for bad in [
        vec![
            "examples/forum_chain.toml",
            "--npts",
            "10",
            "--sampling-rate",
            "0",
        ],
        vec![
            "examples/forum_chain.toml",
            "--npts",
            "10",
            "--sampling-rate",
            "1",
            "--cpu-stages",
            "fft",
        ],
        vec![
            "examples/forum_chain.toml",
            "--npts",
            "99999999999",
            "--sampling-rate",
            "1",
        ],
        vec!["missing.toml", "--npts", "10", "--sampling-rate", "1"],
    ] {
        let o = plan(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(!o.stderr.is_empty());
    }
}

/// Issue #26: a 100 Hz day trace through the day-long noise chain is planned whole on the
/// device (no stage on the CPU path), with what it needs of device memory: a 276,480,000-byte
/// f64 transform buffer, bound in parts (an adapter must bind a third of it: lavapipe's 128
/// MiB does) with a factorised twiddle table, and the --gpu-memory for one trace.
#[test]
fn a_day_trace_is_planned_on_the_device_with_its_memory() {
    let v = json(&[
        "bench/chains/noise_day.toml",
        "--npts",
        "8640000",
        "--sampling-rate",
        "100",
        "--device",
        "gpu",
    ]);
    let segments = v["gpu"]["segments"].as_array().unwrap();
    assert!(segments.iter().all(|s| s["on"] == "gpu"), "{segments:?}");
    let m = &v["gpu"]["device_memory"];
    assert_eq!(m["largest_buffer_bytes"], 17_280_000u64 * 16);
    // 4157 + 4157 roots (fft_plan::roots) of 16 bytes.
    assert_eq!(m["largest_fft_table_bytes"], 8314 * 16);
    assert_eq!(m["buffers_in_parts"], true);
    assert_eq!(m["least_binding_bytes"], 92_160_000);
    assert!(m["least_binding_bytes"].as_u64().unwrap() <= 128 << 20);
    let need = m["gpu_memory_mib_for_one_trace"].as_u64().unwrap();
    // Two batches in flight, the pool an eighth of the share; a trace this long takes the
    // whole budget on one loop, so the default --gpu-memory (2048) holds a 100 Hz day.
    let per_trace = m["buffers_bytes_per_trace"].as_u64().unwrap();
    let share = (per_trace * 2 * 8).div_ceil(7);
    assert_eq!(need, share.div_ceil(1 << 20), "{m}");
    assert!(need <= 2048, "{m}");
    assert_eq!(v["output"]["npts"], 1_728_000);
}
