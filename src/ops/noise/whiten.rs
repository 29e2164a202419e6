//! NoisePy's spectra of a window (`noise_processing` after the time normalisation):
//! `whiten_1D` inside [freqmin, freqmax] (the bins nearest each, `n_taper` = 100 bins of
//! cosine-squared taper beyond them, zeros outside; the amplitude divided by its running
//! mean over `smooth_N` bins, or the phase alone where smooth_N <= 1), or the plain FFT for
//! `freq_norm = "no"`. The FFT is of `next_fast_len(n)` points. NoisePy keeps the first
//! nfft / 2 bins (`source_white[:, :Nfft2]`), which is what these return.
//! NoisePy's `phase_only` and `rma` run the same `whiten` (smooth_N alone decides): so here.

use num_complex::Complex64 as C;

use super::{linspace, moving_ave, next_fast_len};
use crate::ops::fft;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreqNorm {
    No,
    Rma,
    PhaseOnly,
}

impl FreqNorm {
    /// NoisePy's names: "no", "rma", "phase_only".
    pub fn parse(s: &str) -> Result<FreqNorm, String> {
        match s {
            "no" => Ok(FreqNorm::No),
            "rma" => Ok(FreqNorm::Rma),
            "phase_only" => Ok(FreqNorm::PhaseOnly),
            other => Err(format!(
                "freq_norm {other:?}: expected no, rma or phase_only"
            )),
        }
    }
}

/// Bins NoisePy's whitening tapers beyond the band (`whiten(..., n_taper=100)`).
pub const N_TAPER: usize = 100;

/// The whitening band and its smoothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub dt: f64,
    pub freqmin: f64,
    pub freqmax: f64,
    pub smooth_n: usize,
}

/// The window's spectrum as NoisePy keeps it: nfft / 2 bins, nfft = next_fast_len(len).
pub fn spectrum(x: &[f64], norm: FreqNorm, band: &Band) -> Vec<C> {
    let nfft = next_fast_len(x.len());
    let full = full_fft(x, nfft);
    let half = nfft / 2;
    match norm {
        FreqNorm::No => full[..half].to_vec(),
        FreqNorm::Rma | FreqNorm::PhaseOnly => {
            let mut w = whiten(full, nfft, band);
            w.truncate(half);
            w
        }
    }
}

/// numpy's `fft(x, nfft)` of a real x: rfft and its conjugate mirror.
fn full_fft(x: &[f64], nfft: usize) -> Vec<C> {
    let r = fft::rfft(x, nfft);
    let mut full = Vec::with_capacity(nfft);
    full.extend_from_slice(&r[..r.len().min(nfft)]);
    while full.len() < nfft {
        let k = full.len();
        full.push(r[nfft - k].conj());
    }
    full
}

/// numpy's `fftfreq(n, dt)` at bin k.
fn fftfreq(k: usize, n: usize, dt: f64) -> f64 {
    let val = 1.0 / (n as f64 * dt);
    let m = if k < n.div_ceil(2) {
        k as f64
    } else {
        k as f64 - n as f64
    };
    m * val
}

/// The first bin whose frequency is nearest `f` (numpy's argmin of |freq - f|).
fn nearest(f: f64, n: usize, dt: f64) -> usize {
    let mut best = (0, f64::INFINITY);
    for k in 0..n {
        let d = (fftfreq(k, n, dt) - f).abs();
        if d < best.1 {
            best = (k, d);
        }
    }
    best.0
}

fn whiten(mut spec: Vec<C>, nfft: usize, b: &Band) -> Vec<C> {
    let ix0 = nearest(b.freqmin, nfft, b.dt);
    let ix1 = nearest(b.freqmax, nfft, b.dt);
    let ix11 = (ix1 + N_TAPER).min(nfft);
    let ix00 = ix0.saturating_sub(N_TAPER);
    let zero = C::new(0.0, 0.0);
    spec[..ix00].fill(zero);
    if ix11 < nfft {
        spec[ix11..].fill(zero);
    }
    if ix00 < ix11 {
        let band = &mut spec[ix00..ix11];
        if b.smooth_n <= 1 {
            band.iter_mut()
                .for_each(|v| *v = C::from_polar(1.0, v.arg()));
        } else {
            let abs: Vec<f64> = band.iter().map(|v| v.norm()).collect();
            let m = moving_ave(&abs, b.smooth_n);
            band.iter_mut().zip(m).for_each(|(v, d)| *v /= d);
        }
    }
    // The tapers as NoisePy slices them (an empty slice where the band is reversed).
    let lo = linspace(
        std::f64::consts::FRAC_PI_2,
        std::f64::consts::PI,
        ix0.saturating_sub(ix00),
    );
    for (v, x) in spec[ix00..].iter_mut().zip(lo) {
        *v *= x.cos().powi(2);
    }
    let hi = linspace(0.0, std::f64::consts::FRAC_PI_2, ix11.saturating_sub(ix1));
    for (v, x) in spec[ix1..].iter_mut().zip(hi) {
        *v *= x.cos().powi(2);
    }
    spec
}
