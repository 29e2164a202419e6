//! The run: discover inputs -> read (decode miniSEED, resolve responses) -> process each
//! trace through the steps -> write -> report. A bad trace or file is recorded with its
//! reason and the run goes on.
//!
//! Two paths side by side: the CPU path processes files in parallel with rayon, each file
//! read -> processed -> written by one worker (`--jobs 1` is the serial debugging path);
//! `Ctx::run_gpu` pipelines reader threads -> the device driver (which batches traces by
//! shape and falls back to the CPU path trace by trace where it must) -> writer threads,
//! with bounded queues between them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::gpu::batch::{Driver, Outcome};
use crate::gpu::{self, AdapterSummary, Gpu};
use crate::inventory::{Inventories, Inventory, XmlCache};
use crate::ops::{self, ResponseSource};
use crate::pipeline::Pipeline;
use crate::progress::Progress;
use crate::read::layout::{self, InputFile};
use crate::read::mseed;
use crate::response::cache::ResponseCache;
use crate::time;
use crate::trace::Trace;
use crate::write::append::Appender;
use crate::write::journal::{self, Journal};
use crate::write::report::{Failure, Report, StageSeconds};
use crate::write::{self, Format};

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

/// The run's input files in walk order (all, or one shard's).
type Inputs = Box<dyn Iterator<Item = Result<InputFile, layout::WalkError>> + Send>;

/// The inputs to walk and how many files they hold (for the progress bar); memory stays flat:
/// the counting walks keep nothing.
fn inputs(cfg: &RunConfig) -> std::io::Result<(Inputs, usize)> {
    match cfg.shard {
        None => {
            let survey = layout::survey(&cfg.input)?;
            Ok((Box::new(layout::Walker::new(&cfg.input)?), survey.files))
        }
        Some(shard) => {
            let totals = crate::shard::totals(&cfg.input)?;
            let mine = crate::shard::Sharded::new(&cfg.input, shard, totals)?
                .filter(Result::is_ok)
                .count();
            Ok((
                Box::new(crate::shard::Sharded::new(&cfg.input, shard, totals)?),
                mine,
            ))
        }
    }
}

/// `--device`: where the steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    /// A hardware GPU if wgpu finds one, else the CPU path.
    Auto,
    /// Any wgpu adapter, a software one included; none is a warning and the CPU path.
    Gpu,
}

/// Default for `--gpu-memory`: large enough for hundreds of 20-minute traces per batch,
/// small enough for a laptop GPU.
pub const DEFAULT_GPU_MEMORY: u64 = 2 << 30;

/// Samples the GPU path gathers before handing them to the device driver (about 560
/// 20-minute 100 Hz traces, 512 MiB as f64): enough to fill large batches, bounded memory.
const BATCH_SAMPLES: usize = 1 << 26;

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
    /// Samples decoded from the file (progress and throughput).
    samples: u64,
    ok: usize,
    outputs: usize,
    failures: Vec<Failure>,
    warnings: Vec<String>,
    /// I/O errors that a later run may not meet: the input file could not be read (vanished,
    /// permissions) or an output could not be written (disk full, permissions). The file is
    /// then not journaled, so a --resume after the cause is fixed does it again.
    io_errors: usize,
    /// `--layout per-event`: the file's encoded traces, and their ids and starts, waiting to
    /// be appended to the event file when the file is complete.
    pending: Vec<u8>,
    appended: Vec<(String, String)>,
}

/// `--layout per-event`: where an input file's traces go. A MassDownloader event
/// (`EVENT/raw/x.mseed`, output folder `EVENT`) -> `OUTPUT/EVENT/EVENT.mseed`; any other
/// input -> `OUTPUT/<its folder>/<its name>.mseed`.
fn event_file(output: &Path, f: &InputFile) -> PathBuf {
    let dir = output.join(&f.out_dir);
    let in_raw = f
        .path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "raw");
    let stem = match f.out_dir.file_name() {
        Some(event) if in_raw => event.to_os_string(),
        _ => f.path.file_stem().unwrap_or_default().to_os_string(),
    };
    let mut name = stem;
    name.push(".mseed");
    dir.join(name)
}

pub fn run(cfg: &RunConfig) -> Result<Report, RunError> {
    let t0 = Instant::now();
    // Counting walks for the progress bar's total; the run walks again, lazily, so memory
    // does not grow with the number of files.
    let (walker, total_files) = inputs(cfg)
        .map_err(|e| RunError::Usage(format!("--input {}: {e}", cfg.input.display())))?;
    if let Some(inv) = &cfg.inventory {
        std::fs::metadata(inv)
            .map_err(|e| RunError::Usage(format!("--inventory {}: {e}", inv.display())))?;
    }
    let (done, done_files) = prepare_output(cfg)?;
    let walker: Inputs = Box::new(walker.filter(move |r| match r {
        Ok(f) => !done_files.contains(&f.path.display().to_string()),
        Err(_) => true,
    }));
    let total_files = total_files.saturating_sub(done.len());
    let journal_path = journal::path(&cfg.output, cfg.shard);
    let journal = Journal::open(&journal_path).map_err(|e| {
        RunError::Fatal(format!(
            "cannot write to the output folder: cannot open the journal {}: {e}; nothing was processed",
            journal_path.display()
        ))
    })?;
    let xml = XmlCache::default();
    let global = cfg.inventory.as_ref().map(|p| xml.inventory(p));
    let cache = ResponseCache::default();
    let names: Mutex<Names> = Mutex::new(Names::default());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs.max(1))
        .build()
        .map_err(|e| RunError::Fatal(format!("cannot start {} worker threads: {e}", cfg.jobs)))?;
    let progress = Progress::new(total_files, cfg.progress);
    let clocks = Clocks::default();
    let totals = Mutex::new(Totals::default());
    let ctx = Ctx {
        totals: &totals,
        clocks: &clocks,
        cfg,
        progress: &progress,
        xml: &xml,
        global: global.as_deref(),
        cache: &cache,
        names: &names,
        files: &AtomicUsize::new(done.len()),
        journal: &journal,
        journal_error: &Mutex::new(None),
        appender: &Appender::new(&done),
    };
    // What an earlier run finished counts in this run's report.
    for e in done {
        ctx.merge(FileOutcome {
            samples: e.samples,
            ok: e.ok,
            outputs: e.outputs,
            failures: e.failures,
            warnings: e.warnings,
            ..Default::default()
        });
    }
    let mut device_warnings = Vec::new();
    let gpu = match cfg.device {
        Device::Cpu => None,
        Device::Auto | Device::Gpu => {
            let want = if cfg.device == Device::Gpu {
                gpu::Want::Any
            } else {
                gpu::Want::Hardware
            };
            match Gpu::new(want) {
                Ok(g) => Some(g),
                Err(e) => {
                    if cfg.device == Device::Gpu {
                        device_warnings
                            .push(format!("--device gpu: {e}; the run used the CPU path"));
                    }
                    None
                }
            }
        }
    };
    let mut adapter: Option<AdapterSummary> = None;
    let mut on_device = 0;
    let mut gpu_times = None;
    match &gpu {
        None => {
            if cfg.jobs <= 1 {
                walker.for_each(|f| ctx.merge(ctx.process_walked(f)));
            } else {
                pool.install(|| {
                    walker
                        .par_bridge()
                        .for_each(|f| ctx.merge(ctx.process_walked(f)))
                });
            }
        }
        Some(g) => {
            adapter = Some(g.info.clone());
            let mut driver = Driver::new(g, cfg.gpu_memory);
            driver.set_profile(cfg.stage_times && g.timestamps);
            pool.install(|| ctx.run_gpu(walker, &mut driver));
            device_warnings.extend(driver.notes.iter().cloned());
            on_device = driver.on_device;
            gpu_times = Some((driver.host_prep, driver.cpu_fallback, driver.runner_times()));
        }
    }
    if cfg.format == Format::Asdf {
        ctx.convert_to_asdf();
    }
    let mut report = Report {
        seisbatch_version: env!("CARGO_PKG_VERSION").to_string(),
        ok: 0,
        failed: 0,
        failures: Vec::new(),
        outputs: 0,
        input_files: ctx.files.load(Ordering::Relaxed),
        warnings: cfg.pipeline.warnings.clone(),
        device: if adapter.is_some() { "gpu" } else { "cpu" }.into(),
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
        input_samples: 0,
        format: cfg.format.ext().into(),
        wall_seconds: 0.0,
        responses_evaluated: cache.len(),
        pipeline: cfg.pipeline.clone(),
        shard: cfg.shard,
        gaps: crate::write::report::GapsReport {
            policy: cfg.gaps.name().into(),
            max_gap_seconds: match cfg.gaps {
                mseed::Gaps::Zeros { max_gap } | mseed::Gaps::Interpolate { max_gap } => {
                    Some(max_gap)
                }
                _ => None,
            },
        },
    };
    progress.finish();
    report.warnings.extend(device_warnings);
    if let Some(e) = ctx
        .journal_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        report.warnings.push(format!(
            "cannot append to the journal {} ({e}): every output is written, but --resume would redo the files finished after that",
            journal_path.display()
        ));
    }
    let totals = std::mem::take(&mut *totals.lock().unwrap_or_else(|e| e.into_inner()));
    report.input_samples = totals.samples;
    report.ok = totals.ok;
    report.outputs = totals.outputs;
    // Files finish in any order on the parallel paths; the report lists them in input
    // order (a file's own entries keep their order: the sort is stable).
    report.failures = totals.failures;
    report.failures.sort_by(|a, b| a.file.cmp(&b.file));
    let mut trace_warnings: Vec<String> = totals.warnings.into_iter().collect();
    trace_warnings.sort();
    report.warnings.extend(trace_warnings);
    report.failed = report.failures.len();
    report.wall_seconds = t0.elapsed().as_secs_f64();
    report.peak_rss_bytes = peak_rss_bytes();
    let json = serde_json::to_vec_pretty(&report).map_err(|e| RunError::Fatal(e.to_string()))?;
    let name = cfg
        .shard
        .map_or_else(|| "report.json".to_string(), |s| s.report_name());
    write::write_atomic(&cfg.output.join(&name), &json)
        .map_err(|e| RunError::Fatal(format!("cannot write {name}: {e}")))?;
    Ok(report)
}

/// Checks the output folder against --resume/--overwrite, creates it, and returns what an
/// earlier run finished (on --resume). A run refuses a folder an earlier run wrote unless told
/// which of the two to do: silently mixing two runs' outputs is how results get lost. A shard
/// refuses only its own earlier journal or report (the other shards share the folder).
fn prepare_output(cfg: &RunConfig) -> Result<(Vec<journal::Entry>, HashSet<String>), RunError> {
    let jpath = journal::path(&cfg.output, cfg.shard);
    let report = cfg.output.join(
        cfg.shard
            .map_or_else(|| "report.json".into(), |s| s.report_name()),
    );
    if !cfg.resume && !cfg.overwrite {
        let used = match cfg.shard {
            None => std::fs::read_dir(&cfg.output).is_ok_and(|mut d| d.next().is_some()),
            Some(_) => jpath.exists() || report.exists(),
        };
        if used {
            return Err(RunError::Usage(format!(
                "--output {}: {} already ran here; add --resume to finish an interrupted run \
                 (finished inputs are skipped), or --overwrite to run it all again over it",
                cfg.output.display(),
                if cfg.shard.is_some() {
                    "this shard"
                } else {
                    "a run"
                }
            )));
        }
    }
    std::fs::create_dir_all(&cfg.output).map_err(|e| {
        RunError::Fatal(format!(
            "cannot create output folder {}: {e}",
            cfg.output.display()
        ))
    })?;
    if cfg.overwrite {
        for p in [&jpath, &report] {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(RunError::Fatal(format!(
                        "cannot remove {}: {e}",
                        p.display()
                    )))
                }
            }
        }
    }
    if cfg.resume || cfg.overwrite {
        // A killed run's temporary files; with shards, only ones no live writer can own.
        let age = cfg.shard.map(|_| std::time::Duration::from_secs(600));
        journal::remove_temporaries(&cfg.output, age);
    }
    if !cfg.resume {
        return Ok((Vec::new(), HashSet::new()));
    }
    journal::load(&jpath)
        .map_err(|e| RunError::Fatal(format!("cannot read the journal {}: {e}", jpath.display())))
}

/// Thread-seconds per stage, summed over workers (stages overlap in wall time).
#[derive(Default)]
struct Clocks {
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

/// The run's counts and entries so far, each file merged in as it finishes: memory grows
/// with failures and distinct warnings, not with the number of files.
#[derive(Default)]
struct Totals {
    samples: u64,
    ok: usize,
    outputs: usize,
    failures: Vec<Failure>,
    warnings: std::collections::BTreeSet<String>,
}

/// What every file of a run shares.
struct Ctx<'a> {
    totals: &'a Mutex<Totals>,
    clocks: &'a Clocks,
    cfg: &'a RunConfig,
    progress: &'a Progress,
    xml: &'a XmlCache,
    global: Option<&'a Inventory>,
    cache: &'a ResponseCache,
    names: &'a Mutex<Names>,
    /// Input files taken from the walk so far (and finished by an earlier run, on --resume).
    files: &'a AtomicUsize,
    journal: &'a Journal,
    /// The first failure to append to the journal (reported once as a warning).
    journal_error: &'a Mutex<Option<String>>,
    appender: &'a Appender,
}

/// One input file read: its traces, and the failures reading it already produced.
struct Decoded {
    traces: Vec<Trace>,
    out: FileOutcome,
}

impl Ctx<'_> {
    fn failure(f: &InputFile, id: String, start: String, reason: String) -> Failure {
        Failure {
            file: f.path.display().to_string(),
            id,
            start,
            reason,
        }
    }

    fn decode(&self, f: &InputFile) -> Decoded {
        let t = Instant::now();
        let d = self.decode_untimed(f);
        add(&self.clocks.read_decode, t);
        d
    }

    fn decode_untimed(&self, f: &InputFile) -> Decoded {
        let mut out = FileOutcome::default();
        let bytes = match std::fs::read(&f.path) {
            Ok(b) => b,
            Err(e) => {
                out.io_errors += 1;
                out.failures.push(Self::failure(
                    f,
                    String::new(),
                    String::new(),
                    format!("cannot read file: {e}; not journaled: --resume reads it again"),
                ));
                return Decoded {
                    traces: Vec::new(),
                    out,
                };
            }
        };
        let decoded = mseed::read_with(&bytes, self.cfg.gaps);
        for (id, start, reason) in decoded.rejected {
            out.failures
                .push(Self::failure(f, id, time::iso(start), reason));
        }
        out.warnings.extend(decoded.warnings);
        for p in decoded.problems {
            out.failures.push(Self::failure(
                f,
                String::new(),
                String::new(),
                format!("miniSEED: {p}"),
            ));
        }
        if decoded.traces.is_empty() && out.failures.is_empty() {
            out.failures.push(Self::failure(
                f,
                String::new(),
                String::new(),
                "no miniSEED waveform records in file".into(),
            ));
        }
        out.samples = decoded.traces.iter().map(|t| t.data.len() as u64).sum();
        Decoded {
            traces: decoded.traces,
            out,
        }
    }

    /// The event's own resp/ folder first, then --inventory.
    fn inventories(&self, f: &InputFile) -> Option<std::sync::Arc<Inventory>> {
        f.resp_dir.as_ref().map(|d| self.xml.inventory(d))
    }

    fn layers<'b>(&'b self, resp: &'b Option<std::sync::Arc<Inventory>>) -> Inventories<'b> {
        let mut layers = Vec::new();
        if let Some(i) = resp {
            layers.push(i.as_ref());
        }
        if let Some(g) = self.global {
            layers.push(g);
        }
        Inventories { layers }
    }

    fn merge(&self, o: FileOutcome) {
        let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        t.samples += o.samples;
        t.ok += o.ok;
        t.outputs += o.outputs;
        t.failures.extend(o.failures);
        t.warnings.extend(o.warnings);
    }

    /// A walked file through the CPU path, or the folder the walk could not read.
    fn process_walked(&self, f: Result<InputFile, layout::WalkError>) -> FileOutcome {
        match f {
            Ok(f) => {
                self.files.fetch_add(1, Ordering::Relaxed);
                let mut out = self.process_file(&f);
                self.complete(&f, &mut out);
                out
            }
            Err(e) => Self::walk_failure(e),
        }
    }

    /// A file's traces are all processed: in the per-event layout its encoded traces are
    /// appended to the event file; then it is journaled (all its outputs are in place).
    fn complete(&self, f: &InputFile, out: &mut FileOutcome) {
        let entry = |out: &FileOutcome| journal::Entry {
            file: f.path.display().to_string(),
            samples: out.samples,
            ok: out.ok,
            outputs: out.outputs,
            failures: out.failures.clone(),
            warnings: out.warnings.clone(),
            appended: None,
        };
        // Traces failed while a StationXML file they may need could not be read: retried by
        // --resume, like an unreadable input.
        if !out.failures.is_empty() && self.inventory_unreadable(f) {
            out.io_errors += 1;
            out.warnings.push(format!(
                "{}: not journaled: a StationXML file could not be read (see the failures); \
                 --resume processes it again",
                f.path.display()
            ));
        }
        let pending = std::mem::take(&mut out.pending);
        if self.per_event() && out.io_errors > 0 {
            // Not appended either: the event file must hold only journaled inputs, or the
            // --resume that redoes this one would append its traces twice.
            Self::hold_back(f, out, "not written: its input file is retried by --resume");
            return;
        }
        if self.per_event() && !pending.is_empty() {
            let path = event_file(&self.cfg.output, f);
            let t = Instant::now();
            let mut e = entry(out);
            let r = self.appender.append(&path, &pending, |end| {
                e.appended = Some((path.display().to_string(), end));
                if let Err(err) = self.journal.record(&e) {
                    self.note_journal_error(&err);
                }
            });
            add(&self.clocks.write, t);
            if let Err(e) = r {
                // Nothing of this file stays in the event file and nothing is journaled: its
                // traces are failures now, and a --resume appends them.
                Self::hold_back(f, out, &format!("append to {}: {e}", path.display()));
            }
            return;
        }
        if out.io_errors > 0 {
            return;
        }
        if let Err(err) = self.journal.record(&entry(out)) {
            self.note_journal_error(&err);
        }
    }

    /// Per event: the file's processed traces stay out of the event file, each a failure
    /// with `reason`, and nothing of the file counts as written.
    fn hold_back(f: &InputFile, out: &mut FileOutcome, reason: &str) {
        for (id, start) in std::mem::take(&mut out.appended) {
            out.failures
                .push(Self::failure(f, id, start, reason.to_string()));
        }
        out.ok = 0;
        out.outputs = 0;
    }

    /// Whether the event's inventory or `--inventory` met a file it could not read.
    fn inventory_unreadable(&self, f: &InputFile) -> bool {
        self.inventories(f).is_some_and(|i| i.unreadable)
            || self.global.is_some_and(|g| g.unreadable)
    }

    /// Traces go to one file per event: `--layout per-event`, and ASDF (gathered as
    /// per-event miniSEED, converted at the end).
    fn per_event(&self) -> bool {
        self.cfg.layout == Layout::PerEvent || self.cfg.format == Format::Asdf
    }

    /// `--format asdf`: each event's miniSEED (every one this run or the run it resumes
    /// appended to) becomes EVENT.h5, the miniSEED removed once the ASDF file is in place. A
    /// failure leaves the miniSEED (nothing is lost) and is reported.
    fn convert_to_asdf(&self) {
        for mseed in self.appender.files() {
            if !mseed.exists() {
                continue; // converted by the run this one resumes
            }
            let t = Instant::now();
            let r = std::fs::read(&mseed)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    let d = mseed::read_bytes(&bytes);
                    let xml = |net: &str, sta: &str| self.station_xml(&mseed, net, sta);
                    write::asdf::write(&write::asdf::target(&mseed), &d.traces, &xml)
                })
                .and_then(|()| std::fs::remove_file(&mseed).map_err(|e| e.to_string()));
            add(&self.clocks.write, t);
            if let Err(e) = r {
                let mut out = FileOutcome::default();
                out.failures.push(Failure {
                    file: mseed.display().to_string(),
                    id: String::new(),
                    start: String::new(),
                    reason: format!("ASDF: {e}; the event's traces stay in this miniSEED file"),
                });
                self.merge(out);
            }
        }
    }

    /// The StationXML to store beside a station's waveforms in ASDF: the event's
    /// resp/NET.STA.xml (MassDownloader), else --inventory's NET.STA.xml or the file itself.
    fn station_xml(&self, event_file: &Path, net: &str, sta: &str) -> Option<Vec<u8>> {
        let name = format!("{net}.{sta}.xml");
        let rel = event_file
            .parent()
            .and_then(|d| d.strip_prefix(&self.cfg.output).ok())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let input_root = if self.cfg.input.is_file() {
            self.cfg
                .input
                .parent()
                .unwrap_or(Path::new(""))
                .to_path_buf()
        } else {
            self.cfg.input.clone()
        };
        let mut candidates = vec![input_root.join(&rel).join("resp").join(&name)];
        if let Some(inv) = &self.cfg.inventory {
            if inv.is_file() {
                candidates.push(inv.clone());
            } else {
                candidates.push(inv.join(&name));
            }
        }
        candidates.iter().find_map(|p| std::fs::read(p).ok())
    }

    fn note_journal_error(&self, err: &std::io::Error) {
        let mut first = self.journal_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert_with(|| err.to_string());
    }

    /// A folder under --input that could not be listed: its files are not read, and the
    /// report says so (the rest of the run goes on).
    fn walk_failure(e: layout::WalkError) -> FileOutcome {
        let mut out = FileOutcome::default();
        out.failures.push(Failure {
            file: e.path.display().to_string(),
            id: String::new(),
            start: String::new(),
            reason: format!("cannot list folder: {}; its files were not read", e.error),
        });
        out
    }

    /// The CPU path for one file: decode, every trace through the steps, write.
    fn process_file(&self, f: &InputFile) -> FileOutcome {
        let Decoded { traces, mut out } = self.decode(f);
        let resp = self.inventories(f);
        let inv = self.layers(&resp);
        for mut tr in traces {
            let (id, start) = (tr.id(), time::iso(tr.start_ns));
            let t = Instant::now();
            let r = ops::run_steps(&self.cfg.pipeline.steps, &mut tr, &inv, self.cache);
            add(&self.clocks.process, t);
            self.finish(f, id, start, r.map(|w| (tr, w)), &mut out);
        }
        self.progress
            .file_done(out.ok, out.failures.len(), out.samples);
        out
    }

    /// The GPU path as a pipeline: reader threads (read, decode, find the event's
    /// inventory) -> bounded queue -> this thread, which gathers whole files until a batch
    /// worth of samples is waiting (or the readers have nothing more) and hands their traces
    /// to the device driver -> bounded queue -> writer threads. Reading and writing overlap
    /// the device; the bounded queues keep memory flat however many files there are.
    fn run_gpu(&self, walker: Inputs, driver: &mut Driver) {
        use std::sync::mpsc::{sync_channel, TryRecvError};
        let jobs = self.cfg.jobs.max(1);
        // Decoding costs ~10x what writing the (usually shorter) results does (H100 host,
        // forum chain: 38 vs 3 thread-seconds), so most threads read.
        let writers = (jobs / 8).max(1);
        let readers = jobs.saturating_sub(writers).max(1);
        let walker = Mutex::new(walker);
        // A file, its traces and failures so far, and its event inventory.
        type Read = (InputFile, Decoded, Option<std::sync::Arc<Inventory>>);
        type Done = (InputFile, FileOutcome, Vec<(Outcome, String, String)>);
        let (read_tx, read_rx) = sync_channel::<Read>(2 * readers);
        let (done_tx, done_rx) = sync_channel::<Done>(2 * writers);
        let done_rx = Mutex::new(done_rx);
        std::thread::scope(|s| {
            for _ in 0..readers {
                let tx = read_tx.clone();
                let walker = &walker;
                s.spawn(move || loop {
                    let next = match walker.lock() {
                        Ok(mut w) => w.next(),
                        Err(_) => None,
                    };
                    let f = match next {
                        None => break,
                        Some(Ok(f)) => f,
                        Some(Err(e)) => {
                            self.merge(Self::walk_failure(e));
                            continue;
                        }
                    };
                    self.files.fetch_add(1, Ordering::Relaxed);
                    let (d, inv) = (self.decode(&f), self.inventories(&f));
                    if tx.send((f, d, inv)).is_err() {
                        break;
                    }
                });
            }
            drop(read_tx);
            for _ in 0..writers {
                let rx = &done_rx;
                s.spawn(move || loop {
                    let msg = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => break,
                    };
                    let Ok((f, mut out, results)) = msg else {
                        break;
                    };
                    for (r, id, start) in results {
                        self.finish(&f, id, start, r, &mut out);
                    }
                    self.progress
                        .file_done(out.ok, out.failures.len(), out.samples);
                    self.complete(&f, &mut out);
                    self.merge(out);
                });
            }
            // The device loop: whole files until BATCH_SAMPLES are waiting. It owns the read
            // queue, so if it stops early, blocked readers see a closed queue and end.
            let read_rx = read_rx;
            let mut closed = false;
            while !closed {
                let mut files: Vec<Read> = match read_rx.recv() {
                    Ok(first) => vec![first],
                    Err(_) => break,
                };
                let mut samples: usize = files[0].1.traces.iter().map(|t| t.data.len()).sum();
                while samples < BATCH_SAMPLES {
                    match read_rx.try_recv() {
                        Ok(f) => {
                            samples += f.1.traces.iter().map(|t| t.data.len()).sum::<usize>();
                            files.push(f);
                        }
                        Err(TryRecvError::Empty) => {
                            // Readers are behind: wait a little for a fuller batch, not forever.
                            match read_rx.recv_timeout(std::time::Duration::from_millis(20)) {
                                Ok(f) => {
                                    samples +=
                                        f.1.traces.iter().map(|t| t.data.len()).sum::<usize>();
                                    files.push(f);
                                }
                                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
                                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                                    closed = true;
                                    break;
                                }
                            }
                        }
                        Err(TryRecvError::Disconnected) => {
                            closed = true;
                            break;
                        }
                    }
                }
                let resps: Vec<_> = files.iter().map(|(_, _, r)| r.clone()).collect();
                let invs: Vec<Inventories> = resps.iter().map(|r| self.layers(r)).collect();
                let mut owner = Vec::new();
                let mut traces = Vec::new();
                let mut shells = Vec::with_capacity(files.len());
                for (slot, (f, mut d, _)) in files.into_iter().enumerate() {
                    owner.extend(std::iter::repeat_n(slot, d.traces.len()));
                    traces.append(&mut d.traces);
                    shells.push((f, d.out));
                }
                let ids: Vec<(String, String)> = traces
                    .iter()
                    .map(|t| (t.id(), time::iso(t.start_ns)))
                    .collect();
                let sources: Vec<&dyn ResponseSource> = owner
                    .iter()
                    .map(|&o| &invs[o] as &dyn ResponseSource)
                    .collect();
                let results =
                    driver.process(&self.cfg.pipeline.steps, traces, &sources, self.cache);
                let mut per_file: Vec<Vec<(Outcome, String, String)>> =
                    (0..shells.len()).map(|_| Vec::new()).collect();
                for ((r, (id, st)), o) in results.into_iter().zip(ids).zip(owner) {
                    per_file[o].push((r, id, st));
                }
                for ((k, out), results) in shells.into_iter().zip(per_file) {
                    if done_tx.send((k, out, results)).is_err() {
                        closed = true;
                        break;
                    }
                }
            }
            drop(read_rx);
            drop(done_tx);
        });
    }

    /// Records a processed trace: written if every sample is finite, else a failure.
    fn finish(
        &self,
        f: &InputFile,
        id: String,
        start: String,
        result: Result<(Trace, Vec<String>), crate::error::TraceError>,
        out: &mut FileOutcome,
    ) {
        let (tr, w) = match result {
            Err(e) => {
                out.failures
                    .push(Self::failure(f, id, start, e.to_string()));
                return;
            }
            Ok(x) => x,
        };
        out.warnings
            .extend(w.into_iter().map(|w| format!("{id}: {w}")));
        if let Some(bad) = tr.data.iter().position(|v| !v.is_finite()) {
            out.failures.push(Self::failure(
                f,
                id,
                start,
                format!("result has a non-finite sample at index {bad} (NaN or Inf); not written"),
            ));
            return;
        }
        let t = Instant::now();
        if self.per_event() {
            // Appended with the rest of the file's traces once it is complete.
            out.pending.extend(write::encode(&tr, Format::Mseed));
            out.appended.push((id, start));
            out.ok += 1;
            out.outputs += 1;
            add(&self.clocks.write, t);
            return;
        }
        let path = unique_path(
            &self.cfg.output.join(&f.out_dir),
            &write::file_name(&tr, self.cfg.format),
            self.names,
        );
        let written = write::write_output(&path, &write::encode(&tr, self.cfg.format));
        add(&self.clocks.write, t);
        match written {
            Ok(()) => {
                out.ok += 1;
                out.outputs += 1;
            }
            Err(e) => {
                out.io_errors += 1;
                out.failures.push(Self::failure(
                    f,
                    id,
                    start,
                    format!(
                        "write {}: {e}; not journaled: --resume writes it again",
                        path.display()
                    ),
                ))
            }
        }
    }
}

/// Two segments that map to the same name (same id, same start and end second) must not
/// overwrite each other: the later one gets a `_2`, `_3`, ... suffix.
/// Output names taken so far, per output folder (names can only collide within one), for
/// the NAME_FOLDERS folders used most recently: the walk finishes one event folder before the
/// next (give or take the files in flight), so memory does not grow with the number of
/// folders. Names are 8-byte hashes, not paths: a hash collision between two different names
/// (odds ~n^2/2^65) would only give the second a needless `_2` suffix.
#[derive(Default)]
struct Names {
    folders: HashMap<PathBuf, (HashSet<u64>, u64)>,
    clock: u64,
}

const NAME_FOLDERS: usize = 256;

fn unique_path(dir: &Path, name: &str, names: &Mutex<Names>) -> PathBuf {
    let key = |p: &Path| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        p.hash(&mut h);
        h.finish()
    };
    let mut p = dir.join(name);
    if let Ok(mut n) = names.lock() {
        n.clock += 1;
        let now = n.clock;
        if !n.folders.contains_key(dir) && n.folders.len() >= NAME_FOLDERS {
            let oldest = n
                .folders
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(d, _)| d.clone());
            if let Some(d) = oldest {
                n.folders.remove(&d);
            }
        }
        let (set, used) = n.folders.entry(dir.to_path_buf()).or_default();
        *used = now;
        let mut k = 2;
        while set.contains(&key(&p)) {
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            p = dir.join(format!("{stem}_{k}.{ext}"));
            k += 1;
        }
        set.insert(key(&p));
    }
    p
}
