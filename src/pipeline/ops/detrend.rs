//! `Trace.detrend(type="simple")`: ObsPy's simple, demean (constant) and linear detrends.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::pipeline::DetrendType;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detrend {
    #[serde(rename = "type")]
    pub kind: DetrendType,
}

impl Operation for Detrend {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let kind = match k
            .str("type")?
            .unwrap_or("simple")
            .to_ascii_lowercase()
            .as_str()
        {
            "simple" => DetrendType::Simple,
            "demean" | "constant" => DetrendType::Demean,
            "linear" => DetrendType::Linear,
            other => {
                return Err(k.err(
                    "type",
                    format!("`{other}` is not supported (expected simple, demean, constant or linear)"),
                ))
            }
        };
        Ok(Detrend { kind })
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let n = s.before.npts;
        b.push(stages::Detrend { kind: self.kind }, n, n);
        Ok(())
    }
}
