//! `Trace.filter(type, freq | freqmin, freqmax, corners=4, zerophase=False)`: ObsPy's
//! Butterworth band-pass, band-stop, low-pass and high-pass as second-order sections.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::ops::filter;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::pipeline::FilterType;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filter {
    #[serde(rename = "type")]
    pub kind: FilterType,
    pub freq: Option<f64>,
    pub freqmin: Option<f64>,
    pub freqmax: Option<f64>,
    pub corners: usize,
    pub zerophase: bool,
}

impl Operation for Filter {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let ty = k
            .str("type")?
            .ok_or_else(|| k.err("type", "required: bandpass, bandstop, lowpass or highpass"))?;
        // ObsPy's Trace.filter lower-cases the type ("Bandpass" works there).
        let kind = match ty.to_ascii_lowercase().as_str() {
            "bandpass" => FilterType::Bandpass,
            "bandstop" => FilterType::Bandstop,
            "lowpass" => FilterType::Lowpass,
            "highpass" => FilterType::Highpass,
            s => {
                return Err(k.err(
                    "type",
                    format!(
                        "`{s}` is not supported (expected bandpass, bandstop, lowpass or highpass)"
                    ),
                ))
            }
        };
        let corners = k.usize("corners")?.unwrap_or(4);
        if corners == 0 || corners > 32 {
            return Err(k.err("corners", format!("must be 1..=32, got {corners}")));
        }
        let zerophase = k.bool("zerophase", false)?;
        let (mut freq, mut freqmin, mut freqmax) = (None, None, None);
        match kind {
            FilterType::Lowpass | FilterType::Highpass => {
                freq = Some(
                    k.positive("freq")?
                        .ok_or_else(|| k.err("freq", "required, in Hz"))?,
                );
            }
            FilterType::Bandpass | FilterType::Bandstop => {
                let lo = k
                    .positive("freqmin")?
                    .ok_or_else(|| k.err("freqmin", "required, in Hz"))?;
                let hi = k
                    .positive("freqmax")?
                    .ok_or_else(|| k.err("freqmax", "required, in Hz"))?;
                if lo >= hi {
                    return Err(k.err("freqmax", format!("must be > freqmin ({lo}), got {hi}")));
                }
                freqmin = Some(lo);
                freqmax = Some(hi);
            }
        }
        Ok(Filter {
            kind,
            freq,
            freqmin,
            freqmax,
            corners,
            zerophase,
        })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        if s.before.npts == 0 {
            // As ObsPy (its filter raises on an empty trace).
            return Err("trace has no samples".to_string());
        }
        let rate = s.before.sampling_rate;
        s.warning = filter::check(rate, self.kind, self.freq, self.freqmin, self.freqmax)?.1;
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        let (sos, _) = filter::design(
            rate,
            self.kind,
            self.freq,
            self.freqmin,
            self.freqmax,
            self.corners,
        )?;
        let zerophase = self.zerophase;
        b.push(
            stages::Filter {
                sos: sos.into(),
                zerophase,
            },
            n,
            n,
        );
        Ok(())
    }
}
