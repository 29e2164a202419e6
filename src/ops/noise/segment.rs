//! NoisePy's `cut_trace_make_stat` and the window selection of its correlation step: a chunk
//! of `inc_hours` cut into windows of `cc_len` every `step` seconds, each demeaned,
//! detrended (the least-squares line, `ops::detrend`) and tapered (NoisePy's `taper`: a Hann
//! ramp of 20 points at each end), with each window's max |x| over the chunk's standard
//! deviation; windows at or above `max_over_std` are dropped by the caller as NoisePy's S1
//! does (`Windows::keep`).

use super::NoiseParams;
use crate::ops::detrend::{detrend, DetrendType};

/// Most windows one chunk may be cut into, and most samples in a window (the parameters come
/// from a configuration file: a bound before allocating).
pub const MAX_WINDOWS: usize = 100_000;
pub const MAX_WINDOW_SAMPLES: usize = 1 << 26;

/// A chunk's windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// Each window's samples, demeaned, detrended and tapered.
    pub data: Vec<Vec<f64>>,
    /// Each window's start, seconds from the chunk's (NoisePy `dataS_t` less the start).
    pub offsets: Vec<f64>,
    /// Each window's max |x| over the whole chunk's standard deviation (`trace_stdS`).
    pub std_ratio: Vec<f64>,
}

impl Windows {
    /// Indices of the windows NoisePy correlates: 0 < ratio < `max_over_std` (NaN fails).
    pub fn keep(&self, max_over_std: f64) -> Vec<usize> {
        (0..self.std_ratio.len())
            .filter(|&i| self.std_ratio[i] > 0.0 && self.std_ratio[i] < max_over_std)
            .collect()
    }
}

/// The windows of `data` (a chunk at `sps` samples per second, NoisePy's `int(sps)`), or none
/// where NoisePy returns none: data shorter than the chunk, or a chunk whose MAD or standard
/// deviation is zero or NaN. Errors name a parameter that cannot cut windows.
pub fn cut(data: &[f64], sps: f64, p: &NoiseParams) -> Result<Windows, String> {
    let empty = Windows {
        data: Vec::new(),
        offsets: Vec::new(),
        std_ratio: Vec::new(),
    };
    if !(sps.is_finite() && sps >= 1.0) {
        return Err(format!("sampling rate {sps}: windows need at least 1 Hz"));
    }
    if !(p.cc_len.is_finite() && p.cc_len > 0.0 && p.step.is_finite() && p.step >= 1.0) {
        return Err(format!(
            "cc_len {} and step {}: both must be positive (step at least 1 s)",
            p.cc_len, p.step
        ));
    }
    if !(p.inc_hours.is_finite() && p.inc_hours > 0.0) {
        return Err(format!("inc_hours {}: must be positive", p.inc_hours));
    }
    let sps_i = sps.trunc();
    let chunk = sps_i * p.inc_hours * 3600.0;
    let nseg = ((p.inc_hours / 24.0 * 86400.0 - p.cc_len) / p.step).floor();
    let npts = (p.cc_len * sps_i).trunc();
    if !(nseg >= 1.0 && nseg <= MAX_WINDOWS as f64) {
        return Err(format!(
            "cc_len {} s every {} s in {} hours: {nseg} windows (1 to {MAX_WINDOWS})",
            p.cc_len, p.step, p.inc_hours
        ));
    }
    if !(npts >= 2.0 && npts <= MAX_WINDOW_SAMPLES as f64) {
        return Err(format!(
            "cc_len {} s at {sps_i} Hz: {npts} samples a window (2 to {MAX_WINDOW_SAMPLES})",
            p.cc_len
        ));
    }
    if (data.len() as f64) < chunk {
        return Ok(empty);
    }
    let (nseg, npts) = (nseg as usize, npts as usize);
    let std = std_dev(data);
    let mad = mad(data);
    if mad == 0.0 || std == 0.0 || mad.is_nan() || std.is_nan() {
        return Ok(empty);
    }
    let stride = p.step.trunc() as usize * sps_i as usize;
    let win = taper_window(npts);
    let mut out = Windows {
        data: Vec::with_capacity(nseg),
        offsets: Vec::with_capacity(nseg),
        std_ratio: Vec::with_capacity(nseg),
    };
    for i in 0..nseg {
        let a = i * stride;
        // nseg windows of cc_len every step fit the chunk, which data holds.
        let Some(seg) = data.get(a..a + npts) else {
            break;
        };
        let peak = seg.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        out.std_ratio.push(peak / std);
        out.offsets.push(p.step * i as f64);
        let mut w = seg.to_vec();
        // NoisePy's QR solve of [i/n, 1] is the least-squares line ObsPy's linear detrend
        // removes.
        for kind in [DetrendType::Demean, DetrendType::Linear] {
            detrend(&mut w, kind)?;
        }
        for (v, t) in w.iter_mut().zip(&win) {
            *v *= t;
        }
        out.data.push(w);
    }
    Ok(out)
}

/// numpy's `std` (population).
fn std_dev(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// NoisePy's `mad`: median(|x - median(x)|).
fn mad(x: &[f64]) -> f64 {
    let med = median(x.to_vec());
    median(x.iter().map(|v| (v - med).abs()).collect())
}

/// numpy's `median` (the mean of the middle two for an even count; NaN if any is NaN).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() || v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// NoisePy's `taper` window: ObsPy's symmetric Hann of 2 wlen + 1 points split at its peak,
/// wlen = 20 (a twentieth of the window where that is shorter: NoisePy slices with that
/// float and fails; we take its floor), ones between.
fn taper_window(npts: usize) -> Vec<f64> {
    let wlen = if npts as f64 * 0.05 > 20.0 {
        20
    } else {
        (npts as f64 * 0.05) as usize
    };
    let m = if 2 * wlen == npts {
        2 * wlen
    } else {
        2 * wlen + 1
    };
    // scipy's hann: 0.5 + 0.5 cos(linspace(-pi, pi, m)).
    let sides: Vec<f64> = super::linspace(-std::f64::consts::PI, std::f64::consts::PI, m)
        .into_iter()
        .map(|f| 0.5 + 0.5 * f.cos())
        .collect();
    let mut w = vec![1.0; npts];
    w[..wlen].copy_from_slice(&sides[..wlen]);
    w[npts - wlen..].copy_from_slice(&sides[m - wlen..]);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_are_errors_and_short_data_has_no_windows() {
        let p = NoiseParams {
            inc_hours: 1.0,
            cc_len: 600.0,
            step: 300.0,
            ..Default::default()
        };
        let short = vec![1.0; 10 * 3599];
        assert!(cut(&short, 10.0, &p).unwrap().data.is_empty());
        assert!(cut(&vec![1.0; 36_000], 10.0, &p).unwrap().data.is_empty()); // std 0
        for bad in [
            NoiseParams {
                step: 0.0,
                ..p.clone()
            },
            NoiseParams {
                cc_len: f64::NAN,
                ..p.clone()
            },
            NoiseParams {
                cc_len: 7200.0,
                ..p.clone()
            },
            NoiseParams {
                step: 1e-300,
                ..p.clone()
            },
            NoiseParams {
                inc_hours: 1e30,
                ..p.clone()
            },
        ] {
            assert!(cut(&short, 10.0, &bad).is_err(), "{bad:?}");
        }
        assert!(cut(&short, 0.5, &p).is_err());
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), 2.5);
    }
}
