//! `Stream.rotate(method, back_azimuth=None, inclination=None)`: on a station's components
//! together (`exec::grouped`), between the plans of the steps on either side, never inside
//! one. Its keys are checked as ObsPy checks them where that can be before any data; the
//! keyword struct is `ops::rotate::RotateArgs` (the rotation reads it).

use super::Operation;
use crate::error::ConfigError;
use crate::ops::rotate::Method;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;

pub use crate::ops::rotate::RotateArgs as Rotate;

impl Operation for Rotate {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        parse(k)
    }

    /// Between the plans of its segments (`exec::grouped`), never in one: no stages.
    fn compile(&self, _b: &mut Build, _s: &StepShape) -> Result<(), String> {
        Ok(())
    }
}

/// `rotate`'s keys: ObsPy's `method`, `back_azimuth`, `inclination`, and `->ZNE`'s
/// `components` (a string or a list of strings of three letters).
fn parse(k: &mut Keys) -> Result<Rotate, ConfigError> {
    let m = k.str("method")?.ok_or_else(|| {
        k.err(
            "method",
            "required: one of \"->ZNE\", \"NE->RT\", \"RT->NE\", \"ZNE->LQT\", \"LQT->ZNE\"",
        )
    })?;
    let method = Method::parse(m).ok_or_else(|| {
        k.err(
            "method",
            format!("\"{m}\": Method has to be one of ('->ZNE', 'NE->RT', 'RT->NE', 'ZNE->LQT', or 'LQT->ZNE'). (ObsPy's error)"),
        )
    })?;
    let back_azimuth = k.f64("back_azimuth")?;
    if let Some(b) = back_azimuth {
        if !(0.0..=360.0).contains(&b) {
            return Err(k.err(
                "back_azimuth",
                "Back Azimuth should be between 0 and 360 degrees. (ObsPy's error)",
            ));
        }
    }
    let inclination = k.f64("inclination")?;
    if let Some(i) = inclination {
        if !(0.0..=360.0).contains(&i) {
            return Err(k.err(
                "inclination",
                "Inclination should be between 0 and 360 degrees. (ObsPy's error)",
            ));
        }
    }
    if method.needs_inclination() && inclination.is_none() {
        return Err(k.err(
            "inclination",
            "No inclination specified. (ObsPy's error: seisbatch has no travel-time model to compute it)",
        ));
    }
    let components = match k.get("components") {
        None => vec!["Z12".to_string(), "123".to_string()],
        Some(toml::Value::String(s)) => vec![s.clone()],
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| k.err("components", "expected strings of component letters"))?,
        Some(v) => {
            return Err(k.err(
                "components",
                format!("expected a string or a list of strings, got {v}"),
            ))
        }
    };
    if method != Method::ToZne && k.t.contains_key("components") {
        return Err(k.err("components", "only for method \"->ZNE\""));
    }
    if components.is_empty() || components.iter().any(|c| c.chars().count() != 3) {
        return Err(k.err(
            "components",
            "each set is three component letters, e.g. \"Z12\"",
        ));
    }
    Ok(Rotate {
        method,
        back_azimuth,
        inclination,
        components,
    })
}

#[cfg(test)]
mod tests {
    use crate::pipeline::{Pipeline, Step};

    fn err(keys: &str) -> String {
        Pipeline::parse(&format!("[[step]]\nop = \"rotate\"\n{keys}"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn keys_are_checked_as_obspy_checks_them() {
        assert!(err("").contains("method"));
        assert!(err("method = \"NE->ZZ\"").contains("Method has to be one of"));
        assert!(err("method = \"NE->RT\"\nback_azimuth = 361").contains("Back Azimuth"));
        assert!(err("method = \"ZNE->LQT\"\nback_azimuth = 10").contains("No inclination"));
        assert!(err("method = \"ZNE->LQT\"\ninclination = -1").contains("Inclination"));
        assert!(err("method = \"NE->RT\"\ncomponents = \"Z12\"").contains("only for method"));
        assert!(err("method = \"->ZNE\"\ncomponents = [\"Z1\"]").contains("three"));
        assert!(err("method = \"NE->RT\"\nbackazimuth = 3").contains("backazimuth"));
        let p = Pipeline::parse("[[step]]\nop = \"rotate\"\nmethod = \"->ZNE\"\n").unwrap();
        let Step::Rotate(a) = &p.steps[0] else {
            panic!("a rotate step")
        };
        assert_eq!(a.components, ["Z12", "123"]);
        assert_eq!(a.back_azimuth, None);
    }
}
