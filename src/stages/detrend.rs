//! `detrend` (also remove_response's zero_mean, as demean): twin `ops::detrend`, kernels
//! `detrend_fit` (one workgroup per trace reduces the fit) and `detrend_apply`.

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::detrend;
use crate::ops::detrend::DetrendType;

#[derive(Debug, Clone, PartialEq)]
pub struct Detrend {
    pub kind: DetrendType,
}

impl StageOps for Detrend {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        let data = &mut x.tr.data;
        // ObsPy's linear detrend is scipy's lstsq, which refuses non-finite input; the other
        // kinds return NaN samples (which the engine then refuses to write).
        if self.kind == DetrendType::Linear {
            if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                return Err(StageError::Op(format!(
                    "linear detrend needs finite samples; sample {i} is {} (ObsPy: \"array must not contain infs or NaNs\")",
                    data[i]
                )));
            }
        }
        detrend::detrend(data, self.kind).map_err(StageError::Op)
    }

    /// ObsPy's keywords: `type`, and `order` / `dspline` for the fits.
    fn describe(&self) -> Value {
        serde_json::to_value(self.kind).unwrap_or_else(|_| json!({}))
    }
}
