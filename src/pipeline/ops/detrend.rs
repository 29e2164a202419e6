//! `Trace.detrend(type="simple", **options)`: ObsPy's simple, demean (constant) and linear
//! detrends, and its polynomial (`order`) and spline (`order`, `dspline`) fits.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::ops::lsq::MAX_POLYNOMIAL_ORDER;
use crate::pipeline::DetrendType;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detrend {
    /// Serialised as ObsPy's keywords: `type`, and `order` / `dspline` for the fits.
    #[serde(flatten)]
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
            "polynomial" => {
                let order = k
                    .usize("order")?
                    .ok_or_else(|| k.err("order", "required for type = \"polynomial\""))?;
                if order > MAX_POLYNOMIAL_ORDER {
                    return Err(k.err(
                        "order",
                        format!("{order} > {MAX_POLYNOMIAL_ORDER}: numpy's polyfit has lost every digit long before"),
                    ));
                }
                DetrendType::Polynomial { order }
            }
            "spline" => {
                let order = k
                    .usize("order")?
                    .ok_or_else(|| k.err("order", "required for type = \"spline\""))?;
                if !(1..=5).contains(&order) {
                    return Err(k.err(
                        "order",
                        format!("must be 1 to 5 (scipy's spline degrees), got {order}"),
                    ));
                }
                let dspline = k
                    .usize("dspline")?
                    .ok_or_else(|| k.err("dspline", "required for type = \"spline\": samples between knots"))?;
                if dspline == 0 {
                    return Err(k.err("dspline", "must be >= 1 sample"));
                }
                DetrendType::Spline { order, dspline }
            }
            other => {
                return Err(k.err(
                    "type",
                    format!("`{other}` is not supported (expected simple, demean, constant, linear, polynomial or spline)"),
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
