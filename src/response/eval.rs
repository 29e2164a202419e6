//! Response evaluation equal to ObsPy's `Response.get_evalresp_response` (NUMERICS §3.7): the
//! Python-side channel build, evalresp's `check_channel` (FIR symmetry detection and
//! renormalisation), `norm_resp` (gain renormalisation at the sensitivity frequency) and
//! `calc_resp`, then the unit conversion. Quirks are kept on purpose; each carries its
//! spec reference.

use num_complex::Complex64 as C;

use super::spline::Spline;
use super::{PzType, Response, Stage, StageKind, Symmetry};
use crate::pipeline::Output;

/// evalresp's global twoPi = 2·acos(−1) = τ exactly in f64 (NUMERICS §3.7 A.7).
const TWO_PI: f64 = std::f64::consts::TAU;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Dis,
    Vel,
    Acc,
    Volts,
    Counts,
    Tesla,
    Pressure,
    Undef,
}

/// Unit code and scale factor of a unit string (NUMERICS §3.7 A.4).
fn unit(name: Option<&str>) -> (Unit, f64) {
    let Some(name) = name else {
        return (Unit::Undef, 1.0);
    };
    let k = name.to_ascii_uppercase();
    let code = match k.as_str() {
        "M" | "NM" | "CM" | "MM" | "M/M" | "M**3/M**3" => Unit::Dis,
        "M/S" | "M/SEC" | "NM/S" | "NM/SEC" | "CM/S" | "CM/SEC" | "MM/S" | "MM/SEC" => Unit::Vel,
        "M/S**2" | "M/(S**2)" | "M/SEC**2" | "M/(SEC**2)" | "M/S/S" | "NM/S**2" | "NM/(S**2)"
        | "NM/SEC**2" | "NM/(SEC**2)" | "CM/S**2" | "CM/(S**2)" | "CM/SEC**2" | "CM/(SEC**2)"
        | "MM/S**2" | "MM/(S**2)" | "MM/SEC**2" | "MM/(SEC**2)" => Unit::Acc,
        "V" | "VOLT" | "VOLTS" | "V/M" => Unit::Volts,
        "COUNT" | "COUNTS" => Unit::Counts,
        "T" => Unit::Tesla,
        "PA" | "PASCAL" | "PASCALS" | "MBAR" => Unit::Pressure,
        _ => Unit::Undef,
    };
    // Quirk kept: only these spellings are scaled (NUMERICS §3.7 A.4).
    let scale = match k.as_str() {
        "CM/S**2" | "CM/S" | "CM/SEC" | "CM" => 1e2,
        "MM/S**2" | "MM/S" | "MM/SEC" | "MM" => 1e3,
        "NM/S**2" | "NM/S" | "NM/SEC" | "NM" => 1e9,
        _ => 1.0,
    };
    (code, scale)
}

/// A unit-normalised filter H₁(f) of one stage, as evalresp evaluates it.
enum Filter {
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
    fn at(&self, f: f64, idx: Option<usize>) -> C {
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

impl Filter {
    /// The filter on every frequency of `freqs` (the remove_response grid: 120,001 bins for
    /// a 20-minute 100 Hz trace). FIR and coefficient stages go through `horner`: one sincos
    /// per frequency instead of one per tap and frequency (evalresp's way, which took 53 % of
    /// a real-data run in `cos`); the sums differ from evalresp's term order by rounding only
    /// (tests/response.rs holds them to 1e-9 of ObsPy). Other kinds evaluate point by point.
    fn on_grid(&self, freqs: &[f64]) -> Vec<C> {
        let unit = |sign: f64| -> (Vec<f64>, Vec<f64>, Vec<f64>) {
            let mut wt = Vec::with_capacity(freqs.len());
            let mut zr = Vec::with_capacity(freqs.len());
            let mut zi = Vec::with_capacity(freqs.len());
            for &f in freqs {
                let w = TWO_PI * f * self.t();
                let (sn, cs) = w.sin_cos();
                wt.push(w);
                zr.push(cs);
                zi.push(sign * sn);
            }
            (wt, zr, zi)
        };
        match self {
            Filter::FirAsym { c, .. } => {
                // Σ c_k z^k with z = e^{-iωT}: Horner over the taps from the last.
                let (_, zr, zi) = unit(-1.0);
                let rev: Vec<f64> = c.iter().rev().copied().collect();
                let (hr, hi) = horner(&rev, &zr, &zi);
                hr.into_iter().zip(hi).map(|(r, i)| C::new(r, i)).collect()
            }
            Filter::FirSym1 { c, .. } => {
                // c[m-1] + 2 Σ_{k<m-1} c_k cos(ωT (m-1-k)) = c[m-1] + 2 Re(z P(z)), z = e^{iωT}.
                let m = c.len();
                let (_, zr, zi) = unit(1.0);
                let (pr, pi) = horner(&c[..m - 1], &zr, &zi);
                (0..freqs.len())
                    .map(|j| C::new(c[m - 1] + 2.0 * (pr[j] * zr[j] - pi[j] * zi[j]), 0.0))
                    .collect()
            }
            Filter::FirSym2 { c, .. } => {
                // 2 Σ_k c_k cos(ωT (m-k-1/2)) = 2 Re(e^{-iωT/2} z P(z)), z = e^{iωT}.
                let (wt, zr, zi) = unit(1.0);
                let (pr, pi) = horner(c, &zr, &zi);
                (0..freqs.len())
                    .map(|j| {
                        let q =
                            C::new(pr[j] * zr[j] - pi[j] * zi[j], pr[j] * zi[j] + pi[j] * zr[j]);
                        C::new(2.0 * (q * C::new(0.0, -wt[j] / 2.0).exp()).re, 0.0)
                    })
                    .collect()
            }
            Filter::Iir { num, den, .. } => {
                let (_, zr, zi) = unit(-1.0);
                let rev = |v: &[f64]| v.iter().rev().copied().collect::<Vec<f64>>();
                let (nr, ni) = horner(&rev(num), &zr, &zi);
                let (dr, di) = horner(&rev(den), &zr, &zi);
                (0..freqs.len())
                    .map(|j| C::new(nr[j], ni[j]) / C::new(dr[j], di[j]))
                    .collect()
            }
            Filter::AnalogPz {
                zeros,
                poles,
                hertz,
            } => analog_pz(zeros, poles, *hertz, freqs),
            _ => freqs
                .iter()
                .enumerate()
                .map(|(i, &f)| self.at(f, Some(i)))
                .collect(),
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

/// `Filter::AnalogPz::at` on every frequency, the same f64 operations in the same order per
/// frequency (bit for bit: a unit test holds it), in blocks of LANES frequencies so the
/// products over the poles and zeros run in vector registers.
fn analog_pz(zeros: &[C], poles: &[C], hertz: bool, freqs: &[f64]) -> Vec<C> {
    const LANES: usize = 8;
    let n = freqs.len();
    let mut out = Vec::with_capacity(n);
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
    out
}

/// Σ_k c_k z^(n-1-k) for every z = zr + i zi (Horner, c[0] the highest power), in blocks of
/// LANES frequencies so the compiler keeps a block's accumulators in vector registers: the
/// per-tap work is a complex multiply-add per frequency, no trigonometry. On a CPU with AVX2
/// the same code runs 4 f64 lanes wide instead of SSE2's 2: the same IEEE operations per
/// frequency (no FMA, which would round differently), so the same bits on every machine.
fn horner(c: &[f64], zr: &[f64], zi: &[f64]) -> (Vec<f64>, Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above); horner_avx2 needs nothing else.
        return unsafe { horner_avx2(c, zr, zi) };
    }
    horner_lanes(c, zr, zi)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horner_avx2(c: &[f64], zr: &[f64], zi: &[f64]) -> (Vec<f64>, Vec<f64>) {
    horner_lanes(c, zr, zi)
}

#[inline(always)]
fn horner_lanes(c: &[f64], zr: &[f64], zi: &[f64]) -> (Vec<f64>, Vec<f64>) {
    const LANES: usize = 8;
    let n = zr.len();
    let (mut hr, mut hi) = (vec![0.0; n], vec![0.0; n]);
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
    (hr, hi)
}

fn fir(c: &[f64], wt: f64) -> C {
    c.iter().enumerate().fold(C::new(0.0, 0.0), |acc, (k, a)| {
        acc + C::new(0.0, -wt * k as f64).exp() * a
    })
}

/// evalresp's `check_sym` for FIR_ASYM blockettes (NUMERICS §3.7 B): renormalise taps that do
/// not sum to 1 ± 2 %, then detect exact symmetry.
fn check_sym(c: &[f64], t: f64) -> Filter {
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

/// Input sampling rate of each stage, as ObsPy's `get_sampling_rates` would give it for a
/// stage without its own decimation (used only for digital PZ, NUMERICS §3.7 A.5).
fn input_rate(stages: &[&Stage], i: usize) -> Option<f64> {
    let mut rate = None;
    for s in &stages[..i] {
        if let Some(d) = &s.decimation {
            if d.factor > 0 {
                rate = Some(d.input_sample_rate / d.factor as f64);
            }
        }
    }
    rate.or_else(|| {
        stages[i..]
            .iter()
            .find_map(|s| s.decimation.as_ref().map(|d| d.input_sample_rate))
    })
}

/// Evaluates the response on `freqs` for `output` (NUMERICS §3.7). Errors carry ObsPy's reason.
pub fn evaluate(resp: &Response, freqs: &[f64], output: Output) -> Result<Vec<C>, String> {
    let mut stages: Vec<&Stage> = resp.stages.iter().collect();
    if stages.is_empty() {
        return Err("can not use evalresp on a response with no response stages".into());
    }
    stages.sort_by_key(|s| s.number);
    if stages.windows(2).any(|w| w[0].number == w[1].number) {
        return Err("each stage can only appear once".into());
    }
    if let Some(s) = stages
        .iter()
        .find(|s| matches!(s.kind, StageKind::Polynomial))
    {
        return Err(format!(
            "stage {} is a Polynomial stage, which seisbatch does not support yet",
            s.number
        ));
    }
    let sens = resp.sensitivity.as_ref();

    // Units repair of stage 1 (NUMERICS §3.7 A.3).
    let mut first_in = stages[0].input_units.clone().filter(|s| !s.is_empty());
    let mut stage1_out = None;
    if stages[0].number == 1 {
        if first_in.is_none() {
            first_in = sens
                .and_then(|s| s.input_units.clone())
                .filter(|s| !s.is_empty());
        }
        if stages[0].output_units.as_deref().unwrap_or("").is_empty() {
            if stages.len() == 1 {
                stage1_out = sens.and_then(|s| s.output_units.clone());
            }
            if let Some(s2) = stages.iter().find(|s| s.number == 2) {
                if s2.input_units.as_deref().is_some_and(|u| !u.is_empty()) {
                    stage1_out = s2.input_units.clone();
                }
            }
        }
    }

    // Sensitivity frequency f_s (NUMERICS §3.7 C).
    let f_s = match sens {
        Some(s) => s.frequency.unwrap_or(0.0),
        None => stages
            .iter()
            .filter_map(|s| match (s.gain, s.gain_frequency) {
                (Some(_), Some(f)) if f != 0.0 => Some(f),
                _ => None,
            })
            .next_back()
            .unwrap_or(0.0),
    };
    if sens.is_some_and(|s| s.value == 0.0) {
        return Err("zero stage gain (instrument sensitivity value is 0)".into());
    }

    // check_channel: unit continuity between consecutive filter stages.
    let mut prev_out: Option<Unit> = None;
    for (i, s) in stages.iter().enumerate() {
        if matches!(s.kind, StageKind::GainOnly) {
            continue;
        }
        let inp = if i == 0 {
            first_in.as_deref()
        } else {
            s.input_units.as_deref()
        };
        let out = if i == 0 && stage1_out.is_some() {
            stage1_out.as_deref()
        } else {
            s.output_units.as_deref()
        };
        let (iu, _) = unit(inp);
        if let Some(p) = prev_out {
            if p != iu {
                return Err(format!(
                    "illegal RESP format: stage {} input units ({}) do not match the previous stage's output units",
                    s.number,
                    inp.unwrap_or("none")
                ));
            }
        }
        prev_out = Some(unit(out).0);
    }

    let n = freqs.len();
    let mut total = vec![C::new(1.0, 0.0); n];
    let mut calc_sensit = 1.0;
    let single = stages.len() == 1;
    for (si, st) in stages.iter().enumerate() {
        let mut gain = match (st.gain, st.gain_frequency) {
            (Some(g), Some(fg)) => Some((g, fg)),
            _ => None,
        };
        if single && gain.is_none() {
            match sens {
                Some(s) => gain = Some((s.value, f_s)),
                None => {
                    return Err(format!(
                        "stage {} has no gain and there is no instrument sensitivity",
                        st.number
                    ))
                }
            }
        }
        if let Some((g, _)) = gain {
            if g == 0.0 {
                return Err(format!("zero stage gain in stage {}", st.number));
            }
        }
        let t = st.decimation.as_ref().map(|d| {
            if d.input_sample_rate != 0.0 {
                1.0 / d.input_sample_rate
            } else {
                0.0
            }
        });
        let need_dec = |what: &str| -> Result<f64, String> {
            t.ok_or_else(|| {
                format!(
                    "illegal RESP format: {what} stage {} has no decimation",
                    st.number
                )
            })
        };
        if st.decimation.is_some() && matches!(st.kind, StageKind::GainOnly) {
            // evalresp's check_channel (NUMERICS §3.7 B).
            return Err(format!(
                "illegal RESP format: decimation in gain-only stage {}",
                st.number
            ));
        }
        let mut native = 1.0;
        let mut pz_a0_freq = None;
        let mut delay_corr = 0.0;
        let filter: Option<Filter> = match &st.kind {
            StageKind::PolesZeros {
                tf,
                a0,
                a0_freq,
                zeros,
                poles,
            } => {
                native = *a0;
                pz_a0_freq = Some(*a0_freq);
                match tf {
                    PzType::LaplaceRad | PzType::LaplaceHz => Some(Filter::AnalogPz {
                        zeros: zeros.clone(),
                        poles: poles.clone(),
                        hertz: *tf == PzType::LaplaceHz,
                    }),
                    PzType::Digital => {
                        let t = match t {
                            Some(t) => t,
                            None => input_rate(&stages, si).map(|r| 1.0 / r).unwrap_or(1.0),
                        };
                        if zeros.is_empty() && poles.is_empty() {
                            native = 1.0; // blockette skipped in calc_resp
                            None
                        } else {
                            Some(Filter::DigitalPz {
                                zeros: zeros.clone(),
                                poles: poles.clone(),
                                t,
                            })
                        }
                    }
                }
            }
            StageKind::Coefficients {
                digital,
                numerator,
                denominator,
            } => {
                if denominator.is_empty() {
                    if !digital {
                        return Err(format!(
                            "stage {}: when no denominators are given it must be a digital FIR filter",
                            st.number
                        ));
                    }
                    let t = need_dec("FIR")?;
                    let f = check_sym(numerator, t);
                    if let (Filter::FirAsym { .. }, Some(d)) = (&f, &st.decimation) {
                        delay_corr = d.correction;
                    }
                    (!numerator.is_empty()).then_some(f)
                } else {
                    // Quirk: ANALOG coefficient stages are evaluated as digital (NUMERICS §3.7 A.5).
                    let t = need_dec("IIR")?;
                    Some(Filter::Iir {
                        num: numerator.clone(),
                        den: denominator.clone(),
                        t,
                    })
                }
            }
            StageKind::Fir {
                symmetry,
                coefficients,
            } => {
                let t = need_dec("FIR")?;
                let f = match symmetry {
                    Symmetry::None => check_sym(coefficients, t),
                    Symmetry::Odd => Filter::FirSym1 {
                        c: coefficients.clone(),
                        t,
                    },
                    Symmetry::Even => Filter::FirSym2 {
                        c: coefficients.clone(),
                        t,
                    },
                };
                if let (Filter::FirAsym { .. }, Some(d)) = (&f, &st.decimation) {
                    delay_corr = d.correction;
                }
                (!coefficients.is_empty()).then_some(f)
            }
            StageKind::List(elems) => {
                let fl: Vec<f64> = elems.iter().map(|e| e.0).collect();
                let am: Vec<f64> = elems.iter().map(|e| e.1).collect();
                let ph: Vec<f64> = elems.iter().map(|e| e.2).collect();
                let sa = Spline::new(&fl, &am).map_err(|e| format!("stage {}: {e}", st.number))?;
                let sp = Spline::new(&fl, &ph).map_err(|e| format!("stage {}: {e}", st.number))?;
                Some(Filter::List(
                    freqs
                        .iter()
                        .map(|&f| {
                            let a = sa.eval(f);
                            let p = sp.eval(f);
                            C::new(0.0, p / 180.0 * std::f64::consts::PI).exp() * a
                        })
                        .collect(),
                ))
            }
            StageKind::Polynomial => unreachable!("rejected above"),
            StageKind::GainOnly => None,
        };
        let renorm_allowed = matches!(
            filter,
            Some(
                Filter::AnalogPz { .. }
                    | Filter::DigitalPz { .. }
                    | Filter::FirAsym { .. }
                    | Filter::FirSym1 { .. }
                    | Filter::FirSym2 { .. }
                    | Filter::Iir { .. }
            )
        );
        let mut vals: Vec<C> = match &filter {
            Some(fl) => fl.on_grid(freqs),
            None => vec![C::new(1.0, 0.0); n],
        };
        let mut scale = native;
        if let Some((g, fg)) = gain {
            let need = fg != f_s || pz_a0_freq.is_some_and(|a| a != f_s);
            if need && renorm_allowed {
                let fl = filter.as_ref().expect("renorm_allowed implies a filter");
                let df = fl.at(fg, None).norm();
                let of = fl.at(f_s, None).norm();
                if df == 0.0 || of == 0.0 {
                    return Err(format!(
                        "stage {}: the filter is zero at the gain or sensitivity frequency, cannot normalise",
                        st.number
                    ));
                }
                calc_sensit *= g / df * of;
                scale = 1.0 / of;
            } else {
                calc_sensit *= g;
            }
        }
        let corr = delay_corr;
        for (v, &f) in vals.iter_mut().zip(freqs) {
            *v *= scale;
            if corr != 0.0 {
                *v *= C::new(0.0, TWO_PI * f * corr).exp();
            }
        }
        for (t, v) in total.iter_mut().zip(&vals) {
            *t *= v;
        }
    }

    // Unit conversion on the first stage's input units (NUMERICS §3.7 E).
    let (inp, scale) = unit(first_in.as_deref());
    let order = |u: Unit| match u {
        Unit::Dis => 0i32,
        Unit::Acc => 2,
        _ => 1, // everything else is treated as VEL, quirk kept
    };
    let o_in = order(inp);
    let o_out = match output {
        Output::Disp => Some(0),
        Output::Vel => Some(1),
        Output::Acc => Some(2),
        Output::Def => None,
    };
    for (v, &f) in total.iter_mut().zip(freqs) {
        *v *= calc_sensit;
        if let Some(o_out) = o_out {
            let w = TWO_PI * f;
            let mut k = o_in - o_out;
            while k > 0 {
                *v *= C::new(0.0, w);
                k -= 1;
            }
            while k < 0 {
                // Division by iω as multiplication by −i/ω, exactly 0 at ω = 0.
                *v = if w == 0.0 {
                    C::new(0.0, 0.0)
                } else {
                    *v * C::new(0.0, -1.0 / w)
                };
                k += 1;
            }
        }
        *v *= scale;
    }
    // NaN or Inf in the StationXML (a pole, a gain) poisons every bin; a water level would
    // then turn the poison into plausible numbers. Refuse it with a reason instead. (An
    // infinite value at 0 Hz, from a pole at the origin, is left to the caller as in ObsPy.)
    if let Some(k) = total
        .iter()
        .zip(freqs)
        .position(|(v, &f)| v.re.is_nan() || v.im.is_nan() || (f != 0.0 && !v.is_finite()))
    {
        return Err(format!(
            "the response is not finite at {} Hz (NaN or Inf among its poles, zeros, coefficients or gains)",
            freqs[k]
        ));
    }
    Ok(total)
}

/// numpy's `linspace(0, 1/(2·t_samp), nfft//2 + 1)`: f_k = k·step, last forced to Nyquist.
pub fn grid(t_samp: f64, nfft: usize) -> Vec<f64> {
    let n = nfft / 2 + 1;
    let stop = 1.0 / (2.0 * t_samp);
    if n == 1 {
        return vec![0.0];
    }
    let step = stop / (n - 1) as f64;
    let mut f: Vec<f64> = (0..n).map(|k| k as f64 * step).collect();
    f[n - 1] = stop;
    f
}

#[cfg(test)]
mod grid_tests {
    use super::*;

    fn freqs() -> Vec<f64> {
        grid(0.01, 2002)
    }

    /// Analog poles and zeros on the grid are the point-by-point values, bit for bit.
    #[test]
    fn analog_pz_on_the_grid_is_bit_identical() {
        let zeros = vec![C::new(0.0, 0.0), C::new(0.0, 0.0), C::new(-13.2, 0.0)];
        let poles = vec![
            C::new(-0.037, 0.037),
            C::new(-0.037, -0.037),
            C::new(-251.3, 0.0),
            C::new(-131.0, 467.3),
            C::new(-131.0, -467.3),
        ];
        for hertz in [false, true] {
            let f = Filter::AnalogPz {
                zeros: zeros.clone(),
                poles: poles.clone(),
                hertz,
            };
            let fr = freqs();
            let grid = f.on_grid(&fr);
            for (i, &x) in fr.iter().enumerate() {
                let p = f.at(x, Some(i));
                assert_eq!(
                    (grid[i].re.to_bits(), grid[i].im.to_bits()),
                    (p.re.to_bits(), p.im.to_bits()),
                    "f = {x}"
                );
            }
        }
    }

    /// The AVX2 build of Horner gives the bits of the baseline build (no FMA contraction).
    #[test]
    fn horner_is_the_same_bits_with_and_without_avx2() {
        let c: Vec<f64> = (0..97)
            .map(|k| ((k * 31 % 17) as f64 - 8.0) / 9.0)
            .collect();
        let fr = freqs();
        let zr: Vec<f64> = fr.iter().map(|f| (TWO_PI * f * 0.003).cos()).collect();
        let zi: Vec<f64> = fr.iter().map(|f| -(TWO_PI * f * 0.003).sin()).collect();
        let (a, b) = horner_lanes(&c, &zr, &zi);
        let (x, y) = horner(&c, &zr, &zi);
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<u64>>();
        assert_eq!((bits(&a), bits(&b)), (bits(&x), bits(&y)));
    }

    /// FIR and coefficient stages by Horner agree with evalresp's per-tap sums to rounding.
    #[test]
    fn fir_on_the_grid_matches_the_per_tap_sums() {
        let taps: Vec<f64> = (0..151)
            .map(|k| ((k * 7919 % 211) as f64 - 105.0) / 1000.0)
            .collect();
        let sum: f64 = taps.iter().map(|c| c.abs()).sum();
        let half = taps[..76].to_vec();
        for f in [
            Filter::FirAsym {
                c: taps.clone(),
                t: 0.005,
            },
            Filter::FirSym1 {
                c: half.clone(),
                t: 0.005,
            },
            Filter::FirSym2 { c: half, t: 0.0025 },
            Filter::Iir {
                num: taps[..5].to_vec(),
                den: vec![1.0, -0.5, 0.25],
                t: 0.01,
            },
        ] {
            let fr = freqs();
            let grid = f.on_grid(&fr);
            for (i, &x) in fr.iter().enumerate() {
                let p = f.at(x, Some(i));
                assert!(
                    (grid[i] - p).norm() <= 1e-13 * sum.max(p.norm()),
                    "f = {x}: {} vs {p}",
                    grid[i]
                );
            }
        }
    }
}
