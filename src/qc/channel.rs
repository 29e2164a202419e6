//! One channel's quality control, a day at a time (memory bounded by one day and one PSD
//! segment of samples, whatever the archive's length): the day's metrics, and the PPSD's
//! segments that start in the day, computed on the channel's data as ObsPy's `PPSD.add` sees
//! it after `merge(method=0, fill_value=0)`: one trace from the first sample to the last,
//! gaps and overlaps of different data as zeros, segments every 1800 s from the first sample.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use super::metrics::{self, Day, DAY_NS};
use super::ppsd::{Histogram, Params, PPSD_LENGTH};
use crate::archive::fetch;
use crate::archive::index::{ChannelCodes, Index};
use crate::archive::units::channel_unit;
use crate::archive::windows::Window;
use crate::inventory::Inventories;
use crate::read::join::Gaps;
use crate::response::Output;
use crate::trace::{Codes, Trace};
use num_complex::Complex64 as C;

/// Days without data listed per channel at most (ten years); the rest are counted.
pub const MAX_EMPTY_DAYS: usize = 3660;

/// What a channel's quality control found.
#[derive(Debug, Clone)]
pub struct ChannelQc {
    pub codes: ChannelCodes,
    pub id: String,
    pub rate: f64,
    pub days: Vec<Day>,
    /// The PPSD of every segment, or why there is none.
    pub ppsd: Result<(Params, Histogram), String>,
    /// Parts of the channel that could not be read, and segments left out, with the reason.
    pub problems: Vec<String>,
    /// Every segment's start and smoothed PSD, when asked for (`keep_segments`).
    pub segments: Vec<(i64, Vec<f32>)>,
}

/// The channel's data in [start, end) of the request (None: all of it).
pub fn channel_qc(
    index: &Index,
    ch: usize,
    longest: i64,
    span: (Option<i64>, Option<i64>),
    inv: &Inventories,
    keep_segments: bool,
) -> ChannelQc {
    let codes = Arc::new(index.channels[ch].clone());
    let (n, s, l, c) = &*codes;
    let id = format!("{n}.{s}.{l}.{c}");
    let runs = index.runs_of(ch);
    let rate = runs.first().map_or(0.0, |r| r.rate);
    let mut out = ChannelQc {
        codes: (*codes).clone(),
        id,
        rate,
        days: Vec::new(),
        ppsd: Err("no data".into()),
        problems: Vec::new(),
        segments: Vec::new(),
    };
    let lo = span.0.unwrap_or(i64::MIN);
    let hi = span.1.unwrap_or(i64::MAX);
    let first = runs.iter().map(|r| r.start_ns).min().unwrap_or(0).max(lo);
    let last = runs
        .iter()
        .map(|r| r.end_ns())
        .max()
        .unwrap_or(0)
        .min(hi.saturating_sub(1));
    if runs.is_empty() || last < first {
        return out;
    }
    let coverage = metrics::Coverage::of(runs);
    let params = Params::new(rate);
    let mut hist = params.as_ref().ok().map(Histogram::new);
    let mut tables: HashMap<usize, Arc<Vec<C>>> = HashMap::new();
    let mut psd_error: Option<String> = params.as_ref().err().cloned();
    let mut t0: Option<i64> = None;
    let mut buf = Vec::new();
    let len_ns = (PPSD_LENGTH * 1e9) as i64;
    let delta_ns = (1e9 / rate).round() as i64;
    let (mut empty_days, mut empty_days_left) = (0usize, 0usize);
    let mut day = metrics::day_of(first);
    while day <= last {
        let (d0, d1) = (day.max(lo), (day + DAY_NS).min(hi));
        let w = Arc::new(Window {
            label: String::new(),
            start_ns: d0,
            end_ns: (day + DAY_NS + len_ns).min(hi.saturating_sub(1)),
            event: None,
        });
        let unit = channel_unit(index, ch, &codes, longest, &w);
        let fetched = match unit.map(|u| fetch::fetch(&u, Gaps::Split, &mut buf)) {
            None => {
                // A day without data between the channel's first and last: a row of its own
                // (an outage is what a report is for), up to MAX_EMPTY_DAYS of them.
                if empty_days < MAX_EMPTY_DAYS {
                    empty_days += 1;
                    out.days.push(coverage.day(day));
                } else {
                    empty_days_left += 1;
                }
                day += DAY_NS;
                continue;
            }
            Some(Err(e)) => {
                out.problems
                    .push(format!("{}: {}", e.path.display(), e.reason));
                day += DAY_NS;
                continue;
            }
            Some(Ok(f)) => f,
        };
        for (p, q) in &fetched.problems {
            out.problems.push(format!("{}: {}", p.display(), q.reason));
        }
        let mut traces: Vec<Trace> = fetched.traces;
        traces.sort_by_key(|t| t.start_ns);
        let mut m = coverage.day(day);
        let mut values: Vec<f64> = Vec::new();
        for t in &traces {
            // Sample times grow with the index: the day's samples are one range of them.
            let at = |i: usize| t.start_ns + (i as f64 * 1e9 / t.sampling_rate).round() as i64;
            let a = first_at(t.data.len(), |i| at(i) >= d0);
            let b = first_at(t.data.len(), |i| at(i) >= d1);
            values.extend_from_slice(&t.data[a..b.max(a)]);
        }
        metrics::samples(&mut m, &mut values);
        drop(values);
        if t0.is_none() {
            t0 = traces.first().map(|t| t.start_ns);
        }
        let mut day_psds = Vec::new();
        if let (Ok(p), Some(h), Some(t0)) = (&params, hist.as_mut(), t0) {
            let step_ns = (p.step * 1e9) as i64;
            // Segments starting in [d0, d1) whose last sample is at or before the last one.
            let k0 = if d0 > t0 {
                (d0 - t0 + step_ns - 1) / step_ns
            } else {
                0
            };
            let mut ks = Vec::new();
            let mut k = k0;
            loop {
                let tk = t0 + k * step_ns;
                if tk >= d1 || tk + len_ns - delta_ns > last {
                    break;
                }
                ks.push((k, tk));
                k += 1;
            }
            if let (Some(&(_, origin)), Some(&(_, end))) = (ks.first(), ks.last()) {
                let total = ((end - origin) as f64 * 1e-9 * rate).round() as usize + p.len + 1;
                let data = assemble(&traces, origin, rate, total);
                // Each segment's response first (a cache lookup), then the segments in
                // parallel (one transform's buffers per thread), gathered in time order.
                let mut jobs = Vec::with_capacity(ks.len());
                for &(_, tk) in &ks {
                    let off = ((tk - origin) as f64 * 1e-9 * rate).round() as usize;
                    if data.get(off..off + p.len).is_none() {
                        continue;
                    }
                    match table(inv, &codes, tk, p, &mut tables) {
                        Ok(r) => jobs.push((tk, off, r)),
                        Err(e) => {
                            psd_error.get_or_insert(e);
                        }
                    }
                }
                let done: Vec<(i64, Result<Vec<f32>, String>)> = jobs
                    .par_iter()
                    .map_init(
                        || super::ppsd::Work::new(p.nfft),
                        |w, (tk, off, resp)| (*tk, p.segment(w, &data[*off..*off + p.len], resp)),
                    )
                    .collect();
                for (tk, r) in done {
                    match r {
                        Ok(v) => {
                            h.add(p, &v);
                            if keep_segments {
                                out.segments.push((tk, v.clone()));
                            }
                            day_psds.push(v);
                        }
                        Err(e) => {
                            psd_error.get_or_insert(e);
                        }
                    }
                }
            }
            metrics::psd(&mut m, p, &day_psds);
        }
        out.days.push(m);
        day += DAY_NS;
    }
    if empty_days_left > 0 {
        out.problems.push(format!(
            "{empty_days_left} more days without data than the {MAX_EMPTY_DAYS} listed"
        ));
    }
    out.ppsd = match (params, hist) {
        (Ok(p), Some(h)) if h.segments > 0 => Ok((p, h)),
        _ => Err(psd_error.unwrap_or_else(|| {
            format!("no {PPSD_LENGTH} s of data (PPSD segments need the hour whole, gaps filled)")
        })),
    };
    out
}

/// The first index below `n` where `yes` holds (`yes` false then true along the indices), or n.
fn first_at(n: usize, yes: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if yes(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The samples from `origin` on, `total` of them: each trace at its nearest position, what no
/// trace covers zero, an overlap of different data zero (ObsPy's `merge(0, fill_value=0)`).
fn assemble(traces: &[Trace], origin: i64, rate: f64, total: usize) -> Vec<f64> {
    let mut data = vec![0.0; total];
    let mut covered: i64 = i64::MIN;
    for t in traces {
        let off = ((t.start_ns - origin) as f64 * 1e-9 * rate).round() as i64;
        let n = t.data.len() as i64;
        let at = |j: i64| (j - off) as usize;
        // The overlap with what is already placed: kept if identical, else zeros.
        let ov_end = covered.min(off + n);
        let same = (off..ov_end)
            .filter(|&j| (0..total as i64).contains(&j))
            .all(|j| data[j as usize] == t.data[at(j)]);
        for j in off.max(0)..(off + n).min(total as i64) {
            if j < ov_end {
                if !same {
                    data[j as usize] = 0.0;
                }
            } else {
                data[j as usize] = t.data[at(j)];
            }
        }
        covered = covered.max(off + n);
    }
    data
}

/// The velocity response on the PSD's grid at `time`, evaluated once per response.
fn table(
    inv: &Inventories,
    codes: &ChannelCodes,
    time: i64,
    p: &Params,
    tables: &mut HashMap<usize, Arc<Vec<C>>>,
) -> Result<Arc<Vec<C>>, String> {
    let c = Codes {
        network: &codes.0,
        station: &codes.1,
        location: &codes.2,
        channel: &codes.3,
    };
    let (rid, resp) = inv.response_at(c, time).map_err(|e| e.to_string())?;
    if let Some(t) = tables.get(&rid) {
        return Ok(t.clone());
    }
    let t = Arc::new(crate::response::eval::evaluate(
        &resp,
        &p.response_grid(),
        Output::Vel,
    )?);
    tables.insert(rid, t.clone());
    Ok(t)
}
