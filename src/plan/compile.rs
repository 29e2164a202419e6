//! `Shapes` -> `Plan`: the stages a trace of that shape runs, with their tables, computed
//! once per plan key (cached by `Planner`) and shared by every trace of that key, on either
//! executor.

use super::shapes::{Failure, PlanKey, Shapes};
use crate::pipeline::build::Build;
pub use crate::pipeline::build::{ResponseNeed, StageAt, SENSITIVITY};
use crate::pipeline::Step;

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
        let mut b = Build {
            step: i,
            stages: &mut plan.stages,
            responses: &mut plan.responses,
        };
        step.compile(&mut b, s).map_err(|message| Failure {
            step: i + 1,
            op: step.op(),
            message,
        })?;
    }
    Ok(plan)
}
