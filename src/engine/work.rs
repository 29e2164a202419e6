//! One input file's work, shared by both paths: read it (within the per-file limits), decode
//! it, look up its event's inventory, and turn each trace's result into encoded bytes or a
//! failure. The CPU path (`Ctx::run_cpu`) also runs the steps here, a file per worker.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::commit::{Committer, Encoded, Finished};
use super::totals::Clocks;
use super::{add, FileOutcome, RunConfig, Totals};
use crate::error::TraceError;
use crate::events::{Event, Events};
use crate::inventory::ResponseSource;
use crate::inventory::{Inventories, Inventory, XmlCache};
use crate::limits;
use crate::read::tree::InputFile;
use crate::read::walk::WalkError;
use crate::read::{mseed, sniff};
use crate::response::cache::ResponseCache;
use crate::response::Response;
use crate::time;
use crate::trace::{Codes, Trace};
use crate::write::report::{Failure, FileProblem};
use crate::write::{self, names};

/// What every file of a run shares.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a RunConfig,
    pub clocks: &'a Clocks,
    pub xml: &'a XmlCache,
    pub global: Option<&'a Inventory>,
    /// `--events`, and each event folder's event as found (event.xml, else --events; or why
    /// there is none).
    pub events: Option<&'a Events>,
    pub event_xml: &'a Mutex<HashMap<PathBuf, Result<Event, String>>>,
    pub cache: &'a ResponseCache,
    pub planner: &'a crate::plan::Planner,
    /// The pipeline's per-trace segments and its rotates (`exec::grouped`): a rotate run
    /// when there are rotates.
    pub segments: &'a crate::exec::grouped::Segments,
    /// A resumed rotate run's journaled inputs (partners only, `group`); empty otherwise.
    pub journaled: &'a std::collections::HashSet<String>,
    /// Input files taken from the walk so far.
    pub files: &'a AtomicUsize,
    pub totals: &'a Mutex<Totals>,
    pub committer: &'a Committer<'a>,
    /// An archive run's units (`InputFile::unit` numbers them); empty otherwise.
    pub units: &'a [crate::archive::units::Unit],
    /// The CPU path: inputs are admitted by modeled memory (`--memory`), not input bytes.
    pub admit_by_memory: bool,
}

/// What a trace of one input file looks up: its inventories (the event's resp/ folder, then
/// --inventory) and its event's origin time (or why it has none).
pub(crate) struct FileSources<'b> {
    pub inv: Inventories<'b>,
    pub event: Result<Event, String>,
    /// The input's folder (its shared output folder's address: one per folder of the walk).
    pub folder: usize,
}

impl ResponseSource for FileSources<'_> {
    fn response_at(
        &self,
        codes: Codes,
        time_ns: i64,
    ) -> Result<(usize, Arc<Response>), TraceError> {
        self.inv.response_at(codes, time_ns)
    }

    fn event(&self) -> Result<Event, &str> {
        self.event.as_ref().copied().map_err(String::as_str)
    }

    fn coordinates(&self, tr: &Trace) -> Option<crate::read::stationxml::Coordinates> {
        self.inv.coordinates_for(tr)
    }

    fn folder(&self) -> usize {
        self.folder
    }
}

/// One input file read: its traces, and the failures and problems reading it produced.
pub(crate) struct Decoded {
    pub traces: Vec<Trace>,
    pub out: FileOutcome,
}

/// A trace's result from the steps.
pub(crate) use crate::exec::Outcome;

impl Ctx<'_> {
    /// What an input counts against the in-flight bound: its modeled peak memory on the CPU
    /// path (`memory`), its bytes on the GPU path; 0 if it cannot be read (its read fails
    /// later, with the reason).
    pub(super) fn admission_size(&self, f: &InputFile) -> u64 {
        let (samples, bytes) = match (f.unit, &f.asdf) {
            (Some((_, samples)), _) => (samples, samples.saturating_mul(4)),
            // Compressed on disk: admitted by what it holds, not its bytes.
            (None, Some(station)) => {
                let s = self.asdf_samples(f, station);
                (s, s.saturating_mul(4))
            }
            (None, None) => {
                let b = std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
                (b, b)
            }
        };
        if self.admit_by_memory {
            super::memory::modeled_bytes(samples)
        } else {
            bytes
        }
    }
}

impl Ctx<'_> {
    /// Runs `f`; a panic (a bug) becomes a failure of this file rather than the end of the run
    /// (every admitted file must reach the committer, or those after it would wait forever).
    pub fn guarded(&self, file: &InputFile, f: impl FnOnce() -> Finished) -> Finished {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(done) => done,
            Err(p) => internal_failure(file, &panic_message(&*p)),
        }
    }

    /// A file's trace results -> encoded outputs and failures, ready to commit.
    pub fn finished(
        &self,
        f: &InputFile,
        mut out: FileOutcome,
        results: Vec<(Outcome, String, String)>,
    ) -> Finished {
        let t = Instant::now();
        let results = match &self.cfg.hook {
            Some(h) => self.hooked(h, f, results, &mut out),
            None => results,
        };
        let mut traces = Vec::with_capacity(results.len());
        for (r, id, start) in results {
            match self.encode(f, r, &id, &start, &mut out) {
                Ok(e) => traces.push(e),
                Err(reason) => out.failures.push(failure(f, id, start, reason)),
            }
        }
        add(&self.clocks.write, t);
        // Traces failed while a StationXML file they may need could not be read: retried by
        // --resume, like an unreadable input.
        let retry = !out.failures.is_empty() && self.inventory_unreadable(f);
        if retry {
            out.warnings.push(format!(
                "{}: not journaled: a StationXML file could not be read (see the failures); \
                 --resume processes it again",
                f.path.display()
            ));
        }
        Finished {
            file: f.clone(),
            out,
            traces,
            retry,
        }
    }

    /// A processed trace -> its bytes and name, or why it is not written: a step failed, a
    /// sample is not finite, its times cannot be represented, or its format cannot hold it.
    fn encode(
        &self,
        f: &InputFile,
        r: Outcome,
        id: &str,
        start: &str,
        out: &mut FileOutcome,
    ) -> Result<Encoded, String> {
        let (tr, w) = r.map_err(|e| e.to_string())?;
        out.warnings
            .extend(w.into_iter().map(|w| format!("{id}: {w}")));
        // The executors check the samples in the output's type and name the step; this is
        // the last look before the bytes, in the type they are written in (float32).
        if let Some(bad) = crate::trace::Holds::F32.first_unheld(&tr.data) {
            return Err(format!(
                "result has a sample float32 cannot hold at index {bad} ({}); not written",
                tr.data[bad]
            ));
        }
        if let Some(p) = limits::span_problem(tr.start_ns, tr.data.len(), tr.sampling_rate) {
            return Err(format!("{p}; not written"));
        }
        let per_event =
            self.cfg.layout == super::Layout::PerEvent || self.cfg.format == write::Format::Asdf;
        let format = if per_event {
            write::Format::Mseed
        } else {
            self.cfg.format
        };
        // SAC's station and event words, where the inventory and the event say them.
        let meta = if format == write::Format::Sac {
            let resp = self.inventories(f);
            let inv = self.layers(&resp);
            let event = self.event(f).ok();
            write::sac::Meta {
                station: match self.segments.rotates.last() {
                    Some((_, args)) => inv.rotated_coordinates_for(args, &tr, event.as_ref()),
                    None => inv.coordinates_for(&tr),
                },
                event,
            }
        } else {
            write::sac::Meta::default()
        };
        let enc = write::encode(&tr, format, &meta)?;
        if let Some(w) = enc.warning {
            out.warnings.push(format!("{id}: {w}"));
        }
        Ok(Encoded {
            id: id.to_string(),
            start: start.to_string(),
            name: names::file_name(&tr, self.cfg.format.ext()),
            bytes: enc.bytes,
        })
    }

    pub fn decode(&self, f: &InputFile) -> Decoded {
        let t = Instant::now();
        let mut d = self.decode_untimed(f);
        // `select` steps decide on codes, which no step changes: before any processing.
        let read = d.traces.len();
        d.traces.retain(|tr| self.cfg.pipeline.selects(tr));
        d.out.not_selected += read - d.traces.len();
        if let Some(m) = self.cfg.pipeline.merge() {
            self.merge_traces(f, m, &mut d);
        }
        add(&self.clocks.read_decode, t);
        d
    }

    fn decode_untimed(&self, f: &InputFile) -> Decoded {
        crate::faults::read_delay();
        if let Some((i, _)) = f.unit {
            return self.decode_unit(f, &self.units[i]);
        }
        if let Some(station) = &f.asdf {
            return self.decode_asdf(f, station);
        }
        let mut out = FileOutcome::default();
        let problem = |bytes: Option<(u64, u64)>, reason: String| FileProblem {
            file: f.path.display().to_string(),
            bytes: bytes.map(|(a, b)| [a, b]),
            reason,
        };
        // One buffer per thread for the file's bytes (issue #14: the read path allocates
        // nothing per file but the traces' samples).
        thread_local! {
            static BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let mut bytes = BYTES.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let read = read_input(&f.path, &mut bytes);
        let give_back = |mut b: Vec<u8>| {
            // A buffer grown by one huge file is not kept for the thread's life.
            if b.capacity() <= KEPT_READ_BUFFER {
                b.clear();
                BYTES.with(|k| *k.borrow_mut() = b);
            }
        };
        let decoded = match read {
            Ok(()) => Some(mseed::read_in(&mut bytes, self.cfg.gaps)),
            Err(Unread::Io(e)) => {
                out.io_errors += 1;
                out.problems.push(problem(
                    None,
                    format!("cannot read file: {e}; not journaled: --resume reads it again"),
                ));
                None
            }
            Err(Unread::Refused(reason)) => {
                out.problems.push(problem(None, reason));
                None
            }
        };
        give_back(bytes);
        let Some(decoded) = decoded else {
            return Decoded {
                traces: Vec::new(),
                out,
            };
        };
        for (id, start, reason) in decoded.rejected {
            out.failures.push(failure(f, id, time::iso(start), reason));
        }
        out.warnings.extend(decoded.warnings);
        for p in decoded.problems {
            out.problems
                .push(problem(p.bytes, format!("miniSEED: {}", p.reason)));
        }
        if decoded.traces.is_empty() && out.failures.is_empty() && out.problems.is_empty() {
            out.problems
                .push(problem(None, "no miniSEED waveform records in file".into()));
        }
        out.samples = decoded.traces.iter().map(|t| t.data.len() as u64).sum();
        Decoded {
            traces: decoded.traces,
            out,
        }
    }

    /// The merge step over an input's traces (`ops::merge`); ObsPy's error fails them all.
    fn merge_traces(&self, f: &InputFile, m: &crate::ops::merge::MergeArgs, d: &mut Decoded) {
        let before = d.traces.len();
        let traces = std::mem::take(&mut d.traces);
        let first = traces
            .first()
            .map(|t| (t.id(), time::iso(t.start_ns)))
            .unwrap_or_default();
        match crate::ops::merge::merge(traces, m) {
            Ok(t) => {
                if t.len() != before {
                    d.out.warnings.push(format!(
                        "{}: merge: {before} trace(s) -> {}",
                        f.path.display(),
                        t.len()
                    ));
                }
                d.traces = t;
            }
            Err(e) => d.out.failures.push(failure(f, first.0, first.1, e)),
        }
    }

    /// The event's own resp/ folder first, then --inventory.
    pub fn inventories(&self, f: &InputFile) -> Option<Arc<Inventory>> {
        if let Some(station) = &f.asdf {
            return Some(self.xml.asdf_station(&f.path, station));
        }
        f.resp_dir.as_ref().map(|d| self.xml.inventory(d))
    }

    pub fn layers<'b>(&'b self, resp: &'b Option<Arc<Inventory>>) -> Inventories<'b> {
        let mut layers = Vec::new();
        if let Some(i) = resp {
            layers.push(i.as_ref());
        }
        if let Some(g) = self.global {
            layers.push(g);
        }
        Inventories { layers }
    }

    /// What `f`'s traces look up: its inventories, its event, its folder.
    pub fn sources<'b>(
        &'b self,
        f: &InputFile,
        resp: &'b Option<Arc<Inventory>>,
    ) -> FileSources<'b> {
        FileSources {
            inv: self.layers(resp),
            event: self.event(f),
            folder: Arc::as_ptr(&f.out_dir) as *const u8 as usize,
        }
    }

    /// `f`'s event: its folder's event.xml (read once per folder), else `--events` by folder
    /// name; or why there is none. The event folder is the one above a `raw` folder
    /// (MassDownloader's EVENT/raw/*).
    pub fn event(&self, f: &InputFile) -> Result<Event, String> {
        if let Some((i, _)) = f.unit {
            let w = &self.units[i].window;
            return match (&w.event, self.events) {
                (Some(name), Some(ev)) => ev
                    .get(name)
                    .copied()
                    .ok_or_else(|| format!("--events does not name `{name}`")),
                _ => Err(format!("window {} is not an event's window", w.label)),
            };
        }
        if let Some(station) = &f.asdf {
            return self.asdf_event(&f.path, station);
        }
        let raw = f
            .path
            .parent()
            .filter(|d| d.file_name().is_some_and(|n| n == "raw"));
        let Some(folder) = raw.and_then(Path::parent) else {
            return Err(format!(
                "{} is not in an event folder (EVENT/raw/)",
                f.path.display()
            ));
        };
        // Once per folder (a stat and maybe a parse), whatever the number of its traces.
        let mut cache = self.event_xml.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(folder.to_path_buf())
            .or_insert_with(|| {
                let name = folder
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let xml = folder.join("event.xml");
                // Any entry of that name is meant as one: one that is not a regular file (a
                // FIFO, a folder) is refused by `event_xml` with the reason, and said.
                if std::fs::symlink_metadata(&xml).is_ok() {
                    match crate::events::event_xml(&xml) {
                        Ok(e) => return Ok(e),
                        // Said, never ignored: the folder's SAC files would lack the event's
                        // words without a word of why. --events may still name the folder.
                        Err(e) => {
                            let used = match self.events.and_then(|ev| ev.get(&name)) {
                                Some(_) => "the folder's event comes from --events",
                                None => "the folder's traces have no event",
                            };
                            self.totals
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .warnings
                                .insert(format!("event.xml not used: {e}; {used}"));
                        }
                    }
                }
                match self.events.map(|e| e.get(&name)) {
                    Some(Some(e)) => Ok(*e),
                    Some(None) => Err(format!(
                        "event folder `{name}` has no event.xml and --events does not name it"
                    )),
                    None => Err(format!(
                        "event folder `{name}` has no event.xml and no --events was given"
                    )),
                }
            })
            .clone()
    }

    /// Whether the event's inventory or `--inventory` met a file it could not read.
    fn inventory_unreadable(&self, f: &InputFile) -> bool {
        self.inventories(f).is_some_and(|i| i.unreadable)
            || self.global.is_some_and(|g| g.unreadable)
    }
}

/// What a panic said.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// A file a bug stopped: reported, not journaled (a fixed seisbatch redoes it on --resume).
pub(crate) fn internal_failure(file: &InputFile, msg: &str) -> Finished {
    let mut out = FileOutcome::default();
    out.io_errors += 1;
    out.problems.push(FileProblem {
        file: file.path.display().to_string(),
        bytes: None,
        reason: format!(
            "internal error while processing this file ({msg}); please report it; not journaled"
        ),
    });
    Finished {
        file: file.clone(),
        out,
        traces: Vec::new(),
        retry: true,
    }
}

pub(super) fn failure(f: &InputFile, id: String, start: String, reason: String) -> Failure {
    Failure {
        file: f.path.display().to_string(),
        id,
        start,
        reason,
    }
}

/// A folder under --input that could not be listed: its files are not read, and the report
/// says so (the rest of the run goes on).
pub(crate) fn walk_failure(e: WalkError) -> FileOutcome {
    let mut out = FileOutcome::default();
    out.problems.push(FileProblem {
        file: e.path.display().to_string(),
        bytes: None,
        reason: format!("cannot list folder: {}; its files were not read", e.error),
    });
    out
}

/// Why an input's bytes were not read: an I/O error (--resume tries again) or a file the
/// limits refuse.
enum Unread {
    Io(std::io::Error),
    Refused(String),
}

/// The whole file, if it is a regular file within the size limit. Opened without blocking (a
/// FIFO or device slipped in since the walk never blocks the run) and read no further than the
/// limit (a file that grows while read is cut there and refused).
fn read_input(path: &Path, buf: &mut Vec<u8>) -> Result<(), Unread> {
    let f = sniff::open(path, false).map_err(Unread::Io)?;
    let meta = f.metadata().map_err(Unread::Io)?;
    if !meta.is_file() {
        return Err(Unread::Refused(format!(
            "not a regular file ({}); not read",
            crate::read::walk::kind_of(&meta)
        )));
    }
    let max = limits::max_file_bytes();
    let too_big = |len: u64| {
        Unread::Refused(format!(
            "the file is {len} bytes, more than the {max} an input may have ({} bytes per sample of {} samples, {}x --max-samples); not read",
            limits::FILE_BYTES_PER_SAMPLE,
            limits::max_file_samples(),
            limits::FILE_SAMPLES_PER_TRACE_LIMIT
        ))
    };
    if meta.len() > max {
        return Err(too_big(meta.len()));
    }
    buf.clear();
    buf.reserve(meta.len() as usize + mseed::PAD);
    f.take(max + 1).read_to_end(buf).map_err(Unread::Io)?;
    if buf.len() as u64 > max {
        return Err(too_big(buf.len() as u64));
    }
    Ok(())
}

/// A thread keeps its read buffer up to this size (the largest of the common files; a
/// larger one is read into a buffer that is then dropped).
const KEPT_READ_BUFFER: usize = 16 << 20;
