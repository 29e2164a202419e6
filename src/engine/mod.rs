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

mod commit;
mod config;
mod group;
mod stream;
mod totals;
mod work;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::gpu::{self, AdapterSummary, Gpu};
use crate::inventory::XmlCache;
use crate::limits;
use crate::progress::Progress;
use crate::read::tree::InputFile;
use crate::read::walk::{self, Exclude, Survey, WalkError, Walker};
use crate::response::cache::ResponseCache;
use crate::write::append::Appender;
use crate::write::journal::{self, Journal};
use crate::write::output::OutputDir;
use crate::write::placement::{self, Placement};
use crate::write::report::{Report, Skipped, StageSeconds};
use crate::write::Format;

pub use commit::event_file;
use config::{gaps_report, identity, identity_difference};
pub use config::{Device, Layout, RunConfig, RunError, DEFAULT_GPU_MEMORY};
use totals::{add, merge, peak_rss_bytes, secs, Clocks, FileOutcome, Totals};

/// GPU executor loops (each a `Driver` with its share of `--gpu-memory`): two, so that one
/// loop's host work between calls overlaps the other's batches on the device; one when the
/// budget is too small to split (a share must still hold batches of long traces: a
/// 20-minute 100 Hz forum-chain trace needs ~4 MB, and each loop keeps two batches and a
/// response pool in its share).
pub fn gpu_loops(budget: u64) -> usize {
    const MIN_SHARE: u64 = 256 << 20;
    if budget >= 2 * MIN_SHARE {
        2
    } else {
        1
    }
}

/// The run's input files in walk order (all, or one shard's).
type Inputs = Box<dyn Iterator<Item = Result<InputFile, WalkError>> + Send>;

/// `--device`: the GPU to use, or why the run is on the CPU path. `--device gpu` without an
/// adapter is a usage error (it ran on the CPU with exit 0 before, said only as "(CPU path)").
fn select_device(cfg: &RunConfig) -> Result<(Option<Gpu>, Option<String>), RunError> {
    match cfg.device {
        Device::Cpu => Ok((None, Some("--device cpu".into()))),
        Device::Gpu => match Gpu::new(gpu::Want::Any) {
            Ok(g) => Ok((Some(g), None)),
            Err(e) => Err(RunError::Usage(format!(
                "--device gpu: {e}; nothing was processed (--device auto runs on the CPU when there is no GPU)"
            ))),
        },
        Device::Auto => match Gpu::new(gpu::Want::Hardware) {
            Ok(g) => Ok((Some(g), None)),
            Err(e) => Ok((None, Some(format!("--device auto found no hardware GPU: {e}")))),
        },
    }
}

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
    crate::read::libmseed::install();
    limits::set_max_samples(cfg.max_samples);
    let root = input_root(&cfg.input)?;
    if let Some(inv) = &cfg.inventory {
        std::fs::metadata(inv)
            .map_err(|e| RunError::Usage(format!("--inventory {}: {e}", inv.display())))?;
    }
    let placement = placement::placement(&root, &cfg.output).map_err(RunError::Usage)?;
    let identity = identity(cfg)?;
    // --events is read whole before anything else: a bad file stops the run (exit 2) and
    // leaves the output folder as it was (it had created `.seisbatch/`, and with --overwrite
    // emptied a finished run's journal, before the file was read).
    let events = match &cfg.events {
        Some(p) => Some(
            crate::events::Events::read(p).map_err(|e| RunError::Usage(format!("--events {e}")))?,
        ),
        None => None,
    };
    let (gpu, device_reason) = select_device(cfg)?;
    // The folder is created and locked here; until `start` it is removed again if the run
    // stops (a run that fails before reading anything leaves no trace).
    let opened = OutputDir::open(&cfg.output, cfg.shard, cfg.resume, cfg.overwrite)?;
    let mut out = opened.dir;
    if let Some(old) = &opened.identity {
        if let Some(diff) = identity_difference(old, &identity) {
            return Err(RunError::Usage(format!(
                "--resume: {} holds a different run: {diff}; resume with the same settings, or use --overwrite to start over",
                cfg.output.display()
            )));
        }
    }
    // The output folder is never read, wherever the walk would meet it: inside the input, or
    // through a link from the input to it.
    let exclude = Exclude {
        output: Some(out.id),
    };
    let (survey, shard_totals) = match cfg.shard {
        None => (walk::survey(&cfg.input, &exclude), None),
        Some(_) => match crate::shard::totals(&cfg.input, &exclude) {
            Ok((t, s)) => (Ok(s), Some(t)),
            Err(e) => (Err(e), None),
        },
    };
    let survey =
        survey.map_err(|e| RunError::Usage(format!("--input {}: {e}", cfg.input.display())))?;
    if survey.files == 0 {
        return Err(nothing_found(&cfg.input, &survey));
    }
    // What the journal claims is checked against the folder before it is trusted
    // (`write::resume`): an entry whose outputs are not as it says is redone.
    let (done, redone) = if cfg.resume {
        let entries = journal::load(&out.journal_path()).map_err(|e| {
            RunError::Usage(format!(
                "--resume: {e}; resume cannot trust it (--overwrite runs everything again)"
            ))
        })?;
        let asdf = |p: &Path| crate::write::asdf::target(p);
        let converted: Option<&dyn Fn(&Path) -> PathBuf> =
            (cfg.format == Format::Asdf).then_some(&asdf);
        let r = crate::write::resume::verify(&cfg.output, entries, converted).map_err(|e| {
            RunError::Usage(format!(
                "--resume: {}: {e} (--overwrite runs everything again)",
                out.journal_path().display()
            ))
        })?;
        (r.entries, r.redone)
    } else {
        (Vec::new(), Vec::new())
    };
    let done_keys: HashSet<String> = done.iter().map(|e| e.key.clone()).collect();
    let done_files = done.len();
    // The last usage error comes before `start`, which clears an overwritten run's state.
    let walker: Inputs = match (cfg.shard, shard_totals) {
        (Some(shard), Some(t)) => Box::new(
            crate::shard::Sharded::new(&cfg.input, shard, t, &exclude)
                .map_err(|e| RunError::Usage(format!("--input {}: {e}", cfg.input.display())))?,
        ),
        _ => Box::new(
            Walker::new(&cfg.input, exclude.clone())
                .map_err(|e| RunError::Usage(format!("--input {}: {e}", cfg.input.display())))?,
        ),
    };
    out.start(&identity, cfg.overwrite, cfg.resume)?;
    let journal_path = out.journal_path();
    let journal = Journal::new(out.open_state_append(&journal_path).map_err(|e| {
        RunError::Fatal(format!(
            "cannot write to the output folder: cannot open the journal {}: {e}; nothing was processed",
            journal_path.display()
        ))
    })?);

    // A rotate run: the per-trace segments between rotates, each planned on its own.
    let segments =
        crate::exec::grouped::Segments::of(&cfg.pipeline.steps, crate::trace::Holds::F32);
    let rotate = !segments.rotates.is_empty();
    let (walker, journaled) = group::skip_journaled(walker, done_keys, rotate);
    // This shard's share, for the progress bar: one more counting walk (as cheap as the
    // first: names and first bytes only).
    let mine = match (cfg.shard, shard_totals) {
        (Some(shard), Some(t)) if cfg.progress => {
            crate::shard::Sharded::new(&cfg.input, shard, t, &exclude)
                .map(|s| s.filter(Result::is_ok).count())
                .unwrap_or(0)
        }
        (Some(_), _) => 0,
        (None, _) => survey.files,
    };
    let total_files = mine.saturating_sub(done_files);
    let xml = XmlCache::default();
    let global = cfg.inventory.as_ref().map(|p| xml.inventory(p));
    let cache = ResponseCache::default();
    let planner = crate::plan::Planner::new(&cfg.pipeline.steps);
    let progress = Progress::new(total_files, cfg.progress).watched(cfg.watch.clone());
    let clocks = Clocks::default();
    let totals = Mutex::new(Totals::default());
    let journal_error = Mutex::new(None);
    let per_event = cfg.layout == Layout::PerEvent || cfg.format == Format::Asdf;
    let appender = Appender::new(&done);
    let sinks = commit::Sinks {
        out: &out,
        layout: if per_event {
            Layout::PerEvent
        } else {
            Layout::PerTrace
        },
        journal: &journal,
        appender: &appender,
        totals: &totals,
        progress: &progress,
        write_clock: &clocks.write,
        journal_error: &journal_error,
    };
    // In flight between the walk and the commit: a few files per worker on the CPU path; on
    // the GPU path enough for two batches of 2^26 samples, bounded by input bytes.
    let (max_files, max_bytes) = match gpu {
        None => (4 * cfg.jobs + 8, u64::MAX),
        Some(_) => (8192, 1 << 30),
    };
    let committer = commit::Committer::new(sinks, max_files, max_bytes);
    // What an earlier run finished counts in this run's report, under this run's spelling of
    // the input paths; its names stay taken.
    for e in done {
        let file = root_join(&root, &cfg.input, &journal::path_of(&e.key));
        let mut o = FileOutcome {
            samples: e.samples,
            ok: e.ok,
            not_selected: e.not_selected,
            outputs: e.outputs,
            failures: e.failures,
            problems: e.problems,
            warnings: e.warnings,
            io_errors: 0,
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
        merge(&totals, o);
    }
    let event_xml = Mutex::new(std::collections::HashMap::new());
    let ctx = work::Ctx {
        cfg,
        clocks: &clocks,
        xml: &xml,
        global: global.as_deref(),
        events: events.as_ref(),
        event_xml: &event_xml,
        cache: &cache,
        planner: &planner,
        segments: &segments,
        journaled: &journaled,
        files: &AtomicUsize::new(0),
        totals: &totals,
        committer: &committer,
    };
    let mut device_warnings: Vec<String> = out.unlocked().into_iter().cloned().collect();
    device_warnings.extend(redone);
    if placement == Placement::InsideInput {
        device_warnings.push(format!(
            "--output {} lies inside --input: it is left out of the input walk",
            cfg.output.display()
        ));
    }
    let mut adapter: Option<AdapterSummary> = None;
    let mut on_device = 0;
    let mut gpu_times = None;
    match &gpu {
        None => ctx.run_cpu(walker),
        Some(g) => {
            adapter = Some(g.info.clone());
            // GPU_LOOPS drivers, each with its share of the memory budget, each on its own
            // executor loop: while one gathers files, prepares and uploads its batches or
            // waits for its last batch, the other's batches keep the device busy (one driver
            // drains the device at the end of every call).
            let loops = gpu_loops(cfg.gpu_memory);
            // A rotate run: a driver per segment in each loop (the segment's share of it).
            let planners: Vec<&crate::plan::Planner> = if rotate {
                segments.planners().collect()
            } else {
                vec![&planner]
            };
            let per_loop = planners.len().max(1);
            let mut drivers: Vec<gpu::executor::Driver> = (0..loops)
                .flat_map(|_| planners.iter().copied())
                .map(|p| {
                    let share = cfg.gpu_memory / (loops * per_loop) as u64;
                    let mut d = gpu::executor::Driver::new(g, share, p, &cache);
                    d.set_profile(cfg.stage_times && g.timestamps);
                    d.set_cpu_stages(&cfg.cpu_stages);
                    d
                })
                .collect();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(cfg.jobs.max(1))
                .build()
                .map_err(|e| {
                    RunError::Fatal(format!("cannot start {} worker threads: {e}", cfg.jobs))
                })?;
            // One executor per loop: its driver, or a rotate run's segments' drivers.
            let mut execs: Vec<Box<dyn crate::exec::Executor + Send + '_>> = drivers
                .chunks_mut(per_loop)
                .map(|chunk| -> Box<dyn crate::exec::Executor + Send + '_> {
                    if !rotate {
                        Box::new(&mut chunk[0])
                    } else {
                        let mut mine = chunk.iter_mut();
                        Box::new(segments.grouped(|_| match mine.next() {
                            Some(d) => Box::new(d),
                            None => unreachable!("one driver per segment"),
                        }))
                    }
                })
                .collect();
            let mut first = execs.remove(0);
            let more: Vec<Box<dyn crate::exec::Executor + Send>> = execs
                .iter_mut()
                .map(|e| {
                    Box::new(crate::exec::InPool {
                        pool: &pool,
                        exec: &mut **e,
                    }) as Box<dyn crate::exec::Executor + Send>
                })
                .collect();
            pool.install(|| {
                ctx.run_stream(
                    walker,
                    &mut *first,
                    more,
                    &stream::Feed::gpu(cfg.jobs.max(1)),
                )
            });
            drop(first);
            drop(execs);
            let mut times = (0.0, 0.0, gpu::runner::RunnerTimes::default());
            for (i, d) in drivers.iter().enumerate() {
                device_warnings.extend(d.notes.iter().cloned());
                // A rotate run's trace passes each segment's driver: counted once, at the first.
                if i % per_loop == 0 {
                    on_device += d.on_device;
                }
                let t = d.runner_times();
                times.0 += d.host_prep;
                times.1 += d.cpu_fallback;
                times.2.upload_and_record += t.upload_and_record;
                times.2.device += t.device;
                times.2.kernels += t.kernels;
                times.2.readback += t.readback;
                times.2.batches += t.batches;
            }
            gpu_times = Some(times);
        }
    }
    let missing = committer.close();
    for (path, e) in appender.settle(&out) {
        device_warnings.push(format!(
            "--resume: cannot cut {} back to what the journal recorded: {e}",
            path.display()
        ));
    }
    if missing > 0 {
        device_warnings.push(format!(
            "internal error: {missing} input file(s) never finished processing; they are not journaled, --resume processes them"
        ));
    }
    if cfg.format == Format::Asdf {
        let t = Instant::now();
        let problems =
            crate::write::asdf::convert_events(&out, &root, cfg.inventory.as_deref(), &appender);
        add(&clocks.write, t);
        for p in problems {
            let mut o = FileOutcome::default();
            o.problems.push(p);
            merge(&totals, o);
        }
    }
    progress.finish();
    let totals = std::mem::take(&mut *totals.lock().unwrap_or_else(|e| e.into_inner()));
    let mut report = Report {
        seisbatch_version: env!("CARGO_PKG_VERSION").to_string(),
        ok: totals.ok,
        traces_not_selected: totals.not_selected,
        failed: 0,
        failures: totals.failures,
        file_problems: totals.problems,
        files_with_problems: totals.files_with_problems,
        skipped: Vec::new(),
        skipped_count: 0,
        outputs: totals.outputs,
        input_files: ctx.files.load(Ordering::Relaxed) + done_files,
        warnings: cfg.pipeline.warnings.clone(),
        device: if adapter.is_some() { "gpu" } else { "cpu" }.into(),
        device_reason: if adapter.is_some() {
            None
        } else {
            device_reason
        },
        adapter,
        traces_on_device: on_device,
        stage_seconds: StageSeconds {
            read_decode: secs(&clocks.read_decode),
            process_cpu: secs(&clocks.process) + gpu_times.map_or(0.0, |g| g.1),
            gpu_host_prep: gpu_times.map_or(0.0, |g| g.0),
            gpu_upload_and_record: gpu_times.map_or(0.0, |g| g.2.upload_and_record),
            gpu_device: gpu_times.map_or(0.0, |g| g.2.device),
            gpu_kernels: gpu_times.map_or(0.0, |g| g.2.kernels),
            gpu_readback: gpu_times.map_or(0.0, |g| g.2.readback),
            gpu_batches: gpu_times.map_or(0, |g| g.2.batches),
            write: secs(&clocks.write),
        },
        peak_rss_bytes: None,
        input_samples: totals.samples,
        format: cfg.format.ext().into(),
        wall_seconds: 0.0,
        responses_evaluated: cache.len(),
        pipeline: cfg.pipeline.clone(),
        shard: cfg.shard,
        gaps: gaps_report(cfg.gaps),
    };
    // Skipped paths are reported once: by the run, or by shard 0 of a sharded run.
    if cfg.shard.is_none_or(|s| s.index == 0) {
        report.skipped_count = survey.skipped_count;
        report.skipped = survey
            .skipped
            .iter()
            .map(|s| Skipped {
                path: s.path.display().to_string(),
                reason: s.reason.clone(),
            })
            .collect();
    }
    report.warnings.extend(device_warnings);
    if let Some(e) = journal_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        report.warnings.push(format!(
            "cannot append to the journal {} ({e}): every output is written, but --resume would redo the files finished after that",
            journal_path.display()
        ));
    }
    report.warnings.extend(totals.warnings);
    report.settle();
    report.wall_seconds = t0.elapsed().as_secs_f64();
    report.peak_rss_bytes = peak_rss_bytes();
    let json = serde_json::to_vec_pretty(&report).map_err(|e| RunError::Fatal(e.to_string()))?;
    let name = out.report_name();
    out.write_top(&name, &json)
        .map_err(|e| RunError::Fatal(format!("cannot write {name}: {e}")))?;
    Ok(report)
}

/// An input's path under this run's spelling of `--input`.
fn root_join(root: &Path, input: &Path, rel: &Path) -> String {
    if std::fs::metadata(input).is_ok_and(|m| m.is_file()) && root == Path::new(".") {
        return rel.display().to_string();
    }
    root.join(rel).display().to_string()
}
