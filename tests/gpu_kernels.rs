//! Every GPU stage against its CPU twin (src/ops/<stage>.rs), stage by stage: random inputs
//! with fixed seeds, many lengths (powers of two, 2/3/5-smooth, primes, 2 and 3 samples),
//! several traces per batch and batches that straddle the layout's limits, work buffers
//! poisoned with NaN so an unwritten element cannot pass. Runs on lavapipe in CI.

mod common;
// The naive f64 DFT oracle, a test-only file of the library (not part of its API).
#[path = "../src/reference.rs"]
#[expect(
    dead_code,
    reason = "the GPU tests use the complex DFT, not the real one"
)]
mod reference;

use std::sync::Arc;

use common::{gpu, noise};
use num_complex::Complex64 as C;
use seisbatch::gpu::runner::{Runner, IN_FLIGHT};
use seisbatch::gpu::Gpu;
use seisbatch::inventory::ResponseSource;
use seisbatch::ops::deconvolve;
use seisbatch::pipeline::Pipeline;
use seisbatch::plan::{self, Shape, Stage};
use seisbatch::response::cache::{ResponseCache, Table};
use seisbatch::stages::Deconvolve;
use seisbatch::trace::Trace;

/// f32 storage with f64 host tables: element-wise stages keep ~1e-7; FFT-based ones grow
/// with log N; the filter's f64 recursion keeps f32 input/output rounding only.
const TOL: f64 = 2e-5;

/// No response lookups in these tests (`common::NoResponses`): remove_response is checked with
/// explicit tables.
use common::NoResponses;

fn trace(data: Vec<f64>, rate: f64) -> Trace {
    Trace {
        network: "XX".into(),
        station: "TEST".into(),
        location: String::new(),
        channel: "HHZ".into(),
        start_ns: 1_388_534_400_000_000_000,
        sampling_rate: rate,
        data,
    }
}

/// The plan of `p` for a trace of `npts` samples at `rate` starting at `start_ns`.
fn shaped(
    p: &Pipeline,
    npts: usize,
    rate: f64,
    start_ns: i64,
) -> Result<seisbatch::plan::Plan, seisbatch::plan::Failure> {
    plan::plan_for(
        &p.steps,
        Shape {
            npts,
            sampling_rate: rate,
            start_ns,
        },
    )
}

/// Runs `toml` (one or more steps without remove_response) over `count` random traces of
/// `n` samples on the device and on the CPU path; returns the worst relative L2.
fn device_vs_cpu(gpu: &Gpu, toml: &str, n: usize, rate: f64, count: usize, budget: u64) -> f64 {
    device_vs_cpu_with(gpu, toml, n, rate, count, budget, true)
}

/// `device_vs_cpu` with the real FFTs through rfft.wgsl (`fused`) or the radix passes.
fn device_vs_cpu_with(
    gpu: &Gpu,
    toml: &str,
    n: usize,
    rate: f64,
    count: usize,
    budget: u64,
    fused: bool,
) -> f64 {
    let p = Pipeline::parse(toml).unwrap();
    let prog = shaped(&p, n, rate, 1_388_534_400_000_000_000)
        .unwrap_or_else(|e| panic!("{toml} n={n}: {e}"));
    let inputs: Vec<Vec<f64>> = (0..count)
        .map(|t| {
            // An offset and a trend, as raw counts have, on top of the noise.
            noise(1000 * n as u64 + t as u64, n)
                .iter()
                .enumerate()
                .map(|(i, v)| 100.0 * v + 40.0 + 0.01 * i as f64)
                .collect()
        })
        .collect();
    let mut runner = Runner::new(gpu, budget);
    runner.poison = true;
    runner.rfft = fused;
    let per = runner.per_batch(&prog).unwrap();
    let mut got = Vec::new();
    for chunk in inputs.chunks(per) {
        let refs: Vec<&[f64]> = chunk.iter().map(|v| v.as_slice()).collect();
        let tables = vec![Vec::new(); refs.len()];
        got.extend(runner.run(&prog, &refs, &tables).unwrap());
    }
    let cache = ResponseCache::default();
    let mut worst: f64 = 0.0;
    for (x, g) in inputs.iter().zip(&got) {
        let mut tr = trace(x.clone(), rate);
        seisbatch::exec::cpu::run_steps(&p.steps, &mut tr, &NoResponses, &cache).unwrap();
        let g: Vec<f64> = g.iter().map(|&v| f64::from(v)).collect();
        assert_eq!(g.len(), tr.data.len(), "{toml} n={n}");
        assert!(
            g.iter().all(|v| v.is_finite()),
            "{toml} n={n}: unwritten (NaN) output"
        );
        worst = worst.max(rel_err(&g, &tr.data, x));
    }
    worst
}

/// Relative L2 error against the CPU result, with a floor of OUTPUT_FLOOR of the input's
/// norm: samples live in f32 on the device, so absolute errors scale with the input, and an
/// output that cancels to almost nothing (a 2-sample linear detrend is exactly zero) is
/// judged against that scale rather than against its own vanishing norm.
/// How remove_response's transform pair runs on the device (`SEISBATCH_GPU_FFT`): the
/// deconvolution tests run each.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fft {
    /// shaders/fft64.wgsl (the default where the adapter has SHADER_F64).
    F64,
    /// f32, shaders/rfft.wgsl's three fused passes.
    Rfft,
    /// f32 radix passes (shaders/fft.wgsl).
    Passes,
}

const FFTS: [Fft; 3] = [Fft::F64, Fft::Rfft, Fft::Passes];

impl Fft {
    fn set(self, r: &mut Runner) {
        r.f64_transforms = self == Fft::F64;
        r.rfft = self != Fft::Passes;
    }

    /// In f64 only the samples' f32 rounding in and out remains (~1e-7).
    fn tol(self, gpu: &Gpu) -> f64 {
        if self == Fft::F64 && gpu.has_f64() {
            1e-6
        } else {
            TOL
        }
    }
}

fn rel_err(got: &[f64], want: &[f64], input: &[f64]) -> f64 {
    const OUTPUT_FLOOR: f64 = 1e-2;
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let diff: f64 = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    diff / norm(want).max(OUTPUT_FLOOR * norm(input))
}

const LENGTHS: [usize; 12] = [2, 3, 5, 7, 16, 97, 100, 257, 1000, 1024, 4801, 12_000];

fn sweep(gpu: &Gpu, toml: &str, lengths: &[usize], rate: f64, tol: f64) {
    sweep_with(gpu, toml, lengths, rate, tol, true);
}

fn sweep_with(gpu: &Gpu, toml: &str, lengths: &[usize], rate: f64, tol: f64, fused: bool) {
    for &n in lengths {
        for count in [1usize, 3] {
            let e = device_vs_cpu_with(gpu, toml, n, rate, count, 1 << 28, fused);
            assert!(
                e <= tol,
                "{toml}\nn={n} count={count} fused={fused}: rel L2 {e:.3e} > {tol:.0e}"
            );
        }
    }
}

#[test]
fn detrend_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for kind in ["demean", "linear", "simple"] {
        sweep(
            &gpu,
            &format!("[[step]]\nop = \"detrend\"\ntype = \"{kind}\"\n"),
            &LENGTHS,
            100.0,
            TOL,
        );
    }
}

/// detrend's polynomial fit (shaders/detrend64.wgsl) against the CPU twin's (Legendre basis,
/// Cholesky): opening the program (the f64 line removed at upload first) and after a taper
/// (the kernel fits the raw offset and trend), orders up to the kernel's 15, lengths down
/// to fewer samples than terms.
#[test]
fn detrend_polynomial_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    if !gpu.has_f64() {
        return;
    }
    for order in [0, 1, 2, 3, 6, 15] {
        let step = format!("[[step]]\nop = \"detrend\"\ntype = \"polynomial\"\norder = {order}\n");
        let after_taper = format!("[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n{step}");
        // Order 15 over 2 or 3 samples is ill-posed for an f32 input; ObsPy warns (RankWarning).
        let lengths: &[usize] = if order > 6 { &LENGTHS[4..] } else { &LENGTHS };
        sweep(&gpu, &step, lengths, 100.0, TOL);
        sweep(&gpu, &after_taper, lengths, 100.0, TOL);
    }
}

#[test]
fn taper_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for t in [
        "type = \"hann\"\nmax_percentage = 0.05",
        "type = \"cosine\"\nmax_percentage = 0.2\nside = \"left\"",
    ] {
        // A leading detrend keeps the comparison about the taper, not about the offset.
        sweep(
            &gpu,
            &format!(
                "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"taper\"\n{t}\n"
            ),
            &LENGTHS,
            100.0,
            TOL,
        );
    }
}

#[test]
fn filter_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    if !gpu.has_f64() {
        eprintln!("adapter has no SHADER_F64: filters run on the CPU path, nothing to compare");
        return;
    }
    // Low corners at 100 Hz are where an f32 recursion fails (NUMERICS §9).
    for f in [
        "type = \"bandpass\"\nfreqmin = 0.02\nfreqmax = 1.0\nzerophase = true",
        "type = \"highpass\"\nfreq = 0.05\ncorners = 2",
        "type = \"lowpass\"\nfreq = 5.0\ncorners = 8\nzerophase = true",
        "type = \"bandstop\"\nfreqmin = 1.0\nfreqmax = 3.0",
    ] {
        sweep(
            &gpu,
            &format!(
                "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"filter\"\n{f}\n"
            ),
            &[2, 3, 97, 1000, 12_000],
            100.0,
            TOL,
        );
    }
}

#[test]
fn resample_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    // Lengths from smooth (Stockham) to prime (Bluestein both ways), up- and downsampling;
    // even ones through rfft.wgsl's forward transform (with the detrend line in its load,
    // and 2 x 3 x 7 x 19 = 798 with direct-sum primes) and through the radix passes.
    for (rate, to, window) in [
        (100.0, 40.0, "\"hann\""),
        (100.0, 30.0, "\"none\""),
        (20.0, 50.0, "\"hamming\""),
    ] {
        let toml = format!("[[step]]\nop = \"detrend\"\ntype = \"linear\"\n[[step]]\nop = \"resample\"\nsampling_rate = {to}\nwindow = {window}\n");
        for fused in [true, false] {
            sweep_with(
                &gpu,
                &toml,
                &[2, 3, 5, 7, 16, 97, 100, 257, 798, 1000, 4801, 6000],
                rate,
                TOL,
                fused,
            );
        }
    }
    if gpu.has_f64() {
        let toml = "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"resample\"\nsampling_rate = 25.0\nno_filter = false\n";
        sweep(&gpu, toml, &[97, 1000, 12_000], 100.0, TOL);
    }
}

#[test]
fn interpolate_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for (to, extra) in [
        (10.0, "a = 25"),
        (33.0, "a = 4"),
        (250.0, "a = 9\ntime_shift = 0.003"),
    ] {
        let toml = format!("[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"interpolate\"\nsampling_rate = {to}\nmethod = \"lanczos\"\n{extra}\n");
        sweep(&gpu, &toml, &[2, 3, 97, 1000, 12_000], 100.0, TOL);
    }
}

#[test]
fn decimate_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    let mut cases = vec!["factor = 3\nno_filter = true"];
    if gpu.has_f64() {
        cases.push("factor = 4");
    }
    for d in cases {
        let toml = format!(
            "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"decimate\"\n{d}\n"
        );
        sweep(&gpu, &toml, &[2, 3, 97, 1000, 12_000], 100.0, TOL);
    }
}

/// integrate (a scan per trace), differentiate (a stencil), normalize (a peak reduction, or a
/// given norm, negative and zero included) and trim (a gather with fills) against their
/// twins, alone and chained.
#[test]
fn integrate_differentiate_normalize_trim_match_cpu() {
    let Some(gpu) = gpu() else { return };
    let lengths = [
        2, 3, 5, 7, 16, 97, 100, 257, 1000, 1024, 4801, 12_000, 120_001,
    ];
    for toml in [
        "[[step]]\nop = \"integrate\"\n",
        "[[step]]\nop = \"differentiate\"\n",
        "[[step]]\nop = \"normalize\"\n",
        "[[step]]\nop = \"normalize\"\nnorm = -250.0\n",
        "[[step]]\nop = \"normalize\"\nnorm = 0\n",
        // Chained, each from the buffer the last one wrote. (Not integrate -> differentiate:
        // differencing a running sum loses f32 digits by the sum's growth, on any device.)
        "[[step]]\nop = \"integrate\"\n[[step]]\nop = \"normalize\"\n",
        "[[step]]\nop = \"differentiate\"\n[[step]]\nop = \"normalize\"\nnorm = 3\n",
    ] {
        sweep(&gpu, toml, &lengths, 40.0, TOL);
    }
    // trim: a cut inside, and fills on both sides (the gather's three cases).
    for toml in [
        "[[step]]\nop = \"trim\"\nstarttime = \"start+0.07\"\nendtime = \"end-0.03\"\n",
        "[[step]]\nop = \"trim\"\nstarttime = \"start-1\"\nendtime = \"end+0.5\"\npad = true\n\
         fill_value = 7.5\n",
    ] {
        sweep(&gpu, toml, &lengths[4..], 40.0, TOL);
    }
}

/// remove_sensitivity: each trace times its own one-bin table (1 / value) from the response
/// pool, traces of a batch with different values, after a stage that moves the samples to
/// the other buffer.
#[test]
fn remove_sensitivity_uses_each_traces_value() {
    let Some(gpu) = gpu() else { return };
    let toml = "[[step]]\nop = \"differentiate\"\n[[step]]\nop = \"remove_sensitivity\"\n";
    let p = Pipeline::parse(toml).unwrap();
    for n in [2usize, 97, 4801] {
        let prog = shaped(&p, n, 50.0, 0).unwrap();
        assert_eq!(
            prog.responses[0].spec,
            seisbatch::response::cache::TableSpec::Sensitivity
        );
        let values = [6.3e8, -2.0e3, 1.0];
        let traces: Vec<Vec<f64>> = (0..3).map(|t| noise(2000 + t, n)).collect();
        let tables: Vec<Vec<Table>> = values
            .iter()
            .map(|v| vec![Arc::new(Ok(vec![C::new(1.0 / v, 0.0)]))])
            .collect();
        let mut runner = Runner::new(&gpu, 1 << 26);
        runner.poison = true;
        let refs: Vec<&[f64]> = traces.iter().map(Vec::as_slice).collect();
        let got = runner.run(&prog, &refs, &tables).unwrap();
        for ((x, g), v) in traces.iter().zip(&got).zip(values) {
            let want: Vec<f64> = seisbatch::ops::differentiate::gradient(x, 0.02)
                .iter()
                .map(|d| d / v)
                .collect();
            let g: Vec<f64> = g.iter().map(|&s| f64::from(s)).collect();
            let x_scaled: Vec<f64> = x.iter().map(|s| s / v).collect();
            let e = rel_err(&g, &want, &x_scaled);
            assert!(e < TOL, "n={n} value={v}: rel L2 {e:.3e}");
        }
    }
}

#[test]
fn batches_straddling_the_layout_limit_match_one_by_one() {
    let Some(gpu) = gpu() else { return };
    // A budget for ~3 traces of this chain forces 7 traces into 3 batches (3 + 2 + 2).
    let toml = "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n[[step]]\nop = \"resample\"\nsampling_rate = 40.0\n";
    let n = 1000;
    let prog = plan::plan_for(
        &Pipeline::parse(toml).unwrap().steps,
        Shape {
            npts: n,
            sampling_rate: 100.0,
            start_ns: 0,
        },
    )
    .unwrap();
    let fp = Runner::new(&gpu, 1).plan_footprint(&prog).unwrap();
    // Each of the IN_FLIGHT batches on the device gets its share of the budget.
    let budget = (3 * fp.per_trace + fp.per_trace / 2) * IN_FLIGHT as u64;
    assert_eq!(Runner::new(&gpu, budget).per_batch(&prog).unwrap(), 3);
    let e = device_vs_cpu(&gpu, toml, n, 100.0, 7, budget);
    assert!(e <= TOL, "rel L2 {e:.3e}");
}

/// The fft stage against the f64 naive DFT oracle, forward and inverse, lengths of every
/// kind: 1, 2, 3, powers of two, 2/3/5-smooth (Stockham radix 2-5, 8, 9, 15, 16, 25), primes and
/// other non-smooth lengths (Bluestein), and remove_response's nfft for a 20-minute trace.
#[test]
fn fft_matches_the_naive_dft() {
    let Some(gpu) = gpu() else { return };
    let mut runner = Runner::new(&gpu, 1 << 28);
    runner.poison = true;
    for n in [
        1usize, 2, 3, 4, 5, 8, 12, 16, 17, 32, 60, 64, 97, 128, 135, 243, 256, 625, 1000, 1009,
        2048, 4096, 6058, 240_000,
    ] {
        let count = if n > 10_000 { 1 } else { 3 };
        let inputs: Vec<Vec<C>> = (0..count)
            .map(|t| {
                let re = noise(7 * n as u64 + t, n);
                let im = noise(11 * n as u64 + t, n);
                re.into_iter().zip(im).map(|(a, b)| C::new(a, b)).collect()
            })
            .collect();
        let as_f32: Vec<Vec<[f32; 2]>> = inputs
            .iter()
            .map(|v| v.iter().map(|c| [c.re as f32, c.im as f32]).collect())
            .collect();
        for inverse in [false, true] {
            let got = runner.run_fft(&as_f32, inverse).unwrap();
            for (x, g) in inputs.iter().zip(&got) {
                let want = if n <= 6058 {
                    reference::dft(x, inverse)
                } else {
                    let mut v = x.clone();
                    let mut p = rustfft::FftPlanner::new();
                    let plan = if inverse {
                        p.plan_fft_inverse(n)
                    } else {
                        p.plan_fft_forward(n)
                    };
                    plan.process(&mut v);
                    v
                };
                let num: f64 = g
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (C::new(a[0].into(), a[1].into()) - b).norm_sqr())
                    .sum();
                let den: f64 = want.iter().map(|b| b.norm_sqr()).sum();
                let e = (num / den).sqrt();
                assert!(
                    e.is_finite() && e < TOL,
                    "n={n} inverse={inverse}: rel L2 {e:.3e}"
                );
            }
        }
    }
}

/// remove_response's device half (pad, FFT, times each trace's own table, Nyquist bin as
/// |.|, inverse, truncate) against src/ops/deconvolve.rs, with random tables, several traces
/// sharing a table and a pool small enough that later batches evict earlier tables.
#[test]
fn deconvolve_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    // 3001 -> nfft 6004 = 2^2 19 79 (Bluestein); 1000 -> 2000 (Stockham).
    for (n, zero_mean, taper) in [
        (1000usize, true, true),
        (3001, false, false),
        (97, false, true),
    ] {
        let toml = format!(
            "[[step]]\nop = \"remove_response\"\nzero_mean = {zero_mean}\ntaper = {taper}\n"
        );
        let p = Pipeline::parse(&toml).unwrap();
        let prog = shaped(&p, n, 100.0, 0).unwrap();
        let Some(Stage::Deconvolve(Deconvolve { nfft, .. })) =
            prog.stages.last().map(|s| s.stage.clone())
        else {
            panic!("remove_response ends in a deconvolve stage");
        };
        assert_eq!(nfft, deconvolve::npts2nfft(n));
        let bins = nfft / 2 + 1;
        let tables: Vec<Table> = (0..4u64)
            .map(|k| {
                let re = noise(100 + k, bins);
                let im = noise(200 + k, bins);
                Arc::new(Ok(re
                    .into_iter()
                    .zip(im)
                    .map(|(a, b)| C::new(a, b))
                    .collect()))
            })
            .collect();
        let traces: Vec<Vec<f64>> = (0..6).map(|t| noise(300 + t, n)).collect();
        // Trace t uses table t % 4: traces 0/4 and 1/5 share theirs.
        let want: Vec<Vec<f64>> = traces
            .iter()
            .enumerate()
            .map(|(t, x)| {
                let mut x = x.clone();
                deconvolve::prepare(&mut x, zero_mean, taper, 0.05).unwrap();
                let Ok(table) = tables[t % 4].as_ref() else {
                    unreachable!()
                };
                deconvolve::deconvolve(&x, table, nfft)
            })
            .collect();
        // Through rfft.wgsl (19 and 79 as direct sums for 3001) and the radix passes
        // (Bluestein for 3001).
        for mode in FFTS {
            deconvolve_batches(&gpu, &prog, &traces, &tables, &want, mode);
        }
    }
}

fn deconvolve_batches(
    gpu: &Gpu,
    prog: &seisbatch::plan::Plan,
    traces: &[Vec<f64>],
    tables: &[Table],
    want: &[Vec<f64>],
    mode: Fft,
) {
    let n = traces[0].len();
    let bins = tables[0].as_ref().as_ref().map_or(0, |t| t.len());
    {
        // Budget for 2 traces per batch and a pool of ~2 tables: batches evict.
        let mut probe = Runner::new(gpu, 1);
        mode.set(&mut probe);
        let fp = probe.plan_footprint(prog).unwrap();
        let slot = bins as u64 * 8;
        let budget = (2 * fp.per_trace + fp.per_trace / 4).max(2 * slot * 8) * 8 / 7;
        let mut runner = Runner::new(gpu, budget);
        runner.poison = true;
        mode.set(&mut runner);
        let per = runner.per_batch(prog).unwrap();
        assert!(
            per < traces.len(),
            "the test needs several batches, got {per} per batch"
        );
        let mut got = Vec::new();
        for (b, chunk) in traces.chunks(per).enumerate() {
            let refs: Vec<&[f64]> = chunk.iter().map(Vec::as_slice).collect();
            let tb: Vec<Vec<Table>> = (0..chunk.len())
                .map(|i| vec![tables[(b * per + i) % 4].clone()])
                .collect();
            got.extend(runner.run(prog, &refs, &tb).unwrap());
        }
        assert_eq!(got.len(), want.len());
        for (t, (g, w)) in got.iter().zip(want).enumerate() {
            let g: Vec<f64> = g.iter().map(|&v| f64::from(v)).collect();
            let e = rel_err(&g, w, &traces[t]);
            assert!(
                e < mode.tol(gpu),
                "n={n} {mode:?} trace {t}: rel L2 {e:.3e}"
            );
        }
    }
}

/// remove_response in f64 (shaders/fft64.wgsl, the default: within 1e-6), through
/// shaders/rfft.wgsl (three passes, the response multiply inside, a preceding detrend line and
/// taper window taken into the first pass's load) and through the f32 radix passes, each
/// against the plan's stages run in f64 (ops::detrend, the window,
/// ops::deconvolve) with random tables: lengths whose nfft halves are powers of two, smooth,
/// odd or even line counts, with primes up to 181 as direct sums (120,001 samples, a common
/// 20-minute length), the tiny ones and the longest nfft the split takes (2^22).
#[test]
fn rfft_deconvolution_matches_the_stages_in_f64() {
    let Some(gpu) = gpu() else { return };
    let chains = [
        "[[step]]\nop = \"remove_response\"\n",
        "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n[[step]]\nop = \"taper\"\n\
         max_percentage = 0.05\n[[step]]\nop = \"remove_response\"\nzero_mean = false\n\
         taper = false\n",
        "[[step]]\nop = \"detrend\"\ntype = \"simple\"\n[[step]]\nop = \"remove_response\"\n\
         zero_mean = false\ntaper = false\n",
        "[[step]]\nop = \"taper\"\nmax_percentage = 0.2\n[[step]]\nop = \"detrend\"\n\
         type = \"demean\"\n[[step]]\nop = \"remove_response\"\nzero_mean = false\n\
         taper = false\n",
    ];
    // 2^21 samples: nfft 2^22, the longest split (2048 x 1024 lines, 32 KiB).
    let lengths = [
        2usize,
        3,
        5,
        16,
        97,
        500,
        1000,
        1201,
        4801,
        12_000,
        120_001,
        1 << 21,
    ];
    for (c, toml) in chains.iter().enumerate() {
        for &n in &lengths {
            if c > 0 && n > 12_000 {
                continue; // the long one once is enough on lavapipe
            }
            rfft_case(&gpu, toml, n);
        }
    }
}

fn rfft_case(gpu: &Gpu, toml: &str, n: usize) {
    let p = Pipeline::parse(toml).unwrap();
    let prog = shaped(&p, n, 100.0, 0).unwrap();
    let Some(Stage::Deconvolve(Deconvolve { nfft, .. })) =
        prog.stages.last().map(|s| s.stage.clone())
    else {
        panic!("remove_response ends in a deconvolve stage");
    };
    let rfft = seisbatch::gpu::fft_plan::rfft_split(nfft, seisbatch::gpu::kernels::RFFT_TILE);
    let bins = nfft / 2 + 1;
    let count = if n > 12_000 { 1 } else { 3 };
    let tables: Vec<Table> = (0..count as u64)
        .map(|k| {
            let (re, im) = (noise(900 + k, bins), noise(950 + k, bins));
            Arc::new(Ok(re
                .into_iter()
                .zip(im)
                .map(|(a, b)| C::new(a, b))
                .collect()))
        })
        .collect();
    // Offsets and trends as raw counts have them: the fused line must remove them.
    let traces: Vec<Vec<f64>> = (0..count)
        .map(|t| {
            noise(1300 + t as u64, n)
                .iter()
                .enumerate()
                .map(|(i, v)| 50.0 * v + 300.0 - 0.02 * i as f64)
                .collect()
        })
        .collect();
    let want: Vec<Vec<f64>> = traces
        .iter()
        .zip(&tables)
        .map(|(x, table)| {
            let mut x = x.clone();
            for at in &prog.stages {
                match &at.stage {
                    Stage::Detrend(d) => seisbatch::ops::detrend::detrend(&mut x, d.kind).unwrap(),
                    Stage::Taper(t) => x.iter_mut().zip(t.window.iter()).for_each(|(v, w)| *v *= w),
                    Stage::Deconvolve(_) => {
                        let Ok(tb) = table.as_ref() else {
                            unreachable!()
                        };
                        x = deconvolve::deconvolve(&x, tb, nfft);
                    }
                    s => panic!("unexpected stage {}", s.name()),
                }
            }
            x
        })
        .collect();
    for mode in FFTS {
        let mut runner = Runner::new(gpu, 1 << 28);
        runner.poison = true;
        mode.set(&mut runner);
        let caps = runner.caps();
        let recorded =
            seisbatch::gpu::record::record(&prog, 0..prog.stages.len(), count, &caps).unwrap();
        let kernels: Vec<&str> = recorded.dispatches.iter().map(|d| d.kernel).collect();
        let rfft_ran = kernels.contains(&"rfft_in");
        let f64_ran = kernels.contains(&"fft64_pass");
        assert_eq!(
            (rfft_ran, f64_ran),
            (
                (mode == Fft::Rfft || (mode == Fft::F64 && !gpu.has_f64())) && rfft.is_some(),
                mode == Fft::F64 && gpu.has_f64()
            ),
            "n={n} nfft={nfft}: {kernels:?}"
        );
        if rfft_ran {
            // What sits right before the FFT is in its load: no taper dispatch follows a
            // detrend, no detrend_apply right before the FFT.
            assert_eq!(kernels.last(), Some(&"rfft_out"));
            // (An opening demean is the upload's centring: then nothing comes before.)
            let before = kernels.len().checked_sub(4).map(|i| kernels[i]);
            assert!(
                before != Some("taper") && before != Some("detrend_apply"),
                "{kernels:?}"
            );
        }
        let refs: Vec<&[f64]> = traces.iter().map(Vec::as_slice).collect();
        let tb: Vec<Vec<Table>> = tables.iter().map(|t| vec![t.clone()]).collect();
        let got = runner.run(&prog, &refs, &tb).unwrap();
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            let g: Vec<f64> = g.iter().map(|&v| f64::from(v)).collect();
            assert!(g.iter().all(|v| v.is_finite()), "n={n} {mode:?}: NaN");
            let e = rel_err(&g, w, &traces[t]);
            assert!(
                e < mode.tol(gpu),
                "{toml}n={n} nfft={nfft} {mode:?} trace {t}: rel L2 {e:.3e}"
            );
        }
    }
}

/// Two remove_response steps in one program share the response pool of their nfft: tables
/// the first step's dispatches read must survive the second step's uploads until the
/// batch's single submit, even when the pool is too small to keep anything else.
#[test]
fn two_deconvolutions_in_one_batch_keep_their_tables() {
    let Some(gpu) = gpu() else { return };
    let n = 1000;
    let toml = "[[step]]\nop = \"remove_response\"\nzero_mean = false\ntaper = false\n".repeat(2);
    let p = Pipeline::parse(&toml).unwrap();
    let prog = shaped(&p, n, 100.0, 0).unwrap();
    let nfft = deconvolve::npts2nfft(n);
    let bins = nfft / 2 + 1;
    let table = |k: u64| -> Table {
        let (re, im) = (noise(500 + k, bins), noise(600 + k, bins));
        Arc::new(Ok(re
            .into_iter()
            .zip(im)
            .map(|(a, b)| C::new(a, b))
            .collect()))
    };
    let traces: Vec<Vec<f64>> = (0..2).map(|t| noise(700 + t, n)).collect();
    // Step 1 uses tables 0 and 1, step 2 tables 2 and 3: four live tables in one batch.
    let tables: Vec<Vec<Table>> = (0..2u64).map(|t| vec![table(t), table(2 + t)]).collect();
    let fp = Runner::new(&gpu, 1).plan_footprint(&prog).unwrap();
    // A pool share (1/8 of the budget) of about two tables.
    let budget = (2 * bins as u64 * 8 * 8).max(2 * fp.per_trace * 8 / 7 + 1);
    let mut runner = Runner::new(&gpu, budget);
    runner.poison = true;
    let refs: Vec<&[f64]> = traces.iter().map(Vec::as_slice).collect();
    let got = runner.run(&prog, &refs, &tables).unwrap();
    for (t, x) in traces.iter().enumerate() {
        let mut y = x.clone();
        for tb in &tables[t] {
            let Ok(v) = tb.as_ref() else { unreachable!() };
            y = deconvolve::deconvolve(&y, v, nfft);
        }
        let g: Vec<f64> = got[t].iter().map(|&v| f64::from(v)).collect();
        let e = rel_err(&g, &y, x);
        assert!(e < TOL, "trace {t}: rel L2 {e:.3e}");
    }
}

/// Traces of several shapes in one call, interleaved, with batches of a few traces: every
/// batch of every group shares one in-flight queue (a new shape does not drain the device),
/// a host stage (linear interpolate) sits between device stages, and every outcome lands at
/// its own trace, equal to the CPU executor's within the tolerance.
#[test]
fn shapes_interleaved_in_one_call_come_back_in_order() {
    use seisbatch::exec::{cpu, Executor};
    use seisbatch::gpu::executor::Driver;
    use seisbatch::plan::Planner;
    let Some(gpu) = gpu() else { return };
    let toml = "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n\
                [[step]]\nop = \"interpolate\"\nsampling_rate = 50.0\nmethod = \"linear\"\n\
                [[step]]\nop = \"taper\"\nmax_percentage = 0.1\n";
    let steps = Pipeline::parse(toml).unwrap().steps;
    let planner = Planner::new(&steps);
    let cache = ResponseCache::default();
    let lengths = [
        1000usize, 3001, 1000, 257, 3001, 257, 1000, 3001, 257, 1000, 3001,
    ];
    let traces: Vec<Trace> = lengths
        .iter()
        .enumerate()
        .map(|(k, &n)| trace(noise(900 + k as u64, n), 100.0))
        .collect();
    let sources: Vec<&dyn ResponseSource> = traces.iter().map(|_| &NoResponses as _).collect();
    // A budget for two or three traces of the longest shape per batch.
    let plan = planner
        .plan(&planner.shapes(plan::Shape::of(&traces[1])))
        .unwrap();
    let fp = Runner::new(&gpu, 1).plan_footprint(&plan).unwrap();
    let mut driver = Driver::new(&gpu, 5 * fp.per_trace, &planner, &cache);
    let got = driver.process(traces.clone(), &sources);
    assert_eq!(driver.on_device, traces.len(), "{:?}", driver.notes);
    assert!(
        driver.notes.iter().any(|n| n.contains("Linear")),
        "{:?}",
        driver.notes
    );
    assert!(
        driver.runner_times().batches >= 6,
        "several batches per shape"
    );
    for (k, (t, g)) in traces.iter().zip(got).enumerate() {
        let (g, _) = g.unwrap();
        let mut want = t.clone();
        cpu::run_steps(&steps, &mut want, &NoResponses, &cache).unwrap();
        assert_eq!(g.data.len(), want.data.len(), "trace {k}");
        assert_eq!(
            (g.start_ns, g.sampling_rate),
            (want.start_ns, want.sampling_rate)
        );
        let e = rel_err(&g.data, &want.data, &t.data);
        assert!(
            e <= TOL,
            "trace {k} ({} samples): rel L2 {e:.3e}",
            lengths[k]
        );
    }
}
