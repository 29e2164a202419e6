//! A run's work on an archive: one unit per (channel, window) with data, each naming the byte
//! ranges of every file that holds records of that channel in that window (day boundaries:
//! the day before's file may end past midnight, the day after's start before it). Windows a
//! channel has no data in are listed, not failed.

use std::path::PathBuf;
use std::sync::Arc;

use super::index::{ChannelCodes, Index};
use super::windows::Window;

/// Bytes of one file to read for a unit, and the file as indexed (a file changed since is
/// refused, not read short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub path: PathBuf,
    pub offset: u64,
    pub len: u64,
    pub size: u64,
    pub mtime_ns: i64,
    /// An object's ETag, as indexed.
    pub etag: Option<String>,
}

/// One channel in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub window: Arc<Window>,
    pub codes: Arc<ChannelCodes>,
    pub pieces: Vec<Piece>,
    /// Samples of the channel in the window, as the index says (for memory admission).
    pub samples: u64,
}

impl Unit {
    /// `LABEL/NET.STA.LOC.CHA` (codes escaped): the unit's name in the journal and reports.
    pub fn key(&self) -> PathBuf {
        let (n, s, l, c) = &*self.codes;
        let e = crate::escape::escape;
        PathBuf::from(&self.window.label).join(format!("{}.{}.{}.{}", e(n), e(s), e(l), e(c)))
    }

    /// Bytes the unit reads.
    pub fn bytes(&self) -> u64 {
        self.pieces.iter().map(|p| p.len).sum()
    }
}

/// Units one run may hold (each ~200 bytes and an input name): a run asking for more is
/// refused with what to narrow, rather than held in memory.
pub const MAX_UNITS: usize = 5_000_000;

/// (window, channel) pairs without data listed; the rest are counted.
pub const EMPTY_LISTED: usize = 1000;

/// What `units` found.
pub struct Units {
    pub units: Vec<Unit>,
    /// The first [`EMPTY_LISTED`] (window, channel) pairs without data, and how many in all.
    pub empty: Vec<(Arc<Window>, Arc<ChannelCodes>)>,
    pub empty_count: usize,
}

/// The units of `windows` over `index`, window by window (then channel), and the (window,
/// channel) pairs without data; `keep` says which windows are this run's (a shard's share).
pub fn units(
    index: &Index,
    windows: &[Arc<Window>],
    keep: &dyn Fn(usize) -> bool,
) -> Result<Units, String> {
    let mut units = Vec::new();
    let mut empty = Vec::new();
    let mut empty_count = 0usize;
    let codes: Vec<Arc<ChannelCodes>> = index.channels.iter().cloned().map(Arc::new).collect();
    let longest = longest_runs(index);
    for (wi, w) in windows.iter().enumerate() {
        if !keep(wi) {
            continue;
        }
        for (ch, codes) in codes.iter().enumerate() {
            match channel_unit(index, ch, codes, longest[ch], w) {
                None => {
                    empty_count += 1;
                    if empty.len() < EMPTY_LISTED {
                        empty.push((w.clone(), codes.clone()));
                    }
                }
                Some(u) => {
                    if units.len() >= MAX_UNITS {
                        return Err(format!(
                            "the windows ask for more than {MAX_UNITS} channel windows with data; \
                             run them in parts (--start/--end, --window) or as shards (--shard K/N)"
                        ));
                    }
                    units.push(u);
                }
            }
        }
    }
    Ok(Units {
        units,
        empty,
        empty_count,
    })
}

/// Per channel, its longest run: a run overlapping a window starts at most that long before
/// the window's start.
pub fn longest_runs(index: &Index) -> Vec<i64> {
    let mut longest = vec![0i64; index.channels.len()];
    for r in &index.runs {
        let l = &mut longest[r.channel];
        *l = (*l).max(r.end_ns().saturating_sub(r.start_ns));
    }
    longest
}

/// Channel `ch`'s unit in window `w` (None: no data there); `longest` from `longest_runs`.
pub fn channel_unit(
    index: &Index,
    ch: usize,
    codes: &Arc<ChannelCodes>,
    longest: i64,
    w: &Arc<Window>,
) -> Option<Unit> {
    let runs = index.runs_of(ch);
    let mut pieces: Vec<Piece> = Vec::new();
    let mut samples = 0u64;
    // A sample's worth either side: ObsPy's nearest-sample trim may take one sample half a
    // sample outside the window.
    let first = runs.partition_point(|r| {
        r.start_ns
            < w.start_ns
                .saturating_sub(longest)
                .saturating_sub(margin(r.rate))
    });
    for r in &runs[first..] {
        let m = margin(r.rate);
        if r.start_ns > w.end_ns.saturating_add(m) {
            break;
        }
        if r.end_ns().saturating_add(m) < w.start_ns {
            continue;
        }
        let (from, to) = (r.start_ns.max(w.start_ns), r.end_ns().min(w.end_ns));
        let covered = (to.saturating_sub(from) as f64 * 1e-9 * r.rate).max(0.0);
        samples = samples.saturating_add(covered as u64 + 1);
        let (a, b) = r.bytes_for(w.start_ns.saturating_sub(m), w.end_ns.saturating_add(m));
        let f = &index.files[r.file];
        let path = index.path_of(r.file);
        // Runs of one file whose ranges meet are read as one range.
        match pieces
            .iter_mut()
            .find(|p| p.path == path && a <= p.offset + p.len && b >= p.offset)
        {
            Some(p) => {
                let end = (p.offset + p.len).max(b);
                p.offset = p.offset.min(a);
                p.len = end - p.offset;
            }
            None => pieces.push(Piece {
                path,
                offset: a,
                len: b - a,
                size: f.size,
                mtime_ns: f.mtime_ns,
                etag: f.etag.clone(),
            }),
        }
    }
    if pieces.is_empty() {
        return None;
    }
    pieces.sort_by(|a, b| (&a.path, a.offset).cmp(&(&b.path, b.offset)));
    Some(Unit {
        window: w.clone(),
        codes: codes.clone(),
        pieces,
        samples,
    })
}

/// One sample, in ns (at least 1 ns).
fn margin(rate: f64) -> i64 {
    ((1e9 / rate).ceil() as i64).max(1)
}
