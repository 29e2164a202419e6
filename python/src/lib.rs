//! `seisbatch._seisbatch`: the Rust side of the Python package (python/seisbatch/ wraps it).
//! Arrays come in as float64 numpy arrays with plain stats; the work runs with the GIL
//! released; results go back as new arrays (ObsPy keeps its input Stream unchanged too).

mod archive_pairs;
mod call;
mod dataset;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use seisbatch::exec::Executor;
use seisbatch::inventory::ResponseSource;
use seisbatch::inventory::{Inventories, Inventory};
use seisbatch::pipeline::Pipeline;
use seisbatch::plan::Planner;
use seisbatch::response::cache::ResponseCache;
use seisbatch::trace::Trace;

/// A trace as Python hands it over: samples, network, station, location, channel, start (ns
/// since the epoch), sampling rate.
type PyTrace<'py> = (
    PyReadonlyArray1<'py, f64>,
    String,
    String,
    String,
    String,
    i64,
    f64,
);
type OutTrace<'py> = (
    Bound<'py, PyArray1<f64>>,
    String,
    String,
    String,
    String,
    i64,
    f64,
);

fn pipeline(toml: &str) -> PyResult<Pipeline> {
    Pipeline::parse(toml).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Checks a pipeline; returns its warnings, or raises ValueError naming the step and key.
#[pyfunction]
fn check(toml: &str) -> PyResult<Vec<String>> {
    Ok(pipeline(toml)?.warnings)
}

/// The inventory a process call looks responses and coordinates up in.
struct Source<'a> {
    inv: Inventories<'a>,
    event: Option<seisbatch::events::Event>,
    /// The call's Ctrl-C (`call::run`).
    cancel: &'a AtomicBool,
}

impl ResponseSource for Source<'_> {
    fn response_at(
        &self,
        codes: seisbatch::trace::Codes,
        time_ns: i64,
    ) -> Result<(usize, Arc<seisbatch::response::Response>), seisbatch::error::TraceError> {
        self.inv.response_at(codes, time_ns)
    }

    fn coordinates(&self, tr: &Trace) -> Option<seisbatch::read::stationxml::Coordinates> {
        self.inv.coordinates_for(tr)
    }

    fn event(&self) -> Result<seisbatch::events::Event, &str> {
        self.event.ok_or("no event given (process(..., event=...))")
    }

    fn interrupted(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Parsed inventories by their StationXML text, the most recent first: a notebook calls
/// `process` again and again with one Inventory, and each parse would give its responses new
/// ids (so new response tables). At most `KEPT_INVENTORIES`, `KEPT_XML_BYTES` of text.
static INVENTORIES: std::sync::Mutex<Vec<(String, Arc<Inventory>)>> =
    std::sync::Mutex::new(Vec::new());
const KEPT_INVENTORIES: usize = 16;
const KEPT_XML_BYTES: usize = 64 << 20;

fn inventory(text: &str) -> PyResult<Arc<Inventory>> {
    let mut kept = INVENTORIES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(at) = kept.iter().position(|(t, _)| t == text) {
        let hit = kept.remove(at);
        let inv = hit.1.clone();
        kept.insert(0, hit);
        return Ok(inv);
    }
    drop(kept);
    let epochs = seisbatch::read::stationxml::parse(text)
        .map_err(|e| PyValueError::new_err(format!("inventory: {e}")))?;
    let inv = Arc::new(Inventory {
        epochs: vec![Arc::new(epochs)],
        looked_in: "the inventory given".into(),
        ..Default::default()
    });
    let mut kept = INVENTORIES.lock().unwrap_or_else(|e| e.into_inner());
    kept.insert(0, (text.to_string(), inv.clone()));
    let mut bytes = 0;
    let keep = kept
        .iter()
        .take(KEPT_INVENTORIES)
        .take_while(|(t, _)| {
            bytes += t.len();
            bytes <= KEPT_XML_BYTES
        })
        .count()
        .max(1);
    kept.truncate(keep);
    Ok(inv)
}

/// Response tables shared by every call (response ids are unique in the process; the cache
/// bounds its own size, `response::cache::MAX_CACHE_BYTES`).
fn responses() -> &'static ResponseCache {
    static CACHE: std::sync::OnceLock<ResponseCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(ResponseCache::default)
}

/// The device a call runs on: "cpu", "gpu" (any adapter, a software one included), "gpu:K"
/// (the adapter at K in `seisbatch adapters`) or "auto" (a hardware GPU, else the CPU).
/// Opened once per process and name and kept (`DEVICES`): opening compiles every kernel, so
/// a second call on the device compiles nothing.
fn device(name: &str) -> PyResult<Option<Arc<seisbatch::gpu::Gpu>>> {
    use seisbatch::gpu::Want;
    let want = if let Some(k) = name.strip_prefix("gpu:") {
        let k: usize = k.parse().map_err(|_| {
            PyValueError::new_err(format!("device={name:?}: gpu:K takes an adapter's index"))
        })?;
        Want::Index {
            index: k,
            software_ok: true,
        }
    } else {
        match name {
            "cpu" => return Ok(None),
            "gpu" => Want::Any,
            "auto" => Want::Hardware,
            other => {
                return Err(PyValueError::new_err(format!(
                    "device={other:?}: expected \"auto\", \"cpu\", \"gpu\" or \"gpu:K\""
                )))
            }
        }
    };
    match (open_cached(name, want), want) {
        (Ok(g), _) => Ok(Some(g)),
        // auto without a hardware GPU: the CPU path.
        (Err(_), Want::Hardware) => Ok(None),
        (Err(e), _) => Err(PyRuntimeError::new_err(format!("device={name:?}: {e}"))),
    }
}

/// The process's open devices by name, with the process id that opened them.
type Devices = Vec<(String, u32, Arc<seisbatch::gpu::Gpu>)>;
static DEVICES: std::sync::Mutex<Devices> = std::sync::Mutex::new(Vec::new());
/// Devices opened in this process (`devices_opened`, for the tests of the cache).
static OPENED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The device `want` names, from the cache where this process opened it and it still works.
/// One opened before a fork belongs to the parent: the child opens its own and never drops
/// the parent's (its driver threads are not in the child).
fn open_cached(
    name: &str,
    want: seisbatch::gpu::Want,
) -> Result<Arc<seisbatch::gpu::Gpu>, seisbatch::gpu::GpuError> {
    let pid = std::process::id();
    let mut devices = DEVICES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(at) = devices.iter().position(|(n, _, _)| n == name) {
        let (_, opened_by, g) = &devices[at];
        if *opened_by == pid && !g.is_lost() {
            return Ok(g.clone());
        }
        let (_, opened_by, g) = devices.remove(at);
        if opened_by != pid {
            std::mem::forget(g);
        }
    }
    let g = Arc::new(seisbatch::gpu::Gpu::new(want)?);
    OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    devices.push((name.to_string(), pid, g.clone()));
    Ok(g)
}

/// Devices this process has opened (a second call on an open device opens none).
#[pyfunction]
fn devices_opened() -> usize {
    OPENED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Samples per chunk the GPU path is handed between two looks at the cancel flag: enough to
/// fill its batches (2^24 samples is ~64 MB of f32).
const GPU_CHUNK_SAMPLES: usize = 1 << 24;

/// One planner's executor on the device or the CPU, stopping between traces (or chunks of
/// them) once `cancel` is set.
fn executor<'a>(
    p: &'a Planner,
    gpu: Option<&'a seisbatch::gpu::Gpu>,
    cache: &'a ResponseCache,
    cancel: &'a AtomicBool,
) -> Box<dyn Executor + Send + 'a> {
    match gpu {
        Some(g) => Box::new(call::Chunked {
            inner: Box::new(seisbatch::gpu::executor::Driver::new(
                g,
                seisbatch::engine::DEFAULT_GPU_MEMORY,
                p,
                cache,
            )),
            cancel,
            samples: GPU_CHUNK_SAMPLES,
        }),
        None => Box::new(Parallel {
            cpu: seisbatch::exec::cpu::Cpu {
                planner: p,
                cache,
                clock: None,
            },
            cancel,
        }),
    }
}

/// The CPU executor over a call's traces on the call's pool (the engine runs one `Cpu` per
/// worker thread instead; a Python call is one caller with many traces).
struct Parallel<'a> {
    cpu: seisbatch::exec::cpu::Cpu<'a>,
    cancel: &'a AtomicBool,
}

impl Executor for Parallel<'_> {
    fn process(
        &mut self,
        traces: Vec<Trace>,
        sources: &seisbatch::exec::Sources,
    ) -> Vec<seisbatch::exec::Outcome> {
        use rayon::prelude::*;
        let (cpu, cancel) = (&self.cpu, self.cancel);
        traces
            .into_par_iter()
            .enumerate()
            .map(|(i, mut tr)| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(call::cancelled());
                }
                cpu.run_trace(&mut tr, sources[i]).map(|w| (tr, w))
            })
            .collect()
    }
}

/// Runs `steps` over `traces`: per trace, the processed trace or (id, start, reason).
fn run_steps(
    steps: &[seisbatch::pipeline::Step],
    traces: Vec<Trace>,
    source: &Source,
    gpu: Option<&seisbatch::gpu::Gpu>,
    cancel: &AtomicBool,
) -> Vec<seisbatch::exec::Outcome> {
    let cache = responses();
    let segments = seisbatch::exec::grouped::Segments::of(steps, seisbatch::trace::Holds::F64);
    let make = |p| executor(p, gpu, cache, cancel);
    let sources: Vec<&dyn ResponseSource> = (0..traces.len())
        .map(|_| source as &dyn ResponseSource)
        .collect();
    if segments.rotates.is_empty() {
        return make(&segments.planned[0].1).process(traces, &sources);
    }
    let mut grouped = segments.grouped(make);
    grouped.process(traces, &sources)
}

/// process(toml, traces, stationxml, device, event) -> (results, failures, warnings):
/// results[i] is trace i processed or None (then failures holds its (id, start, reason)).
/// `event`: (origin ns, latitude, longitude, depth km) for origin-relative trims and
/// rotate's back-azimuth.
#[pyfunction]
#[pyo3(signature = (toml, traces, stationxml=None, device="auto", event=None, jobs=None))]
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn process<'py>(
    py: Python<'py>,
    toml: &str,
    traces: Vec<PyTrace<'py>>,
    stationxml: Option<&str>,
    device: &str,
    event: Option<(i64, f64, f64, f64)>,
    jobs: Option<usize>,
) -> PyResult<(
    Vec<Option<OutTrace<'py>>>,
    Vec<(String, String, String)>,
    Vec<String>,
)> {
    let p = pipeline(toml)?;
    let inv = match stationxml {
        Some(text) => inventory(text)?,
        None => Arc::new(Inventory {
            looked_in: "no inventory given".into(),
            ..Default::default()
        }),
    };
    let event = match event {
        Some((time_ns, latitude, longitude, depth_km)) => {
            if !(latitude.abs() <= 90.0 && longitude.abs() <= 180.0 && depth_km.is_finite()) {
                return Err(PyValueError::new_err(format!(
                    "event: latitude {latitude}, longitude {longitude}, depth {depth_km} km out of range"
                )));
            }
            Some(seisbatch::events::Event {
                time_ns,
                latitude,
                longitude,
                depth_km,
            })
        }
        None => None,
    };
    let gpu = self::device(device)?;
    let pool = call::pool(jobs)?;
    let input: Vec<Trace> = traces
        .iter()
        .map(|(a, net, sta, loc, cha, start_ns, rate)| Trace {
            network: net.clone(),
            station: sta.clone(),
            location: loc.clone(),
            channel: cha.clone(),
            start_ns: *start_ns,
            sampling_rate: *rate,
            // One copy in: the steps work in place on their own f64 buffer.
            data: a.as_array().to_vec(),
        })
        .collect();
    let ids: Vec<(String, String)> = input
        .iter()
        .map(|t| (t.id(), seisbatch::time::iso(t.start_ns)))
        .collect();
    for (t, (id, _)) in input.iter().zip(&ids) {
        if let Some(p) = seisbatch::limits::rate_problem(t.sampling_rate) {
            return Err(PyValueError::new_err(format!("{id}: sampling_rate: {p}")));
        }
    }
    drop(traces);
    let selected: Vec<bool> = input.iter().map(|t| p.selects(t)).collect();
    let kept: Vec<Trace> = input
        .into_iter()
        .zip(&selected)
        .filter_map(|(t, s)| s.then_some(t))
        .collect();
    let cancel = AtomicBool::new(false);
    let outcomes = call::run(py, &pool, &cancel, || {
        let source = Source {
            inv: Inventories {
                layers: vec![&*inv],
            },
            event,
            cancel: &cancel,
        };
        run_steps(&p.steps, kept, &source, gpu.as_deref(), &cancel)
    })?;
    let (mut results, mut failures, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    let mut outcomes = outcomes.into_iter();
    for ((id, start), sel) in ids.into_iter().zip(selected) {
        if !sel {
            continue; // not selected: not in the output, as Stream.select leaves it out
        }
        match outcomes.next() {
            Some(Ok((t, w))) => {
                warnings.extend(w.into_iter().map(|w| format!("{id}: {w}")));
                results.push(Some(dataset::out_trace(py, t)));
            }
            Some(Err(e)) => {
                results.push(None);
                failures.push((id, start, e.to_string()));
            }
            None => {
                results.push(None);
                failures.push((id, start, "internal: no outcome".into()));
            }
        }
    }
    Ok((results, failures, warnings))
}

/// The plan for a trace shape, as `seisbatch plan --json` prints it.
#[pyfunction]
#[pyo3(signature = (toml, npts, sampling_rate, start="2000-01-01T00:00:00Z", device="cpu"))]
fn plan(
    toml: &str,
    npts: usize,
    sampling_rate: f64,
    start: &str,
    device: &str,
) -> PyResult<String> {
    let p = pipeline(toml)?;
    let start_ns = seisbatch::limits::parse_time(start)
        .map_err(|e| PyValueError::new_err(format!("start: {e}")))?;
    if !(sampling_rate.is_finite() && sampling_rate > 0.0) {
        return Err(PyValueError::new_err(
            "sampling_rate must be a positive number",
        ));
    }
    if let Some(e) = seisbatch::limits::samples_problem("npts", npts) {
        return Err(PyValueError::new_err(e));
    }
    let fft = seisbatch::gpu::fft_from_env().map_err(PyValueError::new_err)?;
    let caps = seisbatch::gpu::record::Caps {
        rfft: fft.rfft,
        f64_transforms: fft.f64_transforms,
        ..seisbatch::gpu::record::Caps::nominal()
    };
    let gpu = (device == "gpu").then_some(&caps);
    let shape = seisbatch::plan::Shape {
        npts,
        sampling_rate,
        start_ns,
    };
    let v = seisbatch::inspect::describe(&p.steps, shape, gpu);
    serde_json::to_string(&v).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// The adapter `device` selects, as JSON, or None on the CPU path.
#[pyfunction]
#[pyo3(signature = (device="auto"))]
fn adapter(py: Python<'_>, device: &str) -> PyResult<Option<String>> {
    let name = device.to_string();
    let g = py.detach(move || self::device(&name))?;
    Ok(g.map(|g| serde_json::to_string(&g.info).unwrap_or_default()))
}

/// Every adapter, in the order `device="gpu:K"` and `--gpu-index` take them, as JSON.
#[pyfunction]
fn adapters(py: Python<'_>) -> String {
    let list = py.detach(seisbatch::gpu::adapters::adapters);
    serde_json::to_string(&list).unwrap_or_default()
}

/// A batch run going on a thread of its own (`start`): its counters while it goes, its
/// report when it ends.
#[pyclass]
struct Run {
    watch: Arc<seisbatch::progress::Watch>,
    thread: Option<
        std::thread::JoinHandle<
            Result<seisbatch::write::report::Report, seisbatch::engine::RunError>,
        >,
    >,
}

#[pymethods]
impl Run {
    /// (files done, files to do, traces ok, traces failed) so far.
    fn progress(&self) -> (usize, usize, usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        let w = &self.watch;
        (
            w.files_done.load(Relaxed),
            w.files_total.load(Relaxed),
            w.ok.load(Relaxed),
            w.failed.load(Relaxed),
        )
    }

    fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits (the GIL released) -> (exit code as the CLI's: 0, or 3 when something was not
    /// processed; report JSON). A usage error raises ValueError, a fatal one RuntimeError.
    fn wait(&mut self, py: Python<'_>) -> PyResult<(i32, String)> {
        let t = self
            .thread
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this run was waited for already"))?;
        let r = py
            .detach(move || t.join())
            .map_err(|_| PyRuntimeError::new_err("internal error: the run panicked"))?;
        match r {
            Ok(report) => {
                let code = if report.failed > 0 || report.files_with_problems > 0 {
                    3
                } else {
                    0
                };
                Ok((code, serde_json::to_string(&report).unwrap_or_default()))
            }
            Err(seisbatch::engine::RunError::Usage(m)) => Err(PyValueError::new_err(m)),
            Err(e) => Err(PyRuntimeError::new_err(e.to_string())),
        }
    }
}

/// start(argv, hook=None, hook_name="") -> Run: the CLI's `seisbatch run` with these
/// arguments (those after "run"), in this process; its stderr progress off (the Python side
/// shows its own). `hook`: process_dataset's dispatcher, called per unit after the steps.
#[pyfunction]
#[pyo3(signature = (argv, hook=None, hook_name=String::new()))]
fn start(argv: Vec<String>, hook: Option<Py<PyAny>>, hook_name: String) -> PyResult<Run> {
    let mut cfg = seisbatch::run_config(argv).map_err(PyValueError::new_err)?;
    let watch = Arc::new(seisbatch::progress::Watch::default());
    cfg.progress = false;
    cfg.watch = Some(watch.clone());
    cfg.hook = hook.map(|h| dataset::hook(h, hook_name));
    let thread = std::thread::Builder::new()
        .name("seisbatch-run".into())
        .spawn(move || seisbatch::engine::run(&cfg))
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the run: {e}")))?;
    Ok(Run {
        watch,
        thread: Some(thread),
    })
}

/// synth(output, events, stations, duration, rates, bad_fraction, seed) -> traces written:
/// `seisbatch synth`'s MassDownloader tree of synthetic data (for examples and tests).
#[pyfunction]
#[pyo3(signature = (output, events=10, stations=10, duration=1200.0, rates=vec![20.0, 40.0, 100.0, 200.0], bad_fraction=0.0, seed=1))]
#[allow(clippy::too_many_arguments)]
fn synth(
    py: Python<'_>,
    output: std::path::PathBuf,
    events: usize,
    stations: usize,
    duration: f64,
    rates: Vec<f64>,
    bad_fraction: f64,
    seed: u64,
) -> PyResult<usize> {
    let cfg = seisbatch::synth::SynthConfig {
        output,
        events,
        stations,
        duration,
        rates,
        bad_fraction,
        seed,
    };
    py.detach(move || seisbatch::synth::synth(&cfg))
        .map(|s| s.traces)
        .map_err(|e| PyValueError::new_err(format!("synth: {e}")))
}

/// index(archive, output) -> (files, read, reused, channels, segments): `seisbatch index`,
/// the archive's index written to `output` as Parquet (files unchanged since an earlier
/// catalog there are not read again). The GIL is released while it runs.
#[pyfunction]
fn index(
    py: Python<'_>,
    archive: std::path::PathBuf,
    output: std::path::PathBuf,
) -> PyResult<(usize, usize, usize, usize, usize)> {
    py.detach(move || seisbatch::archive::index_archive(&archive, &output))
        .map(|d| {
            (
                d.index.files.len(),
                d.read,
                d.reused,
                d.index.channels.len(),
                d.index.runs.len(),
            )
        })
        .map_err(|e| PyValueError::new_err(format!("index: {e}")))
}

/// qc(input, output, inventory, catalog, start_ns, end_ns, run_report) -> (channels,
/// channel-days, dead channel-days, channels without a PPSD, failures, report.html):
/// `seisbatch qc`. The GIL is released while it runs.
#[pyfunction]
#[pyo3(signature = (input, output, inventory=Vec::new(), catalog=None, start=None, end=None, run_report=None))]
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn qc(
    py: Python<'_>,
    input: std::path::PathBuf,
    output: std::path::PathBuf,
    inventory: Vec<std::path::PathBuf>,
    catalog: Option<std::path::PathBuf>,
    start: Option<i64>,
    end: Option<i64>,
    run_report: Option<std::path::PathBuf>,
) -> PyResult<(usize, usize, usize, usize, u64, String)> {
    let cfg = seisbatch::qc::report::Config {
        input,
        output,
        inventory,
        catalog,
        span: (start, end),
        run_report,
        outputs: None,
    };
    py.detach(move || seisbatch::qc::report::run(&cfg))
        .map(|s| {
            (
                s.channels,
                s.channel_days,
                s.dead_days,
                s.without_ppsd,
                s.problems,
                s.html.display().to_string(),
            )
        })
        .map_err(|e| PyValueError::new_err(format!("qc: {e}")))
}

/// correlate(config_toml, output, input, catalog, inventory, start_ns, end_ns, memory, resume,
/// shard, device, gpu_memory_mib) ->
/// correlate.json's text: `seisbatch correlate` (NoisePy's S1 on the CPU path). The GIL is
/// released while it runs.
#[pyfunction]
#[pyo3(signature = (config, output, input=None, catalog=None, inventory=None, start=None, end=None, memory=None, resume=false, shard=None, device="auto", gpu_memory_mib=2048))]
#[allow(clippy::too_many_arguments)]
fn correlate(
    py: Python<'_>,
    config: &str,
    output: std::path::PathBuf,
    input: Option<std::path::PathBuf>,
    catalog: Option<std::path::PathBuf>,
    inventory: Option<std::path::PathBuf>,
    start: Option<i64>,
    end: Option<i64>,
    memory: Option<u64>,
    resume: bool,
    shard: Option<(usize, usize)>,
    device: &str,
    gpu_memory_mib: u64,
) -> PyResult<String> {
    let device =
        seisbatch::correlate::DeviceChoice::parse(device).map_err(PyValueError::new_err)?;
    if gpu_memory_mib == 0 || gpu_memory_mib > 1 << 24 {
        return Err(PyValueError::new_err(format!(
            "gpu_memory_mib {gpu_memory_mib}: 1 to 16777216"
        )));
    }
    let shard = shard
        .map(|(k, n)| seisbatch::shard::Shard::parse(&format!("{k}/{n}")))
        .transpose()
        .map_err(PyValueError::new_err)?;
    let config = seisbatch::correlate::Config::parse(config)
        .map_err(|e| PyValueError::new_err(format!("correlate config: {e}")))?;
    let args = seisbatch::correlate::Args {
        config,
        input,
        catalog,
        output,
        inventory,
        start_ns: start,
        end_ns: end,
        memory: memory.unwrap_or_else(seisbatch::engine::memory::default_budget),
        resume,
        shard,
        device,
        gpu_memory: gpu_memory_mib << 20,
    };
    py.detach(move || seisbatch::correlate::run(&args))
        .map_err(|e| PyValueError::new_err(format!("correlate: {e}")))
        .and_then(|s| serde_json::to_string(&s).map_err(|e| PyRuntimeError::new_err(e.to_string())))
}

/// ISO 8601 text -> ns since 1970, as the pipeline's times are read: calendar fields
/// checked, in the years times can hold; ValueError saying what is wrong otherwise.
#[pyfunction]
fn parse_time(text: &str) -> PyResult<i64> {
    seisbatch::limits::parse_time(text).map_err(PyValueError::new_err)
}

/// The first and last ns a time may be (the years 1678-2261 that i64 ns hold whole).
#[pyfunction]
fn time_range() -> (i64, i64) {
    (seisbatch::limits::first_ns(), seisbatch::limits::last_ns())
}

/// The pipeline's steps as they run, every key with its value (ObsPy's defaults filled in),
/// as JSON: for each output trace's `stats.processing`.
#[pyfunction]
fn steps(toml: &str) -> PyResult<String> {
    let p = pipeline(toml)?;
    serde_json::to_string(&p.steps).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// ns since 1970 -> ISO 8601 text with microseconds (ObsPy's form).
#[pyfunction]
fn iso(ns: i64) -> String {
    seisbatch::time::iso(ns)
}

#[pymodule]
fn _seisbatch(m: &Bound<'_, PyModule>) -> PyResult<()> {
    seisbatch::read::libmseed::install();
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(parse_time, m)?)?;
    m.add_function(wrap_pyfunction!(time_range, m)?)?;
    m.add_function(wrap_pyfunction!(steps, m)?)?;
    m.add_function(wrap_pyfunction!(iso, m)?)?;
    m.add_function(wrap_pyfunction!(synth, m)?)?;
    m.add_function(wrap_pyfunction!(index, m)?)?;
    m.add_function(wrap_pyfunction!(qc, m)?)?;
    m.add_function(wrap_pyfunction!(correlate, m)?)?;
    m.add_function(wrap_pyfunction!(process, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(adapters, m)?)?;
    m.add_function(wrap_pyfunction!(devices_opened, m)?)?;
    m.add_function(wrap_pyfunction!(adapter, m)?)?;
    m.add_function(wrap_pyfunction!(start, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::asdf_stations, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::asdf_station, m)?)?;
    m.add_function(wrap_pyfunction!(archive_pairs::catalog_windows, m)?)?;
    m.add_function(wrap_pyfunction!(archive_pairs::catalog_stations, m)?)?;
    m.add_function(wrap_pyfunction!(archive_pairs::catalog_station, m)?)?;
    m.add_class::<Run>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
