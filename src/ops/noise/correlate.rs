//! NoisePy's pair correlation (`smooth_source_spect` + `correlate`): the source station's
//! kept spectra (nfft / 2 bins a window, windows end to end) conjugated and, for `coherency`
//! and `deconv`, divided by their running mean amplitude over `smoothspect_N` bins (squared
//! for deconv), times the receiver's (coherency: divided by the receiver's smoothed amplitude
//! too); then per window (`substack`, substack_len = cc_len) or averaged over the windows,
//! the mean bin removed, made Hermitian, inverse-transformed, and cut to |lag| <= maxlag.
//! Windows whose peak is not below 20 times the median peak (or not above 0) are rejected,
//! as NoisePy does: per window by the correlation's peak, for the average by each window's
//! largest spectral product (numpy's order of complex numbers: real part, then imaginary).
//!
//! Sign: c(tau) = sum_t a(t) b(t + tau), a the source: where the receiver records the
//! source's noise `d` seconds later, the peak is at tau = +d. NoisePy labels its lags with
//! `arange(-Nfft2 + 1, Nfft2) * dt`, one sample off where ifftshift puts lag 0 for an even
//! nfft; the samples kept are NoisePy's and `Correlation::zero` says where lag 0 is.

use num_complex::Complex64 as C;

use super::moving_ave;
use super::segment::median;
use crate::ops::fft;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Xcorr,
    Coherency,
    Deconv,
}

impl Method {
    /// NoisePy's `cc_method` names.
    pub fn parse(s: &str) -> Result<Method, String> {
        match s {
            "xcorr" => Ok(Method::Xcorr),
            "coherency" => Ok(Method::Coherency),
            "deconv" => Ok(Method::Deconv),
            other => Err(format!(
                "cc_method {other:?}: expected xcorr, coherency or deconv"
            )),
        }
    }
}

/// One pair's correlation.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// One row per kept window (substack) or one row (the average); each |lag| <= maxlag.
    pub rows: Vec<Vec<f64>>,
    /// Which windows (or groups, with substack_len) the rows are: the kept ones, as indices.
    pub kept: Vec<usize>,
    /// Windows the kept rows stand for.
    pub windows: usize,
    /// The index of lag 0 in a row (None if the rows are empty).
    pub zero: Option<usize>,
}

/// `smooth_source_spect`: the source's spectra, windows end to end, conjugated and divided.
pub fn smooth_source(fft1: &[C], method: Method, smoothspect_n: usize) -> Vec<C> {
    match method {
        Method::Xcorr => fft1.iter().map(|v| v.conj()).collect(),
        Method::Coherency | Method::Deconv => {
            let abs: Vec<f64> = fft1.iter().map(|v| v.norm()).collect();
            let m = moving_ave(&abs, smoothspect_n);
            fft1.iter()
                .zip(m)
                .map(|(v, d)| match method {
                    Method::Deconv => v.conj() / (d * d),
                    _ => v.conj() / d,
                })
                .collect()
        }
    }
}

/// What a correlation keeps: per window or one average, the lags, the method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    pub method: Method,
    pub smoothspect_n: usize,
    /// The transform length (next_fast_len of a window); the spectra hold nfft / 2 bins.
    pub nfft: usize,
    pub dt: f64,
    pub maxlag: f64,
    /// A row per window (NoisePy's substack with substack_len = cc_len), or the average.
    pub per_window: bool,
}

/// `correlate(sfft1, fft2, ...)`: `sfft1` from `smooth_source`, `fft2` the receiver's spectra,
/// both nfft / 2 bins a window, windows end to end.
pub fn correlate(sfft1: &[C], fft2: &[C], r: &Request) -> Result<Correlation, String> {
    correlate_with(sfft1, fft2, r, None)
}

/// Most substacks of one correlation (groups of a chunk's windows).
const MAX_GROUPS: f64 = 1e6;

/// `correlate` with NoisePy's substack_len > cc_len (`groups` = (substack_len, each window's
/// start in seconds), with `per_window`): a row per group of windows starting within each
/// substack_len from the first window's start, round(span / substack_len) groups (numpy's
/// round, half to even: the windows after the last group are left out, as NoisePy's loop
/// leaves them), a group without windows a row of zeros that the rejection then drops.
pub fn correlate_with(
    sfft1: &[C],
    fft2: &[C],
    r: &Request,
    groups: Option<(f64, &[f64])>,
) -> Result<Correlation, String> {
    let nfft2 = r.nfft / 2;
    if nfft2 < 1 || sfft1.len() != fft2.len() || !sfft1.len().is_multiple_of(nfft2) {
        return Err(format!(
            "spectra of {} and {} bins for windows of {nfft2}",
            sfft1.len(),
            fft2.len()
        ));
    }
    let nwin = sfft1.len() / nfft2;
    let mut corr: Vec<C> = sfft1.iter().zip(fft2).map(|(a, b)| a * b).collect();
    if r.method == Method::Coherency {
        let abs: Vec<f64> = fft2.iter().map(|v| v.norm()).collect();
        let m = moving_ave(&abs, r.smoothspect_n);
        corr.iter_mut().zip(m).for_each(|(v, d)| *v /= d);
    }
    let rows: Vec<&[C]> = corr.chunks(nfft2).collect();
    let (lags, zero) = lag_range(r.nfft, r.dt, r.maxlag);
    // NoisePy zeroes a substack's DC bin unless |sfft1| equals |fft2| everywhere (its test for
    // an autocorrelation).
    let x_corr = sfft1.iter().zip(fft2).any(|(a, b)| a.norm() != b.norm());
    if let (true, Some((len, starts))) = (r.per_window, groups) {
        if starts.len() != nwin || !(len.is_finite() && len > 0.0) {
            return Err(format!(
                "{} window starts for {nwin} windows, substack_len {len}",
                starts.len()
            ));
        }
        let span = starts[nwin - 1] - starts[0];
        let n = (span / len).round_ties_even();
        if !(n.is_finite() && (0.0..=MAX_GROUPS).contains(&n)) {
            return Err(format!("{n} substacks of {len} s"));
        }
        let n = n as usize;
        let mut full = vec![vec![0.0; r.nfft]; n];
        let mut sizes = vec![0usize; n];
        let mut t0 = starts[0];
        for (g, row) in full.iter_mut().enumerate() {
            let members: Vec<usize> = (0..nwin)
                .filter(|&i| starts[i] >= t0 && starts[i] < t0 + len)
                .collect();
            t0 += len;
            if members.is_empty() {
                continue;
            }
            let mut mean = vec![C::new(0.0, 0.0); nfft2];
            for &i in &members {
                mean.iter_mut().zip(rows[i]).for_each(|(m, v)| *m += v);
            }
            let k = members.len() as f64;
            mean.iter_mut().for_each(|m| *m /= k);
            *row = to_time(&mean, r.nfft, x_corr);
            sizes[g] = members.len();
        }
        let peaks: Vec<f64> = full
            .iter()
            .map(|v| v.iter().copied().fold(f64::NEG_INFINITY, nan_max))
            .collect();
        let med = median(peaks.clone());
        let kept: Vec<usize> = (0..n)
            .filter(|&i| peaks[i] < 20.0 * med && peaks[i] > 0.0)
            .collect();
        let windows = kept.iter().map(|&i| sizes[i]).sum();
        let rows = kept
            .iter()
            .map(|&i| full[i][lags.clone()].to_vec())
            .collect();
        return Ok(Correlation {
            rows,
            kept,
            windows,
            zero,
        });
    }
    if r.per_window {
        let full: Vec<Vec<f64>> = rows.iter().map(|w| to_time(w, r.nfft, x_corr)).collect();
        let peaks: Vec<f64> = full
            .iter()
            .map(|v| v.iter().copied().fold(f64::NEG_INFINITY, nan_max))
            .collect();
        let med = median(peaks.clone());
        let kept: Vec<usize> = (0..nwin)
            .filter(|&i| peaks[i] < 20.0 * med && peaks[i] > 0.0)
            .collect();
        let rows = kept
            .iter()
            .map(|&i| full[i][lags.clone()].to_vec())
            .collect();
        let windows = kept.len();
        return Ok(Correlation {
            rows,
            kept,
            windows,
            zero,
        });
    }
    Ok(average(nwin, nfft2, r, &|i, buf: &mut [C]| {
        buf.copy_from_slice(rows[i])
    }))
}

/// NoisePy's averaged xcorr of one pair from each station's window spectra as they are (`a` the
/// source's, `b` the receiver's, nfft / 2 bins each): `correlate` of `smooth_source`'s
/// conjugates, the same numbers (conj(a) b, the same sums in the same order), without the
/// flattened copies of both stations' spectra and of their products (3 x 54 MB per pair at
/// 20 Hz for a day).
pub fn xcorr_average(a: &[&[C]], b: &[&[C]], r: &Request) -> Result<Correlation, String> {
    let nfft2 = r.nfft / 2;
    if r.method != Method::Xcorr || r.per_window {
        return Err("xcorr_average: cc_method xcorr, averaged".into());
    }
    if nfft2 < 1 || a.len() != b.len() || a.iter().chain(b).any(|w| w.len() != nfft2) {
        return Err(format!(
            "{} and {} windows for windows of {nfft2} bins",
            a.len(),
            b.len()
        ));
    }
    Ok(average(a.len(), nfft2, r, &|i, buf: &mut [C]| {
        buf.iter_mut()
            .zip(a[i].iter().zip(b[i]))
            .for_each(|(o, (x, y))| *o = x.conj() * y)
    }))
}

/// The average of `nwin` windows' products (`row(i, buf)` writes window i's nfft / 2 into buf):
/// NoisePy's rejection by each window's largest product in numpy's complex order, the kept
/// windows' mean (NaN without any, as numpy's), made a time series and cut.
fn average(nwin: usize, nfft2: usize, r: &Request, row: &dyn Fn(usize, &mut [C])) -> Correlation {
    let (lags, zero) = lag_range(r.nfft, r.dt, r.maxlag);
    let mut buf = vec![C::new(0.0, 0.0); nfft2];
    let peaks: Vec<C> = (0..nwin)
        .map(|i| {
            row(i, &mut buf);
            buf.iter()
                .copied()
                .reduce(|a, b| if lex_lt(a, b) { b } else { a })
                .unwrap_or_default()
        })
        .collect();
    let med = complex_median(&peaks);
    let limit = med * 20.0;
    let kept: Vec<usize> = (0..nwin)
        .filter(|&i| lex_lt(peaks[i], limit) && lex_lt(C::new(0.0, 0.0), peaks[i]))
        .collect();
    let mut mean = vec![C::new(0.0, 0.0); nfft2];
    for &i in &kept {
        row(i, &mut buf);
        mean.iter_mut().zip(&buf).for_each(|(m, v)| *m += v);
    }
    // numpy's mean of no rows is NaN.
    let k = kept.len() as f64;
    mean.iter_mut().for_each(|m| *m /= k);
    let full = to_time(&mean, r.nfft, false);
    Correlation {
        rows: vec![full[lags].to_vec()],
        windows: kept.len(),
        kept,
        zero,
    }
}

/// np.max's NaN: it propagates.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// numpy's order of complex numbers: by real part, then imaginary (false with a NaN).
pub fn lex_lt(a: C, b: C) -> bool {
    a.re < b.re || (a.re == b.re && a.im < b.im)
}

/// numpy's median of complex values: sorted in that order, the middle (two averaged).
pub fn complex_median(v: &[C]) -> C {
    if v.is_empty() || v.iter().any(|c| c.re.is_nan() || c.im.is_nan()) {
        return C::new(f64::NAN, f64::NAN);
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.re.total_cmp(&b.re).then(a.im.total_cmp(&b.im)));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// NoisePy's `crap`: the half spectrum less its mean, made Hermitian (`zero_dc`: the
/// substack branch also zeroes bin 0), inverse-transformed (the real part) and ifftshifted.
fn to_time(half: &[C], nfft: usize, zero_dc: bool) -> Vec<f64> {
    let n2 = half.len();
    let mean = half.iter().sum::<C>() / n2 as f64;
    let mut bins: Vec<C> = half.iter().map(|v| v - mean).collect();
    if zero_dc {
        bins[0] = C::new(0.0, 0.0);
    }
    // Bins above n2 - 1 up to nfft / 2 stay zero (the mirror fills nfft - n2 + 1 ..).
    bins.resize(nfft / 2 + 1, C::new(0.0, 0.0));
    let x = fft::irfft(&bins, nfft);
    // ifftshift: out[i] = x[(i + nfft / 2) % nfft].
    (0..nfft).map(|i| x[(i + nfft / 2) % nfft]).collect()
}

/// The indices NoisePy keeps (|(i - n2 + 1) dt| <= maxlag, i < 2 n2 - 1) and where lag 0
/// (ifft index 0, at nfft - nfft / 2 after the shift) falls among them.
pub fn lag_range(nfft: usize, dt: f64, maxlag: f64) -> (std::ops::Range<usize>, Option<usize>) {
    let n2 = nfft / 2;
    let kept: Vec<usize> = (0..(2 * n2).saturating_sub(1))
        .filter(|&i| ((i as f64 - n2 as f64 + 1.0) * dt).abs() <= maxlag)
        .collect();
    let (Some(&a), Some(&b)) = (kept.first(), kept.last()) else {
        return (0..0, None);
    };
    let zero = (nfft - nfft / 2) % nfft;
    (a..b + 1, (a..=b).contains(&zero).then(|| zero - a))
}
