//! The binary's commands: `run` (and what it tells the terminal after), `plan`, `report`,
//! `bench`, `synth`; each returns the process's exit code (0 ok, 3 something was not
//! processed, 4 shards missing, 2 usage, 1 fatal). Every message goes through
//! `errln!`/`outln!` (`crate::console`), which never panic on a closed or full stream.

use std::process::ExitCode;

use super::args::{
    AdaptersArgs, BenchArgs, DeviceArg, IndexArgs, PlanArgs, ReportArgs, RunArgs, SynthArgs,
};
use crate::console::{errln, outln};
use crate::engine::{self, RunConfig, RunError};
use crate::limits;
use crate::pipeline::Pipeline;
use crate::write::report::{by_reason, Report};

pub(super) fn plan(a: PlanArgs) -> ExitCode {
    if a.correlate {
        let stations = a.stations.unwrap_or(0);
        return super::correlate::plan(&a.pipeline, stations, a.sampling_rate, a.json);
    }
    let Some(npts) = a.npts else {
        errln!("seisbatch plan: --npts N is needed for a pipeline");
        return ExitCode::from(2);
    };
    let pipeline = match Pipeline::from_file(&a.pipeline) {
        Ok(p) => p,
        Err(e) => {
            errln!("seisbatch plan: {e}");
            return ExitCode::from(2);
        }
    };
    let start_ns = match crate::limits::parse_time(&a.start) {
        Ok(t) => t,
        Err(e) => {
            errln!("seisbatch plan: --start {e}");
            return ExitCode::from(2);
        }
    };
    if !(a.sampling_rate.is_finite() && a.sampling_rate > 0.0) {
        errln!("seisbatch plan: --sampling-rate must be a positive number of Hz");
        return ExitCode::from(2);
    }
    if let Err(e) = super::args::check_stages(&a.cpu_stages) {
        errln!("seisbatch plan: {e}");
        return ExitCode::from(2);
    }
    if let Some(p) = limits::samples_problem("--npts", npts) {
        errln!("seisbatch plan: {p}");
        return ExitCode::from(2);
    }
    let shape = crate::plan::Shape {
        npts,
        sampling_rate: a.sampling_rate,
        start_ns,
    };
    let fft = match crate::gpu::fft_from_env() {
        Ok(f) => f,
        Err(e) => {
            errln!("seisbatch plan: {e}");
            return ExitCode::from(2);
        }
    };
    let caps = crate::gpu::record::Caps {
        cpu_stages: a.cpu_stages.clone(),
        rfft: fft.rfft,
        f64_transforms: fft.f64_transforms,
        ..crate::gpu::record::Caps::nominal()
    };
    let gpu = matches!(a.device, DeviceArg::Gpu).then_some(&caps);
    let v = crate::inspect::describe(&pipeline.steps, shape, gpu);
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        outln!("{}", crate::inspect::text(&v).trim_end());
    }
    ExitCode::SUCCESS
}

pub(super) fn report(a: ReportArgs) -> ExitCode {
    let m = match crate::write::report::merge(&a.dir) {
        Ok(m) => m,
        Err(e) => {
            errln!("seisbatch report: {e}");
            return ExitCode::from(2);
        }
    };
    // The merged report first: a closed stdout must not cost it.
    let r = &m.report;
    let path = a.dir.join("report.json");
    let json = serde_json::to_vec_pretty(r).unwrap_or_default();
    if let Err(e) = crate::write::write_atomic(&path, &json) {
        errln!("seisbatch report: cannot write {}: {e}", path.display());
        return ExitCode::from(1);
    }
    outln!(
        "{} of {} shards reported: {} traces ok, {} failed, {} damaged or unreadable file part(s), {} outputs written from {} input files",
        m.count - m.missing.len(),
        m.count,
        r["ok"],
        r["failed"],
        r["file_problems"].as_array().map_or(0, Vec::len),
        r["outputs"],
        r["input_files"]
    );
    for (n, reason, example) in &m.by_reason {
        outln!("  {n:>8} x {reason}  (e.g. {example})");
    }
    if !m.missing.is_empty() {
        let names: Vec<String> = m
            .missing
            .iter()
            .take(20)
            .map(|k| format!("{k}/{}", m.count))
            .collect();
        outln!(
            "not reported: shard {}{} (still running, or stopped: run it again with --resume)",
            names.join(", "),
            if m.missing.len() > 20 { ", ..." } else { "" }
        );
    }
    outln!("merged report: {}", path.display());
    // Every shard finished: the outputs' catalog, as a run of one writes it.
    if m.missing.is_empty() {
        let (index, formats) = crate::archive::outputs::index_outputs(&a.dir);
        let cat = a.dir.join(crate::engine::CATALOG);
        let written = crate::archive::catalog::to_bytes(&index, &|f| formats[f])
            .and_then(|b| crate::write::write_atomic(&cat, &b).map_err(|e| e.to_string()));
        match written {
            Ok(()) => outln!("outputs' catalog: {}", cat.display()),
            Err(e) => errln!("seisbatch report: cannot write {}: {e}", cat.display()),
        }
    }
    let incomplete = r["failed"].as_u64().unwrap_or(0) > 0
        || r["file_problems"].as_array().is_some_and(|p| !p.is_empty());
    if !m.missing.is_empty() {
        ExitCode::from(4)
    } else if incomplete {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

pub(super) fn bench(a: BenchArgs) -> ExitCode {
    if let Err(e) = crate::gpu::fft_from_env() {
        errln!("seisbatch bench: {e}");
        return ExitCode::from(2);
    }
    let named = a.devices.is_some();
    let mut devices: Vec<&'static str> = a
        .devices
        .unwrap_or_else(|| vec![DeviceArg::Cpu, DeviceArg::Gpu])
        .iter()
        .map(|d| match d {
            DeviceArg::Auto => "auto",
            DeviceArg::Cpu => "cpu",
            DeviceArg::Gpu => "gpu",
        })
        .collect();
    // A software adapter (lavapipe, llvmpipe) is not "the GPU": on the dev VM it made the gpu
    // column 33x slower than the CPU path. Skipped unless named; said loudly when named.
    if devices.contains(&"gpu") {
        if let Some((name, wgpu::DeviceType::Cpu)) = crate::gpu::best_adapter() {
            if named {
                errln!(
                    "seisbatch: bench: WARNING: the gpu path runs on {name}, a SOFTWARE adapter \
                     (the CPU emulating a GPU): its numbers say nothing about a GPU"
                );
            } else {
                devices.retain(|d| *d != "gpu");
                errln!(
                    "seisbatch: bench: gpu path skipped: the only adapter is {name}, a software \
                     one (slower than the CPU path); --devices cpu,gpu measures it anyway"
                );
            }
        }
    }
    let cfg = crate::bench::BenchConfig {
        pipeline: &a.pipeline,
        input: &a.input,
        inventory: a.inventory.as_deref(),
        events: a.events.as_deref(),
        devices,
        jobs: a.jobs,
        gpu_memory_mib: a.gpu_memory,
    };
    match crate::bench::bench(&cfg) {
        Ok(rows) => {
            let table = crate::bench::table(&rows);
            outln!("{}", table.trim_end());
            if let Some(p) = &a.json {
                let json = serde_json::to_vec_pretty(&rows).unwrap_or_default();
                if let Err(e) = crate::write::write_atomic(p, &json) {
                    errln!("seisbatch: bench: {}: {e}", p.display());
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("seisbatch: bench: {e}");
            ExitCode::from(1)
        }
    }
}

pub(super) fn synth(a: SynthArgs) -> ExitCode {
    if let Some(days) = a.noise_days {
        let rate = a.rates.first().copied().unwrap_or(20.0);
        return match crate::synth_array::noise_array(&a.output, a.stations, days, rate, a.seed) {
            Ok(s) => {
                errln!(
                    "seisbatch: wrote a noise archive of {} day files ({:.1} Msamples) in {}, stations in {}",
                    s.files,
                    s.samples as f64 / 1e6,
                    s.archive.display(),
                    s.inventory.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                errln!("seisbatch: synth: {e}");
                ExitCode::from(1)
            }
        };
    }
    let cfg = crate::synth::SynthConfig {
        output: a.output.clone(),
        events: a.events,
        stations: a.stations,
        duration: a.duration,
        rates: a.rates,
        bad_fraction: a.bad_fraction,
        seed: a.seed,
    };
    match crate::synth::synth(&cfg) {
        Ok(s) => {
            errln!(
                "seisbatch: wrote {} traces ({} bad, {:.1} Msamples) in {} files under {}",
                s.traces,
                s.bad,
                s.samples as f64 / 1e6,
                s.files,
                a.output.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("seisbatch: synth: {e}");
            ExitCode::from(1)
        }
    }
}

/// After a run (unless --quiet): the summary, failures and damaged input by reason, what
/// was skipped, and how many warnings report.json holds.
pub(super) fn tell(report: &Report, cfg: &RunConfig) {
    let report_path = cfg.output.join(cfg.shard.map_or_else(
        || "report.json".into(),
        |s| format!("report.{}-of-{}.json", s.index, s.count),
    ));
    errln!("{}", report.summary());
    if let Some(s) = cfg.shard {
        if report.input_files == 0 {
            errln!(
                "seisbatch: shard {}/{} had no input: an output folder is never split across shards, and this input has fewer folders than shards",
                s.index,
                s.count
            );
        }
    }
    let groups = by_reason(
        report
            .failures
            .iter()
            .map(|f| (f.reason.as_str(), f.file.as_str()))
            .chain(
                report
                    .file_problems
                    .iter()
                    .map(|p| (p.reason.as_str(), p.file.as_str())),
            ),
    );
    if !groups.is_empty() {
        errln!("seisbatch: not processed, by reason (digits masked):");
        for (n, reason, example) in groups.iter().take(10) {
            errln!("  {n:>8} x {reason}  (e.g. {example})");
        }
        if groups.len() > 10 {
            errln!(
                "  ... {} more reasons in {}",
                groups.len() - 10,
                report_path.display()
            );
        }
    }
    if report.skipped_count > 0 {
        let groups = by_reason(
            report
                .skipped
                .iter()
                .map(|s| (s.reason.as_str(), s.path.as_str())),
        );
        errln!(
            "seisbatch: {} path(s) under --input skipped:",
            report.skipped_count
        );
        for (n, reason, example) in groups.iter().take(5) {
            errln!("  {n:>8} x {reason}  (e.g. {example})");
        }
    }
    if !report.warnings.is_empty() {
        errln!(
            "seisbatch: {} warning(s) in {}, e.g.:",
            report.warnings.len(),
            report_path.display()
        );
        for w in report.warnings.iter().take(3) {
            errln!("  {w}");
        }
    }
    errln!(
        "seisbatch: outputs and {} in {}",
        report_path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy(),
        cfg.output.display()
    );
}

pub(super) fn run(args: RunArgs) -> ExitCode {
    if let Err(m) = args.s3.apply() {
        errln!("seisbatch: {m}");
        return ExitCode::from(2);
    }
    let cfg = match args.config() {
        Ok(c) => c,
        Err(m) => {
            errln!("seisbatch: {m}");
            return ExitCode::from(2);
        }
    };
    match engine::run(&cfg) {
        Ok(report) => {
            if !args.quiet {
                tell(&report, &cfg);
            }
            if args.qc {
                super::qc::after_run(&cfg, args.quiet);
            }
            // A shard that completed exits 0 even with failed traces: launchers treat a
            // non-zero rank as a crash (mpirun aborts the others). `seisbatch report`
            // gives the run's 3.
            if report.incomplete() && cfg.shard.is_none() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(RunError::Usage(m)) => {
            errln!("seisbatch: {m}");
            ExitCode::from(2)
        }
        Err(RunError::Fatal(m)) => {
            errln!("seisbatch: fatal: {m}");
            ExitCode::from(1)
        }
    }
}

pub(super) fn index(a: IndexArgs) -> ExitCode {
    if let Err(e) = a.s3.apply() {
        errln!("seisbatch index: {e}");
        return ExitCode::from(2);
    }
    let t = std::time::Instant::now();
    let done = match crate::archive::index_archive(&a.archive, &a.output) {
        Ok(d) => d,
        Err(e) => {
            errln!("seisbatch index: {e}");
            return ExitCode::from(2);
        }
    };
    let s = t.elapsed().as_secs_f64().max(1e-9);
    let i = &done.index;
    let breaks = i.discontinuities();
    let gaps = breaks.iter().filter(|b| b.2 > 0.0).count();
    if !a.quiet {
        outln!(
            "indexed {} files ({} read, {} unchanged since the catalog): {} channels, {} segments, {} gaps, {} overlaps, {} damaged parts; {:.1} files/s, {:.1} MB/s read -> {}",
            i.files.len(),
            done.read,
            done.reused,
            i.channels.len(),
            i.runs.len(),
            gaps,
            breaks.len() - gaps,
            i.problems.len(),
            done.read as f64 / s,
            done.bytes_read as f64 / s / 1e6,
            a.output.display()
        );
        for (ch, at, d) in breaks.iter().take(20) {
            let (n, st, l, c) = &i.channels[*ch];
            let what = if *d > 0.0 { "gap" } else { "overlap" };
            outln!(
                "  {n}.{st}.{l}.{c}: {what} of {:.6} s at {}",
                d.abs(),
                crate::time::iso(*at)
            );
        }
        if breaks.len() > 20 {
            outln!(
                "  ... and {} more (the catalog's gap_before_s column)",
                breaks.len() - 20
            );
        }
        for (f, p) in i.problems.iter().take(20) {
            outln!("  {}: {p}", i.path_of(*f).display());
        }
        if done.survey.skipped_count > 0 {
            outln!(
                "  {} path(s) skipped (not miniSEED, links, special files)",
                done.survey.skipped_count
            );
        }
    }
    ExitCode::SUCCESS
}

/// `seisbatch adapters`: every adapter in `--gpu-index` order (exit 0 with none: the list is
/// empty and says why the GPU path cannot run).
pub(super) fn adapters(a: AdaptersArgs) -> ExitCode {
    let list = crate::gpu::adapters::adapters();
    if a.json {
        match serde_json::to_string_pretty(&list) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                errln!("seisbatch adapters: {e}");
                return ExitCode::from(1);
            }
        }
        return ExitCode::SUCCESS;
    }
    if list.is_empty() {
        outln!("no GPU adapter (is a Vulkan driver installed? e.g. mesa-vulkan-drivers): the CPU path only");
    }
    for l in &list {
        outln!(
            "{}: {} ({}, {}{}, driver {} {}, pci {}) f64 {}, binding {} MiB, buffer {} MiB",
            l.index,
            l.name,
            l.backend,
            l.device_type,
            if l.software { ", software" } else { "" },
            l.driver,
            l.driver_info,
            if l.pci_bus_id.is_empty() {
                "-"
            } else {
                &l.pci_bus_id
            },
            if l.shader_f64 { "yes" } else { "no" },
            l.max_storage_binding_bytes >> 20,
            l.max_buffer_bytes >> 20
        );
    }
    ExitCode::SUCCESS
}
