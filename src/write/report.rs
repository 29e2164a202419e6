//! `DIR/report.json`: counts, every failure with its reason, the pipeline as run, version
//! and wall time.

use serde::Serialize;

use crate::pipeline::Pipeline;

#[derive(Debug, Clone, Serialize, PartialEq)]
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
    /// Files written (relative to the output folder).
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
}

impl Report {
    pub fn summary(&self) -> String {
        let on = match &self.adapter {
            Some(a) => format!(" ({} on the GPU: {})", self.traces_on_device, a.describe()),
            None => " (CPU path)".to_string(),
        };
        format!(
            "seisbatch: {} traces ok, {} failed, {} files written from {} input files in {:.2} s{on}",
            self.ok, self.failed, self.outputs, self.input_files, self.wall_seconds
        )
    }
}
