//! The run: discover inputs -> read (decode miniSEED, resolve responses) -> process each
//! trace through the steps -> write -> report. A bad trace or file is recorded with its
//! reason and the run goes on.
//!
//! Two paths side by side: `run_cpu` processes files in parallel with rayon (`--jobs 1` is the
//! serial debugging path); `run_gpu` reads a chunk of files in parallel, hands all their
//! traces to the device driver (which batches them by shape and falls back to the CPU path
//! trace by trace where it must), then writes them in parallel. Issue #4 pipelines the
//! chunks; here they alternate.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::gpu::{self, batch::Driver, AdapterSummary, Gpu};
use crate::inventory::{Inventories, Inventory, XmlCache};
use crate::ops::{self, ResponseSource};
use crate::pipeline::Pipeline;
use crate::read::layout::{self, InputFile};
use crate::read::mseed;
use crate::response::cache::ResponseCache;
use crate::time;
use crate::trace::Trace;
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
    pub device: Device,
    /// Device memory one batch may use, bytes (`--gpu-memory`).
    pub gpu_memory: u64,
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

/// Input bytes read per chunk on the GPU path before its traces go to the device.
const CHUNK_BYTES: u64 = 64 << 20;

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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs.max(1))
        .build()
        .map_err(|e| RunError::Fatal(format!("cannot start {} worker threads: {e}", cfg.jobs)))?;
    let ctx = Ctx {
        cfg,
        xml: &xml,
        global: global.as_deref(),
        cache: &cache,
        names: &names,
    };
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
    let outcomes: Vec<FileOutcome> = match &gpu {
        None => {
            if cfg.jobs <= 1 {
                inputs.iter().map(|f| ctx.process_file(f)).collect()
            } else {
                pool.install(|| inputs.par_iter().map(|f| ctx.process_file(f)).collect())
            }
        }
        Some(g) => {
            adapter = Some(g.info.clone());
            let mut driver = Driver::new(g, cfg.gpu_memory);
            let outcomes = pool.install(|| ctx.run_gpu(&inputs, &mut driver));
            device_warnings.extend(driver.notes.iter().cloned());
            on_device = driver.on_device;
            outcomes
        }
    };
    let mut report = Report {
        seisbatch_version: env!("CARGO_PKG_VERSION").to_string(),
        ok: 0,
        failed: 0,
        failures: Vec::new(),
        outputs: 0,
        input_files: inputs.len(),
        warnings: cfg.pipeline.warnings.clone(),
        device: if adapter.is_some() { "gpu" } else { "cpu" }.into(),
        adapter,
        traces_on_device: on_device,
        format: cfg.format.ext().into(),
        wall_seconds: 0.0,
        responses_evaluated: cache.len(),
        pipeline: cfg.pipeline.clone(),
    };
    report.warnings.extend(device_warnings);
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

/// What every file of a run shares.
struct Ctx<'a> {
    cfg: &'a RunConfig,
    xml: &'a XmlCache,
    global: Option<&'a Inventory>,
    cache: &'a ResponseCache,
    names: &'a Mutex<HashSet<PathBuf>>,
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
        let mut out = FileOutcome::default();
        let bytes = match std::fs::read(&f.path) {
            Ok(b) => b,
            Err(e) => {
                out.failures.push(Self::failure(
                    f,
                    String::new(),
                    String::new(),
                    format!("cannot read file: {e}"),
                ));
                return Decoded {
                    traces: Vec::new(),
                    out,
                };
            }
        };
        let decoded = mseed::read_bytes(&bytes);
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

    /// The CPU path for one file: decode, every trace through the steps, write.
    fn process_file(&self, f: &InputFile) -> FileOutcome {
        let Decoded { traces, mut out } = self.decode(f);
        let resp = self.inventories(f);
        let inv = self.layers(&resp);
        for mut tr in traces {
            let (id, start) = (tr.id(), time::iso(tr.start_ns));
            let r = ops::run_steps(&self.cfg.pipeline.steps, &mut tr, &inv, self.cache);
            self.finish(f, id, start, r.map(|w| (tr, w)), &mut out);
        }
        out
    }

    /// The GPU path: chunks of files read in parallel, their traces through the device
    /// driver together (so batches fill across files and events), written in parallel.
    fn run_gpu(&self, inputs: &[InputFile], driver: &mut Driver) -> Vec<FileOutcome> {
        let mut outcomes = Vec::with_capacity(inputs.len());
        let mut start = 0;
        while start < inputs.len() {
            let mut end = start;
            let mut bytes = 0u64;
            while end < inputs.len() && (end == start || bytes < CHUNK_BYTES) {
                bytes += std::fs::metadata(&inputs[end].path)
                    .map(|m| m.len())
                    .unwrap_or(0);
                end += 1;
            }
            let files = &inputs[start..end];
            let decoded: Vec<Decoded> = files.par_iter().map(|f| self.decode(f)).collect();
            let resps: Vec<_> = files.iter().map(|f| self.inventories(f)).collect();
            let invs: Vec<Inventories> = resps.iter().map(|r| self.layers(r)).collect();
            let mut owner = Vec::new();
            let mut traces = Vec::new();
            let mut outs = Vec::with_capacity(files.len());
            for (k, d) in decoded.into_iter().enumerate() {
                owner.extend(std::iter::repeat_n(k, d.traces.len()));
                traces.extend(d.traces);
                outs.push(d.out);
            }
            let ids: Vec<(String, String)> = traces
                .iter()
                .map(|t| (t.id(), time::iso(t.start_ns)))
                .collect();
            let sources: Vec<&dyn ResponseSource> = owner
                .iter()
                .map(|&k| &invs[k] as &dyn ResponseSource)
                .collect();
            let results = driver.process(&self.cfg.pipeline.steps, traces, &sources, self.cache);
            let written: Vec<(usize, FileOutcome)> = results
                .into_par_iter()
                .zip(ids)
                .zip(owner)
                .map(|((r, (id, st)), k)| {
                    let mut o = FileOutcome::default();
                    self.finish(&files[k], id, st, r, &mut o);
                    (k, o)
                })
                .collect();
            for (k, o) in written {
                let t = &mut outs[k];
                t.ok += o.ok;
                t.outputs += o.outputs;
                t.failures.extend(o.failures);
                t.warnings.extend(o.warnings);
            }
            outcomes.extend(outs);
            start = end;
        }
        outcomes
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
        let path = unique_path(
            &self.cfg.output.join(&f.out_dir),
            &write::file_name(&tr, self.cfg.format),
            self.names,
        );
        match write::write_atomic(&path, &write::encode(&tr, self.cfg.format)) {
            Ok(()) => {
                out.ok += 1;
                out.outputs += 1;
            }
            Err(e) => out.failures.push(Self::failure(
                f,
                id,
                start,
                format!("write {}: {e}", path.display()),
            )),
        }
    }
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
