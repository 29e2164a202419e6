//! The CPU executor: each stage of the plan through its f64 twin in `src/ops/<stage>.rs`
//! (`stages::<stage>`'s `cpu`).
//! This is ObsPy's arithmetic (docs/NUMERICS.md); the GPU executor is checked against it.

use super::{Beyond, Executor, Outcome, Sources};
use crate::error::TraceError;
use crate::inventory::ResponseSource;
use crate::pipeline::Step;
use crate::plan::{Plan, Planner, Shape, Shapes};
use crate::response::cache::ResponseCache;
use crate::stages::{OnCpu, StageError};
use crate::trace::Trace;

/// Every step on one trace with a plan made for it alone (tests, benchmarks, one-off calls;
/// the engine shares plans through a `Planner`).
pub fn run_steps(
    steps: &[Step],
    tr: &mut Trace,
    responses: &dyn ResponseSource,
    cache: &ResponseCache,
) -> Result<Vec<String>, TraceError> {
    let s = crate::plan::shapes_at(steps, Shape::of(tr), responses.origin());
    let plan = crate::plan::compile(steps, &s).map_err(|f| f.error())?;
    run(steps, &plan, &s, tr, responses, cache)
}

/// Runs `plan` (made for `shapes`, the walk of this trace) on `tr`. Returns ObsPy's warnings;
/// the first failing stage ends the trace with its step's reason.
pub fn run(
    steps: &[Step],
    plan: &Plan,
    shapes: &Shapes,
    tr: &mut Trace,
    responses: &dyn ResponseSource,
    cache: &ResponseCache,
) -> Result<Vec<String>, TraceError> {
    let mut beyond = Beyond::start(plan.holds, &tr.data);
    run_stages(
        steps,
        plan,
        0..plan.stages.len(),
        shapes,
        tr,
        responses,
        cache,
        &mut beyond,
    )?;
    if let Some(f) = &shapes.failure {
        return Err(f.error());
    }
    beyond.check(plan.holds, &tr.data, steps)?;
    let out = shapes.output();
    tr.sampling_rate = out.sampling_rate;
    tr.start_ns = out.start_ns;
    Ok(shapes.warnings(steps))
}

/// Stages `range` of `plan` on `tr`. Each stage sees the rate and start its step begins with
/// (a response is looked up at the start the trace has then); the caller sets the final ones.
/// `beyond` follows which step left samples out of the output type's range. The GPU executor
/// uses this for the stages it leaves to the CPU.
#[expect(
    clippy::too_many_arguments,
    reason = "a stage's inputs, and the trace's range tracker across calls"
)]
pub fn run_stages(
    steps: &[Step],
    plan: &Plan,
    range: std::ops::Range<usize>,
    shapes: &Shapes,
    tr: &mut Trace,
    responses: &dyn ResponseSource,
    cache: &ResponseCache,
    beyond: &mut Beyond,
) -> Result<(), TraceError> {
    let end = range.end;
    for i in range {
        let at = &plan.stages[i];
        if responses.interrupted() {
            return Err(TraceError::Interrupted);
        }
        let step = &shapes.steps[at.step];
        tr.sampling_rate = step.before.sampling_rate;
        tr.start_ns = step.before.start_ns;
        let x = OnCpu {
            needs: &plan.responses,
            grid: step.grid.as_ref(),
            tr: &mut *tr,
            responses,
            cache,
        };
        at.stage.cpu(x).map_err(|e| match e {
            StageError::Op(message) => TraceError::Op {
                step: at.step + 1,
                op: steps[at.step].op().to_string(),
                message,
            },
            StageError::Trace(t) => t,
        })?;
        // Once per step (remove_response's demean, taper and deconvolution are one step for
        // the reason): after its last stage, or the last stage of this call.
        if i + 1 == end || plan.stages[i + 1].step != at.step {
            beyond.after(plan.holds, at.step, &tr.data);
        }
    }
    Ok(())
}

/// The CPU executor for the engine: plans shared through the planner.
pub struct Cpu<'a> {
    pub planner: &'a Planner,
    pub cache: &'a ResponseCache,
    /// Thread-nanoseconds spent in the steps are added here (report.json's process_cpu).
    pub clock: Option<&'a std::sync::atomic::AtomicU64>,
}

impl Cpu<'_> {
    /// One trace through the steps.
    pub fn run_trace(
        &self,
        tr: &mut Trace,
        responses: &dyn ResponseSource,
    ) -> Result<Vec<String>, TraceError> {
        let t = std::time::Instant::now();
        let s = self.planner.shapes_at(Shape::of(tr), responses.origin());
        let r = self
            .planner
            .plan(&s)
            .map_err(|f| f.error())
            .and_then(|plan| run(self.planner.steps(), &plan, &s, tr, responses, self.cache));
        if let Some(c) = self.clock {
            c.fetch_add(
                t.elapsed().as_nanos() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        r
    }
}

impl Executor for Cpu<'_> {
    /// One trace after the other on this thread: the engine runs one `Cpu` per worker (each
    /// with its own FFT scratch), so parallelism comes from the workers, with no barrier at
    /// the end of a call.
    fn process(&mut self, traces: Vec<Trace>, sources: &Sources) -> Vec<Outcome> {
        traces
            .into_iter()
            .enumerate()
            .map(|(i, mut tr)| self.run_trace(&mut tr, sources[i]).map(|w| (tr, w)))
            .collect()
    }
}
