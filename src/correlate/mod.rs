//! `seisbatch correlate`: ambient-noise cross-correlation of an archive, NoisePy's S1 step on
//! the CPU path (issue #27). Per chunk of `inc_hours` (a day by default: the archive windows
//! of `run --segment`), every channel's data read as one trace (gaps zero-filled as NoisePy's
//! `merge(fill_value=0)`; a chunk less than 70 % covered is skipped, NoisePy's 30 % gap
//! rule), cut into windows, normalised and transformed once (`station`); then every pair of
//! stations and requested component pair correlated over the windows both kept (`pairs`),
//! written per chunk and stacked over the run (`output`). Chunks run one after another, the
//! channels of a chunk in parallel; a chunk's spectra are bounded by `--memory`.

pub mod config;
mod output;
mod pairs;
mod station;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::archive::{self, units, windows::Request};
pub use config::Config;
use station::Spectra;

/// What `correlate` is given.
pub struct Args {
    pub config: Config,
    /// An archive folder, or a catalog of one (`seisbatch index`).
    pub input: Option<PathBuf>,
    pub catalog: Option<PathBuf>,
    pub output: PathBuf,
    /// StationXML (file or folder) for the pairs' coordinates: distances in the headers and
    /// `max_distance_km`.
    pub inventory: Option<PathBuf>,
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
    /// Bytes a chunk's spectra may take.
    pub memory: u64,
}

/// Channel-chunks or pairs left out, and why (the first `LISTED`; all counted).
pub const LISTED: usize = 1000;

/// What a run did (OUTPUT/correlate.json).
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub chunks: usize,
    pub channel_chunks: usize,
    pub windows_kept: usize,
    /// Windows whose max |x| was at or above max_over_std times the chunk's std.
    pub windows_dropped: usize,
    pub correlations: usize,
    pub files_written: usize,
    /// Channel-chunks not used: (chunk, channel, reason).
    pub skipped: Vec<(String, String, String)>,
    pub skipped_count: usize,
    /// Station and component pairs without a window both kept (or without a channel).
    pub pairs_missing: usize,
    /// The sign convention, said in every summary.
    pub convention: &'static str,
    /// Seconds spent reading and transforming channels, and correlating and writing pairs
    /// (the benchmark's two rates: station-chunks and pair-windows per second).
    pub seconds_spectra: f64,
    pub seconds_pairs: f64,
    /// Pair-windows correlated (each correlation's windows).
    pub pair_windows: usize,
}

impl Summary {
    fn skip(&mut self, chunk: &str, channel: &str, why: String) {
        self.skipped_count += 1;
        if self.skipped.len() < LISTED {
            self.skipped.push((chunk.into(), channel.into(), why));
        }
    }
}

pub const CONVENTION: &str = "c(tau) = sum_t s(t) r(t + tau), s the source (first station of \
the pair, alphabetical), r the receiver: noise reaching r d seconds after s peaks at +d; SAC's \
o marks lag 0";

pub fn run(a: &Args) -> Result<Summary, String> {
    let index = match (&a.input, &a.catalog) {
        (_, Some(c)) => archive::catalog::read(c)?,
        (Some(i), None) => {
            let (files, _) = archive::files(i, &Default::default())
                .map_err(|e| format!("{}: {e}", i.display()))?;
            archive::index::Index::build(i, &files, &|_, _, _| None)
        }
        (None, None) => return Err("give --input ARCHIVE or --catalog CATALOG".into()),
    };
    let p = &a.config.noise;
    let chunk_s = p.inc_hours * 3600.0;
    let request = Request::Segments {
        length_s: chunk_s,
        step_s: chunk_s,
        start_ns: a.start_ns,
        end_ns: a.end_ns,
    };
    let windows: Vec<Arc<archive::windows::Window>> = request
        .windows(None, archive::extent(&index))?
        .into_iter()
        .map(Arc::new)
        .collect();
    let found = units::units(&index, &windows, &|_| true)?;
    // Every station of the run: a pair one of them misses in a chunk is counted there.
    let mut stations: Vec<String> = found
        .units
        .iter()
        .map(|u| format!("{}.{}.{}", u.codes.0, u.codes.1, u.codes.2))
        .collect();
    stations.sort();
    stations.dedup();
    let inventory = a
        .inventory
        .as_ref()
        .map(|p| crate::inventory::XmlCache::default().inventory(p));
    if let Some(inv) = &inventory {
        if let Some((f, e)) = inv.errors.first() {
            return Err(format!("--inventory {}: {e}", f.display()));
        }
    }
    // Every refusal above leaves OUTPUT as it was.
    prepare_output(&a.output)?;
    let mut summary = Summary {
        convention: CONVENTION,
        ..Default::default()
    };
    let mut stacks = output::Stacks::default();
    // Units come window by window (`units::units`): each run of one window is a chunk.
    for todo in found
        .units
        .chunk_by(|a, b| Arc::ptr_eq(&a.window, &b.window))
    {
        let w = &todo[0].window;
        summary.chunks += 1;
        // The spectra this chunk will hold, from the index's samples, before any is made.
        let need: u64 = todo.iter().map(|u| station::bytes_for(u, &a.config)).sum();
        if need > a.memory {
            return Err(format!(
                "chunk {}: the channels' spectra would take {need} bytes, more than --memory allows ({}); use a shorter inc_hours or fewer channels",
                w.label, a.memory
            ));
        }
        let t = std::time::Instant::now();
        let got: Vec<Result<Spectra, (String, String)>> = todo
            .par_iter()
            .map_init(Vec::new, |buf, u| station::spectra(u, &a.config, buf))
            .collect();
        let mut spectra = Vec::new();
        for g in got {
            match g {
                Ok(s) => {
                    summary.windows_kept += s.kept();
                    summary.windows_dropped += s.dropped;
                    spectra.push(s);
                }
                Err((id, why)) => summary.skip(&w.label, &id, why),
            }
        }
        let bytes: u64 = spectra.iter().map(Spectra::bytes).sum();
        if bytes > a.memory {
            return Err(format!(
                "chunk {}: the channels' spectra take {bytes} bytes, more than --memory allows ({}); use a shorter inc_hours or fewer channels",
                w.label, a.memory
            ));
        }
        summary.channel_chunks += spectra.len();
        summary.seconds_spectra += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let day = pairs::correlate_all(
            &spectra,
            &stations,
            &a.config,
            inventory.as_deref(),
            w.start_ns,
        )?;
        summary.pairs_missing += day.missing;
        summary.correlations += day.rows.len();
        summary.pair_windows += day.rows.iter().map(|r| r.windows).sum::<usize>();
        summary.files_written += output::write_chunk(&a.output, w, &day, &a.config)?;
        stacks.add(&day);
        summary.seconds_pairs += t.elapsed().as_secs_f64();
    }
    summary.files_written += stacks.write(&a.output, &a.config, windows.first())?;
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    crate::write::atomic::write_atomic_in(
        &a.output,
        &a.output.join("correlate.json"),
        &json,
        "cc",
        true,
    )
    .map_err(|e| format!("{}: {e}", a.output.display()))?;
    Ok(summary)
}

/// The output folder: created, or an empty one; a folder holding anything is refused (a run
/// never mixes its files with others').
fn prepare_output(out: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(out) {
        Ok(m) if m.is_dir() => {
            let mut entries =
                std::fs::read_dir(out).map_err(|e| format!("{}: {e}", out.display()))?;
            if entries.next().is_some() {
                return Err(format!(
                    "{}: exists and is not empty; give a new or empty folder",
                    out.display()
                ));
            }
            Ok(())
        }
        Ok(_) => Err(format!("{}: exists and is not a folder", out.display())),
        Err(_) => std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display())),
    }
}
