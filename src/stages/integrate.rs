//! `integrate` (cumtrapz): twin `ops::integrate::cumtrapz`, kernel `integrate` (a scan per
//! trace, into the other real buffer); ObsPy's `method="spline"` is a host stage (an
//! interpolating spline is a banded solve over the whole trace: `ops::lsq::spline_integral`).

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::integrate;

#[derive(Debug, Clone, PartialEq)]
pub struct Integrate {
    /// The trace's sample spacing (s).
    pub dx: f64,
    /// `method="spline"` with this degree `k`; None: cumtrapz.
    pub spline: Option<usize>,
}

impl StageOps for Integrate {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        match self.spline {
            None => {
                integrate::cumtrapz(&mut x.tr.data, self.dx);
                Ok(())
            }
            Some(k) => {
                x.tr.data = crate::ops::lsq::spline_integral(&x.tr.data, self.dx, k)
                    .map_err(StageError::Op)?;
                Ok(())
            }
        }
    }

    fn describe(&self) -> Value {
        match self.spline {
            None => json!({"method": "cumtrapz", "dx": self.dx}),
            Some(k) => json!({"method": "spline", "k": k, "dx": self.dx}),
        }
    }
}
