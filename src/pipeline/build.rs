//! What compiling one operation produces (`pipeline::ops`): the stages it appends to the
//! plan, each with its lengths, and the response tables the executors look up per trace.

pub use crate::response::cache::TableSpec;
use crate::stages::Stage;

/// A stage in a plan: which step it belongs to (0-based) and its lengths per trace.
#[derive(Debug, Clone, PartialEq)]
pub struct StageAt {
    pub stage: Stage,
    pub step: usize,
    pub n_in: usize,
    pub n_out: usize,
}

pub use crate::response::cache::SENSITIVITY;

/// What the executors look up per trace for one remove_response (or remove_sensitivity)
/// step (the response at the start the trace has when the step runs: ObsPy's rule).
pub use crate::stages::ResponseNeed;

/// One operation's compilation: the step it is (0-based) and where its stages and response
/// needs go (`plan::compile` owns the vectors).
pub struct Build<'a> {
    pub step: usize,
    pub(crate) stages: &'a mut Vec<StageAt>,
    pub(crate) responses: &'a mut Vec<ResponseNeed>,
}

impl Build<'_> {
    /// Appends `stage`, taking `n_in` samples per trace to `n_out`.
    pub fn push(&mut self, stage: impl Into<Stage>, n_in: usize, n_out: usize) {
        self.stages.push(StageAt {
            stage: stage.into(),
            step: self.step,
            n_in,
            n_out,
        });
    }

    /// The index the next response need will have (a stage refers to its table by it).
    pub fn next_response(&self) -> usize {
        self.responses.len()
    }

    /// Records what the executors look up per trace for this step.
    pub fn need_response(&mut self, spec: TableSpec) {
        self.responses.push(ResponseNeed {
            step: self.step,
            spec,
        });
    }
}
