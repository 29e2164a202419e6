//! `Trace.decimate` (NUMERICS §6.1): ObsPy's causal Chebyshev II anti-alias filter, then every
//! factor-th sample.

use super::iir::{lowpass_cheby_2, sosfilt, Sos};

/// ObsPy's refusal for strict_length (the caller checks for an empty trace first).
pub fn check(n: usize, factor: usize, strict_length: bool) -> Result<(), String> {
    if strict_length && !n.is_multiple_of(factor) {
        return Err(format!(
            "trace length {n} is not a multiple of the decimation factor {factor}"
        ));
    }
    Ok(())
}

/// ObsPy's anti-alias filter for decimation by `factor`.
pub fn antialias(sampling_rate: f64, factor: usize) -> Vec<Sos> {
    lowpass_cheby_2(sampling_rate * 0.5 / factor as f64, sampling_rate, 12)
}

/// Every factor-th sample: the decimate stage's CPU twin (after the anti-alias filter).
pub fn pick(x: &[f64], factor: usize) -> Vec<f64> {
    x.iter().step_by(factor).copied().collect()
}

/// Returns the decimated samples; the caller divides the sampling rate by `factor`.
pub fn decimate(
    x: &mut Vec<f64>,
    sampling_rate: f64,
    factor: usize,
    no_filter: bool,
    strict_length: bool,
) -> Result<(), String> {
    check(x.len(), factor, strict_length)?;
    if !no_filter {
        sosfilt(&antialias(sampling_rate, factor), x);
    }
    *x = pick(x, factor);
    Ok(())
}
