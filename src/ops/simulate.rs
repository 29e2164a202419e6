//! `obspy.signal.invsim.simulate_seismometer`'s spectral part (NUMERICS §3.10): poles and
//! zeros to a frequency response as ObsPy evaluates them (`paz_to_freq_resp`: scipy's
//! `zpk2tf`, then `freqs`, i.e. the polynomials' coefficients and Horner's rule), ObsPy's
//! frequency-domain cosine taper for `pre_filt`. The table the deconvolution multiplies by
//! is assembled where the water level's inversion is at hand (`pipeline::ops::simulate`).

use num_complex::Complex64 as C;
use std::f64::consts::PI;

/// Poles, zeros, gain (A0) and overall sensitivity of one instrument, as ObsPy's PAZ dicts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Paz {
    /// [re, im] pairs.
    pub poles: Vec<[f64; 2]>,
    pub zeros: Vec<[f64; 2]>,
    pub gain: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<f64>,
}

/// numpy's `poly(roots)`: the monic polynomial's coefficients, highest power first, by
/// successive convolution with (1, -r); real when the roots are closed under conjugation.
fn poly(roots: &[C]) -> Vec<C> {
    let mut a = vec![C::new(1.0, 0.0)];
    for r in roots {
        let mut next = vec![C::new(0.0, 0.0); a.len() + 1];
        for (i, v) in next.iter_mut().enumerate() {
            let mut acc = C::new(0.0, 0.0);
            if i < a.len() {
                acc += a[i];
            }
            if i > 0 {
                acc += a[i - 1] * -r;
            }
            *v = acc;
        }
        a = next;
    }
    let mut sorted: Vec<C> = roots.to_vec();
    let mut conj: Vec<C> = roots.iter().map(|c| c.conj()).collect();
    let key = |c: &C| (c.re, c.im);
    sorted.sort_by(|x, y| {
        key(x)
            .partial_cmp(&key(y))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    conj.sort_by(|x, y| {
        key(x)
            .partial_cmp(&key(y))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if sorted == conj {
        a.iter_mut().for_each(|c| c.im = 0.0);
    }
    a
}

/// numpy's `polyval(p, x)`: Horner's rule from the highest power.
fn polyval(p: &[C], x: C) -> C {
    p.iter().fold(C::new(0.0, 0.0), |y, c| y * x + c)
}

/// ObsPy's `paz_to_freq_resp(poles, zeros, gain, delta, nfft, freq=True)`: the response on
/// `linspace(0, 1 / (2 delta), nfft // 2 + 1)` Hz, and those frequencies.
pub fn paz_response(paz: &Paz, delta: f64, nfft: usize) -> (Vec<C>, Vec<f64>) {
    let n = nfft / 2;
    let to_c = |v: &[[f64; 2]]| -> Vec<C> { v.iter().map(|p| C::new(p[0], p[1])).collect() };
    let b: Vec<C> = poly(&to_c(&paz.zeros))
        .into_iter()
        .map(|c| c * paz.gain)
        .collect();
    let a = poly(&to_c(&paz.poles));
    let fy = 1.0 / (delta * 2.0);
    let step = if n > 0 { fy / n as f64 } else { 0.0 };
    let f: Vec<f64> = (0..=n)
        .map(|i| if i == n { fy } else { i as f64 * step })
        .collect();
    let h = f
        .iter()
        .map(|&fi| {
            let s = C::new(0.0, fi * 2.0 * PI);
            polyval(&b, s) / polyval(&a, s)
        })
        .collect();
    (h, f)
}

/// ObsPy's `cosine_taper(freqs.size, freqs=freqs, flimit=(f1, f2, f3, f4))`: raised-cosine
/// ramps between the bins nearest each corner (numpy's argmin: the first of equals).
pub fn freq_taper(freqs: &[f64], flimit: [f64; 4]) -> Vec<f64> {
    let n = freqs.len();
    let nearest = |fl: f64| -> i64 {
        let mut best = 0usize;
        for (i, f) in freqs.iter().enumerate() {
            if (f - fl).abs() < (freqs[best] - fl).abs() {
                best = i;
            }
        }
        best as i64
    };
    let (i1, mut i2, mut i3, i4) = (
        nearest(flimit[0]),
        nearest(flimit[1]),
        nearest(flimit[2]),
        nearest(flimit[3]),
    );
    if i1 == i2 {
        i2 += 1;
    }
    if i3 == i4 {
        i3 -= 1;
    }
    let mut w = vec![0.0; n];
    // Python slices a[lo:hi] (negative indices wrap, bounds clamp), in ObsPy's order.
    let slice = |lo: i64, hi: i64| -> (usize, usize) {
        let fix = |i: i64| -> usize {
            let j = if i < 0 { i + n as i64 } else { i };
            j.clamp(0, n as i64) as usize
        };
        let (a, b) = (fix(lo), fix(hi));
        (a, b.max(a))
    };
    let (f1, f2, f3, f4) = (i1 as f64, i2 as f64, i3 as f64, i4 as f64);
    let (a, b) = slice(i1, i2 + 1);
    for (j, slot) in w[a..b].iter_mut().enumerate() {
        let k = (i1 + j as i64) as f64;
        *slot = 0.5 * (1.0 - (PI * (k - f1) / (f2 - f1)).cos());
    }
    let (a, b) = slice(i2 + 1, i3);
    w[a..b].iter_mut().for_each(|v| *v = 1.0);
    let (a, b) = slice(i3, i4 + 1);
    for (j, slot) in w[a..b].iter_mut().enumerate() {
        let k = (i3 + j as i64) as f64;
        *slot = 0.5 * (1.0 + (PI * (f3 - k) / (f4 - f3)).cos());
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pole_zero_pair_is_its_own_response() {
        // One zero at 0, one pole at -1: H(s) = g s / (s + 1).
        let paz = Paz {
            poles: vec![[-1.0, 0.0]],
            zeros: vec![[0.0, 0.0]],
            gain: 2.0,
            sensitivity: None,
        };
        let (h, f) = paz_response(&paz, 0.5, 8);
        assert_eq!(f, [0.0, 0.25, 0.5, 0.75, 1.0]);
        for (hi, fi) in h.iter().zip(&f) {
            let s = C::new(0.0, 2.0 * PI * fi);
            let want = s * 2.0 / (s + 1.0);
            assert!((hi - want).norm() < 1e-14, "{fi}: {hi} vs {want}");
        }
        // Conjugate roots give real coefficients.
        let p = poly(&[C::new(-1.0, 2.0), C::new(-1.0, -2.0)]);
        assert_eq!(p, [C::new(1.0, 0.0), C::new(2.0, 0.0), C::new(5.0, 0.0)]);
    }

    #[test]
    fn the_frequency_taper_ramps_between_the_nearest_bins() {
        let f: Vec<f64> = (0..11).map(|i| i as f64).collect();
        let w = freq_taper(&f, [1.0, 3.0, 6.0, 9.0]);
        assert_eq!(w[0], 0.0);
        assert_eq!(w[1], 0.0);
        assert!((w[2] - 0.5).abs() < 1e-15);
        assert_eq!(&w[3..7], &[1.0; 4]);
        assert!((w[9] - 0.0).abs() < 1e-15 && w[10] == 0.0);
    }
}
