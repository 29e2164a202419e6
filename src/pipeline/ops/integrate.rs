//! `Trace.integrate(method="cumtrapz")`: scipy's cumulative_trapezoid, initial 0.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Integrate {
    pub method: String,
}

impl Operation for Integrate {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        // ObsPy lower-cases the method; "spline" (InterpolatedUnivariateSpline) is not here.
        let method = k.str("method")?.unwrap_or("cumtrapz").to_ascii_lowercase();
        if method != "cumtrapz" {
            return Err(k.err(
                "method",
                format!("\"{method}\" is not supported (only ObsPy's default, \"cumtrapz\")"),
            ));
        }
        Ok(Integrate { method })
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        // An empty trace is left alone (ObsPy's skip_if_no_data).
        if n > 0 {
            b.push(stages::Integrate { dx: 1.0 / rate }, n, n);
        }
        Ok(())
    }
}
