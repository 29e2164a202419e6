//! Real FFTs with numpy's conventions (NUMERICS §0): `rfft` unnormalised, `irfft` with 1/N.
//! Plans are cached per thread; rustfft handles every length (mixed radix and Bluestein).

use std::cell::RefCell;

use num_complex::Complex64 as C;
use realfft::RealFftPlanner;

thread_local! {
    static PLANNER: RefCell<Planner> = RefCell::new(Planner::default());
}

/// Most FFT lengths a thread keeps plans for. Plans hold twiddles (and Bluestein's inner
/// plans, several times the length): a run over real downloads, where gaps give a new
/// length every few traces, grew by ~0.5 MB per length without a bound. Past the bound the
/// cache restarts; the common lengths are planned again at once.
const MAX_PLANNED_LENGTHS: usize = 64;

#[derive(Default)]
struct Planner {
    planner: RealFftPlanner<f64>,
    lengths: std::collections::HashSet<usize>,
}

impl Planner {
    fn get(&mut self, n: usize) -> &mut RealFftPlanner<f64> {
        if self.lengths.insert(n) && self.lengths.len() > MAX_PLANNED_LENGTHS {
            self.planner = RealFftPlanner::new();
            self.lengths.clear();
            self.lengths.insert(n);
        }
        &mut self.planner
    }
}

/// numpy `rfft(x, n)`: x zero-padded (or truncated) to n, n/2+1 bins.
pub fn rfft(x: &[f64], n: usize) -> Vec<C> {
    let mut buf = vec![0.0; n];
    let k = x.len().min(n);
    buf[..k].copy_from_slice(&x[..k]);
    PLANNER.with(|p| {
        let plan = p.borrow_mut().get(n).plan_fft_forward(n);
        let mut out = plan.make_output_vec();
        // Lengths match the plan by construction, so process cannot fail.
        let _ = plan.process(&mut buf, &mut out);
        out
    })
}

/// numpy `irfft(X, n)`: the imaginary parts of DC (and Nyquist for even n) are ignored, as
/// pocketfft ignores them; output scaled by 1/n.
pub fn irfft(spec: &[C], n: usize) -> Vec<f64> {
    let bins = n / 2 + 1;
    let mut inp = vec![C::new(0.0, 0.0); bins];
    let k = spec.len().min(bins);
    inp[..k].copy_from_slice(&spec[..k]);
    inp[0].im = 0.0;
    if n.is_multiple_of(2) {
        inp[bins - 1].im = 0.0;
    }
    PLANNER.with(|p| {
        let plan = p.borrow_mut().get(n).plan_fft_inverse(n);
        let mut out = plan.make_output_vec();
        let _ = plan.process(&mut inp, &mut out);
        let s = 1.0 / n as f64;
        out.iter_mut().for_each(|v| *v *= s);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::naive_dft;

    #[test]
    fn matches_naive_dft_for_awkward_lengths() {
        for n in [1usize, 2, 3, 5, 12, 17, 97, 128, 6058] {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
                .collect();
            let got = rfft(&x, n);
            let want = naive_dft(&x);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).norm() < 1e-9 * (n as f64), "n={n}");
            }
            let back = irfft(&got, n);
            for (b, xi) in back.iter().zip(&x) {
                assert!((b - xi).abs() < 1e-12, "n={n}");
            }
        }
    }
}
