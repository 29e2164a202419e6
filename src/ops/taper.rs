//! `Trace.taper` (NUMERICS §2) and the two ObsPy `cosine_taper` variants it and
//! `remove_response` use (NUMERICS §2 `cosine`, NUMERICS §3.3).

use serde::Serialize;
use std::f64::consts::PI;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Both,
    Left,
    Right,
}

/// scipy windows reachable through `Trace.taper(type=...)` (NUMERICS §2), plus ObsPy's
/// `cosine`: every one ObsPy 1.5.1's taper entry points name. The parameters of those that
/// take some are `WindowArgs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Hann,
    Hamming,
    Cosine,
    Blackman,
    Bartlett,
    Triang,
    Boxcar,
    Barthann,
    Blackmanharris,
    Nuttall,
    Flattop,
    Bohman,
    Parzen,
    /// `beta`
    Kaiser,
    /// `std`
    Gaussian,
    /// `p`, `sig`
    GeneralGaussian,
    /// `at` (dB)
    Chebwin,
    /// `NW`
    Dpss,
}

/// The keyword arguments ObsPy passes through to the scipy window (`Trace.taper(type,
/// **kwargs)`), under scipy's names; only the ones `Window` needs are set.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct WindowArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
    #[serde(rename = "NW", skip_serializing_if = "Option::is_none")]
    pub nw: Option<f64>,
}

impl Window {
    /// ObsPy's (and scipy's) name of a window, any case; None for one not here.
    pub fn parse(s: &str) -> Option<Window> {
        Some(match s.to_ascii_lowercase().as_str() {
            "hann" | "hanning" => Window::Hann,
            "hamming" => Window::Hamming,
            "cosine" => Window::Cosine,
            "blackman" => Window::Blackman,
            "bartlett" => Window::Bartlett,
            "triang" => Window::Triang,
            "boxcar" => Window::Boxcar,
            "barthann" => Window::Barthann,
            "blackmanharris" => Window::Blackmanharris,
            "nuttall" => Window::Nuttall,
            "flattop" => Window::Flattop,
            "bohman" => Window::Bohman,
            "parzen" => Window::Parzen,
            "kaiser" => Window::Kaiser,
            "gaussian" => Window::Gaussian,
            "general_gaussian" => Window::GeneralGaussian,
            "chebwin" => Window::Chebwin,
            "dpss" => Window::Dpss,
            _ => return None,
        })
    }
    pub const NAMES: &'static str =
        "hann, hamming, cosine, blackman, bartlett, triang, boxcar, barthann, blackmanharris, \
         nuttall, flattop, bohman, parzen, kaiser (beta), gaussian (std), general_gaussian (p, \
         sig), chebwin (at), dpss (NW)";

    /// The keys of `WindowArgs` this window needs (scipy's positional parameters).
    pub fn params(self) -> &'static [&'static str] {
        match self {
            Window::Kaiser => &["beta"],
            Window::Gaussian => &["std"],
            Window::GeneralGaussian => &["p", "sig"],
            Window::Chebwin => &["at"],
            Window::Dpss => &["NW"],
            _ => &[],
        }
    }
}

/// Samples each tapered end covers for an n-sample trace, and whether ObsPy warns that the
/// taper is longer than the trace (both ends then meet in the middle).
pub fn taper_len(
    n: usize,
    sampling_rate: f64,
    max_percentage: Option<f64>,
    max_length: Option<f64>,
) -> (usize, bool) {
    let mut cands: Vec<usize> = Vec::new();
    if let Some(p) = max_percentage {
        cands.push((p * n as f64) as usize); // Python int() truncates
    }
    if let Some(l) = max_length {
        cands.push((l * sampling_rate) as usize);
    }
    let warn = cands.iter().all(|&c| 2 * c > n);
    cands.push(n / 2);
    (*cands.iter().min().unwrap_or(&0), warn) // provably non-empty: n/2 was pushed
}

/// ObsPy's warning when the taper covers the whole trace.
pub const WHOLE_TRACE: &str = "taper longer than trace: tapering the whole trace";

/// The whole-trace window `Trace.taper` multiplies by: the tapered ends, ones between (a
/// multiplication by 1.0 is exact, so applying it is the same as tapering the ends only).
pub fn taper_window(
    n: usize,
    sampling_rate: f64,
    max_percentage: Option<f64>,
    (kind, args): (Window, &WindowArgs),
    max_length: Option<f64>,
    side: Side,
) -> Result<Vec<f64>, String> {
    let mut x = vec![1.0; n];
    if n == 0 {
        return Ok(x);
    }
    let m = window_len(n, sampling_rate, max_percentage, max_length);
    let wlen = taper_len(n, sampling_rate, max_percentage, max_length).0;
    let w = window_with(kind, args, m)?;
    match side {
        Side::Both | Side::Left => {
            for i in 0..wlen {
                x[i] *= w[i];
            }
        }
        Side::Right => {}
    }
    match side {
        Side::Both | Side::Right => {
            for i in 0..wlen {
                x[n - wlen + i] *= w[m - wlen + i];
            }
        }
        Side::Left => {}
    }
    Ok(x)
}

/// The length of the window ObsPy samples for the tapered ends: 2 wlen, or 2 wlen + 1.
pub fn window_len(
    n: usize,
    sampling_rate: f64,
    max_percentage: Option<f64>,
    max_length: Option<f64>,
) -> usize {
    let (wlen, _) = taper_len(n, sampling_rate, max_percentage, max_length);
    if 2 * wlen == n {
        2 * wlen
    } else {
        2 * wlen + 1
    }
}

/// Applies `Trace.taper(max_percentage, type, max_length, side)` in place.
/// Returns a warning when ObsPy would warn that the taper is longer than the trace.
pub fn taper(
    x: &mut [f64],
    sampling_rate: f64,
    max_percentage: Option<f64>,
    kind: Window,
    max_length: Option<f64>,
    side: Side,
) -> Option<String> {
    let n = x.len();
    if n == 0 {
        return None;
    }
    let w = taper_window(
        n,
        sampling_rate,
        max_percentage,
        (kind, &WindowArgs::default()),
        max_length,
        side,
    )
    .unwrap_or_else(|_| vec![1.0; n]);
    x.iter_mut().zip(&w).for_each(|(v, w)| *v *= w);
    let (_, warn) = taper_len(n, sampling_rate, max_percentage, max_length);
    warn.then(|| WHOLE_TRACE.to_string())
}

/// A symmetric scipy window of length m with its parameters (`sym=True`), or scipy's
/// refusal of them (dpss needs 0 < NW < M / 2).
pub fn window_with(kind: Window, args: &WindowArgs, m: usize) -> Result<Vec<f64>, String> {
    use super::windows;
    let need =
        |v: Option<f64>, name: &str| v.ok_or_else(|| format!("the {kind:?} window needs `{name}`"));
    Ok(match kind {
        Window::Bohman => windows::bohman(m),
        Window::Parzen => windows::parzen(m),
        Window::Kaiser => windows::kaiser(m, need(args.beta, "beta")?),
        Window::Gaussian => windows::gaussian(m, need(args.std, "std")?),
        Window::GeneralGaussian => {
            windows::general_gaussian(m, need(args.p, "p")?, need(args.sig, "sig")?)
        }
        Window::Chebwin => windows::chebwin(m, need(args.at, "at")?),
        Window::Dpss => {
            let nw = need(args.nw, "NW")?;
            if m > 1 && nw >= m as f64 / 2.0 {
                return Err(format!(
                    "dpss NW = {nw} for a {m}-sample window: NW must be less than M/2. \
                     (scipy's error)"
                ));
            }
            windows::dpss(m, nw)
        }
        _ => window(kind, m),
    })
}

/// A symmetric scipy window of length m (`sym=True`), or ObsPy's `cosine_taper(m, p=1)`,
/// for the windows without parameters (the others: `window_with`; here they are ones).
pub fn window(kind: Window, m: usize) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    let mf = m as f64;
    // scipy's general_cosine: fac = linspace(-pi, pi, m); w = sum a_k cos(k fac).
    let general_cosine = |a: &[f64]| -> Vec<f64> {
        let step = 2.0 * PI / (mf - 1.0);
        (0..m)
            .map(|i| {
                let fac = if i == m - 1 {
                    PI
                } else {
                    -PI + i as f64 * step
                };
                a.iter()
                    .enumerate()
                    .map(|(k, ak)| ak * (k as f64 * fac).cos())
                    .sum()
            })
            .collect()
    };
    match kind {
        Window::Hann => general_cosine(&[0.5, 0.5]),
        Window::Hamming => general_cosine(&[0.54, 0.46]),
        Window::Blackman => general_cosine(&[0.42, 0.50, 0.08]),
        Window::Blackmanharris => general_cosine(&[0.35875, 0.48829, 0.14128, 0.01168]),
        Window::Nuttall => general_cosine(&[0.3635819, 0.4891775, 0.1365995, 0.0106411]),
        Window::Flattop => general_cosine(&[
            0.21557895,
            0.41663158,
            0.277263158,
            0.083578947,
            0.006947368,
        ]),
        Window::Boxcar => vec![1.0; m],
        Window::Bartlett => (0..m)
            .map(|i| {
                let n = i as f64;
                if n <= (mf - 1.0) / 2.0 {
                    2.0 * n / (mf - 1.0)
                } else {
                    2.0 - 2.0 * n / (mf - 1.0)
                }
            })
            .collect(),
        Window::Triang => {
            let half: Vec<f64> = (1..=m.div_ceil(2))
                .map(|i| {
                    let n = i as f64;
                    if m.is_multiple_of(2) {
                        (2.0 * n - 1.0) / mf
                    } else {
                        2.0 * n / (mf + 1.0)
                    }
                })
                .collect();
            let mut w = half.clone();
            let skip = if m % 2 == 1 { 1 } else { 0 };
            w.extend(half.iter().rev().skip(skip));
            w
        }
        Window::Barthann => (0..m)
            .map(|i| {
                let fac = (i as f64 / (mf - 1.0) - 0.5).abs();
                0.62 - 0.48 * fac + 0.38 * (2.0 * PI * fac).cos()
            })
            .collect(),
        Window::Cosine => cosine_taper(m, 1.0, false, true).unwrap_or_else(|_| vec![1.0; m]),
        Window::Bohman => super::windows::bohman(m),
        Window::Parzen => super::windows::parzen(m),
        Window::Kaiser
        | Window::Gaussian
        | Window::GeneralGaussian
        | Window::Chebwin
        | Window::Dpss => vec![1.0; m],
    }
}

/// Python slice bounds for `a[lo:hi]` on a length-n array (negative indices wrap, clamp).
fn py_slice(lo: i64, hi: i64, n: usize) -> (usize, usize) {
    let n = n as i64;
    let fix = |i: i64| -> i64 {
        if i < 0 {
            (i + n).max(0)
        } else {
            i.min(n)
        }
    };
    let (a, b) = (fix(lo), fix(hi));
    (a as usize, b.max(a) as usize)
}

/// `cosine_taper`'s segment bounds (i1, i2, i3, i4), or numpy's refusal to broadcast: every
/// way the taper can fail, without computing it (the plan checks each trace shape with this).
pub fn cosine_bounds(npts: usize, p: f64, sactaper: bool) -> Result<(i64, i64, i64, i64), String> {
    if !(0.0..=1.0).contains(&p) {
        return Err("Decimal taper percentage must be between 0 and 1.".into());
    }
    let nf = npts as f64;
    let frac = if p == 0.0 || p == 1.0 {
        (nf * p / 2.0) as i64
    } else {
        (nf * p / 2.0 + 0.5) as i64
    };
    let n = npts as i64;
    let (i1, mut i2, mut i3, i4) = (0i64, frac - 1, n - frac, n - 1);
    if sactaper {
        i2 += 1;
        i3 -= 1;
    }
    if i1 == i2 {
        i2 += 1;
    }
    if i3 == i4 {
        i3 -= 1;
    }
    let fits = |lo: i64, hi: i64, count: i64| -> Result<(), String> {
        let (a, b) = py_slice(lo, hi, npts);
        let count = count.max(0) as usize;
        if b - a != count && count != 1 {
            return Err(format!(
                "cosine taper of {npts} samples: numpy would fail to broadcast ({count} values into {} slots)",
                b - a
            ));
        }
        Ok(())
    };
    fits(i1, i2 + 1, i2 + 1 - i1)?;
    if i3 > i2 + 1 {
        fits(i2 + 1, i3, i3 - i2 - 1)?;
    }
    fits(i3, i4 + 1, i4 + 1 - i3)?;
    Ok((i1, i2, i3, i4))
}

/// ObsPy's `signal/invsim.py:cosine_taper(npts, p, sactaper, halfcosine)`, including its
/// index arithmetic and numpy slice semantics, so tiny npts behave as in ObsPy (NUMERICS §3.3).
/// Errors where numpy would raise (a broadcast mismatch for npts of 1 or 2).
pub fn cosine_taper(
    npts: usize,
    p: f64,
    sactaper: bool,
    halfcosine: bool,
) -> Result<Vec<f64>, String> {
    let (i1, i2, i3, i4) = cosine_bounds(npts, p, sactaper)?;
    let mut w = vec![0.0; npts];
    // cosine_bounds checked that each segment's values fit its slots (or broadcast one).
    let mut assign = |lo: i64, hi: i64, vals: &dyn Fn(i64) -> f64, count: i64| {
        let (a, b) = py_slice(lo, hi, npts);
        for (j, slot) in (a..b).enumerate() {
            let k = if count.max(0) == 1 { lo } else { lo + j as i64 };
            w[slot] = vals(k);
        }
    };
    let (f1, f2, f3, f4) = (i1 as f64, i2 as f64, i3 as f64, i4 as f64);
    // halfcosine: raised-cosine ramps; otherwise quarter-cosine ramps (SAC's taper, §3.3).
    let rise = move |k: i64| -> f64 {
        if halfcosine {
            0.5 * (1.0 - (PI * (k as f64 - f1) / (f2 - f1)).cos())
        } else {
            (-(PI / 2.0 * (f2 - k as f64) / (f2 - f1))).cos()
        }
    };
    let fall = move |k: i64| -> f64 {
        if halfcosine {
            0.5 * (1.0 + (PI * (f3 - k as f64) / (f4 - f3)).cos())
        } else {
            (PI / 2.0 * (f3 - k as f64) / (f4 - f3)).cos()
        }
    };
    // The three segments in ObsPy's order: a later one overwrites an earlier one.
    assign(i1, i2 + 1, &rise, i2 + 1 - i1);
    if i3 > i2 + 1 {
        assign(i2 + 1, i3, &|_| 1.0, i3 - i2 - 1);
    }
    assign(i3, i4 + 1, &fall, i4 + 1 - i3);
    if i1 == i2 {
        w[0] = 0.0;
    }
    if i3 == i4 {
        let (a, _) = py_slice(i3, i3 + 1, npts);
        if a < npts {
            w[a] = 0.0;
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hann_ramp_matches_spec_example() {
        // N = 3000, 5 %: wlen = 150, M = 301, ramp 0.5(1 - cos(pi n / 150)) (NUMERICS §2).
        let mut x = vec![1.0; 3000];
        taper(&mut x, 100.0, Some(0.05), Window::Hann, None, Side::Both);
        for nn in [0usize, 1, 75, 149] {
            let want = 0.5 * (1.0 - (PI * nn as f64 / 150.0).cos());
            assert!((x[nn] - want).abs() < 1e-15);
            assert!((x[2999 - nn] - want).abs() < 1e-15);
        }
        assert_eq!(x[150], 1.0);
    }

    #[test]
    fn sac_quarter_cosine_example() {
        let w = cosine_taper(3000, 0.05, true, false).unwrap();
        assert!((w[0] - 6.123233995736766e-17).abs() < 1e-30);
        assert_eq!(w[76], 1.0);
        assert!(w[75] < 1.0 + 1e-15 && w[74] < 1.0);
        assert!((w[2999] - 6.123233995736766e-17).abs() < 1e-30);
    }

    #[test]
    fn windows_are_symmetric() {
        for kind in [
            Window::Hann,
            Window::Hamming,
            Window::Blackman,
            Window::Bartlett,
            Window::Triang,
            Window::Barthann,
            Window::Cosine,
        ] {
            for m in [2usize, 3, 10, 11] {
                if kind == Window::Cosine && m == 2 {
                    continue; // ObsPy's cosine_taper(2) is [1, 0]: its index fix-ups overlap
                }
                let w = window(kind, m);
                for i in 0..m {
                    assert!((w[i] - w[m - 1 - i]).abs() < 1e-12, "{kind:?} {m}");
                }
            }
        }
    }
}
