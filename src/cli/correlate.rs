//! `seisbatch correlate` (its arguments and the command) and `seisbatch plan CONFIG
//! --correlate` (the run's model, `crate::correlate::model`): the noise commands beside the
//! others (`commands`), one file for the flags and the messages of one job.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::console::{errln, outln};

#[derive(Debug, clap::Args)]
pub struct CorrelateArgs {
    /// The correlation's parameters (TOML).
    #[arg(value_name = "CONFIG.toml")]
    pub config: PathBuf,
    /// The archive (any folder of miniSEED, preprocessed: `run --segment 86400 --format mseed`
    /// writes one).
    #[arg(
        long,
        value_name = "ARCHIVE",
        required_unless_present = "catalog",
        conflicts_with = "catalog"
    )]
    pub input: Option<PathBuf>,
    /// Its catalog (`seisbatch index`) instead.
    #[arg(long, value_name = "CATALOG.parquet")]
    pub catalog: Option<PathBuf>,
    #[command(flatten)]
    pub s3: super::s3args::S3Args,
    /// A new or empty folder for the correlations.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Finish the run that wrote OUTPUT (same configuration and inputs).
    #[arg(long)]
    pub resume: bool,
    /// StationXML (a file or a folder of them): coordinates for dist/az/baz,
    /// max_distance_km and rotation.
    #[arg(long, value_name = "PATH")]
    pub inventory: Option<PathBuf>,
    /// First chunk's start (ISO time; default: the first data's UTC midnight).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Last chunk's end (ISO time; default: the last data).
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// GB one chunk's spectra may take (default: three quarters of the machine's memory).
    #[arg(long, value_name = "GB")]
    pub memory: Option<f64>,
    /// Correlate block K of N of the station pairs (0-based; N processes into one --output
    /// write what one run writes), or auto from the launcher as `run --shard`.
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<String>,
    /// N for --shard auto where the launcher gives only the index.
    #[arg(long, value_name = "N")]
    pub shard_count: Option<usize>,
    /// Where pairs are correlated: cpu, gpu (any adapter) or auto (a hardware GPU where there
    /// is one); the device takes xcorr averaged per chunk, the rest runs on the CPU path.
    #[arg(long, value_name = "cpu|gpu|gpu:K|auto", default_value = "auto")]
    pub device: String,
    /// Which GPU: its index in `seisbatch adapters`, or auto for the launcher's local rank (as
    /// `run --gpu-index`); the same as --device gpu:K.
    #[arg(long, value_name = "K|auto")]
    pub gpu_index: Option<String>,
    /// MiB of device memory the pairs may use (a chunk's spectra, one batch of pairs).
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub gpu_memory: u64,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

pub(super) fn correlate(a: CorrelateArgs) -> ExitCode {
    let usage = |e: String| {
        errln!("seisbatch correlate: {e}");
        ExitCode::from(2)
    };
    if let Err(e) = a.s3.apply() {
        return usage(e);
    }
    let config = match crate::correlate::Config::read(&a.config) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let time = |t: &Option<String>, flag: &str| match t {
        None => Ok(None),
        Some(s) => crate::limits::parse_time(s)
            .map(Some)
            .map_err(|e| format!("{flag} {s}: {e}")),
    };
    let (start_ns, end_ns) = match (time(&a.start, "--start"), time(&a.end, "--end")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return usage(e),
    };
    let memory = match a.memory {
        None => crate::engine::memory::default_budget(),
        Some(gb) if gb.is_finite() && gb > 0.0 && gb < 1e6 => (gb * 1e9) as u64,
        Some(gb) => return usage(format!("--memory {gb}: a positive number of GB")),
    };
    let shard = match crate::shard::from_flag(a.shard.as_deref(), a.shard_count, a.quiet) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let device = match crate::correlate::DeviceChoice::parse(&a.device) {
        Ok(d) => d,
        Err(e) => return usage(e),
    };
    let cpu = device == crate::correlate::DeviceChoice::Cpu;
    let device = match super::gpu_flag::gpu_index(a.gpu_index.as_deref(), cpu, a.quiet) {
        Ok(Some(k)) => crate::correlate::DeviceChoice::Index(k),
        Ok(None) => device,
        Err(e) => return usage(e),
    };
    if a.gpu_memory == 0 || a.gpu_memory > 1 << 24 {
        return usage(format!("--gpu-memory {}: 1 to 16777216 MiB", a.gpu_memory));
    }
    let args = crate::correlate::Args {
        config,
        shard,
        device,
        gpu_memory: a.gpu_memory << 20,
        input: a.input,
        catalog: a.catalog,
        output: a.output,
        inventory: a.inventory,
        start_ns,
        end_ns,
        memory,
        resume: a.resume,
    };
    match crate::correlate::run(&args) {
        Ok(s) => {
            if !a.quiet {
                outln!(
                    "correlated {} chunks ({} kept from an earlier run): {} channel-chunks ({} windows kept, {} over max_over_std), {} correlations, {} pair-chunks without a common window, {} channel-chunks skipped; {} stacks ({} rotated, {} chunk rows rejected); {} files in {}",
                    s.chunks,
                    s.chunks_resumed,
                    s.channel_chunks,
                    s.windows_kept,
                    s.windows_dropped,
                    s.correlations,
                    s.pairs_missing,
                    s.skipped_count,
                    s.stacks.stacks,
                    s.stacks.rotated,
                    s.stacks.rows_rejected,
                    s.files_written,
                    args.output.display()
                );
                for (chunk, ch, why) in s.skipped.iter().take(20) {
                    outln!("  skipped {chunk} {ch}: {why}");
                }
                for why in s.records_redone.iter().take(20) {
                    outln!("  chunk done again: {why}");
                }
                for (pair, why) in s.stacks.not_rotated.iter().take(20) {
                    outln!("  not rotated {pair}: {why}");
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("seisbatch correlate: {e}");
            ExitCode::from(1)
        }
    }
}

/// `seisbatch plan CONFIG --correlate --stations N --sampling-rate HZ [--json]`.
pub(super) fn plan(config: &std::path::Path, stations: usize, rate: f64, json: bool) -> ExitCode {
    let usage = |e: String| {
        errln!("seisbatch plan: {e}");
        ExitCode::from(2)
    };
    let cfg = match crate::correlate::Config::read(config) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let m = match crate::correlate::model::model(&cfg, rate, stations) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    if json {
        match serde_json::to_string_pretty(&m) {
            Ok(s) => outln!("{s}"),
            Err(e) => return usage(e.to_string()),
        }
        return ExitCode::SUCCESS;
    }
    let mb = |b: u64| b as f64 / 1e6;
    outln!(
        "correlate, per chunk of {} s: {} stations, {} channels at {} Hz",
        m.chunk_seconds,
        m.stations,
        m.channels,
        m.sampling_rate
    );
    outln!(
        "  windows: {} of {} samples, nfft {} ({} bins kept), {} lags a row",
        m.windows,
        m.window_samples,
        m.nfft,
        m.bins,
        m.lags
    );
    outln!(
        "  correlations: {}, pair-windows: {}; host spectra {:.1} MB (--memory), SAC out {:.1} MB",
        m.correlations,
        m.pair_windows,
        mb(m.host_spectra_bytes),
        mb(m.output_bytes)
    );
    match m.cpu_only {
        Some(why) => outln!("  device: none ({why})"),
        None => outln!(
            "  device (modeled traffic): {:.1} MB uploaded, {} B a pair-window, {} B a pair, {:.1} MB read back; {:.1} GB a chunk",
            mb(m.device_upload_bytes),
            m.device_bytes_per_pair_window,
            m.device_bytes_per_pair,
            mb(m.device_download_bytes),
            m.device_bytes_per_chunk as f64 / 1e9
        ),
    }
    ExitCode::SUCCESS
}
