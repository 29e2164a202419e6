//! The two executors of a plan behind one trait. `cpu` runs each stage through its f64 twin
//! in `src/ops/<stage>.rs`; `gpu::executor` records the same stages for the device (and runs
//! a stage the device cannot run, or that `--cpu-stages` names, through the same CPU twin).
//! The engine hands either one the traces of whole files and gets one outcome per trace.

pub mod cpu;
pub mod grouped;
pub mod tables;

use crate::error::TraceError;
use crate::inventory::ResponseSource;
use crate::trace::{Holds, Trace};

/// Which step left a trace's samples beyond what the output type holds, for the reason of a
/// trace that ends so: the first step of the last unbroken run of steps after which some
/// sample was out of range (a step that brings them back clears it). Kept per trace across
/// every stage the executors run, on the host or the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Beyond {
    since: Option<Since>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Since {
    /// The samples came in so (from the input, or from the segment before a rotate).
    Input,
    /// After this step (0-based).
    Step(usize),
}

impl Beyond {
    /// The tracker for a trace whose samples are `data` before the first stage.
    pub fn start(holds: Holds, data: &[f64]) -> Beyond {
        Beyond {
            since: holds.first_unheld(data).map(|_| Since::Input),
        }
    }

    /// After a stage of step `step` (0-based) left `data`.
    pub fn after(&mut self, holds: Holds, step: usize, data: &[f64]) {
        if holds.first_unheld(data).is_none() {
            self.since = None;
        } else if self.since.is_none() {
            self.since = Some(Since::Step(step));
        }
    }

    /// After stages that are known to have left every sample in range (the device's finite
    /// float32 results).
    pub fn in_range(&mut self) {
        self.since = None;
    }

    /// The trace's final samples checked in `holds`: why they cannot be written, naming the
    /// step that produced them.
    pub fn check(
        &self,
        holds: Holds,
        data: &[f64],
        steps: &[crate::pipeline::Step],
    ) -> Result<(), TraceError> {
        let Some(i) = holds.first_unheld(data) else {
            return Ok(());
        };
        let v = data[i];
        let what = if v.is_finite() {
            format!(
                "values beyond {}'s range (sample {i} is {v:e}); the output's {} samples cannot hold them; not written",
                holds.name(),
                holds.name()
            )
        } else {
            format!("a non-finite sample at index {i} ({v}); not written")
        };
        Err(match self.since {
            Some(Since::Step(step)) => TraceError::Op {
                step: step + 1,
                op: steps.get(step).map_or("?", |s| s.op()).to_string(),
                message: format!("produced {what}"),
            },
            _ => TraceError::Samples(format!("the samples came in with {what}")),
        })
    }
}

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
