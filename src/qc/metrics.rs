//! Per channel and UTC day, the metrics ISPAQ (MUSTANG) names, with seisbatch's definitions
//! (README, "Quality control"; tests/fixtures/make_qc.py computes the same from ObsPy's
//! traces): availability, gaps and overlaps from the archive index's runs; sample statistics
//! from the day's samples; noise-model percentages and dead-channel flags from the day's PSDs.

use super::models;
use super::ppsd::Params;
use crate::archive::index::Run;

pub const DAY_NS: i64 = 86_400_000_000_000;

/// One channel's metrics for one day; `None` where the day has nothing to compute it from.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Day {
    /// The day's start, ns.
    #[serde(skip)]
    pub day_ns: i64,
    pub percent_availability: f64,
    pub num_gaps: u64,
    pub max_gap: f64,
    pub num_overlaps: u64,
    pub sample_min: Option<f64>,
    pub sample_max: Option<f64>,
    pub sample_mean: Option<f64>,
    pub sample_median: Option<f64>,
    pub sample_rms: Option<f64>,
    pub pct_below_nlnm: Option<f64>,
    pub pct_above_nhnm: Option<f64>,
    pub dead_channel_gsn: Option<u8>,
    pub dead_channel_lin: Option<f64>,
    /// PSD segments that start in the day.
    pub psd_segments: usize,
}

/// The day that holds `ns`.
pub fn day_of(ns: i64) -> i64 {
    ns.div_euclid(DAY_NS) * DAY_NS
}

/// A channel's coverage from its runs (sorted by start), computed once: each run covers
/// [first sample, last sample + delta); the union of those with holes of less than half a
/// sample closed, and where each overlap (a run beginning more than half a sample before the
/// runs before it end) begins. The day metrics and the availability picture both read it.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub union: Vec<(i64, i64)>,
    /// Sorted.
    pub overlaps: Vec<i64>,
    half: i64,
}

impl Coverage {
    pub fn of(runs: &[Run]) -> Coverage {
        let mut c = Coverage {
            half: runs.first().map_or(0, |r| (0.5e9 / r.rate) as i64),
            ..Coverage::default()
        };
        let mut end: Option<i64> = None;
        for r in runs {
            let half = (0.5e9 / r.rate) as i64;
            let a = r.start_ns;
            let b = r.end_ns().saturating_add((1e9 / r.rate).round() as i64);
            if end.is_some_and(|e| a < e - half) {
                c.overlaps.push(a);
            }
            end = Some(end.map_or(b, |e| e.max(b)));
            match c.union.last_mut() {
                Some(last) if a <= last.1 + half => last.1 = last.1.max(b),
                _ => c.union.push((a, b)),
            }
        }
        c
    }

    /// The union cut to [lo, hi).
    pub fn within(&self, lo: i64, hi: i64) -> Vec<(i64, i64)> {
        let first = self.union.partition_point(|u| u.1 <= lo);
        self.union[first..]
            .iter()
            .take_while(|u| u.0 < hi)
            .map(|&(a, b)| (a.max(lo), b.min(hi)))
            .collect()
    }

    /// Overlaps beginning in [lo, hi).
    pub fn overlaps_within(&self, lo: i64, hi: i64) -> &[i64] {
        let a = self.overlaps.partition_point(|&t| t < lo);
        let b = self.overlaps.partition_point(|&t| t < hi);
        &self.overlaps[a..b]
    }

    /// Availability, gaps (the day's start and end included) and overlaps of the day
    /// starting at `day`.
    pub fn day(&self, day: i64) -> Day {
        let (lo, hi) = (day, day + DAY_NS);
        let union = self.within(lo, hi);
        let covered: i64 = union.iter().map(|(a, b)| b - a).sum();
        let mut holes = Vec::new();
        let mut edge = lo;
        for &(a, b) in &union {
            if a - edge > self.half {
                holes.push(a - edge);
            }
            edge = b;
        }
        if union.is_empty() || hi - edge > self.half {
            holes.push(hi - edge);
        }
        Day {
            day_ns: day,
            percent_availability: 100.0 * covered as f64 / DAY_NS as f64,
            num_gaps: holes.len() as u64,
            max_gap: holes.iter().max().map_or(0.0, |&h| h as f64 * 1e-9),
            num_overlaps: self.overlaps_within(lo, hi).len() as u64,
            ..Day::default()
        }
    }
}

/// min, max, mean, median (numpy's: the mean of the middle two of an even count) and rms of
/// the day's samples; `values` is reordered.
pub fn samples(day: &mut Day, values: &mut [f64]) {
    if values.is_empty() {
        return;
    }
    let n = values.len();
    day.sample_min = values.iter().copied().reduce(f64::min);
    day.sample_max = values.iter().copied().reduce(f64::max);
    day.sample_mean = Some(values.iter().sum::<f64>() / n as f64);
    day.sample_rms = Some((values.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt());
    let (_, &mut hi, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    day.sample_median = Some(if n % 2 == 1 {
        hi
    } else {
        // The largest of the lower half.
        let lo = values[..n / 2]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        (lo + hi) / 2.0
    });
}

/// The noise-model and dead-channel metrics of the day's PSDs (one per segment).
pub fn psd(day: &mut Day, p: &Params, psds: &[Vec<f32>]) {
    day.psd_segments = psds.len();
    if psds.is_empty() {
        return;
    }
    let per = &p.bin_center;
    let (mut below, mut above, mut all) = (0usize, 0usize, 0usize);
    for s in psds {
        for (v, &t) in s.iter().zip(per) {
            if let (Some(l), Some(h)) = (models::nlnm(t), models::nhnm(t)) {
                let v = *v as f64;
                all += 1;
                below += usize::from(v < l);
                above += usize::from(v > h);
            }
        }
    }
    if all > 0 {
        day.pct_below_nlnm = Some(100.0 * below as f64 / all as f64);
        day.pct_above_nhnm = Some(100.0 * above as f64 / all as f64);
    }
    let column = |i: usize| -> Vec<f64> { psds.iter().map(|s| s[i] as f64).collect() };
    // MUSTANG's dead_channel_gsn: the mean of NLNM - the day's median over 4-8 s.
    let mut diffs = Vec::new();
    for (i, &t) in per.iter().enumerate() {
        if (4.0..=8.0).contains(&t) {
            let mut c = column(i);
            let mut d = Day::default();
            samples(&mut d, &mut c);
            if let (Some(l), Some(m)) = (models::nlnm(t), d.sample_median) {
                diffs.push(l - m);
            }
        }
    }
    if !diffs.is_empty() {
        let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
        day.dead_channel_gsn = Some(u8::from(mean > 5.0));
    }
    // dead_channel_lin: residuals of a line through (log10 period, mean dB), 4/rate to 100 s.
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (i, &t) in per.iter().enumerate() {
        if t >= 4.0 / p.rate && t <= 100.0 {
            let c = column(i);
            xs.push(t.log10());
            ys.push(c.iter().sum::<f64>() / c.len() as f64);
        }
    }
    if xs.len() >= 2 {
        let n = xs.len() as f64;
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
        let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let b = sxy / sxx;
        let a = my - b * mx;
        let ss: f64 = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| (y - (a + b * x)).powi(2))
            .sum();
        day.dead_channel_lin = Some((ss / n).sqrt());
    }
}
