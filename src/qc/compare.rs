//! Before and after (`run --qc`): a few of the run's outputs, each beside the raw counts of
//! the same channel and time span read from the input, for the pictures (`plot::compare`).
//! Outputs are read back as written (SAC as seisbatch writes it, miniSEED); every size comes
//! from the file and is checked against it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::archive::fetch;
use crate::archive::index::Index;
use crate::archive::units::{channel_unit, longest_runs};
use crate::archive::windows::Window;
use crate::read::join::Gaps;
use crate::trace::Trace;

/// Outputs compared at most.
pub const SAMPLE: usize = 4;
/// Files looked at when choosing them, and folder depth.
const MAX_LISTED: usize = 100_000;
const MAX_DEPTH: usize = 8;

/// One output and its raw counterpart.
pub struct Pair {
    pub file: PathBuf,
    pub raw: Trace,
    pub processed: Trace,
}

/// Up to [`SAMPLE`] outputs under `out` (evenly spaced in path order, so the same run gives the
/// same choice), each with the raw data of its channel and span from `input`.
pub fn pairs(out: &Path, input: &Index) -> (Vec<Pair>, Vec<String>) {
    let mut files = Vec::new();
    list(out, 0, &mut files);
    files.sort();
    let step = (files.len() / SAMPLE).max(1);
    let longest = longest_runs(input);
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for f in files.iter().step_by(step) {
        if pairs.len() >= SAMPLE {
            break;
        }
        let processed = match read_output(f) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        let codes = (
            processed.network.clone(),
            processed.station.clone(),
            processed.location.clone(),
            processed.channel.clone(),
        );
        let Some(ch) = input.channels.iter().position(|c| *c == codes) else {
            continue; // a channel the run made (rotated): no raw twin
        };
        let end = processed.start_ns
            + ((processed.data.len().saturating_sub(1)) as f64 * 1e9 / processed.sampling_rate)
                as i64;
        let w = Arc::new(Window {
            label: String::new(),
            start_ns: processed.start_ns,
            end_ns: end,
            event: None,
        });
        let codes = Arc::new(codes);
        let Some(unit) = channel_unit(input, ch, &codes, longest[ch], &w) else {
            continue;
        };
        match fetch::fetch(&unit, Gaps::Split, &mut Vec::new()) {
            Ok(got) => {
                if let Some(raw) = got.traces.into_iter().max_by_key(|t| t.data.len()) {
                    pairs.push(Pair {
                        file: f.clone(),
                        raw,
                        processed,
                    });
                }
            }
            Err(e) => problems.push(format!("{}: {}", e.path.display(), e.reason)),
        }
    }
    (pairs, problems)
}

/// Output files (SAC, miniSEED) under `dir`, not the run's state or reports, not through links.
fn list(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if out.len() >= MAX_LISTED {
            return;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "qc" {
            continue;
        }
        let Ok(t) = e.file_type() else { continue };
        let p = e.path();
        if t.is_dir() && depth < MAX_DEPTH {
            list(&p, depth + 1, out);
        } else if t.is_file()
            && (name.ends_with(".sac") || name.ends_with(".mseed") || name.ends_with(".ms"))
        {
            out.push(p);
        }
    }
}

/// A SAC file as seisbatch writes it (little-endian, header version 6), or a miniSEED file
/// (its first trace).
pub fn read_output(p: &Path) -> Result<Trace, String> {
    let len = std::fs::metadata(p).map_err(|e| e.to_string())?.len();
    if len > crate::limits::max_file_bytes() {
        return Err(format!("{len} bytes: more than an input may have"));
    }
    let bytes = std::fs::read(p).map_err(|e| e.to_string())?;
    if p.extension().is_some_and(|x| x == "sac") {
        return crate::read::sac::parse(&bytes).map(|s| s.trace);
    }
    let d = crate::read::mseed::read_bytes(&bytes);
    d.traces
        .into_iter()
        .next()
        .ok_or_else(|| "no miniSEED trace".to_string())
}
