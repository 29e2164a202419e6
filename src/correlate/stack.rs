//! The run's stacks (NoisePy's S2), from the rows the chunks wrote: per pair and component
//! pair, every chunk's row read back (float32, as NoisePy stores its correlations), NoisePy's
//! rejection over the rows (`ops::noise::stack::keep`), then the linear or phase-weighted
//! stack, summed row by row so a pair never holds its year of rows (two reads of each file:
//! the peaks first, the sums second). With `rotation`, the nine ENZ stacks of a pair turned
//! to RTZ by its azimuth and back-azimuth. Pairs in parallel, written in order.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;

use super::asdf::StackOut;
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
    /// NoisePy-layout STACK files written (`asdf = true`).
    pub asdf_files: usize,
}

/// The run's rows as the stacks need them, kept compact (a year of 100 stations and nine
/// component pairs is 16 million rows): per pair and component pair the head of its first
/// row (codes, channels, coordinates: what a stack's header takes) and per chunk row only
/// where it is and its grid and weight (24 bytes, where a whole head was ~700).
#[derive(Default)]
pub struct Index {
    labels: Vec<String>,
    pairs: BTreeMap<(String, String), ByComponents>,
}

/// A pair's rows per component pair.
type ByComponents = BTreeMap<(char, char), Entry>;

struct Entry {
    head: Head,
    rows: Vec<RowRef>,
}

/// A chunk row: its chunk (an index into the labels), lags, lag 0, substack rows and sample
/// interval.
#[derive(Clone, Copy)]
struct RowRef {
    chunk: u32,
    npts: u32,
    zero: u32,
    rows: u32,
    dt: f64,
}

impl Index {
    /// A finished chunk's rows, in the run's order of chunks.
    pub fn add(&mut self, label: &str, heads: Vec<Head>) -> Result<(), String> {
        let chunk = u32::try_from(self.labels.len()).map_err(|_| "too many chunks")?;
        self.labels.push(label.to_string());
        let n = |v: usize| u32::try_from(v).map_err(|_| format!("{label}: {v} out of range"));
        for h in heads {
            let r = RowRef {
                chunk,
                npts: n(h.npts)?,
                zero: n(h.zero)?,
                rows: n(h.rows)?,
                dt: h.dt,
            };
            let by_comp = self
                .pairs
                .entry((h.source.clone(), h.receiver.clone()))
                .or_default();
            match by_comp.get_mut(&h.components) {
                Some(e) => e.rows.push(r),
                None => {
                    by_comp.insert(
                        h.components,
                        Entry {
                            head: h,
                            rows: vec![r],
                        },
                    );
                }
            }
        }
        Ok(())
    }
}

/// `index`: every finished chunk's rows, in the run's order; lag 0 of a stack is at
/// `lag0_ns` (the run's first chunk).
pub fn stack_all(out: &Path, cfg: &Config, index: &Index, lag0_ns: i64) -> Result<Stacked, String> {
    let pairs: Vec<(&(String, String), &ByComponents)> = index.pairs.iter().collect();
    let done: Vec<Result<Stacked, String>> = pairs
        .par_iter()
        .map(|(key, rows)| pair(out, cfg, (&key.0, &key.1), rows, &index.labels, lag0_ns))
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
        total.asdf_files += d.asdf_files;
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
    (src, rcv): (&str, &str),
    rows: &ByComponents,
    labels: &[String],
    lag0_ns: i64,
) -> Result<Stacked, String> {
    let mut s = Stacked::default();
    let mut stacks: BTreeMap<(char, char), (&Head, Vec<f64>)> = BTreeMap::new();
    let mut ngood: BTreeMap<(char, char), usize> = BTreeMap::new();
    for (comps, entry) in rows {
        let head = &entry.head;
        let name = components(head);
        // Rows on the first row's grid only (another rate gives other lags); the index says
        // which before any file is read.
        let first = entry.rows[0];
        let same = |r: &RowRef| r.npts == first.npts && r.zero == first.zero && r.dt == first.dt;
        let on_grid: Vec<(std::path::PathBuf, &RowRef)> = entry
            .rows
            .iter()
            .filter(|r| same(r))
            .map(|r| (row_path(out, &labels[r.chunk as usize], head, &name), r))
            .collect();
        s.rows_other_grid += entry.rows.len() - on_grid.len();
        let npts = first.npts as usize;
        let mut peaks = Vec::with_capacity(on_grid.len());
        for (p, _) in &on_grid {
            peaks.push(peak(&read_row(p, npts, first.dt)?));
        }
        let kept = keep(&peaks);
        s.rows_rejected += kept.iter().filter(|k| !**k).count();
        // NoisePy's nstacks: the rows stacked (a chunk of substacks counts its substacks).
        let rows_of = |r: &RowRef| if cfg.substack { r.rows as usize } else { 1 };
        let stacked = on_grid.iter().zip(&kept).filter(|(_, k)| **k);
        ngood.insert(*comps, stacked.map(|((_, r), _)| rows_of(r)).sum());
        let mut sum = Sum::new(npts, cfg.stack_method == StackMethod::Pws);
        for ((p, r), k) in on_grid.iter().zip(&kept) {
            if *k {
                // A chunk's mean of substacks stands for its substack rows (NoisePy stacks
                // every substack); a chunk's average is one row, as NoisePy's np.mean.
                let w = if cfg.substack { r.rows as f64 } else { 1.0 };
                sum.add(&read_row(p, npts, first.dt)?, w)?;
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
    let mut rtz_out: Option<(&Head, [Vec<f64>; 9])> = None;
    // A station with itself has no azimuth (NoisePy rotates cross-correlations only).
    if cfg.rotation && src != rcv {
        match rotate(&stacks) {
            Ok((head, rtz)) => {
                for (name, data) in RTZ.iter().zip(&rtz) {
                    write_row(out, "stack_rtz", head, name, data, lag0_ns)?;
                }
                s.rotated += RTZ.len();
                rtz_out = Some((head, rtz));
            }
            Err(why) => {
                s.not_rotated_count += 1;
                s.not_rotated.push((format!("{src}_{rcv}"), why));
            }
        }
    }
    if cfg.asdf {
        let mut outs: Vec<StackOut> = stacks
            .iter()
            .map(|(c, (head, data))| StackOut {
                comp: components(head),
                head,
                ngood: ngood.get(c).copied().unwrap_or(0),
                data,
            })
            .collect();
        if let Some((head, rtz)) = &rtz_out {
            // NoisePy's rotated stacks carry the ZZ stack's count.
            let n = ngood.get(&('Z', 'Z')).copied().unwrap_or(0);
            outs.extend(RTZ.iter().zip(rtz).map(|(name, data)| StackOut {
                comp: name.to_string(),
                head,
                ngood: n,
                data,
            }));
        }
        super::asdf::write_stacks(out, cfg, lag0_ns, &outs, rtz_out.is_some())?;
        s.asdf_files += usize::from(!outs.is_empty());
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
