//! FFT plans for the GPU as data, derived here from a stage's lengths (the plan carries none) (RustFFT's habit: planning is tested without running an
//! FFT). A length whose prime factors are 2, 3 and 5 runs as Stockham passes of radix 16, 8,
//! 4, 2 and 25, 9, 15, 3, 5 (shaders/fft.wgsl `fft_pass`); any other length runs Bluestein's
//! chirp-z around a smooth FFT of length M >= 2N - 1. Every table is computed here in f64 and rounded once to
//! f32: the shader never evaluates a sin/cos of a large argument.

use num_complex::Complex64 as C;
use rustfft::FftPlanner;

/// One complex FFT length N, as the shader passes will run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FftPlan {
    /// Radices of the Stockham passes, in order; their product is n. Empty for n = 1.
    Stockham { n: usize, radices: Vec<u32> },
    /// Chirp-z: pre-multiply by the chirp, convolve with its conjugate through an FFT of
    /// length m (a Stockham plan), post-multiply by the chirp.
    Bluestein { n: usize, m: usize },
}

impl FftPlan {
    pub fn new(n: usize) -> FftPlan {
        match smooth_radices(n) {
            Some(radices) => FftPlan::Stockham { n, radices },
            None => FftPlan::Bluestein {
                n,
                m: next_smooth(2 * n - 1),
            },
        }
    }

    pub fn len(&self) -> usize {
        match self {
            FftPlan::Stockham { n, .. } | FftPlan::Bluestein { n, .. } => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The plan as `seisbatch plan` shows it: the length and its radix passes, or
    /// Bluestein's padded length and its passes.
    pub fn describe(&self) -> serde_json::Value {
        match self {
            FftPlan::Stockham { n, radices } => serde_json::json!({"n": n, "radices": radices}),
            FftPlan::Bluestein { n, m } => serde_json::json!({
                "n": n,
                "bluestein_m": m,
                "radices": smooth_radices(*m),
            }),
        }
    }

    /// Longest complex buffer (per trace) the plan touches.
    pub fn scratch_len(&self) -> usize {
        match self {
            FftPlan::Stockham { n, .. } => *n,
            FftPlan::Bluestein { m, .. } => *m,
        }
    }
}

/// Radices for an n with no prime factor above 5: the power of two as radix-16 passes, the rest of it as one 8, 4 or 2, then the 3s and 5s in pairs
/// (fewest passes: each pass moves the whole batch through device memory once). None if n
/// has another prime factor.
pub fn smooth_radices(n: usize) -> Option<Vec<u32>> {
    radices_up_to(n, 16)
}

/// `smooth_radices` with `big` (4, 8 or 16) the largest power-of-two radix.
pub fn radices_up_to(n: usize, big: u32) -> Option<Vec<u32>> {
    if n == 0 {
        return None;
    }
    let mut rest = n;
    let mut twos = 0u32;
    while rest.is_multiple_of(2) {
        rest /= 2;
        twos += 1;
    }
    let per = big.trailing_zeros();
    let mut radices = vec![big; (twos / per) as usize];
    match twos % per {
        0 => {}
        k => radices.push(1 << k),
    }
    let mut count = |r: usize| {
        let mut k = 0;
        while rest.is_multiple_of(r) {
            rest /= r;
            k += 1;
        }
        k
    };
    let (threes, fives) = (count(3), count(5));
    if rest != 1 {
        return None;
    }
    if big >= 16 {
        // Odd factors paired too (9, 15, 25): 240,000 = 2^7 3 5^4 in 5 passes, not 7.
        radices.extend(std::iter::repeat_n(25, fives / 2));
        radices.extend(std::iter::repeat_n(9, threes / 2));
        match (threes % 2, fives % 2) {
            (1, 1) => radices.push(15),
            (1, 0) => radices.push(3),
            (0, 1) => radices.push(5),
            _ => {}
        }
    } else {
        radices.extend(std::iter::repeat_n(3, threes));
        radices.extend(std::iter::repeat_n(5, fives));
    }
    Some(radices)
}

/// How shaders/rfft.wgsl runs a real FFT pair of `nfft` points: the half-length complex
/// transform of n1 n2 = nfft / 2 points in three passes, with the radices of each line's FFT
/// (at most 8 passes: `RfftParams`; 2-5 as butterflies, larger primes as direct sums).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfftSplit {
    pub n1: usize,
    pub n2: usize,
    pub radices1: Vec<u32>,
    pub radices2: Vec<u32>,
}

/// Largest prime a line's FFT takes as one direct-sum pass (r^2 work per r points). ObsPy's
/// nfft rule (`ops::deconvolve::npts2nfft`) keeps every prime factor of nfft below 500 (or
/// falls back to a power of two), so every remove_response nfft within the tile has a split.
pub const MAX_LINE_PRIME: usize = 499;

/// The passes of an l-point line FFT in workgroup memory: 4s and a 2, then 3s, 5s and any
/// other prime up to MAX_LINE_PRIME in increasing order; None past that.
pub fn line_radices(l: usize) -> Option<Vec<u32>> {
    if l == 0 {
        return None;
    }
    let mut rest = l;
    let mut primes = Vec::new();
    let mut p = 2;
    while rest > 1 {
        if p > MAX_LINE_PRIME {
            return None;
        }
        while rest.is_multiple_of(p) {
            primes.push(p);
            rest /= p;
        }
        p += 1;
    }
    let twos = primes.iter().filter(|&&p| p == 2).count();
    let mut out: Vec<u32> = std::iter::repeat_n(4, twos / 2).collect();
    if twos % 2 == 1 {
        out.push(2);
    }
    for &p in primes.iter().filter(|&&p| p > 2) {
        out.push(u32::try_from(p).ok()?);
    }
    Some(out)
}

/// The split for an even `nfft` whose lines fit `tile` complex values (passes 1 and 3
/// hold one line of n1 or more, pass 2 two lines of n2), as balanced as the divisors allow
/// (longer lines keep more invocations busy; ties go to the larger n2). None for an odd or
/// too long (or with a prime factor past MAX_LINE_PRIME): the deconvolution then runs through
/// `fft_pass` (and Bluestein).
pub fn rfft_split(nfft: usize, tile: usize) -> Option<RfftSplit> {
    if nfft < 2 || !nfft.is_multiple_of(2) {
        return None;
    }
    let half = nfft / 2;
    let lines = |l: usize| line_radices(l).filter(|r| r.len() <= 8);
    (1..=half.min(tile / 2))
        .filter(|n2| half.is_multiple_of(*n2) && half / n2 <= tile)
        .filter_map(|n2| Some((half / n2, n2, lines(half / n2)?, lines(n2)?)))
        .max_by_key(|(n1, n2, ..)| ((*n1).min(*n2), *n2))
        .map(|(n1, n2, radices1, radices2)| RfftSplit {
            n1,
            n2,
            radices1,
            radices2,
        })
}

/// Smallest 2/3/5-smooth number >= n.
pub fn next_smooth(n: usize) -> usize {
    let mut m = n.max(1);
    while smooth_radices(m).is_none() {
        m += 1;
    }
    m
}

fn to_f32(c: C) -> [f32; 2] {
    [super::to_f32(c.re), super::to_f32(c.im)]
}

fn to_f64(c: C) -> [f64; 2] {
    [c.re, c.im]
}

/// W_N^k = exp(-2 pi i k / N), k < N, rounded to f32: rfft.wgsl's twiddle table (conjugated
/// there for the inverse; the radix passes take `roots`).
pub fn twiddles(n: usize) -> Vec<[f32; 2]> {
    twiddles_c(n).into_iter().map(to_f32).collect()
}

fn twiddles_c(n: usize) -> Vec<C> {
    (0..n)
        .map(|k| C::from_polar(1.0, -2.0 * std::f64::consts::PI * k as f64 / n as f64))
        .collect()
}

/// The row length B of `roots`: the least B with B^2 >= n.
pub fn roots_row(n: usize) -> usize {
    let b = n.isqrt();
    if b * b < n {
        b + 1
    } else {
        b.max(1)
    }
}

/// Values in `roots(n)`.
pub fn roots_len(n: usize) -> usize {
    let b = roots_row(n);
    b + n.div_ceil(b)
}

/// The twiddles of fft_pass factorised, W_N^k = W_N^(B floor(k/B)) W_N^(k mod B): W_N^b for
/// b < B, then W_N^(aB) for a < ceil(N/B); ~2 sqrt(N) values where the whole table is N (a
/// 100 Hz day's f64 table was 276 MB, above what one binding holds on some devices). In f64
/// the product is within ~1e-15 of the direct value; in f32 within ~1.8e-7 (two roundings and the
/// product's, where one table value had one).
pub fn roots(n: usize) -> Vec<[f32; 2]> {
    roots_c(n).into_iter().map(to_f32).collect()
}

/// The same table in f64, for fft64_pass.
pub fn roots64(n: usize) -> Vec<[f64; 2]> {
    roots_c(n).into_iter().map(to_f64).collect()
}

fn roots_c(n: usize) -> Vec<C> {
    let b = roots_row(n);
    let w = |k: usize| C::from_polar(1.0, -2.0 * std::f64::consts::PI * k as f64 / n as f64);
    (0..b)
        .map(w)
        .chain((0..n.div_ceil(b)).map(|a| w(a * b)))
        .collect()
}

/// Bluestein's chirp w_k = exp(-+ i pi k^2 / N) (minus for the forward transform), k < N.
/// k^2 is reduced mod 2N in integers first: pi k^2 / N in f64 would lose the phase for
/// k beyond ~10^4.
pub fn chirp(n: usize, inverse: bool) -> Vec<[f32; 2]> {
    chirp_c(n, inverse).into_iter().map(to_f32).collect()
}

/// The chirp in f64, for fft64_cmul.
pub fn chirp64(n: usize, inverse: bool) -> Vec<[f64; 2]> {
    chirp_c(n, inverse).into_iter().map(to_f64).collect()
}

fn chirp_c(n: usize, inverse: bool) -> Vec<C> {
    let sign = if inverse { 1.0 } else { -1.0 };
    let two_n = 2 * n as u128;
    (0..n)
        .map(|k| {
            let k2 = (k as u128 * k as u128) % two_n;
            C::from_polar(1.0, sign * std::f64::consts::PI * k2 as f64 / n as f64)
        })
        .collect()
}

/// FFT_M of the chirp filter b (b_j = conj(w_j) at j and M - j), scaled by 1/M so that the
/// shader's unnormalised inverse FFT completes the circular convolution.
pub fn chirp_filter(n: usize, m: usize, inverse: bool) -> Vec<[f32; 2]> {
    chirp_filter_c(n, m, inverse)
        .into_iter()
        .map(to_f32)
        .collect()
}

/// The chirp filter in f64, for fft64_cmul.
pub fn chirp_filter64(n: usize, m: usize, inverse: bool) -> Vec<[f64; 2]> {
    chirp_filter_c(n, m, inverse)
        .into_iter()
        .map(to_f64)
        .collect()
}

fn chirp_filter_c(n: usize, m: usize, inverse: bool) -> Vec<C> {
    let w = chirp_c(n, inverse);
    let mut b = vec![C::new(0.0, 0.0); m];
    for (j, wj) in w.iter().enumerate() {
        b[j] = wj.conj();
        if j > 0 {
            b[m - j] = wj.conj();
        }
    }
    FftPlanner::new().plan_fft_forward(m).process(&mut b);
    let s = 1.0 / m as f64;
    b.into_iter().map(|c| c * s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_lengths_factor_into_passes() {
        assert_eq!(radices_up_to(1, 16), Some(vec![]));
        assert_eq!(radices_up_to(2, 16), Some(vec![2]));
        assert_eq!(radices_up_to(8, 16), Some(vec![8]));
        assert_eq!(radices_up_to(8, 4), Some(vec![4, 2]));
        assert_eq!(radices_up_to(1 << 18, 16), Some(vec![16, 16, 16, 16, 4]));
        assert_eq!(radices_up_to(1 << 18, 8), Some(vec![8; 6]));
        assert_eq!(radices_up_to(240_000, 16), Some(vec![16, 8, 25, 25, 3])); // 2^7 3 5^4
        assert_eq!(radices_up_to(3 * 3 * 3 * 5, 16), Some(vec![9, 15]));
        assert_eq!(radices_up_to(5 * 5 * 5, 16), Some(vec![25, 5]));
        assert_eq!(
            radices_up_to(240_000, 4),
            Some(vec![4, 4, 4, 2, 3, 5, 5, 5, 5])
        );
        assert_eq!(smooth_radices(7), None);
        assert_eq!(smooth_radices(18_404), None); // 2^2 * 43 * 107: an nfft rule output
        assert_eq!(smooth_radices(0), None);
        for n in [1usize, 2, 3, 4, 5, 6, 60, 1024, 3000, 6000, 4_194_304] {
            let r = smooth_radices(n).unwrap();
            assert_eq!(r.iter().map(|&r| r as usize).product::<usize>(), n);
        }
    }

    #[test]
    fn rfft_splits_fit_the_tile_up_to_2_pow_22() {
        let s = rfft_split(240_000, 2048).unwrap();
        assert_eq!((s.n1, s.n2), (320, 375));
        assert_eq!(s.radices1.iter().product::<u32>(), 320);
        assert_eq!(s.radices2.iter().product::<u32>(), 375);
        let s = rfft_split(1 << 22, 2048).unwrap();
        assert_eq!((s.n1, s.n2), (2048, 1024));
        assert_eq!(rfft_split(1 << 23, 2048), None); // 2^22 complex: more than 2048 x 1024
        assert_eq!(rfft_split(15, 2048), None); // odd
        assert_eq!(rfft_split(2 * 5usize.pow(9), 2048), None); // 5^9: no divisor pair fits
        assert_eq!(rfft_split(2 * 503 * 4, 2048), None); // a prime past MAX_LINE_PRIME
                                                         // 20-minute traces of 120,001 samples: nfft 240,006 (npts2nfft), half 3 13 17 181.
        let s = rfft_split(240_006, 2048).unwrap();
        assert_eq!(s.n1 * s.n2, 120_003);
        assert_eq!(line_radices(1024), Some(vec![4, 4, 4, 4, 4]));
        assert_eq!(line_radices(1), Some(vec![]));
        assert_eq!(line_radices(2 * 3 * 7 * 181), Some(vec![2, 3, 7, 181]));
        assert_eq!(line_radices(503), None);
        for nfft in [
            2usize, 4, 6, 10, 16, 196, 2000, 6000, 14_336, 96_000, 480_000, 2_000_000, 4_194_304,
        ] {
            let s = rfft_split(nfft, 2048).unwrap();
            assert_eq!(s.n1 * s.n2, nfft / 2, "{nfft}");
            assert!(s.n1 <= 2048 && 2 * s.n2 <= 2048, "{nfft}");
            assert!(s.radices1.len() <= 8 && s.radices2.len() <= 8, "{nfft}");
            let all: Vec<u32> = s.radices1.iter().chain(&s.radices2).copied().collect();
            assert_eq!(all.iter().product::<u32>() as usize, nfft / 2, "{nfft}");
        }
    }

    #[test]
    fn bluestein_for_the_rest_with_room_for_the_linear_convolution() {
        assert_eq!(FftPlan::new(7), FftPlan::Bluestein { n: 7, m: 15 });
        assert_eq!(
            FftPlan::new(120_000),
            FftPlan::Stockham {
                n: 120_000,
                radices: vec![16, 4, 25, 25, 3] // 2^6 3 5^4
            }
        );
        for n in [7usize, 11, 97, 6058, 120_001] {
            let FftPlan::Bluestein { m, .. } = FftPlan::new(n) else {
                panic!("{n} is not smooth");
            };
            assert!(m >= 2 * n - 1 && smooth_radices(m).is_some());
            assert!(
                m < 2 * (2 * n - 1),
                "{n}: m = {m} is not the next smooth length"
            );
        }
        assert_eq!(next_smooth(1), 1);
        assert_eq!(next_smooth(7), 8);
        assert_eq!(next_smooth(121), 125);
    }

    #[test]
    fn factorised_roots_give_every_twiddle() {
        for n in [1usize, 2, 3, 7, 16, 240_000, 17_280_000] {
            let b = roots_row(n);
            assert!(b * b >= n && (b == 1 || (b - 1) * (b - 1) < n), "{n}");
            let r = roots64(n);
            assert_eq!(r.len(), b + n.div_ceil(b));
            let step = (n / 997).max(1);
            for k in (0..n).step_by(step).chain([n - 1]) {
                let (x, y) = (r[b + k / b], r[k % b]);
                let got = C::new(x[0], x[1]) * C::new(y[0], y[1]);
                let want = C::from_polar(1.0, -2.0 * std::f64::consts::PI * k as f64 / n as f64);
                assert!((got - want).norm() < 2e-15, "{n} {k}: {got} {want}");
            }
        }
        assert_eq!(roots_row(17_280_000), 4157);
        assert!(roots(17_280_000).len() < 8400);
    }

    #[test]
    fn chirp_phase_is_exact_for_long_transforms() {
        // k = n - 1 for n = 10^6: k^2 ~ 10^12, whose f64 phase pi k^2/n is off by ~1e-4 rad
        // unless k^2 is reduced mod 2n first. exp(-i pi k^2 / n) with k^2 = n^2 - 2n + 1
        // = 1 (mod 2n) for even n, so w_{n-1} = exp(-i pi / n).
        let n = 1_000_000;
        let w = chirp(n, false);
        let want = C::from_polar(1.0, -std::f64::consts::PI / n as f64);
        assert!((w[n - 1][0] as f64 - want.re).abs() < 1e-7);
        assert!((w[n - 1][1] as f64 - want.im).abs() < 1e-7);
    }
}
