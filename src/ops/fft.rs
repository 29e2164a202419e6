//! Real FFTs with numpy's conventions (NUMERICS §0): `rfft` unnormalised, `irfft` with 1/N.
//! rustfft handles every length (mixed radix and Bluestein).
//!
//! **A length's plan is a function of the length alone** (issue #23): rustfft's planner
//! builds a new length on whatever lengths it planned before (its AVX planner takes the
//! largest cached step of the new plan as its base, `replan_with_cache`), so one planner per
//! thread gave a length different arithmetic, and different last bits, depending on which
//! traces that thread had run before: outputs changed with `--jobs` and with scheduling.
//! Every length is now planned by a planner of its own and shared by all threads.
//!
//! **Even lengths: one complex plan for both directions** (issue #25). A real transform of n
//! = 2m points is a complex one of m points plus a pass of twiddles (`half`); the inverse
//! runs the same forward plan on the conjugate. remove_response meets a new nfft with almost
//! every trace of real downloads, and planning was 13 % of such a run: realfft planned a
//! forward and an inverse complex transform per length, each with its sin_cos twiddles, and
//! its own post-pass twiddles by sin_cos again. Odd lengths (resample's) keep realfft.

use std::cell::RefCell;
use std::sync::Arc;

use num_complex::Complex64 as C;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

use crate::once_map::OnceMap;

/// Most FFT lengths the process keeps plans for. Plans hold twiddles (and Bluestein's inner
/// plans, several times the length): a run over real downloads, where gaps give a new
/// length every few traces, grew by ~0.5 MB per length without a bound. Past the bound the
/// cache restarts; the common lengths are planned again at once (to the same plans: a plan
/// depends on its length only).
const MAX_PLANNED_LENGTHS: usize = 128;

/// ...and at most this many samples of lengths planned (a plan holds ~24 bytes per sample of
/// its length): two 100 Hz day traces of different lengths (17,280,000-point transforms)
/// kept ~400 MB of plans, one of which no later trace used (issue #26).
const MAX_PLANNED_SAMPLES: u64 = 1 << 25;

/// An even length's plan: the complex transform of half the length and the twiddles
/// e^{-2πik/n}, k = 1..n/4, of the pass that splits its output into the real transform's
/// (`forward`, halved as realfft keeps them) and joins a spectrum before the inverse.
struct Half {
    fft: Arc<dyn Fft<f64>>,
    /// Kept for lengths up to `2 LONG_TRANSFORM`; longer ones compute them as they go (the
    /// same expression, the same bits): a day trace's would hold 8 bytes per sample at the
    /// run's peak (issue #26) for ~4 million sines and cosines a transform.
    twiddles: Vec<C>,
    /// How many twiddles the split uses (`twiddles`'s length when kept).
    count: usize,
    n: usize,
}

/// An odd length's plans (realfft's, forward and inverse).
struct Odd {
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
}

/// The process's plans, by length.
struct Plans {
    even: OnceMap<usize, Arc<Half>>,
    odd: OnceMap<usize, Arc<Odd>>,
    /// Samples of the lengths each map holds plans for.
    even_samples: std::sync::atomic::AtomicU64,
    odd_samples: std::sync::atomic::AtomicU64,
}

fn plans() -> &'static Plans {
    static PLANS: std::sync::OnceLock<Plans> = std::sync::OnceLock::new();
    PLANS.get_or_init(|| Plans {
        even: OnceMap::default(),
        odd: OnceMap::default(),
        even_samples: Default::default(),
        odd_samples: Default::default(),
    })
}

/// The cache `m` restarted when it holds too many lengths or samples (`MAX_PLANNED_*`), then
/// `n`'s plan from it.
fn planned<T: Clone>(
    m: &OnceMap<usize, T>,
    samples: &std::sync::atomic::AtomicU64,
    n: usize,
    make: impl FnOnce() -> T,
) -> T {
    use std::sync::atomic::Ordering::Relaxed;
    if m.len() > MAX_PLANNED_LENGTHS || samples.load(Relaxed) > MAX_PLANNED_SAMPLES {
        m.clear();
        samples.store(0, Relaxed);
    }
    m.get_or_init(n, || {
        samples.fetch_add(n as u64, Relaxed);
        make()
    })
}

/// The plan for an even `n`, made by a planner of its own (see the module comment).
fn even(n: usize) -> Arc<Half> {
    let p = plans();
    planned(&p.even, &p.even_samples, n, || Arc::new(Half::new(n)))
}

/// The plans for an odd `n`, made by planners of their own.
fn odd(n: usize) -> Arc<Odd> {
    let p = plans();
    planned(&p.odd, &p.odd_samples, n, || {
        Arc::new(Odd {
            forward: RealFftPlanner::<f64>::new().plan_fft_forward(n),
            inverse: RealFftPlanner::<f64>::new().plan_fft_inverse(n),
        })
    })
}

impl Half {
    /// `n` even and at least 2.
    fn new(n: usize) -> Half {
        let fft = FftPlanner::<f64>::new().plan_fft_forward(n / 2);
        let count = twiddle_count(n);
        Half {
            fft,
            twiddles: if n / 2 > LONG_TRANSFORM {
                Vec::new()
            } else {
                (1..=count).map(|k| twiddle(n, k)).collect()
            },
            count,
            n,
        }
    }

    /// Twiddle `k` (1-based), kept or computed.
    #[inline]
    fn twiddle(&self, k: usize) -> C {
        match self.twiddles.get(k - 1) {
            Some(t) => *t,
            None => twiddle(self.n, k),
        }
    }

    /// Forward: `packed` holds x as z_j = x_2j + i x_2j+1 (m = n/2 values, spent); on return
    /// `spec` (m + 1 bins) is the real transform of x. realfft's split, operation for
    /// operation, so the bins are realfft's bits: with Z = FFT_m(z), X_k and X_{m-k} from
    /// Z_k ± conj Z_{m-k} and the halved twiddle W^k/2.
    fn forward(&self, packed: &mut [C], spec: &mut [C], scratch: &mut Vec<C>) {
        let m = packed.len();
        scratch.resize(self.fft.get_outofplace_scratch_len(), C::new(0.0, 0.0));
        self.fft
            .process_outofplace_with_scratch(packed, &mut spec[..m], scratch);
        let z0 = spec[0];
        spec[0] = C::new(z0.re + z0.im, 0.0);
        spec[m] = C::new(z0.re - z0.im, 0.0);
        let pairs = (m.div_ceil(2) - 1).min(self.count);
        for k in 1..=pairs {
            let tw = self.twiddle(k);
            let (out, rev) = (spec[k], spec[m - k]);
            let (sum, diff) = (out + rev, out - rev);
            let (re_sum, im_sum) = (sum * tw.re, sum * tw.im);
            let (re_diff, im_diff) = (diff * tw.re, diff * tw.im);
            let (half_sum_re, half_diff_im) = (0.5 * sum.re, 0.5 * diff.im);
            let tw_re = re_sum.im + im_diff.re;
            let tw_im = im_sum.im - re_diff.re;
            spec[k] = C::new(half_sum_re + tw_re, half_diff_im + tw_im);
            spec[m - k] = C::new(half_sum_re - tw_re, tw_im - half_diff_im);
        }
        if (m + 1) % 2 == 1 {
            let c = &mut spec[m / 2];
            c.im = -c.im;
        }
    }

    /// Inverse, unnormalised (n x for the spectrum of x): `spec` (m + 1 bins, DC's and
    /// Nyquist's imaginary parts zero) is joined as realfft joins it (spent); on return
    /// `out` (m values) holds n x packed as in `forward`. The inverse m-point transform is
    /// the forward plan on the conjugate, conj(FFT(conj Z)), without planning an inverse:
    /// realfft's bits on most lengths, its rounding on the others (rustfft's Rader and
    /// Bluestein steps are not exactly conjugation-symmetric; 6058 points, say).
    fn inverse(&self, spec: &mut [C], out: &mut [C], scratch: &mut Vec<C>) {
        let m = spec.len() - 1;
        let (sum, diff) = (spec[0] + spec[m], spec[0] - spec[m]);
        spec[0] = C::new(sum.re - sum.im, diff.re - diff.im);
        let pairs = (m.div_ceil(2) - 1).min(self.count);
        for k in 1..=pairs {
            // realfft's inverse twiddles are the forward ones conjugated, not halved.
            let tw = self.twiddle(k);
            let tw = C::new(2.0 * tw.re, -2.0 * tw.im);
            let (sum, diff) = (spec[k] + spec[m - k], spec[k] - spec[m - k]);
            let (re_sum, im_sum) = (sum * tw.re, sum * tw.im);
            let (re_diff, im_diff) = (diff * tw.re, diff * tw.im);
            let tw_re = re_sum.im + im_diff.re;
            let tw_im = im_sum.im - re_diff.re;
            spec[k] = C::new(sum.re - tw_re, diff.im - tw_im);
            spec[m - k] = C::new(sum.re + tw_re, -tw_im - diff.im);
        }
        if (m + 1) % 2 == 1 {
            let c = spec[m / 2];
            spec[m / 2] = (c + c).conj();
        }
        for v in &mut spec[..m] {
            *v = v.conj();
        }
        scratch.resize(self.fft.get_outofplace_scratch_len(), C::new(0.0, 0.0));
        self.fft
            .process_outofplace_with_scratch(&mut spec[..m], out, scratch);
        for v in out.iter_mut() {
            *v = v.conj();
        }
    }
}

/// realfft's forward twiddle `k` of an even `n`: e^{-2πik/n}/2, the angle as realfft forms it (−2π/n times k) and its cosine and sine apart, so the split's bits are
/// realfft's (anchored products, tried first, doubled a resample chain's error against
/// ObsPy: 2.2e-12 -> 4.2e-12 relative L2).
fn twiddle(n: usize, k: usize) -> C {
    let constant = -2.0 * std::f64::consts::PI / n as f64;
    let angle = constant * k as f64;
    C::new(angle.cos(), angle.sin()) * 0.5
}

/// How many twiddles an even `n`'s split uses (k = 1, 2, ...; realfft's count: ceil(n/4) - 1,
/// and n/4 - 1 for a multiple of 4).
fn twiddle_count(n: usize) -> usize {
    let count = if n.is_multiple_of(4) {
        n / 4
    } else {
        n / 4 + 1
    };
    count - 1
}

/// Transform lengths past which buffers a transform spent are given back while it waits
/// (`Work::release_spent`): 2^21 values, 32 MB of complex f64.
pub const LONG_TRANSFORM: usize = 1 << 21;

/// Buffers one thread reuses from transform to transform (issue #14: no per-trace
/// allocation): the padded real signal, the spectrum and the FFT's scratch. They grow to the
/// longest transform the thread has run and stay; the transforms' arithmetic is the same as
/// with fresh buffers.
#[derive(Default)]
pub struct Work {
    real: Vec<f64>,
    /// An even length's samples packed in pairs, or its inverse's output (`Half`).
    packed: Vec<C>,
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
        let k = x.len().min(n);
        if n >= 2 && n.is_multiple_of(2) {
            // Pairs of samples, then the padding (only the padding is written twice: no
            // whole-buffer memset per trace).
            let m = n / 2;
            self.packed.clear();
            self.packed.reserve(m);
            let (pairs, rest) = x[..k].as_chunks::<2>();
            self.packed.extend(pairs.iter().map(|p| C::new(p[0], p[1])));
            if let [last] = rest {
                self.packed.push(C::new(*last, 0.0));
            }
            self.packed.resize(m, C::new(0.0, 0.0));
            self.spec.resize(m + 1, C::new(0.0, 0.0)); // overwritten whole by the transform
            even(n).forward(&mut self.packed, &mut self.spec, &mut self.scratch);
            return;
        }
        self.real.clear();
        self.real.extend_from_slice(&x[..k]);
        self.real.resize(n, 0.0);
        self.spec.resize(n / 2 + 1, C::new(0.0, 0.0));
        let plan = odd(n);
        self.scratch
            .resize(plan.forward.get_scratch_len(), C::new(0.0, 0.0));
        // Lengths match the plan by construction, so process cannot fail.
        let _ =
            plan.forward
                .process_with_scratch(&mut self.real, &mut self.spec, &mut self.scratch);
    }

    /// Frees the buffers the last `rfft` spent (the packed samples, the padded signal) where
    /// they hold more than `above` values; `irfft` allocates them again.
    pub fn release_spent(&mut self, above: usize) {
        if self.packed.capacity() > above {
            self.packed = Vec::new();
        }
        if self.real.capacity() > above {
            self.real = Vec::new();
        }
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
        let s = 1.0 / n as f64;
        out.clear();
        // A caller may have given its buffer back meanwhile (`deconvolve_with`): one allocation
        // of the length, not a doubling growth.
        out.reserve_exact(keep.min(n));
        if n >= 2 && n.is_multiple_of(2) {
            self.packed.resize(n / 2, C::new(0.0, 0.0)); // overwritten whole
            even(n).inverse(&mut self.spec, &mut self.packed, &mut self.scratch);
            let keep = keep.min(n);
            out.extend(
                self.packed[..keep.div_ceil(2)]
                    .iter()
                    .flat_map(|z| [z.re * s, z.im * s])
                    .take(keep),
            );
            return;
        }
        self.real.resize(n, 0.0); // overwritten whole by the transform
        let plan = odd(n);
        self.scratch
            .resize(plan.inverse.get_scratch_len(), C::new(0.0, 0.0));
        let _ =
            plan.inverse
                .process_with_scratch(&mut self.spec, &mut self.real, &mut self.scratch);
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

    /// The transform of a length alone, from plans made for it now (not the cache): the bits
    /// every thread must get for it. Forward: realfft's (the even lengths' `Half` repeats its
    /// arithmetic); inverse: realfft's for odd lengths, a fresh `Half`'s for even ones.
    fn alone(x: &[f64], n: usize) -> (Vec<C>, Vec<f64>) {
        let mut p = RealFftPlanner::<f64>::new();
        let mut want = p.plan_fft_forward(n).make_output_vec();
        p.plan_fft_forward(n)
            .process(&mut x.to_vec(), &mut want)
            .unwrap();
        let mut spec = want.clone();
        spec[0].im = 0.0;
        let s = 1.0 / n as f64;
        if n.is_multiple_of(2) {
            spec[n / 2].im = 0.0;
            let mut out = vec![C::new(0.0, 0.0); n / 2];
            Half::new(n).inverse(&mut spec, &mut out, &mut Vec::new());
            let back = out.iter().flat_map(|z| [z.re * s, z.im * s]).collect();
            return (want, back);
        }
        let mut back = p.plan_fft_inverse(n).make_output_vec();
        p.plan_fft_inverse(n).process(&mut spec, &mut back).unwrap();
        (want, back.iter().map(|b| b * s).collect())
    }

    fn bits(v: &[C]) -> Vec<u64> {
        v.iter()
            .flat_map(|c| [c.re.to_bits(), c.im.to_bits()])
            .collect()
    }

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// A length's transform gives the bits plans of its own give, whatever lengths were
    /// transformed before (issue #23: rustfft's planner reuses cached lengths as the base of
    /// a new plan, so 144,012 points planned after 72,000-odd others, as a worker meets them
    /// in MassDownloader traces, came out different in the last bits, and outputs depended on
    /// which worker took which trace).
    #[test]
    fn a_lengths_bits_do_not_depend_on_the_lengths_before_it() {
        // Remove_response's nfft for 72,000 + 2k samples and 6,000 + 2k samples: the second
        // one seen after the others took a cached base on the code before this test.
        let mut lens: Vec<usize> = (0..8).map(|k| 2 * (72_000 + 2 * k)).collect();
        lens.extend((0..20).map(|k| 2 * (6_000 + 2 * k)));
        lens.extend([
            6_001,
            144_003,
            2,
            4,
            6,
            10,
            2 * 7 * 11 * 13,
            2 * 99_991,
            250_014,
        ]);
        for &n in &lens {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 7919) % 101) as f64 / 7.0 - 3.1)
                .collect();
            let (want, back) = alone(&x, n);
            assert!(bits(&rfft(&x, n)) == bits(&want), "rfft of {n} points");
            assert!(same(&irfft(&want, n), &back), "irfft of {n} points");
        }
    }

    /// The reused buffers (stale contents, other lengths before) give the bits fresh ones
    /// give; a signal shorter than n is zero-padded, an odd count of samples included.
    #[test]
    fn reused_buffers_give_the_same_bits_as_fresh_ones() {
        for n in [6058usize, 17, 240_000, 12, 240_000, 97, 6058] {
            let x: Vec<f64> = (0..n / 2 + 3)
                .map(|i| ((i * 7919) % 101) as f64 - 50.0)
                .collect();
            let mut padded = x.clone();
            padded.resize(n, 0.0);
            let (want, back) = alone(&padded, n);
            assert!(bits(&rfft(&x, n)) == bits(&want), "rfft n={n}");
            assert!(same(&irfft(&want, n), &back), "irfft n={n}");
        }
    }

    /// The half-length transform agrees with realfft (two complex plans, sin_cos twiddles) to
    /// the rounding of an FFT, on remove_response's lengths (even, 500-smooth, Bluestein's
    /// primes among them): relative to the spectrum's largest bin, under 1e-14; the round
    /// trip to 1e-14 of the signal's largest sample.
    /// Twiddles computed as the split goes are the kept ones, bit for bit.
    #[test]
    fn computed_twiddles_are_the_kept_ones() {
        let n = 2 * (LONG_TRANSFORM + 7);
        let h = Half::new(n);
        assert!(h.twiddles.is_empty() && h.count == n / 4);
        let constant = -2.0 * std::f64::consts::PI / n as f64;
        for k in [1, 2, 1000, h.count / 3, h.count] {
            let angle = constant * k as f64;
            let kept = C::new(angle.cos(), angle.sin()) * 0.5;
            let got = h.twiddle(k);
            assert_eq!(
                (got.re.to_bits(), got.im.to_bits()),
                (kept.re.to_bits(), kept.im.to_bits())
            );
        }
        let short = Half::new(1000);
        assert_eq!(short.twiddles.len(), short.count);
    }

    #[test]
    fn half_length_transform_agrees_with_realfft() {
        // The last length's split computes its twiddles as it goes (beyond 2 LONG_TRANSFORM).
        let long = 2 * (LONG_TRANSFORM + 7);
        for n in [
            2usize,
            4,
            6,
            2 * 7 * 11 * 13,
            240_000,
            2 * 99_991,
            250_014,
            long,
        ] {
            let x: Vec<f64> = (0..n)
                .map(|i| (((i * 7919) % 1009) as f64 - 504.0) * (1.0 + (i % 7) as f64))
                .collect();
            let mut p = RealFftPlanner::<f64>::new();
            let mut want = p.plan_fft_forward(n).make_output_vec();
            p.plan_fft_forward(n)
                .process(&mut x.clone(), &mut want)
                .unwrap();
            let got = rfft(&x, n);
            let big = want.iter().map(|c| c.norm()).fold(0.0, f64::max);
            let err = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).norm())
                .fold(0.0, f64::max);
            assert!(err <= 1e-14 * big, "rfft n={n}: {err:e} of {big:e}");
            let back = irfft(&got, n);
            let top = x.iter().map(|v| v.abs()).fold(0.0, f64::max);
            let err = back
                .iter()
                .zip(&x)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(err <= 1e-14 * top, "irfft n={n}: {err:e} of {top:e}");
        }
    }
}
