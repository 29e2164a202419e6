//! ObsPy's `Stream.merge(method, fill_value, interpolation_samples)` over the traces of one
//! input, then `Stream.split()`: traces of one id sorted by (start, end) and added pairwise
//! as `Trace.__add__` adds them (method 0: overlaps of different data become a gap; method 1:
//! the later trace's data win, with `interpolation_samples` of linear blend; method -1:
//! `_cleanup`, only contiguous traces and overlaps of equal data joined). A gap or a
//! discarded overlap is filled with `fill_value` (a number, "interpolate" between the samples
//! either side, "latest": the last sample before it) or, without one, masked, which `split`
//! then cuts into contiguous traces (seisbatch holds no masked arrays: the pieces are what
//! ObsPy's `merge()` followed by `split()` gives).
//!
//! ObsPy keeps the data's dtype: raw counts are int32 there, so an interpolated fill is
//! truncated to integers. seisbatch holds f64; a trace pair whose samples are all integers is
//! taken as counts and its interpolated fills are truncated the same way.

use crate::trace::Trace;

/// `fill_value` (written as ObsPy's: null, a number, "interpolate", "latest").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    /// None: gaps masked, split by `split`.
    Masked,
    Value(f64),
    Interpolate,
    Latest,
}

impl serde::Serialize for Fill {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Fill::Masked => s.serialize_none(),
            Fill::Value(v) => s.serialize_f64(*v),
            Fill::Interpolate => s.serialize_str("interpolate"),
            Fill::Latest => s.serialize_str("latest"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MergeArgs {
    /// -1, 0 or 1.
    pub method: i8,
    pub fill_value: Fill,
    /// Method 1's blend over the overlap: 0 none, -1 all of it, n that many samples.
    pub interpolation_samples: i64,
}

/// A trace while merging: its samples and which of them are masked (None: none).
struct Work {
    tr: Trace,
    mask: Option<Vec<bool>>,
}

impl Work {
    fn end_ns(&self) -> i64 {
        end_ns(&self.tr)
    }
}

/// `starttime + (npts - 1) * delta` as UTCDateTime computes it (float seconds, to the ns).
fn end_ns(t: &Trace) -> i64 {
    let s = t.data.len().saturating_sub(1) as f64 / t.sampling_rate;
    crate::time::add_seconds(t.start_ns, s)
}

/// Seconds between two times as UTCDateTime subtracts them.
fn secs(a: i64, b: i64) -> f64 {
    (i128::from(a) - i128::from(b)) as f64 / 1e9
}

/// numpy's `round` of a half away from zero (ObsPy's `round_away`).
fn round_away(x: f64) -> i64 {
    (x.abs() + 0.5).floor().copysign(x) as i64
}

/// numpy.linspace(a, b, n + 2)[1:-1].
fn inner_linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    let step = (b - a) / (n + 1) as f64;
    (1..=n).map(|j| a + step * j as f64).collect()
}

/// Merges and splits `traces` (one input's) as ObsPy's `merge` then `split`; an error is
/// ObsPy's (traces of one id at different rates).
pub fn merge(traces: Vec<Trace>, a: &MergeArgs) -> Result<Vec<Trace>, String> {
    let mut by_id: Vec<(String, Vec<Trace>)> = Vec::new();
    for t in traces.into_iter().filter(|t| !t.data.is_empty()) {
        let id = t.id();
        match by_id.iter_mut().find(|(i, _)| *i == id) {
            Some((_, v)) => v.push(t),
            None => by_id.push((id, vec![t])),
        }
    }
    by_id.sort_by(|x, y| x.0.cmp(&y.0));
    let mut out = Vec::new();
    for (id, mut list) in by_id {
        if let Some(t) = list
            .iter()
            .find(|t| t.sampling_rate != list[0].sampling_rate)
        {
            return Err(format!(
                "merge: Can't merge traces with same ids but differing sampling rates ({id}: {} and {} Hz)",
                list[0].sampling_rate, t.sampling_rate
            ));
        }
        list.sort_by_key(|t| (t.start_ns, end_ns(t)));
        let merged = if a.method == -1 {
            cleanup(list)
        } else {
            let mut it = list.into_iter().map(|tr| Work { tr, mask: None });
            let Some(mut cur) = it.next() else { continue };
            for next in it {
                cur = add(cur, next, a)?;
            }
            vec![cur]
        };
        for w in merged {
            out.extend(split(w));
        }
    }
    Ok(out)
}

/// `Trace.__add__(trace, method, fill_value, interpolation_samples)` for method 0 or 1.
fn add(x: Work, y: Work, a: &MergeArgs) -> Result<Work, String> {
    let (lt, rt) = if x.tr.start_ns <= y.tr.start_ns {
        (x, y)
    } else {
        (y, x)
    };
    let counts = lt
        .tr
        .data
        .iter()
        .chain(&rt.tr.data)
        .all(|v| v.fract() == 0.0);
    let cast = |v: Vec<f64>| -> Vec<f64> {
        if counts {
            v.into_iter().map(f64::trunc).collect()
        } else {
            v
        }
    };
    let (l_last, r_first) = (
        lt.tr.data.last().copied().unwrap_or(0.0),
        rt.tr.data.first().copied().unwrap_or(0.0),
    );
    // create_empty_data_chunk(n, dtype, fill_value): its samples and whether they are masked.
    let chunk = |n: usize| -> Result<(Vec<f64>, bool), String> {
        Ok(match a.fill_value {
            Fill::Masked => (vec![0.0; n], true),
            // numpy refuses `int32 array *= 7.5`: so does ObsPy's fill of counts.
            Fill::Value(v) if counts && v.fract() != 0.0 => {
                return Err(format!(
                    "merge: fill_value {v} cannot fill int32 counts (numpy: Cannot cast ufunc 'multiply' output from dtype('float64') to dtype('int32'))"
                ))
            }
            Fill::Value(v) => (vec![v; n], false),
            Fill::Latest => (vec![l_last; n], false),
            Fill::Interpolate => (cast(inner_linspace(l_last, r_first, n)), false),
        })
    };
    let sr = lt.tr.sampling_rate;
    let delta = round_away(secs(rt.tr.start_ns, lt.end_ns()) * sr) - 1;
    let delta_end = secs(lt.end_ns(), rt.end_ns());
    let (ll, rl) = (lt.tr.data.len(), rt.tr.data.len());
    // Pieces of the result: (samples, masked).
    let mut parts: Vec<(Vec<f64>, Option<Vec<bool>>)> = Vec::new();
    let whole = |w: &Work, r: std::ops::Range<usize>| -> (Vec<f64>, Option<Vec<bool>>) {
        (
            w.tr.data[r.clone()].to_vec(),
            w.mask.as_ref().map(|m| m[r].to_vec()),
        )
    };
    let filled = |(v, masked): (Vec<f64>, bool)| {
        let n = v.len();
        (v, masked.then(|| vec![true; n]))
    };
    if delta < 0 && delta_end < 0.0 {
        let d = (delta.unsigned_abs() as usize).min(ll);
        if lt.tr.data[ll - d..] == rt.tr.data[..d.min(rl)] {
            parts.push(whole(&lt, 0..ll - d));
            parts.push(whole(&rt, 0..rl));
        } else if a.method == 0 {
            parts.push(whole(&lt, 0..ll - d));
            parts.push(filled(chunk(d)?));
            parts.push(whole(&rt, d.min(rl)..rl));
        } else {
            let ls = if ll > d {
                lt.tr.data[ll - d - 1]
            } else {
                lt.tr.data[0]
            };
            let isamp = match a.interpolation_samples {
                -1 => d,
                n if n as usize > d => d,
                n => n as usize,
            };
            match rt.tr.data.get(isamp) {
                None => parts.push(whole(&lt, 0..ll)),
                Some(&rs) => {
                    parts.push(whole(&lt, 0..ll - d));
                    parts.push((cast(inner_linspace(ls, rs, isamp)), None));
                    parts.push(whole(&rt, isamp..rl));
                }
            }
        }
    } else if delta < 0 {
        // rt lies within lt.
        let d = delta.unsigned_abs() as usize;
        let t1 = ll.saturating_sub(d);
        let t2 = (t1 + rl).min(ll);
        if lt.tr.data[t1..t2] == rt.tr.data[..t2 - t1] || a.method == 1 {
            parts.push(whole(&lt, 0..ll));
        } else {
            parts.push(whole(&lt, 0..t1));
            parts.push(filled(chunk(rl)?));
            parts.push(whole(&lt, t2..ll));
        }
    } else if delta == 0 {
        parts.push(whole(&lt, 0..ll));
        parts.push(whole(&rt, 0..rl));
    } else {
        parts.push(whole(&lt, 0..ll));
        parts.push(filled(chunk(delta as usize)?));
        parts.push(whole(&rt, 0..rl));
    }
    let any_mask = parts
        .iter()
        .any(|p| p.1.as_ref().is_some_and(|m| m.iter().any(|&b| b)));
    let mut data = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    let mut mask = Vec::new();
    for (v, m) in parts {
        if any_mask {
            match m {
                Some(m) => mask.extend(m),
                None => mask.extend(std::iter::repeat_n(false, v.len())),
            }
        }
        data.extend(v);
    }
    Ok(Work {
        tr: Trace { data, ..lt.tr },
        mask: any_mask.then_some(mask),
    })
}

/// `Stream._cleanup()` (merge -1) for one id's traces, sorted: contiguous traces and overlaps
/// of equal data joined (after aligning a start within 1 % of a sample), the rest left apart.
fn cleanup(list: Vec<Trace>) -> Vec<Work> {
    const THRESHOLD: f64 = 1e-2;
    let mut out = Vec::new();
    let mut it = list.into_iter();
    let Some(mut cur) = it.next() else {
        return out;
    };
    for mut t in it {
        let delta = 1.0 / cur.sampling_rate;
        let gap = secs(t.start_ns, end_ns(&cur)) - delta;
        if gap <= THRESHOLD * delta {
            let mis = gap.rem_euclid(delta) / delta;
            if mis != 0.0 && (mis <= THRESHOLD || mis >= 1.0 - THRESHOLD) {
                let k = (secs(t.start_ns, cur.start_ns) / delta).round();
                t.start_ns = crate::time::add_seconds(cur.start_ns, k * delta);
            }
        }
        let shift = secs(t.start_ns, cur.start_ns).rem_euclid(delta) / delta;
        let shift = shift.min(1.0 - shift);
        let (ce, te) = (end_ns(&cur), end_ns(&t));
        if t.start_ns <= ce && shift < THRESHOLD {
            // The common stretch [t.start, min(ends)] as sample ranges of both.
            let from = (secs(t.start_ns, cur.start_ns) * cur.sampling_rate).round() as usize;
            let n = (secs(ce.min(te), t.start_ns) * cur.sampling_rate).round() as usize + 1;
            let a = cur.data.get(from..from + n);
            let b = t.data.get(..n);
            if a.is_some() && a == b {
                if te > ce {
                    let keep = cur.data.len() - from;
                    cur.data
                        .extend_from_slice(&t.data[keep.min(t.data.len())..]);
                }
                continue;
            }
            out.push(Work {
                tr: cur,
                mask: None,
            });
            cur = t;
        } else if t.start_ns == crate::time::add_seconds(ce, delta) {
            cur.data.extend_from_slice(&t.data);
        } else {
            out.push(Work {
                tr: cur,
                mask: None,
            });
            cur = t;
        }
    }
    out.push(Work {
        tr: cur,
        mask: None,
    });
    out
}

/// `Trace.split()`: the unmasked runs as traces of their own.
fn split(w: Work) -> Vec<Trace> {
    let Some(mask) = w.mask else {
        return vec![w.tr];
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < mask.len() {
        if mask[i] {
            i += 1;
            continue;
        }
        let j = (i..mask.len()).find(|&k| mask[k]).unwrap_or(mask.len());
        out.push(Trace {
            // `starttime += delta * start`, delta = 1 / rate.
            start_ns: crate::time::add_seconds(
                w.tr.start_ns,
                (1.0 / w.tr.sampling_rate) * i as f64,
            ),
            data: w.tr.data[i..j].to_vec(),
            ..w.tr.clone()
        });
        i = j;
    }
    out
}

#[cfg(test)]
mod tests;
