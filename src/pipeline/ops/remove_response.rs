//! `Trace.remove_response(inventory, output="VEL", water_level=60, pre_filt=None,
//! zero_mean=True, taper=True, taper_fraction=0.05)`: demean, cosine taper, then the
//! spectral division by the response looked up per trace (NUMERICS §3).

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::ops::{deconvolve, taper};
use crate::pipeline::build::{Build, TableSpec};
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::pipeline::{DetrendType, Output, DEFAULT_WATER_LEVEL};
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoveResponse {
    pub output: Output,
    /// None = no water level (`water_level = false`; ObsPy's `None`), see NUMERICS §3.6.
    /// An omitted key is ObsPy's default, [`DEFAULT_WATER_LEVEL`].
    pub water_level: Option<f64>,
    pub pre_filt: Option<[f64; 4]>,
    pub zero_mean: bool,
    pub taper: bool,
    pub taper_fraction: f64,
}

impl Operation for RemoveResponse {
    const NEEDS_RESPONSE: bool = true;

    fn parse(k: &mut Keys, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let n = k.step();
        let output = match k
            .str("output")?
            .unwrap_or("VEL")
            .to_ascii_uppercase()
            .as_str()
        {
            "DISP" => Output::Disp,
            "VEL" => Output::Vel,
            "ACC" => Output::Acc,
            "DEF" => Output::Def,
            s => {
                return Err(k.err(
                    "output",
                    format!("expected DISP, VEL, ACC or DEF, got `{s}`"),
                ))
            }
        };
        // ObsPy's default is 60 (NUMERICS §3.6); TOML has no None, so "no water level" is
        // spelled `water_level = false` (a literal port of `remove_response(inv)` must
        // give ObsPy's numbers: an omitted key meaning none differed by a relative L2
        // of 191).
        let water_level = match k.get("water_level") {
            None => Some(DEFAULT_WATER_LEVEL),
            Some(toml::Value::Boolean(false)) => None,
            Some(toml::Value::Float(x)) if x.is_finite() => Some(*x),
            Some(toml::Value::Integer(x)) => Some(*x as f64),
            Some(v) => {
                return Err(k.err(
                    "water_level",
                    format!(
                        "expected a number in dB (ObsPy's default 60), or false for no water level; got {v}"
                    ),
                ))
            }
        };
        if water_level == Some(0.0) {
            warnings.push(format!(
                "step {n} (remove_response): water_level = 0 clips every bin to the response peak: \
                 the inverse response becomes one constant magnitude (phase correction only). \
                 ObsPy does the same; write water_level = false for no water level"
            ));
        }
        let pre_filt = k.pre_filt()?;
        let zero_mean = k.bool("zero_mean", true)?;
        let taper = k.bool("taper", true)?;
        let taper_fraction = k.f64("taper_fraction")?.unwrap_or(0.05);
        if !(0.0..=1.0).contains(&taper_fraction) {
            return Err(k.err(
                "taper_fraction",
                format!("must be in [0, 1], got {taper_fraction}"),
            ));
        }
        Ok(RemoveResponse {
            output,
            water_level,
            pre_filt,
            zero_mean,
            taper,
            taper_fraction,
        })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        if n == 0 {
            return Err("trace has no samples".to_string());
        }
        if self.taper {
            taper::cosine_bounds(n, self.taper_fraction, true)?;
        }
        if let Some(pf) = self.pre_filt {
            let nyq = 0.5 * rate;
            if pf[3] > nyq {
                s.warning = Some(format!(
                    "pre_filt corner f4 = {} Hz is above Nyquist ({nyq} Hz) of this trace",
                    pf[3]
                ));
            }
        }
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        if self.zero_mean {
            let kind = DetrendType::Demean;
            b.push(stages::Detrend { kind }, n, n);
        }
        if self.taper {
            let w = taper::cosine_taper(n, self.taper_fraction, true, false)?;
            b.push(stages::Taper { window: w.into() }, n, n);
        }
        let nfft = deconvolve::npts2nfft(n);
        b.push(stages::Deconvolve::new(nfft, b.next_response()), n, n);
        b.need_response(TableSpec::Inverse {
            delta: 1.0 / rate,
            nfft,
            output: self.output,
            water_level: self.water_level,
            pre_filt: self.pre_filt,
        });
        Ok(())
    }
}
