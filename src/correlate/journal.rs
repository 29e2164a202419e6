//! What a correlate run has finished, so that `--resume` skips it. `OUTPUT/.correlate/run.json`
//! holds the run's fingerprint (configuration, inputs, inventory, time range), written before
//! any chunk; `OUTPUT/.correlate/chunks/<label>.json`, written after a chunk's files, lists its
//! rows (pair, components, codes, coordinates, lags, windows) and counts. A state file we
//! wrote is input like any other: its size is bounded, its label must be one of the run's
//! chunks, its stations the run's, its components asked for, its numbers in range; one that
//! fails is redone (and said so), never trusted.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Config;
use crate::read::stationxml::Coordinates;
use crate::shard::Shard;

// 2: rows name their channels (ASDF paths); a version 1 record is redone.
const VERSION: u32 = 2;

/// One correlation a chunk wrote (and the run's stacks read back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// `NET.STA.LOC` of both stations; the source leads (the sign convention).
    pub source: String,
    pub receiver: String,
    pub components: (char, char),
    /// The two channel codes (source, receiver), each ending in its component letter.
    pub channels: [String; 2],
    pub source_codes: [String; 3],
    pub receiver_codes: [String; 3],
    /// Latitude, longitude, elevation (m), depth (m).
    pub source_coords: Option<[f64; 4]>,
    pub receiver_coords: Option<[f64; 4]>,
    pub dt: f64,
    /// Lags in the row, and the index of lag 0.
    pub npts: usize,
    pub zero: usize,
    /// Windows the row stands for, and the substack rows it is the mean of (1 without
    /// substack).
    pub windows: usize,
    pub rows: usize,
}

pub fn to_array(c: &Coordinates) -> [f64; 4] {
    [c.latitude, c.longitude, c.elevation, c.depth]
}

pub fn to_coords(a: &[f64; 4]) -> Coordinates {
    Coordinates {
        latitude: a[0],
        longitude: a[1],
        elevation: a[2],
        depth: a[3],
        azimuth: None,
        dip: None,
    }
}

/// A chunk's counts (added to the summary when it is resumed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub channel_chunks: usize,
    pub windows_kept: usize,
    pub windows_dropped: usize,
    pub pairs_missing: usize,
    pub pair_windows: usize,
    pub skipped: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Chunk {
    version: u32,
    fingerprint: String,
    label: String,
    counts: Counts,
    rows: Vec<Head>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    version: u32,
    fingerprint: String,
}

pub fn state_dir(out: &Path) -> PathBuf {
    out.join(".correlate")
}

/// A chunk's record name: its label, and the shard's `K-of-N` for a shard.
pub fn record_name(label: &str, shard: Option<Shard>) -> String {
    match shard {
        None => label.to_string(),
        Some(s) => format!("{label}.{}-of-{}", s.index, s.count),
    }
}

fn chunk_path(out: &Path, record: &str) -> PathBuf {
    state_dir(out).join("chunks").join(format!("{record}.json"))
}

/// Whether shard `s` has written anything into OUTPUT (a chunk record or its summary).
pub fn shard_started(out: &Path, s: Shard) -> bool {
    let tail = format!(".{}-of-{}.json", s.index, s.count);
    let summary = out.join(super::summary_name(Some(s)));
    std::fs::symlink_metadata(summary).is_ok()
        || std::fs::read_dir(state_dir(out).join("chunks")).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(&tail))
        })
}

/// FNV-1a over what decides a run's outputs: a resumed run must be the same run.
pub fn fingerprint(parts: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn write_json(out: &Path, path: &Path, v: &impl Serialize) -> Result<(), String> {
    let rel = path
        .parent()
        .and_then(|d| d.strip_prefix(out).ok())
        .ok_or_else(|| format!("{}: not in {}", path.display(), out.display()))?;
    // Folder by folder, never through a link (as `output::out_dir`).
    let dir = crate::write::output::real_dir(out, rel)
        .map_err(|e| format!("{}: {e}", out.join(rel).display()))?;
    let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
    crate::write::atomic::write_atomic_in(&dir, path, &bytes, "cc", true)
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub fn write_run(out: &Path, fingerprint: &str) -> Result<(), String> {
    let run = Run {
        version: VERSION,
        fingerprint: fingerprint.into(),
    };
    write_json(out, &state_dir(out).join("run.json"), &run)
}

/// The fingerprint OUTPUT's run.json holds (None: no readable run.json).
pub fn read_run(out: &Path) -> Option<String> {
    let p = state_dir(out).join("run.json");
    let bytes = crate::read::sniff::read_regular(&p, true, 4096).ok()?;
    let run: Run = serde_json::from_slice(&bytes).ok()?;
    (run.version == VERSION).then_some(run.fingerprint)
}

pub fn write_chunk(
    out: &Path,
    fingerprint: &str,
    record: &str,
    label: &str,
    counts: &Counts,
    rows: &[Head],
) -> Result<(), String> {
    let c = Chunk {
        version: VERSION,
        fingerprint: fingerprint.into(),
        label: label.into(),
        counts: counts.clone(),
        rows: rows.to_vec(),
    };
    write_json(out, &chunk_path(out, record), &c)
}

/// What a chunk's record may hold: the run's stations, the asked components, windows no more
/// than a chunk has.
pub struct Bounds<'a> {
    pub stations: &'a HashSet<&'a str>,
    pub config: &'a Config,
    pub max_windows: usize,
}

/// Bytes a row's record may take in JSON (codes of at most ~100 characters each).
const ROW_BYTES: u64 = 2048;

/// A finished chunk's counts and rows; Ok(None) when it has no record (not finished), Err
/// with the reason when the record cannot be trusted (the chunk is then redone).
pub fn read_chunk(
    out: &Path,
    fingerprint: &str,
    record: &str,
    label: &str,
    b: &Bounds,
) -> Result<Option<(Counts, Vec<Head>)>, String> {
    let p = chunk_path(out, record);
    if std::fs::symlink_metadata(&p).is_err() {
        return Ok(None);
    }
    let n = b.stations.len() as u64;
    let max_rows = n * n * b.config.components.len() as u64;
    let limit = 4096 + (max_rows + n) * ROW_BYTES;
    let bytes = crate::read::sniff::read_regular(&p, true, limit)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    let c: Chunk = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    let bad = |why: String| Err(format!("{}: {why}", p.display()));
    if c.version != VERSION || c.fingerprint != fingerprint || c.label != label {
        return bad("written by another run or version".into());
    }
    for h in &c.rows {
        if let Err(why) = check(h, b) {
            return bad(format!("row {} {}: {why}", h.source, h.receiver));
        }
    }
    if c.counts.skipped.len() > 64 * n as usize {
        return bad("more skipped channels than the run has".into());
    }
    Ok(Some((c.counts, c.rows)))
}

fn check(h: &Head, b: &Bounds) -> Result<(), String> {
    let id = |c: &[String; 3]| c.join(".");
    if !b.stations.contains(h.source.as_str()) || !b.stations.contains(h.receiver.as_str()) {
        return Err("a station not in this run".into());
    }
    if id(&h.source_codes) != h.source || id(&h.receiver_codes) != h.receiver {
        return Err("codes that are not the station's".into());
    }
    if !b.config.components.contains(&h.components) {
        return Err("components not asked for".into());
    }
    let ends = |c: &String, comp: char| {
        c.len() <= 16 && c.chars().last().map(|l| l.to_ascii_uppercase()) == Some(comp)
    };
    if !ends(&h.channels[0], h.components.0) || !ends(&h.channels[1], h.components.1) {
        return Err(format!(
            "channels {:?} for components {:?}",
            h.channels, h.components
        ));
    }
    if !(h.dt.is_finite() && h.dt > 0.0) {
        return Err(format!("dt {}", h.dt));
    }
    if h.npts == 0 || h.npts > super::config::MAX_ROW || h.zero >= h.npts {
        return Err(format!("{} lags, lag 0 at {}", h.npts, h.zero));
    }
    if h.windows == 0 || h.windows > b.max_windows || h.rows == 0 || h.rows > h.windows {
        return Err(format!("{} windows in {} rows", h.windows, h.rows));
    }
    for c in [h.source_coords, h.receiver_coords].iter().flatten() {
        let ok = c.iter().all(|v| v.is_finite()) && c[0].abs() <= 90.0 && c[1].abs() <= 720.0;
        if !ok {
            return Err(format!("coordinates {c:?}"));
        }
    }
    Ok(())
}
