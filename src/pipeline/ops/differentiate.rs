//! `Trace.differentiate(method="gradient")`: numpy's gradient (edge_order 1).

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Differentiate {
    pub method: String,
}

impl Operation for Differentiate {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let method = k.str("method")?.unwrap_or("gradient").to_ascii_lowercase();
        if method != "gradient" {
            return Err(k.err(
                "method",
                format!("\"{method}\" is not supported (ObsPy has only \"gradient\")"),
            ));
        }
        Ok(Differentiate { method })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        if s.before.npts == 1 {
            // numpy.gradient's error for one sample.
            return Err("Shape of array too small to calculate a numerical gradient, at \
                        least (edge_order + 1) elements are required."
                .into());
        }
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        // An empty trace is left alone (ObsPy's skip_if_no_data).
        if n > 0 {
            b.push(stages::Differentiate { dx: 1.0 / rate }, n, n);
        }
        Ok(())
    }
}
