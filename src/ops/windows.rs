//! scipy's symmetric windows (`scipy.signal.windows.<name>(M, ..., sym=True)`, scipy 1.17)
//! that need more than a cosine sum: bohman, parzen, kaiser (`beta`), gaussian (`std`),
//! general_gaussian (`p`, `sig`), chebwin (`at`) and dpss (`NW`, one window, scipy's
//! "approximate" norm). Ported formula by formula; the two that scipy computes through
//! library routines (the Bessel function I0, the tridiagonal eigenproblem) are computed
//! here to f64 accuracy by other means, said where.

use num_complex::Complex64 as C;
use rustfft::FftPlanner;
use std::f64::consts::PI;

/// numpy's `linspace(-1, 1, m)[i]`: start + i step, the last value exactly 1.
fn linspace_pm1(m: usize, i: usize) -> f64 {
    if i + 1 == m {
        1.0
    } else {
        -1.0 + i as f64 * (2.0 / (m - 1) as f64)
    }
}

pub fn bohman(m: usize) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    let mut w = vec![0.0; m];
    for (i, v) in w.iter_mut().enumerate().take(m - 1).skip(1) {
        let fac = linspace_pm1(m, i).abs();
        *v = (1.0 - fac) * (PI * fac).cos() + 1.0 / PI * (PI * fac).sin();
    }
    w
}

pub fn parzen(m: usize) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    let mf = m as f64;
    // n = arange(-(M - 1) / 2, (M - 1) / 2 + 0.5, 1.0)
    let n: Vec<f64> = (0..m).map(|i| -(mf - 1.0) / 2.0 + i as f64).collect();
    let q = (mf - 1.0) / 4.0;
    let wa = |x: f64| 2.0 * (1.0 - x.abs() / (mf / 2.0)).powf(3.0);
    let wb = |x: f64| {
        let r = x.abs() / (mf / 2.0);
        1.0 - 6.0 * r.powf(2.0) + 6.0 * r.powf(3.0)
    };
    let na: Vec<f64> = n.iter().copied().filter(|&x| x < -q).collect();
    let mut w: Vec<f64> = na.iter().map(|&x| wa(x)).collect();
    w.extend(n.iter().copied().filter(|&x| x.abs() <= q).map(wb));
    w.extend(na.iter().rev().map(|&x| wa(x)));
    w
}

/// The modified Bessel function I0 by its power series sum_k ((x/2)^k / k!)^2: every term
/// is positive, so the sum is exact to a few ulps (scipy uses Cephes' Chebyshev fits, equal
/// to ~1e-16); |x| up to ~700 before overflow, far past any useful beta.
fn i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for k in 1..2000 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

pub fn kaiser(m: usize, beta: f64) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    let alpha = (m as f64 - 1.0) / 2.0;
    let den = i0(beta);
    (0..m)
        .map(|i| {
            let r = (i as f64 - alpha) / alpha;
            i0(beta * (1.0 - r.powf(2.0)).max(0.0).sqrt()) / den
        })
        .collect()
}

pub fn gaussian(m: usize, std: f64) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    let sig2 = 2.0 * std * std;
    (0..m)
        .map(|i| {
            let n = i as f64 - (m as f64 - 1.0) / 2.0;
            (-n.powf(2.0) / sig2).exp()
        })
        .collect()
}

pub fn general_gaussian(m: usize, p: f64, sig: f64) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    (0..m)
        .map(|i| {
            let n = i as f64 - (m as f64 - 1.0) / 2.0;
            (-0.5 * (n / sig).abs().powf(2.0 * p)).exp()
        })
        .collect()
}

/// Dolph-Chebyshev: the Chebyshev polynomial sampled on the unit circle, through an FFT.
pub fn chebwin(m: usize, at: f64) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    let mf = m as f64;
    let order = mf - 1.0;
    let beta = (1.0 / order * 10f64.powf(at.abs() / 20.0).acosh()).cosh();
    let odd = m % 2 == 1;
    let mut p: Vec<C> = (0..m)
        .map(|k| {
            let x = beta * (PI * k as f64 / mf).cos();
            let v = if x > 1.0 {
                (order * x.acosh()).cosh()
            } else if x < -1.0 {
                let sign = if odd { 1.0 } else { -1.0 };
                sign * (order * (-x).acosh()).cosh()
            } else {
                (order * x.acos()).cos()
            };
            if odd {
                C::new(v, 0.0)
            } else {
                C::new(v, 0.0) * C::from_polar(1.0, PI / mf * k as f64)
            }
        })
        .collect();
    FftPlanner::new().plan_fft_forward(m).process(&mut p);
    let re: Vec<f64> = p.iter().map(|c| c.re).collect();
    let w: Vec<f64> = if odd {
        let n = m.div_ceil(2);
        let mut w: Vec<f64> = re[1..n].iter().rev().copied().collect();
        w.extend(&re[..n]);
        w
    } else {
        let n = m / 2 + 1;
        let mut w: Vec<f64> = re[1..n].iter().rev().copied().collect();
        w.extend(&re[1..n]);
        w
    };
    let max = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    w.iter().map(|v| v / max).collect()
}

/// The first discrete prolate spheroidal sequence, `dpss(M, NW)` (Kmax None): the
/// eigenvector of scipy's tridiagonal matrix for its largest eigenvalue (by bisection on
/// Sturm counts to the last bit, then inverse iteration: scipy calls LAPACK's
/// eigh_tridiagonal), its sign so that its sum is positive, divided by its maximum, and for
/// an even M times M^2 / (M^2 + NW) ("approximate" norm). Needs 0 < NW < M / 2, which
/// `taper::window_with` checks (scipy raises otherwise).
pub fn dpss(m: usize, nw: f64) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    let mf = m as f64;
    let w = nw / mf;
    let d: Vec<f64> = (0..m)
        .map(|i| ((mf - 1.0 - 2.0 * i as f64) / 2.0).powf(2.0) * (2.0 * PI * w).cos())
        .collect();
    let e: Vec<f64> = (1..m).map(|i| i as f64 * (mf - i as f64) / 2.0).collect();
    let upper = largest_eigenvalue(&d, &e);
    let mut v = inverse_iteration(&d, &e, upper);
    if v.iter().sum::<f64>() < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut out: Vec<f64> = v.iter().map(|x| x / max).collect();
    if m.is_multiple_of(2) {
        let c = mf * mf / (mf * mf + nw);
        out.iter_mut().for_each(|x| *x *= c);
    }
    out
}

/// Eigenvalues of the symmetric tridiagonal (d, e) below x (Sturm sequence count).
fn count_below(d: &[f64], e: &[f64], x: f64) -> usize {
    let mut count = 0;
    let mut q = 1.0f64;
    for i in 0..d.len() {
        let off = if i == 0 { 0.0 } else { e[i - 1] * e[i - 1] };
        q = d[i] - x - if i == 0 { 0.0 } else { off / q };
        if q == 0.0 {
            q = -f64::EPSILON * (d[i].abs() + x.abs()).max(f64::MIN_POSITIVE);
        }
        if q < 0.0 {
            count += 1;
        }
    }
    count
}

/// An upper bound within a few ulps of the largest eigenvalue: every eigenvalue lies below
/// it (bisection on Sturm counts from Gershgorin's bounds).
fn largest_eigenvalue(d: &[f64], e: &[f64]) -> f64 {
    let n = d.len();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..n {
        let r = if i > 0 { e[i - 1].abs() } else { 0.0 } + if i + 1 < n { e[i].abs() } else { 0.0 };
        lo = lo.min(d[i] - r);
        hi = hi.max(d[i] + r);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if count_below(d, e, mid) >= n {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The eigenvector for the largest eigenvalue by inverse iteration with `upper` (just above
/// it): (upper I - T) is positive definite, so the tridiagonal LDL^T solve needs no
/// pivoting and is stable; three iterations from ones, normalised to unit length.
fn inverse_iteration(d: &[f64], e: &[f64], upper: f64) -> Vec<f64> {
    let n = d.len();
    let floor = f64::MIN_POSITIVE.sqrt();
    let mut v = vec![1.0; n];
    for _ in 0..3 {
        // Forward: pivots p_i = a_i - e_{i-1}^2 / p_{i-1}, a_i = upper - d_i.
        let mut piv = vec![0.0; n];
        let mut y = v.clone();
        for i in 0..n {
            let a = upper - d[i];
            piv[i] = if i == 0 {
                a
            } else {
                a - e[i - 1] * e[i - 1] / piv[i - 1]
            };
            if piv[i] <= floor {
                piv[i] = floor;
            }
            if i > 0 {
                y[i] += e[i - 1] / piv[i - 1] * y[i - 1];
            }
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let next = if i + 1 < n { e[i] * x[i + 1] } else { 0.0 };
            x[i] = (y[i] + next) / piv[i];
        }
        let norm = x.iter().map(|a| a * a).sum::<f64>().sqrt();
        v = x.iter().map(|a| a / norm).collect();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_i0_matches_reference_values() {
        // Abramowitz & Stegun table 9.8 / scipy.special.i0.
        for (x, want) in [
            (0.0, 1.0),
            (1.0, 1.2660658777520082),
            (5.0, 27.239871823604442),
            (14.0, 129_418.562_700_648_56),
        ] {
            assert!(((i0(x) - want) / want).abs() < 1e-14, "{x}: {}", i0(x));
        }
    }

    #[test]
    fn windows_are_symmetric_and_peak_at_one() {
        for m in [3usize, 10, 11, 64, 101] {
            for w in [
                bohman(m),
                parzen(m),
                kaiser(m, 8.6),
                gaussian(m, m as f64 / 6.0),
                general_gaussian(m, 1.5, m as f64 / 5.0),
                chebwin(m, 100.0),
                dpss(m, (m as f64 / 2.0 - 0.3).min(2.5)),
            ] {
                assert_eq!(w.len(), m);
                for i in 0..m {
                    assert!((w[i] - w[m - 1 - i]).abs() < 1e-9, "m={m} {w:?}");
                }
                let max = w.iter().copied().fold(f64::MIN, f64::max);
                assert!(max <= 1.0 + 1e-12 && max > 0.5, "m={m} {w:?}");
            }
        }
    }
}
