//! Stacks of correlations over a run (NoisePy's `stacking`): rows whose peak (max, signed) is
//! not below 20 times the median peak, or not above 0, are left out (`keep`); the rest are
//! summed one at a time (`Sum`), so a pair's stack never holds its rows: `linear` is their mean
//! (NoisePy's np.mean; weighted by the windows a row stands for where the rows are chunk means
//! of per-window substacks), `pws` the phase-weighted stack (Schimmel and Paulssen 1997, power
//! 2, as NoisePy's `pws`: the mean row times |mean of e^(i phase)|^2, the phase of each row's
//! analytic signal from scipy's `hilbert` on next_fast_len points; np.angle(0) = 0).

use num_complex::Complex64 as C;

use super::segment::median;

/// NoisePy's rejection over a stack's rows, from their peaks (`np.max` of each row): kept
/// where peak < 20 median(peaks) and peak > 0 (none with a NaN, as numpy's comparisons).
pub fn keep(peaks: &[f64]) -> Vec<bool> {
    let med = median(peaks.to_vec());
    peaks.iter().map(|&p| p < 20.0 * med && p > 0.0).collect()
}

/// A row's peak as np.max gives it (NaN if any sample is NaN).
pub fn peak(row: &[f64]) -> f64 {
    row.iter().copied().fold(f64::NEG_INFINITY, |a, b| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.max(b)
        }
    })
}

/// The running sums of one stack.
pub struct Sum {
    linear: Vec<f64>,
    weight: f64,
    /// Sum of each row's unit phasors and the transform length (pws only).
    phase: Option<(Vec<C>, usize)>,
    rows: usize,
}

impl Sum {
    /// `pws`: phase-weighted, else linear; rows of `m` lags.
    pub fn new(m: usize, pws: bool) -> Sum {
        Sum {
            linear: vec![0.0; m],
            weight: 0.0,
            phase: pws.then(|| (vec![C::new(0.0, 0.0); m], super::next_fast_len(m.max(1)))),
            rows: 0,
        }
    }

    /// Adds a row standing for `weight` windows (linear; pws weighs rows alike, as NoisePy).
    pub fn add(&mut self, row: &[f64], weight: f64) -> Result<(), String> {
        if row.len() != self.linear.len() {
            return Err(format!(
                "a row of {} lags where the stack has {}",
                row.len(),
                self.linear.len()
            ));
        }
        self.rows += 1;
        match &mut self.phase {
            None => {
                self.weight += weight;
                self.linear
                    .iter_mut()
                    .zip(row)
                    .for_each(|(o, v)| *o += v * weight);
            }
            Some((sum, nfft)) => {
                self.weight += 1.0;
                self.linear.iter_mut().zip(row).for_each(|(o, v)| *o += v);
                let h = hilbert_imag(row, *nfft);
                for (k, s) in sum.iter_mut().enumerate() {
                    let z = C::new(row[k], h[k]);
                    let norm = z.norm();
                    *s += if norm > 0.0 {
                        z / norm
                    } else {
                        C::new(1.0, 0.0)
                    };
                }
            }
        }
        Ok(())
    }

    /// Rows added.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The stack (None without rows).
    pub fn finish(self) -> Option<Vec<f64>> {
        if self.rows == 0 || self.weight <= 0.0 {
            return None;
        }
        let w = self.weight;
        let n = self.rows as f64;
        Some(match self.phase {
            None => self.linear.into_iter().map(|v| v / w).collect(),
            Some((sum, _)) => self
                .linear
                .into_iter()
                .zip(sum)
                .map(|(v, p)| v / n * (p / n).norm().powi(2))
                .collect(),
        })
    }
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

    fn stack(rows: &[(Vec<f64>, f64)], pws: bool) -> Vec<f64> {
        let mut s = Sum::new(rows[0].0.len(), pws);
        for (r, w) in rows {
            s.add(r, *w).unwrap();
        }
        s.finish().unwrap()
    }

    /// scipy's hilbert of a cosine over whole periods is the sine; pws of equal rows is the
    /// row (coherence 1), of opposite rows zero; linear weighs rows by their windows; NoisePy's
    /// rejection keeps peaks in (0, 20 median).
    #[test]
    fn hilbert_pws_linear_and_rejection() {
        let n = 256;
        let w = 2.0 * std::f64::consts::PI * 8.0 / n as f64;
        let x: Vec<f64> = (0..n).map(|i| (w * i as f64).cos()).collect();
        let h = hilbert_imag(&x, n);
        for (i, v) in h.iter().enumerate() {
            assert!((v - (w * i as f64).sin()).abs() < 1e-12, "{i}");
        }
        let row: Vec<f64> = (0..100).map(|i| (i as f64 * 0.3).sin() + 0.1).collect();
        let same = stack(&[(row.clone(), 3.0), (row.clone(), 5.0)], true);
        assert!(same.iter().zip(&row).all(|(a, b)| (a - b).abs() < 1e-9));
        let neg: Vec<f64> = row.iter().map(|v| -v).collect();
        assert!(stack(&[(row.clone(), 1.0), (neg, 1.0)], true)
            .iter()
            .all(|v| v.abs() < 1e-9));
        let l = stack(&[(vec![1.0, 2.0], 1.0), (vec![4.0, 8.0], 3.0)], false);
        assert_eq!(l, vec![3.25, 6.5]);
        assert!(Sum::new(2, false).finish().is_none());
        assert!(Sum::new(2, false).add(&[1.0], 1.0).is_err());
        // Median 2: 39.9 kept, 40 and above not, nor 0 or below, nor anything with a NaN.
        assert_eq!(
            keep(&[1.0, 2.0, 3.0, 39.9, 40.0, 0.0, -1.0]),
            [true, true, true, true, false, false, false]
        );
        assert_eq!(keep(&[1.0, f64::NAN]), [false, false]);
        assert_eq!(peak(&[-3.0, -1.0, -2.0]), -1.0);
        assert!(peak(&[1.0, f64::NAN]).is_nan());
    }
}
