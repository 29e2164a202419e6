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

/// Buffers one thread reuses from transform to transform (issue #14: no per-trace
/// allocation): the padded real signal, the spectrum and the FFT's scratch. They grow to the
/// longest transform the thread has run and stay; the transforms' arithmetic is the same as
/// with fresh buffers (realfft's `process` is `process_with_scratch` on a new scratch).
#[derive(Default)]
pub struct Work {
    real: Vec<f64>,
    spec: Vec<C>,
    scratch: Vec<C>,
    /// For a caller's own per-bin arrays between the transforms (resample's split spectrum and
    /// frequencies).
    aux: [Vec<f64>; 3],
}

thread_local! {
    static WORK: RefCell<Work> = RefCell::new(Work::default());
}

/// Runs `f` with this thread's FFT buffers (not re-entrant: `f` must not call it again).
pub fn with_work<R>(f: impl FnOnce(&mut Work) -> R) -> R {
    WORK.with(|w| f(&mut w.borrow_mut()))
}

impl Work {
    /// numpy `rfft(x, n)` into `self.spectrum()`: x zero-padded (or truncated) to n.
    pub fn rfft(&mut self, x: &[f64], n: usize) {
        // Only the padding is zeroed, and the spectrum not at all: the transform writes every
        // bin (a whole-buffer memset per trace was 4% of a forum-chain run).
        self.real.clear();
        let k = x.len().min(n);
        self.real.extend_from_slice(&x[..k]);
        self.real.resize(n, 0.0);
        self.spec.resize(n / 2 + 1, C::new(0.0, 0.0));
        PLANNER.with(|p| {
            let plan = p.borrow_mut().get(n).plan_fft_forward(n);
            self.scratch
                .resize(plan.get_scratch_len(), C::new(0.0, 0.0));
            // Lengths match the plan by construction, so process cannot fail.
            let _ = plan.process_with_scratch(&mut self.real, &mut self.spec, &mut self.scratch);
        });
    }

    /// The spectrum of the last `rfft`, to change before `irfft`.
    pub fn spectrum(&mut self) -> &mut [C] {
        &mut self.spec
    }

    /// The spectrum (to be replaced whole before `irfft`, which sizes it) and the spare
    /// arrays.
    pub fn spectrum_and_aux(&mut self) -> (&mut Vec<C>, &mut [Vec<f64>; 3]) {
        (&mut self.spec, &mut self.aux)
    }

    /// numpy `irfft(self.spectrum(), n)` (DC's imaginary part, and Nyquist's for even n,
    /// ignored as pocketfft ignores them), scaled by 1/n; the first `keep` samples into `out`.
    pub fn irfft(&mut self, n: usize, keep: usize, out: &mut Vec<f64>) {
        let bins = n / 2 + 1;
        self.spec.resize(bins, C::new(0.0, 0.0));
        self.spec[0].im = 0.0;
        if n.is_multiple_of(2) {
            self.spec[bins - 1].im = 0.0;
        }
        self.real.resize(n, 0.0); // overwritten whole by the transform
        PLANNER.with(|p| {
            let plan = p.borrow_mut().get(n).plan_fft_inverse(n);
            self.scratch
                .resize(plan.get_scratch_len(), C::new(0.0, 0.0));
            let _ = plan.process_with_scratch(&mut self.spec, &mut self.real, &mut self.scratch);
        });
        let s = 1.0 / n as f64;
        out.clear();
        out.extend(self.real[..keep.min(n)].iter().map(|v| v * s));
    }
}

/// numpy `rfft(x, n)`: x zero-padded (or truncated) to n, n/2+1 bins.
pub fn rfft(x: &[f64], n: usize) -> Vec<C> {
    with_work(|w| {
        w.rfft(x, n);
        w.spectrum().to_vec()
    })
}

/// numpy `irfft(X, n)`: the imaginary parts of DC (and Nyquist for even n) are ignored, as
/// pocketfft ignores them; output scaled by 1/n.
pub fn irfft(spec: &[C], n: usize) -> Vec<f64> {
    with_work(|w| {
        let bins = n / 2 + 1;
        w.spec.clear();
        w.spec.resize(bins, C::new(0.0, 0.0));
        let k = spec.len().min(bins);
        w.spec[..k].copy_from_slice(&spec[..k]);
        let mut out = Vec::with_capacity(n);
        w.irfft(n, n, &mut out);
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

    /// The reused buffers give the bits fresh ones give (realfft's own `process`), whatever
    /// lengths the thread ran before: byte-identical outputs rest on this.
    #[test]
    fn reused_buffers_give_the_same_bits_as_fresh_ones() {
        let mut fresh = RealFftPlanner::<f64>::new();
        for n in [6058usize, 17, 240_000, 12, 240_000, 97] {
            let x: Vec<f64> = (0..n / 2 + 3)
                .map(|i| ((i * 7919) % 101) as f64 - 50.0)
                .collect();
            let mut buf = vec![0.0; n];
            let k = x.len().min(n);
            buf[..k].copy_from_slice(&x[..k]);
            let mut want = fresh.plan_fft_forward(n).make_output_vec();
            fresh
                .plan_fft_forward(n)
                .process(&mut buf, &mut want)
                .unwrap();
            let got = rfft(&x, n);
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.re.to_bits() == b.re.to_bits()
                        && a.im.to_bits() == b.im.to_bits()),
                "rfft n={n}"
            );
            let mut spec = want.clone();
            spec[0].im = 0.0;
            if n % 2 == 0 {
                spec[n / 2].im = 0.0;
            }
            let mut back = fresh.plan_fft_inverse(n).make_output_vec();
            fresh
                .plan_fft_inverse(n)
                .process(&mut spec, &mut back)
                .unwrap();
            let s = 1.0 / n as f64;
            let got = irfft(&want, n);
            assert!(
                got.iter()
                    .zip(&back)
                    .all(|(a, b)| a.to_bits() == (b * s).to_bits()),
                "irfft n={n}"
            );
        }
    }
}
