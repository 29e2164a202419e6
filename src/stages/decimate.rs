//! Every factor-th sample (after the anti-alias filter stage): twin `ops::decimate::pick`,
//! kernel `decimate`.

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::decimate;

#[derive(Debug, Clone, PartialEq)]
pub struct Decimate {
    pub factor: usize,
}

impl StageOps for Decimate {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        x.tr.data = decimate::pick(&x.tr.data, self.factor);
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({"factor": self.factor})
    }
}
