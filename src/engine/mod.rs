//! The run: check the command line's folders and device -> open the output folder (lock,
//! identity) -> walk the inputs -> read (decode miniSEED, resolve responses) -> process each
//! trace through the steps -> commit in walk order (name, write, journal) -> report. A bad
//! trace or file is recorded with its reason and the run goes on.
//!
//! Two paths side by side: the CPU path processes files on `--jobs` worker threads, each file
//! read -> processed -> encoded by one worker (`--jobs 1` is the serial debugging path);
//! `gpu_path` pipelines reader threads -> the device driver (which batches traces by shape and
//! falls back to the CPU path trace by trace where it must) -> writer threads, with bounded
//! queues between them. Both hand finished files to one `commit::Committer`.

mod commit;
mod convert;
mod gpu_path;
mod work;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::gpu::{self, AdapterSummary, Gpu};
use crate::inventory::XmlCache;
use crate::limits;
use crate::pipeline::Pipeline;
use crate::progress::Progress;
use crate::read::layout::InputFile;
use crate::read::mseed;
use crate::read::walk::{self, Exclude, Survey, WalkError, Walker};
use crate::response::cache::ResponseCache;
use crate::write::append::Appender;
use crate::write::journal::{self, Journal};
use crate::write::output::{OutputDir, OutputError};
use crate::write::placement::{self, Placement};
use crate::write::report::{Failure, FileProblem, Report, Skipped, StageSeconds};
use crate::write::Format;

pub use commit::event_file;

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub pipeline: Pipeline,
    pub input: PathBuf,
    pub output: PathBuf,
    pub inventory: Option<PathBuf>,
    pub format: Format,
    pub jobs: usize,
    pub device: Device,
    /// Device memory one batch may use, bytes (`--gpu-memory`).
    pub gpu_memory: u64,
    /// Progress on stderr (off with --quiet).
    pub progress: bool,
    /// Time every GPU stage with timestamp queries (`seisbatch bench`).
    pub stage_times: bool,
    /// This process's share of the inputs (`--shard`); None: all of them.
    pub shard: Option<crate::shard::Shard>,
    /// `--resume`: skip the inputs the output folder's journal lists as finished.
    pub resume: bool,
    /// `--overwrite`: run again into a folder an earlier run wrote (its journal restarts).
    pub overwrite: bool,
    /// `--layout`: one file per trace, or one miniSEED file per event folder.
    pub layout: Layout,
    /// `--gaps`: what a gap between records of one channel does.
    pub gaps: mseed::Gaps,
    /// `--max-samples`: samples one trace may hold (see `limits`).
    pub max_samples: usize,
    /// `--cpu-stages`: stages the GPU path runs through their CPU twins (debugging).
    pub cpu_stages: Vec<String>,
}

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One file per trace, named as MassDownloader names them.
    PerTrace,
    /// One multi-trace miniSEED file per event folder (`EVENT/raw/*` -> `EVENT/EVENT.mseed`),
    /// or per input file for other inputs (`dir/x.mseed` -> `dir/x.mseed`).
    PerEvent,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::PerTrace => "per-trace",
            Layout::PerEvent => "per-event",
        }
    }
}

/// `--device`: where the steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    /// A hardware GPU if wgpu finds one, else the CPU path (and the report says why).
    Auto,
    /// Any wgpu adapter, a software one included; none is a usage error.
    Gpu,
}

/// Default for `--gpu-memory`: large enough for hundreds of 20-minute traces per batch,
/// small enough for a laptop GPU.
pub const DEFAULT_GPU_MEMORY: u64 = 2 << 30;

/// Errors that stop the whole run (exit 1), or before it starts (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Fatal(String),
}

impl From<OutputError> for RunError {
    fn from(e: OutputError) -> Self {
        match e {
            OutputError::Usage(m) => RunError::Usage(m),
            OutputError::Fatal(m) => RunError::Fatal(m),
        }
    }
}

/// What one input file came to, merged into the run's totals when it is committed.
#[derive(Default)]
pub(crate) struct FileOutcome {
    /// Samples decoded from the file (progress and throughput).
    samples: u64,
    ok: usize,
    outputs: usize,
    failures: Vec<Failure>,
    problems: Vec<FileProblem>,
    warnings: Vec<String>,
    /// I/O errors that a later run may not meet: the input file could not be read (vanished,
    /// permissions) or an output could not be written (disk full, permissions). The file is
    /// then not journaled, so a --resume after the cause is fixed does it again.
    io_errors: usize,
}

/// The run's counts and entries so far, each file merged in as it is committed: memory grows
/// with failures and distinct warnings, not with the number of files.
#[derive(Default)]
pub(crate) struct Totals {
    samples: u64,
    ok: usize,
    outputs: usize,
    failures: Vec<Failure>,
    problems: Vec<FileProblem>,
    files_with_problems: usize,
    warnings: BTreeSet<String>,
}

fn merge(totals: &Mutex<Totals>, o: FileOutcome) {
    let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
    t.samples += o.samples;
    t.ok += o.ok;
    t.outputs += o.outputs;
    t.failures.extend(o.failures);
    if !o.problems.is_empty() {
        t.files_with_problems += 1;
    }
    t.problems.extend(o.problems);
    t.warnings.extend(o.warnings);
}

/// Thread-seconds per stage, summed over workers (stages overlap in wall time).
#[derive(Default)]
pub(crate) struct Clocks {
    read_decode: AtomicU64,
    process: AtomicU64,
    write: AtomicU64,
}

fn add(c: &AtomicU64, since: Instant) {
    c.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

fn secs(c: &AtomicU64) -> f64 {
    c.load(Ordering::Relaxed) as f64 * 1e-9
}

/// Peak resident set size of this process (Linux VmHWM), if known.
fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
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

/// What makes two runs the same product: a resume must match it field by field.
fn identity(cfg: &RunConfig) -> Result<serde_json::Value, RunError> {
    let real = |p: &Path, what: &str| {
        std::fs::canonicalize(p)
            .map(|r| journal::key(&r))
            .map_err(|e| RunError::Usage(format!("{what} {}: {e}", p.display())))
    };
    Ok(serde_json::json!({
        "seisbatch_version": env!("CARGO_PKG_VERSION"),
        "pipeline": cfg.pipeline.steps,
        "format": cfg.format,
        "layout": cfg.layout.name(),
        "gaps": gaps_report(cfg.gaps),
        "max_samples": cfg.max_samples,
        "input": real(&cfg.input, "--input")?,
        "inventory": match &cfg.inventory {
            Some(p) => serde_json::Value::String(real(p, "--inventory")?),
            None => serde_json::Value::Null,
        },
        "shards": cfg.shard.map(|s| s.count),
    }))
}

/// Why a resume does not match the run it resumes, naming each difference.
fn identity_difference(old: &serde_json::Value, new: &serde_json::Value) -> Option<String> {
    let what = |k: &str| match k {
        "seisbatch_version" => "the seisbatch version",
        "pipeline" => "the pipeline",
        "format" => "--format",
        "layout" => "--layout",
        "gaps" => "--gaps/--max-gap",
        "max_samples" => "--max-samples",
        "input" => "--input (resolved)",
        "inventory" => "--inventory (resolved)",
        "shards" => "the number of shards",
        _ => "a setting",
    };
    let mut diffs = Vec::new();
    for (k, v) in new.as_object()?.iter() {
        let o = &old[k.as_str()];
        if o == v {
            continue;
        }
        let detail = if k == "pipeline" {
            let (a, b) = (o.as_array(), v.as_array());
            let (a, b) = (a.map_or(&[][..], |x| x), b.map_or(&[][..], |x| x));
            match (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
                Some(i) if i < a.len() && i < b.len() => {
                    format!("step {} differs: {} there, {} now", i + 1, a[i], b[i])
                }
                _ => format!("{} steps there, {} now", a.len(), b.len()),
            }
        } else {
            format!("{o} there, {v} now")
        };
        diffs.push(format!("{} ({detail})", what(k)));
    }
    (!diffs.is_empty()).then(|| diffs.join("; "))
}

fn gaps_report(g: mseed::Gaps) -> crate::write::report::GapsReport {
    crate::write::report::GapsReport {
        policy: g.name().into(),
        max_gap_seconds: g.max_gap(),
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
    let (done, done_keys) = if cfg.resume {
        journal::load(&out.journal_path()).map_err(|e| {
            RunError::Fatal(format!(
                "cannot read the journal {}: {e}",
                out.journal_path().display()
            ))
        })?
    } else {
        (Vec::new(), HashSet::new())
    };
    let done_files = done.len();
    out.start(&identity, cfg.overwrite, cfg.resume)?;
    let journal_path = out.journal_path();
    let journal = Journal::new(out.open_state_append(&journal_path).map_err(|e| {
        RunError::Fatal(format!(
            "cannot write to the output folder: cannot open the journal {}: {e}; nothing was processed",
            journal_path.display()
        ))
    })?);

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
    let keys = done_keys;
    let walker: Inputs = Box::new(walker.filter(move |r| match r {
        Ok(f) => !keys.contains(&journal::key(&f.rel)),
        Err(_) => true,
    }));
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
    let progress = Progress::new(total_files, cfg.progress);
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
        for (dir, name) in e.names {
            committer.preload_name(&journal::path_of(&dir), name);
        }
        merge(&totals, o);
    }
    let ctx = work::Ctx {
        cfg,
        clocks: &clocks,
        xml: &xml,
        global: global.as_deref(),
        cache: &cache,
        planner: &planner,
        files: &AtomicUsize::new(0),
        totals: &totals,
        committer: &committer,
    };
    let mut device_warnings: Vec<String> = out.unlocked().into_iter().cloned().collect();
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
            let mut driver = gpu::executor::Driver::new(g, cfg.gpu_memory, &planner, &cache);
            driver.set_profile(cfg.stage_times && g.timestamps);
            driver.set_cpu_stages(&cfg.cpu_stages);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(cfg.jobs.max(1))
                .build()
                .map_err(|e| {
                    RunError::Fatal(format!("cannot start {} worker threads: {e}", cfg.jobs))
                })?;
            pool.install(|| ctx.run_gpu(walker, &mut driver));
            device_warnings.extend(driver.notes.iter().cloned());
            on_device = driver.on_device;
            gpu_times = Some((driver.host_prep, driver.cpu_fallback, driver.runner_times()));
        }
    }
    let missing = committer.close();
    if missing > 0 {
        device_warnings.push(format!(
            "internal error: {missing} input file(s) never finished processing; they are not journaled, --resume processes them"
        ));
    }
    if cfg.format == Format::Asdf {
        convert::to_asdf(cfg, &out, &root, &appender, &clocks, &totals);
    }
    progress.finish();
    let totals = std::mem::take(&mut *totals.lock().unwrap_or_else(|e| e.into_inner()));
    let mut report = Report {
        seisbatch_version: env!("CARGO_PKG_VERSION").to_string(),
        ok: totals.ok,
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
    // Files finish in any order on the parallel paths; the report lists them in input
    // order (a file's own entries keep their order: the sort is stable).
    report.failures.sort_by(|a, b| a.file.cmp(&b.file));
    report.file_problems.sort_by(|a, b| a.file.cmp(&b.file));
    report.warnings.extend(totals.warnings);
    report.failed = report.failures.len();
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
