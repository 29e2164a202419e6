//! Stacks of correlations over chunks (NoisePy's `stacking`): `linear`, the mean over every
//! window (each row weighted by the windows it stands for), and `pws`, the phase-weighted
//! stack (Schimmel and Paulssen 1997, power 2, as NoisePy's `pws`).

/// The mean over every window: each chunk's row weighted by its windows.
pub fn linear(days: &[(Vec<f64>, usize)]) -> Vec<f64> {
    let n = days.first().map_or(0, |d| d.0.len());
    let total: usize = days.iter().map(|d| d.1).sum();
    let mut out = vec![0.0; n];
    for (row, w) in days {
        out.iter_mut()
            .zip(row)
            .for_each(|(o, v)| *o += v * *w as f64);
    }
    out.iter_mut().for_each(|o| *o /= total.max(1) as f64);
    out
}

/// NoisePy's `pws` (power 2) over the chunks' rows: the mean row times |mean of e^(i phase)|^2,
/// the phase of each row's analytic signal (scipy's `hilbert` on next_fast_len points).
pub fn pws(days: &[(Vec<f64>, usize)]) -> Vec<f64> {
    let rows: Vec<&Vec<f64>> = days.iter().map(|d| &d.0).collect();
    let m = rows.first().map_or(0, |r| r.len());
    if rows.len() < 2 || m == 0 {
        return rows.first().map(|r| r.to_vec()).unwrap_or_default();
    }
    let nfft = super::next_fast_len(m);
    let mut phase_sum = vec![num_complex::Complex64::new(0.0, 0.0); m];
    for r in &rows {
        let h = hilbert_imag(r, nfft);
        for k in 0..m {
            let z = num_complex::Complex64::new(r[k], h[k]);
            let norm = z.norm();
            if norm > 0.0 {
                phase_sum[k] += z / norm;
            }
        }
    }
    let n = rows.len() as f64;
    (0..m)
        .map(|k| {
            let w = (phase_sum[k] / n).norm().powi(2);
            rows.iter().map(|r| r[k] * w).sum::<f64>() / n
        })
        .collect()
}

/// The imaginary part of scipy's `hilbert(x, N)`: the inverse transform of -i X for the
/// positive bins (0 at DC and, for an even N, at Nyquist).
fn hilbert_imag(x: &[f64], nfft: usize) -> Vec<f64> {
    let mut spec = crate::ops::fft::rfft(x, nfft);
    let last = spec.len() - 1;
    for (k, v) in spec.iter_mut().enumerate() {
        let nyquist = nfft.is_multiple_of(2) && k == last;
        *v = if k == 0 || nyquist {
            num_complex::Complex64::new(0.0, 0.0)
        } else {
            num_complex::Complex64::new(v.im, -v.re)
        };
    }
    crate::ops::fft::irfft(&spec, nfft)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy's hilbert of a cosine over whole periods is the sine; pws of equal rows is the
    /// row (coherence 1), of opposite rows zero; linear weights chunks by their windows.
    #[test]
    fn hilbert_pws_and_linear_stacks() {
        let n = 256;
        let w = 2.0 * std::f64::consts::PI * 8.0 / n as f64;
        let x: Vec<f64> = (0..n).map(|i| (w * i as f64).cos()).collect();
        let h = hilbert_imag(&x, n);
        for (i, v) in h.iter().enumerate() {
            assert!((v - (w * i as f64).sin()).abs() < 1e-12, "{i}");
        }
        let row: Vec<f64> = (0..100).map(|i| (i as f64 * 0.3).sin() + 0.1).collect();
        let same = pws(&[(row.clone(), 3), (row.clone(), 5)]);
        assert!(same.iter().zip(&row).all(|(a, b)| (a - b).abs() < 1e-9));
        let neg: Vec<f64> = row.iter().map(|v| -v).collect();
        assert!(pws(&[(row.clone(), 1), (neg, 1)])
            .iter()
            .all(|v| v.abs() < 1e-9));
        let l = linear(&[(vec![1.0, 2.0], 1), (vec![4.0, 8.0], 3)]);
        assert_eq!(l, vec![3.25, 6.5]);
    }
}
