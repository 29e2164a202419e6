//! The one streaming engine, for either executor: reader threads (take a file from the walk
//! in order, read, decode, find the event's inventory) -> bounded queue -> the executor loop,
//! which gathers whole files until a batch worth of samples is waiting (or the readers have
//! nothing more) and hands their traces to the executor (the CPU's on the rayon pool, or the
//! GPU's) -> bounded queue -> writer threads, which encode each file's results and hand the
//! file to the committer. Reading and writing overlap the computing; the bounded queues and the
//! committer's admission keep memory flat however many files there are.

use std::sync::mpsc::{sync_channel, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};

use super::group::PARTNER;
use super::work::FileSources;
use super::work::{internal_failure, panic_message, Ctx, Decoded, Outcome};
use super::{FileOutcome, Inputs};
use crate::exec::Executor;
use crate::inventory::Inventory;
use crate::inventory::ResponseSource;
use crate::read::tree::InputFile;
use crate::time;

/// How the stream feeds an executor: threads on each side, and how many samples the loop
/// gathers for one call.
pub struct Feed {
    pub readers: usize,
    pub writers: usize,
    /// Samples gathered before a call...
    pub samples: usize,
    /// ...waiting at most this long for readers that are behind.
    pub wait: std::time::Duration,
}

impl Feed {
    /// The device wants large batches (about 560 20-minute 100 Hz traces, 512 MiB as f64,
    /// per call) and is worth a short wait for them. Decoding costs ~10x what writing the
    /// (usually shorter) results does (H100 host, forum chain: 38 vs 3 thread-seconds), so
    /// most threads read.
    pub fn gpu(jobs: usize) -> Feed {
        let writers = (jobs / 8).max(1);
        Feed {
            readers: jobs.saturating_sub(writers).max(1),
            writers,
            samples: crate::faults::feed_samples().unwrap_or(1 << 26),
            wait: std::time::Duration::from_millis(20),
        }
    }

    /// The CPU executor works as well on a few traces as on many: whatever has been read is
    /// processed at once (no wait), up to 16 MiB of samples per call. Every side gets `jobs`
    /// threads (one executor loop per job too): a side that waits on the disk (reading, the
    /// fsync of each output) leaves its cores to the others.
    pub fn cpu(jobs: usize) -> Feed {
        Feed {
            readers: jobs,
            writers: jobs,
            samples: 1 << 21,
            wait: std::time::Duration::ZERO,
        }
    }
}

/// A file read: its sequence number and size (for the committer), the file, its traces and
/// failures so far, and its event inventory.
pub(super) type Read = (u64, u64, InputFile, Decoded, Option<Arc<Inventory>>);
/// A file's results from an executor loop.
pub(super) type Done = (
    u64,
    u64,
    InputFile,
    FileOutcome,
    Vec<(Outcome, String, String)>,
);

impl Ctx<'_> {
    /// Runs the walk through `exec` (on this thread) and `more` executors (each on its own
    /// thread, all taking from the same read queue), fed as `feed` says.
    pub fn run_stream<'e>(
        &self,
        walker: Inputs,
        exec: &mut dyn Executor,
        more: Vec<Box<dyn Executor + Send + 'e>>,
        feed: &Feed,
    ) {
        let (readers, writers) = (feed.readers.max(1), feed.writers.max(1));
        let walker = super::group::Walk::new(walker);
        // A message is a group: one file, or a rotate run's station (`group`).
        let (read_tx, read_rx) = sync_channel::<Vec<Read>>(2 * readers);
        let (done_tx, done_rx) = sync_channel::<Done>(2 * writers);
        let done_rx = Mutex::new(done_rx);
        let read_rx = Mutex::new(read_rx);
        std::thread::scope(|s| {
            for _ in 0..readers {
                let tx = read_tx.clone();
                let walker = &walker;
                s.spawn(move || {
                    loop {
                        let group = self.take_group(walker);
                        if group.is_empty() {
                            break;
                        }
                        let mut reads = Vec::with_capacity(group.len());
                        for (seq, bytes, f) in group {
                            let read =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    (self.decode(&f), self.inventories(&f))
                                }));
                            match read {
                                Ok((d, inv)) => reads.push((seq, bytes, f, d, inv)),
                                Err(p) => {
                                    // A bug: the file still reaches the committer, as a failure.
                                    if seq != PARTNER {
                                        let done = internal_failure(&f, &panic_message(&*p));
                                        self.committer.finish(seq, bytes, done);
                                    }
                                }
                            }
                        }
                        if let Err(e) = tx.send(reads) {
                            // The executor loops stopped: commit what was read, unprocessed.
                            for (seq, bytes, f, d, _) in e.0 {
                                if seq != PARTNER {
                                    let done = self.finished(&f, d.out, Vec::new());
                                    self.committer.finish(seq, bytes, done);
                                }
                            }
                        }
                    }
                });
            }
            drop(read_tx);
            for _ in 0..writers {
                let rx = &done_rx;
                s.spawn(move || loop {
                    let msg = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => break,
                    };
                    let Ok((seq, bytes, f, out, results)) = msg else {
                        break;
                    };
                    let done = self.guarded(&f, || self.finished(&f, out, results));
                    self.committer.finish(seq, bytes, done);
                });
            }
            for mut e in more {
                let (rx, tx) = (&read_rx, done_tx.clone());
                s.spawn(move || self.executor_loop(rx, tx, &mut *e, feed, true));
            }
            self.executor_loop(&read_rx, done_tx, exec, feed, false);
        });
    }

    /// Whole files until `feed.samples` are waiting, through the executor, results out.
    fn executor_loop(
        &self,
        read_rx: &Mutex<std::sync::mpsc::Receiver<Vec<Read>>>,
        done_tx: std::sync::mpsc::SyncSender<Done>,
        exec: &mut dyn Executor,
        feed: &Feed,
        extra: bool,
    ) {
        let samples_of = |g: &[Read]| {
            g.iter()
                .flat_map(|r| r.3.traces.iter())
                .map(|t| t.data.len())
                .sum::<usize>()
        };
        let mut closed = false;
        while !closed {
            // One loop gathers at a time; the others process meanwhile.
            let Ok(rx) = read_rx.lock() else { break };
            let mut files: Vec<Read> = match rx.recv() {
                Ok(first) => first,
                Err(_) => break,
            };
            // The groups' lengths: a user's function takes a group's traces together.
            let mut groups = vec![files.len()];
            let mut samples: usize = samples_of(&files);
            while samples < feed.samples {
                let next = match rx.try_recv() {
                    Ok(f) => Ok(f),
                    // Readers are behind: wait a little for a fuller batch, not forever.
                    Err(TryRecvError::Empty) if feed.wait.is_zero() => break,
                    Err(TryRecvError::Empty) => rx.recv_timeout(feed.wait),
                    Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                };
                match next {
                    Ok(mut g) => {
                        samples += samples_of(&g);
                        groups.push(g.len());
                        files.append(&mut g);
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            drop(rx);
            if extra {
                crate::faults::extra_loop_delay();
            }
            let Some(done) = self.run_set(exec, files, &groups) else {
                continue;
            };
            for d in done {
                if let Err(e) = done_tx.send(d) {
                    // No writer left (cannot happen while this scope lives): commit here.
                    let (seq, bytes, f, out, results) = e.0;
                    let done = self.finished(&f, out, results);
                    self.committer.finish(seq, bytes, done);
                    closed = true;
                }
            }
        }
        drop(done_tx);
    }

    /// One executor call over the traces of `files` (each file's sources its own); their
    /// results split back per file, a partner's dropped (journaled by an earlier run: read
    /// only for its group). `groups`: the lengths of the groups `files` holds, in order. A bug
    /// in the executor fails every file of the set (committed here) and gives None.
    pub(super) fn run_set(
        &self,
        exec: &mut dyn Executor,
        files: Vec<Read>,
        groups: &[usize],
    ) -> Option<Vec<Done>> {
        let resps: Vec<_> = files.iter().map(|r| r.4.clone()).collect();
        let invs: Vec<FileSources> = resps
            .iter()
            .zip(&files)
            .map(|(r, f)| self.sources(&f.2, r))
            .collect();
        let mut owner = Vec::new();
        let mut traces = Vec::new();
        let mut shells = Vec::with_capacity(files.len());
        for (slot, (seq, bytes, f, mut d, _)) in files.into_iter().enumerate() {
            owner.extend(std::iter::repeat_n(slot, d.traces.len()));
            traces.append(&mut d.traces);
            shells.push((seq, bytes, f, d.out));
        }
        let ids: Vec<(String, String)> = traces
            .iter()
            .map(|t| (t.id(), time::iso(t.start_ns)))
            .collect();
        let sources: Vec<&dyn ResponseSource> = owner
            .iter()
            .map(|&o| &invs[o] as &dyn ResponseSource)
            .collect();
        let n = traces.len();
        let results = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            exec.process(traces, &sources)
        })) {
            Ok(r) if r.len() == n => r,
            outcome => {
                // A bug in an executor: each file of the set fails as an internal error
                // (reported, not journaled: a fixed seisbatch redoes it on --resume), as
                // `Ctx::guarded` does for the serial path; the run goes on.
                let m = match outcome {
                    Err(p) => panic_message(&*p),
                    Ok(r) => format!("{} outcomes for {n} traces", r.len()),
                };
                for (seq, bytes, f, _) in shells {
                    if seq != PARTNER {
                        self.committer.finish(seq, bytes, internal_failure(&f, &m));
                    }
                }
                return None;
            }
        };
        let mut per_file: Vec<Vec<(Outcome, String, String)>> =
            (0..shells.len()).map(|_| Vec::new()).collect();
        for ((r, (id, st)), o) in results.into_iter().zip(ids).zip(owner) {
            per_file[o].push((r, id, st));
        }
        if self.cfg.hook.is_some() {
            super::hook::gather_groups(&mut per_file, groups);
        }
        Some(
            shells
                .into_iter()
                .zip(per_file)
                .filter(|((seq, ..), _)| *seq != PARTNER)
                .map(|((seq, bytes, f, out), results)| (seq, bytes, f, out, results))
                .collect(),
        )
    }
}
