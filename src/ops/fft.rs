//! Real FFTs with numpy's conventions (NUMERICS §0): `rfft` unnormalised, `irfft` with 1/N.
//! rustfft handles every length (mixed radix and Bluestein).
//!
//! **A length's plan is a function of the length alone** (issue #23): rustfft's planner
//! builds a new length on whatever lengths it planned before (its AVX planner takes the
//! largest cached step of the new plan as its base, `replan_with_cache`), so one planner per
//! thread gave a length different arithmetic, and different last bits, depending on which
//! traces that thread had run before: outputs changed with `--jobs` and with scheduling.
//! Every length is now planned by a planner of its own and shared by all threads.

use std::cell::RefCell;
use std::sync::Arc;

use num_complex::Complex64 as C;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::once_map::OnceMap;

/// Most FFT lengths the process keeps plans for. Plans hold twiddles (and Bluestein's inner
/// plans, several times the length): a run over real downloads, where gaps give a new
/// length every few traces, grew by ~0.5 MB per length without a bound. Past the bound the
/// cache restarts; the common lengths are planned again at once (to the same plans: a plan
/// depends on its length only).
const MAX_PLANNED_LENGTHS: usize = 128;

type Forward = Arc<dyn RealToComplex<f64>>;
type Inverse = Arc<dyn ComplexToReal<f64>>;

/// The process's plans, by length.
struct Plans {
    forward: OnceMap<usize, Forward>,
    inverse: OnceMap<usize, Inverse>,
}

fn plans() -> &'static Plans {
    static PLANS: std::sync::OnceLock<Plans> = std::sync::OnceLock::new();
    PLANS.get_or_init(|| Plans {
        forward: OnceMap::default(),
        inverse: OnceMap::default(),
    })
}

/// The forward plan for `n` points, made by a planner of its own (see the module comment).
fn forward(n: usize) -> Forward {
    let m = &plans().forward;
    if m.len() > MAX_PLANNED_LENGTHS {
        m.clear();
    }
    m.get_or_init(n, || RealFftPlanner::<f64>::new().plan_fft_forward(n))
}

/// The inverse plan for `n` points, made by a planner of its own.
fn inverse(n: usize) -> Inverse {
    let m = &plans().inverse;
    if m.len() > MAX_PLANNED_LENGTHS {
        m.clear();
    }
    m.get_or_init(n, || RealFftPlanner::<f64>::new().plan_fft_inverse(n))
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
        let plan = forward(n);
        self.scratch
            .resize(plan.get_scratch_len(), C::new(0.0, 0.0));
        // Lengths match the plan by construction, so process cannot fail.
        let _ = plan.process_with_scratch(&mut self.real, &mut self.spec, &mut self.scratch);
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
        let plan = inverse(n);
        self.scratch
            .resize(plan.get_scratch_len(), C::new(0.0, 0.0));
        let _ = plan.process_with_scratch(&mut self.spec, &mut self.real, &mut self.scratch);
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

    /// A length's transform gives the bits a planner of its own gives, whatever lengths
    /// were transformed before (issue #23: rustfft's planner reuses cached lengths as the
    /// base of a new plan, so 144,012 points planned after 72,000-odd others, as a worker
    /// meets them in MassDownloader traces, came out different in the last bits, and outputs
    /// depended on which worker took which trace).
    #[test]
    fn a_lengths_bits_do_not_depend_on_the_lengths_before_it() {
        let bits = |v: &[C]| -> Vec<u64> {
            v.iter()
                .flat_map(|c| [c.re.to_bits(), c.im.to_bits()])
                .collect()
        };
        // Remove_response's nfft for 72,000 + 2k samples and 6,000 + 2k samples: the second
        // one seen after the others took a cached base on the code before this test.
        let mut lens: Vec<usize> = (0..8).map(|k| 2 * (72_000 + 2 * k)).collect();
        lens.extend((0..20).map(|k| 2 * (6_000 + 2 * k)));
        for &n in &lens {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 7919) % 101) as f64 / 7.0 - 3.1)
                .collect();
            let alone = RealFftPlanner::<f64>::new().plan_fft_forward(n);
            let mut want = alone.make_output_vec();
            alone.process(&mut x.clone(), &mut want).unwrap();
            let got = rfft(&x, n);
            assert!(bits(&got) == bits(&want), "rfft of {n} points");
            let mut spec = want.clone();
            spec[0].im = 0.0;
            spec[n / 2].im = 0.0;
            let inv = RealFftPlanner::<f64>::new().plan_fft_inverse(n);
            let mut back = inv.make_output_vec();
            inv.process(&mut spec, &mut back).unwrap();
            let s = 1.0 / n as f64;
            let got = irfft(&want, n);
            assert!(
                got.iter()
                    .zip(&back)
                    .all(|(a, b)| a.to_bits() == (b * s).to_bits()),
                "irfft of {n} points"
            );
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
