//! A trace's shape through the steps (length, rate, start after each step), with ObsPy's
//! warnings and the error ObsPy would raise for this shape. This is the one walk over the
//! steps: it is cheap (no tables) and runs for every trace, because starts are per trace
//! (responses are looked up at the start a trace has when remove_response runs, and
//! interpolate's grid rounds on absolute times). The tables come from `compile`, cached by
//! `Shapes::key`.

use crate::error::TraceError;
use crate::limits;
use crate::ops::interpolate::{self, Grid};
use crate::ops::trim::{self, Cut};
use crate::ops::{decimate, filter, resample, taper};
use crate::pipeline::{InterpMethod, Step};

/// A trace's length, rate and start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub npts: usize,
    pub sampling_rate: f64,
    pub start_ns: i64,
}

impl Shape {
    pub fn of(tr: &crate::trace::Trace) -> Shape {
        Shape {
            npts: tr.data.len(),
            sampling_rate: tr.sampling_rate,
            start_ns: tr.start_ns,
        }
    }
}

/// One step's effect on a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct StepShape {
    pub before: Shape,
    pub after: Shape,
    pub warning: Option<String>,
    /// interpolate: this trace's new grid.
    pub grid: Option<Grid>,
    /// trim: which samples this trace keeps.
    pub cut: Option<Cut>,
}

/// Why a trace fails at a step: ObsPy's error for this shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 1-based, as the report counts steps.
    pub step: usize,
    pub op: &'static str,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} ({}): {}", self.step, self.op, self.message)
    }
}

impl Failure {
    pub fn error(&self) -> TraceError {
        TraceError::Op {
            step: self.step,
            op: self.op.to_string(),
            message: self.message.clone(),
        }
    }
}

/// What the plan needs to know to be the same for two traces: the input length and rate, how
/// many steps run, and each interpolate step's grid (which rounds on absolute times).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlanKey {
    pub npts: usize,
    pub rate_bits: u64,
    pub steps_run: usize,
    /// Per interpolate step: output samples, offset and dt_factor bits.
    pub grids: Vec<(usize, u64, u64)>,
    /// Per trim step: fills before, first kept sample, kept samples, fills after.
    pub cuts: Vec<(usize, usize, usize, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shapes {
    pub input: Shape,
    /// The steps whose stages run, in order.
    pub steps: Vec<StepShape>,
    /// Why the trace fails once those stages have run (a data error in them comes first).
    pub failure: Option<Failure>,
}

impl Shapes {
    pub fn output(&self) -> Shape {
        self.steps.last().map_or(self.input, |s| s.after)
    }

    /// ObsPy's warnings, worded "step N (op): ..." as the report lists them.
    pub fn warnings(&self, steps: &[Step]) -> Vec<String> {
        self.steps
            .iter()
            .zip(steps)
            .enumerate()
            .filter_map(|(i, (s, step))| {
                s.warning
                    .as_ref()
                    .map(|w| format!("step {} ({}): {w}", i + 1, step.op()))
            })
            .collect()
    }

    pub fn key(&self) -> PlanKey {
        PlanKey {
            npts: self.input.npts,
            rate_bits: self.input.sampling_rate.to_bits(),
            steps_run: self.steps.len(),
            grids: self
                .steps
                .iter()
                .filter_map(|s| s.grid.as_ref())
                .map(|g| (g.npts, g.offset.to_bits(), g.dt_factor.to_bits()))
                .collect(),
            cuts: self
                .steps
                .iter()
                .filter_map(|s| s.cut.as_ref())
                .map(|c| (c.pad_before, c.skip, c.keep, c.pad_after))
                .collect(),
        }
    }
}

/// Walks `steps` for a trace of shape `input`.
pub fn shapes(steps: &[Step], input: Shape) -> Shapes {
    shapes_at(steps, input, Err("the trace has no event"))
}

/// `shapes` for a trace whose event's origin time is `origin` (or why it has none): what
/// `origin+S` trim bounds are relative to.
pub fn shapes_at(steps: &[Step], input: Shape, origin: Result<i64, &str>) -> Shapes {
    let mut out = Shapes {
        input,
        steps: Vec::with_capacity(steps.len()),
        failure: None,
    };
    let mut cur = input;
    for (i, step) in steps.iter().enumerate() {
        let fail = |message: String| Failure {
            step: i + 1,
            op: step.op(),
            message,
        };
        match step_shape(step, cur, origin) {
            Err(m) => {
                out.failure = Some(fail(m));
                break;
            }
            Ok(s) => {
                let after = s.after;
                out.steps.push(s);
                // A shift or a new rate must leave times a trace can carry (limits.rs).
                if let Some(p) =
                    limits::span_problem(after.start_ns, after.npts, after.sampling_rate)
                {
                    out.failure = Some(fail(p));
                    break;
                }
                cur = after;
            }
        }
    }
    out
}

/// One step: ObsPy's checks in ObsPy's order, the new shape and the warning.
fn step_shape(step: &Step, before: Shape, origin: Result<i64, &str>) -> Result<StepShape, String> {
    let Shape {
        npts: n,
        sampling_rate: rate,
        start_ns: start,
    } = before;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!("invalid sampling rate {rate}"));
    }
    let mut s = StepShape {
        before,
        after: before,
        warning: None,
        grid: None,
        cut: None,
    };
    let empty = || Err("trace has no samples".to_string());
    match step {
        Step::Detrend { .. } => {}
        Step::Taper {
            max_percentage,
            max_length,
            ..
        } => {
            if n > 0 {
                let (_, warn) = taper::taper_len(n, rate, *max_percentage, *max_length);
                s.warning = warn.then(|| taper::WHOLE_TRACE.to_string());
            }
        }
        Step::RemoveResponse {
            pre_filt,
            taper,
            taper_fraction,
            ..
        } => {
            if n == 0 {
                return empty();
            }
            if *taper {
                taper::cosine_bounds(n, *taper_fraction, true)?;
            }
            if let Some(pf) = pre_filt {
                let nyq = 0.5 * rate;
                if pf[3] > nyq {
                    s.warning = Some(format!(
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
            ..
        } => {
            if n == 0 {
                // As ObsPy (its filter raises on an empty trace).
                return empty();
            }
            s.warning = filter::check(rate, *kind, *freq, *freqmin, *freqmax)?.1;
        }
        Step::Resample {
            sampling_rate: new_rate,
            no_filter,
            strict_length,
            ..
        } => {
            // ObsPy returns an empty trace unchanged, its rate included.
            if n > 0 {
                let shape = resample::shape(n, rate, *new_rate, *no_filter, *strict_length)?;
                s.warning = shape.warning;
                s.after.npts = shape.num;
                s.after.sampling_rate = *new_rate;
            }
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
            let g = interpolate::grid(n, start, rate, *new_rate, *starttime, *npts, *time_shift)?;
            s.after.start_ns = g.start_ns;
            if n > 0 {
                match method {
                    InterpMethod::Lanczos if a.is_none() => return Err("lanczos needs `a`".into()),
                    InterpMethod::WeightedAverageSlopes if n < 2 => {
                        return Err("weighted_average_slopes needs at least 2 samples".into())
                    }
                    _ => {}
                }
                s.after.npts = g.npts;
                s.after.sampling_rate = g.sampling_rate;
                s.grid = Some(g);
            }
        }
        Step::Decimate {
            factor,
            strict_length,
            ..
        } => {
            if n == 0 {
                // As ObsPy (its decimation raises on an empty trace).
                return empty();
            }
            decimate::check(n, *factor, *strict_length)?;
            s.after.npts = n.div_ceil(*factor);
            s.after.sampling_rate = rate / *factor as f64;
        }
        // ObsPy skips an empty trace (`skip_if_no_data`); remove_sensitivity divides it.
        Step::Integrate { .. } | Step::RemoveSensitivity => {}
        Step::Differentiate { .. } => {
            if n == 1 {
                // numpy.gradient's error for one sample.
                return Err(
                    "Shape of array too small to calculate a numerical gradient, at \
                            least (edge_order + 1) elements are required."
                        .into(),
                );
            }
        }
        // Decided on the trace's codes before the walk (`pipeline::select`).
        Step::Select(_) => {}
        // Between the plans of its segments (`exec::grouped`), never in one.
        Step::Rotate(_) => {}
        Step::Trim(args) => {
            let c = trim::cut(n, start, rate, args, origin)?;
            // Fills on both sides may each be within the limits and their sum not.
            if let Some(p) = limits::samples_problem("trimming with pad", c.npts()) {
                return Err(p);
            }
            if c.npts() == 0 {
                return Err(
                    "the trim window holds none of this trace's samples (ObsPy would \
                            return an empty trace; seisbatch fails it instead of writing an \
                            empty file)"
                        .into(),
                );
            }
            s.after.npts = c.npts();
            s.after.start_ns = c.start_ns;
            s.cut = Some(c);
        }
        Step::Normalize { norm } => {
            if n == 0 && norm.is_none() {
                // Trace.max() of no samples: numpy's error.
                return Err(
                    "zero-size array to reduction operation maximum which has no \
                            identity"
                        .into(),
                );
            }
        }
    }
    Ok(s)
}
