//! Shared test helpers: fixture paths, float64 fixture files, and comparisons that report
//! the first differing index, relative L2 and max error.
#![allow(dead_code, reason = "each test binary uses some of these helpers")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn read_f64(rel: &str) -> Vec<f64> {
    let b = std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// ||got − want||₂ / ||want||₂.
pub fn rel_l2(got: &[f64], want: &[f64]) -> f64 {
    let num: f64 = got.iter().zip(want).map(|(a, b)| (a - b) * (a - b)).sum();
    let den: f64 = want.iter().map(|b| b * b).sum();
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// Describes a comparison for assertion messages.
pub fn describe(got: &[f64], want: &[f64]) -> String {
    let max = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let first = got
        .iter()
        .zip(want)
        .position(|(a, b)| (a - b).abs() > 1e-6 * b.abs().max(1e-30));
    format!(
        "len got {} want {}, rel L2 {:.3e}, max abs err {:.3e}, first differing index {:?}",
        got.len(),
        want.len(),
        rel_l2(got, want),
        max,
        first
    )
}

/// The GPU for device tests: any wgpu adapter, Mesa's lavapipe included. Without one the
/// test fails under CI=true (CI installs lavapipe, so no adapter there is a broken setup)
/// and is skipped with a printed reason elsewhere.
pub fn gpu() -> Option<seisbatch::gpu::Gpu> {
    match seisbatch::gpu::Gpu::new(seisbatch::gpu::Want::Any) {
        Ok(g) => {
            eprintln!("GPU tests on {}", g.info.describe());
            Some(g)
        }
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but no GPU adapter: {e} (install mesa-vulkan-drivers libvulkan1)");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// Deterministic pseudo-random samples in [-1, 1) (64-bit LCG, fixed seed per call site).
pub fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Every file under `dir`, as paths relative to it, sorted.
pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                v.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    v.sort();
    v
}

/// One golden case of tests/fixtures/golden/cases.json (made by make_fixtures.py).
#[derive(serde::Deserialize)]
pub struct GoldenCase {
    pub name: String,
    pub mseed: String,
    pub xml: String,
    pub trace: usize,
    pub toml: String,
    pub npts: usize,
    pub start_ns: i64,
    pub sampling_rate: f64,
}

pub fn golden_cases() -> Vec<GoldenCase> {
    serde_json::from_str(&std::fs::read_to_string(fixture("golden/cases.json")).unwrap()).unwrap()
}

/// The seisbatch binary of this build.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_seisbatch"))
}

/// Asserts a finished command's exit code is one of `codes`, showing its stderr if not.
pub fn exit_in(o: &std::process::Output, codes: &[i32]) {
    assert!(
        o.status.code().is_some_and(|c| codes.contains(&c)),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `seisbatch synth` into `dir/data`: `events` x `stations` x 3 traces of `seconds`, a share
/// `bad` of them bad. Returns the data folder.
pub fn synth(dir: &std::path::Path, events: u32, stations: u32, seconds: u32, bad: f64) -> PathBuf {
    let d = dir.join("data");
    let o = bin()
        .arg("synth")
        .args([
            "--events",
            &events.to_string(),
            "--stations",
            &stations.to_string(),
        ])
        .args([
            "--duration",
            &seconds.to_string(),
            "--bad-fraction",
            &bad.to_string(),
        ])
        .arg("--output")
        .arg(&d)
        .output()
        .expect("run seisbatch synth");
    exit_in(&o, &[0]);
    d
}

/// report.json of an output folder.
pub fn report(dir: &Path) -> serde_json::Value {
    let p = dir.join("report.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every output under `dir` by relative path with its bytes (journals and reports apart), and
/// the temporary files (`*.tmp`) left there.
pub fn outputs(dir: &Path) -> (BTreeMap<PathBuf, Vec<u8>>, Vec<PathBuf>) {
    let (mut outputs, mut temporaries) = (BTreeMap::new(), Vec::new());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if name == ".seisbatch" || name.starts_with("report") || name == "catalog.parquet" {
                continue; // journals, reports, the outputs' catalog: one per run or shard
            }
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".tmp") {
                temporaries.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                outputs.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    (outputs, temporaries)
}

/// Lines of a text file; 0 if it does not exist (yet).
pub fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// `seisbatch run bench/short_chain.toml` over `input` into `output` on the CPU path with one
/// job (the crash-safety, cluster and fault tests' run), then `extra`.
pub fn short_run(input: &Path, output: &Path, extra: &[&str]) -> std::process::Command {
    let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/short_chain.toml");
    short_run_with(bin(), &pipeline, input, output, extra)
}

/// [`short_run`] through another command (a copied binary, a user switch) and pipeline file.
pub fn short_run_with(
    c: std::process::Command,
    pipeline: &Path,
    input: &Path,
    output: &Path,
    extra: &[&str],
) -> std::process::Command {
    let mut c = run_with(c, pipeline, input, output);
    c.args(["--device", "cpu", "--quiet", "--jobs", "1"])
        .args(extra);
    c
}

/// `seisbatch run PIPELINE --input INPUT --output OUTPUT`, for the caller to add flags.
pub fn run_cmd(pipeline: &Path, input: &Path, output: &Path) -> std::process::Command {
    run_with(bin(), pipeline, input, output)
}

fn run_with(
    mut c: std::process::Command,
    pipeline: &Path,
    input: &Path,
    output: &Path,
) -> std::process::Command {
    c.arg("run")
        .arg(pipeline)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output);
    c
}

/// Two reports tell the same outcome: counts, failures, and warnings (as a set: shards and
/// resumed runs gather them in another order).
pub fn same_report(a: &serde_json::Value, b: &serde_json::Value) {
    for k in [
        "ok",
        "failed",
        "outputs",
        "input_files",
        "input_samples",
        "failures",
        "file_problems",
        "files_with_problems",
    ] {
        assert_eq!(a[k], b[k], "report field {k}");
    }
    let set = |v: &serde_json::Value| {
        let mut w: Vec<String> = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        w.sort();
        w
    };
    assert_eq!(set(a), set(b), "report warnings");
}

/// Copies a folder tree (folders and files).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Waits until the text file `p` has at least `n` lines (a running job's journal); fails
/// after 60 s without them.
pub fn wait_for_lines(p: &Path, n: usize) {
    let t0 = std::time::Instant::now();
    while lines(p) < n {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(60),
            "run made no progress: {} has fewer than {n} lines",
            p.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// A trace of `n` samples (a slow sine) with the given codes, from `start` (ISO 8601) at
/// `rate` Hz.
pub fn trace(codes: [&str; 4], start: &str, rate: f64, n: usize) -> seisbatch::trace::Trace {
    seisbatch::trace::Trace {
        network: codes[0].into(),
        station: codes[1].into(),
        location: codes[2].into(),
        channel: codes[3].into(),
        start_ns: seisbatch::time::parse_iso(start).unwrap(),
        sampling_rate: rate,
        data: (0..n).map(|i| (i as f64 * 0.05).sin() * 1000.0).collect(),
    }
}

/// Writes traces as one miniSEED file: miniSEED 2 where the codes fit its field widths (any
/// bytes in them, as a hostile header may hold), else miniSEED 3.
pub fn write_mseed(path: &Path, traces: &[seisbatch::trace::Trace]) {
    let mut bytes = Vec::new();
    for t in traces {
        let fits = t.network.len() <= 2
            && t.station.len() <= 5
            && t.location.len() <= 2
            && t.channel.len() <= 3;
        bytes.extend(if fits {
            seisbatch::write::mseed::encode(t)
        } else {
            seisbatch::write::mseed3::encode(t).unwrap()
        });
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// A pipeline without responses (demean, taper) in `dir`: for inputs without StationXML.
pub fn plain_chain(dir: &Path) -> PathBuf {
    let p = dir.join("plain.toml");
    std::fs::write(
        &p,
        "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n",
    )
    .unwrap();
    p
}

/// Every path under `dir` (files, folders, links; links not followed), relative, sorted.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            v.push(p.strip_prefix(dir).unwrap().to_path_buf());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    v.sort();
    v
}

/// Runs a command, killing it and failing the test if it is still running after `secs`.
pub fn output_within(mut c: std::process::Command, secs: u64) -> std::process::Output {
    use std::process::Stdio;
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    // Drain the pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let so = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let se = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    std::process::Output {
        status,
        stdout: so.join().unwrap(),
        stderr: se.join().unwrap(),
    }
}

/// Whether the GPU path can run here: an adapter exists (lavapipe in CI). Under CI=true a
/// missing adapter fails the test instead of skipping it.
pub fn gpu_available() -> bool {
    gpu().is_some()
}

/// `dir/in/a.mseed` holding one 20 s trace XX.S..BHZ at 20 Hz; returns `dir/in`.
pub fn one_trace_input(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    write_mseed(
        &input.join("a.mseed"),
        &[trace(
            ["XX", "S", "", "BHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    input
}

/// Tolerances of the two executors against ObsPy, relative L2 per trace.
/// CPU: f64 arithmetic that differs from ObsPy's only in rounding order (FFT library,
/// summation order), far below this.
pub const CPU_REL_L2_TOL: f64 = 1e-6;
/// GPU: samples and tables in f32 on the device, sums and scans in f64 (issue #23: 1e-5, every
/// operation up to 2^21 samples; tests/golden.rs names the two remove_response cases its f32
/// transforms hold to 1.1e-5).
pub const GPU_REL_L2_TOL: f64 = 1e-5;

/// An executor to run a suite through: the same test body for both (cubecl's habit).
pub enum Backend {
    Cpu,
    Gpu(Box<seisbatch::gpu::Gpu>),
}

impl Backend {
    pub fn tolerance(&self) -> f64 {
        match self {
            Backend::Cpu => CPU_REL_L2_TOL,
            Backend::Gpu(_) => GPU_REL_L2_TOL,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Gpu(_) => "gpu",
        }
    }

    /// `steps` over `traces` (trace i's responses from `sources[i]`) through this backend's
    /// executor; the outcomes and how many traces ran on the device.
    pub fn process(
        &self,
        steps: &[seisbatch::pipeline::Step],
        traces: Vec<seisbatch::trace::Trace>,
        sources: &[&dyn seisbatch::inventory::ResponseSource],
        cache: &seisbatch::response::cache::ResponseCache,
    ) -> (Vec<seisbatch::exec::Outcome>, usize) {
        use seisbatch::exec::Executor;
        let planner = seisbatch::plan::Planner::new(steps);
        match self {
            Backend::Cpu => {
                let mut cpu = seisbatch::exec::cpu::Cpu {
                    planner: &planner,
                    cache,
                    clock: None,
                };
                (cpu.process(traces, sources), 0)
            }
            Backend::Gpu(g) => {
                let mut d = seisbatch::gpu::executor::Driver::new(g, 1 << 30, &planner, cache);
                let out = d.process(traces, sources);
                (out, d.on_device)
            }
        }
    }
}

/// The CPU backend, or the GPU one (None where `gpu()` skips: no adapter outside CI).
pub fn backend(gpu_wanted: bool) -> Option<Backend> {
    if gpu_wanted {
        gpu().map(|g| Backend::Gpu(Box::new(g)))
    } else {
        Some(Backend::Cpu)
    }
}

/// A response source without responses: for pipelines that look none up (a lookup fails
/// with "no StationXML response", as it would in a run).
pub struct NoResponses;

impl seisbatch::inventory::ResponseSource for NoResponses {
    fn response_at(
        &self,
        codes: seisbatch::trace::Codes,
        _time_ns: i64,
    ) -> Result<(usize, std::sync::Arc<seisbatch::response::Response>), seisbatch::error::TraceError>
    {
        Err(seisbatch::error::TraceError::NoResponse {
            id: codes.id(),
            time: String::new(),
        })
    }
}
