//! The GPU path as a pipeline: reader threads (take a file from the walk in order, read,
//! decode, find the event's inventory) -> bounded queue -> the device loop, which gathers whole
//! files until a batch worth of samples is waiting (or the readers have nothing more) and hands
//! their traces to the device driver -> bounded queue -> writer threads, which encode each
//! file's results and hand the file to the committer. Reading and writing overlap the device;
//! the bounded queues and the committer's admission keep memory flat however many files there
//! are.

use std::sync::mpsc::{sync_channel, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};

use super::work::{internal_failure, panic_message, Ctx, Decoded, Outcome};
use super::{FileOutcome, Inputs};
use crate::exec::Executor;
use crate::gpu::executor::Driver;
use crate::inventory::{Inventories, Inventory};
use crate::ops::ResponseSource;
use crate::read::tree::InputFile;
use crate::time;

/// Samples the GPU path gathers before handing them to the device driver (about 560
/// 20-minute 100 Hz traces, 512 MiB as f64): enough to fill large batches, bounded memory.
const BATCH_SAMPLES: usize = 1 << 26;

/// A file read: its sequence number and size (for the committer), the file, its traces and
/// failures so far, and its event inventory.
type Read = (u64, u64, InputFile, Decoded, Option<Arc<Inventory>>);
/// A file's results from the device loop.
type Done = (
    u64,
    u64,
    InputFile,
    FileOutcome,
    Vec<(Outcome, String, String)>,
);

impl Ctx<'_> {
    pub fn run_gpu(&self, walker: Inputs, driver: &mut Driver) {
        let jobs = self.cfg.jobs.max(1);
        // Decoding costs ~10x what writing the (usually shorter) results does (H100 host,
        // forum chain: 38 vs 3 thread-seconds), so most threads read.
        let writers = (jobs / 8).max(1);
        let readers = jobs.saturating_sub(writers).max(1);
        let walker = Mutex::new(walker);
        let (read_tx, read_rx) = sync_channel::<Read>(2 * readers);
        let (done_tx, done_rx) = sync_channel::<Done>(2 * writers);
        let done_rx = Mutex::new(done_rx);
        std::thread::scope(|s| {
            for _ in 0..readers {
                let tx = read_tx.clone();
                let walker = &walker;
                s.spawn(move || {
                    while let Some((seq, bytes, f)) = self.take(walker) {
                        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            (self.decode(&f), self.inventories(&f))
                        }));
                        let (d, inv) = match read {
                            Ok(x) => x,
                            Err(p) => {
                                // A bug: the file still reaches the committer, as a failure.
                                let done = internal_failure(&f, &panic_message(&*p));
                                self.committer.finish(seq, bytes, done);
                                continue;
                            }
                        };
                        if let Err(e) = tx.send((seq, bytes, f, d, inv)) {
                            // The device loop stopped: commit what was read, unprocessed.
                            let (seq, bytes, f, d, _) = e.0;
                            let done = self.finished(&f, d.out, Vec::new());
                            self.committer.finish(seq, bytes, done);
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
            self.device_loop(read_rx, done_tx, driver);
        });
    }

    /// Whole files until BATCH_SAMPLES are waiting, through the driver, results out. It owns
    /// the read queue, so if it stops early, blocked readers see a closed queue.
    fn device_loop(
        &self,
        read_rx: std::sync::mpsc::Receiver<Read>,
        done_tx: std::sync::mpsc::SyncSender<Done>,
        driver: &mut Driver,
    ) {
        let samples_of = |r: &Read| r.3.traces.iter().map(|t| t.data.len()).sum::<usize>();
        let mut closed = false;
        while !closed {
            let mut files: Vec<Read> = match read_rx.recv() {
                Ok(first) => vec![first],
                Err(_) => break,
            };
            let mut samples: usize = samples_of(&files[0]);
            while samples < BATCH_SAMPLES {
                let next = match read_rx.try_recv() {
                    Ok(f) => Ok(f),
                    // Readers are behind: wait a little for a fuller batch, not forever.
                    Err(TryRecvError::Empty) => {
                        read_rx.recv_timeout(std::time::Duration::from_millis(20))
                    }
                    Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                };
                match next {
                    Ok(f) => {
                        samples += samples_of(&f);
                        files.push(f);
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            let resps: Vec<_> = files.iter().map(|r| r.4.clone()).collect();
            let invs: Vec<Inventories> = resps.iter().map(|r| self.layers(r)).collect();
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
            let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                driver.process(traces, &sources)
            }))
            .unwrap_or_else(|p| {
                // A bug on the device path: every trace of the batch fails with the reason,
                // and the run goes on.
                let m = panic_message(&*p);
                (0..n)
                    .map(|_| {
                        Err(crate::error::TraceError::Op {
                            step: 0,
                            op: "gpu".into(),
                            message: format!(
                                "internal error on the device path ({m}); please report it"
                            ),
                        })
                    })
                    .collect()
            });
            let mut per_file: Vec<Vec<(Outcome, String, String)>> =
                (0..shells.len()).map(|_| Vec::new()).collect();
            for ((r, (id, st)), o) in results.into_iter().zip(ids).zip(owner) {
                per_file[o].push((r, id, st));
            }
            for ((seq, bytes, f, out), results) in shells.into_iter().zip(per_file) {
                if let Err(e) = done_tx.send((seq, bytes, f, out, results)) {
                    // No writer left (cannot happen while this scope lives): commit here.
                    let (seq, bytes, f, out, results) = e.0;
                    let done = self.finished(&f, out, results);
                    self.committer.finish(seq, bytes, done);
                    closed = true;
                }
            }
        }
        drop(read_rx);
        drop(done_tx);
    }
}
