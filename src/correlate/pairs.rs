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
#[derive(Clone)]
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
    device: Option<&mut OnDevice>,
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
    let prepared: Vec<Prepared> = jobs
        .par_iter()
        .map(|&(src, rcv, comps)| prepare(&by, src, rcv, comps, cfg, inv, at_ns))
        .collect();
    // On the device where it can (`device`), the rest on the CPU path in parallel; collected
    // in order (the same rows for any schedule).
    let ready: Vec<&Ready> = prepared
        .iter()
        .filter_map(|p| match p {
            Prepared::Ready(r) => Some(&**r),
            Prepared::Done(_) => None,
        })
        .collect();
    let from_device = match device {
        Some(d) => d(&ready, cfg),
        None => vec![None; ready.len()],
    };
    let mut from_device = from_device.into_iter();
    let mut done: Vec<Result<Outcome, String>> = Vec::with_capacity(prepared.len());
    let mut cpu_todo = Vec::new();
    for p in &prepared {
        match p {
            Prepared::Done(o) => done.push(Ok(o.clone())),
            Prepared::Ready(r) => match from_device.next().flatten() {
                Some(data) => done.push(Ok(r.row(data))),
                None => {
                    cpu_todo.push((done.len(), r));
                    done.push(Ok(Outcome::Missing));
                }
            },
        }
    }
    let cpu: Vec<Result<Outcome, String>> = cpu_todo
        .par_iter()
        .map(|(_, r)| on_cpu(r, cfg).map(|d| r.row(d)))
        .collect();
    for ((at, _), o) in cpu_todo.iter().zip(cpu) {
        done[*at] = o;
    }
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
#[derive(Clone)]
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

/// A pair and component pair ready to correlate: its two channels, the windows both kept,
/// and what its row will say.
pub struct Ready<'s> {
    pub a: &'s Spectra,
    pub b: &'s Spectra,
    pub common: Vec<usize>,
    head: Head,
}

impl Ready<'_> {
    pub fn dt(&self) -> f64 {
        self.head.dt
    }

    /// The row, once correlated (None: every window rejected, counted as missing).
    fn row(&self, data: Option<Correlated>) -> Outcome {
        match data {
            Some(c) if c.windows > 0 && c.rows > 0 && !c.data.is_empty() => {
                Outcome::Row(Box::new(Row {
                    head: Head {
                        npts: c.data.len(),
                        zero: c.zero,
                        windows: c.windows,
                        rows: c.rows,
                        ..self.head.clone()
                    },
                    data: c.data,
                }))
            }
            _ => Outcome::Missing,
        }
    }
}

/// A pair's chunk row: its lags, where lag 0 is, the windows it stands for and the substack
/// rows it is the mean of.
#[derive(Clone)]
pub struct Correlated {
    pub data: Vec<f64>,
    pub zero: usize,
    pub windows: usize,
    pub rows: usize,
}

/// What the device gave the ready pairs of a chunk: per pair, None to run it on the CPU path,
/// or its row (None inside: every window rejected).
pub type DeviceRows = Vec<Option<Option<Correlated>>>;

/// The device's part of a chunk: its ready pairs -> `DeviceRows`.
pub type OnDevice<'d> = dyn FnMut(&[&Ready], &Config) -> DeviceRows + 'd;

/// What a pair is before its correlation: ready, or already decided.
enum Prepared<'s> {
    Ready(Box<Ready<'s>>),
    Done(Outcome),
}

/// One pair and component pair in a chunk: its channels, distance and common windows.
fn prepare<'s>(
    by: &HashMap<(String, char), &'s Spectra>,
    src: &str,
    rcv: &str,
    (cs, cr): (char, char),
    cfg: &Config,
    inv: Option<&Inventory>,
    at_ns: i64,
) -> Prepared<'s> {
    let channel = |sta: &str, comp: char| by.get(&(sta.to_string(), comp)).copied();
    let (Some(a), Some(b)) = (channel(src, cs), channel(rcv, cr)) else {
        return Prepared::Done(Outcome::Missing);
    };
    if src == rcv && a.channel > b.channel {
        return Prepared::Done(Outcome::Mirror);
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
            None => return Prepared::Done(Outcome::Missing),
            Some(d) if d > km => return Prepared::Done(Outcome::Far),
            Some(_) => {}
        }
    }
    if a.sampling_rate != b.sampling_rate || a.nfft != b.nfft {
        return Prepared::Done(Outcome::Missing);
    }
    let common: Vec<usize> = (0..a.windows.len().min(b.windows.len()))
        .filter(|&k| a.windows[k].is_some() && b.windows[k].is_some())
        .collect();
    if common.is_empty() {
        return Prepared::Done(Outcome::Missing);
    }
    Prepared::Ready(Box::new(Ready {
        a,
        b,
        common,
        head: Head {
            source: src.to_string(),
            receiver: rcv.to_string(),
            components: (cs, cr),
            channels: [a.channel.clone(), b.channel.clone()],
            source_codes: [a.network.clone(), a.station.clone(), a.location.clone()],
            receiver_codes: [b.network.clone(), b.station.clone(), b.location.clone()],
            source_coords: ca.as_ref().map(to_array),
            receiver_coords: cb.as_ref().map(to_array),
            dt: 1.0 / a.sampling_rate,
            npts: 0,
            zero: 0,
            windows: 0,
            rows: 0,
        },
    }))
}

/// A ready pair on the CPU path; None where every window was rejected (NoisePy's mean of no
/// rows is NaN: nothing to write).
fn on_cpu(r: &Ready, cfg: &Config) -> Result<Option<Correlated>, String> {
    let c = correlation(r, cfg)?;
    let (Some(zero), Some(first)) = (c.zero, c.rows.first()) else {
        return Ok(None);
    };
    if c.kept.is_empty() {
        return Ok(None);
    }
    // The chunk's row: the mean of the kept per-window rows (NoisePy's linear stack), or the
    // one average.
    let mut data = vec![0.0; first.len()];
    for row in &c.rows {
        data.iter_mut().zip(row).for_each(|(d, v)| *d += v);
    }
    let k = c.rows.len() as f64;
    data.iter_mut().for_each(|d| *d /= k);
    Ok(Some(Correlated {
        data,
        zero,
        windows: c.windows,
        rows: c.rows.len(),
    }))
}

/// NoisePy's `correlate` of a ready pair: the default (xcorr averaged) window by window from
/// the stations' spectra as they are; the others over the common windows' spectra end to end
/// (coherency and deconv smooth across window boundaries, as NoisePy's flattened arrays do).
fn correlation(r: &Ready, cfg: &Config) -> Result<correlate::Correlation, String> {
    let req = Request {
        method: cfg.cc_method,
        smoothspect_n: cfg.noise.smoothspect_n,
        nfft: r.a.nfft,
        dt: r.dt(),
        maxlag: cfg.noise.maxlag,
        per_window: cfg.substack,
    };
    if cfg.cc_method == correlate::Method::Xcorr && !cfg.substack {
        fn windows<'s>(s: &'s Spectra, common: &[usize]) -> Vec<&'s [C]> {
            common
                .iter()
                .map(|&k| s.windows[k].as_deref().unwrap_or(&[]))
                .collect()
        }
        return correlate::xcorr_average(&windows(r.a, &r.common), &windows(r.b, &r.common), &req);
    }
    let flat = |s: &Spectra| -> Vec<C> {
        r.common
            .iter()
            .flat_map(|&k| s.windows[k].iter().flatten().copied())
            .collect()
    };
    let (fa, fb) = (flat(r.a), flat(r.b));
    let src_spec = correlate::smooth_source(&fa, cfg.cc_method, req.smoothspect_n);
    // Each common window's start, seconds from the chunk's start (NoisePy's fft_time).
    let starts: Vec<f64> = r
        .common
        .iter()
        .map(|&k| k as f64 * cfg.noise.step)
        .collect();
    let groups = (cfg.substack && cfg.substack_len > cfg.noise.cc_len)
        .then_some((cfg.substack_len, starts.as_slice()));
    correlate::correlate_with(&src_spec, &fb, &req, groups)
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
