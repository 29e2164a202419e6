//! Second-order sections (filter, and the anti-alias filters of resample and decimate):
//! twin `ops::filter::apply`; kernel `filter_sos`, the recursion in f64 (SHADER_F64), one
//! invocation per trace, in chunks of FILTER_CHUNK samples with the state kept in a buffer.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::filter;
use crate::ops::iir::Sos;

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub sos: Arc<[Sos]>,
    pub zerophase: bool,
}

impl StageOps for Filter {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        filter::apply(&self.sos, self.zerophase, &mut x.tr.data);
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({"sections": self.sos.len(), "zerophase": self.zerophase})
    }

    fn table_bytes(&self) -> usize {
        self.sos.len() * 48
    }
}
