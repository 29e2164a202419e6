//! `Trace.normalize(norm=None)`: divide by |norm|, or by the largest |sample|.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Normalize {
    pub norm: Option<f64>,
}

impl Operation for Normalize {
    fn parse(k: &mut Keys, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let n = k.step();
        let norm = k.f64("norm")?;
        if let Some(v) = norm {
            if v == 0.0 {
                warnings.push(format!(
                    "step {n} (normalize): norm = 0: Attempting to normalize by dividing \
                     through zero. This is not allowed and the data will thus not be \
                     changed. (ObsPy's warning)"
                ));
            }
            if v < 0.0 {
                warnings.push(format!(
                    "step {n} (normalize): norm = {v}: Normalizing with negative values is \
                     forbidden. Using absolute value. (ObsPy's warning)"
                ));
            }
        }
        Ok(Normalize { norm })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        if s.before.npts == 0 && self.norm.is_none() {
            // Trace.max() of no samples: numpy's error.
            return Err(
                "zero-size array to reduction operation maximum which has no identity".into(),
            );
        }
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let n = s.before.npts;
        // Normalizing nothing with a norm divides nothing.
        if n > 0 {
            b.push(stages::Normalize { norm: self.norm }, n, n);
        }
        Ok(())
    }
}
