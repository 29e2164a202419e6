//! `Trace.decimate` (NUMERICS §6.1): ObsPy's causal Chebyshev II anti-alias filter, then every
//! factor-th sample.

use super::iir::{lowpass_cheby_2, sosfilt, Sos};

/// ObsPy's refusal for strict_length, and the anti-alias sections (None with no_filter);
/// shared by the CPU path and the GPU plan.
pub fn shape(
    n: usize,
    sampling_rate: f64,
    factor: usize,
    no_filter: bool,
    strict_length: bool,
) -> Result<Option<Vec<Sos>>, String> {
    if strict_length && !n.is_multiple_of(factor) {
        return Err(format!(
            "trace length {n} is not a multiple of the decimation factor {factor}"
        ));
    }
    Ok((!no_filter)
        .then(|| lowpass_cheby_2(sampling_rate * 0.5 / factor as f64, sampling_rate, 12)))
}

/// Returns the decimated samples; the caller divides the sampling rate by `factor`.
pub fn decimate(
    x: &mut Vec<f64>,
    sampling_rate: f64,
    factor: usize,
    no_filter: bool,
    strict_length: bool,
) -> Result<(), String> {
    if let Some(sos) = shape(x.len(), sampling_rate, factor, no_filter, strict_length)? {
        sosfilt(&sos, x);
    }
    *x = x.iter().step_by(factor).copied().collect();
    Ok(())
}
