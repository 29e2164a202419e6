//! The moveout of a correlation run (`seisbatch correlate`'s OUTPUT/stack): every pair's
//! stacked correlation, scaled to its own peak, by inter-station distance (SAC's dist), lag 0
//! at SAC's `o`. One component pair: ZZ where there is one, else the most common.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Pairs drawn at most (evenly chosen by distance beyond that), and files looked at.
pub const MAX_ROWS: usize = 300;
const MAX_LISTED: usize = 100_000;

/// One pair's stack.
#[derive(Debug, Clone)]
pub struct Row {
    /// SOURCE_RECEIVER (the stack's folder name).
    pub pair: String,
    pub dist_km: f64,
    /// Lag of the first sample, s.
    pub lag0: f64,
    pub delta: f64,
    /// Scaled to a peak of 1.
    pub data: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct Moveout {
    pub components: String,
    /// By distance.
    pub rows: Vec<Row>,
    /// Stacks that could not be used, with the reason.
    pub problems: Vec<String>,
}

/// The moveout of the correlation run in `dir`, if it is one (it has `stack/`).
pub fn find(dir: &Path) -> Option<Moveout> {
    let stack = dir.join("stack");
    let meta = std::fs::symlink_metadata(&stack).ok()?;
    if !meta.is_dir() {
        return None;
    }
    // stack/<PAIR>/<CS><CR>.sac, by component pair.
    let mut by: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut listed = 0usize;
    for pair in std::fs::read_dir(&stack).ok()?.flatten() {
        if !pair.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        for f in std::fs::read_dir(pair.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            listed += 1;
            if listed > MAX_LISTED {
                break;
            }
            let name = f.file_name().to_string_lossy().into_owned();
            if let (Some(c), true) = (
                name.strip_suffix(".sac"),
                f.file_type().is_ok_and(|t| t.is_file()),
            ) {
                by.entry(c.to_string()).or_default().push(f.path());
            }
        }
    }
    let components = if by.contains_key("ZZ") {
        "ZZ".to_string()
    } else {
        by.iter().max_by_key(|(_, v)| v.len())?.0.clone()
    };
    let mut files = by.remove(&components)?;
    files.sort();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        match row(&f) {
            Ok(r) => rows.push(r),
            Err(e) => problems.push(format!("{}: {e}", f.display())),
        }
    }
    rows.sort_by(|a, b| a.dist_km.total_cmp(&b.dist_km).then(a.pair.cmp(&b.pair)));
    if rows.len() > MAX_ROWS {
        let n = rows.len();
        rows = (0..MAX_ROWS)
            .map(|k| rows[k * n / MAX_ROWS].clone())
            .collect();
    }
    Some(Moveout {
        components,
        rows,
        problems,
    })
}

fn row(f: &Path) -> Result<Row, String> {
    let len = std::fs::metadata(f).map_err(|e| e.to_string())?.len();
    if len > crate::limits::max_file_bytes() {
        return Err(format!("{len} bytes: more than an input may have"));
    }
    let s = crate::read::sac::parse(&std::fs::read(f).map_err(|e| e.to_string())?)?;
    let dist_km = s.dist_km.ok_or("no dist in the SAC header")?;
    let o = s.o.ok_or("no o (lag 0) in the SAC header")?;
    let peak = s.trace.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if !(peak > 0.0 && peak.is_finite()) {
        return Err("no finite, non-zero sample".into());
    }
    Ok(Row {
        pair: f
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dist_km,
        lag0: s.b - o,
        delta: s.trace.delta(),
        data: s.trace.data.iter().map(|v| v / peak).collect(),
    })
}
