//! One plan for both executors. Pipeline steps + a trace's shape (npts, sampling rate,
//! start) -> `Shapes` (the one walk over the steps: lengths, rates and starts after each
//! step, ObsPy's warnings, the error ObsPy would raise) -> `Plan` (the stages with their f64
//! parameters and tables: windows, filter sections, spectrum windows, grids, FFT lengths,
//! which response table each deconvolution needs). No device data here (FFT splits and
//! radices, f32 tables and resample's taps are derived in `gpu`): a plan is
//! plain data, unit-tested without a GPU, and printed by `seisbatch plan`.
//!
//! The CPU executor (`exec::cpu`) runs each stage through its twin in `src/ops/<stage>.rs`;
//! the GPU executor (`gpu`) records the same stages as kernels (`shaders/<stage>.wgsl`) and
//! rounds the tables to f32 where it uploads them. `crate::stages` is the stage table.

mod cache;
mod compile;
mod shapes;
#[cfg(test)]
mod tests;

pub use crate::stages::Stage;
pub use cache::{Compiled, Planner, MAX_PLAN_BYTES};
pub use compile::{compile, Plan, ResponseNeed, StageAt, SENSITIVITY};
pub use shapes::{shapes, shapes_at, Failure, PlanKey, Shape, Shapes, StepShape};

/// The plan for one trace shape on its own (tests, benchmarks, `seisbatch plan`): the walk's
/// failure, if any, is the error.
pub fn plan_for(steps: &[crate::pipeline::Step], shape: Shape) -> Result<Plan, Failure> {
    let s = shapes(steps, shape);
    if let Some(f) = s.failure {
        return Err(f);
    }
    compile(steps, &s)
}
