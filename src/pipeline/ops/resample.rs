//! `Trace.resample(sampling_rate, window="hann", no_filter=True, strict_length=False)`:
//! scipy's Fourier-method resample as ObsPy calls it.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::ops::resample;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::pipeline::Window;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resample {
    pub sampling_rate: f64,
    /// None = `window=None` in ObsPy (written `window = "none"`).
    pub window: Option<Window>,
    pub no_filter: bool,
    pub strict_length: bool,
}

impl Operation for Resample {
    const CHANGES_SHAPE: bool = true;

    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let sampling_rate = k.rate("sampling_rate")?;
        // scipy's get_window (what ObsPy's resample calls) is case-sensitive: "Hann"
        // raises there, so it is refused here too.
        let window = match k.str("window")?.unwrap_or("hann") {
            "none" | "None" => None,
            w => Some(
                Window::parse(w)
                    // get_window takes a bare name only for windows without parameters.
                    .filter(|p| {
                        *p != Window::Cosine
                            && p.params().is_empty()
                            && w == w.to_ascii_lowercase()
                    })
                    .ok_or_else(|| {
                        k.err(
                            "window",
                            format!("unknown window `{w}` (a scipy window name or \"none\")"),
                        )
                    })?,
            ),
        };
        Ok(Resample {
            sampling_rate,
            window,
            no_filter: k.bool("no_filter", true)?,
            strict_length: k.bool("strict_length", false)?,
        })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        // ObsPy returns an empty trace unchanged, its rate included.
        if n > 0 {
            let new_rate = self.sampling_rate;
            let shape = resample::shape(n, rate, new_rate, self.no_filter, self.strict_length)?;
            s.warning = shape.warning;
            s.after.npts = shape.num;
            s.after.sampling_rate = new_rate;
        }
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate, n_out) = (s.before.npts, s.before.sampling_rate, s.after.npts);
        if n > 0 {
            let new_rate = self.sampling_rate;
            if !self.no_filter {
                let sos = resample::antialias(rate, new_rate);
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
                stages::Resample::new(n, rate, new_rate, n_out, self.window),
                n,
                n_out,
            );
        }
        Ok(())
    }
}
