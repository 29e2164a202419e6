//! Decoded records -> traces, as ObsPy's `read` joins them: records grouped by channel and
//! rate, ordered by time, and contiguous ones (within half a sample, libmseed's default
//! tolerance) joined into one trace. A gap is split, filled or rejected as `--gaps` says; an
//! overlap starts a new trace. No trace grows past `--max-samples`: a fill that would take it
//! there is not made (said in a warning), and a contiguous run longer than that fails with the
//! reason (a header claiming 6e7 Hz made every sub-second gap 6e7 samples of zeros).

use std::collections::HashMap;

use crate::limits;
use crate::trace::Trace;

/// What to do with a gap between consecutive records of one channel (`--gaps`). Overlaps
/// always start a new trace. Never a silent fill: every filled gap is a warning, every gap a
/// fill policy leaves open is a warning, and the policy is in report.json.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gaps {
    /// Each contiguous segment is its own trace (as ObsPy's `read` returns them).
    Split,
    /// Gaps of at most `max_gap` seconds filled with zeros (ObsPy's
    /// `merge(fill_value=0)`); longer gaps split.
    Zeros { max_gap: f64 },
    /// Gaps of at most `max_gap` seconds filled by a straight line between the samples either
    /// side (ObsPy's `merge(fill_value="interpolate")`); longer gaps split.
    Interpolate { max_gap: f64 },
    /// A channel with any gap fails, every segment of it, the gap named.
    Reject,
}

impl Gaps {
    pub fn name(&self) -> &'static str {
        match self {
            Gaps::Split => "split",
            Gaps::Zeros { .. } => "zeros",
            Gaps::Interpolate { .. } => "interpolate",
            Gaps::Reject => "reject",
        }
    }

    pub fn max_gap(&self) -> Option<f64> {
        match self {
            Gaps::Zeros { max_gap } | Gaps::Interpolate { max_gap } => Some(*max_gap),
            _ => None,
        }
    }
}

/// One decoded record, joined to its neighbours here.
pub struct Segment {
    /// Index into the channel names (channels numbered in order of first appearance).
    pub key: usize,
    pub start_ns: i64,
    pub rate: f64,
    /// Its samples in the file's pool (see [`join`]).
    pub samples: std::ops::Range<usize>,
}

impl Segment {
    fn len(&self) -> usize {
        self.samples.len()
    }
}

/// A piece of a joined trace: a record's samples, or a filled gap of n samples.
enum Piece {
    /// Record i, its first `skip` samples left out (they repeat the run's last ones: an
    /// archive's overlap of identical data, merged as ObsPy's `Stream.merge(-1)` does).
    Record(usize, usize),
    Fill(usize),
}

/// A run of pieces that join: its first record, the pieces after it, the samples so far, and
/// whether it grew past `--max-samples`.
struct Run {
    first: usize,
    pieces: Vec<Piece>,
    len: usize,
    too_long: bool,
}

/// Per channel: gaps a fill policy left open (longer than --max-gap, or past
/// --max-samples), and the longest, for one warning.
#[derive(Default)]
struct Unfilled {
    count: usize,
    longest_s: f64,
    by_limit: usize,
}

/// What joining gave: traces, segments refused (id, start ns, reason) and warnings.
pub struct Joined {
    pub traces: Vec<Trace>,
    pub rejected: Vec<(String, i64, String)>,
    pub warnings: Vec<String>,
}

pub type Names = Vec<(String, String, String, String)>;

/// Joins the records of one file; `pool` holds every record's samples, each record's at its
/// `samples` range.
pub fn join(recs: Vec<Segment>, pool: Vec<f64>, names: Names, gaps: Gaps) -> Joined {
    join_with(recs, pool, names, gaps, false)
}

/// libmseed's sampling-rate tolerance: rates within this relative difference are one rate
/// (`MS_ISRATETOLERABLE`).
pub const RATE_TOLERANCE: f64 = 1e-4;

/// [`join`]; with `archive`, records read from several files of a continuous archive (an
/// archive window): rates within [`RATE_TOLERANCE`] are one rate (the earliest record's, as
/// libmseed keeps a segment's first rate), and an overlap whose samples equal the run's is
/// merged rather than split (ObsPy's `Stream.merge(-1)`: a record stored in both day files).
pub fn join_with(
    mut recs: Vec<Segment>,
    mut pool: Vec<f64>,
    names: Names,
    gaps: Gaps,
    archive: bool,
) -> Joined {
    let max = limits::max_samples();
    let mut warnings = Vec::new();
    let id = |k: usize| {
        let (n, s, l, c) = &names[k];
        format!("{n}.{s}.{l}.{c}")
    };
    if archive {
        warnings.extend(unify_rates(&mut recs).into_iter().map(|(k, rates, kept)| {
            let rates: Vec<String> = rates.iter().map(|r| format!("{r} Hz")).collect();
            format!(
                "{}: records at {} joined as one rate, {kept} Hz (within libmseed's relative tolerance {RATE_TOLERANCE})",
                id(k),
                rates.join(", ")
            )
        }));
    }
    // Channels keep the order of their first record in the file, as ObsPy returns them.
    recs.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(a.rate.total_cmp(&b.rate))
            .then(a.start_ns.cmp(&b.start_ns))
    });
    // A channel whose rate changes (a reconfigured digitiser) gives one trace per rate, as
    // ObsPy's read does; its merge refuses to join them ("Sampling rate differs"), so no gap
    // policy joins them either. Said once per channel.
    for channel in recs.chunk_by(|a, b| a.key == b.key) {
        let mut rates: Vec<f64> = channel.iter().map(|r| r.rate).collect();
        rates.dedup(); // sorted by rate within a channel
        if rates.len() > 1 {
            let rates: Vec<String> = rates.iter().map(|r| format!("{r} Hz")).collect();
            warnings.push(format!(
                "{}: records at {}: one trace per rate (never joined across rates)",
                id(channel[0].key),
                rates.join(", ")
            ));
        }
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut refused: HashMap<usize, String> = HashMap::new();
    let mut unfilled: HashMap<usize, Unfilled> = HashMap::new();
    for (i, r) in recs.iter().enumerate() {
        if let Some(run) = runs.last_mut() {
            let t = &recs[run.first];
            let dt = 1e9 / r.rate;
            let expected = t.start_ns as f64 + run.len as f64 * dt;
            let off = r.start_ns as f64 - expected;
            if t.key == r.key && t.rate == r.rate {
                if archive && off < -0.5 * dt {
                    let k = (-off / dt).round() as usize;
                    if same_tail(&*run, &recs, &pool, &pool[r.samples.clone()], k) {
                        if k < r.len() {
                            run.pieces.push(Piece::Record(i, k));
                            run.len += r.len() - k;
                            run.too_long |= run.len > max;
                        }
                        continue;
                    }
                }
                if off.abs() <= 0.5 * dt {
                    run.pieces.push(Piece::Record(i, 0));
                    run.len += r.len();
                    run.too_long |= run.len > max;
                    continue;
                }
                if off > 0.0 {
                    let missing_f = (off / dt).round();
                    let seconds = missing_f / r.rate;
                    if gaps == Gaps::Reject {
                        refused.entry(r.key).or_insert_with(|| {
                            format!(
                                "gap of {seconds} s ({missing_f} samples) at {} and --gaps reject",
                                crate::time::iso(expected as i64)
                            )
                        });
                    } else if let Some(m) = gaps.max_gap() {
                        let fits = missing_f + (run.len + r.len()) as f64 <= max as f64;
                        if seconds <= m && fits && !run.too_long {
                            let missing = missing_f as usize;
                            run.pieces.push(Piece::Fill(missing));
                            run.pieces.push(Piece::Record(i, 0));
                            run.len += missing + r.len();
                            continue;
                        }
                        let u = unfilled.entry(r.key).or_default();
                        u.count += 1;
                        u.longest_s = u.longest_s.max(seconds);
                        if seconds <= m {
                            u.by_limit += 1;
                        }
                    }
                }
            }
        }
        runs.push(Run {
            first: i,
            pieces: Vec::new(),
            len: r.len(),
            too_long: r.len() > max,
        });
    }
    let mut keys: Vec<&usize> = unfilled.keys().collect();
    keys.sort();
    for k in keys {
        let u = &unfilled[k];
        let m = gaps.max_gap().unwrap_or(0.0);
        let mut w = format!(
            "{}: {} gap(s) not filled (longest {} s), the trace split there",
            id(*k),
            u.count,
            u.longest_s
        );
        if u.count > u.by_limit {
            w.push_str(&format!(
                "; {} longer than --max-gap {m} s",
                u.count - u.by_limit
            ));
        }
        if u.by_limit > 0 {
            w.push_str(&format!(
                "; {} would take the trace past --max-samples {max}",
                u.by_limit
            ));
        }
        warnings.push(w);
    }
    let mut traces = Vec::new();
    let mut rejected = Vec::new();
    for run in runs {
        let first = run.first;
        let (key, start_ns, rate) = (recs[first].key, recs[first].start_ns, recs[first].rate);
        if let Some(reason) = refused.get(&key) {
            rejected.push((id(key), start_ns, reason.clone()));
            continue;
        }
        if run.too_long {
            rejected.push((
                id(key),
                start_ns,
                format!(
                    "a contiguous trace of {} samples, more than the limit of {max} (--max-samples); not read",
                    run.len
                ),
            ));
            continue;
        }
        if let Some(p) = limits::span_problem(start_ns, run.len, rate) {
            rejected.push((id(key), start_ns, p));
            continue;
        }
        let (mut n_gaps, mut n_fill) = (0, 0);
        // The common file (one channel, records in order, nothing refused) is one run whose
        // records lie one after the other in the pool: the pool is the trace.
        let whole = recs[first].samples.start == 0
            && run.len == pool.len()
            && run
                .pieces
                .iter()
                .try_fold(recs[first].samples.end, |end, p| match p {
                    Piece::Record(i, 0) if recs[*i].samples.start == end => {
                        Some(recs[*i].samples.end)
                    }
                    _ => None,
                })
                == Some(pool.len());
        let mut data = if whole {
            let mut all = std::mem::take(&mut pool);
            // The pool was sized from the first record; a trace keeps no more than a quarter
            // spare for as long as it lives.
            if all.capacity() > all.len() + all.len() / 4 {
                all.shrink_to_fit();
            }
            all
        } else {
            pool[recs[first].samples.clone()].to_vec()
        };
        let rest = if whole { &[][..] } else { &run.pieces[..] };
        for (k, p) in rest.iter().enumerate() {
            match *p {
                Piece::Record(i, skip) => {
                    data.extend_from_slice(&pool[recs[i].samples.clone()][skip..]);
                }
                Piece::Fill(n) => {
                    n_gaps += 1;
                    n_fill += n;
                    let left = data.last().copied().unwrap_or(0.0);
                    let right = match run.pieces.get(k + 1) {
                        Some(Piece::Record(j, _)) => pool[recs[*j].samples.clone()]
                            .first()
                            .copied()
                            .unwrap_or(0.0),
                        _ => left,
                    };
                    if let Gaps::Interpolate { .. } = gaps {
                        // numpy.linspace(left, right, n + 2)[1:-1], as ObsPy fills.
                        let step = (right - left) / (n + 1) as f64;
                        data.extend((1..=n).map(|j| left + step * j as f64));
                    } else {
                        data.extend(std::iter::repeat_n(0.0, n));
                    }
                }
            }
        }
        let (network, station, location, channel) = names[key].clone();
        if n_gaps > 0 {
            warnings.push(format!(
                "{network}.{station}.{location}.{channel}: {n_gaps} gap(s) filled ({n_fill} samples, {})",
                if matches!(gaps, Gaps::Interpolate { .. }) { "interpolated" } else { "zeros" }
            ));
        }
        traces.push(Trace {
            network,
            station,
            location,
            channel,
            start_ns,
            sampling_rate: rate,
            data,
        });
    }
    Joined {
        traces,
        rejected,
        warnings,
    }
}

/// Archive joins: per channel, rates within [`RATE_TOLERANCE`] of the lowest of a group take
/// the rate of the group's earliest record. Returns, per channel whose rates were unified,
/// the rates seen and the one kept.
fn unify_rates(recs: &mut [Segment]) -> Vec<(usize, Vec<f64>, f64)> {
    let mut by_key: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, r) in recs.iter().enumerate() {
        by_key.entry(r.key).or_default().push(i);
    }
    let mut said = Vec::new();
    for (key, mut idx) in by_key {
        idx.sort_by(|&a, &b| recs[a].rate.total_cmp(&recs[b].rate));
        let mut group_start = 0;
        for end in 1..=idx.len() {
            let split = end == idx.len() || {
                let (lo, r) = (recs[idx[group_start]].rate, recs[idx[end]].rate);
                (1.0 - r / lo).abs() >= RATE_TOLERANCE
            };
            if !split {
                continue;
            }
            let group = &idx[group_start..end];
            group_start = end;
            let (lo, hi) = (recs[group[0]].rate, recs[group[group.len() - 1]].rate);
            if lo == hi {
                continue;
            }
            let first = group
                .iter()
                .copied()
                .min_by_key(|&i| (recs[i].start_ns, i))
                .map_or(lo, |i| recs[i].rate);
            let mut rates: Vec<f64> = group.iter().map(|&i| recs[i].rate).collect();
            rates.dedup();
            for &i in group {
                recs[i].rate = first;
            }
            said.push((key, rates, first));
        }
    }
    said
}

/// Whether the run's samples from `k` before its end equal `next`'s first ones (as many as
/// both have): an overlap of the same data. A filled gap in that stretch is never equal.
fn same_tail(run: &Run, recs: &[Segment], pool: &[f64], next: &[f64], k: usize) -> bool {
    if k == 0 || k > run.len {
        return false;
    }
    let m = k.min(next.len());
    // Walk the run's pieces from its end back, comparing the overlapped stretch.
    let mut pieces: Vec<&[f64]> = Vec::new();
    let first = &pool[recs[run.first].samples.clone()];
    let mut need = k;
    for p in run.pieces.iter().rev() {
        if need == 0 {
            break;
        }
        match *p {
            Piece::Record(i, skip) => {
                let s = &pool[recs[i].samples.clone()][skip..];
                pieces.push(s);
                need = need.saturating_sub(s.len());
            }
            Piece::Fill(_) => return false,
        }
    }
    if need > 0 {
        pieces.push(first);
    }
    // The last k samples of the run, in order.
    let mut tail: Vec<f64> = Vec::with_capacity(k);
    for s in pieces.iter().rev() {
        tail.extend_from_slice(s);
    }
    let tail = &tail[tail.len() - k..];
    tail[..m] == next[..m]
}
