//! How one `process` call runs its work: on a thread pool of its own process and size, and
//! stoppable by Ctrl-C (issue #23).
//!
//! - **Fork**: rayon's global pool has threads only in the process that started them; after
//!   `fork` (multiprocessing's default start method on Linux before Python 3.14, Dask's fork
//!   context) a child that used it waited forever on a futex. Pools here are per process id:
//!   a child makes its own on first use, and the parent's (whose threads the child does not
//!   have) is forgotten, never dropped (dropping wakes threads that are not there).
//! - **`jobs`**: a pool per size, so `process(..., jobs=N)` runs on N threads (all cores by
//!   default); a Pool or Dask worker per core with `jobs=1` does not oversubscribe.
//! - **Ctrl-C**: the work runs on a thread of its own while the calling thread waits, checking
//!   Python's signals every 50 ms; a KeyboardInterrupt sets the call's cancel flag, which the
//!   executors look at between traces (CPU) and between chunks of traces (GPU), and the call
//!   returns once the workers have stopped, raising it. The work returned 3-13 s late before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use seisbatch::error::TraceError;
use seisbatch::exec::{Executor, Outcome, Sources};
use seisbatch::trace::Trace;

/// The pools of this process, by size (at most a few: one per `jobs` a program uses).
struct Pools {
    pid: u32,
    by_size: Vec<(usize, Arc<rayon::ThreadPool>)>,
}

static POOLS: Mutex<Option<Pools>> = Mutex::new(None);

/// Most pools kept; a program passing many sizes makes one again now and then.
const KEPT_POOLS: usize = 8;

/// The pool of `jobs` threads (None: one per core) of this process.
pub fn pool(jobs: Option<usize>) -> PyResult<Arc<rayon::ThreadPool>> {
    let n = match jobs {
        Some(0) => return Err(PyValueError::new_err("jobs must be at least 1")),
        Some(n) if n > seisbatch::limits::MAX_JOBS => {
            return Err(PyValueError::new_err(format!(
                "jobs = {n}: at most {}",
                seisbatch::limits::MAX_JOBS
            )))
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let pid = std::process::id();
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if pools.as_ref().is_some_and(|p| p.pid != pid) {
        // A forked child: the parent's pools have no threads here. Forgotten, not dropped.
        if let Some(old) = pools.take() {
            std::mem::forget(old.by_size);
        }
    }
    let p = pools.get_or_insert_with(|| Pools {
        pid,
        by_size: Vec::new(),
    });
    if let Some((_, pool)) = p.by_size.iter().find(|(k, _)| *k == n) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("seisbatch-{i}"))
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start {n} threads: {e}")))?;
    let pool = Arc::new(pool);
    if p.by_size.len() >= KEPT_POOLS {
        p.by_size.remove(0);
    }
    p.by_size.push((n, pool.clone()));
    Ok(pool)
}

/// Why a trace was not processed when its call was interrupted.
pub fn cancelled() -> TraceError {
    TraceError::Interrupted
}

/// Runs `work` on `pool` from a thread of its own, the calling thread (Python's, the GIL
/// released) checking for signals meanwhile. Err(the signal's exception) when one arrived:
/// `cancel` was set and the work has stopped.
pub fn run<T: Send>(
    py: Python<'_>,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let mut signal = None;
    let done = py.detach(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let worker = s.spawn(move || {
                let r = pool.install(work);
                let _ = tx.send(());
                r
            });
            loop {
                match rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        if signal.is_none() {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                signal = Some(e);
                                cancel.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
            worker.join()
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
    done.map_err(|_| PyRuntimeError::new_err("internal error: the work panicked"))
}

/// An executor whose traces go through `inner` in chunks, `cancel` looked at between them:
/// the GPU driver runs a whole call at once otherwise. Chunks are large enough to fill the
/// device's batches.
pub struct Chunked<'a> {
    pub inner: Box<dyn Executor + Send + 'a>,
    pub cancel: &'a AtomicBool,
    pub samples: usize,
}

impl Executor for Chunked<'_> {
    fn process(&mut self, traces: Vec<Trace>, sources: &Sources) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(traces.len());
        let mut rest = traces.into_iter().peekable();
        let mut at = 0;
        while rest.peek().is_some() {
            if self.cancel.load(Ordering::Relaxed) {
                out.extend(rest.by_ref().map(|_| Err(cancelled())));
                break;
            }
            let mut chunk = Vec::new();
            let mut n = 0;
            while let Some(t) =
                rest.next_if(|t| chunk.is_empty() || n + t.data.len() <= self.samples)
            {
                n += t.data.len();
                chunk.push(t);
            }
            let k = chunk.len();
            out.extend(self.inner.process(chunk, &sources[at..at + k]));
            at += k;
        }
        out
    }
}
