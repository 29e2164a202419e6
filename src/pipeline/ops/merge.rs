//! `Stream.merge(method=0, fill_value=None, interpolation_samples=0)`: the pieces of a
//! channel in one input (a file, or an archive window) joined before anything is processed
//! (`ops::merge` has the arithmetic). Without a `fill_value` ObsPy leaves gaps masked, which
//! its processing refuses: a `split` step must follow (the pieces between the gaps, processed
//! each on its own). Only `select` may come before it: merge works on the traces as read.

use super::Operation;
use crate::error::ConfigError;
use crate::ops::merge::Fill;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;

pub use crate::ops::merge::MergeArgs as Merge;

impl Operation for Merge {
    const CHANGES_SHAPE: bool = true;

    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let method = match k.get("method") {
            None => 0,
            Some(toml::Value::Integer(m)) if [-1, 0, 1].contains(m) => *m as i8,
            Some(v) => return Err(k.err("method", format!("expected -1, 0 or 1, got {v}"))),
        };
        let fill_value = match k.get("fill_value") {
            None => Fill::Masked,
            Some(toml::Value::String(s)) if s == "interpolate" => Fill::Interpolate,
            Some(toml::Value::String(s)) if s == "latest" => Fill::Latest,
            Some(toml::Value::Float(x)) if x.is_finite() => Fill::Value(*x),
            Some(toml::Value::Integer(x)) => Fill::Value(*x as f64),
            Some(v) => {
                return Err(k.err(
                    "fill_value",
                    format!("expected a number, \"interpolate\" or \"latest\", got {v}"),
                ))
            }
        };
        let interpolation_samples = match k.get("interpolation_samples") {
            None => 0,
            Some(toml::Value::Integer(n)) if *n >= -1 => *n,
            Some(v) => {
                return Err(k.err(
                    "interpolation_samples",
                    format!("expected -1 or a number of samples >= 0, got {v}"),
                ))
            }
        };
        if method == -1 && (fill_value != Fill::Masked || interpolation_samples != 0) {
            return Err(k.err(
                "method",
                "method -1 (ObsPy's cleanup merge) takes no fill_value or interpolation_samples",
            ));
        }
        Ok(Merge {
            method,
            fill_value,
            interpolation_samples,
        })
    }

    /// Decided on the input's traces before any step (`Pipeline::merge`): no stages.
    fn compile(&self, _b: &mut Build, _s: &StepShape) -> Result<(), String> {
        Ok(())
    }
}
