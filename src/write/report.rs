//! `DIR/report.json`: counts, every failure with its reason, the pipeline as run, version
//! and wall time.

use serde::Serialize;

use crate::pipeline::Pipeline;

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Failure {
    /// The input file.
    pub file: String,
    /// NET.STA.LOC.CHA, or empty when the whole file (or part of it) was unreadable.
    pub id: String,
    /// Trace start (ISO 8601), or empty.
    pub start: String,
    pub reason: String,
}

/// Thread-seconds per stage of a run. On the GPU path `gpu_device` spans transfers and
/// kernels; `gpu_kernels` is the kernel part when timestamp queries were on (`bench`).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct StageSeconds {
    pub read_decode: f64,
    /// The CPU path's steps (including GPU-path traces that fell back to it).
    pub process_cpu: f64,
    pub gpu_host_prep: f64,
    pub gpu_upload_and_record: f64,
    pub gpu_device: f64,
    pub gpu_kernels: f64,
    pub gpu_readback: f64,
    pub gpu_batches: usize,
    pub write: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub seisbatch_version: String,
    pub ok: usize,
    pub failed: usize,
    pub failures: Vec<Failure>,
    /// Traces written: one file each with `--layout per-trace`, records in the event's file
    /// with `--layout per-event`.
    pub outputs: usize,
    pub input_files: usize,
    pub warnings: Vec<String>,
    /// "gpu" when a device ran the batches, else "cpu".
    pub device: String,
    /// The wgpu adapter used (name, backend, type, driver), when device is "gpu".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<crate::gpu::AdapterSummary>,
    /// Traces processed on the device; the rest ran on the CPU path (reasons in warnings).
    pub traces_on_device: usize,
    /// Where the time went, in thread-seconds summed over workers (stages overlap).
    pub stage_seconds: StageSeconds,
    /// Peak resident memory of the run (Linux VmHWM).
    pub peak_rss_bytes: Option<u64>,
    /// Samples decoded from the input.
    pub input_samples: u64,
    pub format: String,
    pub wall_seconds: f64,
    pub responses_evaluated: usize,
    pub pipeline: Pipeline,
    /// This run's share of the inputs when it ran as one shard of several (`--shard`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::Shard>,
    /// The gap policy the run read with (`--gaps`, `--max-gap`).
    pub gaps: GapsReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct GapsReport {
    /// split, zeros, interpolate or reject.
    pub policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_gap_seconds: Option<f64>,
}

impl Report {
    pub fn summary(&self) -> String {
        let on = match &self.adapter {
            Some(a) => format!(" ({} on the GPU: {})", self.traces_on_device, a.describe()),
            None => " (CPU path)".to_string(),
        };
        format!(
            "seisbatch: {} traces ok, {} failed, {} outputs written from {} input files in {:.2} s{on}",
            self.ok, self.failed, self.outputs, self.input_files, self.wall_seconds
        )
    }
}

/// `seisbatch report DIR`: the shard reports of one sharded run merged.
#[derive(Debug)]
pub struct Merged {
    /// The merged report (the sum of the shards' counts, their failures in file order),
    /// as written to DIR/report.json, with a `shards` entry naming the missing ones.
    pub report: serde_json::Value,
    pub count: usize,
    pub missing: Vec<usize>,
    /// Failures grouped by reason (digits masked), most frequent first: count, reason, one
    /// example file.
    pub by_reason: Vec<(usize, String, String)>,
}

/// Merges `DIR/report.K-of-N.json` (all of one N) into one report.
pub fn merge(dir: &std::path::Path) -> Result<Merged, String> {
    use serde_json::{json, Value};
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut shards: std::collections::BTreeMap<usize, Value> = Default::default();
    let mut count: Option<usize> = None;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(kn) = name
            .strip_prefix("report.")
            .and_then(|r| r.strip_suffix(".json"))
            .and_then(|r| r.split_once("-of-"))
        else {
            continue;
        };
        let (Ok(k), Ok(n)) = (kn.0.parse::<usize>(), kn.1.parse::<usize>()) else {
            continue;
        };
        if count.is_some_and(|c| c != n) {
            return Err(format!(
                "{}: shard reports of different runs (of {} and of {n} shards); one run per folder",
                dir.display(),
                count.unwrap_or(0)
            ));
        }
        count = Some(n);
        let text = std::fs::read_to_string(e.path()).map_err(|err| format!("{name}: {err}"))?;
        let v: Value = serde_json::from_str(&text).map_err(|err| format!("{name}: {err}"))?;
        shards.insert(k, v);
    }
    let Some(count) = count else {
        return Err(format!(
            "{}: no shard reports (report.K-of-N.json) here",
            dir.display()
        ));
    };
    let missing: Vec<usize> = (0..count).filter(|k| !shards.contains_key(k)).collect();
    let sum = |key: &str| -> u64 { shards.values().filter_map(|v| v[key].as_u64()).sum() };
    let mut failures: Vec<Value> = shards
        .values()
        .flat_map(|v| v["failures"].as_array().cloned().unwrap_or_default())
        .collect();
    failures.sort_by(|a, b| a["file"].as_str().cmp(&b["file"].as_str()));
    let mut warnings: Vec<String> = Vec::new();
    for w in shards
        .values()
        .flat_map(|v| v["warnings"].as_array().cloned().unwrap_or_default())
        .filter_map(|w| w.as_str().map(str::to_string))
    {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    let first = shards.values().next().cloned().unwrap_or(Value::Null);
    let wall = shards
        .values()
        .filter_map(|v| v["wall_seconds"].as_f64())
        .fold(0.0, f64::max);
    let report = json!({
        "seisbatch_version": first["seisbatch_version"],
        "ok": sum("ok"),
        "failed": failures.len(),
        "failures": failures,
        "outputs": sum("outputs"),
        "input_files": sum("input_files"),
        "input_samples": sum("input_samples"),
        "traces_on_device": sum("traces_on_device"),
        "warnings": warnings,
        "format": first["format"],
        "gaps": first["gaps"],
        "pipeline": first["pipeline"],
        "wall_seconds": wall,
        "shards": {
            "count": count,
            "reported": shards.keys().collect::<Vec<_>>(),
            "missing": missing,
        },
    });
    let mut groups: std::collections::HashMap<String, (usize, String)> = Default::default();
    for f in report["failures"].as_array().into_iter().flatten() {
        let reason = f["reason"].as_str().unwrap_or("");
        let key: String = reason
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .take(100)
            .collect();
        let e = groups
            .entry(key)
            .or_insert((0, f["file"].as_str().unwrap_or("").to_string()));
        e.0 += 1;
    }
    let mut by_reason: Vec<(usize, String, String)> =
        groups.into_iter().map(|(k, (n, ex))| (n, k, ex)).collect();
    by_reason.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(Merged {
        report,
        count,
        missing,
        by_reason,
    })
}
