//! The run's stacks (NoisePy's S2), from the rows the chunks wrote: per pair and component
//! pair, every chunk's row read back (float32, as NoisePy stores its correlations), NoisePy's
//! rejection over the rows (`ops::noise::stack::keep`), then the linear or phase-weighted
//! stack, summed row by row so a pair never holds its year of rows (two reads of each file:
//! the peaks first, the sums second). With `rotation`, the nine ENZ stacks of a pair turned
//! to RTZ by its azimuth and back-azimuth. Pairs in parallel, written in order.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;

use super::config::StackMethod;
use super::journal::Head;
use super::output::{components, read_row, row_path, write_row};
use super::Config;
use crate::ops::noise::rotation::{rotation, ENZ, RTZ};
use crate::ops::noise::stack::{keep, peak, Sum};

/// What the stacks did (in correlate.json).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stacked {
    /// Stacks written (component pairs), and rotated stacks written.
    pub stacks: usize,
    pub rotated: usize,
    /// Chunk rows NoisePy's rejection left out of the stacks.
    pub rows_rejected: usize,
    /// Component pairs whose every row was rejected (no stack).
    pub all_rejected: usize,
    /// Chunk rows on another lag grid than the pair's first (another rate): not stacked.
    pub rows_other_grid: usize,
    /// Pairs not rotated: (pair, reason), the first `LISTED`, and their count.
    pub not_rotated: Vec<(String, String)>,
    pub not_rotated_count: usize,
}

/// A pair's rows: per component pair, every (chunk label, head) in the run's order.
type Rows<'a> = BTreeMap<(char, char), Vec<(&'a str, &'a Head)>>;

/// `chunks`: every finished chunk's label and heads, in the run's order; lag 0 of a stack is
/// at `lag0_ns` (the run's first chunk).
pub fn stack_all(
    out: &Path,
    cfg: &Config,
    chunks: &[(String, Vec<Head>)],
    lag0_ns: i64,
) -> Result<Stacked, String> {
    let mut by_pair: BTreeMap<(&str, &str), Rows> = BTreeMap::new();
    for (label, heads) in chunks {
        for h in heads {
            by_pair
                .entry((h.source.as_str(), h.receiver.as_str()))
                .or_default()
                .entry(h.components)
                .or_default()
                .push((label.as_str(), h));
        }
    }
    let pairs: Vec<(&(&str, &str), &Rows)> = by_pair.iter().collect();
    let done: Vec<Result<Stacked, String>> = pairs
        .par_iter()
        .map(|(key, rows)| pair(out, cfg, key, rows, lag0_ns))
        .collect();
    let mut total = Stacked::default();
    for d in done {
        let d = d?;
        total.stacks += d.stacks;
        total.rotated += d.rotated;
        total.rows_rejected += d.rows_rejected;
        total.all_rejected += d.all_rejected;
        total.rows_other_grid += d.rows_other_grid;
        total.not_rotated_count += d.not_rotated_count;
        for n in d.not_rotated {
            if total.not_rotated.len() < super::LISTED {
                total.not_rotated.push(n);
            }
        }
    }
    Ok(total)
}

fn pair(
    out: &Path,
    cfg: &Config,
    (src, rcv): &(&str, &str),
    rows: &Rows,
    lag0_ns: i64,
) -> Result<Stacked, String> {
    let mut s = Stacked::default();
    let mut stacks: BTreeMap<(char, char), (&Head, Vec<f64>)> = BTreeMap::new();
    for (comps, chunks) in rows {
        let Some((_, head)) = chunks.first() else {
            continue;
        };
        let name = components(head);
        // Rows on the first row's grid only (another rate gives other lags); the heads say
        // which before any file is read.
        let same = |h: &Head| h.npts == head.npts && h.zero == head.zero && h.dt == head.dt;
        let on_grid: Vec<(std::path::PathBuf, &Head)> = chunks
            .iter()
            .filter(|(_, h)| same(h))
            .map(|(label, h)| (row_path(out, label, h, &name), *h))
            .collect();
        s.rows_other_grid += chunks.len() - on_grid.len();
        let mut peaks = Vec::with_capacity(on_grid.len());
        for (p, h) in &on_grid {
            peaks.push(peak(&read_row(p, h)?));
        }
        let kept = keep(&peaks);
        s.rows_rejected += kept.iter().filter(|k| !**k).count();
        let mut sum = Sum::new(head.npts, cfg.stack_method == StackMethod::Pws);
        for ((p, h), k) in on_grid.iter().zip(&kept) {
            if *k {
                // A chunk's mean of substacks stands for its substack rows (NoisePy stacks
                // every substack); a chunk's average is one row, as NoisePy's np.mean.
                let w = if cfg.substack { h.rows as f64 } else { 1.0 };
                sum.add(&read_row(p, h)?, w)?;
            }
        }
        match sum.finish() {
            Some(data) => {
                write_row(out, "stack", head, &name, &data, lag0_ns)?;
                s.stacks += 1;
                stacks.insert(*comps, (head, data));
            }
            None => s.all_rejected += 1,
        }
    }
    // A station with itself has no azimuth (NoisePy rotates cross-correlations only).
    if cfg.rotation && src != rcv {
        match rotate(&stacks) {
            Ok((head, rtz)) => {
                for (name, data) in RTZ.iter().zip(&rtz) {
                    write_row(out, "stack_rtz", head, name, data, lag0_ns)?;
                }
                s.rotated += RTZ.len();
            }
            Err(why) => {
                s.not_rotated_count += 1;
                s.not_rotated.push((format!("{src}_{rcv}"), why));
            }
        }
    }
    Ok(s)
}

/// A pair's nine ENZ stacks turned to RTZ, with the head whose coordinates gave the angles.
fn rotate<'a>(
    stacks: &BTreeMap<(char, char), (&'a Head, Vec<f64>)>,
) -> Result<(&'a Head, [Vec<f64>; 9]), String> {
    let mut rows: Vec<(&Head, &[f64])> = Vec::with_capacity(9);
    for name in ENZ {
        let mut c = name.chars();
        let key = (c.next().unwrap_or('?'), c.next().unwrap_or('?'));
        match stacks.get(&key) {
            Some((h, d)) => rows.push((h, d)),
            None => return Err(format!("no {name} stack")),
        }
    }
    let head = rows[8].0;
    if rows.iter().any(|(_, d)| d.len() != head.npts) {
        return Err("component stacks on different lag grids".into());
    }
    let (Some(a), Some(b)) = (head.source_coords, head.receiver_coords) else {
        return Err("no coordinates for the azimuths (give --inventory)".into());
    };
    let Some((_, azi, back_azimuth)) = crate::geodesy::gps2dist_azimuth(a[0], a[1], b[0], b[1])
    else {
        return Err("coordinates out of range".into());
    };
    let enz: [&[f64]; 9] = std::array::from_fn(|k| rows[k].1);
    Ok((head, rotation(enz, azi, back_azimuth)))
}
