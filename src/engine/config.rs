//! What a run is asked to do (`RunConfig`, from the command line or a library caller), how
//! it stops (`RunError`), and its identity: what makes two runs the same product, which a
//! `--resume` must match field by field (recorded in the output folder's run.json).

use std::path::{Path, PathBuf};

use crate::pipeline::Pipeline;
use crate::read::mseed;
use crate::write::journal;
use crate::write::output::OutputError;
use crate::write::Format;

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub pipeline: Pipeline,
    pub input: PathBuf,
    pub output: PathBuf,
    pub inventory: Option<PathBuf>,
    /// `--events`: origins of event folders (CSV or QuakeML).
    pub events: Option<PathBuf>,
    /// `--tag`: the ASDF waveform tags read (empty: all).
    pub tags: Vec<String>,
    /// `--output-tag`: the tag of the waveforms `--format asdf` writes.
    pub output_tag: String,
    pub format: Format,
    pub jobs: usize,
    pub device: Device,
    /// Device memory one batch may use, bytes (`--gpu-memory`).
    pub gpu_memory: u64,
    /// The adapters (`--gpu-index`, `--gpus`; `Gpus::Best` without either), each with its own
    /// `gpu_memory`.
    pub gpus: super::devices::Gpus,
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
    /// `--window` / `--segment` over an archive (`--catalog`): one unit per channel and
    /// window instead of one per file.
    pub archive: Option<super::windows::ArchiveRun>,
    /// `--memory`: host memory the CPU path's inputs in flight may take, bytes (None: three
    /// quarters of the machine's or the cgroup's).
    pub memory: Option<u64>,
    /// Counters a library caller watches while the run goes (None from the command line).
    pub watch: Option<std::sync::Arc<crate::progress::Watch>>,
    /// A library caller's own function per unit, after the steps (`engine::hook`).
    pub hook: Option<super::hook::Hook>,
}

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One file per trace, named as MassDownloader names them.
    PerTrace,
    /// One multi-trace miniSEED file per event folder (`EVENT/raw/*` -> `EVENT/EVENT.mseed`),
    /// or per input file for other inputs (`dir/x.mseed` -> `dir/x.mseed`).
    PerEvent,
    /// One ASDF data set for the whole run (`write::asdf::dataset`), gathered per event as
    /// `PerEvent` does.
    Dataset,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::PerTrace => "per-trace",
            Layout::PerEvent => "per-event",
            Layout::Dataset => "dataset",
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

/// What makes two runs the same product: a resume must match it field by field.
pub(crate) fn identity(cfg: &RunConfig) -> Result<serde_json::Value, RunError> {
    let real = |p: &Path, what: &str| {
        if crate::store::is_remote(p) {
            // An object-store URL is its own canonical name.
            return Ok(journal::key(p));
        }
        std::fs::canonicalize(p)
            .map(|r| journal::key(&r))
            .map_err(|e| RunError::Usage(format!("{what} {}: {e}", p.display())))
    };
    let mut id = serde_json::json!({
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
        "events": match &cfg.events {
            Some(p) => serde_json::Value::String(real(p, "--events")?),
            None => serde_json::Value::Null,
        },
        "shards": cfg.shard.map(|s| s.count),
        "windows": cfg.archive,
    });
    // Only when given: a folder written before `--tag` existed resumes as it did.
    if !cfg.tags.is_empty() {
        id["tags"] = serde_json::json!(cfg.tags);
    }
    if let Some(h) = &cfg.hook {
        id["function"] = serde_json::json!(h.0.name());
    }
    if cfg.output_tag != crate::write::asdf::DEFAULT_TAG {
        id["output_tag"] = serde_json::json!(cfg.output_tag);
    }
    Ok(id)
}

/// Why a resume does not match the run it resumes, naming each difference.
pub(crate) fn identity_difference(
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> Option<String> {
    let what = |k: &str| match k {
        "seisbatch_version" => "the seisbatch version",
        "pipeline" => "the pipeline",
        "format" => "--format",
        "layout" => "--layout",
        "gaps" => "--gaps/--max-gap",
        "max_samples" => "--max-samples",
        "input" => "--input (resolved)",
        "inventory" => "--inventory (resolved)",
        "events" => "--events (resolved)",
        "shards" => "the number of shards",
        "windows" => "--window/--segment/--min-coverage",
        "tags" => "--tag",
        "output_tag" => "--output-tag",
        "function" => "the function",
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

pub(crate) fn gaps_report(g: mseed::Gaps) -> crate::write::report::GapsReport {
    crate::write::report::GapsReport {
        policy: g.name().into(),
        max_gap_seconds: g.max_gap(),
    }
}
