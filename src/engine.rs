//! The run: discover inputs -> read (decode miniSEED, resolve responses) -> process each
//! trace through the steps -> write -> report. Files are processed in parallel with rayon;
//! `--jobs 1` is the serial debugging path. A bad trace or file is recorded with its
//! reason and the run goes on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::inventory::{Inventories, XmlCache};
use crate::ops;
use crate::pipeline::Pipeline;
use crate::read::layout::{self, InputFile};
use crate::read::mseed;
use crate::response::cache::ResponseCache;
use crate::time;
use crate::write::report::{Failure, Report};
use crate::write::{self, Format};

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub pipeline: Pipeline,
    pub input: PathBuf,
    pub output: PathBuf,
    pub inventory: Option<PathBuf>,
    pub format: Format,
    pub jobs: usize,
}

/// Errors that stop the whole run (exit 1), or before it starts (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Fatal(String),
}

#[derive(Default)]
struct FileOutcome {
    ok: usize,
    outputs: usize,
    failures: Vec<Failure>,
    warnings: Vec<String>,
}

pub fn run(cfg: &RunConfig) -> Result<Report, RunError> {
    let t0 = Instant::now();
    let inputs = layout::discover(&cfg.input)
        .map_err(|e| RunError::Usage(format!("--input {}: {e}", cfg.input.display())))?;
    if let Some(inv) = &cfg.inventory {
        std::fs::metadata(inv)
            .map_err(|e| RunError::Usage(format!("--inventory {}: {e}", inv.display())))?;
    }
    std::fs::create_dir_all(&cfg.output).map_err(|e| {
        RunError::Fatal(format!(
            "cannot create output folder {}: {e}",
            cfg.output.display()
        ))
    })?;
    let xml = XmlCache::default();
    let global = cfg.inventory.as_ref().map(|p| xml.inventory(p));
    let cache = ResponseCache::default();
    let names: Mutex<HashSet<PathBuf>> = Mutex::new(HashSet::new());
    let process = |f: &InputFile| -> FileOutcome {
        let resp_inv = f.resp_dir.as_ref().map(|d| xml.inventory(d));
        let mut layers = Vec::new();
        if let Some(i) = &resp_inv {
            layers.push(i.as_ref());
        }
        if let Some(g) = &global {
            layers.push(g.as_ref());
        }
        process_file(cfg, f, &Inventories { layers }, &cache, &names)
    };
    let outcomes: Vec<FileOutcome> = if cfg.jobs <= 1 {
        inputs.iter().map(process).collect()
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.jobs)
            .build()
            .map_err(|e| {
                RunError::Fatal(format!("cannot start {} worker threads: {e}", cfg.jobs))
            })?;
        pool.install(|| inputs.par_iter().map(process).collect())
    };
    let mut report = Report {
        seisbatch_version: env!("CARGO_PKG_VERSION").to_string(),
        ok: 0,
        failed: 0,
        failures: Vec::new(),
        outputs: 0,
        input_files: inputs.len(),
        warnings: cfg.pipeline.warnings.clone(),
        device: "cpu".into(),
        format: cfg.format.ext().into(),
        wall_seconds: 0.0,
        responses_evaluated: cache.len(),
        pipeline: cfg.pipeline.clone(),
    };
    let mut seen_warnings = HashSet::new();
    for o in outcomes {
        report.ok += o.ok;
        report.outputs += o.outputs;
        report.failures.extend(o.failures);
        for w in o.warnings {
            if seen_warnings.insert(w.clone()) {
                report.warnings.push(w);
            }
        }
    }
    report.failed = report.failures.len();
    report.wall_seconds = t0.elapsed().as_secs_f64();
    let json = serde_json::to_vec_pretty(&report).map_err(|e| RunError::Fatal(e.to_string()))?;
    write::write_atomic(&cfg.output.join("report.json"), &json)
        .map_err(|e| RunError::Fatal(format!("cannot write report.json: {e}")))?;
    Ok(report)
}

fn process_file(
    cfg: &RunConfig,
    f: &InputFile,
    inv: &Inventories,
    cache: &ResponseCache,
    names: &Mutex<HashSet<PathBuf>>,
) -> FileOutcome {
    let mut out = FileOutcome::default();
    let file = f.path.display().to_string();
    let fail = |id: String, start: String, reason: String| Failure {
        file: file.clone(),
        id,
        start,
        reason,
    };
    let bytes = match std::fs::read(&f.path) {
        Ok(b) => b,
        Err(e) => {
            out.failures.push(fail(
                String::new(),
                String::new(),
                format!("cannot read file: {e}"),
            ));
            return out;
        }
    };
    let decoded = mseed::read_bytes(&bytes);
    for p in decoded.problems {
        out.failures
            .push(fail(String::new(), String::new(), format!("miniSEED: {p}")));
    }
    if decoded.traces.is_empty() && out.failures.is_empty() {
        out.failures.push(fail(
            String::new(),
            String::new(),
            "no miniSEED waveform records in file".into(),
        ));
    }
    for mut tr in decoded.traces {
        let id = tr.id();
        let start = time::iso(tr.start_ns);
        match ops::run_steps(&cfg.pipeline.steps, &mut tr, inv, cache) {
            Err(e) => out.failures.push(fail(id, start, e.to_string())),
            Ok(w) => {
                out.warnings
                    .extend(w.into_iter().map(|w| format!("{id}: {w}")));
                if let Some(bad) = tr.data.iter().position(|v| !v.is_finite()) {
                    out.failures.push(fail(
                        id,
                        start,
                        format!("result has a non-finite sample at index {bad} (NaN or Inf); not written"),
                    ));
                    continue;
                }
                let path = unique_path(
                    &cfg.output.join(&f.out_dir),
                    &write::file_name(&tr, cfg.format),
                    names,
                );
                match write::write_atomic(&path, &write::encode(&tr, cfg.format)) {
                    Ok(()) => {
                        out.ok += 1;
                        out.outputs += 1;
                    }
                    Err(e) => {
                        out.failures
                            .push(fail(id, start, format!("write {}: {e}", path.display())))
                    }
                }
            }
        }
    }
    out
}

/// Two segments that map to the same name (same id, same start and end second) must not
/// overwrite each other: the later one gets a `_2`, `_3`, ... suffix.
fn unique_path(dir: &Path, name: &str, names: &Mutex<HashSet<PathBuf>>) -> PathBuf {
    let mut p = dir.join(name);
    if let Ok(mut set) = names.lock() {
        let mut k = 2;
        while set.contains(&p) {
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            p = dir.join(format!("{stem}_{k}.{ext}"));
            k += 1;
        }
        set.insert(p.clone());
    }
    p
}
