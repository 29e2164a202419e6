//! `Trace.integrate(method="cumtrapz", **options)`: scipy's cumulative_trapezoid, initial 0;
//! or `method="spline"` with `k` = 3: the antiderivative of scipy's
//! InterpolatedUnivariateSpline through the samples.

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
    /// The spline's degree (method spline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
}

impl Operation for Integrate {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        // ObsPy lower-cases the method.
        let method = k.str("method")?.unwrap_or("cumtrapz").to_ascii_lowercase();
        let degree = match method.as_str() {
            "cumtrapz" => None,
            "spline" => {
                let d = k.usize("k")?.unwrap_or(3);
                if !(1..=5).contains(&d) {
                    return Err(k.err("k", format!("must be 1 to 5 (scipy's spline degrees), got {d}")));
                }
                Some(d)
            }
            _ => {
                return Err(k.err(
                    "method",
                    format!("\"{method}\" is not supported (ObsPy's cumtrapz or spline)"),
                ))
            }
        };
        Ok(Integrate { method, k: degree })
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        // An empty trace is left alone (ObsPy's skip_if_no_data).
        if n > 0 {
            let spline = self.k;
            b.push(
                stages::Integrate {
                    dx: 1.0 / rate,
                    spline,
                },
                n,
                n,
            );
        }
        Ok(())
    }
}
