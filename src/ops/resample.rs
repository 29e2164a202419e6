//! `Trace.resample` (spec §5): ObsPy's own FFT method (linear interpolation of the spectrum
//! onto the new grid), not scipy's resample.

use num_complex::Complex64 as C;

use super::iir::{lowpass_cheby_2, sosfilt};
use super::{fft, taper};
use crate::pipeline::Window;

/// Returns the resampled samples; the caller sets the new sampling rate.
pub fn resample(
    x: &[f64],
    sampling_rate: f64,
    new_rate: f64,
    window: Option<Window>,
    no_filter: bool,
    strict_length: bool,
) -> Result<(Vec<f64>, Option<String>), String> {
    let n = x.len();
    let factor = sampling_rate / new_rate;
    if strict_length && (n as f64 % factor) != 0.0 {
        return Err("end time of trace would change (strict_length)".into());
    }
    let mut data = x.to_vec();
    if !no_filter {
        if factor > 16.0 {
            return Err(format!("resampling factor {factor} > 16 with the anti-alias filter: resample in several steps"));
        }
        sosfilt(
            &lowpass_cheby_2(sampling_rate * 0.5 / factor, sampling_rate, 12),
            &mut data,
        );
    }
    let spec = fft::rfft(&data, n);
    let half = n / 2 + 1;
    let mut xr: Vec<f64> = spec.iter().map(|c| c.re).collect();
    let mut xi: Vec<f64> = spec.iter().map(|c| c.im).collect();
    xi[0] = 0.0;
    if n.is_multiple_of(2) {
        xi[half - 1] = 0.0;
    }
    if let Some(w) = window {
        // get_window(window, n) is periodic: the symmetric window of n+1 points, last dropped;
        // ifftshift rolls it by -floor(n/2).
        let sym = taper::window(w, n + 1);
        for k in 0..half {
            let wk = sym[(k + n / 2) % n];
            xr[k] *= wk;
            xi[k] *= wk;
        }
    }
    let mut warning = None;
    let mut num = (n as f64 / factor) as usize;
    if num == 0 {
        warning = Some(
            "resampled trace would have less than one sample: retaining exactly one sample"
                .to_string(),
        );
        num = 1;
    }
    if num > super::MAX_OUTPUT_SAMPLES {
        return Err(format!(
            "resampling to {new_rate} Hz would produce {num} samples (limit {})",
            super::MAX_OUTPUT_SAMPLES
        ));
    }
    let delta = 1.0 / sampling_rate;
    let df = 1.0 / (n as f64 * delta);
    let d_large_f = 1.0 / num as f64 * new_rate;
    let f: Vec<f64> = (0..half).map(|k| df * k as f64).collect();
    let n_large = num / 2 + 1;
    let y: Vec<C> = (0..n_large)
        .map(|j| {
            let fj = d_large_f * j as f64;
            C::new(np_interp(fj, &f, &xr), np_interp(fj, &f, &xi))
        })
        .collect();
    let mut out = fft::irfft(&y, num);
    let s = num as f64 / n as f64;
    out.iter_mut().for_each(|v| *v *= s);
    Ok((out, warning))
}

/// numpy's `interp(x, xp, fp)` for increasing xp: clamps outside, exact at knots.
pub fn np_interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if n == 1 || x <= xp[0] {
        return fp[0];
    }
    if x >= xp[n - 1] {
        return fp[n - 1];
    }
    let j = xp.partition_point(|&v| v <= x) - 1;
    if xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    slope * (x - xp[j]) + fp[j]
}
