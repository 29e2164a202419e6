//! A chunk's pairs: every two stations (source first, by their codes; and each station with
//! itself with `acorr_only` or `xcorr_only = false`) and every requested component pair, correlated over the windows both channels kept (`ops::noise::correlate`);
//! a day row per pair (the average, or the mean of the per-window rows with `substack`).
//! Pairs farther apart than `max_distance_km` are left out; a pair with no common window, or
//! a channel missing, is counted.

use std::collections::HashMap;

use num_complex::Complex64 as C;
use rayon::prelude::*;

use super::journal::{to_array, Head};
use super::station::Spectra;
use super::Config;
use crate::inventory::{Inventories, Inventory};
use crate::ops::noise::correlate::{self, Request};
use crate::read::stationxml::Coordinates;
use crate::trace::Trace;

/// One pair and component pair in one chunk: what is said of it, and its row (lags from
/// -zero dt on: the chunk's correlation).
pub struct Row {
    pub head: Head,
    pub data: Vec<f64>,
}

pub struct Day {
    pub rows: Vec<Row>,
    pub missing: usize,
}

fn coords(inv: Option<&Inventory>, s: &Spectra, at_ns: i64) -> Option<Coordinates> {
    let inv = inv?;
    let tr = Trace {
        network: s.network.clone(),
        station: s.station.clone(),
        location: s.location.clone(),
        channel: s.channel.clone(),
        start_ns: at_ns,
        sampling_rate: s.sampling_rate,
        data: Vec::new(),
    };
    Inventories { layers: vec![inv] }.coordinates_for(&tr)
}

/// The run's station pairs (indices into its sorted stations, source first): two stations,
/// and a station with itself where asked, in order.
pub fn station_pairs(n: usize, cfg: &Config) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for i in 0..n {
        for j in i..n {
            if (j == i && cfg.auto) || (j != i && cfg.cross) {
                out.push((i, j));
            }
        }
    }
    out
}

/// Shard K of N's block of the pairs: the K-th of N runs of (nearly) equal length, so N
/// shards together have every pair once.
pub fn block(pairs: &[(usize, usize)], shard: Option<crate::shard::Shard>) -> Vec<(usize, usize)> {
    match shard {
        None => pairs.to_vec(),
        Some(s) => {
            let p = pairs.len();
            pairs[p * s.index / s.count..p * (s.index + 1) / s.count].to_vec()
        }
    }
}

/// `stations`: every station of the run (sorted); `pairs`: those to correlate (indices into
/// `stations`), so that a pair missing in this chunk is counted.
pub fn correlate_all(
    spectra: &[Spectra],
    stations: &[String],
    pairs: &[(usize, usize)],
    cfg: &Config,
    inv: Option<&Inventory>,
    at_ns: i64,
) -> Result<Day, String> {
    // A station's channel of each component: the first by channel code.
    let mut by: HashMap<(String, char), &Spectra> = HashMap::new();
    for s in spectra {
        by.entry((s.station_id(), s.component()))
            .and_modify(|e| {
                if s.channel < e.channel {
                    *e = s;
                }
            })
            .or_insert(s);
    }
    let mut jobs = Vec::new();
    for &(i, j) in pairs {
        for &comps in &cfg.components {
            jobs.push((&stations[i], &stations[j], comps));
        }
    }
    // Pairs in parallel, collected in order (the same rows for any schedule).
    let done: Vec<Result<Outcome, String>> = jobs
        .par_iter()
        .map(|&(src, rcv, comps)| pair(&by, src, rcv, comps, cfg, inv, at_ns))
        .collect();
    let mut day = Day {
        rows: Vec::new(),
        missing: 0,
    };
    for d in done {
        match d? {
            Outcome::Row(r) => day.rows.push(*r),
            Outcome::Missing => day.missing += 1,
            Outcome::Far | Outcome::Mirror => {}
        }
    }
    Ok(day)
}

/// What one pair and component pair gave in a chunk.
enum Outcome {
    Row(Box<Row>),
    /// No common window, no channel of a component, other rates, or no coordinates for
    /// max_distance_km: counted.
    Missing,
    /// Farther apart than max_distance_km: left out, as asked.
    Far,
    /// One station's component pair whose channels come in the other order (NZ of ZN): the
    /// time reverse of one correlated, left out as NoisePy's channel loop (iiR >= iiS) does.
    Mirror,
}

/// One pair and component pair in a chunk.
fn pair(
    by: &HashMap<(String, char), &Spectra>,
    src: &str,
    rcv: &str,
    (cs, cr): (char, char),
    cfg: &Config,
    inv: Option<&Inventory>,
    at_ns: i64,
) -> Result<Outcome, String> {
    let channel = |sta: &str, comp: char| by.get(&(sta.to_string(), comp)).copied();
    let (Some(a), Some(b)) = (channel(src, cs), channel(rcv, cr)) else {
        return Ok(Outcome::Missing);
    };
    if src == rcv && a.channel > b.channel {
        return Ok(Outcome::Mirror);
    }
    let (ca, cb) = (coords(inv, a, at_ns), coords(inv, b, at_ns));
    if let Some(km) = cfg.max_distance_km {
        let d = match (ca, cb) {
            (Some(x), Some(y)) => {
                crate::geodesy::gps2dist_azimuth(x.latitude, x.longitude, y.latitude, y.longitude)
                    .map(|d| d.0 / 1000.0)
            }
            _ => None,
        };
        // Without coordinates a distance cannot be held to: counted as missing.
        match d {
            None => return Ok(Outcome::Missing),
            Some(d) if d > km => return Ok(Outcome::Far),
            Some(_) => {}
        }
    }
    if a.sampling_rate != b.sampling_rate || a.nfft != b.nfft {
        return Ok(Outcome::Missing);
    }
    let common: Vec<usize> = (0..a.windows.len().min(b.windows.len()))
        .filter(|&k| a.windows[k].is_some() && b.windows[k].is_some())
        .collect();
    if common.is_empty() {
        return Ok(Outcome::Missing);
    }
    let flat = |s: &Spectra| -> Vec<C> {
        common
            .iter()
            .flat_map(|&k| s.windows[k].iter().flatten().copied())
            .collect()
    };
    let (fa, fb) = (flat(a), flat(b));
    let dt = 1.0 / a.sampling_rate;
    let req = Request {
        method: cfg.cc_method,
        smoothspect_n: cfg.noise.smoothspect_n,
        nfft: a.nfft,
        dt,
        maxlag: cfg.noise.maxlag,
        per_window: cfg.substack,
    };
    let src_spec = correlate::smooth_source(&fa, cfg.cc_method, req.smoothspect_n);
    let c = correlate::correlate(&src_spec, &fb, &req)?;
    let (Some(zero), Some(first)) = (c.zero, c.rows.first()) else {
        return Ok(Outcome::Missing);
    };
    // The chunk's row: the mean of the kept per-window rows (NoisePy's linear stack), or the
    // one average.
    let mut data = vec![0.0; first.len()];
    for r in &c.rows {
        data.iter_mut().zip(r).for_each(|(d, v)| *d += v);
    }
    let k = c.rows.len() as f64;
    data.iter_mut().for_each(|d| *d /= k);
    Ok(Outcome::Row(Box::new(Row {
        head: Head {
            source: src.to_string(),
            receiver: rcv.to_string(),
            components: (cs, cr),
            source_codes: [a.network.clone(), a.station.clone(), a.location.clone()],
            receiver_codes: [b.network.clone(), b.station.clone(), b.location.clone()],
            source_coords: ca.as_ref().map(to_array),
            receiver_coords: cb.as_ref().map(to_array),
            dt,
            npts: data.len(),
            zero,
            windows: c.kept.len(),
        },
        data,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Shard;

    /// Shards' blocks cover every pair once, in order, however the count divides them.
    #[test]
    fn shard_blocks_cover_every_pair_once() {
        let cfg = Config::parse("xcorr_only = false").unwrap();
        let all = station_pairs(7, &cfg);
        assert_eq!(all.len(), 7 * 8 / 2);
        for count in [1, 2, 3, 5, 28, 40] {
            let joined: Vec<(usize, usize)> = (0..count)
                .flat_map(|index| block(&all, Some(Shard { index, count })))
                .collect();
            assert_eq!(joined, all, "{count} shards");
        }
        let cross = station_pairs(3, &Config::parse("").unwrap());
        assert_eq!(cross, [(0, 1), (0, 2), (1, 2)]);
        let auto = station_pairs(3, &Config::parse("acorr_only = true").unwrap());
        assert_eq!(auto, [(0, 0), (1, 1), (2, 2)]);
    }
}
