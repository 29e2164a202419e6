//! Response evaluation equal to ObsPy's `Response.get_evalresp_response` (NUMERICS §3.7): the
//! Python-side channel build, evalresp's `check_channel` (unit continuity), `norm_resp` (gain
//! renormalisation at the sensitivity frequency) and `calc_resp` (each stage's filter from
//! `filter`, combined), then the unit conversion. Quirks are kept on purpose; each carries
//! its spec reference.

use num_complex::Complex64 as C;

use super::cascade::Cascade;
use super::filter::{check_sym, Filter, Grid, TWO_PI};
use super::spline::Spline;
use super::stages::{self, StageCache, StageKey};
use super::{PzType, Response, Stage, StageKind, Symmetry};
use crate::response::Output;

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
    evaluate_on(resp, freqs, output, None)
}

/// A stage cache and the grid `freqs` is (`grid(delta, nfft)`), for `evaluate_on`.
pub type Shared<'a> = Option<(&'a StageCache, f64, usize)>;

/// `evaluate`, each stage's values taken from `shared`'s cache when another channel's
/// identical stage was evaluated on the same grid (the same numbers: `stages`).
pub fn evaluate_on(
    resp: &Response,
    freqs: &[f64],
    output: Output,
    shared: Shared,
) -> Result<Vec<C>, String> {
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

    // Each stage's filter, scale and delay correction; their values once all are known
    // (`stage_product`: a FIR cascade may be one transform).
    let mut parts: Vec<(Option<Filter>, f64, f64)> = Vec::with_capacity(stages.len());
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
        parts.push((filter, scale, delay_corr));
    }
    let mut total = stage_product(&parts, freqs, shared);

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

/// Bins per range of a long grid's stage evaluated range by range (`stage_product`).
const BIN_RANGE: usize = 1 << 16;

/// The product of the stages' values (`parts`: filter, scale, delay correction) on `freqs`,
/// each stage's values from `shared`'s cache where another channel's identical stage was
/// evaluated on the same grid. A FIR cascade that one chirp-z transform evaluates
/// (`Cascade`) is one factor.
fn stage_product(parts: &[(Option<Filter>, f64, f64)], freqs: &[f64], shared: Shared) -> Vec<C> {
    let n = freqs.len();
    let mut total = vec![C::new(1.0, 0.0); n];
    let firs: Vec<(usize, (&Filter, f64, f64))> = parts
        .iter()
        .enumerate()
        .filter_map(|(i, (f, s, c))| match f {
            Some(
                f @ (Filter::FirAsym { .. } | Filter::FirSym1 { .. } | Filter::FirSym2 { .. }),
            ) => Some((i, (f, *s, *c))),
            _ => None,
        })
        .collect();
    let fir_parts: Vec<(&Filter, f64, f64)> = firs.iter().map(|f| f.1).collect();
    let cascade = Cascade::plan(&fir_parts, freqs);
    // One stage's values and the grid's intermediates, reused stage after stage (a range's
    // worth for stages evaluated range by range).
    let (mut vals, mut grid) = (Vec::new(), Grid::default());
    let (mut range_vals, mut range_grid) = (Vec::new(), Grid::default());
    let mut multiply =
        |total: &mut [C], key: Option<StageKey>, eval: &mut dyn FnMut(&mut Grid, &mut Vec<C>)| {
            let cached;
            let v: &[C] = match (shared, key) {
                (Some((cache, _, _)), Some(key)) => {
                    cached = cache.values(key, || {
                        let mut v = Vec::with_capacity(n);
                        eval(&mut grid, &mut v);
                        v
                    });
                    &cached
                }
                _ => {
                    eval(&mut grid, &mut vals);
                    &vals
                }
            };
            for (t, v) in total.iter_mut().zip(v) {
                *t *= v;
            }
        };
    // A grid past LARGE_GRID bins (a day trace's: 8.64 million) is one trace's alone: its
    // stages are not kept, which would hold 16 bytes per bin each for channels that rarely
    // share the grid (issue #26's memory per sample).
    let shared = shared.filter(|_| n <= stages::LARGE_GRID);
    let grid_of = |s: Shared| s.map(|(_, delta, nfft)| (delta, nfft));
    for (i, (filter, scale, corr)) in parts.iter().enumerate() {
        if cascade.is_some() && firs.iter().any(|f| f.0 == i) {
            continue;
        }
        if filter.is_none() && *corr == 0.0 {
            // A gain-only stage: its values are its scale, a factor per bin without a
            // table (the product's bits are those of multiplying by (scale, 0), up to the
            // sign of a zero imaginary part).
            total.iter_mut().for_each(|t| *t *= *scale);
            continue;
        }
        if n > stages::LARGE_GRID && filter.as_ref().is_none_or(Filter::per_bin) {
            // A long grid bin range by bin range: the same values (each bin's depends on its
            // frequency alone), with the filter's per-bin intermediates (40 bytes a bin) and
            // the stage's values a range long instead of a grid long (issue #26).
            for (t, f) in total.chunks_mut(BIN_RANGE).zip(freqs.chunks(BIN_RANGE)) {
                stage_values(
                    filter.as_ref(),
                    f,
                    *scale,
                    *corr,
                    &mut range_grid,
                    &mut range_vals,
                );
                for (t, v) in t.iter_mut().zip(&range_vals) {
                    *t *= v;
                }
            }
            continue;
        }
        let key = grid_of(shared)
            .map(|(delta, nfft)| stages::key(delta, nfft, filter.as_ref(), *scale, *corr));
        multiply(&mut total, key, &mut |g, v| {
            stage_values(filter.as_ref(), freqs, *scale, *corr, g, v)
        });
    }
    if let Some(c) = cascade {
        let key = grid_of(shared).map(|(delta, nfft)| c.key(delta, nfft));
        multiply(&mut total, key, &mut |_, v| c.values(freqs, v));
    }
    total
}

/// One stage's values on `freqs` into `vals`: its filter (ones for a gain-only stage) times
/// `scale`, times the delay correction e^{i 2π f corr} where there is one.
fn stage_values(
    filter: Option<&Filter>,
    freqs: &[f64],
    scale: f64,
    corr: f64,
    grid: &mut Grid,
    vals: &mut Vec<C>,
) {
    match filter {
        Some(fl) => fl.on_grid_into(freqs, grid, vals),
        None => {
            vals.clear();
            vals.resize(freqs.len(), C::new(1.0, 0.0));
        }
    }
    if corr == 0.0 {
        vals.iter_mut().for_each(|v| *v *= scale);
        return;
    }
    // e^{i 2π f corr} per bin through the grid's buffers (the filter's are spent).
    let (re, im) = grid.spare();
    super::filter::unit_circle(freqs, corr, re, im);
    for ((v, &c), &s) in vals.iter_mut().zip(re.iter()).zip(im.iter()) {
        *v *= scale;
        *v *= C::new(c, s);
    }
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
