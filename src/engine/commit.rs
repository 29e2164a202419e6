//! Every input committed exactly once, in walk order, whatever order the workers finish in.
//!
//! Workers process input files in parallel and finish in any order. What depends on order is
//! done here, one input after the other in walk order: output names are claimed (so collision
//! suffixes are the same on every run, with any number of workers, and a resumed run gives
//! the same names as an uninterrupted one), and per-event files are appended to (so an event
//! file's bytes do not depend on the number of workers either). What does not depend on order,
//! writing a per-trace file, is done by whichever worker comes by, in parallel; an input is
//! journaled once all its outputs are in place.
//!
//! Inputs are admitted before they are read ([`Committer::admit_group`]): at most `max_files` (and
//! `max_bytes` of input) are between being taken from the walk and being committed, so a slow
//! input cannot make the results of those after it pile up without bound.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use super::{FileOutcome, Layout, Totals};
use crate::progress::Progress;
use crate::read::tree::InputFile;
use crate::write::append::Appender;
use crate::write::journal::{self, Entry, Journal};
use crate::write::names::Names;
use crate::write::output::OutputDir;
use crate::write::report::Failure;

/// One trace processed and encoded, waiting for its name.
pub struct Encoded {
    pub id: String,
    pub start: String,
    /// `NET.STA.LOC.CHA__START__END.ext` with codes escaped, or why it has none.
    pub name: Result<String, String>,
    pub bytes: Vec<u8>,
}

/// One input file processed, waiting to be committed.
pub struct Finished {
    pub file: InputFile,
    pub out: FileOutcome,
    pub traces: Vec<Encoded>,
    /// Not to be journaled (an unreadable StationXML behind its failures: --resume retries).
    pub retry: bool,
}

/// A named input whose per-trace files any worker may write.
struct Named {
    bytes_in: u64,
    file: InputFile,
    out: FileOutcome,
    writes: Vec<(String, Encoded)>,
    retry: bool,
}

#[derive(Default)]
struct State {
    /// The next input (walk order) to commit, and the next to admit.
    next: u64,
    admitted: u64,
    /// Finished inputs waiting for an earlier one, by sequence number.
    pending: BTreeMap<u64, (u64, Finished)>,
    /// Named inputs waiting to be written.
    named: VecDeque<Named>,
    in_flight_files: usize,
    in_flight_bytes: u64,
    /// The most `in_flight_bytes` ever held (report.json's `memory.peak_admitted_bytes`).
    peak_bytes: u64,
    /// Named inputs a worker took to write and has not released yet.
    writing: usize,
    names: Names,
}

/// What the committer writes to and counts into.
pub struct Sinks<'a> {
    pub out: &'a OutputDir,
    pub layout: Layout,
    pub journal: &'a Journal,
    pub appender: &'a Appender,
    pub totals: &'a Mutex<Totals>,
    pub progress: &'a Progress,
    /// Thread-seconds spent writing.
    pub write_clock: &'a std::sync::atomic::AtomicU64,
    /// The first failure to append to the journal (reported once).
    pub journal_error: &'a Mutex<Option<String>>,
}

pub struct Committer<'a> {
    state: Mutex<State>,
    room: Condvar,
    max_files: usize,
    max_bytes: u64,
    /// Named inputs written together (see [`Committer::write_named`]).
    batch: usize,
    /// One thread takes, processes and finishes every input (`--jobs 1`): a batch waits for
    /// `batch` inputs even when nothing else is in flight, and is written before that thread
    /// would wait for room (`hold_batches`).
    serial: std::sync::atomic::AtomicBool,
    sinks: Sinks<'a>,
}

/// At most this many inputs' outputs are made durable together.
const MAX_BATCH: usize = 32;

impl<'a> Committer<'a> {
    pub fn new(sinks: Sinks<'a>, max_files: usize, max_bytes: u64) -> Committer<'a> {
        Committer {
            state: Mutex::new(State::default()),
            room: Condvar::new(),
            max_files: max_files.max(1),
            max_bytes,
            batch: (max_files / 2).clamp(1, MAX_BATCH),
            serial: std::sync::atomic::AtomicBool::new(false),
            sinks,
        }
    }

    /// The most input size (`Ctx::admission_size`) that was ever in flight at once.
    pub fn peak_bytes(&self) -> u64 {
        self.lock().peak_bytes
    }

    /// A name an earlier run wrote (its journal lists it): never given to another trace.
    pub fn preload_name(&self, out_dir: &Path, name: String) {
        self.lock().names.preload(out_dir, name);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until inputs of `sizes` bytes may be taken, and gives the first one's sequence
    /// number (the others follow it). Call it in walk order (under the walk's lock); every
    /// number given must come back through [`finish`](Self::finish) exactly once. Inputs
    /// processed together (a rotate run's station, `engine::group`) are admitted at once: when
    /// all fit, or when nothing else is in flight (a group larger than the window, like a file
    /// larger than it, goes alone); one by one, they could wait forever on room that only the
    /// group's own unfinished files hold.
    pub fn admit_group(&self, sizes: &[u64]) -> u64 {
        let (n, bytes) = (
            sizes.len(),
            sizes.iter().fold(0u64, |a, b| a.saturating_add(*b)),
        );
        let mut s = self.lock();
        while s.in_flight_files > 0
            && (s.in_flight_files.saturating_add(n) > self.max_files
                || s.in_flight_bytes.saturating_add(bytes) > self.max_bytes)
        {
            if self.is_serial() && !s.named.is_empty() {
                // The one thread that would write them is this one: write, then look again.
                drop(s);
                self.write_named(true);
                s = self.lock();
                continue;
            }
            s = self.room.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.in_flight_files += n;
        s.in_flight_bytes += bytes;
        s.peak_bytes = s.peak_bytes.max(s.in_flight_bytes);
        let seq = s.admitted;
        s.admitted += n as u64;
        seq
    }

    /// For a run where one thread takes, processes and finishes every input (`--jobs 1`):
    /// their outputs are then made durable a batch at a time, as with several workers, and
    /// not one input at a time (an input finished with nothing else in flight was written
    /// alone: a syncfs per file, 8x the write floor on this VM's disk; issue #25).
    pub fn hold_batches(&self) {
        self.serial
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn is_serial(&self) -> bool {
        self.serial.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Input `seq` (of `bytes` input bytes) is processed: commit it and every input after it
    /// that is ready, then help write what is named.
    pub fn finish(&self, seq: u64, bytes: u64, done: Finished) {
        {
            let mut s = self.lock();
            s.pending.insert(seq, (bytes, done));
            self.name_ready(&mut s);
        }
        self.write_named(false);
    }

    /// In walk order: names claimed (per trace), or the event file appended to (per event).
    fn name_ready(&self, s: &mut State) {
        loop {
            let next = s.next;
            let Some((bytes_in, f)) = s.pending.remove(&next) else {
                return;
            };
            s.next += 1;
            match self.sinks.layout {
                Layout::PerEvent | Layout::Dataset => {
                    self.append_event(f);
                    self.release(s, bytes_in);
                }
                Layout::PerTrace => {
                    let input_dir = f.file.rel.parent().unwrap_or(Path::new("")).to_path_buf();
                    let mut out = f.out;
                    let mut writes = Vec::new();
                    for t in f.traces {
                        match &t.name {
                            Ok(n) => {
                                let n = s.names.claim(&f.file.out_dir, &input_dir, n);
                                writes.push((n, t));
                            }
                            Err(e) => out.failures.push(failure(&f.file, &t, e.clone())),
                        }
                    }
                    s.named.push_back(Named {
                        bytes_in,
                        file: f.file,
                        out,
                        writes,
                        retry: f.retry,
                    });
                }
            }
        }
    }

    fn release(&self, s: &mut State, bytes: u64) {
        s.in_flight_files -= 1;
        s.in_flight_bytes -= bytes;
        self.room.notify_all();
    }

    /// Writes named inputs (any worker, in parallel), a batch at a time: every output of the
    /// batch under its temporary name, their data made durable together, then each renamed
    /// into place and each input journaled once all its outputs are (an fsync per output was
    /// most of the write time for small files). A batch is written once `batch` inputs wait,
    /// or when nothing else is in flight (no input could join it: the walk may be waiting for
    /// room), or on `close` (`all`).
    fn write_named(&self, all: bool) {
        loop {
            let taken: Vec<Named> = {
                let mut s = self.lock();
                let idle = s.named.len() + s.writing == s.in_flight_files && !self.is_serial();
                if s.named.is_empty() || !(all || idle || s.named.len() >= self.batch) {
                    return;
                }
                let k = s.named.len().min(self.batch);
                s.writing += k;
                s.named.drain(..k).collect()
            };
            let bytes_in: Vec<u64> = taken.iter().map(|n| n.bytes_in).collect();
            self.write_batch(taken);
            let mut s = self.lock();
            s.writing -= bytes_in.len();
            for b in bytes_in {
                self.release(&mut s, b);
            }
        }
    }

    fn write_batch(&self, batch: Vec<Named>) {
        let t = Instant::now();
        // Stage every output; a failure is that output's (and keeps its input unjournaled).
        let mut inputs = Vec::with_capacity(batch.len());
        let mut staged = Vec::new();
        for (i, n) in batch.into_iter().enumerate() {
            let Named {
                file,
                mut out,
                writes,
                retry,
                ..
            } = n;
            for (name, tr) in writes {
                match self.sinks.out.stage(&file.out_dir, &name, &tr.bytes) {
                    Ok(s) => staged.push((i, name, tr, s)),
                    Err(e) => self.write_failed(&file, &mut out, &name, &tr, e),
                }
            }
            inputs.push((file, out, retry, Vec::new()));
        }
        let synced =
            crate::write::atomic::durable(&staged.iter().map(|(_, _, _, s)| s).collect::<Vec<_>>());
        for ((i, name, tr, s), synced) in staged.into_iter().zip(synced) {
            let (file, out, _, written) = &mut inputs[i];
            let r = match synced {
                Ok(()) => s.finish(),
                Err(e) => {
                    s.abandon();
                    Err(e)
                }
            };
            match r {
                Ok(()) => {
                    out.ok += 1;
                    out.outputs += 1;
                    let bytes = tr.bytes.len() as u64;
                    written.push((journal::key(&file.out_dir), name, bytes));
                }
                Err(e) => self.write_failed(file, out, &name, &tr, e),
            }
        }
        for (file, out, retry, written) in inputs {
            if out.io_errors == 0 && !retry {
                let mut e = entry(&file, &out);
                e.names = written;
                if let Err(err) = self.sinks.journal.record(&e) {
                    self.note_journal_error(&err);
                }
            }
            self.done(out);
        }
        super::add(self.sinks.write_clock, t);
    }

    fn write_failed(
        &self,
        file: &InputFile,
        out: &mut FileOutcome,
        name: &str,
        tr: &Encoded,
        e: std::io::Error,
    ) {
        out.io_errors += 1;
        let path = self.sinks.out.root.join(&file.out_dir).join(name);
        out.failures.push(failure(
            file,
            tr,
            format!(
                "write {}: {e}; not journaled: --resume writes it again",
                path.display()
            ),
        ));
    }

    /// Per event: the input's traces are appended to its event file with its journal line, or
    /// held back as failures (an input --resume redoes must not be in the event file, or the
    /// redo would append its traces twice).
    fn append_event(&self, f: Finished) {
        let Finished {
            file,
            mut out,
            traces,
            retry,
        } = f;
        if out.io_errors > 0 || retry {
            hold_back(
                &file,
                &mut out,
                &traces,
                "not written: its input file is retried by --resume",
            );
            self.done(out);
            return;
        }
        if traces.is_empty() {
            if let Err(err) = self.sinks.journal.record(&entry(&file, &out)) {
                self.note_journal_error(&err);
            }
            self.done(out);
            return;
        }
        let rel = event_file(&file, self.sinks.out.shard());
        let bytes: Vec<u8> = traces
            .iter()
            .flat_map(|t| t.bytes.iter().copied())
            .collect();
        let t = Instant::now();
        out.ok += traces.len();
        out.outputs += traces.len();
        let mut e = entry(&file, &out);
        let r = self
            .sinks
            .appender
            .append(self.sinks.out, &rel, &bytes, |key, end, crc| {
                e.appended = Some((key, end, crc));
                if let Err(err) = self.sinks.journal.record(&e) {
                    self.note_journal_error(&err);
                }
            });
        super::add(self.sinks.write_clock, t);
        if let Err(err) = r {
            // Nothing of this input stays in the event file and nothing is journaled: its
            // traces are failures now, and a --resume appends them.
            out.ok -= traces.len();
            out.outputs -= traces.len();
            let path = self.sinks.out.root.join(&rel);
            hold_back(
                &file,
                &mut out,
                &traces,
                &format!("append to {}: {err}", path.display()),
            );
        }
        self.done(out);
    }

    fn done(&self, out: FileOutcome) {
        self.sinks
            .progress
            .file_done(out.ok, out.failures.len(), out.samples);
        super::merge(self.sinks.totals, out);
    }

    fn note_journal_error(&self, err: &std::io::Error) {
        let mut first = self
            .sinks
            .journal_error
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        first.get_or_insert_with(|| err.to_string());
    }

    /// After the workers are done: everything admitted must have been committed. If an input
    /// never came back (a bug), the ones after it are committed anyway, so nothing finished
    /// is lost; returns how many were missing.
    pub fn close(&self) -> u64 {
        let mut missing = 0;
        loop {
            {
                let mut s = self.lock();
                if s.pending.is_empty() {
                    break;
                }
                let first = *s.pending.keys().next().unwrap_or(&s.next);
                missing += first - s.next;
                s.next = first;
                self.name_ready(&mut s);
            }
            self.write_named(true);
        }
        self.write_named(true);
        missing
    }
}

fn failure(file: &InputFile, t: &Encoded, reason: String) -> Failure {
    Failure {
        file: file.path.display().to_string(),
        id: t.id.clone(),
        start: t.start.clone(),
        reason,
    }
}

/// Per event: the input's processed traces stay out of the event file, each a failure with
/// `reason`.
fn hold_back(file: &InputFile, out: &mut FileOutcome, traces: &[Encoded], reason: &str) {
    for t in traces {
        out.failures.push(failure(file, t, reason.to_string()));
    }
}

fn entry(file: &InputFile, out: &FileOutcome) -> Entry {
    Entry {
        file: file.path.display().to_string(),
        key: journal::key(&file.rel),
        samples: out.samples,
        ok: out.ok,
        not_selected: out.not_selected,
        outputs: out.outputs,
        failures: out.failures.clone(),
        problems: out.problems.clone(),
        warnings: out.warnings.clone(),
        names: Vec::new(),
        appended: None,
        low_coverage: out.low_coverage.clone(),
    }
}

/// `--layout per-event`: where an input file's traces go, relative to OUTPUT. An event
/// (`EVENT/raw/x.mseed`, output folder `EVENT`) -> `EVENT/EVENT.mseed`; any other input ->
/// `<its folder>/<its name>.mseed`. Names come from the input tree, never from the data.
/// An ASDF file's stations are split among shards (`shard`), so each shard keeps its own
/// file of them: `X/X.K-of-N.mseed` (as `--layout dataset`'s `dataset.K-of-N.h5`).
pub fn event_file(f: &InputFile, shard: Option<crate::shard::Shard>) -> PathBuf {
    let in_raw = f
        .path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "raw");
    let stem = match f.out_dir.file_name() {
        Some(event) if in_raw => event.to_os_string(),
        _ => f.path.file_stem().unwrap_or_default().to_os_string(),
    };
    let mut name = stem;
    if let (Some(s), Some(_)) = (shard, &f.asdf) {
        name.push(format!(".{}-of-{}", s.index, s.count));
    }
    name.push(".mseed");
    f.out_dir.join(name)
}
