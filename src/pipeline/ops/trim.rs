//! `Trace.trim(starttime=None, endtime=None, pad=False, nearest_sample=True,
//! fill_value=None)`, with bounds as absolute times or `origin+S` relative to the event.
//! The keyword struct is `ops::trim::TrimArgs` (the cut arithmetic reads it).

use super::Operation;
use crate::error::ConfigError;
use crate::limits;
use crate::ops::trim::{self, Bound};
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::stages;

pub use crate::ops::trim::TrimArgs as Trim;

/// A trim bound key (`ops::trim::Bound::parse`).
fn bound(k: &mut Keys, key: &'static str) -> Result<Option<Bound>, ConfigError> {
    match k.str(key)? {
        None => Ok(None),
        Some(s) => Bound::parse(s).map(Some).map_err(|m| k.err(key, m)),
    }
}

impl Operation for Trim {
    const CHANGES_SHAPE: bool = true;

    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let starttime = bound(k, "starttime")?;
        let endtime = bound(k, "endtime")?;
        let pad = k.bool("pad", false)?;
        let fill_value = k.f64("fill_value")?;
        if pad && fill_value.is_none() {
            return Err(k.err(
                "fill_value",
                "required with pad = true (ObsPy would leave the padded samples masked, \
                 which no output format here can hold)",
            ));
        }
        Ok(Trim {
            starttime,
            endtime,
            pad,
            nearest_sample: k.bool("nearest_sample", true)?,
            fill_value,
        })
    }

    fn shape(&self, s: &mut StepShape, origin: Result<i64, &str>) -> Result<(), String> {
        let (n, rate, start) = (s.before.npts, s.before.sampling_rate, s.before.start_ns);
        let c = trim::cut(n, start, rate, self, origin)?;
        // Fills on both sides may each be within the limits and their sum not.
        if let Some(p) = limits::samples_problem("trimming with pad", c.npts()) {
            return Err(p);
        }
        if c.npts() == 0 {
            return Err(
                "the trim window holds none of this trace's samples (ObsPy would return an \
                 empty trace; seisbatch fails it instead of writing an empty file)"
                    .into(),
            );
        }
        s.after.npts = c.npts();
        s.after.start_ns = c.start_ns;
        s.cut = Some(c);
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        if let Some(c) = &s.cut {
            b.push(
                stages::Trim {
                    pad_before: c.pad_before,
                    skip: c.skip,
                    keep: c.keep,
                    pad_after: c.pad_after,
                    fill: self.fill_value.unwrap_or(0.0),
                },
                s.before.npts,
                c.npts(),
            );
        }
        Ok(())
    }
}
