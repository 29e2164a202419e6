//! Slow f64 oracles kept in the tree for tests (RustFFT's habit): the one naive DFT that the
//! CPU FFT (`ops::fft` unit tests) and the GPU FFT (tests/gpu_kernels.rs) are checked against.

use num_complex::Complex64 as C;

/// X[k] = Σ x[j]·e^{∓2πikj/N} for every k (minus forward, plus inverse, unnormalised as
/// numpy's fft and n·ifft), computed directly in f64 with k·j reduced mod N first so the
/// angle stays small and exact.
pub fn dft(x: &[C], inverse: bool) -> Vec<C> {
    let n = x.len();
    let s = if inverse { 1.0 } else { -1.0 };
    (0..n)
        .map(|k| {
            x.iter()
                .enumerate()
                .map(|(j, v)| {
                    v * C::from_polar(
                        1.0,
                        s * 2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64,
                    )
                })
                .sum()
        })
        .collect()
}

/// The forward DFT of real samples, bins 0..=N/2 (numpy's rfft).
pub fn naive_dft(x: &[f64]) -> Vec<C> {
    let c: Vec<C> = x.iter().map(|&v| C::new(v, 0.0)).collect();
    let mut out = dft(&c, false);
    out.truncate(x.len() / 2 + 1);
    out
}
