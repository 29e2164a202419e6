//! The two executors of a plan behind one trait. `cpu` runs each stage through its f64 twin
//! in `src/ops/<stage>.rs`; `gpu::executor` records the same stages for the device (and runs
//! a stage the device cannot run, or that `--cpu-stages` names, through the same CPU twin).
//! The engine hands either one the traces of whole files and gets one outcome per trace.

pub mod cpu;
pub mod grouped;

use crate::error::TraceError;
use crate::ops::ResponseSource;
use crate::trace::Trace;

/// One trace's result: the processed trace and its warnings, or why it failed.
pub type Outcome = Result<(Trace, Vec<String>), TraceError>;

/// Where each trace's responses come from (its event's resp/ folder, then --inventory).
pub type Sources<'s> = [&'s dyn ResponseSource];

pub trait Executor {
    /// Runs the pipeline over `traces`, trace i's responses from `sources[i]`; outcomes come
    /// back in input order, one per trace (a failure is an outcome, never a lost trace).
    fn process(&mut self, traces: Vec<Trace>, sources: &Sources) -> Vec<Outcome>;
}

/// An executor whose calls run inside `pool` (rayon's pool is per thread: an executor loop
/// on a thread of its own would otherwise use the global pool, not `--jobs` threads).
pub struct InPool<'p, E: ?Sized> {
    pub pool: &'p rayon::ThreadPool,
    pub exec: &'p mut E,
}

impl<E: Executor + Send + ?Sized> Executor for InPool<'_, E> {
    fn process(&mut self, traces: Vec<Trace>, sources: &Sources) -> Vec<Outcome> {
        let exec = &mut *self.exec;
        self.pool.install(|| exec.process(traces, sources))
    }
}

/// A borrowed executor (a GPU driver the engine reads its counters from afterwards, run
/// inside a rotate run's `grouped::Grouped`).
impl<E: Executor + ?Sized> Executor for &mut E {
    fn process(&mut self, traces: Vec<Trace>, sources: &Sources) -> Vec<Outcome> {
        (**self).process(traces, sources)
    }
}
