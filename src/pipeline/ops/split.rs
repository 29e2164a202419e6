//! `Stream.split()`: a trace with masked gaps cut into its contiguous pieces. seisbatch holds
//! no masked samples: the only masks are those `merge` without a `fill_value` leaves, and the
//! merge step hands over the pieces `split` gives. So this step is where a pipeline says so,
//! as an ObsPy script says it, and it must follow that merge (`Pipeline::parse`).

use super::Operation;
use crate::error::ConfigError;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Split;

impl Operation for Split {
    fn parse(_k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        Ok(Split)
    }

    fn compile(&self, _b: &mut Build, _s: &StepShape) -> Result<(), String> {
        Ok(())
    }
}
