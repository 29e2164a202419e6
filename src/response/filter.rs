//! One stage's unit-normalised filter H₁(f), as evalresp evaluates it (NUMERICS §3.7 calc_resp):
//! analog and digital poles and zeros, symmetric and asymmetric FIRs (after evalresp's
//! `check_sym`), IIR coefficients and response lists, at one frequency (`at`) or on the
//! remove_response grid (`on_grid`, without per-tap trigonometry). `eval` builds the channel
//! and combines the stages.

use num_complex::Complex64 as C;

use super::czt;

/// evalresp's global twoPi = 2·acos(−1) = τ exactly in f64 (NUMERICS §3.7 A.7).
pub(super) const TWO_PI: f64 = std::f64::consts::TAU;

/// A unit-normalised filter H₁(f) of one stage, as evalresp evaluates it.
pub(super) enum Filter {
    AnalogPz {
        zeros: Vec<C>,
        poles: Vec<C>,
        hertz: bool,
    },
    DigitalPz {
        zeros: Vec<C>,
        poles: Vec<C>,
        t: f64,
    },
    FirAsym {
        c: Vec<f64>,
        t: f64,
    },
    FirSym1 {
        c: Vec<f64>,
        t: f64,
    },
    FirSym2 {
        c: Vec<f64>,
        t: f64,
    },
    Iir {
        num: Vec<f64>,
        den: Vec<f64>,
        t: f64,
    },
    /// Evaluated on the requested grid only (values per frequency index).
    List(Vec<C>),
}

impl Filter {
    /// Every parameter as bits, after a tag per kind (`stages::key`): two filters with the
    /// same key have the same values on any grid.
    pub(super) fn key(&self, k: &mut Vec<u64>) {
        let reals = |k: &mut Vec<u64>, v: &[f64]| {
            k.push(v.len() as u64);
            k.extend(v.iter().map(|x| x.to_bits()));
        };
        let complexes = |k: &mut Vec<u64>, v: &[C]| {
            k.push(v.len() as u64);
            k.extend(v.iter().flat_map(|c| [c.re.to_bits(), c.im.to_bits()]));
        };
        match self {
            Filter::AnalogPz {
                zeros,
                poles,
                hertz,
            } => {
                k.push(1 + u64::from(*hertz));
                complexes(k, zeros);
                complexes(k, poles);
            }
            Filter::DigitalPz { zeros, poles, t } => {
                k.extend([3, t.to_bits()]);
                complexes(k, zeros);
                complexes(k, poles);
            }
            Filter::FirAsym { c, t } => {
                k.extend([4, t.to_bits()]);
                reals(k, c);
            }
            Filter::FirSym1 { c, t } => {
                k.extend([5, t.to_bits()]);
                reals(k, c);
            }
            Filter::FirSym2 { c, t } => {
                k.extend([6, t.to_bits()]);
                reals(k, c);
            }
            Filter::Iir { num, den, t } => {
                k.extend([7, t.to_bits()]);
                reals(k, num);
                reals(k, den);
            }
            Filter::List(v) => {
                k.push(8);
                complexes(k, v);
            }
        }
    }

    pub(super) fn at(&self, f: f64, idx: Option<usize>) -> C {
        let w = TWO_PI * f;
        match self {
            Filter::AnalogPz {
                zeros,
                poles,
                hertz,
            } => {
                let s = C::new(0.0, if *hertz { f } else { w });
                let num = zeros.iter().fold(C::new(1.0, 0.0), |a, z| a * (s - z));
                let den = poles.iter().fold(C::new(1.0, 0.0), |a, p| a * (s - p));
                let d2 = den.norm_sqr();
                if d2 == 0.0 {
                    C::new(0.0, 0.0) // evalresp: a pole exactly at f gives 0
                } else {
                    den.conj() * num / d2
                }
            }
            Filter::DigitalPz { zeros, poles, t } => {
                let z = C::new(0.0, w * t).exp();
                let mut out = C::new(1.0, 0.0);
                for zz in zeros {
                    out *= z - zz;
                }
                for p in poles {
                    out /= z - p;
                }
                out
            }
            Filter::FirAsym { c, t } => fir(c, w * t),
            Filter::FirSym1 { c, t } => {
                let m = c.len();
                let wt = w * t;
                let r: f64 = (0..m - 1)
                    .map(|k| c[k] * (wt * (m - 1 - k) as f64).cos())
                    .sum();
                C::new(c[m - 1] + 2.0 * r, 0.0)
            }
            Filter::FirSym2 { c, t } => {
                let m = c.len();
                let wt = w * t;
                let r: f64 = (0..m)
                    .map(|k| c[k] * (wt * ((m - k) as f64 - 0.5)).cos())
                    .sum();
                C::new(2.0 * r, 0.0)
            }
            Filter::Iir { num, den, t } => fir(num, w * t) / fir(den, w * t),
            Filter::List(v) => idx
                .and_then(|i| v.get(i).copied())
                .unwrap_or(C::new(f64::NAN, 0.0)),
        }
    }
}

/// Per-bin buffers `Filter::on_grid_into` reuses from stage to stage.
#[derive(Default)]
pub(super) struct Grid {
    wt: Vec<f64>,
    zr: Vec<f64>,
    zi: Vec<f64>,
    hr: Vec<f64>,
    hi: Vec<f64>,
    rev: Vec<f64>,
}

impl Grid {
    /// Two per-bin buffers free once a filter's values are out.
    pub(super) fn spare(&mut self) -> (&mut Vec<f64>, &mut Vec<f64>) {
        (&mut self.zr, &mut self.zi)
    }
}

impl Filter {
    /// Whether `on_grid_into` gives each bin's value from its frequency alone, so a grid may
    /// be evaluated range by range with the same bits: every kind but a FIR long enough for
    /// the chirp-z transform, which needs the whole DFT grid.
    pub(super) fn per_bin(&self) -> bool {
        match self {
            Filter::FirAsym { c, .. } | Filter::FirSym1 { c, .. } | Filter::FirSym2 { c, .. } => {
                c.len() < czt::MIN_TAPS
            }
            _ => true,
        }
    }

    /// The filter on every frequency of `freqs` (the remove_response grid: 120,001 bins for
    /// a 20-minute 100 Hz trace). FIR and coefficient stages go through `horner`: one sincos
    /// per frequency instead of one per tap and frequency (evalresp's way, which took 53 % of
    /// a real-data run in `cos`); the sums differ from evalresp's term order by rounding only
    /// (tests/response.rs holds them to 1e-9 of ObsPy). Other kinds evaluate point by point.
    #[cfg(test)]
    pub(super) fn on_grid(&self, freqs: &[f64]) -> Vec<C> {
        let mut out = Vec::new();
        self.on_grid_into(freqs, &mut Grid::default(), &mut out);
        out
    }

    /// `on_grid` into `out`, with `g`'s buffers for the per-bin intermediates: a channel's
    /// stages reuse them (fresh 120,001-bin vectors per stage were a quarter of
    /// `response/cpu` in page faults). The same arithmetic as `on_grid`.
    pub(super) fn on_grid_into(&self, freqs: &[f64], g: &mut Grid, out: &mut Vec<C>) {
        let n = freqs.len();
        out.clear();
        // e^{±iωT} per bin, into g.
        let t = self.t();
        let unit = |g: &mut Grid, sign: f64| {
            unit_circle(freqs, t, &mut g.zr, &mut g.zi);
            if sign < 0.0 {
                g.zi.iter_mut().for_each(|v| *v = -*v);
            }
        };
        // Long FIRs on a DFT grid: the chirp-z transform (`czt`) instead of Horner.
        let long = match self {
            Filter::FirAsym { c, .. } | Filter::FirSym1 { c, .. } | Filter::FirSym2 { c, .. }
                if c.len() >= czt::MIN_TAPS && czt::fits(c.len(), n) =>
            {
                czt::dft_length(freqs, t)
            }
            _ => None,
        };
        if let Some(n2) = long {
            return self.fir_by_czt(freqs, n2, g, out);
        }
        match self {
            Filter::FirAsym { c, .. } => {
                // Σ c_k z^k with z = e^{-iωT}: Horner over the taps from the last.
                unit(g, -1.0);
                g.rev.clear();
                g.rev.extend(c.iter().rev());
                horner(&g.rev, &g.zr, &g.zi, &mut g.hr, &mut g.hi);
                out.extend(g.hr.iter().zip(&g.hi).map(|(&r, &i)| C::new(r, i)));
            }
            Filter::FirSym1 { c, .. } => {
                // c[m-1] + 2 Σ_{k<m-1} c_k cos(ωT (m-1-k)) = c[m-1] + 2 Re(z P(z)), z = e^{iωT}.
                let m = c.len();
                unit(g, 1.0);
                horner(&c[..m - 1], &g.zr, &g.zi, &mut g.hr, &mut g.hi);
                let (pr, pi, zr, zi) = (&g.hr, &g.hi, &g.zr, &g.zi);
                out.extend(
                    (0..n).map(|j| C::new(c[m - 1] + 2.0 * (pr[j] * zr[j] - pi[j] * zi[j]), 0.0)),
                );
            }
            Filter::FirSym2 { c, .. } => {
                // 2 Σ_k c_k cos(ωT (m-k-1/2)) = 2 Re(e^{-iωT/2} z P(z)), z = e^{iωT}.
                unit(g, 1.0);
                horner(c, &g.zr, &g.zi, &mut g.hr, &mut g.hi);
                // e^{iωT/2} per bin (conjugated below).
                unit_circle(freqs, t / 2.0, &mut g.wt, &mut g.rev);
                let (pr, pi, zr, zi) = (&g.hr, &g.hi, &g.zr, &g.zi);
                let (hr, hi) = (&g.wt, &g.rev);
                out.extend((0..n).map(|j| {
                    let q = C::new(pr[j] * zr[j] - pi[j] * zi[j], pr[j] * zi[j] + pi[j] * zr[j]);
                    C::new(2.0 * (q * C::new(hr[j], -hi[j])).re, 0.0)
                }));
            }
            Filter::Iir { num, den, .. } => {
                unit(g, -1.0);
                g.rev.clear();
                g.rev.extend(num.iter().rev());
                horner(&g.rev, &g.zr, &g.zi, &mut g.hr, &mut g.hi);
                out.extend(g.hr.iter().zip(&g.hi).map(|(&r, &i)| C::new(r, i)));
                g.rev.clear();
                g.rev.extend(den.iter().rev());
                horner(&g.rev, &g.zr, &g.zi, &mut g.hr, &mut g.hi);
                for (o, (&dr, &di)) in out.iter_mut().zip(g.hr.iter().zip(&g.hi)) {
                    *o /= C::new(dr, di);
                }
            }
            Filter::AnalogPz {
                zeros,
                poles,
                hertz,
            } => analog_pz(zeros, poles, *hertz, freqs, out),
            _ => out.extend(freqs.iter().enumerate().map(|(i, &f)| self.at(f, Some(i)))),
        }
    }

    /// A FIR's values on the grid `freqs`, an `n2`-point DFT grid for its interval
    /// (`czt::dft_length`), by the chirp-z transform; `out` is empty.
    fn fir_by_czt(&self, freqs: &[f64], n2: u64, g: &mut Grid, out: &mut Vec<C>) {
        let n = freqs.len();
        match self {
            Filter::FirAsym { c, .. } => out.extend(czt::dft_bins(c, n, n2)),
            Filter::FirSym1 { c, .. } => {
                // c[m-1] + 2 Re Σ_j g_j e^{-iωT j}, g_j = c[m-1-j] for j >= 1.
                let m = c.len();
                let taps: Vec<f64> = std::iter::once(0.0)
                    .chain(c[..m - 1].iter().rev().copied())
                    .collect();
                let h = czt::dft_bins(&taps, n, n2);
                out.extend(h.iter().map(|v| C::new(c[m - 1] + 2.0 * v.re, 0.0)));
            }
            Filter::FirSym2 { c, t } => {
                // 2 Re(e^{iωT/2} Σ_j g_j e^{-iωT j}), g_j = c[m-j] for j >= 1.
                let taps: Vec<f64> = std::iter::once(0.0)
                    .chain(c.iter().rev().copied())
                    .collect();
                let h = czt::dft_bins(&taps, n, n2);
                unit_circle(freqs, t / 2.0, &mut g.wt, &mut g.rev);
                out.extend(
                    h.iter()
                        .zip(g.wt.iter().zip(&g.rev))
                        .map(|(v, (&hr, &hi))| C::new(2.0 * (hr * v.re - hi * v.im), 0.0)),
                );
            }
            _ => {}
        }
    }

    /// The sample interval of a digital stage (1 for the others, which do not use it).
    fn t(&self) -> f64 {
        match self {
            Filter::DigitalPz { t, .. }
            | Filter::FirAsym { t, .. }
            | Filter::FirSym1 { t, .. }
            | Filter::FirSym2 { t, .. }
            | Filter::Iir { t, .. } => *t,
            _ => 1.0,
        }
    }
}

/// Bins between two exact sin_cos anchors of `unit_circle`.
const ANCHOR: usize = 32;

/// e^{i 2π f a} for every f of `freqs` into (`re`, `im`). On the remove_response grid (f_k =
/// k·step, the last bin set to Nyquist) one sin_cos per ANCHOR bins, the bins between as the
/// anchor times e^{i 2π j step a} (j < ANCHOR, tabled once): a complex multiply per bin
/// instead of a sin_cos, which was a sixth of a real-data run (issue #25). Each value is
/// within a few ulp of sin_cos of its own angle (the angles agree to the rounding of
/// 2π f a; `grid_tests`). Any other `freqs` is evaluated point by point.
pub(super) fn unit_circle(freqs: &[f64], a: f64, re: &mut Vec<f64>, im: &mut Vec<f64>) {
    re.clear();
    im.clear();
    let n = freqs.len();
    let step = if n > 1 { freqs[1] } else { 0.0 };
    let uniform = n > 2 * ANCHOR && (0..n - 1).all(|k| freqs[k] == k as f64 * step);
    if !uniform {
        for &f in freqs {
            let (s, c) = (TWO_PI * f * a).sin_cos();
            re.push(c);
            im.push(s);
        }
        return;
    }
    let mut tab = [(0.0, 0.0); ANCHOR];
    for (j, t) in tab.iter_mut().enumerate() {
        let (s, c) = (TWO_PI * (j as f64 * step) * a).sin_cos();
        *t = (c, s);
    }
    re.reserve(n);
    im.reserve(n);
    for b in (0..n - 1).step_by(ANCHOR) {
        let (s0, c0) = (TWO_PI * freqs[b] * a).sin_cos();
        for &(c, s) in tab.iter().take(n - 1 - b) {
            re.push(c0 * c - s0 * s);
            im.push(c0 * s + s0 * c);
        }
    }
    let (s, c) = (TWO_PI * freqs[n - 1] * a).sin_cos();
    re.push(c);
    im.push(s);
}

/// `Filter::AnalogPz::at` on every frequency, the same f64 operations in the same order per
/// frequency (bit for bit: a unit test holds it), in blocks of LANES frequencies so the
/// products over the poles and zeros run in vector registers.
fn analog_pz(zeros: &[C], poles: &[C], hertz: bool, freqs: &[f64], out: &mut Vec<C>) {
    const LANES: usize = 8;
    let n = freqs.len();
    out.reserve(n);
    // Π (s - r) over `roots` for the block's s = i si, as num_complex multiplies.
    let product = |roots: &[C], si: &[f64; LANES]| -> ([f64; LANES], [f64; LANES]) {
        let (mut ar, mut ai) = ([1.0; LANES], [0.0; LANES]);
        for r in roots {
            for l in 0..LANES {
                let (br, bi) = (0.0 - r.re, si[l] - r.im);
                let re = ar[l] * br - ai[l] * bi;
                let im = ar[l] * bi + ai[l] * br;
                ar[l] = re;
                ai[l] = im;
            }
        }
        (ar, ai)
    };
    for b in (0..n).step_by(LANES) {
        let len = LANES.min(n - b);
        let mut si = [0.0; LANES];
        for l in 0..len {
            let f = freqs[b + l];
            si[l] = if hertz { f } else { TWO_PI * f };
        }
        let (nr, ni) = product(zeros, &si);
        let (dr, di) = product(poles, &si);
        for l in 0..len {
            let d2 = dr[l] * dr[l] + di[l] * di[l];
            out.push(if d2 == 0.0 {
                C::new(0.0, 0.0) // evalresp: a pole exactly at f gives 0
            } else {
                // den.conj() * num / d2, as num_complex computes it.
                let ci = -di[l];
                C::new(
                    (dr[l] * nr[l] - ci * ni[l]) / d2,
                    (dr[l] * ni[l] + ci * nr[l]) / d2,
                )
            });
        }
    }
}

/// Σ_k c_k z^(n-1-k) for every z = zr + i zi (Horner, c[0] the highest power), in blocks of
/// LANES frequencies so the compiler keeps a block's accumulators in vector registers: the
/// per-tap work is a complex multiply-add per frequency, no trigonometry. On a CPU with AVX2
/// the same code runs 4 f64 lanes wide instead of SSE2's 2: the same IEEE operations per
/// frequency (no FMA, which would round differently), so the same bits on every machine.
fn horner(c: &[f64], zr: &[f64], zi: &[f64], hr: &mut Vec<f64>, hi: &mut Vec<f64>) {
    hr.resize(zr.len(), 0.0);
    hi.resize(zr.len(), 0.0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above); horner_avx2 needs nothing else.
        return unsafe { horner_avx2(c, zr, zi, hr, hi) };
    }
    horner_lanes(c, zr, zi, hr, hi)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horner_avx2(c: &[f64], zr: &[f64], zi: &[f64], hr: &mut [f64], hi: &mut [f64]) {
    horner_lanes(c, zr, zi, hr, hi)
}

/// Every element of `hr`/`hi` (as long as `zr`) is written.
#[inline(always)]
fn horner_lanes(c: &[f64], zr: &[f64], zi: &[f64], hr: &mut [f64], hi: &mut [f64]) {
    const LANES: usize = 8;
    let n = zr.len();
    for b in (0..n).step_by(LANES) {
        let len = LANES.min(n - b);
        let (mut br, mut bi) = ([0.0; LANES], [0.0; LANES]);
        br[..len].copy_from_slice(&zr[b..b + len]);
        bi[..len].copy_from_slice(&zi[b..b + len]);
        let (mut ar, mut ai) = ([0.0; LANES], [0.0; LANES]);
        for &ck in c {
            for l in 0..LANES {
                let r = ar[l] * br[l] - ai[l] * bi[l] + ck;
                let i = ar[l] * bi[l] + ai[l] * br[l];
                ar[l] = r;
                ai[l] = i;
            }
        }
        hr[b..b + len].copy_from_slice(&ar[..len]);
        hi[b..b + len].copy_from_slice(&ai[..len]);
    }
}

fn fir(c: &[f64], wt: f64) -> C {
    c.iter().enumerate().fold(C::new(0.0, 0.0), |acc, (k, a)| {
        acc + C::new(0.0, -wt * k as f64).exp() * a
    })
}

/// evalresp's `check_sym` for FIR_ASYM blockettes (NUMERICS §3.7 B): renormalise taps that do
/// not sum to 1 ± 2 %, then detect exact symmetry.
pub(super) fn check_sym(c: &[f64], t: f64) -> Filter {
    let mut c = c.to_vec();
    let s: f64 = c.iter().sum();
    if !c.is_empty() && !(0.98..=1.02).contains(&s) {
        c.iter_mut().for_each(|v| *v /= s);
    }
    let n = c.len();
    if n.is_multiple_of(2) {
        let n0 = n / 2;
        if (0..n0).all(|k| c[n0 + k] == c[n0 - k - 1]) {
            c.truncate(n0);
            return Filter::FirSym2 { c, t };
        }
    } else {
        let n0 = (n - 1) / 2;
        if (1..n - n0).all(|k| c[n0 + k] == c[n0 - k]) {
            c.truncate(n - n0);
            return Filter::FirSym1 { c, t };
        }
    }
    Filter::FirAsym { c, t }
}

#[cfg(test)]
mod grid_tests;
