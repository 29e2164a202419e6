//! `Shapes` -> `Plan`: the stages a trace of that shape runs, with their tables, computed
//! once per plan key (cached by `Planner`) and shared by every trace of that key, on either
//! executor.

use super::fft::{self, FftPlan};
use super::shapes::{Failure, PlanKey, Shapes};
use crate::ops::{decimate, deconvolve, filter, resample, taper};
use crate::pipeline::{DetrendType, Output, Step};
use crate::stages::{
    Decimate, Deconvolve, Detrend, Differentiate, Filter, Integrate, Interpolate, Normalize,
    RemoveSensitivity, Resample, Stage, Taper, Trim,
};

/// A stage in a plan: which step it belongs to (0-based) and its lengths per trace.
#[derive(Debug, Clone, PartialEq)]
pub struct StageAt {
    pub stage: Stage,
    pub step: usize,
    pub n_in: usize,
    pub n_out: usize,
}

/// `ResponseNeed::nfft` of a remove_sensitivity step: its "table" is one bin, 1 / the
/// InstrumentSensitivity value (`response::cache::sensitivity_table`), so it rides the same
/// lookup, cache and device pool as remove_response's tables.
pub const SENSITIVITY: usize = 0;

/// What the executor looks up per trace for one remove_response (or remove_sensitivity)
/// step: the inverse table for (the response at the trace's start then, delta, nfft, output,
/// water level, pre_filt).
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
pub struct Plan {
    pub key: PlanKey,
    pub stages: Vec<StageAt>,
    pub n_in: usize,
    pub n_out: usize,
    pub rate_in: f64,
    pub rate_out: f64,
    pub responses: Vec<ResponseNeed>,
    /// The sample type the outputs are written in: every final sample must fit it
    /// (`Planner::holding`; float32, the CLI's files, unless told otherwise).
    pub holds: crate::trace::Holds,
}

impl Plan {
    /// Bytes of tables the plan holds.
    pub fn table_bytes(&self) -> usize {
        self.stages.iter().map(|s| s.stage.table_bytes()).sum()
    }
}

/// The plan for traces walked as `shapes` through `steps`. Fails only where a table cannot
/// be built for this shape (the walk has checked every such case already).
pub fn compile(steps: &[Step], shapes: &Shapes) -> Result<Plan, Failure> {
    let mut plan = Plan {
        key: shapes.key(),
        stages: Vec::new(),
        n_in: shapes.input.npts,
        n_out: shapes.output().npts,
        rate_in: shapes.input.sampling_rate,
        rate_out: shapes.output().sampling_rate,
        responses: Vec::new(),
        holds: crate::trace::Holds::default(),
    };
    for (i, (step, s)) in steps.iter().zip(&shapes.steps).enumerate() {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        let n_out = s.after.npts;
        let fail = |message: String| Failure {
            step: i + 1,
            op: step.op(),
            message,
        };
        let mut push = |stage: Stage, n_in: usize, n_out: usize| {
            plan.stages.push(StageAt {
                stage,
                step: i,
                n_in,
                n_out,
            })
        };
        match step {
            Step::Detrend { kind } => push(Detrend { kind: *kind }.into(), n, n),
            Step::Taper {
                max_percentage,
                kind,
                max_length,
                side,
            } => {
                if n > 0 {
                    let w =
                        taper::taper_window(n, rate, *max_percentage, *kind, *max_length, *side);
                    push(Taper { window: w.into() }.into(), n, n);
                }
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
                    push(
                        Detrend {
                            kind: DetrendType::Demean,
                        }
                        .into(),
                        n,
                        n,
                    );
                }
                if *taper {
                    let w = taper::cosine_taper(n, *taper_fraction, true, false).map_err(fail)?;
                    push(Taper { window: w.into() }.into(), n, n);
                }
                let nfft = deconvolve::npts2nfft(n);
                push(
                    Deconvolve {
                        nfft,
                        fft: FftPlan::new(nfft),
                        rfft: fft::rfft_split(nfft, crate::gpu::kernels::RFFT_TILE),
                        response: plan.responses.len(),
                    }
                    .into(),
                    n,
                    n,
                );
                plan.responses.push(ResponseNeed {
                    step: i,
                    delta: 1.0 / rate,
                    nfft,
                    output: *output,
                    water_level: *water_level,
                    pre_filt: *pre_filt,
                });
            }
            Step::Filter {
                kind,
                freq,
                freqmin,
                freqmax,
                corners,
                zerophase,
            } => {
                let (sos, _) = filter::design(rate, *kind, *freq, *freqmin, *freqmax, *corners)
                    .map_err(fail)?;
                push(
                    Filter {
                        sos: sos.into(),
                        zerophase: *zerophase,
                    }
                    .into(),
                    n,
                    n,
                );
            }
            Step::Resample {
                sampling_rate: new_rate,
                window,
                no_filter,
                ..
            } => {
                if n > 0 {
                    if !no_filter {
                        let sos = resample::antialias(rate, *new_rate);
                        push(
                            Filter {
                                sos: sos.into(),
                                zerophase: false,
                            }
                            .into(),
                            n,
                            n,
                        );
                    }
                    push(
                        Resample {
                            num: n_out,
                            sampling_rate: rate,
                            new_rate: *new_rate,
                            window: resample::spectrum_window(n, *window).into(),
                            taps: resample::taps(n, rate, *new_rate, n_out, *window).into(),
                            fwd: FftPlan::new(n),
                            rfft: fft::rfft_split(n, crate::gpu::kernels::RFFT_TILE),
                            inv: FftPlan::new(n_out),
                        }
                        .into(),
                        n,
                        n_out,
                    );
                }
            }
            Step::Interpolate { method, a, .. } => {
                if let Some(g) = &s.grid {
                    push(
                        Interpolate {
                            method: *method,
                            a: *a,
                            offset: g.offset,
                            dt_factor: g.dt_factor,
                        }
                        .into(),
                        n,
                        n_out,
                    );
                }
            }
            Step::Decimate {
                factor, no_filter, ..
            } => {
                if !no_filter {
                    let sos = decimate::antialias(rate, *factor);
                    push(
                        Filter {
                            sos: sos.into(),
                            zerophase: false,
                        }
                        .into(),
                        n,
                        n,
                    );
                }
                push(Decimate { factor: *factor }.into(), n, n_out);
            }
            // An empty trace is left alone (ObsPy's skip_if_no_data; normalize of nothing
            // with a norm divides nothing).
            Step::Integrate { .. } if n > 0 => {
                push(Integrate { dx: 1.0 / rate }.into(), n, n);
            }
            Step::Differentiate { .. } if n > 0 => {
                push(Differentiate { dx: 1.0 / rate }.into(), n, n);
            }
            Step::Normalize { norm } if n > 0 => {
                push(Normalize { norm: *norm }.into(), n, n);
            }
            Step::Integrate { .. } | Step::Differentiate { .. } | Step::Normalize { .. } => {}
            Step::Select(_) => {}
            // Between the plans of its segments (`exec::grouped`), never in one.
            Step::Rotate(_) => {}
            Step::Trim(args) => {
                if let Some(c) = &s.cut {
                    push(
                        Trim {
                            pad_before: c.pad_before,
                            skip: c.skip,
                            keep: c.keep,
                            pad_after: c.pad_after,
                            fill: args.fill_value.unwrap_or(0.0),
                        }
                        .into(),
                        n,
                        c.npts(),
                    );
                }
            }
            // Even for no samples: ObsPy looks the response up (and fails without one).
            Step::RemoveSensitivity => {
                push(
                    RemoveSensitivity {
                        response: plan.responses.len(),
                    }
                    .into(),
                    n,
                    n,
                );
                plan.responses.push(ResponseNeed {
                    step: i,
                    delta: 1.0 / rate,
                    nfft: SENSITIVITY,
                    output: Output::Def,
                    water_level: None,
                    pre_filt: None,
                });
            }
        }
    }
    Ok(plan)
}
