//! `trim`: the trace's `ops::trim::Cut` (fills, kept samples, fills), worked out per trace by
//! the plan's walk from ObsPy's arithmetic. Twin `Cut::apply`; kernel `trim` (a gather into
//! the other real buffer).

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::trim::Cut;

#[derive(Debug, Clone, PartialEq)]
pub struct Trim {
    pub pad_before: usize,
    pub skip: usize,
    pub keep: usize,
    pub pad_after: usize,
    /// `fill_value` (only read where there are fills).
    pub fill: f64,
}

impl Trim {
    fn cut(&self) -> Cut {
        Cut {
            pad_before: self.pad_before,
            skip: self.skip,
            keep: self.keep,
            pad_after: self.pad_after,
            start_ns: 0,
        }
    }
}

impl StageOps for Trim {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        if self.skip + self.keep > x.tr.data.len() {
            return Err(StageError::Op(format!(
                "internal: a trim of samples {}..{} of {}",
                self.skip,
                self.skip + self.keep,
                x.tr.data.len()
            )));
        }
        x.tr.data = self.cut().apply(&x.tr.data, self.fill);
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({
            "fills_before": self.pad_before,
            "first_kept": self.skip,
            "kept": self.keep,
            "fills_after": self.pad_after,
            "fill_value": self.fill,
        })
    }
}
