//! `Trace.filter(type, freq | freqmin, freqmax, corners=4, zerophase=False)`: ObsPy's
//! Butterworth band-pass, band-stop, low-pass and high-pass as second-order sections, and
//! `Trace.filter("lowpass_cheby_2", freq, maxorder=12, ba=False, freq_passband=False)`
//! (`obspy.signal.filter.lowpass_cheby_2`: no corners, no zerophase).

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
    /// Butterworth order; lowpass_cheby_2's `maxorder`.
    pub corners: usize,
    pub zerophase: bool,
}

/// lowpass_cheby_2's keys: `freq` (the stop band, Hz), `maxorder` (default 12), and `ba` and
/// `freq_passband`, which only make ObsPy's function return something else than data
/// (coefficients, or a tuple `Trace.filter` cannot store): accepted as false only.
fn cheby2(k: &mut Keys) -> Result<Filter, ConfigError> {
    let freq = k
        .positive("freq")?
        .ok_or_else(|| k.err("freq", "required, in Hz"))?;
    let maxorder = k.usize("maxorder")?.unwrap_or(12);
    if maxorder == 0 || maxorder > 32 {
        return Err(k.err("maxorder", format!("must be 1..=32, got {maxorder}")));
    }
    for key in ["ba", "freq_passband"] {
        if k.bool(key, false)? {
            return Err(k.err(
                key,
                "only false: with true ObsPy's lowpass_cheby_2 returns filter coefficients or a \
                 (data, passband) tuple, which Trace.filter cannot store as data",
            ));
        }
    }
    Ok(Filter {
        kind: FilterType::LowpassCheby2,
        freq: Some(freq),
        freqmin: None,
        freqmax: None,
        corners: maxorder,
        zerophase: false,
    })
}

impl Operation for Filter {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let ty = k
            .str("type")?
            .ok_or_else(|| {
                k.err(
                    "type",
                    "required: bandpass, bandstop, lowpass, highpass or lowpass_cheby_2",
                )
            })?;
        // ObsPy's Trace.filter lower-cases the type ("Bandpass" works there).
        let kind = match ty.to_ascii_lowercase().as_str() {
            "bandpass" => FilterType::Bandpass,
            "bandstop" => FilterType::Bandstop,
            "lowpass" => FilterType::Lowpass,
            "highpass" => FilterType::Highpass,
            "lowpass_cheby_2" => return cheby2(k),
            s => {
                return Err(k.err(
                    "type",
                    format!(
                        "`{s}` is not supported (expected bandpass, bandstop, lowpass, highpass \
                         or lowpass_cheby_2)"
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
            FilterType::Lowpass | FilterType::Highpass | FilterType::LowpassCheby2 => {
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
