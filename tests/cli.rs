//! The command line end to end: exit codes 0/2/3, report.json contents for the bad inputs a
//! real download contains, and the outputs against ObsPy.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{copy_dir, fixture, read_f64, rel_l2, report, GPU_REL_L2_TOL};
use seisbatch::time::parse_iso;
use seisbatch::trace::Trace;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seisbatch"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run seisbatch")
}

/// `seisbatch run PIPELINE --input INPUT --output OUTPUT EXTRA...`
fn run_pipeline(pipeline: &Path, input: &Path, output: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("run")
        .arg(pipeline)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(extra)
        .output()
        .expect("run seisbatch")
}

/// Asserts the exit code, showing stderr when it differs.
fn expect_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Reads back one of our SAC files: (npts, samples as f64).
fn read_sac(p: &Path) -> Vec<f64> {
    let b = std::fs::read(p).unwrap();
    let npts = i32::from_le_bytes(b[280 + 9 * 4..280 + 10 * 4].try_into().unwrap()) as usize;
    assert_eq!(b.len(), 632 + 4 * npts);
    b[632..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
        .collect()
}

#[test]
fn forum_chain_on_bundled_example_exits_0_and_matches_obspy() {
    let out = tempfile::tempdir().unwrap();
    let o = run_pipeline(
        &root().join("examples/forum_chain.toml"),
        &root().join("examples/data"),
        out.path(),
        &[],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("3 traces ok, 0 failed"), "{stderr}");
    assert!(
        stderr.contains("water_level = 0"),
        "the water-level warning is shown: {stderr}"
    );
    let r = report(out.path());
    assert_eq!(r["ok"], 3);
    assert_eq!(r["failed"], 0);
    assert_eq!(r["pipeline"]["steps"][2]["op"], "remove_response");
    assert!(r["seisbatch_version"].is_string() && r["wall_seconds"].is_number());
    // MassDownloader layout: the "raw" folder is dropped, names carry the processed times.
    let f = out
        .path()
        .join("event_2014-01-01/GR.FUR..HHZ__20140101T000000Z__20140101T001959Z.sac");
    assert!(f.exists(), "{}", f.display());
    let leftovers: Vec<_> = std::fs::read_dir(out.path().join("event_2014-01-01"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files are left");
}

#[test]
fn sac_output_equals_obspy_golden_within_float32() {
    // The golden FUR forum chain, run through the CLI on the fixture file.
    let out = tempfile::tempdir().unwrap();
    let o = run_pipeline(
        &root().join("examples/forum_chain.toml"),
        &fixture("data/GR.FUR..HHZ.mseed"),
        out.path(),
        &[
            "--inventory",
            fixture("data/BW_GR.xml").to_str().unwrap(),
            "--jobs",
            "1",
        ],
    );
    expect_exit(&o, 0);
    let f = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with(".sac"))
        .expect("one SAC file");
    let got = read_sac(&f.path());
    let want = read_f64("golden/FUR_chain_forum.f64");
    // SAC stores float32: 2^-24 relative rounding per sample.
    assert!(rel_l2(&got, &want) < 1e-6, "{}", rel_l2(&got, &want));
}

fn write_trace(path: &Path, net: &str, sta: &str, cha: &str, start: &str, seconds: usize) {
    let tr = Trace {
        network: net.into(),
        station: sta.into(),
        location: String::new(),
        channel: cha.into(),
        start_ns: parse_iso(start).unwrap(),
        sampling_rate: 100.0,
        data: (0..seconds * 100)
            .map(|i| ((i as f64) * 0.05).sin() * 1000.0)
            .collect(),
    };
    std::fs::write(path, seisbatch::write::mseed::encode(&tr)).unwrap();
}

/// The bad inputs a real download contains, next to one good trace (see the test below).
fn make_bad_inputs(i: &Path) {
    // Good: the 20-minute fixture trace.
    std::fs::copy(fixture("data/GR.FUR..HHZ.mseed"), i.join("good.mseed")).unwrap();
    // Outside its response epoch: GR.FUR..HHZ in 1990, before every FUR epoch.
    write_trace(
        &i.join("old.mseed"),
        "GR",
        "FUR",
        "HHZ",
        "1990-01-01T00:00:00",
        1300,
    );
    // A station without StationXML.
    write_trace(
        &i.join("nosta.mseed"),
        "XX",
        "NOSTA",
        "HHZ",
        "2014-01-01T00:00:00",
        1300,
    );
    // Too short for interpolate's npts = 12000 at 10 Hz.
    write_trace(
        &i.join("short.mseed"),
        "GR",
        "FUR",
        "HHZ",
        "2014-02-01T00:00:00",
        60,
    );
    // Truncated: the first records of the good file and half of the next one.
    let good = std::fs::read(fixture("data/GR.FUR..HHZ.mseed")).unwrap();
    std::fs::write(i.join("truncated.mseed"), &good[..512 * 20 + 200]).unwrap();
}

#[test]
fn bad_traces_are_reported_and_the_run_goes_on() {
    let input = tempfile::tempdir().unwrap();
    let i = input.path();
    make_bad_inputs(i);
    let out = tempfile::tempdir().unwrap();
    let o = run_pipeline(
        &root().join("examples/forum_chain.toml"),
        i,
        out.path(),
        &[
            "--inventory",
            fixture("data/BW_GR.xml").to_str().unwrap(),
            "--quiet",
        ],
    );
    expect_exit(&o, 3);
    assert!(o.stderr.is_empty(), "--quiet prints nothing");
    let r = report(out.path());
    assert_eq!(r["ok"], 1);
    let failures = r["failures"].as_array().unwrap();
    assert_eq!(r["failed"].as_u64().unwrap() as usize, failures.len());
    let find = |file: &str| -> Vec<String> {
        failures
            .iter()
            .filter(|f| f["file"].as_str().unwrap().ends_with(file))
            .map(|f| format!("{} | {} | {}", f["id"], f["start"], f["reason"]))
            .collect()
    };
    let old = find("old.mseed");
    assert!(
        old.len() == 1
            && old[0].contains("GR.FUR..HHZ")
            && old[0].contains("no StationXML response")
            && old[0].contains("1990-01-01"),
        "{old:?}"
    );
    let nosta = find("nosta.mseed");
    assert!(
        nosta.len() == 1 && nosta[0].contains("no StationXML file for station XX.NOSTA"),
        "{nosta:?}"
    );
    let short = find("short.mseed");
    assert!(
        short.len() == 1
            && short[0].contains("step 4 (interpolate)")
            && short[0].contains("no extrapolation"),
        "{short:?}"
    );
    // The damaged part of a file is not a trace: it is a file problem with its byte range,
    // and the traces counted are real traces (each with an id).
    assert!(failures
        .iter()
        .all(|f| !f["id"].as_str().unwrap().is_empty()));
    let problems = r["file_problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("truncated.mseed"));
    assert_eq!(problems[0]["bytes"], serde_json::json!([10240, 10440]));
    assert!(
        problems[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("miniSEED: truncated record"),
        "{problems:?}"
    );
    assert_eq!(r["files_with_problems"], 1);
    // The 20 decoded records are kept: 20 records are too short for the chain, and say so.
    let trunc = find("truncated.mseed");
    assert!(
        trunc.len() == 1 && trunc[0].contains("interpolate"),
        "{trunc:?}"
    );
    assert_eq!(
        r["failed"], 4,
        "old, nosta, short and the truncated file's trace"
    );
    assert_eq!(
        std::fs::read_dir(out.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sac"))
            .count(),
        1
    );
}

#[test]
fn configuration_errors_exit_2_naming_step_and_key() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[step]]\nop = \"detrend\"\n[[step]]\nop = \"bandpas\"\n",
            &["step 2", "bandpas"][..],
        ),
        (
            "[[step]]\nop = \"taper\"\nmax_percentage = \"5%\"\n",
            &["step 1", "max_percentage", "number"][..],
        ),
        (
            "[[step]]\nop = \"remove_response\"\nwaterlevel = 60\n",
            &["step 1", "waterlevel", "unknown key"][..],
        ),
    ];
    for (k, (toml, needles)) in cases.iter().enumerate() {
        let p = d.path().join(format!("p{k}.toml"));
        std::fs::write(&p, toml).unwrap();
        let out = d.path().join(format!("out{k}"));
        let o = run_pipeline(&p, &fixture("data/GR.FUR..HHZ.mseed"), &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        for n in *needles {
            assert!(err.contains(n), "`{n}` missing in: {err}");
        }
        assert!(
            !out.exists(),
            "nothing is written before the configuration is valid"
        );
    }
    let o = run_pipeline(
        &root().join("examples/forum_chain.toml"),
        Path::new("/nonexistent/x"),
        &d.path().join("o"),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "run", "p.toml", "--input", "x", "--output", "y", "--device", "tpu",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("possible values: auto, cpu, gpu"));
    // SEISBATCH_GPU_FFT is configuration too: a misspelt value is refused by run, plan and
    // bench before anything is written, not taken silently as the default.
    let out = d.path().join("fft");
    let o = bin()
        .env("SEISBATCH_GPU_FFT", "fp32")
        .arg("run")
        .arg(root().join("examples/forum_chain.toml"))
        .arg("--input")
        .arg(fixture("data/GR.FUR..HHZ.mseed"))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("SEISBATCH_GPU_FFT") && err.contains("rfft"),
        "{err}"
    );
    assert!(!out.exists());
    for cmd in [
        &[
            "plan",
            "examples/forum_chain.toml",
            "--npts",
            "1000",
            "--sampling-rate",
            "100",
        ][..],
        &[
            "bench",
            "examples/forum_chain.toml",
            "--input",
            "examples/data",
        ][..],
    ] {
        let o = bin()
            .current_dir(root())
            .env("SEISBATCH_GPU_FFT", "F64 ")
            .args(cmd)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(err.contains("SEISBATCH_GPU_FFT"), "{err}");
    }
    // Each valid value runs.
    for v in ["f64", "rfft", "passes"] {
        let o = bin()
            .current_dir(root())
            .env("SEISBATCH_GPU_FFT", v)
            .args(["plan", "examples/forum_chain.toml", "--npts", "1000"])
            .args(["--sampling-rate", "100", "--device", "gpu"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{v}");
    }
}

#[test]
fn help_documents_options_with_an_example() {
    let o = run(&["run", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let h = String::from_utf8_lossy(&o.stdout);
    for opt in [
        "--input",
        "--output",
        "--inventory",
        "--format",
        "--device",
        "--gpu-memory",
        "--jobs",
        "--quiet",
        "Example",
    ] {
        assert!(h.contains(opt), "{opt} missing from run --help");
    }
    let o = run(&["--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("Exit codes"));
}

#[test]
fn mseed_output_reads_back() {
    let out = tempfile::tempdir().unwrap();
    let o = run_pipeline(
        &root().join("examples/velocity_bandpass.toml"),
        &root().join("examples/data"),
        out.path(),
        &["--format", "mseed"],
    );
    expect_exit(&o, 0);
    let dir = out.path().join("event_2014-01-01");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(files.len(), 3);
    for f in files {
        let d = seisbatch::read::mseed::read_bytes(&std::fs::read(f.path()).unwrap());
        assert!(d.problems.is_empty());
        assert_eq!(d.traces.len(), 1);
        assert_eq!(d.traces[0].sampling_rate, 5.0);
        assert_eq!(d.traces[0].data.len(), 6000);
    }
}

#[test]
fn events_sharing_stationxml_content_share_evaluated_responses() {
    // MassDownloader repeats NET.STA.xml in every event folder: two events, one parse, and
    // one evaluated response per distinct response, not per event (6) nor per channel (3):
    // GR.FUR's three channels have one response (issue #25: they share its table).
    let input = tempfile::tempdir().unwrap();
    for ev in ["ev1", "ev2"] {
        copy_dir(
            &root().join("examples/data/event_2014-01-01"),
            &input.path().join(ev),
        );
    }
    let out = tempfile::tempdir().unwrap();
    let o = run_pipeline(
        &root().join("examples/forum_chain.toml"),
        input.path(),
        out.path(),
        &["--quiet"],
    );
    assert_eq!(o.status.code(), Some(0));
    let r = report(out.path());
    assert_eq!(r["ok"], 6);
    assert_eq!(r["responses_evaluated"], 1);
    assert!(out
        .path()
        .join("ev2/GR.FUR..HHN__20140101T000000Z__20140101T001959Z.sac")
        .exists());
}

/// Every SAC file under `dir`, by path relative to it.
fn sac_files(dir: &Path) -> Vec<PathBuf> {
    common::files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "sac"))
        .collect()
}

/// True where GPU tests must run (CI installs lavapipe); elsewhere a missing adapter skips.
fn require_gpu() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

#[test]
fn device_gpu_writes_what_device_cpu_writes() {
    for chain in ["forum_chain.toml", "velocity_bandpass.toml"] {
        let (cpu, gpu) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let pipeline = root().join("examples").join(chain);
        let input = root().join("examples/data");
        expect_exit(
            &run_pipeline(&pipeline, &input, cpu.path(), &["--device", "cpu"]),
            0,
        );
        let o = run_pipeline(&pipeline, &input, gpu.path(), &["--device", "gpu"]);
        expect_exit(&o, 0);
        let r = report(gpu.path());
        if r["device"] != "gpu" {
            assert!(
                !require_gpu(),
                "CI=true but the run used the CPU path: {}",
                r["warnings"]
            );
            eprintln!("skipping: no GPU adapter ({})", r["warnings"]);
            return;
        }
        assert_eq!(r["traces_on_device"], 3, "{chain}: {}", r["warnings"]);
        assert!(r["adapter"]["name"].as_str().is_some_and(|n| !n.is_empty()));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("3 on the GPU"), "{stderr}");
        // The same with batches of one trace: three batches, two on the device at once (32 MiB:
        // remove_response's f64 transforms take 12.5 MB per 120,000-sample trace).
        let small = tempfile::tempdir().unwrap();
        let o = run_pipeline(
            &pipeline,
            &input,
            small.path(),
            &["--device", "gpu", "--gpu-memory", "32"],
        );
        expect_exit(&o, 0);
        let rs = report(small.path());
        assert_eq!(rs["traces_on_device"], 3, "{chain}: {}", rs["warnings"]);
        assert_eq!(rs["stage_seconds"]["gpu_batches"], 3, "{chain}");
        let files = sac_files(cpu.path());
        assert_eq!(files.len(), 3);
        for f in &files {
            let (c, g) = (
                read_sac(&cpu.path().join(f)),
                read_sac(&small.path().join(f)),
            );
            let e = rel_l2(&g, &c);
            assert!(
                e <= GPU_REL_L2_TOL,
                "{chain} {} (small batches): rel L2 {e:.3e}",
                f.display()
            );
        }
        assert_eq!(files, sac_files(gpu.path()), "same file names");
        for f in &files {
            let (c, g) = (read_sac(&cpu.path().join(f)), read_sac(&gpu.path().join(f)));
            assert_eq!(c.len(), g.len());
            let e = rel_l2(&g, &c);
            assert!(
                e <= GPU_REL_L2_TOL,
                "{chain} {}: rel L2 {e:.3e}",
                f.display()
            );
        }
    }
}

/// `--cpu-stages` (the debug switch that bisects a GPU/CPU difference): the named stages run
/// through their CPU twins between device segments, and the result is still the CPU path's
/// within the GPU tolerance; forcing every stage gives the CPU path's bytes.
#[test]
fn cpu_stages_run_on_the_cpu_between_device_segments() {
    let pipeline = root().join("examples/velocity_bandpass.toml");
    let input = root().join("examples/data");
    let cpu = tempfile::tempdir().unwrap();
    expect_exit(
        &run_pipeline(&pipeline, &input, cpu.path(), &["--device", "cpu"]),
        0,
    );
    let mixed = tempfile::tempdir().unwrap();
    let o = run_pipeline(
        &pipeline,
        &input,
        mixed.path(),
        &["--device", "gpu", "--cpu-stages", "taper,filter"],
    );
    expect_exit(&o, 0);
    let r = report(mixed.path());
    if r["device"] != "gpu" {
        assert!(!require_gpu(), "CI=true but no adapter");
        return;
    }
    assert_eq!(r["traces_on_device"], 3, "{}", r["warnings"]);
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("taper (--cpu-stages)"), "{warnings}");
    assert!(warnings.contains("filter (--cpu-stages)"), "{warnings}");
    for f in sac_files(cpu.path()) {
        let (c, g) = (
            read_sac(&cpu.path().join(&f)),
            read_sac(&mixed.path().join(&f)),
        );
        let e = rel_l2(&g, &c);
        assert!(e <= GPU_REL_L2_TOL, "{}: rel L2 {e:.3e}", f.display());
    }
    let all = tempfile::tempdir().unwrap();
    let every = "detrend,taper,deconvolve,filter,resample,interpolate,decimate";
    let o = run_pipeline(
        &pipeline,
        &input,
        all.path(),
        &["--device", "gpu", "--cpu-stages", every],
    );
    expect_exit(&o, 0);
    for f in sac_files(cpu.path()) {
        assert_eq!(
            std::fs::read(cpu.path().join(&f)).unwrap(),
            std::fs::read(all.path().join(&f)).unwrap(),
            "{}",
            f.display()
        );
    }
    let o = run_pipeline(&pipeline, &input, all.path(), &["--cpu-stages", "fft"]);
    expect_exit(&o, 2);
}

/// A device that fails mid-run (the SEISBATCH_GPU_FAIL test hook loses the first batch) or
/// a memory budget no batch fits in: every trace still comes out, through the CPU path, and
/// the report says why.
#[test]
fn gpu_failures_fall_back_to_the_cpu_path() {
    let pipeline = root().join("examples/forum_chain.toml");
    let input = root().join("examples/data");
    let cpu = tempfile::tempdir().unwrap();
    expect_exit(
        &run_pipeline(&pipeline, &input, cpu.path(), &["--device", "cpu"]),
        0,
    );
    let lost = tempfile::tempdir().unwrap();
    let o = bin()
        .env("SEISBATCH_GPU_FAIL", "1")
        .args([
            "run",
            pipeline.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .args(["--output", lost.path().to_str().unwrap(), "--device", "gpu"])
        .output()
        .unwrap();
    expect_exit(&o, 0);
    let small = tempfile::tempdir().unwrap();
    let o = run_pipeline(
        &pipeline,
        &input,
        small.path(),
        &["--device", "gpu", "--gpu-memory", "1"],
    );
    expect_exit(&o, 0);
    for (dir, why) in [(&lost, "GPU batch failed (device lost"), (&small, "needs")] {
        let r = report(dir.path());
        assert_eq!(r["ok"], 3);
        if r["device"] != "gpu" {
            assert!(!require_gpu(), "CI=true but no adapter");
            continue;
        }
        assert_eq!(r["traces_on_device"], 0);
        let warnings = r["warnings"].to_string();
        assert!(
            warnings.contains(why) && warnings.contains("CPU path"),
            "{warnings}"
        );
        for f in sac_files(cpu.path()) {
            // The fallback is the CPU path itself: identical bytes.
            assert_eq!(
                std::fs::read(cpu.path().join(&f)).unwrap(),
                std::fs::read(dir.path().join(&f)).unwrap(),
                "{}",
                f.display()
            );
        }
    }
}

/// The GPU path fails the same traces for the same reasons as the CPU path.
#[test]
fn device_gpu_reports_the_same_failures() {
    let input = tempfile::tempdir().unwrap();
    make_bad_inputs(input.path());
    let failures = |device: &str| {
        let out = tempfile::tempdir().unwrap();
        let o = run_pipeline(
            &root().join("examples/forum_chain.toml"),
            input.path(),
            out.path(),
            &[
                "--inventory",
                fixture("data/BW_GR.xml").to_str().unwrap(),
                "--device",
                device,
            ],
        );
        expect_exit(&o, 3);
        let r = report(out.path());
        let mut v: Vec<String> = r["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} | {} | {} | {}",
                    f["file"], f["id"], f["start"], f["reason"]
                )
            })
            .collect();
        v.sort();
        (v, r["ok"].clone(), r["device"].clone())
    };
    let (cpu, cpu_ok, _) = failures("cpu");
    let (gpu, gpu_ok, device) = failures("gpu");
    if device != "gpu" {
        assert!(!require_gpu(), "CI=true but no adapter");
        return;
    }
    assert_eq!(cpu_ok, gpu_ok);
    assert!(cpu.len() >= 4, "{cpu:?}");
    assert_eq!(cpu, gpu);
}

/// --gaps is applied on the CLI path and recorded: fills are warnings, rejections failures.
#[test]
fn gap_policy_is_applied_and_recorded() {
    use seisbatch::trace::Trace;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let tr = |start_ns: i64, n: usize| Trace {
        network: "XX".into(),
        station: "GAP".into(),
        location: String::new(),
        channel: "HHZ".into(),
        start_ns,
        sampling_rate: 100.0,
        data: (0..n).map(|i| (i % 17) as f64).collect(),
    };
    // 0.5 s missing between two segments.
    let mut bytes = seisbatch::write::mseed::encode(&tr(0, 1000));
    bytes.extend(seisbatch::write::mseed::encode(&tr(10_500_000_000, 1000)));
    std::fs::write(input.join("gappy.mseed"), bytes).unwrap();
    let chain = tmp.path().join("demean.toml");
    std::fs::write(&chain, "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n").unwrap();
    let go = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let o = run_pipeline(
            &chain,
            &input,
            &out,
            &[&["--device", "cpu"], extra].concat(),
        );
        (o, report(&out))
    };
    let (o, r) = go("split", &[]);
    expect_exit(&o, 0);
    assert_eq!(
        (r["ok"].as_u64(), r["gaps"]["policy"].as_str()),
        (Some(2), Some("split"))
    );
    let (o, r) = go("zeros", &["--gaps", "zeros", "--max-gap", "1"]);
    expect_exit(&o, 0);
    assert_eq!(r["ok"], 1);
    assert_eq!(r["gaps"]["max_gap_seconds"], 1.0);
    let w = r["warnings"].to_string();
    assert!(
        w.contains("XX.GAP..HHZ: 1 gap(s) filled (50 samples, zeros)"),
        "{w}"
    );
    let (o, r) = go("short", &["--gaps", "interpolate", "--max-gap", "0.2"]);
    expect_exit(&o, 0);
    assert_eq!(r["ok"], 2, "a gap longer than --max-gap splits");
    let (o, r) = go("reject", &["--gaps", "reject"]);
    expect_exit(&o, 3);
    assert_eq!((r["ok"].as_u64(), r["failed"].as_u64()), (Some(0), Some(2)));
    assert_eq!(r["failures"][0]["id"], "XX.GAP..HHZ");
    assert!(r["failures"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("gap of 0.5 s"));
}

/// A result with NaN (ObsPy's weighted_average_slopes on constant data divides 0 by 0) is a
/// failure naming the first bad sample, not a file.
#[test]
fn non_finite_results_are_failures_not_files() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let tr = seisbatch::trace::Trace {
        network: "XX".into(),
        station: "FLAT".into(),
        location: String::new(),
        channel: "HHZ".into(),
        start_ns: 0,
        sampling_rate: 100.0,
        data: vec![5.0; 2000],
    };
    std::fs::write(
        input.join("flat.mseed"),
        seisbatch::write::mseed::encode(&tr),
    )
    .unwrap();
    let chain = tmp.path().join("was.toml");
    std::fs::write(
        &chain,
        "[[step]]\nop = \"interpolate\"\nsampling_rate = 40.0\nmethod = \"weighted_average_slopes\"\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = run_pipeline(&chain, &input, &out, &["--device", "cpu"]);
    expect_exit(&o, 3);
    let r = report(&out);
    assert_eq!(
        (r["ok"].as_u64(), r["outputs"].as_u64()),
        (Some(0), Some(0))
    );
    let reason = r["failures"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("non-finite sample at index"), "{reason}");
    assert_eq!(sac_files(&out).len(), 0);
}

/// `select` (ObsPy's Stream.select wildcards, case-insensitive): traces it does not take are
/// counted as not selected, neither written nor failed, on both paths; the run exits 0 and a
/// resumed run reports the same count from the journal.
#[test]
fn select_skips_traces_without_failing_them() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("select.toml");
    std::fs::write(
        &pipeline,
        "[[step]]\nop = \"detrend\"\n[[step]]\nop = \"select\"\nchannel = \"h?[ne]\"\n",
    )
    .unwrap();
    let input = root().join("examples/data");
    for device in ["cpu", "gpu"] {
        let out = dir.path().join(device);
        let o = run_pipeline(&pipeline, &input, &out, &["--device", device]);
        if device == "gpu" && o.status.code() != Some(0) && !require_gpu() {
            eprintln!("skipping the gpu run: no adapter");
            continue;
        }
        expect_exit(&o, 0);
        let r = report(&out);
        assert_eq!(
            (
                r["ok"].as_u64(),
                r["failed"].as_u64(),
                r["traces_not_selected"].as_u64()
            ),
            (Some(2), Some(0), Some(1)),
            "{device}: {r}"
        );
        let names: Vec<String> = sac_files(&out)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| !n.contains("HHZ")), "{names:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("1 trace(s) not selected"), "{stderr}");
    }
    // Resumed: nothing to redo, the count comes back from the journal.
    let out = dir.path().join("cpu");
    let o = run_pipeline(&pipeline, &input, &out, &["--device", "cpu", "--resume"]);
    expect_exit(&o, 0);
    assert_eq!(report(&out)["traces_not_selected"], 1);
}

/// `origin+S` trim bounds: the event folder's origin from `--events` (CSV or QuakeML) or from
/// its own event.xml (which wins); without one, each trace fails naming its folder; a bad
/// events file stops the run before any input (exit 2). Both paths.
#[test]
fn origin_relative_trims_use_the_events_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("trim.toml");
    std::fs::write(
        &pipeline,
        "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"trim\"\n\
         starttime = \"origin-60\"\nendtime = \"origin+600\"\n",
    )
    .unwrap();
    let input = root().join("examples/data");
    let csv = dir.path().join("events.csv");
    std::fs::write(
        &csv,
        "folder,time,latitude,longitude,depth_km,magnitude\n\
         event_2014-01-01,2014-01-01T00:05:00Z,35.5,139.25,40,6.1\n",
    )
    .unwrap();
    let trimmed = |out: &Path| {
        let files = sac_files(out);
        assert_eq!(files.len(), 3, "{files:?}");
        for f in &files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.contains("20140101T000400Z__20140101T001500Z"),
                "{name}"
            );
            assert_eq!(read_sac(&out.join(f)).len(), 66_001, "{name}");
            // The header knows the station (its StationXML) and the event (the CSV): o is
            // the origin after the new start, lcalda set with the distances.
            let b = std::fs::read(out.join(f)).unwrap();
            let word = |k: usize| f32::from_le_bytes(b[4 * k..4 * k + 4].try_into().unwrap());
            let int =
                |k: usize| i32::from_le_bytes(b[280 + 4 * k..284 + 4 * k].try_into().unwrap());
            assert_eq!(
                (word(7), word(31), word(35)),
                (60.0, 48.1629, 35.5),
                "{name}"
            );
            assert_eq!(int(38), 1, "{name}: lcalda");
            assert!(
                (word(53) - 84.55).abs() < 0.01,
                "{name}: gcarc {}",
                word(53)
            );
        }
    };
    for device in ["cpu", "gpu"] {
        let out = dir.path().join(format!("csv_{device}"));
        let o = run_pipeline(
            &pipeline,
            &input,
            &out,
            &["--device", device, "--events", csv.to_str().unwrap()],
        );
        if device == "gpu" && o.status.code() != Some(0) && !require_gpu() {
            continue;
        }
        expect_exit(&o, 0);
        trimmed(&out);
    }
    // No metadata: each trace fails with the folder's name.
    let out = dir.path().join("none");
    let o = run_pipeline(&pipeline, &input, &out, &["--device", "cpu"]);
    expect_exit(&o, 3);
    let r = report(&out);
    assert_eq!(r["failed"], 3, "{r}");
    let why = r["failures"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        why.contains("event_2014-01-01") && why.contains("no --events"),
        "{why}"
    );
    // event.xml in the event folder, which wins over --events (here naming another time).
    let tree = dir.path().join("tree");
    common::copy_dir(&input, &tree);
    std::fs::copy(
        root().join("tests/fixtures/events/one_event.xml"),
        tree.join("event_2014-01-01/event.xml"),
    )
    .unwrap();
    let out = dir.path().join("xml");
    let o = run_pipeline(
        &pipeline,
        &tree,
        &out,
        &["--device", "cpu", "--events", csv.to_str().unwrap()],
    );
    expect_exit(&o, 0);
    // one_event.xml: origin 2014-01-01T00:01:00.5 -> 00:00:00.5 .. 00:11:00.5.
    let files = sac_files(&out);
    assert_eq!(files.len(), 3);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.contains("20140101T000000Z__20140101T001100Z"),
            "{name}"
        );
    }
    // A bad events file: exit 2 naming the line.
    std::fs::write(
        &csv,
        "folder,time,latitude,longitude,depth_km\nx,2014-01-01,95,0,0\n",
    )
    .unwrap();
    let o = run_pipeline(
        &pipeline,
        &input,
        &dir.path().join("bad"),
        &["--events", csv.to_str().unwrap()],
    );
    expect_exit(&o, 2);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("latitude 95"),
        "{stderr}"
    );
}

/// examples/event_window.toml with examples/events.csv (select, detrend, taper,
/// remove_response, band-pass, trim around the origin) on the bundled data: ObsPy's result
/// (tests/fixtures/make_fixtures.py) within float32, on both paths.
#[test]
fn event_window_example_matches_obspy() {
    let want = common::read_f64("golden/FUR_HHZ_event_window.f64");
    for device in ["cpu", "gpu"] {
        let out = tempfile::tempdir().unwrap();
        let o = run_pipeline(
            &root().join("examples/event_window.toml"),
            &root().join("examples/data"),
            out.path(),
            &[
                "--events",
                root().join("examples/events.csv").to_str().unwrap(),
                "--device",
                device,
            ],
        );
        if device == "gpu" && o.status.code() != Some(0) && !require_gpu() {
            continue;
        }
        expect_exit(&o, 0);
        let z = sac_files(out.path())
            .into_iter()
            .find(|p| {
                p.to_string_lossy()
                    .contains("HHZ__20140101T000100Z__20140101T001700Z")
            })
            .expect("the HHZ window");
        let got = read_sac(&out.path().join(z));
        assert_eq!(got.len(), want.len(), "{device}");
        let tol = if device == "cpu" { 1e-6 } else { 1e-4 };
        let e = rel_l2(&got, &want);
        assert!(e < tol, "{device}: rel L2 {e:.3e}");
    }
}
