//! `Trace.filter` for the Butterworth types (NUMERICS §6.3), with ObsPy's range rules.

use super::iir::{butter, cheby2_check, lowpass_cheby_2, sosfilt, Band, Sos};
use serde::Serialize;

/// ObsPy's `Trace.filter` types this runs: Butterworth, and the Chebyshev type II low-pass
/// ObsPy's decimate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterType {
    Bandpass,
    Bandstop,
    Lowpass,
    Highpass,
    #[serde(rename = "lowpass_cheby_2")]
    LowpassCheby2,
}

/// Applies `sos` in place, forward then (zerophase) backward: the filter stage's CPU twin.
pub fn apply(sos: &[Sos], zerophase: bool, x: &mut [f64]) {
    sosfilt(sos, x);
    if zerophase {
        // Forward then backward, no padding, zero initial state both ways (NUMERICS §6.3).
        x.reverse();
        sosfilt(sos, x);
        x.reverse();
    }
}

/// Applies the filter in place; returns ObsPy's warning, if it gives one.
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors Trace.filter's keyword arguments"
)]
pub fn filter(
    x: &mut [f64],
    sampling_rate: f64,
    kind: FilterType,
    freq: Option<f64>,
    freqmin: Option<f64>,
    freqmax: Option<f64>,
    corners: usize,
    zerophase: bool,
) -> Result<Option<String>, String> {
    let (sos, warning) = design(sampling_rate, kind, freq, freqmin, freqmax, corners)?;
    apply(&sos, zerophase, x);
    Ok(warning)
}

/// The sections `filter` applies and ObsPy's warning, if any; shared with the GPU plan so
/// both paths filter with the same f64 coefficients. `corners` is the Butterworth order, or
/// lowpass_cheby_2's `maxorder`.
pub fn design(
    sampling_rate: f64,
    kind: FilterType,
    freq: Option<f64>,
    freqmin: Option<f64>,
    freqmax: Option<f64>,
    corners: usize,
) -> Result<(Vec<Sos>, Option<String>), String> {
    let (band, warning) = check(sampling_rate, kind, freq, freqmin, freqmax)?;
    if kind == FilterType::LowpassCheby2 {
        let f = freq.unwrap_or(0.0);
        return Ok((lowpass_cheby_2(f, sampling_rate, corners), warning));
    }
    Ok((butter(corners, band), warning))
}

/// ObsPy's range rules: the normalised band the filter will have, ObsPy's warning, or its
/// refusal. No design: the plan calls this for every trace shape, `design` once per shape.
pub fn check(
    sampling_rate: f64,
    kind: FilterType,
    freq: Option<f64>,
    freqmin: Option<f64>,
    freqmax: Option<f64>,
) -> Result<(Band, Option<String>), String> {
    let fe = 0.5 * sampling_rate;
    let mut warning = None;
    let band = match kind {
        FilterType::Bandpass => {
            let (lo, hi) = (freqmin.unwrap_or(0.0) / fe, freqmax.unwrap_or(0.0) / fe);
            if lo > 1.0 {
                return Err(format!(
                    "bandpass freqmin {} Hz is above Nyquist ({fe} Hz)",
                    lo * fe
                ));
            }
            if hi - 1.0 > -1e-6 {
                warning = Some(format!(
                    "bandpass freqmax ({} Hz) >= Nyquist ({fe} Hz): applying a highpass at freqmin instead, as ObsPy does",
                    hi * fe
                ));
                Band::High(lo)
            } else {
                Band::Pass(lo, hi)
            }
        }
        FilterType::Bandstop => {
            let (lo, hi) = (freqmin.unwrap_or(0.0) / fe, freqmax.unwrap_or(0.0) / fe);
            if lo > 1.0 || hi >= 1.0 {
                return Err(format!("bandstop corners must lie below Nyquist ({fe} Hz)"));
            }
            Band::Stop(lo, hi)
        }
        FilterType::Lowpass => {
            let f = freq.unwrap_or(0.0) / fe;
            if f >= 1.0 {
                return Err(format!(
                    "lowpass freq {} Hz is not below Nyquist ({fe} Hz)",
                    f * fe
                ));
            }
            Band::Low(f)
        }
        FilterType::Highpass => {
            let f = freq.unwrap_or(0.0) / fe;
            if f >= 1.0 {
                return Err(format!(
                    "highpass freq {} Hz is not below Nyquist ({fe} Hz)",
                    f * fe
                ));
            }
            Band::High(f)
        }
        // ObsPy clamps the stop band to Nyquist and warns (its design, `design`).
        FilterType::LowpassCheby2 => {
            let f = freq.unwrap_or(0.0);
            warning = cheby2_check(f, sampling_rate)?;
            Band::Low((f / fe).min(1.0))
        }
    };
    Ok((band, warning))
}
