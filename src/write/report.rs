//! `DIR/report.json`: counts, every failure with its reason, the pipeline as run, version
//! and wall time.

use serde::Serialize;

use crate::pipeline::Pipeline;

/// A trace that was read but not written.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Failure {
    /// The input file.
    pub file: String,
    /// NET.STA.LOC.CHA.
    pub id: String,
    /// Trace start (ISO 8601).
    pub start: String,
    pub reason: String,
}

/// A part of a file that was not read (a damaged record, a truncated tail), or a whole file or
/// folder that could not be read or converted: not a trace, so not counted as one (a damaged
/// file whose readable part was processed used to count as a failed trace with no id).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FileProblem {
    pub file: String,
    /// The byte range not read, `[first, end)`, when the problem has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<[u64; 2]>,
    pub reason: String,
}

/// A path the input walk did not read, and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Skipped {
    pub path: String,
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
    /// Traces written.
    pub ok: usize,
    /// Traces a `select` step did not take: read, neither written nor failed.
    #[serde(default)]
    pub traces_not_selected: usize,
    /// Traces read but not written (each in `failures`).
    pub failed: usize,
    pub failures: Vec<Failure>,
    /// Parts of files, whole files and folders that were not read (each with its reason).
    pub file_problems: Vec<FileProblem>,
    /// Input files with at least one entry in `file_problems`.
    pub files_with_problems: usize,
    /// What the input walk skipped (not miniSEED, links, special files): the first 1000, and
    /// how many in all.
    pub skipped: Vec<Skipped>,
    pub skipped_count: usize,
    /// Traces written: one file each with `--layout per-trace`, records in the event's file
    /// with `--layout per-event`.
    pub outputs: usize,
    pub input_files: usize,
    pub warnings: Vec<String>,
    /// "gpu" when a device ran the batches, else "cpu".
    pub device: String,
    /// Why the run is on the CPU path when it is (`--device auto` found no hardware GPU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_reason: Option<String>,
    /// The wgpu adapter used (name, backend, type, driver), when device is "gpu".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<crate::gpu::AdapterSummary>,
    /// Traces processed on the device; the rest ran on the CPU path (reasons in warnings).
    pub traces_on_device: usize,
    /// Traces per device (`--gpus`: several; one otherwise), in the order opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceCount>,
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
    /// The CPU path's memory budget (`--memory`) and the most of it inputs in flight took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryReport>,
    /// A run over an archive's windows: how many, and those a channel has no data in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowsReport>,
    /// What reading from object storage cost (an s3:// input or catalog): requests, bytes,
    /// retries. An s3:// output adds `object_store` (what was published) when it publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_store_read: Option<crate::store::Traffic>,
}

/// `--memory`: the budget, and the most of it that inputs in flight took at once (their
/// modeled peaks: 256 bytes per input sample; one input larger than the budget runs alone).
#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    pub budget_bytes: u64,
    pub peak_admitted_bytes: u64,
    pub bytes_per_sample_modeled: u64,
}

/// An archive run's windows.
#[derive(Debug, Clone, Serialize)]
pub struct WindowsReport {
    /// Windows asked for (this shard's and the others').
    pub windows: usize,
    /// (channel, window) pairs with data: this run's inputs.
    pub units: usize,
    pub min_coverage: f64,
    /// (channel, window) pairs without any data: the first 1000, and how many in all.
    pub without_data: Vec<NoData>,
    pub without_data_count: usize,
    /// (channel, window) pairs whose data cover less than `min_coverage` of the window: not
    /// processed; the first 1000 with their coverage, and how many in all.
    pub below_coverage: Vec<LowCoverage>,
    pub below_coverage_count: usize,
}

/// A channel's window with too little data (`--min-coverage`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LowCoverage {
    pub window: String,
    pub id: String,
    /// The share of the window its pieces cover, 0 to 1.
    pub coverage: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoData {
    pub window: String,
    pub id: String,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GapsReport {
    /// split, zeros, interpolate or reject.
    pub policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_gap_seconds: Option<f64>,
}

impl Report {
    /// The report's own order and counts once every file is in: failures and damaged parts
    /// in input order (files finish in any order on the parallel paths; a file's own entries
    /// keep their order, the sort is stable), `failed` counted from the failures.
    pub fn settle(&mut self) {
        self.failures.sort_by(|a, b| a.file.cmp(&b.file));
        self.file_problems.sort_by(|a, b| a.file.cmp(&b.file));
        self.failed = self.failures.len();
    }

    /// The summary line: traces, damaged input, skipped files, outputs, where it ran.
    pub fn summary(&self) -> String {
        let on = match (&self.adapter, &self.device_reason) {
            (Some(a), _) => format!(" ({} on the GPU: {})", self.traces_on_device, a.describe()),
            (None, Some(why)) => format!(" (CPU path: {why})"),
            (None, None) => " (CPU path)".to_string(),
        };
        let mut extra = String::new();
        if !self.file_problems.is_empty() {
            extra.push_str(&format!(
                "; {} damaged or unreadable part(s) in {} input file(s)",
                self.file_problems.len(),
                self.files_with_problems
            ));
        }
        if self.skipped_count > 0 {
            extra.push_str(&format!("; {} path(s) skipped", self.skipped_count));
        }
        if self.traces_not_selected > 0 {
            extra.push_str(&format!(
                "; {} trace(s) not selected",
                self.traces_not_selected
            ));
        }
        let from = match &self.windows {
            Some(w) => format!(
                "{} channel windows ({} windows; {} channel windows without data)",
                self.input_files, w.windows, w.without_data_count
            ),
            None => format!("{} input files", self.input_files),
        };
        format!(
            "seisbatch: {} traces ok, {} failed{extra}; {} outputs written from {from} in {:.2} s{on}",
            self.ok, self.failed, self.outputs, self.wall_seconds
        )
    }

    /// Whether anything was not processed: a failed trace or a problem with a file.
    pub fn incomplete(&self) -> bool {
        self.failed > 0 || !self.file_problems.is_empty()
    }
}

/// Reasons grouped with digits masked, most frequent first: (count, reason, one example).
pub fn by_reason<'a>(
    items: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<(usize, String, String)> {
    let mut groups: std::collections::HashMap<String, (usize, String)> = Default::default();
    for (reason, example) in items {
        let key: String = reason
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .take(100)
            .collect();
        let e = groups.entry(key).or_insert((0, example.to_string()));
        e.0 += 1;
    }
    let mut v: Vec<(usize, String, String)> =
        groups.into_iter().map(|(k, (n, ex))| (n, k, ex)).collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v
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
/// One device's share of a run.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct DeviceCount {
    pub index: usize,
    pub name: String,
    pub pci_bus_id: String,
    pub traces_on_device: usize,
}

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
        // A file name is data too: N sizes the list of missing shards.
        if n == 0 || n > crate::limits::MAX_SHARDS || k >= n {
            return Err(format!(
                "{name}: not a shard report of a run of at most {} shards",
                crate::limits::MAX_SHARDS
            ));
        }
        if count.is_some_and(|c| c != n) {
            return Err(format!(
                "{}: shard reports of different runs (of {} and of {n} shards); one run per folder",
                dir.display(),
                count.unwrap_or(0)
            ));
        }
        count = Some(n);
        // A state file we wrote is input too: regular, bounded, never through a link.
        let bytes = super::state::read(&e.path(), "shard report", super::state::MAX_REPORT_BYTES)?
            .ok_or_else(|| format!("{name}: vanished while being read"))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|err| format!("{name}: {err}"))?;
        shards.insert(k, v);
    }
    let Some(count) = count else {
        return Err(format!(
            "{}: no shard reports (report.K-of-N.json) here",
            dir.display()
        ));
    };
    let missing: Vec<usize> = (0..count).filter(|k| !shards.contains_key(k)).collect();
    // Counts from files: summed with checks (2^64-1 + 1 was merged as ok = 0), each a
    // non-negative integer where present.
    let sum = |key: &str| -> Result<u64, String> {
        shards.iter().try_fold(0u64, |acc, (k, v)| {
            let n = match &v[key] {
                Value::Null => 0,
                x => x.as_u64().ok_or_else(|| {
                    format!("report.{k}-of-{count}.json: `{key}` is {x}, not a count")
                })?,
            };
            acc.checked_add(n).ok_or_else(|| {
                format!("the shard reports' `{key}` add up to more than a count can hold; they cannot be merged")
            })
        })
    };
    let gather = |key: &str| -> Vec<Value> {
        let mut v: Vec<Value> = shards
            .values()
            .flat_map(|s| s[key].as_array().cloned().unwrap_or_default())
            .collect();
        v.sort_by(|a, b| {
            a["file"]
                .as_str()
                .or(a["path"].as_str())
                .cmp(&b["file"].as_str().or(b["path"].as_str()))
        });
        v
    };
    let failures = gather("failures");
    let problems = gather("file_problems");
    let skipped = gather("skipped");
    let mut warnings: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for w in shards
        .values()
        .flat_map(|v| v["warnings"].as_array().cloned().unwrap_or_default())
        .filter_map(|w| w.as_str().map(str::to_string))
    {
        if seen.insert(w.clone()) {
            warnings.push(w);
        }
    }
    // Traces per device: one process per GPU names its adapter; the shards of one adapter
    // (index, name, PCI bus) add up. Text from files: lengths bounded, counts checked.
    let mut devices: std::collections::BTreeMap<(u64, String, String), (u64, usize)> =
        std::collections::BTreeMap::new();
    for (k, v) in &shards {
        // A shard that drove several devices lists them; one device is its adapter.
        let own: Vec<(&Value, &Value)> = match v["devices"].as_array() {
            Some(list) if !list.is_empty() => {
                list.iter().map(|d| (d, &d["traces_on_device"])).collect()
            }
            _ if v["adapter"].is_null() => Vec::new(),
            _ => vec![(&v["adapter"], &v["traces_on_device"])],
        };
        for (a, n) in own.into_iter().take(1024) {
            let text = |f: &str| {
                a[f].as_str()
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect::<String>()
            };
            let n = n.as_u64().ok_or_else(|| {
                format!("report.{k}-of-{count}.json: `traces_on_device` is not a count")
            })?;
            let e = devices
                .entry((
                    a["index"].as_u64().unwrap_or(0),
                    text("name"),
                    text("pci_bus_id"),
                ))
                .or_default();
            e.0 = e.0.saturating_add(n);
            e.1 += 1;
        }
    }
    let devices: Vec<Value> = devices
        .into_iter()
        .map(|((index, name, pci), (traces, n))| {
            json!({"index": index, "name": name, "pci_bus_id": pci, "traces_on_device": traces, "shards": n})
        })
        .collect();
    let first = shards.values().next().cloned().unwrap_or(Value::Null);
    let wall = shards
        .values()
        .filter_map(|v| v["wall_seconds"].as_f64())
        .fold(0.0, f64::max);
    let report = json!({
        "seisbatch_version": first["seisbatch_version"],
        "ok": sum("ok")?,
        "traces_not_selected": sum("traces_not_selected")?,
        "failed": failures.len(),
        "failures": failures,
        "file_problems": problems,
        "files_with_problems": sum("files_with_problems")?,
        "skipped": skipped,
        "skipped_count": sum("skipped_count")?,
        "outputs": sum("outputs")?,
        "input_files": sum("input_files")?,
        "input_samples": sum("input_samples")?,
        "traces_on_device": sum("traces_on_device")?,
        "devices": devices,
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
    let reasons = report["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(report["file_problems"].as_array().into_iter().flatten())
        .map(|f| {
            (
                f["reason"].as_str().unwrap_or(""),
                f["file"].as_str().unwrap_or(""),
            )
        });
    let by_reason = by_reason(reasons);
    Ok(Merged {
        report,
        count,
        missing,
        by_reason,
    })
}
