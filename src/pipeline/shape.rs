//! A trace's shape (length, rate, start) before and after a step, and why a step fails for
//! a shape: what each operation's shape rule (`pipeline::ops`) reads and writes, and what
//! `plan::shapes` walks.

use crate::error::TraceError;
use crate::ops::interpolate::Grid;
use crate::ops::trim::Cut;

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
