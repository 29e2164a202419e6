//! `normalize`: twin `ops::normalize`, kernels `normalize_peak` (the largest |sample| per
//! trace, into `Buf::Fit`; only without a given norm) and `normalize_apply`.

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::normalize;

#[derive(Debug, Clone, PartialEq)]
pub struct Normalize {
    /// ObsPy's `norm`: None divides by the trace's largest |sample|.
    pub norm: Option<f64>,
}

impl StageOps for Normalize {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        normalize::normalize(&mut x.tr.data, self.norm);
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({"norm": self.norm})
    }
}
