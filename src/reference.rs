//! Slow f64 oracles kept in the tree for tests (RustFFT's habit): a naive DFT.

use num_complex::Complex64 as C;

/// X[k] = Σ x[n]·e^{−2πikn/N} for k = 0..=N/2, computed directly in f64.
pub fn naive_dft(x: &[f64]) -> Vec<C> {
    let n = x.len();
    (0..n / 2 + 1)
        .map(|k| {
            x.iter().enumerate().fold(C::new(0.0, 0.0), |acc, (j, v)| {
                // Reduce k·j mod n first so the angle stays small and exact.
                let ang = -2.0 * std::f64::consts::PI * ((k * j) % n) as f64 / n as f64;
                acc + C::new(0.0, ang).exp() * v
            })
        })
        .collect()
}
