//! The run: check the command line's folders and device -> open the output folder (lock,
//! identity) -> walk the inputs -> read (decode miniSEED, resolve responses) -> process each
//! trace through the steps -> commit in walk order (name, write, journal) -> report. A bad
//! trace or file is recorded with its reason and the run goes on.
//!
//! One streaming engine (`stream`) for both executors: reader threads -> executor loop(s) ->
//! writer threads, bounded queues between them; the CPU executor with one loop per job, the
//! GPU executor (which runs what the device cannot on the CPU twins) with one. `--jobs 1` on
//! the CPU is the serial debugging path (`work`). Both hand finished files to one
//! `commit::Committer`. `config` is what a run is asked, `totals` its accounting.

mod asdf;
mod commit;
mod config;
mod cpu_run;
mod devices;
mod execute;
mod gpu_run;
mod group;
pub mod hook;
pub mod memory;
mod prepare;
mod stream;
mod summary;
mod totals;
mod windows;
mod work;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use crate::read::tree::InputFile;
use crate::read::walk::{self, Survey, WalkError};
use crate::write::journal;
use crate::write::placement::Placement;
use crate::write::report::Report;
use crate::write::Format;

pub use commit::event_file;
pub use config::{Device, Layout, RunConfig, RunError, DEFAULT_GPU_MEMORY};
pub use devices::Gpus;
use execute::{execute, Shared};
use totals::{add, merge, FileOutcome, Totals};
pub use windows::ArchiveRun;

/// The run's input files in walk order (all, or one shard's).
type Inputs = Box<dyn Iterator<Item = Result<InputFile, WalkError>> + Send>;

/// The walk's folder for `--input`: the folder itself, or a single file's folder.
fn input_root(input: &Path) -> Result<PathBuf, RunError> {
    let meta = std::fs::metadata(input)
        .map_err(|e| RunError::Usage(format!("--input {}: {e}", input.display())))?;
    if meta.is_dir() {
        return Ok(input.to_path_buf());
    }
    if !meta.is_file() {
        return Err(RunError::Usage(format!(
            "--input {}: {}, not a miniSEED file or a folder",
            input.display(),
            walk::kind_of(&meta)
        )));
    }
    Ok(match input.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

/// Why a walk that found nothing found nothing.
fn nothing_found(input: &Path, survey: &Survey) -> RunError {
    let mut m = format!(
        "--input {}: no miniSEED input found; nothing was processed",
        input.display()
    );
    if survey.skipped_count > 0 {
        let reasons = crate::write::report::by_reason(
            survey
                .skipped
                .iter()
                .map(|s| (s.reason.as_str(), s.path.to_str().unwrap_or(""))),
        );
        m.push_str(&format!(" ({} path(s) skipped:", survey.skipped_count));
        for (n, reason, example) in reasons.iter().take(5) {
            m.push_str(&format!(" {n} x {reason}, e.g. {example};"));
        }
        m.pop();
        m.push(')');
    }
    RunError::Usage(m)
}

pub fn run(cfg: &RunConfig) -> Result<Report, RunError> {
    let t0 = Instant::now();
    let p = prepare::prepare(cfg)?;
    let done_files = p.done.len();
    // A rotate run: the per-trace segments between rotates, each planned on its own.
    let segments =
        crate::exec::grouped::Segments::of(&cfg.pipeline.steps, crate::trace::Holds::F32);
    let done_keys: HashSet<String> = p.done.iter().map(|e| e.key.clone()).collect();
    let by_station = group::by_station(&segments, cfg);
    let (walker, journaled) = group::skip_journaled(p.walker, done_keys, by_station);
    let mine = match &p.archive {
        Some(_) => p.survey.files,
        None => share_of_files(cfg, p.shard_totals, &p.exclude, &p.survey),
    };
    let shared = Shared::new(cfg, mine.saturating_sub(done_files), &p.done);
    let global = cfg
        .inventory
        .as_ref()
        .map(|path| shared.xml.inventory(path));
    // In flight between the walk and the commit: a few files per worker on the CPU path; on
    // the GPU path enough for two batches of 2^26 samples, bounded by input bytes.
    // On the CPU path an input is admitted with its modeled peak memory (`memory`), within
    // --memory; the GPU path bounds input bytes (its host buffers follow the device batches).
    let memory_budget = cfg.memory.unwrap_or_else(memory::default_budget);
    let (max_files, max_bytes) = match p.gpus.len() {
        0 => (4 * cfg.jobs + 8, memory_budget),
        n => (8192, (1u64 << 30).saturating_mul(n as u64)),
    };
    let committer =
        commit::Committer::new(shared.sinks(cfg, &p.out, &p.journal), max_files, max_bytes);
    carry_over(p.done, &p.root, &cfg.input, &committer, &shared.totals);
    let ctx = work::Ctx {
        cfg,
        clocks: &shared.clocks,
        xml: &shared.xml,
        global: global.as_deref(),
        events: p.events.as_ref(),
        event_xml: &shared.event_xml,
        cache: &shared.cache,
        planner: &shared.planner,
        segments: &segments,
        journaled: &journaled,
        files: &shared.files,
        totals: &shared.totals,
        committer: &committer,
        units: p.archive.as_ref().map_or(&[][..], |a| &a.units[..]),
        admit_by_memory: p.gpus.is_empty(),
    };
    if let Some(a) = &p.archive {
        for (path, problem) in &a.problems {
            let mut o = FileOutcome::default();
            o.problems.push(crate::write::report::FileProblem {
                file: path.display().to_string(),
                bytes: problem.bytes.map(|(x, y)| [x, y]),
                reason: format!("miniSEED: {}; its samples are in no window", problem.reason),
            });
            merge(&shared.totals, o);
        }
    }
    let mut warnings = opening_warnings(cfg, &p.out, p.redone, p.placement);
    let ran = execute(&ctx, &p.gpus, walker)?;
    warnings.extend(ran.notes);
    warnings.extend(close_outputs(cfg, &p.out, &p.root, &committer, &shared));
    warnings.extend(output_catalog(cfg, &p.out));
    shared.progress.finish();
    let report = summary::report(summary::Ending {
        cfg,
        totals: std::mem::take(&mut *shared.totals.lock().unwrap_or_else(|e| e.into_inner())),
        input_files: shared.files.load(Ordering::Relaxed) + done_files,
        adapter: ran.adapter,
        device_reason: p.device_reason,
        on_device: ran.on_device,
        devices: ran.devices,
        clocks: &shared.clocks,
        gpu_times: ran.gpu_times,
        responses_evaluated: shared.cache.len(),
        survey: &p.survey,
        windows: p.archive.as_ref().map(|a| windows_report(cfg, a)),
        memory: ctx
            .admit_by_memory
            .then(|| crate::write::report::MemoryReport {
                budget_bytes: memory_budget,
                peak_admitted_bytes: committer.peak_bytes(),
                bytes_per_sample_modeled: memory::PEAK_BYTES_PER_SAMPLE,
            }),
        device_warnings: warnings,
        journal_error: shared.journal_error().map(|e| (p.journal_path.clone(), e)),
        t0,
    });
    summary::write(&p.out, &report)?;
    Ok(report)
}

/// What an earlier run finished counts in this run's report, under this run's spelling of
/// the input paths; its names stay taken.
fn carry_over(
    done: Vec<journal::Entry>,
    root: &Path,
    input: &Path,
    committer: &commit::Committer,
    totals: &Mutex<Totals>,
) {
    for e in done {
        let file = root_join(root, input, &journal::path_of(&e.key));
        let mut o = FileOutcome {
            samples: e.samples,
            ok: e.ok,
            not_selected: e.not_selected,
            outputs: e.outputs,
            failures: e.failures,
            problems: e.problems,
            warnings: e.warnings,
            io_errors: 0,
            low_coverage: e.low_coverage,
        };
        for f in &mut o.failures {
            f.file = file.clone();
        }
        for p in &mut o.problems {
            p.file = file.clone();
        }
        for (dir, name, _) in e.names {
            committer.preload_name(&journal::path_of(&dir), name);
        }
        merge(totals, o);
    }
}

/// This run's share of the input files, for the progress bar: a shard's needs one more
/// counting walk (as cheap as the first: names and first bytes only).
fn share_of_files(
    cfg: &RunConfig,
    shard_totals: Option<crate::shard::Totals>,
    exclude: &walk::Exclude,
    survey: &Survey,
) -> usize {
    match (cfg.shard, shard_totals) {
        (Some(shard), Some(t)) if cfg.progress => {
            crate::shard::Sharded::new(&cfg.input, shard, t, exclude)
                .map(|s| s.filter(Result::is_ok).count())
                .unwrap_or(0)
        }
        (Some(_), _) => 0,
        (None, _) => survey.files,
    }
}

/// The warnings a run starts with: a stale lock replaced, journal entries redone, an output
/// folder inside the input.
fn opening_warnings(
    cfg: &RunConfig,
    out: &crate::write::output::OutputDir,
    redone: Vec<String>,
    placement: Placement,
) -> Vec<String> {
    let mut w: Vec<String> = out.unlocked().into_iter().cloned().collect();
    w.extend(redone);
    if placement == Placement::InsideInput {
        w.push(format!(
            "--output {} lies inside --input: it is left out of the input walk",
            cfg.output.display()
        ));
    }
    w
}

/// Closes the commit (every file written and journaled), cuts per-event files back to the
/// journal where a resumed run found them longer, converts to ASDF; the warnings of it.
fn close_outputs(
    cfg: &RunConfig,
    out: &crate::write::output::OutputDir,
    root: &Path,
    committer: &commit::Committer,
    shared: &Shared,
) -> Vec<String> {
    let (appender, clocks, totals) = (&shared.appender, &shared.clocks, &shared.totals);
    let mut warnings = Vec::new();
    let missing = committer.close();
    for (path, e) in appender.settle(out) {
        warnings.push(format!(
            "--resume: cannot cut {} back to what the journal recorded: {e}",
            path.display()
        ));
    }
    if missing > 0 {
        warnings.push(format!(
            "internal error: {missing} input file(s) never finished processing; they are not journaled, --resume processes them"
        ));
    }
    if cfg.format == Format::Asdf {
        let t = Instant::now();
        // The run's SEIS-PROV record: its steps, then the caller's own function if any.
        let steps = serde_json::to_value(&cfg.pipeline.steps)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        let function = cfg.hook.as_ref().map(|h| h.0.name());
        let provenance = crate::write::asdf::provenance::document(&steps, function.as_deref());
        let problems = match dataset_file(cfg) {
            Some(file) => {
                crate::write::asdf::dataset::convert(&crate::write::asdf::dataset::Args {
                    out,
                    input_root: root,
                    inventory: cfg.inventory.as_deref(),
                    tag: &cfg.output_tag,
                    provenance: &provenance,
                    appender,
                    file: &file,
                })
            }
            None => crate::write::asdf::convert_events(
                out,
                root,
                cfg.inventory.as_deref(),
                &cfg.output_tag,
                &provenance,
                appender,
            ),
        };
        add(&clocks.write, t);
        for p in problems {
            let mut o = FileOutcome::default();
            o.problems.push(p);
            merge(totals, o);
        }
    }
    warnings
}

/// An input's path under this run's spelling of `--input`.
fn root_join(root: &Path, input: &Path, rel: &Path) -> String {
    if std::fs::metadata(input).is_ok_and(|m| m.is_file()) && root == Path::new(".") {
        return rel.display().to_string();
    }
    root.join(rel).display().to_string()
}

/// The report's part on an archive run's windows.
fn windows_report(cfg: &RunConfig, plan: &windows::Plan) -> crate::write::report::WindowsReport {
    crate::write::report::WindowsReport {
        windows: plan.windows,
        units: plan.units.len(),
        min_coverage: cfg.archive.as_ref().map_or(0.0, |a| a.min_coverage),
        without_data_count: plan.empty_count,
        // Filled from the run's totals when the report is made (`summary`).
        below_coverage: Vec::new(),
        below_coverage_count: 0,
        without_data: plan
            .empty
            .iter()
            .map(|(w, codes)| {
                let (n, s, l, c) = &**codes;
                crate::write::report::NoData {
                    window: w.label.clone(),
                    id: format!("{n}.{s}.{l}.{c}"),
                    start: crate::time::iso(w.start_ns),
                    end: crate::time::iso(w.end_ns),
                }
            })
            .collect(),
    }
}

/// `--layout dataset`'s file in OUTPUT (one per shard).
pub(crate) fn dataset_file(cfg: &RunConfig) -> Option<String> {
    (cfg.layout == Layout::Dataset)
        .then(|| crate::write::asdf::dataset::name(cfg.shard.map(|s| (s.index, s.count))))
}

/// `OUTPUT/catalog.parquet`: the outputs indexed as an archive is (one run's folder; a
/// sharded run's shards leave it to `seisbatch index OUTPUT`, as no shard sees all outputs
/// finished). A warning if it cannot be written: the outputs stand without it.
fn output_catalog(cfg: &RunConfig, out: &crate::write::output::OutputDir) -> Option<String> {
    if cfg.shard.is_some() || cfg.format == Format::Asdf {
        return None;
    }
    let (index, formats) = crate::archive::outputs::index_outputs(&cfg.output);
    let written = crate::archive::catalog::to_bytes(&index, &|f| formats[f])
        .and_then(|b| out.write_top(CATALOG, &b).map_err(|e| e.to_string()));
    written.err().map(|e| format!("{CATALOG} not written: {e}"))
}

/// The outputs' catalog in the output folder.
pub const CATALOG: &str = "catalog.parquet";
