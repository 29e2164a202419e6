//! Command line: clap parses and validates; `RunArgs::config` turns a `run` command line into
//! the engine's `RunConfig` (reading only the pipeline file); `main` runs it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::engine::{self, Device, RunConfig};
use crate::limits::{self, self as seisbatch_limits};
use crate::pipeline::Pipeline;
use crate::read::mseed::Gaps;
use crate::write::Format;

pub use super::synth_args::SynthArgs;

#[derive(Debug, Parser)]
#[command(
    name = "seisbatch",
    version,
    about = "Process seismic waveforms in bulk with ObsPy-equal numerics",
    long_about = "seisbatch runs ObsPy-style processing chains (detrend, taper, remove_response, \
filter, resample, interpolate, decimate) over many miniSEED traces and writes SAC or miniSEED, \
with the same numbers as ObsPy 1.5.1.\n\n\
Exit codes: 0 every trace succeeded; 3 the run completed but some traces failed (all listed in \
report.json); 2 usage or configuration error; 1 fatal error.",
    after_help = "Example:\n  seisbatch run examples/forum_chain.toml --input examples/data --output out"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline file over miniSEED input and write processed traces plus report.json.
    #[command(after_help = "Examples:\n  \
seisbatch run examples/forum_chain.toml --input examples/data --output out\n  \
seisbatch run chain.toml --input waveforms/ --inventory stations/ --output out --format mseed --jobs 8\n  \
seisbatch run chain.toml --input waveforms/ --output out --device gpu --gpu-memory 8192\n\n\
Input layouts: one miniSEED file; a folder searched recursively for miniSEED files (by content: \
SDS archives and files without an extension too; everything else is skipped and named in the \
report); an event tree EVENT/raw/* with EVENT/resp/* StationXML (MassDownloader, obspyDMT), \
where each event's traces use their own resp folder before --inventory. Regular files only; \
symbolic links to outside the input are followed, each folder and file read once.\n\
Outputs: OUTPUT/<input sub-folder, a final 'raw' dropped>/NET.STA.LOC.CHA__START__END.<sac|mseed> \
(codes escaped: any byte but A-Z a-z 0-9 - written %XX), and OUTPUT/report.json listing every \
failed trace, every damaged part of an input and every skipped path with its reason. OUTPUT \
must not be the input folder or hold it; inside it, it is left out of the walk. One run at a \
time writes into an OUTPUT (a lock), and --resume must use the run's own settings.")]
    Run(Box<RunArgs>),
    /// Write a synthetic MassDownloader-shaped data set (miniSEED + StationXML) for demos
    /// and benchmarks; deterministic for a seed.
    #[command(after_help = "Example:\n  \
seisbatch synth --output synth --events 100 --stations 20 --bad-fraction 0.01\n  \
seisbatch run examples/forum_chain.toml --input synth --output out\n\n\
Layout: DIR/event_NNNNN/raw/SY.SNNNN..?H?__START__END.mseed (Steim2, 512- and 4096-byte records) \
and DIR/event_NNNNN/resp/SY.SNNNN.xml (poles/zeros, digitiser gain, decimating FIR). Bad traces \
cycle through a truncated file, a response epoch that ended before the event, and a corrupt record.")]
    Synth(SynthArgs),
    /// Run a pipeline over a data set on each path (cpu, gpu) and print where the time goes:
    /// traces/s, Msamples/s, seconds per stage, peak memory; also written as JSON.
    #[command(after_help = "Example:\n  \
seisbatch synth --output synth --events 50 --stations 10\n  \
seisbatch bench examples/forum_chain.toml --input synth --json bench.json\n\n\
Each path runs as its own `seisbatch run` process (so peak memory is that path's alone), \
writing to a temporary folder that is removed afterwards. Stage seconds are thread-seconds \
summed over workers: stages overlap, so they add up to more than the wall time.")]
    Bench(BenchArgs),
    /// Merge the shard reports (report.K-of-N.json) of a sharded run into report.json; print
    /// the totals, the failures by reason, and any shard that has not reported.
    #[command(after_help = "Example:\n  \
mpirun -np 3 seisbatch run chain.toml --input data --output out --shard auto\n  \
seisbatch report out\n\n\
Exit codes: 0 all shards reported and every trace succeeded; 3 all reported, some traces failed; \
4 a shard has not reported (it may still be running, or it died: run it again with --resume); \
2 no shard reports in DIR.")]
    Report(ReportArgs),
    /// Print the compiled plan for one trace shape: the stages with their parameters, output
    /// length and rate, FFT lengths, ObsPy's warnings or error for this shape; with --device
    /// gpu also the dispatches, workgroup memory and the modeled device-memory traffic per
    /// trace. Reads no data and opens no device.
    #[command(after_help = "Examples:\n  \
seisbatch plan examples/forum_chain.toml --npts 120000 --sampling-rate 100\n  \
seisbatch plan examples/forum_chain.toml --npts 120000 --sampling-rate 100 --device gpu --json\n  \
seisbatch plan examples/noise/noise.toml --correlate --stations 100 --sampling-rate 20\n\n\
With --correlate the file is correlate's configuration: a chunk's windows, correlations, \
memory and modeled device traffic for that many stations.\n\n\
The GPU model assumes an adapter with SHADER_F64 (filters on the device); --cpu-stages shows \
the plan with those stages on their CPU twins, as `run --cpu-stages` would run it.")]
    Plan(PlanArgs),
    /// Index a continuous archive (SDS or any folder of miniSEED) from its record headers:
    /// per channel, its contiguous segments with file, byte range, times, rate, samples and
    /// encoding, written as Parquet (MsPASS's wf_miniseed columns and ours). Indexing again
    /// into the same catalog reads only files whose size or modification time changed.
    #[command(after_help = "Examples:\n  \
seisbatch index /data/SDS --output sds.parquet\n  \
seisbatch run chain.toml --catalog sds.parquet --segment 86400 --output days\n\n\
In Python: pyarrow.parquet.read_table('sds.parquet').to_pandas(); one row per segment, \
starttime/endtime as epoch seconds, dir + dfile the file, foff/nbytes its bytes.")]
    Index(IndexArgs),
    /// Cross-correlate ambient noise as NoisePy does (its S1 step on the CPU path): every
    /// channel's chunk (a day by default) cut into windows, normalised and whitened once,
    /// every pair of stations and requested component pair correlated over the windows both
    /// kept; per chunk and stacked over the run, as SAC.
    #[command(after_help = "Examples:\n  \
seisbatch run prep.toml --input /data/SDS --segment 86400 --format mseed --output prep\n  \
seisbatch correlate noise.toml --input prep --inventory stations/ --output cc\n\n\
noise.toml holds NoisePy's parameters (cc_len, step, inc_hours, freqmin, freqmax, time_norm, \
freq_norm, smooth_n, smoothspect_n, cc_method, maxlag, max_over_std, substack), components \
([\"ZZ\"] or [\"all\"]), max_distance_km, stack_method (linear or pws), substack_len, rotation, \
acorr_only, xcorr_only and asdf (NoisePy's ASDF layout too); every \
key optional. `seisbatch plan CONFIG --correlate` models a chunk before a run. \
Outputs: OUTPUT/<chunk>/<SOURCE>_<RECEIVER>/<CS><CR>.sac, OUTPUT/stack/..., OUTPUT/correlate.json. \
Lag 0 is SAC's o; noise reaching the receiver d s after the source peaks at +d.")]
    Correlate(super::correlate::CorrelateArgs),
    /// Quality control you can look at: per channel and day the metrics ISPAQ names
    /// (availability, gaps, overlaps, sample statistics, noise-model percentages, dead-channel
    /// flags), each channel's probabilistic PSD as ObsPy's PPSD computes it against Peterson's
    /// NLNM/NHNM, and one self-contained report.html with the pictures (also as PNG and SVG)
    /// and the metrics (CSV, JSON).
    #[command(after_help = super::qc::AFTER_HELP)]
    Qc(super::qc::QcArgs),
    /// List the GPU adapters wgpu finds, in the order `--gpu-index` takes them: hardware
    /// first, then by PCI bus id; name, backend, type, driver, SHADER_F64 and limits.
    #[command(
        after_help = "Examples:\n  seisbatch adapters\n  seisbatch adapters --json\n\n\
One process per GPU: srun --ntasks-per-node=4 --gres=gpu:4 seisbatch run chain.toml --input data \
--output out --device gpu --gpu-index auto --shard auto"
    )]
    Adapters(AdaptersArgs),
}

#[derive(Debug, clap::Args)]
pub struct AdaptersArgs {
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// The archive's folder, or its prefix in object storage (s3://bucket/prefix).
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// The catalog to write, a file or s3://bucket/key (an earlier catalog of the same
    /// archive there is updated).
    #[arg(long, value_name = "CATALOG.parquet")]
    pub output: PathBuf,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub s3: super::s3args::S3Args,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The pipeline (or with --correlate, correlate's CONFIG.toml).
    #[arg(value_name = "PIPELINE.toml")]
    pub pipeline: PathBuf,
    /// Samples of the trace.
    #[arg(long, value_name = "N", required_unless_present = "correlate")]
    pub npts: Option<usize>,
    /// The file is correlate's configuration: print a chunk's windows, pairs, memory and
    /// modeled device traffic for --stations stations at --sampling-rate.
    #[arg(long, requires = "stations")]
    pub correlate: bool,
    /// Stations (with --correlate).
    #[arg(long, value_name = "N")]
    pub stations: Option<usize>,
    /// Its sampling rate.
    #[arg(long, value_name = "HZ")]
    pub sampling_rate: f64,
    /// Its start (ISO 8601 UTC); matters only to interpolate with an absolute starttime.
    #[arg(long, value_name = "TIME", default_value = "2014-01-01T00:00:00")]
    pub start: String,
    /// Which executor's plan: cpu (the stages) or gpu (also the device program).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// As `run --cpu-stages`.
    #[arg(long, value_delimiter = ',', value_name = "STAGES")]
    pub cpu_stages: Vec<String>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The output folder the shards wrote to.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[arg(value_name = "PIPELINE.toml")]
    pub pipeline: PathBuf,
    /// Data set: as `run --input`.
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// As `run --inventory`.
    #[arg(long, value_name = "PATH")]
    pub inventory: Option<PathBuf>,
    /// As `run --events`.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Paths to measure, in order [default: cpu,gpu, the gpu path only on a hardware
    /// adapter: a software one (lavapipe, llvmpipe) is measured only when named here].
    #[arg(long, value_delimiter = ',')]
    pub devices: Option<Vec<DeviceArg>>,
    /// Worker threads for each run (default: all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// As `run --gpu-memory`.
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub gpu_memory: u64,
    /// Also write the table as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Sac,
    Mseed,
    /// ASDF (HDF5), one file per event, as pyasdf reads it.
    Asdf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GapsArg {
    Split,
    Zeros,
    Interpolate,
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    PerTrace,
    PerEvent,
    /// One ASDF data set for the whole run (OUTPUT/dataset.h5).
    Dataset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Auto,
    Cpu,
    Gpu,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Pipeline file: TOML with one [[step]] table per operation, ObsPy's keyword names and
    /// defaults (e.g. op = "taper", max_percentage = 0.05).
    #[arg(value_name = "PIPELINE.toml")]
    pub pipeline: PathBuf,
    /// A miniSEED file, a folder of files, or a MassDownloader tree (EVENT/raw + EVENT/resp).
    /// With --window or --segment: a continuous archive (SDS or any folder of miniSEED).
    #[arg(long, value_name = "PATH", required_unless_present = "catalog")]
    pub input: Option<PathBuf>,
    /// An archive's index (`seisbatch index`), instead of --input: its files are not walked
    /// and their headers not read again. Needs --window or --segment.
    #[arg(long, value_name = "CATALOG.parquet", conflicts_with = "input")]
    pub catalog: Option<PathBuf>,
    /// Cut the archive into one window, START/END as ISO times (each channel's records from
    /// every file that holds them, joined as ObsPy's merge(-1), trimmed as trim(START, END));
    /// with --events, origin-S/origin+S gives one window per event.
    #[arg(long, value_name = "START/END", conflicts_with = "segment")]
    pub window: Option<String>,
    /// Cut the archive into windows of this many seconds (e.g. 86400 for days, 3600 with
    /// --step 1800 for NoisePy's cc_len/step), from --start (default: the first data's UTC
    /// midnight) to --end (default: the last data).
    #[arg(long, value_name = "SECONDS")]
    pub segment: Option<f64>,
    /// Seconds from one --segment window's start to the next (default: --segment).
    #[arg(long, value_name = "SECONDS", requires = "segment")]
    pub step: Option<f64>,
    /// First --segment window's start (ISO time).
    #[arg(long, value_name = "TIME", requires = "segment")]
    pub start: Option<String>,
    /// No --segment window starts at or after this (ISO time).
    #[arg(long, value_name = "TIME", requires = "segment")]
    pub end: Option<String>,
    /// Host memory the CPU path may take, in GB (default: three quarters of the machine's, or
    /// of the container's limit): each input is admitted with its modeled peak (256 bytes per
    /// input sample) while it fits beside those in flight, so more --jobs never take more.
    #[arg(long, value_name = "GB")]
    pub memory: Option<f64>,
    /// A window whose data cover less than this share of it (0 to 1) is reported with its
    /// coverage and not processed (default 0: any data is processed).
    #[arg(long, value_name = "FRACTION")]
    pub min_coverage: Option<f64>,
    /// Output folder (created if missing); gets the processed traces and report.json. Or
    /// s3://bucket/prefix: written into --stage and published as outputs complete.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// With an s3:// --output: the local folder the run writes before publishing (default: a
    /// folder under the system's temporary folder named after the bucket and prefix). Kept
    /// after the run; on the same machine, --resume needs nothing from the bucket.
    #[arg(long, value_name = "DIR")]
    pub stage: Option<PathBuf>,
    /// With an s3:// --output: seconds between publishing rounds while the run goes on.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub s3_sync_seconds: f64,
    #[command(flatten)]
    pub s3: super::s3args::S3Args,
    /// StationXML file or folder of *.xml applied to every trace (after an event's own resp/).
    #[arg(long, value_name = "PATH")]
    pub inventory: Option<PathBuf>,
    /// Event origins for event folders (EVENT/raw/*), for `origin+S` trim bounds: a CSV with
    /// the header folder,time,latitude,longitude,depth_km (extra columns ignored), or a
    /// QuakeML catalog whose events name their folder by the last segment of their publicID.
    /// An EVENT/event.xml (QuakeML, one event) wins for its folder.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// ASDF inputs: read only waveforms with this tag (repeat for several; default: every
    /// tag). An ASDF file is read one station at a time, with the StationXML and the QuakeML
    /// event it holds.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// --format asdf: the tag of the waveforms written (pyasdf's `tag`).
    #[arg(long, value_name = "TAG", default_value = crate::write::asdf::DEFAULT_TAG)]
    pub output_tag: String,
    /// Output format: SAC (little-endian, as ObsPy writes it; the default) or miniSEED
    /// (float32, 4096-byte records, miniSEED 3 for codes miniSEED 2 cannot hold; what --layout
    /// per-event writes).
    /// Or ASDF: one HDF5 file per event with each station's StationXML, as pyasdf reads it.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// per-trace: one file per trace (MassDownloader's names). per-event: one multi-trace
    /// miniSEED per event folder (EVENT/raw/* -> OUTPUT/EVENT/EVENT.mseed), or per input file
    /// for other inputs: thousands of times fewer files for a file system to hold. dataset:
    /// one ASDF data set for the whole run (OUTPUT/dataset.h5; implies --format asdf).
    #[arg(long, value_enum, default_value_t = LayoutArg::PerTrace)]
    pub layout: LayoutArg,
    /// A gap between records of one channel: split (each contiguous segment its own trace, as
    /// ObsPy's read gives them), zeros or interpolate (filled up to --max-gap, as ObsPy's
    /// merge(fill_value=0 | "interpolate"), longer gaps split; each fill is a warning), or
    /// reject (the channel fails, the gap named). Overlaps always split. Recorded in report.json.
    #[arg(long, value_enum, default_value_t = GapsArg::Split)]
    pub gaps: GapsArg,
    /// Longest gap --gaps zeros|interpolate fills, in seconds (default 1); longer gaps split
    /// the trace, each said in a warning. Only with --gaps zeros or interpolate.
    #[arg(long, value_name = "SECONDS")]
    pub max_gap: Option<f64>,
    /// Most samples one trace may hold, when read (filled gaps included) and after every step;
    /// a longer one fails with the reason. An input file may decode to 4x this and hold 16 bytes
    /// per sample of it (default 33554432: 3.9 days at 100 Hz; a 100 Hz day file is 8.6
    /// million).
    #[arg(long, value_name = "N", default_value_t = seisbatch_limits::DEFAULT_MAX_SAMPLES)]
    pub max_samples: usize,
    /// Where to compute: auto uses a hardware GPU when wgpu finds one (Vulkan, Metal, DX12),
    /// else the CPU path, and says why; gpu uses any adapter, a software one (lavapipe)
    /// included, and is an error without one; cpu never touches a GPU. Steps without a GPU
    /// kernel, and any batch the device fails, run on the CPU path with a warning in
    /// report.json.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Device memory the GPU path may use, in MiB: the batches in flight and the response
    /// tables (from 512 up, shared by two executor loops so the device never waits for one).
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub gpu_memory: u64,
    /// Which GPU: its index in `seisbatch adapters`, or auto for the launcher's local rank
    /// (SLURM_LOCALID, OMPI_COMM_WORLD_LOCAL_RANK, ...) over the node's GPUs: one process per
    /// GPU, each with its --shard (default: the best adapter).
    #[arg(long, value_name = "K|auto", conflicts_with = "gpus")]
    pub gpu_index: Option<String>,
    /// Several GPUs fed by one process: all, the first N, or indices K,K (each with its own
    /// --gpu-memory; the batches go to whichever device is free).
    #[arg(long, value_name = "all|N|K,K")]
    pub gpus: Option<String>,
    /// Worker threads (default: all cores; at most 1024). --jobs 1 is the serial debugging
    /// path.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print nothing but errors (the summary line included).
    #[arg(long)]
    pub quiet: bool,
    /// Process one share of the inputs: K/N (0-based K of N processes), or auto to read it from
    /// the launcher (Slurm array or srun, Open MPI, MPICH/PMI, PMIx, Kubernetes Indexed Job,
    /// AWS Batch array). Whole output folders, balanced by bytes; N shards together write what
    /// one run writes, each with its own report.K-of-N.json (merge: `seisbatch report DIR`).
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<String>,
    /// After the run, a quality-control report in OUTPUT/qc (as `seisbatch qc` of the input,
    /// the run's failures, and a few outputs beside their raw data). Not with --shard: run
    /// `seisbatch qc` when every shard is done.
    #[arg(long, conflicts_with = "shard")]
    pub qc: bool,
    /// Finish an interrupted run into the same --output: inputs its journal lists as finished
    /// are skipped (their part of the report kept), everything else is done again.
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Run again into an --output an earlier run wrote: outputs of the same name are replaced,
    /// the journal and report start over. Without --resume or --overwrite a run refuses a
    /// folder that is not empty.
    #[arg(long)]
    pub overwrite: bool,
    /// N for --shard auto where the launcher gives only the index (Kubernetes Indexed Jobs:
    /// the Job's completions).
    #[arg(long, value_name = "N")]
    pub shard_count: Option<usize>,
    /// Time each GPU stage with timestamp queries (report.json stage_seconds.gpu_kernels);
    /// `seisbatch bench` sets it.
    #[arg(long, hide = true)]
    pub stage_times: bool,
    /// Debugging: on the GPU path, run these stages (comma-separated: detrend, taper,
    /// deconvolve, filter, resample, interpolate, decimate) through their CPU twins and the
    /// rest on the device, to find which stage a GPU/CPU difference comes from.
    #[arg(long, value_delimiter = ',', value_name = "STAGES")]
    pub cpu_stages: Vec<String>,
}

impl RunArgs {
    /// The command line -> a run's configuration (the pipeline file read and validated), or
    /// a usage error (exit 2; nothing is processed or written).
    pub fn config(&self) -> Result<RunConfig, String> {
        run_config(self)
    }
}

/// `--gpu-index` or `--gpus` -> the run's adapters.
fn gpus_of(args: &RunArgs) -> Result<engine::Gpus, String> {
    let cpu = args.device == DeviceArg::Cpu;
    if let Some(g) = &args.gpus {
        if cpu {
            return Err("--gpus: --device cpu uses no GPU".into());
        }
        return engine::Gpus::parse(g);
    }
    let k = super::gpu_flag::gpu_index(args.gpu_index.as_deref(), cpu, args.quiet)?;
    Ok(k.map_or(engine::Gpus::Best, engine::Gpus::Index))
}

fn run_config(args: &RunArgs) -> Result<RunConfig, String> {
    let pipeline = Pipeline::from_file(&args.pipeline).map_err(|e| e.to_string())?;
    if !args.quiet {
        for w in &pipeline.warnings {
            crate::console::errln!("seisbatch: warning: {w}");
        }
    }
    let shard = crate::shard::from_flag(args.shard.as_deref(), args.shard_count, args.quiet)?;
    let max_gap = args.max_gap.unwrap_or(1.0);
    if !(max_gap.is_finite() && max_gap >= 0.0) {
        return Err("--max-gap must be a number of seconds >= 0".into());
    }
    let gaps =
        match args.gaps {
            GapsArg::Zeros => Gaps::Zeros { max_gap },
            GapsArg::Interpolate => Gaps::Interpolate { max_gap },
            GapsArg::Split | GapsArg::Reject if args.max_gap.is_some() => return Err(
                "--max-gap applies to --gaps zeros or --gaps interpolate (the gaps they fill); \
                 --gaps split and reject fill nothing"
                    .into(),
            ),
            GapsArg::Split => Gaps::Split,
            GapsArg::Reject => Gaps::Reject,
        };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let jobs = args.jobs.unwrap_or(cores);
    if jobs == 0 || jobs > limits::MAX_JOBS {
        return Err(format!(
            "--jobs must be 1 to {} (this machine has {cores} cores)",
            limits::MAX_JOBS
        ));
    }
    if args.max_samples == 0 || args.max_samples > limits::MAX_MAX_SAMPLES {
        return Err(format!(
            "--max-samples must be 1 to {}",
            limits::MAX_MAX_SAMPLES
        ));
    }
    check_stages(&args.cpu_stages)?;
    crate::gpu::fft_from_env()?;
    crate::write::asdf::check_tags(&args.tags, &args.output_tag)?;
    let format = match (args.format, args.layout) {
        (Some(FormatArg::Sac), LayoutArg::PerEvent) => return Err("--layout per-event writes multi-trace miniSEED; SAC holds one trace per file (drop --format sac, or use --layout per-trace)".into()),
        (Some(FormatArg::Sac | FormatArg::Mseed), LayoutArg::Dataset) => return Err("--layout dataset writes one ASDF data set (--format asdf, or leave --format out)".into()),
        (Some(FormatArg::Asdf), _) | (None, LayoutArg::Dataset) => Format::Asdf,
        (Some(FormatArg::Mseed), _) | (None, LayoutArg::PerEvent) => Format::Mseed,
        (Some(FormatArg::Sac) | None, LayoutArg::PerTrace) => Format::Sac,
    };
    let (input, archive) = archive_run(args)?;
    let memory = match args.memory {
        None => None,
        Some(gb) if gb.is_finite() && gb > 0.0 && gb <= 1e6 => Some((gb * 1e9) as u64),
        Some(gb) => return Err(format!("--memory must be a number of GB > 0, got {gb}")),
    };
    Ok(RunConfig {
        pipeline,
        input,
        archive,
        memory,
        output: args.output.clone(),
        inventory: args.inventory.clone(),
        events: args.events.clone(),
        tags: args.tags.clone(),
        output_tag: args.output_tag.clone(),
        format,
        gaps,
        layout: match args.layout {
            LayoutArg::PerTrace => engine::Layout::PerTrace,
            LayoutArg::PerEvent => engine::Layout::PerEvent,
            LayoutArg::Dataset => engine::Layout::Dataset,
        },
        jobs,
        device: match args.device {
            DeviceArg::Auto => Device::Auto,
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Gpu => Device::Gpu,
        },
        gpu_memory: args.gpu_memory.saturating_mul(1 << 20),
        gpus: gpus_of(args)?,
        progress: !args.quiet,
        stage_times: args.stage_times,
        shard,
        resume: args.resume,
        overwrite: args.overwrite,
        max_samples: args.max_samples,
        cpu_stages: args.cpu_stages.clone(),
        watch: None,
        hook: None,
    })
}

/// `--cpu-stages` names stages of the stage table.
pub fn check_stages(stages: &[String]) -> Result<(), String> {
    match stages
        .iter()
        .find(|s| !crate::stages::stage_names().any(|n| n == s.as_str()))
    {
        Some(bad) => Err(format!(
            "--cpu-stages: no stage `{bad}` (stages: {})",
            crate::stages::stage_names().collect::<Vec<_>>().join(", ")
        )),
        None => Ok(()),
    }
}

/// `--input`/`--catalog` and the window flags -> the input root and the archive request.
fn archive_run(args: &RunArgs) -> Result<(PathBuf, Option<engine::ArchiveRun>), String> {
    use crate::archive::windows::Request;
    let request = match (&args.window, args.segment) {
        (Some(w), _) => Some(Request::parse_window(w)?),
        (None, Some(len)) => Some(Request::segments(
            len,
            args.step,
            args.start.as_deref(),
            args.end.as_deref(),
        )?),
        (None, None) => None,
    };
    let min_coverage = args.min_coverage.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&min_coverage) {
        return Err("--min-coverage must be a share from 0 to 1".into());
    }
    if request.is_none() && (args.min_coverage.is_some() || args.catalog.is_some()) {
        return Err(
            "--catalog and --min-coverage are for archive windows: give --window START/END or --segment SECONDS"
                .into(),
        );
    }
    let input = match (&args.input, &args.catalog) {
        (Some(i), _) if request.is_none() && crate::store::is_remote(i) => {
            super::fetch_input::fetch_input(i, args.quiet)?
        }
        (Some(i), _) => i.clone(),
        (None, Some(c)) => crate::archive::catalog::root_of(c)?,
        (None, None) => {
            return Err("give --input PATH (or --catalog with --window/--segment)".into())
        }
    };
    Ok((
        input,
        request.map(|request| engine::ArchiveRun {
            request,
            catalog: args.catalog.clone(),
            min_coverage,
        }),
    ))
}
