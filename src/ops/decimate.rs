//! `Trace.decimate` (spec §6.1): ObsPy's causal Chebyshev II anti-alias filter, then every
//! factor-th sample.

use super::iir::{lowpass_cheby_2, sosfilt};

/// Returns the decimated samples; the caller divides the sampling rate by `factor`.
pub fn decimate(
    x: &mut Vec<f64>,
    sampling_rate: f64,
    factor: usize,
    no_filter: bool,
    strict_length: bool,
) -> Result<(), String> {
    if strict_length && !x.len().is_multiple_of(factor) {
        return Err(format!(
            "trace length {} is not a multiple of the decimation factor {factor}",
            x.len()
        ));
    }
    if !no_filter {
        let freq = sampling_rate * 0.5 / factor as f64;
        sosfilt(&lowpass_cheby_2(freq, sampling_rate, 12), x);
    }
    *x = x.iter().step_by(factor).copied().collect();
    Ok(())
}
