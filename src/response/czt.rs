//! Long FIR stages on the remove_response grid by the chirp-z transform (issue #25). On the
//! grid f_k = k·step a stage of sample interval t sees the angles ωT = 2π k / N2 with
//! N2 = 1 / (step·t) = D·nfft for a decimation chain (the stage's rate D times the trace's),
//! so its response Σ_j g_j e^{-iωT j} is the first n bins of an N2-point DFT of the taps.
//! Bluestein's identity (kj = (k² + j² − (k−j)²)/2) turns those bins into one convolution
//! of the taps with a chirp, three power-of-two FFTs of n + taps points: ~L log L work where
//! Horner costs taps × n, which was a quarter of a real-data run (most of it in stages of 128
//! to 900 taps). The chirp's phases are reduced in integers (j² mod 2·N2) before the sine,
//! so they are exact to rounding at any length; the values agree with Horner's to ~1e-15 of
//! the taps' sum (`tests`), far inside the 1e-9 that holds us to ObsPy.

use std::sync::Arc;

use num_complex::Complex64 as C;
use rustfft::{Fft, FftPlanner};

use crate::once_map::OnceMap;

/// Taps from which the transform beats Horner (criterion `response/cpu` and the real-data
/// tree: at 64 taps Horner is still ahead on 120,001 bins).
pub(super) const MIN_TAPS: usize = 96;

/// Bins below which Horner runs whatever the taps (short traces: the FFTs' fixed costs).
const MIN_BINS: usize = 4096;

/// Longest transform (points): its three buffers are 3 x 16 bytes a point (400 MB at 2^23),
/// on top of the grid's own vectors. Past it (grids of over ~4 million bins: day-long 100 Hz
/// traces) Horner runs, in O(bins) memory, as before issue #25.
const MAX_POINTS: usize = 1 << 23;

/// N2 when `freqs` is an N2-point DFT grid for a stage of interval `t`: the remove_response
/// grid (f_k = k·step, its last bin Nyquist) with 1 / (step·t) an integer to rounding, and
/// long enough for the transform to pay. None otherwise (Horner evaluates it).
pub(super) fn dft_length(freqs: &[f64], t: f64) -> Option<u64> {
    let n = freqs.len();
    if !(MIN_BINS..=MAX_POINTS / 2).contains(&n) || t <= 0.0 {
        return None;
    }
    let step = freqs[1];
    if !(0..n - 1).all(|k| freqs[k] == k as f64 * step) {
        return None;
    }
    let n2f = 1.0 / (step * t);
    let n2 = n2f.round();
    // An integer to the rounding of step and t (a few ulp): a stage whose rate is not a
    // whole multiple of the trace's stays with Horner.
    if !(2.0..=2f64.powi(40)).contains(&n2) || (n2f - n2).abs() > 1e-13 * n2 {
        return None;
    }
    // The forced last bin is (n − 1) / (N2 t) too.
    let last = freqs[n - 1] * t * n2;
    if (last - (n - 1) as f64).abs() > 1e-9 * n as f64 {
        return None;
    }
    Some(n2 as u64)
}

/// Whether `taps` taps on `n` bins fit the transform's bound.
pub(super) fn fits(taps: usize, n: usize) -> bool {
    (n + taps).next_power_of_two() <= MAX_POINTS
}

/// Σ_j g_j e^{−2πi k j / N2} for k < n.
pub(super) fn dft_bins(g: &[f64], n: usize, n2: u64) -> Vec<C> {
    let m = g.len();
    if m == 0 {
        return vec![C::new(0.0, 0.0); n];
    }
    let l = (n + m - 1).next_power_of_two();
    let chirp = chirps(n.max(m), n2);
    let zero = C::new(0.0, 0.0);
    let mut a = vec![zero; l];
    for (x, (&c, &h)) in a.iter_mut().zip(g.iter().zip(&chirp)) {
        *x = h * c;
    }
    let mut b = vec![zero; l];
    for (x, h) in b.iter_mut().zip(&chirp[..n]) {
        *x = h.conj();
    }
    for j in 1..m {
        b[l - j] = chirp[j].conj();
    }
    let (fwd, inv) = plans(l);
    let mut scratch = vec![
        zero;
        fwd.get_inplace_scratch_len()
            .max(inv.get_inplace_scratch_len())
    ];
    fwd.process_with_scratch(&mut a, &mut scratch);
    fwd.process_with_scratch(&mut b, &mut scratch);
    for (x, y) in a.iter_mut().zip(&b) {
        *x *= y;
    }
    inv.process_with_scratch(&mut a, &mut scratch);
    let s = 1.0 / l as f64;
    (0..n).map(|k| chirp[k] * a[k] * s).collect()
}

/// Chirp values between two exact anchors.
const BLOCK: usize = 32;

/// e^{−iπ j² / N2} for j < len. Phases are reduced in integers before any sine: per block
/// of BLOCK values, the anchor j0's chirp and u = e^{−2πi j0/N2} exactly, then
/// chirp(j0 + d) = chirp(j0) · u^d · e^{−iπ d²/N2} (j² = j0² + 2 j0 d + d²), u^d by
/// multiplication and the last factor tabled: two complex multiplies per value instead of a
/// sin_cos (which made the chirps cost what Horner saved), within ~BLOCK ulp.
fn chirps(len: usize, n2: u64) -> Vec<C> {
    let modulus = 2 * u128::from(n2);
    let phase = |r: u128| {
        let (s, c) = (-std::f64::consts::PI * r as f64 / n2 as f64).sin_cos();
        C::new(c, s)
    };
    let v: Vec<C> = (0..BLOCK as u128).map(|d| phase(d * d % modulus)).collect();
    let mut out = Vec::with_capacity(len);
    for j0 in (0..len).step_by(BLOCK) {
        let j = j0 as u128;
        let anchor = phase(j * j % modulus);
        // e^{−2πi j0 / N2} = e^{−iπ (2 j0 mod 2 N2) / N2}.
        let u = phase(2 * j % modulus);
        let mut p = anchor;
        for vd in v.iter().take(len - j0) {
            out.push(p * vd);
            p *= u;
        }
    }
    out
}

/// The forward and inverse plans of `l` points, each made by a planner of its own (a plan
/// is a function of its length alone: `ops::fft`'s rule), kept for the process (power-of-two
/// lengths only: a handful).
fn plans(l: usize) -> (Arc<dyn Fft<f64>>, Arc<dyn Fft<f64>>) {
    type Pair = (Arc<dyn Fft<f64>>, Arc<dyn Fft<f64>>);
    static PLANS: std::sync::OnceLock<OnceMap<usize, Pair>> = std::sync::OnceLock::new();
    PLANS.get_or_init(OnceMap::default).get_or_init(l, || {
        (
            FftPlanner::new().plan_fft_forward(l),
            FftPlanner::new().plan_fft_inverse(l),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::eval::grid;

    /// The transform's bins are the direct sums (taps times each bin's e^{−iθj}, in f64
    /// with the angle reduced exactly) to 1e-13 of the taps' absolute sum, for decimation
    /// factors 1 to 8 on even and odd nfft.
    #[test]
    fn chirp_z_bins_are_the_direct_sums() {
        for (delta, nfft, d, m) in [
            (0.01, 9000, 2, 97),
            (0.01, 9001, 1, 300),
            (0.025, 12_288, 8, 129),
            (0.05, 8191, 5, 912),
        ] {
            let f = grid(delta, nfft);
            let t = delta / d as f64;
            let n2 = dft_length(&f, t).expect("a DFT grid");
            let g: Vec<f64> = (0..m)
                .map(|k| ((k * 7919 % 211) as f64 - 105.0) / 1000.0)
                .collect();
            let sum: f64 = g.iter().map(|c| c.abs()).sum();
            let got = dft_bins(&g, f.len(), n2);
            for k in (0..f.len()).step_by(37).chain([f.len() - 1]) {
                let want: C = g
                    .iter()
                    .enumerate()
                    .map(|(j, &c)| {
                        let r = (k as u128 * j as u128 % u128::from(n2)) as f64;
                        let (s, cs) = (-std::f64::consts::TAU * r / n2 as f64).sin_cos();
                        C::new(cs, s) * c
                    })
                    .sum();
                assert!(
                    (got[k] - want).norm() <= 1e-13 * sum,
                    "nfft {nfft} D {d} bin {k}: {} vs {want}",
                    got[k]
                );
            }
        }
    }

    /// The memory bound: past MAX_POINTS the transform is not used.
    #[test]
    fn huge_grids_stay_with_horner() {
        assert!(fits(900, 120_001));
        assert!(!fits(900, MAX_POINTS - 100));
        let n = MAX_POINTS / 2 + 2;
        let f: Vec<f64> = (0..n).map(|k| k as f64 * 0.5).collect();
        assert_eq!(dft_length(&f, 0.001), None);
    }

    /// Not a DFT grid: a stage rate whose ratio to the trace's makes N2 no integer, a short
    /// grid, arbitrary frequencies. (A ratio of 2.5 on 9000 points is N2 = 22,500: fine.)
    #[test]
    fn other_grids_stay_with_horner() {
        let f = grid(0.01, 9000);
        assert_eq!(dft_length(&f, 0.01 / std::f64::consts::E), None);
        assert_eq!(dft_length(&f, 0.01 / 2.5), Some(22_500));
        assert_eq!(dft_length(&grid(0.01, 1000), 0.005), None);
        let odd: Vec<f64> = (0..5000).map(|k| k as f64 * 0.01 + 0.001).collect();
        assert_eq!(dft_length(&odd, 0.005), None);
        assert_eq!(dft_length(&f, 0.005), Some(18_000));
    }
}
