//! interpolate: output j at input position offset + j dt_factor (the same for every trace of
//! the plan; the plan key holds them). Twin `ops::interpolate::apply` (all three methods, on
//! the trace's own grid); kernel `interpolate` (lanczos).

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::interpolate;
use crate::ops::interpolate::InterpMethod;

#[derive(Debug, Clone, PartialEq)]
pub struct Interpolate {
    pub method: InterpMethod,
    pub a: Option<usize>,
    pub offset: f64,
    pub dt_factor: f64,
}

impl StageOps for Interpolate {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        let Some(g) = x.grid else {
            return Err(StageError::Op("interpolate without a grid (bug)".into()));
        };
        x.tr.data = interpolate::apply(&x.tr.data, g, self.method, self.a)?;
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({
            "method": self.method,
            "a": self.a,
            "offset": self.offset,
            "dt_factor": self.dt_factor,
        })
    }
}
