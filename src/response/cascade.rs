//! A channel's FIR stages on the remove_response grid as ONE chirp-z transform (issue #25).
//! A datalogger's decimation cascade (FIRs of 48 and 285 taps at 2000 and 1000 Hz, or four
//! FIRs from 20 kHz down) was a transform per long stage and Horner for each short one, per
//! grid: on 200 Hz channels the short FIR's Horner (48 taps x 240,001 bins) cost more than the
//! long one's transform. The stages' product is one FIR at the fastest stage's interval t0:
//! stage i at t_i = r_i t0 has Σ_j h_j e^{-iω r_i t0 j}, the DFT of its taps spread r_i apart,
//! and a product of DFTs is the DFT of the convolution. Symmetric FIRs, which evalresp
//! evaluates as zero-phase (real), are their full taps with the phase of their centre put
//! back: e^{iωτ} with τ = t·(centre index); an asymmetric FIR's τ is its delay correction.
//! So the cascade's values are Π scale_i · e^{iω Στ_i} · czt(h_1 ⊛ h_2 ⊛ ...).
//!
//! Arithmetic: the convolved taps and one transform agree with the product of the stages'
//! own values to ~1e-15 of the taps' absolute sums (a unit test against the stage-by-stage
//! product; tests/response.rs holds both to 1e-9 of ObsPy's peak). The symmetric stages' zero
//! imaginary parts become rounding-sized ones (1e-16 of the peak), as the delay corrections'
//! already are.

use num_complex::Complex64 as C;

use super::czt;
use super::filter::{unit_circle, Filter};
use super::stages::StageKey;

/// The FIR stages of a channel that one transform evaluates on a grid.
pub(super) struct Cascade {
    /// Every stage's full taps spread to t0 and convolved.
    taps: Vec<f64>,
    /// The grid's DFT length at t0 (`czt::dft_length`).
    n2: u64,
    /// Σ τ_i: the centres of the symmetric stages and the asymmetric ones' delay corrections.
    tau: f64,
    /// Π scale_i, in the stages' order.
    scale: f64,
}

/// Longest spread between the fastest stage and another (a 20 kHz modulator before a 1 Hz
/// stage is 20,000): bounds the convolved taps' length before anything is allocated.
const MAX_RATIO: f64 = 1e6;

impl Cascade {
    /// The cascade of `parts` (filter, scale, delay correction) on `freqs`, or None where one
    /// transform does not apply or would not pay: fewer than two FIRs, a grid that is not a
    /// DFT grid at the fastest stage's interval, intervals that are not whole multiples of
    /// it, fewer than `czt::MIN_TAPS` taps in all (Horner is faster), or convolved taps
    /// longer than the grid (the transform would outgrow the stage-by-stage ones).
    pub(super) fn plan(parts: &[(&Filter, f64, f64)], freqs: &[f64]) -> Option<Cascade> {
        if parts.len() < 2 {
            return None;
        }
        let fulls: Vec<(Vec<f64>, f64, f64)> = parts
            .iter()
            .map(|(f, _, corr)| full_taps(f, *corr))
            .collect::<Option<_>>()?;
        let t0 = fulls.iter().map(|f| f.1).fold(f64::INFINITY, f64::min);
        if !(t0 > 0.0 && t0.is_finite()) {
            return None;
        }
        let total: usize = fulls.iter().map(|f| f.0.len()).sum();
        if total < czt::MIN_TAPS {
            return None;
        }
        let n = freqs.len();
        let mut len = 1usize;
        let mut ratios = Vec::with_capacity(fulls.len());
        for (h, t, _) in &fulls {
            let q = t / t0;
            let r = q.round();
            if !(1.0..=MAX_RATIO).contains(&r) || (q - r).abs() > 1e-9 * r {
                return None;
            }
            let r = r as usize;
            len = len.checked_add((h.len() - 1).checked_mul(r)?)?;
            if len > n {
                return None;
            }
            ratios.push(r);
        }
        if !czt::fits(len, n) {
            return None;
        }
        let n2 = czt::dft_length(freqs, t0)?;
        let mut taps = vec![1.0];
        for ((h, _, _), r) in fulls.iter().zip(&ratios) {
            taps = convolve_spread(&taps, h, *r);
        }
        Some(Cascade {
            taps,
            n2,
            tau: fulls.iter().map(|f| f.2).sum(),
            scale: parts.iter().map(|p| p.1).product(),
        })
    }

    /// The stage cache's key of the cascade's values on the grid (`delta`, `nfft`): a tag no
    /// single stage's key starts with (theirs start with the scale's bits, and u64::MAX - 1
    /// is a NaN's), then everything the values are computed from, as bits.
    pub(super) fn key(&self, delta: f64, nfft: usize) -> StageKey {
        let mut k = vec![u64::MAX - 1];
        k.extend([self.n2, self.tau.to_bits(), self.scale.to_bits()]);
        k.push(self.taps.len() as u64);
        k.extend(self.taps.iter().map(|v| v.to_bits()));
        (delta.to_bits(), nfft, k)
    }

    /// The cascade's values on `freqs` (the grid it was planned on) into `out`.
    pub(super) fn values(&self, freqs: &[f64], out: &mut Vec<C>) {
        let n = freqs.len();
        let h = czt::dft_bins(&self.taps, n, self.n2);
        out.clear();
        if self.tau == 0.0 {
            out.extend(h.iter().map(|v| v * self.scale));
            return;
        }
        let (mut re, mut im) = (Vec::new(), Vec::new());
        unit_circle(freqs, self.tau, &mut re, &mut im);
        out.extend(
            h.iter()
                .zip(re.iter().zip(&im))
                .map(|(v, (&c, &s))| v * self.scale * C::new(c, s)),
        );
    }
}

/// A FIR stage's full taps, interval and phase offset τ (its values are e^{iωτ} Σ_j h_j
/// e^{-iωtj}): an asymmetric FIR's own taps with its delay correction; a symmetric one's
/// mirrored taps (2m−1 about c[m−1] for `FirSym1`, 2m for `FirSym2`) with its centre, t·(m−1)
/// or t·(2m−1)/2. None for any other filter.
fn full_taps(f: &Filter, corr: f64) -> Option<(Vec<f64>, f64, f64)> {
    match f {
        Filter::FirAsym { c, t } if !c.is_empty() => Some((c.clone(), *t, corr)),
        Filter::FirSym1 { c, t } if !c.is_empty() => {
            let m = c.len();
            let h = c.iter().chain(c[..m - 1].iter().rev()).copied().collect();
            Some((h, *t, *t * (m - 1) as f64))
        }
        Filter::FirSym2 { c, t } if !c.is_empty() => {
            let m = c.len();
            let h = c.iter().chain(c.iter().rev()).copied().collect();
            Some((h, *t, *t * (2 * m - 1) as f64 / 2.0))
        }
        _ => None,
    }
}

/// a ⊛ (b with r − 1 zeros between its taps).
fn convolve_spread(a: &[f64], b: &[f64], r: usize) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + (b.len() - 1) * r];
    for (j, &bj) in b.iter().enumerate() {
        if bj == 0.0 {
            continue;
        }
        for (o, &ai) in out[j * r..].iter_mut().zip(a) {
            *o += ai * bj;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::eval::grid;

    fn taps(m: usize, seed: usize) -> Vec<f64> {
        (0..m)
            .map(|k| (((k + 1) * (seed * 7919 + 13)) % 1000) as f64 / 1000.0 - 0.45)
            .collect()
    }

    /// The product of the stages' own values (each by Horner or its own transform, times
    /// its scale and delay correction) and the cascade's one transform agree to 1e-13 of the
    /// product of the taps' absolute sums, for a 200 Hz channel's 2000 Hz + 1000 Hz pair (one
    /// short FIR, one long), a symmetric pair of each kind and a four-stage 20 kHz chain.
    #[test]
    fn one_transform_is_the_product_of_the_stages() {
        let sym1 = |m, s, t| Filter::FirSym1 { c: taps(m, s), t };
        let sym2 = |m, s, t| Filter::FirSym2 { c: taps(m, s), t };
        let asym = |m, s, t| Filter::FirAsym { c: taps(m, s), t };
        type Case = (f64, usize, Vec<(Filter, f64, f64)>);
        let cases: Vec<Case> = vec![
            (
                0.005,
                480_000,
                vec![
                    (asym(48, 1, 5e-4), 1.0, 0.0),
                    (asym(285, 2, 1e-3), 0.5, 0.0142),
                ],
            ),
            (
                0.01,
                40_002,
                vec![
                    (sym1(40, 3, 2.5e-3), 2.0, 0.0),
                    (sym2(33, 4, 5e-3), 1.0, 0.0),
                ],
            ),
            (
                0.05,
                80_000,
                vec![
                    (sym2(100, 5, 5e-5), 1.0, 0.0),
                    (sym1(80, 6, 1e-3), 1.0, 0.0),
                    (asym(48, 7, 5e-3), 1.0, -0.02),
                    (asym(40, 8, 1e-2), 3.0, 0.0),
                ],
            ),
        ];
        for (delta, nfft, parts) in cases {
            let fr = grid(delta, nfft);
            let refs: Vec<(&Filter, f64, f64)> =
                parts.iter().map(|(f, s, c)| (f, *s, *c)).collect();
            let cas = Cascade::plan(&refs, &fr).expect("a cascade");
            assert!(cas.taps.len() > 200);
            let mut got = Vec::new();
            cas.values(&fr, &mut got);
            let mut want = vec![C::new(1.0, 0.0); fr.len()];
            let mut bound = 1.0;
            for (f, s, corr) in &parts {
                let v = f.on_grid(&fr);
                let (c, t) = match f {
                    Filter::FirAsym { c, .. } => (c, 1.0),
                    Filter::FirSym1 { c, .. } | Filter::FirSym2 { c, .. } => (c, 2.0),
                    _ => unreachable!(),
                };
                bound *= s * t * c.iter().map(|x| x.abs()).sum::<f64>();
                for ((w, x), &fk) in want.iter_mut().zip(&v).zip(&fr) {
                    *w *= x * s * C::new(0.0, TWO_PI_F * fk * corr).exp();
                }
            }
            let err = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).norm())
                .fold(0.0, f64::max);
            assert!(err <= 1e-13 * bound, "nfft {nfft}: {err:e} of {bound:e}");
        }
    }

    const TWO_PI_F: f64 = std::f64::consts::TAU;

    /// Where one transform does not apply, the stages are evaluated one by one: a single FIR,
    /// an interval that is not a multiple of the fastest, a short grid, too few taps, an IIR.
    #[test]
    fn refuses_what_one_transform_cannot_do() {
        let fr = grid(0.005, 480_000);
        let a = Filter::FirAsym {
            c: taps(200, 1),
            t: 1e-3,
        };
        let b = Filter::FirAsym {
            c: taps(50, 2),
            t: 5e-4,
        };
        let odd = Filter::FirAsym {
            c: taps(50, 2),
            t: 3e-4,
        };
        let short = Filter::FirAsym {
            c: taps(20, 3),
            t: 5e-4,
        };
        let iir = Filter::Iir {
            num: taps(3, 1),
            den: taps(2, 2),
            t: 1e-3,
        };
        assert!(Cascade::plan(&[(&a, 1.0, 0.0), (&b, 1.0, 0.0)], &fr).is_some());
        assert!(Cascade::plan(&[(&a, 1.0, 0.0)], &fr).is_none());
        assert!(Cascade::plan(&[(&a, 1.0, 0.0), (&odd, 1.0, 0.0)], &fr).is_none());
        assert!(Cascade::plan(&[(&short, 1.0, 0.0), (&short, 1.0, 0.0)], &fr).is_none());
        assert!(Cascade::plan(&[(&a, 1.0, 0.0), (&iir, 1.0, 0.0)], &fr).is_none());
        assert!(Cascade::plan(&[(&a, 1.0, 0.0), (&b, 1.0, 0.0)], &grid(0.005, 4000)).is_none());
        // Convolved taps longer than the grid: 200 taps spread 2000 apart.
        let slow = Filter::FirAsym {
            c: taps(200, 4),
            t: 1.0,
        };
        assert!(Cascade::plan(&[(&b, 1.0, 0.0), (&slow, 1.0, 0.0)], &fr).is_none());
    }
}
