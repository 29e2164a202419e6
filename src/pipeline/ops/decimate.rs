//! `Trace.decimate(factor, no_filter=False, strict_length=False)`: ObsPy's anti-alias
//! low-pass (unless no_filter), then every factor-th sample.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::ops::decimate;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decimate {
    pub factor: usize,
    pub no_filter: bool,
    pub strict_length: bool,
}

impl Operation for Decimate {
    const CHANGES_SHAPE: bool = true;

    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let factor = k
            .usize("factor")?
            .ok_or_else(|| k.err("factor", "required, an integer >= 1"))?;
        let no_filter = k.bool("no_filter", false)?;
        if factor == 0 {
            return Err(k.err("factor", "must be >= 1"));
        }
        if !no_filter && factor > 16 {
            return Err(k.err(
                "factor",
                format!("{factor} > 16 with the anti-alias filter (ObsPy refuses this): decimate in several steps"),
            ));
        }
        Ok(Decimate {
            factor,
            no_filter,
            strict_length: k.bool("strict_length", false)?,
        })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        if n == 0 {
            // As ObsPy (its decimation raises on an empty trace).
            return Err("trace has no samples".to_string());
        }
        decimate::check(n, self.factor, self.strict_length)?;
        s.after.npts = n.div_ceil(self.factor);
        s.after.sampling_rate = rate / self.factor as f64;
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        if !self.no_filter {
            let sos = decimate::antialias(rate, self.factor);
            b.push(
                stages::Filter {
                    sos: sos.into(),
                    zerophase: false,
                },
                n,
                n,
            );
        }
        b.push(
            stages::Decimate {
                factor: self.factor,
            },
            n,
            s.after.npts,
        );
        Ok(())
    }
}
