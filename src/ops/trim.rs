//! `Trace.trim(starttime, endtime, pad=False, nearest_sample=True, fill_value=None)`: which
//! samples survive, as ObsPy's `_ltrim` then `_rtrim` compute it with UTCDateTime's
//! arithmetic (differences rounded to 1 us as floats, comparisons on times rounded to 1 us,
//! `round_away` for the nearest sample). The result is a `Cut` (pad, keep, pad) that the
//! CPU twin and the `trim` kernel apply alike.

/// Where a trim bound lies: an absolute time, or seconds from the trace's start or end as
/// the trim step sees them (ObsPy's float `starttime` is seconds after the start, a float
/// `endtime` seconds before the end; "end" is read after the left trim, as ObsPy does).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Bound {
    At(i64),
    AfterStart(f64),
    BeforeEnd(f64),
    /// Seconds after the event's origin time (negative: before).
    AfterOrigin(f64),
}

impl Bound {
    /// A bound as a pipeline writes it: an ISO 8601 time, or `start+S` / `start-S` (seconds
    /// from the trace's start at the step), `end-S` / `end+S` (from its end), `origin+S` /
    /// `origin-S` (from its event's origin time, `events`).
    pub fn parse(s: &str) -> Result<Bound, String> {
        let t = s.trim();
        let relative = |rest: &str| -> Option<f64> {
            let (sign, num) = match rest.as_bytes().first()? {
                b'+' => (1.0, &rest[1..]),
                b'-' => (-1.0, &rest[1..]),
                _ => return None,
            };
            let v: f64 = num.trim().parse().ok()?;
            // Within the span times can hold (a larger shift can never name a sample).
            let span_s =
                (crate::limits::last_ns() as f64 - crate::limits::first_ns() as f64) * 1e-9;
            (v.is_finite() && v.abs() <= span_s).then_some(sign * v)
        };
        let parsed = if let Some(rest) = t.strip_prefix("start") {
            relative(rest).map(Bound::AfterStart)
        } else if let Some(rest) = t.strip_prefix("end") {
            relative(rest).map(|v| Bound::BeforeEnd(-v))
        } else if let Some(rest) = t.strip_prefix("origin") {
            relative(rest).map(Bound::AfterOrigin)
        } else {
            // An absolute time: its own reason (a calendar field, the years).
            return crate::limits::parse_time(t).map(Bound::At);
        };
        parsed.ok_or_else(|| {
            format!(
                "expected an ISO 8601 time in the years {}-{} or start+S, start-S, end-S, \
                 end+S, origin+S, origin-S (seconds), got `{s}`",
                crate::limits::FIRST_YEAR,
                crate::limits::LAST_YEAR
            )
        })
    }
}

/// The trim step's keys.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TrimArgs {
    pub starttime: Option<Bound>,
    pub endtime: Option<Bound>,
    pub pad: bool,
    pub nearest_sample: bool,
    /// With `pad`: the value of padded samples (ObsPy would leave them masked without one).
    pub fill_value: Option<f64>,
}

/// A trace after trim: `pad_before` fills, `keep` input samples from `skip`, `pad_after`
/// fills; its new start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cut {
    pub pad_before: usize,
    pub skip: usize,
    pub keep: usize,
    pub pad_after: usize,
    pub start_ns: i64,
}

impl Cut {
    pub fn npts(&self) -> usize {
        self.pad_before + self.keep + self.pad_after
    }

    /// The cut applied to samples (`fill` in padded places).
    pub fn apply(&self, x: &[f64], fill: f64) -> Vec<f64> {
        let mut y = Vec::with_capacity(self.npts());
        y.resize(self.pad_before, fill);
        y.extend_from_slice(&x[self.skip..self.skip + self.keep]);
        y.resize(self.npts(), fill);
        y
    }
}

/// Python's `round(x, digits)` of a float (correctly rounded, ties to even on the exact
/// binary value, as Rust's formatting does).
fn round_to(x: f64, digits: usize) -> f64 {
    format!("{x:.digits$}").parse().unwrap_or(x)
}

/// `UTCDateTime - UTCDateTime`: the integer ns difference in seconds, rounded to 6 decimals.
fn diff(a: i64, b: i64) -> f64 {
    round_to((i128::from(a) - i128::from(b)) as f64 / 1e9, 6)
}

/// Python's `round(ns, -3)` on an integer: to the nearest microsecond, ties to even.
fn to_us(ns: i64) -> i64 {
    let q = ns.div_euclid(1000);
    let r = ns.rem_euclid(1000);
    match r.cmp(&500) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// `UTCDateTime + seconds`.
fn plus(ns: i64, s: f64) -> Option<i64> {
    let d = (s * 1e9).round_ties_even();
    (d.is_finite() && d.abs() < 9.2e18).then(|| ns.checked_add(d as i64))?
}

/// ObsPy's `compatibility.round_away`: halves away from zero, otherwise numpy's round.
fn round_away(x: f64) -> Option<i64> {
    if !x.is_finite() || x.abs() > 9.0e18 {
        return None;
    }
    let (f, c) = (x.floor(), x.ceil());
    Some(if f != c && (x - f).abs() == (c - x).abs() {
        x.trunc() as i64 + x.signum() as i64
    } else {
        x.round_ties_even() as i64
    })
}

/// The trace's state between `_ltrim` and `_rtrim`.
struct State {
    start_ns: i64,
    pad_before: usize,
    skip: usize,
    keep: usize,
    pad_after: usize,
    rate: f64,
}

impl State {
    fn npts(&self) -> usize {
        self.pad_before + self.keep + self.pad_after
    }
    /// `stats.endtime`: start + round((npts - 1) delta 1e9) ns (the start for no samples).
    fn end_ns(&self) -> i64 {
        let n = self.npts();
        if n == 0 {
            return self.start_ns;
        }
        plus(self.start_ns, (n - 1) as f64 * (1.0 / self.rate)).unwrap_or(i64::MAX)
    }
    fn set_empty(&mut self) {
        (self.pad_before, self.skip, self.keep, self.pad_after) = (0, 0, 0, 0);
    }
}

const TOO_FAR: &str = "Time offset between starttime and trace.starttime too large";

/// Fill samples for a pad of `d` samples: within `--max-samples`, or why not, naming the
/// bound and the flag that raises it (ObsPy's own "too large" says neither).
fn samples(d: i64) -> Result<usize, String> {
    let n = d.unsigned_abs();
    let Ok(n) = usize::try_from(n) else {
        return Err(format!("{TOO_FAR}: the padding would be {n} samples"));
    };
    match crate::limits::samples_problem("padding", n) {
        Some(p) => Err(format!(
            "{p}: pad less, or raise --max-samples if the trace is meant to be that long"
        )),
        None => Ok(n),
    }
}

fn ltrim(s: &mut State, t: i64, pad: bool, nearest: bool) -> Result<(), String> {
    let rate = s.rate;
    let delta_s = 1.0 / rate;
    let bad = || "trim: the start is too far from the trace's samples".to_string();
    let d = if nearest {
        let mut d = round_away(diff(t, s.start_ns) * rate).ok_or_else(bad)?;
        if d < 0 && pad {
            let n = d.abs() + 10;
            let new_start = plus(s.start_ns, -(n as f64 / rate)).ok_or_else(bad)?;
            d = round_away(diff(t, new_start) * rate).ok_or_else(bad)? - n;
        }
        d
    } else {
        -(round_to(diff(s.start_ns, t) * rate, 7).floor() as i64)
    };
    if d > 0 || pad {
        s.start_ns = plus(s.start_ns, d as f64 * delta_s).ok_or_else(bad)?;
    }
    if d == 0 || (d < 0 && !pad) {
        return Ok(());
    }
    if d < 0 {
        s.pad_before += samples(d)?;
        return Ok(());
    }
    // stats.endtime now: the shifted start, the same npts.
    if to_us(t) > to_us(s.end_ns()) {
        s.set_empty();
        return Ok(());
    }
    // data[d:] of pad_before fills, then the kept samples, then pad_after fills.
    let mut d = usize::try_from(d).unwrap_or(usize::MAX);
    let from_pad = d.min(s.pad_before);
    s.pad_before -= from_pad;
    d -= from_pad;
    let from_keep = d.min(s.keep);
    s.skip += from_keep;
    s.keep -= from_keep;
    d -= from_keep;
    s.pad_after -= d.min(s.pad_after);
    Ok(())
}

fn rtrim(s: &mut State, t: i64, pad: bool, nearest: bool) -> Result<(), String> {
    let rate = s.rate;
    let bad = || "trim: the end is too far from the trace's samples".to_string();
    let npts = s.npts() as i64;
    let d = if nearest {
        round_away(diff(t, s.start_ns) * rate).ok_or_else(bad)? - npts + 1
    } else {
        round_to(diff(t, s.end_ns()) * rate, 7).floor() as i64
    };
    if d == 0 || (d > 0 && !pad) {
        return Ok(());
    }
    if d > 0 {
        s.pad_after += samples(d)?;
        return Ok(());
    }
    if to_us(t) < to_us(s.start_ns) {
        s.start_ns = plus(s.end_ns(), d as f64 * (1.0 / rate)).ok_or_else(bad)?;
        s.set_empty();
        return Ok(());
    }
    let mut total = npts - d.abs();
    if to_us(t) == to_us(s.start_ns) {
        total = 1;
    }
    // data[:total] (total >= 1 here: t is not before the start).
    let mut keep_n = usize::try_from(total.max(0)).unwrap_or(0);
    let b = keep_n.min(s.pad_before);
    keep_n -= b;
    let k = keep_n.min(s.keep);
    keep_n -= k;
    let a = keep_n.min(s.pad_after);
    (s.pad_before, s.keep, s.pad_after) = (b, k, a);
    if s.keep == 0 {
        s.skip = 0;
    }
    Ok(())
}

/// The trim of a trace of `npts` samples at `rate` starting at `start_ns`; `origin` is its
/// event's origin time, or why it has none (for `origin+S` bounds).
pub fn cut(
    npts: usize,
    start_ns: i64,
    rate: f64,
    a: &TrimArgs,
    origin: Result<i64, &str>,
) -> Result<Cut, String> {
    let mut s = State {
        start_ns,
        pad_before: 0,
        skip: 0,
        keep: npts,
        pad_after: 0,
        rate,
    };
    // "start+S" is from the trace's start at the step (for either bound); "end-S" from its
    // end when that bound is applied (after the left trim, as ObsPy's float endtime).
    for b in [a.starttime, a.endtime].into_iter().flatten() {
        if let (Bound::AfterOrigin(_), Err(why)) = (b, origin) {
            return Err(format!(
                "an origin-relative bound needs the event's origin: {why}"
            ));
        }
    }
    let start_of = |b: Bound, s: &State| -> Option<i64> {
        match b {
            Bound::At(t) => Some(t),
            Bound::AfterStart(x) => plus(start_ns, x),
            Bound::BeforeEnd(x) => plus(s.end_ns(), -x),
            Bound::AfterOrigin(x) => plus(origin.ok()?, x),
        }
    };
    // ObsPy refuses two absolute times in the wrong order (an origin-relative bound is an
    // absolute time too).
    let absolute = |b: Option<Bound>| match b {
        Some(Bound::At(t)) => Some(t),
        Some(Bound::AfterOrigin(x)) => plus(origin.ok()?, x),
        _ => None,
    };
    if let (Some(t0), Some(t1)) = (absolute(a.starttime), absolute(a.endtime)) {
        if to_us(t0) > to_us(t1) {
            return Err("startime is larger than endtime".into());
        }
    }
    let unrepresentable = || "trim: a bound beyond the times a trace can carry".to_string();
    // ObsPy tests `if starttime:`: a relative bound of 0.0 s is no bound.
    let given = |b: &Bound| !matches!(b, Bound::AfterStart(x) | Bound::BeforeEnd(x) if *x == 0.0);
    if let Some(b) = a.starttime.filter(given) {
        let t = start_of(b, &s).ok_or_else(unrepresentable)?;
        ltrim(&mut s, t, a.pad, a.nearest_sample)?;
    }
    if let Some(b) = a.endtime.filter(given) {
        let t = start_of(b, &s).ok_or_else(unrepresentable)?;
        rtrim(&mut s, t, a.pad, a.nearest_sample)?;
    }
    if s.keep == 0 {
        s.skip = 0;
    }
    Ok(Cut {
        pad_before: s.pad_before,
        skip: s.skip,
        keep: s.keep,
        pad_after: s.pad_after,
        start_ns: s.start_ns,
    })
}

#[cfg(test)]
mod tests;
