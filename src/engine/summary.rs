//! The run's last phase: its totals, timings, device and warnings as `report.json` says them.

use std::path::PathBuf;
use std::time::Instant;

use super::config::gaps_report;
use super::gpu_run::GpuTimes;
use super::totals::{peak_rss_bytes, secs, Clocks, Totals};
use super::RunConfig;
use crate::gpu::AdapterSummary;
use crate::read::walk::Survey;
use crate::write::report::{Report, Skipped, StageSeconds};

/// What the run ends with.
pub(super) struct Ending<'a> {
    pub cfg: &'a RunConfig,
    pub totals: Totals,
    pub input_files: usize,
    pub adapter: Option<AdapterSummary>,
    pub device_reason: Option<String>,
    pub on_device: usize,
    /// Each device's adapter and traces (`--gpus`).
    pub devices: Vec<(AdapterSummary, usize)>,
    pub clocks: &'a Clocks,
    pub gpu_times: Option<GpuTimes>,
    pub responses_evaluated: usize,
    pub survey: &'a Survey,
    pub windows: Option<crate::write::report::WindowsReport>,
    pub memory: Option<crate::write::report::MemoryReport>,
    pub device_warnings: Vec<String>,
    /// The journal that could not be appended to, and why.
    pub journal_error: Option<(PathBuf, String)>,
    pub t0: Instant,
}

/// Traces per device, as report.json lists them.
fn device_counts(devices: Vec<(AdapterSummary, usize)>) -> Vec<crate::write::report::DeviceCount> {
    devices
        .into_iter()
        .map(|(a, n)| crate::write::report::DeviceCount {
            index: a.index,
            name: a.name,
            pci_bus_id: a.pci_bus_id,
            traces_on_device: n,
        })
        .collect()
}

pub(super) fn report(e: Ending) -> Report {
    let Ending {
        cfg,
        totals,
        input_files,
        adapter,
        device_reason,
        on_device,
        devices,
        clocks,
        gpu_times,
        responses_evaluated,
        survey,
        windows,
        memory,
        device_warnings,
        journal_error,
        t0,
    } = e;
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
        input_files,
        warnings: cfg.pipeline.warnings.clone(),
        device: if adapter.is_some() { "gpu" } else { "cpu" }.into(),
        device_reason: if adapter.is_some() {
            None
        } else {
            device_reason
        },
        adapter,
        traces_on_device: on_device,
        devices: device_counts(devices),
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
        responses_evaluated,
        pipeline: cfg.pipeline.clone(),
        shard: cfg.shard,
        gaps: gaps_report(cfg.gaps),
        windows,
        object_store_read: Some(crate::store::traffic()).filter(|t| t.requests > 0),
        memory,
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
    if let Some((journal_path, e)) = journal_error {
        report.warnings.push(format!(
            "cannot append to the journal {} ({e}): every output is written, but --resume would redo the files finished after that",
            journal_path.display()
        ));
    }
    report.warnings.extend(totals.warnings);
    if let Some(w) = report.windows.as_mut() {
        w.below_coverage = totals.low_coverage;
        w.below_coverage_count = totals.low_coverage_count;
    }
    report.settle();
    report.wall_seconds = t0.elapsed().as_secs_f64();
    report.peak_rss_bytes = peak_rss_bytes();
    report
}

/// Writes `report` as the run's report file (report.json, or a shard's own).
pub(super) fn write(
    out: &crate::write::output::OutputDir,
    report: &Report,
) -> Result<(), super::RunError> {
    let json =
        serde_json::to_vec_pretty(report).map_err(|e| super::RunError::Fatal(e.to_string()))?;
    let name = out.report_name();
    out.write_top(&name, &json)
        .map(|_| ())
        .map_err(|e| super::RunError::Fatal(format!("cannot write {name}: {e}")))
}
