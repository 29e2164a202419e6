//! Thin: parse args -> run -> exit code (0 ok, 3 some traces failed, 2 usage, 1 fatal).

use std::process::ExitCode;

use clap::Parser;
use seisbatch::cli::{
    BenchArgs, Cli, Command, DeviceArg, FormatArg, GapsArg, LayoutArg, ReportArgs, RunArgs,
    SynthArgs,
};
use seisbatch::engine::{self, Device, RunConfig, RunError};
use seisbatch::pipeline::Pipeline;
use seisbatch::read::mseed::Gaps;
use seisbatch::write::Format;

fn main() -> ExitCode {
    // Mesa's implicit Vulkan layer VK_LAYER_MESA_device_select connects to a Wayland/X11
    // display to order GPUs, printing "XDG_RUNTIME_DIR is invalid" on every headless node
    // (and breaking --quiet). seisbatch ranks adapters itself (gpu::Gpu::new), so the layer
    // is switched off unless the user set it. Done first, while the process has one thread.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => run(args),
        Command::Synth(args) => synth(args),
        Command::Bench(args) => bench(args),
        Command::Report(args) => report(args),
    }
}

fn report(a: ReportArgs) -> ExitCode {
    let m = match seisbatch::write::report::merge(&a.dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("seisbatch report: {e}");
            return ExitCode::from(2);
        }
    };
    let r = &m.report;
    println!(
        "{} of {} shards reported: {} traces ok, {} failed, {} outputs written from {} input files",
        m.count - m.missing.len(),
        m.count,
        r["ok"],
        r["failed"],
        r["outputs"],
        r["input_files"]
    );
    for (n, reason, example) in &m.by_reason {
        println!("  {n:>8} x {reason}  (e.g. {example})");
    }
    if !m.missing.is_empty() {
        let names: Vec<String> = m
            .missing
            .iter()
            .map(|k| format!("{k}/{}", m.count))
            .collect();
        println!(
            "not reported: shard {} (still running, or stopped: run it again with --resume)",
            names.join(", ")
        );
    }
    let path = a.dir.join("report.json");
    let json = serde_json::to_vec_pretty(r).unwrap_or_default();
    if let Err(e) = seisbatch::write::write_atomic(&path, &json) {
        eprintln!("seisbatch report: cannot write {}: {e}", path.display());
        return ExitCode::from(1);
    }
    println!("merged report: {}", path.display());
    if !m.missing.is_empty() {
        ExitCode::from(4)
    } else if r["failed"].as_u64().unwrap_or(0) > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

fn bench(a: BenchArgs) -> ExitCode {
    let cfg = seisbatch::bench::BenchConfig {
        pipeline: &a.pipeline,
        input: &a.input,
        inventory: a.inventory.as_deref(),
        devices: a
            .devices
            .iter()
            .map(|d| match d {
                DeviceArg::Auto => "auto",
                DeviceArg::Cpu => "cpu",
                DeviceArg::Gpu => "gpu",
            })
            .collect(),
        jobs: a.jobs,
        gpu_memory_mib: a.gpu_memory,
    };
    match seisbatch::bench::bench(&cfg) {
        Ok(rows) => {
            print!("{}", seisbatch::bench::table(&rows));
            if let Some(p) = &a.json {
                let json = serde_json::to_vec_pretty(&rows).unwrap_or_default();
                if let Err(e) = std::fs::write(p, json) {
                    eprintln!("seisbatch: bench: {}: {e}", p.display());
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seisbatch: bench: {e}");
            ExitCode::from(1)
        }
    }
}

fn synth(a: SynthArgs) -> ExitCode {
    let cfg = seisbatch::synth::SynthConfig {
        output: a.output.clone(),
        events: a.events,
        stations: a.stations,
        duration: a.duration,
        rates: a.rates,
        bad_fraction: a.bad_fraction,
        seed: a.seed,
    };
    match seisbatch::synth::synth(&cfg) {
        Ok(s) => {
            eprintln!(
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
            eprintln!("seisbatch: synth: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let pipeline = match Pipeline::from_file(&args.pipeline) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("seisbatch: {e}");
            return ExitCode::from(2);
        }
    };
    if !args.quiet {
        for w in &pipeline.warnings {
            eprintln!("seisbatch: warning: {w}");
        }
    }
    let shard = match args.shard.as_deref() {
        None => None,
        Some("auto") => {
            match seisbatch::shard::Shard::from_env(|k| std::env::var(k).ok(), args.shard_count) {
                Ok((s, from)) => {
                    if !args.quiet {
                        eprintln!("seisbatch: shard {}/{} (from {from})", s.index, s.count);
                    }
                    Some(s)
                }
                Err(e) => {
                    eprintln!("seisbatch: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        Some(k) => match seisbatch::shard::Shard::parse(k) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("seisbatch: {e}");
                return ExitCode::from(2);
            }
        },
    };
    if !(args.max_gap.is_finite() && args.max_gap >= 0.0) {
        eprintln!("seisbatch: --max-gap must be a number of seconds >= 0");
        return ExitCode::from(2);
    }
    let gaps = match args.gaps {
        GapsArg::Split => Gaps::Split,
        GapsArg::Zeros => Gaps::Zeros {
            max_gap: args.max_gap,
        },
        GapsArg::Interpolate => Gaps::Interpolate {
            max_gap: args.max_gap,
        },
        GapsArg::Reject => Gaps::Reject,
    };
    if args.jobs == Some(0) {
        eprintln!("seisbatch: --jobs must be at least 1");
        return ExitCode::from(2);
    }
    let cfg = RunConfig {
        pipeline,
        input: args.input,
        output: args.output.clone(),
        inventory: args.inventory,
        format: match (args.format, args.layout) {
            (Some(FormatArg::Sac), LayoutArg::PerEvent) => {
                eprintln!("seisbatch: --layout per-event writes multi-trace miniSEED; SAC holds one trace per file (drop --format sac, or use --layout per-trace)");
                return ExitCode::from(2);
            }
            (Some(FormatArg::Asdf), _) => {
                if !cfg!(feature = "asdf") {
                    eprintln!("seisbatch: --format asdf: this seisbatch was built without ASDF support; build it with `cargo build --release --features asdf` (needs libhdf5: apt-get install libhdf5-dev)");
                    return ExitCode::from(2);
                }
                Format::Asdf
            }
            (Some(FormatArg::Mseed), _) | (None, LayoutArg::PerEvent) => Format::Mseed,
            (Some(FormatArg::Sac) | None, LayoutArg::PerTrace) => Format::Sac,
        },
        gaps,
        layout: match args.layout {
            LayoutArg::PerTrace => engine::Layout::PerTrace,
            LayoutArg::PerEvent => engine::Layout::PerEvent,
        },
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        device: match args.device {
            DeviceArg::Auto => Device::Auto,
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Gpu => Device::Gpu,
        },
        gpu_memory: args.gpu_memory.saturating_mul(1 << 20),
        progress: !args.quiet,
        stage_times: args.stage_times,
        shard,
        resume: args.resume,
        overwrite: args.overwrite,
    };
    let shard = cfg.shard;
    match engine::run(&cfg) {
        Ok(report) => {
            if !args.quiet {
                eprintln!("{}", report.summary());
                eprintln!(
                    "seisbatch: outputs and report.json in {}",
                    args.output.display()
                );
            }
            // A shard that completed exits 0 even with failed traces: launchers treat a
            // non-zero rank as a crash (mpirun aborts the others). `seisbatch report`
            // gives the run's 3.
            if report.failed > 0 && shard.is_some() {
                if !args.quiet {
                    eprintln!(
                        "seisbatch: {} failures, reasons in {}; `seisbatch report {}` merges the shards",
                        report.failed,
                        args.output.join(shard.map(|s| s.report_name()).unwrap_or_default()).display(),
                        args.output.display()
                    );
                }
                ExitCode::SUCCESS
            } else if report.failed > 0 {
                if !args.quiet {
                    eprintln!(
                        "seisbatch: {} failures, reasons in {}",
                        report.failed,
                        args.output
                            .join(shard.map_or_else(|| "report.json".into(), |s| s.report_name()))
                            .display()
                    );
                }
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(RunError::Usage(m)) => {
            eprintln!("seisbatch: {m}");
            ExitCode::from(2)
        }
        Err(RunError::Fatal(m)) => {
            eprintln!("seisbatch: fatal: {m}");
            ExitCode::from(1)
        }
    }
}
