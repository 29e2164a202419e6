//! From pipeline steps to a GPU `Program` for one trace shape (npts, sampling rate): the
//! stages in order, each with its buffer lengths and the host-computed f64 tables rounded
//! once to f32 (windows, filter sections, resample taps, the Lanczos grid). The shape logic
//! (errors, warnings, output lengths) comes from the same `ops` functions the CPU path uses,
//! so both paths refuse, warn and size alike.
//!
//! A shape the plan cannot express on the device (an op or method without a kernel, no
//! SHADER_F64 for a filter, a step that fails for this shape) is a `PlanError`: the engine
//! runs those traces on the CPU path, which reproduces ObsPy's exact messages.

use crate::ops::{decimate, deconvolve, filter, interpolate, resample, taper};
use crate::pipeline::{DetrendType, InterpMethod, Output, Step};

use super::fft::FftPlan;
use super::kernels::{GridPoint, Tap, MAX_SECTIONS};

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// detrend.wgsl; kind 0 demean, 1 linear, 2 simple.
    Detrend { kind: u32 },
    /// taper.wgsl: the whole-trace window (ones where the taper does not reach).
    Taper { window: Vec<f32> },
    /// fft.wgsl + deconvolve.wgsl: pad to nfft, FFT, times the trace's table, inverse,
    /// truncate. `table` indexes `Program::responses`.
    Deconvolve {
        nfft: usize,
        fft: FftPlan,
        table: usize,
    },
    /// filter.wgsl: sections flattened [b0 b1 b2 1 a1 a2]*.
    Filter { sos: Vec<f64>, zerophase: bool },
    /// fft.wgsl + resample.wgsl: FFT of n, taps to num bins, inverse FFT of num.
    Resample {
        fwd: FftPlan,
        inv: FftPlan,
        taps: Vec<Tap>,
    },
    /// interpolate.wgsl (lanczos).
    Interpolate { a: u32, grid: Vec<GridPoint> },
    /// decimate.wgsl.
    Decimate { factor: usize },
}

impl Stage {
    /// The stage name: shader file, CPU twin, bench id.
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Detrend { .. } => "detrend",
            Stage::Taper { .. } => "taper",
            Stage::Deconvolve { .. } => "deconvolve",
            Stage::Filter { .. } => "filter",
            Stage::Resample { .. } => "resample",
            Stage::Interpolate { .. } => "interpolate",
            Stage::Decimate { .. } => "decimate",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageAt {
    pub stage: Stage,
    /// Samples per trace before and after the stage.
    pub n_in: usize,
    pub n_out: usize,
}

/// What the host must look up per trace for one remove_response step: the inverse table
/// for (response at the trace's start then, delta, nfft, output, water level, pre_filt).
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseNeed {
    /// 0-based index into the steps.
    pub step: usize,
    pub delta: f64,
    pub nfft: usize,
    pub output: Output,
    pub water_level: Option<f64>,
    pub pre_filt: Option<[f64; 4]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub stages: Vec<StageAt>,
    pub n_in: usize,
    pub n_out: usize,
    pub sampling_rate_out: f64,
    pub responses: Vec<ResponseNeed>,
    /// ObsPy's warnings for this shape, "step N (op): ..." as the CPU path words them.
    pub warnings: Vec<String>,
}

impl Program {
    /// Longest real and complex buffer per trace over all stages.
    pub fn max_real(&self) -> usize {
        self.stages
            .iter()
            .map(|s| s.n_in.max(s.n_out))
            .max()
            .unwrap_or(self.n_in)
            .max(self.n_in)
            .max(1)
    }

    pub fn max_complex(&self) -> usize {
        self.stages
            .iter()
            .map(|s| match &s.stage {
                Stage::Deconvolve { fft, .. } => fft.scratch_len(),
                Stage::Resample { fwd, inv, .. } => fwd.scratch_len().max(inv.scratch_len()),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The device path has no kernel for this; the CPU path runs it (reported once).
    #[error("{0}")]
    Unsupported(String),
    /// This shape fails or needs the CPU's exact handling (an error, a degenerate length).
    #[error("step {step}: {message}")]
    Cpu { step: usize, message: String },
}

/// Longest loop a kernel may run in one invocation (llvmpipe stops loops at 65535).
const MAX_LOOP: usize = 65_535;

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn flatten(sos: &[[f64; 6]]) -> Result<Vec<f64>, PlanError> {
    if sos.len() > MAX_SECTIONS {
        return Err(PlanError::Unsupported(format!(
            "a filter of {} sections (the kernel holds at most {MAX_SECTIONS})",
            sos.len()
        )));
    }
    Ok(sos.iter().flatten().copied().collect())
}

/// The program for traces of `n` samples at `sampling_rate` starting at `start_ns` (start
/// matters only to interpolate with an absolute starttime, which the engine groups by).
pub fn compile(
    steps: &[Step],
    n: usize,
    sampling_rate: f64,
    start_ns: i64,
    shader_f64: bool,
) -> Result<Program, PlanError> {
    let mut prog = Program {
        stages: Vec::new(),
        n_in: n,
        n_out: n,
        sampling_rate_out: sampling_rate,
        responses: Vec::new(),
        warnings: Vec::new(),
    };
    // Degenerate lengths keep ObsPy's special cases (NaN for a 1-sample simple detrend, empty
    // traces passing through) on the CPU path; they are not worth a kernel variant.
    if n < 2 {
        return Err(PlanError::Cpu {
            step: 0,
            message: format!("{n}-sample trace"),
        });
    }
    // detrend_fit loops n/256 times per invocation; llvmpipe caps a loop at 65535 iterations.
    if n > MAX_LOOP * 256 {
        return Err(PlanError::Unsupported(format!(
            "traces longer than {} samples",
            MAX_LOOP * 256
        )));
    }
    let (mut n, mut rate, mut start) = (n, sampling_rate, start_ns);
    for (i, step) in steps.iter().enumerate() {
        let cpu = |message: String| PlanError::Cpu {
            step: i + 1,
            message,
        };
        if !rate.is_finite() || rate <= 0.0 {
            return Err(cpu(format!("invalid sampling rate {rate}")));
        }
        let mut push = |stage: Stage, n_in: usize, n_out: usize| {
            prog.stages.push(StageAt { stage, n_in, n_out })
        };
        let mut warning = None;
        match step {
            Step::Detrend { kind } => push(
                Stage::Detrend {
                    kind: match kind {
                        DetrendType::Demean => 0,
                        DetrendType::Linear => 1,
                        DetrendType::Simple => 2,
                    },
                },
                n,
                n,
            ),
            Step::Taper {
                max_percentage,
                kind,
                max_length,
                side,
            } => {
                let mut w = vec![1.0; n];
                warning = taper::taper(&mut w, rate, *max_percentage, *kind, *max_length, *side);
                push(Stage::Taper { window: f32s(&w) }, n, n);
            }
            Step::RemoveResponse {
                output,
                water_level,
                pre_filt,
                zero_mean,
                taper,
                taper_fraction,
            } => {
                if *zero_mean {
                    push(Stage::Detrend { kind: 0 }, n, n);
                }
                if *taper {
                    let w = taper::cosine_taper(n, *taper_fraction, true, false).map_err(cpu)?;
                    push(Stage::Taper { window: f32s(&w) }, n, n);
                }
                let nfft = deconvolve::npts2nfft(n);
                push(
                    Stage::Deconvolve {
                        nfft,
                        fft: FftPlan::new(nfft),
                        table: prog.responses.len(),
                    },
                    n,
                    n,
                );
                prog.responses.push(ResponseNeed {
                    step: i,
                    delta: 1.0 / rate,
                    nfft,
                    output: *output,
                    water_level: *water_level,
                    pre_filt: *pre_filt,
                });
                if let Some(pf) = pre_filt {
                    let nyq = 0.5 * rate;
                    if pf[3] > nyq {
                        warning = Some(format!(
                            "pre_filt corner f4 = {} Hz is above Nyquist ({nyq} Hz) of this trace",
                            pf[3]
                        ));
                    }
                }
            }
            Step::Filter {
                kind,
                freq,
                freqmin,
                freqmax,
                corners,
                zerophase,
            } => {
                let (sos, w) = filter::design(rate, *kind, *freq, *freqmin, *freqmax, *corners)
                    .map_err(cpu)?;
                if !shader_f64 {
                    return Err(PlanError::Unsupported(
                        "filter (the adapter has no SHADER_F64 for the f64 recursion)".into(),
                    ));
                }
                warning = w;
                push(
                    Stage::Filter {
                        sos: flatten(&sos)?,
                        zerophase: *zerophase,
                    },
                    n,
                    n,
                );
            }
            Step::Resample {
                sampling_rate: new_rate,
                window,
                no_filter,
                strict_length,
            } => {
                let shape =
                    resample::shape(n, rate, *new_rate, *no_filter, *strict_length).map_err(cpu)?;
                if let Some(sos) = &shape.antialias {
                    if !shader_f64 {
                        return Err(PlanError::Unsupported(
                            "resample's anti-alias filter (the adapter has no SHADER_F64)".into(),
                        ));
                    }
                    push(
                        Stage::Filter {
                            sos: flatten(sos)?,
                            zerophase: false,
                        },
                        n,
                        n,
                    );
                }
                let taps = resample::taps(n, rate, *new_rate, shape.num, *window)
                    .into_iter()
                    .map(|(k, a, b)| Tap {
                        k: k as u32,
                        a: a as f32,
                        b: b as f32,
                        _pad: 0,
                    })
                    .collect();
                push(
                    Stage::Resample {
                        fwd: FftPlan::new(n),
                        inv: FftPlan::new(shape.num),
                        taps,
                    },
                    n,
                    shape.num,
                );
                warning = shape.warning;
                n = shape.num;
                rate = *new_rate;
            }
            Step::Interpolate {
                sampling_rate: new_rate,
                method,
                starttime,
                npts,
                time_shift,
                a,
                ..
            } => {
                let g =
                    interpolate::grid(n, start, rate, *new_rate, *starttime, *npts, *time_shift)
                        .map_err(cpu)?;
                if *method != InterpMethod::Lanczos {
                    return Err(PlanError::Unsupported(format!(
                        "interpolate method {method:?} (the device has lanczos)"
                    )));
                }
                let a = a.ok_or_else(|| cpu("lanczos needs `a`".into()))?;
                if 2 * a + 1 > MAX_LOOP {
                    return Err(PlanError::Unsupported(format!("lanczos with a = {a}")));
                }
                let grid = (0..g.npts)
                    .map(|j| {
                        let pos = g.offset + j as f64 * g.dt_factor;
                        let idx = pos.floor();
                        GridPoint {
                            idx: idx as i32,
                            frac: (pos - idx) as f32,
                        }
                    })
                    .collect();
                push(Stage::Interpolate { a: a as u32, grid }, n, g.npts);
                n = g.npts;
                rate = g.sampling_rate;
                start = g.start_ns;
            }
            Step::Decimate {
                factor,
                no_filter,
                strict_length,
            } => {
                let aa =
                    decimate::shape(n, rate, *factor, *no_filter, *strict_length).map_err(cpu)?;
                if let Some(sos) = aa {
                    if !shader_f64 {
                        return Err(PlanError::Unsupported(
                            "decimate's anti-alias filter (the adapter has no SHADER_F64)".into(),
                        ));
                    }
                    push(
                        Stage::Filter {
                            sos: flatten(&sos)?,
                            zerophase: false,
                        },
                        n,
                        n,
                    );
                }
                let out = n.div_ceil(*factor);
                push(Stage::Decimate { factor: *factor }, n, out);
                n = out;
                rate /= *factor as f64;
            }
        }
        if let Some(w) = warning {
            prog.warnings
                .push(format!("step {} ({}): {w}", i + 1, step.op()));
        }
        if n == 0 {
            return Err(cpu("no samples left".into()));
        }
    }
    prog.n_out = n;
    prog.sampling_rate_out = rate;
    Ok(prog)
}

/// A trace's start time at each remove_response step (where its response epoch is looked up)
/// and at the end. Only interpolate moves the start; the lengths and rates are the group's.
pub fn starts(
    steps: &[Step],
    n: usize,
    sampling_rate: f64,
    start_ns: i64,
) -> Result<(Vec<i64>, i64), String> {
    let (mut n, mut rate, mut start) = (n, sampling_rate, start_ns);
    let mut at = Vec::new();
    for step in steps {
        match step {
            Step::RemoveResponse { .. } => at.push(start),
            Step::Interpolate {
                sampling_rate: new_rate,
                starttime,
                npts,
                time_shift,
                ..
            } => {
                let g =
                    interpolate::grid(n, start, rate, *new_rate, *starttime, *npts, *time_shift)?;
                (n, rate, start) = (g.npts, g.sampling_rate, g.start_ns);
            }
            Step::Resample {
                sampling_rate: new_rate,
                no_filter,
                strict_length,
                ..
            } => {
                n = resample::shape(n, rate, *new_rate, *no_filter, *strict_length)?.num;
                rate = *new_rate;
            }
            Step::Decimate { factor, .. } => {
                n = n.div_ceil(*factor);
                rate /= *factor as f64;
            }
            _ => {}
        }
    }
    Ok((at, start))
}
