//! `seisbatch correlate`: ambient-noise cross-correlation of an archive, NoisePy's S1 step on
//! the CPU path (issue #27). Per chunk of `inc_hours` (a day by default: the archive windows
//! of `run --segment`), every channel's data read as one trace (gaps zero-filled as NoisePy's
//! `merge(fill_value=0)`; a chunk less than 70 % covered is skipped, NoisePy's 30 % gap
//! rule), cut into windows, normalised and transformed once (`station`); then every pair of
//! stations and requested component pair correlated over the windows both kept (`pairs`),
//! written per chunk and stacked over the run (`output`). Chunks run one after another, the
//! channels of a chunk in parallel; a chunk's spectra are bounded by `--memory`.

mod asdf;
pub mod config;
mod device;
mod journal;
pub mod model;
mod output;
mod pairs;
mod stack;
mod station;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::archive::{self, units, windows::Request};
use crate::shard::Shard;
pub use config::Config;
use journal::{Counts, Head};
pub use stack::Stacked;
use station::Spectra;

/// What `correlate` is given.
pub struct Args {
    pub config: Config,
    /// An archive folder, or a catalog of one (`seisbatch index`).
    pub input: Option<PathBuf>,
    pub catalog: Option<PathBuf>,
    pub output: PathBuf,
    /// StationXML (file or folder) for the pairs' coordinates: distances in the headers and
    /// `max_distance_km`.
    pub inventory: Option<PathBuf>,
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
    /// Bytes a chunk's spectra may take.
    pub memory: u64,
    /// Finish the run that wrote OUTPUT (same configuration and inputs): chunks it finished
    /// are kept, the rest done, the stacks made again from every chunk.
    pub resume: bool,
    /// This process's block of the station pairs (`--shard K/N`): N shards into one OUTPUT
    /// write what one run writes.
    pub shard: Option<Shard>,
    /// Where the pairs run (`--device`), and the device memory they may use.
    pub device: DeviceChoice,
    pub gpu_memory: u64,
}

/// `--device`: the CPU path, any GPU adapter (a software one included: how CI tests it), or
/// a hardware GPU where there is one (the CPU path otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Cpu,
    Gpu,
    Auto,
    /// `gpu:K` (or `--gpu-index K`): the adapter at K in `seisbatch adapters`.
    Index(usize),
}

impl DeviceChoice {
    pub fn parse(s: &str) -> Result<DeviceChoice, String> {
        if let Some(k) = s.strip_prefix("gpu:") {
            return k
                .parse()
                .map(DeviceChoice::Index)
                .map_err(|_| format!("--device {s:?}: gpu:K takes an adapter's index"));
        }
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "gpu" => Ok(DeviceChoice::Gpu),
            "auto" => Ok(DeviceChoice::Auto),
            other => Err(format!(
                "--device {other:?}: expected cpu, gpu, gpu:K or auto"
            )),
        }
    }
}

/// Channel-chunks or pairs left out, and why (the first `LISTED`; all counted).
pub const LISTED: usize = 1000;

/// What a run did (OUTPUT/correlate.json).
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub chunks: usize,
    pub channel_chunks: usize,
    pub windows_kept: usize,
    /// Windows whose max |x| was at or above max_over_std times the chunk's std.
    pub windows_dropped: usize,
    pub correlations: usize,
    pub files_written: usize,
    /// Channel-chunks not used: (chunk, channel, reason).
    pub skipped: Vec<(String, String, String)>,
    pub skipped_count: usize,
    /// Station and component pairs without a window both kept (or without a channel).
    pub pairs_missing: usize,
    /// Chunks a earlier run finished, kept by `--resume`; chunk records that could not be
    /// trusted (the chunk was done again), with the reason.
    pub chunks_resumed: usize,
    pub records_redone: Vec<String>,
    /// The run's stacks.
    pub stacks: Stacked,
    /// NoisePy-layout CCF files written (`asdf = true`; none by a shard).
    pub asdf_ccf_files: usize,
    /// Why OUTPUT/catalog.parquet could not be written (None: it was).
    pub catalog_error: Option<String>,
    /// The device's part (None: the CPU path ran every pair).
    pub device: Option<device::DeviceStats>,
    /// The sign convention, said in every summary.
    pub convention: &'static str,
    /// Seconds spent reading and transforming channels, and correlating and writing pairs
    /// (the benchmark's two rates: station-chunks and pair-windows per second).
    pub seconds_spectra: f64,
    pub seconds_pairs: f64,
    /// Seconds reading the chunks' rows back and writing the stacks.
    pub seconds_stacks: f64,
    /// Pair-windows correlated (each correlation's windows).
    pub pair_windows: usize,
}

impl Summary {
    fn add(&mut self, chunk: &str, c: &Counts, rows: usize) {
        self.channel_chunks += c.channel_chunks;
        self.windows_kept += c.windows_kept;
        self.windows_dropped += c.windows_dropped;
        self.pairs_missing += c.pairs_missing;
        self.pair_windows += c.pair_windows;
        self.correlations += rows;
        self.files_written += rows;
        for (channel, why) in &c.skipped {
            self.skipped_count += 1;
            if self.skipped.len() < LISTED {
                self.skipped
                    .push((chunk.into(), channel.clone(), why.clone()));
            }
        }
    }
}

pub const CONVENTION: &str = "c(tau) = sum_t s(t) r(t + tau), s the source (first station of \
the pair, alphabetical), r the receiver: noise reaching r d seconds after s peaks at +d; SAC's \
o marks lag 0";

pub fn run(a: &Args) -> Result<Summary, String> {
    let index = match (&a.input, &a.catalog) {
        (_, Some(c)) => archive::catalog::read(c)?,
        (Some(i), None) if crate::store::is_remote(i) => {
            let u = crate::store::url_of(i)
                .and_then(Result::ok)
                .ok_or_else(|| format!("--input {}: not an s3:// URL", i.display()))?;
            let span = a.start_ns.zip(a.end_ns);
            archive::remote::index(&u, span)?.0
        }
        (Some(i), None) => {
            let (files, _) = archive::files(i, &Default::default())
                .map_err(|e| format!("{}: {e}", i.display()))?;
            archive::index::Index::build(i, &files, &|_, _, _| None)
        }
        (None, None) => return Err("give --input ARCHIVE or --catalog CATALOG".into()),
    };
    let p = &a.config.noise;
    let chunk_s = p.inc_hours * 3600.0;
    let request = Request::Segments {
        length_s: chunk_s,
        step_s: chunk_s,
        start_ns: a.start_ns,
        end_ns: a.end_ns,
    };
    let windows: Vec<Arc<archive::windows::Window>> = request
        .windows(None, archive::extent(&index))?
        .into_iter()
        .map(Arc::new)
        .collect();
    let found = units::units(&index, &windows, &|_| true)?;
    // Every station of the run: a pair one of them misses in a chunk is counted there.
    let mut stations: Vec<String> = found
        .units
        .iter()
        .map(|u| format!("{}.{}.{}", u.codes.0, u.codes.1, u.codes.2))
        .collect();
    stations.sort();
    stations.dedup();
    let pairs = pairs::block(&pairs::station_pairs(stations.len(), &a.config), a.shard);
    // The channels this shard's pairs need (all of them without shards).
    let needed: HashSet<&str> = pairs
        .iter()
        .flat_map(|&(i, j)| [stations[i].as_str(), stations[j].as_str()])
        .collect();
    let inventory = a
        .inventory
        .as_ref()
        .map(|p| crate::inventory::XmlCache::default().inventory(p));
    if let Some(inv) = &inventory {
        if let Some((f, e)) = inv.errors.first() {
            return Err(format!("--inventory {}: {e}", f.display()));
        }
    }
    let fingerprint = journal::fingerprint(&[
        format!("{:?}", a.config),
        described(a.input.as_deref()),
        described(a.catalog.as_deref()),
        described(a.inventory.as_deref()),
        format!("{:?} {:?}", a.start_ns, a.end_ns),
    ]);
    let gpu = match a.device {
        DeviceChoice::Cpu => None,
        DeviceChoice::Gpu => Some(
            crate::gpu::Gpu::new(crate::gpu::Want::Any)
                .map_err(|e| format!("--device gpu: {e}"))?,
        ),
        DeviceChoice::Auto => crate::gpu::Gpu::new(crate::gpu::Want::Hardware).ok(),
        DeviceChoice::Index(k) => Some(
            crate::gpu::Gpu::new(crate::gpu::Want::Index {
                index: k,
                software_ok: true,
            })
            .map_err(|e| format!("--device gpu:{k}: {e}"))?,
        ),
    };
    let mut device = gpu.as_ref().map(|g| device::Device::new(g, a.gpu_memory));
    // Every refusal above leaves OUTPUT as it was.
    let fresh = prepare_output(&a.output, a.resume, &fingerprint, a.shard)?;
    let state = journal::state_dir(&a.output);
    output::out_dir(&a.output, Path::new(".correlate"))?;
    let _lock =
        crate::write::lock::FolderLock::take(&state, a.shard, &a.output).map_err(|e| match e {
            crate::write::lock::OutputError::Usage(m)
            | crate::write::lock::OutputError::Fatal(m) => m,
        })?;
    if fresh {
        journal::write_run(&a.output, &fingerprint)?;
    }
    let mut summary = Summary {
        convention: CONVENTION,
        ..Default::default()
    };
    let known: HashSet<&str> = stations.iter().map(String::as_str).collect();
    let bounds = journal::Bounds {
        stations: &known,
        config: &a.config,
        max_windows: (chunk_s / p.step) as usize + 2,
    };
    let mut finished = stack::Index::default();
    // Units come window by window (`units::units`): each run of one window is a chunk.
    for todo in found
        .units
        .chunk_by(|a, b| Arc::ptr_eq(&a.window, &b.window))
    {
        let w = &todo[0].window;
        summary.chunks += 1;
        let todo: Vec<&units::Unit> = todo
            .iter()
            .filter(|u| {
                needed.contains(format!("{}.{}.{}", u.codes.0, u.codes.1, u.codes.2).as_str())
            })
            .collect();
        let record = journal::record_name(&w.label, a.shard);
        if a.resume {
            match journal::read_chunk(&a.output, &fingerprint, &record, &w.label, &bounds) {
                Ok(Some((counts, heads))) => {
                    summary.chunks_resumed += 1;
                    summary.add(&w.label, &counts, heads.len());
                    finished.add(&w.label, heads)?;
                    continue;
                }
                Ok(None) => {}
                Err(why) => summary.records_redone.push(why),
            }
        }
        let (counts, heads) = chunk(
            a,
            &todo,
            w,
            (&stations, &pairs),
            inventory.as_deref(),
            device.as_mut(),
            &mut summary,
        )?;
        journal::write_chunk(&a.output, &fingerprint, &record, &w.label, &counts, &heads)?;
        summary.add(&w.label, &counts, heads.len());
        finished.add(&w.label, heads)?;
    }
    summary.device = device.map(|d| d.stats);
    let t = std::time::Instant::now();
    if let Some(first) = windows.first() {
        summary.stacks = stack::stack_all(&a.output, &a.config, &finished, first.start_ns)?;
        summary.files_written += summary.stacks.stacks + summary.stacks.rotated;
    }
    summary.seconds_stacks = t.elapsed().as_secs_f64();
    // Every correlation a row of OUTPUT/catalog.parquet (as `run` indexes its outputs): the
    // receiver's codes, the component pair as the channel, the lags' times; the source is the
    // folder's first station. The files stand without it: a failure is said, not fatal. A
    // shard does not see the others' files finished: `seisbatch index OUTPUT` does it then.
    if a.shard.is_none() {
        let (index, formats) = archive::outputs::index_outputs(&a.output);
        let path = a.output.join("catalog.parquet");
        if let Err(e) = archive::catalog::write(&index, &path, &|f| formats[f]) {
            summary.catalog_error = Some(e);
        }
    }
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    crate::write::atomic::write_atomic_in(
        &a.output,
        &a.output.join(summary_name(a.shard)),
        &json,
        "cc",
        true,
    )
    .map_err(|e| format!("{}: {e}", a.output.display()))?;
    Ok(summary)
}

/// `correlate.json`, or a shard's `correlate.K-of-N.json`.
pub fn summary_name(shard: Option<Shard>) -> String {
    match shard {
        None => "correlate.json".into(),
        Some(s) => format!("correlate.{}-of-{}.json", s.index, s.count),
    }
}

/// A path as the fingerprint sees it: canonical where it exists.
fn described(p: Option<&Path>) -> String {
    p.map(|p| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    })
    .unwrap_or_default()
}

/// One chunk: its channels' spectra (bounded by --memory), its pairs, its files; its counts
/// and rows for the journal and the stacks.
fn chunk(
    a: &Args,
    todo: &[&units::Unit],
    w: &archive::windows::Window,
    (stations, pairs): (&[String], &[(usize, usize)]),
    inventory: Option<&crate::inventory::Inventory>,
    device: Option<&mut device::Device>,
    summary: &mut Summary,
) -> Result<(Counts, Vec<Head>), String> {
    // The spectra this chunk will hold, from the index's samples, before any is made (on the
    // device path the host holds the windows' f32 samples instead, a quarter of that, and may
    // need the spectra after all if the device fails: the same bound, and half again).
    let mut need: u64 = todo.iter().map(|u| station::bytes_for(u, &a.config)).sum();
    if device.is_some() {
        need = need.saturating_add(need / 2);
    }
    if need > a.memory {
        return Err(format!(
            "chunk {}: the channels' spectra would take {need} bytes, more than --memory allows ({}); use a shorter inc_hours or fewer channels",
            w.label, a.memory
        ));
    }
    let mut device = device;
    // Where the device will correlate every pair (xcorr averaged) it also makes the spectra
    // from the windows the host cuts; should its work fail after that, the host has no
    // spectra to fall back on, so the chunk is done again on the CPU path from the start.
    let mut spectra_on_device = device.is_some() && device::unsupported(&a.config).is_none();
    let (mut counts, day) = loop {
        let mut counts = Counts::default();
        let t = std::time::Instant::now();
        let got: Vec<Result<Spectra, (String, String)>> = todo
            .par_iter()
            .map_init(Vec::new, |buf, u| {
                station::spectra(u, &a.config, buf, spectra_on_device)
            })
            .collect();
        let mut spectra = Vec::new();
        for g in got {
            match g {
                Ok(s) => {
                    counts.windows_kept += s.kept();
                    counts.windows_dropped += s.dropped;
                    spectra.push(s);
                }
                Err((id, why)) => {
                    if counts.skipped.len() < LISTED {
                        counts.skipped.push((id, why));
                    }
                }
            }
        }
        let bytes: u64 = spectra.iter().map(Spectra::bytes).sum();
        if bytes > a.memory {
            return Err(format!(
                "chunk {}: the channels' spectra take {bytes} bytes, more than --memory allows ({}); use a shorter inc_hours or fewer channels",
                w.label, a.memory
            ));
        }
        counts.channel_chunks = spectra.len();
        summary.seconds_spectra += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let failed = std::cell::Cell::new(false);
        let prep = spectra_on_device;
        let mut on_device = device.as_deref_mut().map(|d| {
            let failed = &failed;
            move |r: &[&pairs::Ready], c: &Config| {
                let rows = d.rows(r, c);
                if prep && rows.iter().any(Option::is_none) {
                    // Nothing for the CPU path to run here: the chunk is done again.
                    failed.set(true);
                    return vec![Some(None); rows.len()];
                }
                rows
            }
        });
        let day = pairs::correlate_all(
            &spectra,
            stations,
            pairs,
            &a.config,
            inventory,
            w.start_ns,
            on_device.as_mut().map(|f| f as &mut pairs::OnDevice),
        )?;
        summary.seconds_pairs += t.elapsed().as_secs_f64();
        if failed.get() {
            spectra_on_device = false;
            if let Some(d) = device.as_deref_mut() {
                d.stats.chunks_redone_on_cpu += 1;
            }
            device = None;
            continue;
        }
        break (counts, day);
    };
    let t = std::time::Instant::now();
    counts.pairs_missing = day.missing;
    counts.pair_windows = day.rows.iter().map(|r| r.head.windows).sum::<usize>();
    output::write_chunk(&a.output, w, &day)?;
    // A chunk's CCF file holds every pair: a shard, which has a block of them, writes none.
    if a.config.asdf && a.shard.is_none() {
        let rows: Vec<(&Head, &[f64])> = day.rows.iter().map(|r| (&r.head, &r.data[..])).collect();
        asdf::write_ccf(&a.output, &a.config, (w.start_ns, w.end_ns), &rows)?;
        summary.asdf_ccf_files += 1;
    }
    summary.seconds_pairs += t.elapsed().as_secs_f64();
    Ok((counts, day.rows.into_iter().map(|r| r.head).collect()))
}

/// The output folder: created, or an empty one (true: a fresh run); with `resume`, one an
/// earlier run of the same configuration and inputs wrote (false); for a shard, also one its
/// sibling shards of the same run are writing (false), as long as this shard has written
/// nothing there yet. A folder holding anything else is refused: a run never mixes its files
/// with others'.
fn prepare_output(
    out: &Path,
    resume: bool,
    fingerprint: &str,
    shard: Option<Shard>,
) -> Result<bool, String> {
    match std::fs::symlink_metadata(out) {
        Ok(m) if m.is_dir() => {
            let names: Vec<std::ffi::OsString> = std::fs::read_dir(out)
                .map_err(|e| format!("{}: {e}", out.display()))?
                .take(2)
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect();
            let state_only = names.len() == 1 && names[0] == ".correlate";
            if names.is_empty() {
                return Ok(true);
            }
            let not_empty = || {
                Err(format!(
                    "{}: exists and is not empty; give a new or empty folder (or --resume to finish the run that wrote it)",
                    out.display()
                ))
            };
            match journal::read_run(out) {
                Some(f) if f != fingerprint => Err(format!(
                    "{}: written by a correlate run with another configuration or other inputs; --resume finishes the same run",
                    out.display()
                )),
                Some(_) if resume => Ok(false),
                Some(_) => match shard {
                    Some(_) if std::fs::symlink_metadata(out.join(summary_name(None))).is_ok() => {
                        Err(format!(
                            "{}: finished by a run without --shard; give a new or empty folder",
                            out.display()
                        ))
                    }
                    Some(s) if !journal::shard_started(out, s) => Ok(false),
                    _ => not_empty(),
                },
                // A sibling shard made the state folder and is about to write run.json.
                None if shard.is_some() && state_only => Ok(true),
                None if resume => Err(format!(
                    "{}: not written by seisbatch correlate (no readable .correlate/run.json); give a new or empty folder",
                    out.display()
                )),
                None => not_empty(),
            }
        }
        Ok(_) => Err(format!("{}: exists and is not a folder", out.display())),
        Err(_) => {
            std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(true)
        }
    }
}
