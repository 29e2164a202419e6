//! A trace's shape through the steps (length, rate, start after each step), with ObsPy's
//! warnings and the error ObsPy would raise for this shape. This is the one walk over the
//! steps: it is cheap (no tables) and runs for every trace, because starts are per trace
//! (responses are looked up at the start a trace has when remove_response runs, and
//! interpolate's grid rounds on absolute times). The tables come from `compile`, cached by
//! `Shapes::key`.

use crate::limits;
pub use crate::pipeline::shape::{Failure, Shape, StepShape};
use crate::pipeline::Step;

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

/// One step: a rate a trace can have, then the operation's own checks in ObsPy's order
/// (`Operation::shape`), the new shape and the warning.
fn step_shape(step: &Step, before: Shape, origin: Result<i64, &str>) -> Result<StepShape, String> {
    let rate = before.sampling_rate;
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
    step.shape(&mut s, origin)?;
    Ok(s)
}
