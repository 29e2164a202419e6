//! A run's outputs indexed as an archive is (`OUTPUT/catalog.parquet`), so the next tool in
//! a chain can query what was written: miniSEED outputs by their record headers, SAC outputs
//! by their header (one row each: times and rate as ObsPy reads them from the file, the
//! samples at byte 632). The run's own state (`.seisbatch/`), reports and unfinished files
//! are left out.

use std::path::{Path, PathBuf};

use super::index::{index_file, FileEntry, FileRuns, Index, Run};

/// Output files a catalog lists at most (more are counted, not listed).
pub const MAX_FILES: usize = 10_000_000;

/// The index of the outputs under `root`, and each file's format ("mseed" or "sac").
pub fn index_outputs(root: &Path) -> (Index, Vec<&'static str>) {
    let mut files = Vec::new();
    collect(root, &mut files, 0);
    files.sort();
    let mut parts = Vec::new();
    let mut formats = Vec::new();
    for (path, format) in files {
        let part = match format {
            "sac" => sac_part(root, &path),
            _ => Some(index_file(root, &path)),
        };
        if let Some(p) = part.filter(|p| !p.runs.is_empty()) {
            parts.push(p);
            formats.push(format);
        }
    }
    (Index::from_parts(root, parts), formats)
}

/// Output files below `dir` by extension (folders at most 16 deep: the layout is 2).
fn collect(dir: &Path, out: &mut Vec<(PathBuf, &'static str)>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if out.len() >= MAX_FILES {
            return;
        }
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue; // .seisbatch/ state, temporary names
        }
        match e.file_type() {
            Ok(t) if t.is_dir() && depth < 16 => collect(&p, out, depth + 1),
            Ok(t) if t.is_file() => {
                if name.ends_with(".sac") {
                    out.push((p, "sac"));
                } else if name.ends_with(".mseed") {
                    out.push((p, "mseed"));
                }
            }
            _ => {}
        }
    }
}

/// A SAC file's one row, from its 632-byte header (little-endian, as seisbatch writes it).
fn sac_part(root: &Path, path: &Path) -> Option<FileRuns> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let meta = f.metadata().ok()?;
    let mut h = [0u8; 632];
    f.take(632).read_exact(&mut h).ok()?;
    let fl = |k: usize| f32::from_le_bytes(h[4 * k..4 * k + 4].try_into().unwrap_or([0; 4]));
    let int = |k: usize| {
        let at = 280 + 4 * k;
        i32::from_le_bytes(h[at..at + 4].try_into().unwrap_or([0; 4]))
    };
    let word = |slot: usize| {
        let at = 440 + 8 * slot;
        let s = String::from_utf8_lossy(&h[at..at + 8])
            .trim_end()
            .to_string();
        if s == "-12345" {
            String::new()
        } else {
            s
        }
    };
    // As ObsPy reads it: the float32 delta rounded to a microsecond (`round(delta, 6)`,
    // round_sampling_interval=True), the rate its inverse.
    let raw = f64::from(fl(0));
    let delta: f64 = format!("{raw:.6}").parse().unwrap_or(raw);
    let npts = int(9);
    if !(delta.is_finite() && delta > 0.0) || npts <= 0 || meta.len() < 632 + 4 * npts as u64 {
        return None;
    }
    let rate = 1.0 / delta;
    crate::limits::rate_problem(rate).is_none().then_some(())?;
    let (year, jday) = (i64::from(int(0)), int(1));
    let days = crate::time::days_from_civil(year, 1, 1) + i64::from(jday) - 1;
    let secs = i64::from(int(2)) * 3600 + i64::from(int(3)) * 60 + i64::from(int(4));
    let reference = days
        .checked_mul(86_400)?
        .checked_add(secs)?
        .checked_mul(1_000_000_000)?
        .checked_add(i64::from(int(5)) * 1_000_000)?;
    let start_ns = crate::time::add_seconds(reference, f64::from(fl(5)));
    crate::limits::span_problem(start_ns, npts as usize, rate)
        .is_none()
        .then_some(())?;
    let rel = path.strip_prefix(root).ok()?.to_path_buf();
    Some(FileRuns {
        entry: FileEntry {
            rel,
            size: meta.len(),
            mtime_ns: super::index::mtime_ns(&meta),
            etag: None,
        },
        runs: vec![(
            (word(21), word(0), word(3), word(20)),
            Run {
                file: 0,
                channel: 0,
                rate,
                start_ns,
                npts: npts as u64,
                foff: 632,
                nbytes: 4 * npts as u64,
                records: 1,
                encoding: 4,
                marks: vec![(start_ns, 632)],
            },
        )],
        problems: Vec::new(),
    })
}
