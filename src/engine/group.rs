//! Runs with a `rotate` step take a station's files from the walk together: MassDownloader
//! stores one file per channel and time chunk (`NET.STA.LOC.CHA__START__END.mseed`), sorted so
//! that a station's components of one band follow each other (all E chunks, then all N, then
//! all Z). The consecutive files of one folder whose names agree up to the component letter
//! are one station; its files are ordered by the span in their names and handed to the
//! executor as clusters of overlapping spans (each chunk with its partners), one call each
//! (`exec::grouped` then groups their traces by the codes inside, as ObsPy does, and pairs
//! components by time). A station of any number of chunks rotates whole, and only the files
//! of one cluster are in memory at once: a station was cut after 24 files, so 13 chunks of
//! E, N and Z (39 files) failed every trace with "missing component" (issue #23).
//!
//! A resumed run must rotate a half-journaled cluster whole: its journaled files are read
//! again as partners (`PARTNER`: not admitted, not committed, their results dropped), so the
//! missing ones are computed exactly as before and nothing is written twice.

use std::collections::{HashSet, VecDeque};
use std::iter::Peekable;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use super::work::{walk_failure, Ctx};
use super::{merge, Inputs};
use crate::read::tree::InputFile;
use crate::write::journal;

/// Files of one station the walk holds as paths while it orders them (a folder of a million
/// chunks of one station continues in a next station, with the same result per cluster).
pub const STATION_FILES_MAX: usize = 1 << 20;

/// The sequence number of a partner: a journaled file read again for its group.
pub const PARTNER: u64 = u64::MAX;

/// The walk, and the clusters of the station being handed out.
pub struct Walk(Mutex<(Peekable<Inputs>, VecDeque<Vec<InputFile>>)>);

impl Walk {
    pub fn new(inputs: Inputs) -> Walk {
        Walk(Mutex::new((inputs.peekable(), VecDeque::new())))
    }
}

/// Group key: the folder and `NET.STA.LOC.CH` (the channel without its last letter) of a
/// MassDownloader file name; `None` (a group of its own) for any other name.
fn key(f: &InputFile) -> Option<(&Path, String)> {
    let name = f.path.file_name()?.to_str()?;
    let codes = name.split("__").next()?;
    let parts: Vec<&str> = codes.split('.').collect();
    if parts.len() != 4 || parts[3].is_empty() || !name.contains("__") {
        return None;
    }
    let mut cha = parts[3].to_string();
    cha.pop();
    Some((
        f.path.parent()?,
        format!("{}.{}.{}.{cha}", parts[0], parts[1], parts[2]),
    ))
}

/// The span `__START__END` of a MassDownloader name (whole seconds, `%Y%m%dT%H%M%SZ`), in ns.
fn span(f: &InputFile) -> Option<(i64, i64)> {
    let name = f.path.file_name()?.to_str()?;
    let mut parts = name.split("__").skip(1);
    let start = parts.next()?;
    let end = parts.next()?.split('.').next()?;
    let t = |s: &str| -> Option<i64> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let iso = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &s[0..4],
            &s[4..6],
            &s[6..8],
            &s[9..11],
            &s[11..13],
            &s[13..15]
        );
        crate::time::parse_iso(&iso)
    };
    let (a, b) = (t(start)?, t(end)?);
    (a <= b).then_some((a, b))
}

/// A station's files as clusters of overlapping spans, in time order (files whose name has
/// no span come last, each alone). Spans that only touch (a chunk ending where the next
/// begins) are separate clusters.
fn clusters(mut files: Vec<InputFile>) -> VecDeque<Vec<InputFile>> {
    let spans: Vec<Option<(i64, i64)>> = files.iter().map(span).collect();
    let mut order: Vec<usize> = (0..files.len()).collect();
    // By start, then path (the walk's order) for a stable, input-independent result.
    order.sort_by(|&a, &b| match (spans[a], spans[b]) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| files[a].path.cmp(&files[b].path)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => files[a].path.cmp(&files[b].path),
    });
    let mut taken: Vec<Option<InputFile>> = files.drain(..).map(Some).collect();
    let mut out: VecDeque<Vec<InputFile>> = VecDeque::new();
    let mut end = i64::MIN;
    for i in order {
        let f = taken[i].take().expect("each file once");
        match spans[i] {
            Some((a, b)) if !out.is_empty() && a < end => {
                end = end.max(b);
                if let Some(last) = out.back_mut() {
                    last.push(f);
                }
            }
            Some((_, b)) => {
                end = b;
                out.push_back(vec![f]);
            }
            None => {
                end = i64::MAX; // nothing joins a file without a span
                out.push_back(vec![f]);
            }
        }
    }
    out
}

impl Ctx<'_> {
    /// The next group (one file unless the pipeline rotates), each admitted with its
    /// sequence number and size, or `PARTNER` for a file an earlier run journaled. Empty when
    /// the walk is done.
    pub fn take_group(&self, walker: &Walk) -> Vec<(u64, u64, InputFile)> {
        let Ok(mut w) = walker.0.lock() else {
            return Vec::new();
        };
        let rotate = by_station(self.segments, self.cfg);
        let journaled = |f: &InputFile| self.journaled.contains(&journal::key(&f.rel));
        let group = loop {
            let (inputs, queued) = &mut *w;
            let group = match queued.pop_front() {
                Some(g) => g,
                None if rotate => {
                    *queued = clusters(next_station(inputs, self));
                    queued.pop_front().unwrap_or_default()
                }
                None => next_file(inputs, self),
            };
            // A group every file of which an earlier run committed: nothing left to do.
            if group.is_empty() || !group.iter().all(journaled) {
                break group;
            }
        };
        // The group's own files, admitted together (`Committer::admit_group`).
        let sizes: Vec<u64> = group
            .iter()
            .filter(|f| !journaled(f))
            .map(|f| self.admission_size(f))
            .collect();
        let mut seq = self.committer.admit_group(&sizes);
        self.files.fetch_add(sizes.len(), Ordering::Relaxed);
        let mut sizes = sizes.into_iter();
        group
            .into_iter()
            .map(|f| {
                if journaled(&f) {
                    return (PARTNER, 0, f);
                }
                let bytes = sizes.next().unwrap_or(0);
                seq += 1;
                (seq - 1, bytes, f)
            })
            .collect()
    }
}

/// The next input (walk errors reported on the way), alone.
fn next_file(w: &mut Peekable<Inputs>, ctx: &Ctx) -> Vec<InputFile> {
    loop {
        match w.next() {
            None => return Vec::new(),
            Some(Err(e)) => merge(ctx.totals, walk_failure(e)),
            Some(Ok(f)) => return vec![f],
        }
    }
}

/// The consecutive files of one station (group key); walk errors reported on the way.
fn next_station(w: &mut Peekable<Inputs>, ctx: &Ctx) -> Vec<InputFile> {
    let mut station: Vec<InputFile> = Vec::new();
    loop {
        let next = match w.peek() {
            None => break,
            Some(Err(_)) => {
                if let Some(Err(e)) = w.next() {
                    merge(ctx.totals, walk_failure(e));
                }
                continue;
            }
            Some(Ok(f)) => f,
        };
        if let Some(first) = station.first() {
            let same = key(first).is_some() && key(first) == key(next);
            if !same || station.len() >= STATION_FILES_MAX {
                break;
            }
        }
        if let Some(Ok(f)) = w.next() {
            station.push(f);
        }
    }
    station
}

/// Whether the walk hands out a station's files together: for a rotate step, and for a
/// user's function (pyasdf's unit is the station: a station's components of one time reach
/// the function as one stream).
pub fn by_station(segments: &crate::exec::grouped::Segments, cfg: &super::RunConfig) -> bool {
    !segments.rotates.is_empty() || cfg.hook.is_some()
}

/// The journal's keys the walk leaves out: all of them, except in a rotate run (`take_group`
/// needs journaled files as partners).
pub fn skip_journaled(
    inputs: Inputs,
    keys: HashSet<String>,
    rotate: bool,
) -> (Inputs, HashSet<String>) {
    if rotate {
        return (inputs, keys);
    }
    let walker: Inputs = Box::new(inputs.filter(move |r| match r {
        Ok(f) => !keys.contains(&journal::key(&f.rel)),
        Err(_) => true,
    }));
    (walker, HashSet::new())
}
