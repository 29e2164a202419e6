//! Ambient-noise operations as NoisePy computes them (issue #27; the reference is NoisePy's
//! `noise_module.py`, reproduced in numpy by tests/fixtures/make_noise.py): cutting a
//! station's data into windows (`segment`), time-domain normalisation (`time_norm`),
//! spectral whitening (`whiten`), and the pair correlation (`correlate`). f64 throughout
//! (NoisePy keeps windows in float32; docs/NUMERICS.md §11). `moving_ave` is the smoothing
//! they share.

pub mod correlate;
pub mod moving_ave;
pub mod rotation;
pub mod segment;
pub mod stack;
pub mod time_norm;
pub mod whiten;

pub use moving_ave::moving_ave;

pub(crate) use super::interpolate::linspace;

/// The parameters NoisePy's `ConfigParameters` holds for these steps, with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseParams {
    /// Window length, seconds (NoisePy `cc_len`, default 1800).
    pub cc_len: f64,
    /// Window step, seconds (`step`, default 450).
    pub step: f64,
    /// The chunk of data the windows are cut from, hours (`inc_hours`, default 24).
    pub inc_hours: f64,
    /// Whitening band, Hz (`freqmin` 0.05, `freqmax` 2).
    pub freqmin: f64,
    pub freqmax: f64,
    /// Smoothing of the running absolute mean and of whitening, points (`smooth_N`, 10).
    pub smooth_n: usize,
    /// Smoothing of the spectra coherency and deconv divide by, bins (`smoothspect_N`, 10).
    pub smoothspect_n: usize,
    /// Kept lags, seconds (`maxlag`, 200).
    pub maxlag: f64,
    /// Windows whose max |x| exceeds this many standard deviations of the chunk are dropped
    /// (`max_over_std`, 10).
    pub max_over_std: f64,
}

impl Default for NoiseParams {
    fn default() -> Self {
        NoiseParams {
            cc_len: 1800.0,
            step: 450.0,
            inc_hours: 24.0,
            freqmin: 0.05,
            freqmax: 2.0,
            smooth_n: 10,
            smoothspect_n: 10,
            maxlag: 200.0,
            max_over_std: 10.0,
        }
    }
}

/// scipy.fftpack's `next_fast_len`: the least 2-3-5-smooth number >= n (1 for 0).
pub fn next_fast_len(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut r = m;
        for p in [2, 3, 5] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        if r == 1 {
            return m;
        }
        m += 1;
    }
}
