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
    spectrum_with(x, norm, &Plan::new(x.len(), band))
}

/// What whitening windows of one length needs, found once (not per window): the transform
/// length, the band's bins (numpy's argmin over every bin's frequency) and its tapers.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    nfft: usize,
    band: Band,
    ix1: usize,
    ix00: usize,
    ix11: usize,
    /// cos^2 of NoisePy's taper angles below and above the band.
    lo: Vec<f64>,
    hi: Vec<f64>,
}

impl Plan {
    /// For windows of `len` samples.
    pub fn new(len: usize, band: &Band) -> Plan {
        let nfft = next_fast_len(len);
        let ix0 = nearest(band.freqmin, nfft, band.dt);
        let ix1 = nearest(band.freqmax, nfft, band.dt);
        let ix11 = (ix1 + N_TAPER).min(nfft);
        let ix00 = ix0.saturating_sub(N_TAPER);
        let cos2 = |v: Vec<f64>| v.into_iter().map(|x| x.cos().powi(2)).collect();
        Plan {
            nfft,
            band: *band,
            ix1,
            ix00,
            ix11,
            // The tapers as NoisePy slices them (an empty slice where the band is reversed).
            lo: cos2(linspace(
                std::f64::consts::FRAC_PI_2,
                std::f64::consts::PI,
                ix0.saturating_sub(ix00),
            )),
            hi: cos2(linspace(
                0.0,
                std::f64::consts::FRAC_PI_2,
                ix11.saturating_sub(ix1),
            )),
        }
    }
}

impl Plan {
    /// The transform's length.
    pub fn nfft(&self) -> usize {
        self.nfft
    }

    /// The band's bins as the device's whitening takes them (shaders/whiten.wgsl): the first
    /// (tapers included), the last before the upper taper, one past the upper taper.
    pub fn bins(&self) -> [usize; 3] {
        [self.ix00, self.ix1, self.ix11]
    }

    /// The lower and upper tapers (cos^2), applied from bins()[0] and from bins()[1].
    pub fn tapers(&self) -> (&[f64], &[f64]) {
        (&self.lo, &self.hi)
    }
}

/// `spectrum` with the plan of the window's length.
pub fn spectrum_with(x: &[f64], norm: FreqNorm, plan: &Plan) -> Vec<C> {
    let nfft = plan.nfft;
    let full = full_fft(x, nfft);
    let half = nfft / 2;
    match norm {
        FreqNorm::No => full[..half].to_vec(),
        FreqNorm::Rma | FreqNorm::PhaseOnly => {
            let mut w = whiten(full, plan);
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

fn whiten(mut spec: Vec<C>, p: &Plan) -> Vec<C> {
    let (nfft, ix00, ix11) = (p.nfft, p.ix00, p.ix11);
    let zero = C::new(0.0, 0.0);
    spec[..ix00].fill(zero);
    if ix11 < nfft {
        spec[ix11..].fill(zero);
    }
    if ix00 < ix11 {
        let band = &mut spec[ix00..ix11];
        if p.band.smooth_n <= 1 {
            band.iter_mut()
                .for_each(|v| *v = C::from_polar(1.0, v.arg()));
        } else {
            let abs: Vec<f64> = band.iter().map(|v| v.norm()).collect();
            let m = moving_ave(&abs, p.band.smooth_n);
            band.iter_mut().zip(m).for_each(|(v, d)| *v /= d);
        }
    }
    for (v, w) in spec[ix00..].iter_mut().zip(&p.lo) {
        *v *= *w;
    }
    for (v, w) in spec[p.ix1..].iter_mut().zip(&p.hi) {
        *v *= *w;
    }
    spec
}
