//! `differentiate` (gradient): twin `ops::differentiate::gradient`, kernel `differentiate`
//! (a three-point stencil, into the other real buffer).

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::differentiate;

#[derive(Debug, Clone, PartialEq)]
pub struct Differentiate {
    /// The trace's sample spacing (s).
    pub dx: f64,
}

impl StageOps for Differentiate {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        x.tr.data = differentiate::gradient(&x.tr.data, self.dx);
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({"method": "gradient", "dx": self.dx})
    }
}
