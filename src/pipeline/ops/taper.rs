//! `Trace.taper(max_percentage, type="hann", max_length=None, side="both", **kwargs)`: every
//! window ObsPy 1.5.1 names, with the scipy parameters of those that take some (`beta`,
//! `std`, `p` and `sig`, `at`, `NW`).

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::ops::taper;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::ops::taper::WindowArgs;
use crate::pipeline::{Side, Window};
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Taper {
    pub max_percentage: Option<f64>,
    #[serde(rename = "type")]
    pub kind: Window,
    pub max_length: Option<f64>,
    pub side: Side,
    /// The window's own parameters (scipy's names), for the windows that take some.
    #[serde(flatten)]
    pub args: WindowArgs,
}

/// The parameters `kind` needs, each required (scipy has no defaults for them), checked as
/// scipy would fail on them.
fn window_args(k: &mut Keys, kind: Window, warnings: &mut Vec<String>) -> Result<WindowArgs, ConfigError> {
    let mut args = WindowArgs::default();
    for &name in kind.params() {
        let key: &'static str = name;
        let v = k
            .f64(key)?
            .ok_or_else(|| k.err(key, format!("required for the {name} parameter of this window (scipy has no default)")))?;
        match name {
            "beta" => args.beta = Some(v),
            "std" | "sig" if v <= 0.0 => {
                return Err(k.err(key, format!("must be > 0, got {v}")));
            }
            "std" => args.std = Some(v),
            "sig" => args.sig = Some(v),
            "p" => args.p = Some(v),
            "at" => {
                if v.abs() < 45.0 {
                    warnings.push(format!(
                        "step {} (taper): chebwin at = {v}: This window is not suitable for \
                         spectral analysis for attenuation values lower than about 45dB \
                         because the equivalent noise bandwidth of a Chebyshev window does \
                         not grow monotonically with increasing sidelobe attenuation when \
                         the attenuation is smaller than about 45 dB. (scipy's warning)",
                        k.step()
                    ));
                }
                args.at = Some(v);
            }
            _ => {
                if v <= 0.0 {
                    return Err(k.err(key, format!("NW must be positive, got {v} (scipy's error)")));
                }
                args.nw = Some(v);
            }
        }
    }
    Ok(args)
}

impl Operation for Taper {
    fn parse(k: &mut Keys, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let n = k.step();
        let max_percentage = k.f64("max_percentage")?;
        let max_length = k.f64("max_length")?;
        if max_percentage.is_none() && max_length.is_none() {
            return Err(k.err(
                "max_percentage",
                "required (ObsPy's first argument), or give max_length",
            ));
        }
        if let Some(p) = max_percentage {
            if !(0.0..=1.0).contains(&p) {
                return Err(k.err("max_percentage", format!("must be in [0, 1], got {p}")));
            }
            if p > 0.5 {
                warnings.push(format!(
                    "step {n} (taper): max_percentage {p} > 0.5 tapers the whole trace"
                ));
            }
        }
        if let Some(l) = max_length {
            if l < 0.0 {
                return Err(k.err("max_length", format!("must be >= 0 seconds, got {l}")));
            }
        }
        let ty = k.str("type")?.unwrap_or("hann");
        let kind = Window::parse(ty).ok_or_else(|| {
            k.err(
                "type",
                format!("unknown window `{ty}` (expected one of {})", Window::NAMES),
            )
        })?;
        let args = window_args(k, kind, warnings)?;
        // ObsPy's Trace.taper lower-cases type and side.
        let side = match k
            .str("side")?
            .unwrap_or("both")
            .to_ascii_lowercase()
            .as_str()
        {
            "both" => Side::Both,
            "left" => Side::Left,
            "right" => Side::Right,
            s => return Err(k.err("side", format!("expected both, left or right, got `{s}`"))),
        };
        Ok(Taper {
            max_percentage,
            kind,
            max_length,
            side,
            args,
        })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        if n > 0 {
            let (_, warn) = taper::taper_len(n, rate, self.max_percentage, self.max_length);
            s.warning = warn.then(|| taper::WHOLE_TRACE.to_string());
            // dpss's NW must fit the window this trace gets (scipy raises otherwise).
            if let (Window::Dpss, Some(nw)) = (self.kind, self.args.nw) {
                let m = taper::window_len(n, rate, self.max_percentage, self.max_length);
                if m > 1 && nw >= m as f64 / 2.0 {
                    return Err(format!(
                        "dpss NW = {nw} for a {m}-sample window: NW must be less than M/2. \
                         (scipy's error)"
                    ));
                }
            }
        }
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        if n > 0 {
            let w = taper::taper_window(
                n,
                rate,
                self.max_percentage,
                (self.kind, &self.args),
                self.max_length,
                self.side,
            )?;
            b.push(stages::Taper { window: w.into() }, n, n);
        }
        Ok(())
    }
}
