//! `Trace.resample` (NUMERICS §5): ObsPy's own FFT method (linear interpolation of the spectrum
//! onto the new grid), not scipy's resample.

use num_complex::Complex64 as C;

use super::iir::{lowpass_cheby_2, sosfilt, Sos};
use super::{fft, taper};
use crate::ops::taper::Window;

/// What resample will do to an n-sample trace: the output length, whether the anti-alias
/// filter runs (not with no_filter) and ObsPy's warning. The plan asks this for every trace
/// shape, so both paths refuse and warn alike; the filter is designed once per plan.
pub struct Shape {
    pub num: usize,
    pub antialias: bool,
    pub warning: Option<String>,
}

/// ObsPy's anti-alias filter before resampling from `sampling_rate` to `new_rate`.
pub fn antialias(sampling_rate: f64, new_rate: f64) -> Vec<Sos> {
    let factor = sampling_rate / new_rate;
    lowpass_cheby_2(sampling_rate * 0.5 / factor, sampling_rate, 12)
}

pub fn shape(
    n: usize,
    sampling_rate: f64,
    new_rate: f64,
    no_filter: bool,
    strict_length: bool,
) -> Result<Shape, String> {
    let factor = sampling_rate / new_rate;
    if strict_length && (n as f64 % factor) != 0.0 {
        return Err("end time of trace would change (strict_length)".into());
    }
    if !no_filter && factor > 16.0 {
        return Err(format!(
            "resampling factor {factor} > 16 with the anti-alias filter: resample in several steps"
        ));
    }
    let antialias = !no_filter;
    // Upsampling with the filter puts its corner past Nyquist: ObsPy warns, or fails.
    let mut warning = if antialias {
        super::iir::cheby2_check(sampling_rate * 0.5 / factor, sampling_rate)?
    } else {
        None
    };
    let mut num = (n as f64 / factor) as usize;
    if num == 0 {
        warning = Some(
            "resampled trace would have less than one sample: retaining exactly one sample"
                .to_string(),
        );
        num = 1;
    }
    // An upsampling typo (sampling_rate = 220000 for 20) must fail with a reason, not take
    // gigabytes per trace.
    if let Some(p) = crate::limits::samples_problem(&format!("resampling to {new_rate} Hz"), num) {
        return Err(p);
    }
    Ok(Shape {
        num,
        antialias,
        warning,
    })
}

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
    let Shape {
        num,
        antialias,
        warning,
    } = shape(n, sampling_rate, new_rate, no_filter, strict_length)?;
    let mut data = x.to_vec();
    if antialias {
        sosfilt(&self::antialias(sampling_rate, new_rate), &mut data);
    }
    let win = spectrum_window(n, window);
    Ok((spectral(&data, sampling_rate, new_rate, num, &win), warning))
}

/// The spectral part (after the anti-alias filter): the resample stage's CPU twin. `win` is
/// `spectrum_window(x.len(), window)`.
pub fn spectral(x: &[f64], sampling_rate: f64, new_rate: f64, num: usize, win: &[f64]) -> Vec<f64> {
    let n = x.len();
    let half = n / 2 + 1;
    // In this thread's FFT buffers (issue #14: nothing allocated per trace but the output);
    // the arithmetic is the one of ObsPy's code, step for step.
    fft::with_work(|w| {
        w.rfft(x, n);
        let (spec, [xr, xi, f]) = w.spectrum_and_aux();
        xr.clear();
        xr.extend(spec.iter().map(|c| c.re));
        xi.clear();
        xi.extend(spec.iter().map(|c| c.im));
        xi[0] = 0.0;
        if n.is_multiple_of(2) {
            xi[half - 1] = 0.0;
        }
        for k in 0..half {
            xr[k] *= win[k];
            xi[k] *= win[k];
        }
        input_freqs_into(n, sampling_rate, f);
        let d_large_f = 1.0 / num as f64 * new_rate;
        let n_large = num / 2 + 1;
        spec.clear();
        spec.extend((0..n_large).map(|j| {
            let fj = d_large_f * j as f64;
            C::new(np_interp(fj, f, xr), np_interp(fj, f, xi))
        }));
        let mut out = Vec::with_capacity(num);
        w.irfft(num, num, &mut out);
        let s = num as f64 / n as f64;
        out.iter_mut().for_each(|v| *v *= s);
        out
    })
}

/// ObsPy multiplies bin k (k <= n/2) by `window(n)` rolled by n/2: sym[(k + n/2) % n] of the
/// length-(n+1) symmetric window (NUMERICS §5); all ones for window=None.
pub fn spectrum_window(n: usize, window: Option<Window>) -> Vec<f64> {
    let half = n / 2 + 1;
    match window {
        // scipy's get_window returns ones for a length of 1 (its length guard) rather than
        // sampling the window: a one-sample trace keeps its value (ObsPy 1.5.1, fixtures in
        // tests/fixtures/degenerate/).
        Some(_) if n <= 1 => vec![1.0; half],
        Some(w) => {
            let sym = taper::window(w, n + 1);
            (0..half).map(|k| sym[(k + n / 2) % n]).collect()
        }
        None => vec![1.0; half],
    }
}

/// Frequencies of the input bins, df * k.
fn input_freqs(n: usize, sampling_rate: f64) -> Vec<f64> {
    let mut f = Vec::new();
    input_freqs_into(n, sampling_rate, &mut f);
    f
}

fn input_freqs_into(n: usize, sampling_rate: f64, f: &mut Vec<f64>) {
    let delta = 1.0 / sampling_rate;
    let df = 1.0 / (n as f64 * delta);
    f.clear();
    f.extend((0..n / 2 + 1).map(|k| df * k as f64));
}

/// The spectrum interpolation as two taps per output bin j <= num/2: Y_j = a X_k + b X_{k+1}
/// with the window folded in (the GPU kernel resample.wgsl applies these; b = 0 where numpy's
/// interp clamps or hits a knot). np_interp computes the same value as fp[k] + slope (x - xp[k]).
pub fn taps(
    n: usize,
    sampling_rate: f64,
    new_rate: f64,
    num: usize,
    window: Option<Window>,
) -> Vec<(usize, f64, f64)> {
    taps_from(n, sampling_rate, new_rate, num, &spectrum_window(n, window))
}

/// `taps` with the spectrum window already made (`spectrum_window`, n/2+1 values).
pub fn taps_from(
    n: usize,
    sampling_rate: f64,
    new_rate: f64,
    num: usize,
    win: &[f64],
) -> Vec<(usize, f64, f64)> {
    let f = input_freqs(n, sampling_rate);
    let last = f.len() - 1;
    let d_large_f = 1.0 / num as f64 * new_rate;
    (0..num / 2 + 1)
        .map(|j| {
            let x = d_large_f * j as f64;
            if last == 0 || x <= f[0] {
                return (0, win[0], 0.0);
            }
            if x >= f[last] {
                return (last, win[last], 0.0);
            }
            let k = f.partition_point(|&v| v <= x) - 1;
            if f[k] == x {
                return (k, win[k], 0.0);
            }
            let t = (x - f[k]) / (f[k + 1] - f[k]);
            (k, (1.0 - t) * win[k], t * win[k + 1])
        })
        .collect()
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
