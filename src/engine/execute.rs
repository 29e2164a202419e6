//! The run's middle phase: the state every part of an executing run shares (`Shared`: the
//! caches, the progress, the accounting) and the executor loops over the walk, on the CPU
//! (`cpu_run`) or the device (`gpu_run`).

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;

use super::totals::{Clocks, Totals};
use super::{commit, gpu_run, work, Inputs, Layout, RunConfig, RunError};
use crate::gpu::{AdapterSummary, Gpu};
use crate::inventory::XmlCache;
use crate::progress::Progress;
use crate::response::cache::ResponseCache;
use crate::write::append::Appender;
use crate::write::journal;
use crate::write::Format;

/// What every phase of a run shares while it executes: the caches and the accounting.
pub(super) struct Shared {
    pub xml: XmlCache,
    pub cache: ResponseCache,
    pub planner: crate::plan::Planner,
    pub progress: Progress,
    pub clocks: Clocks,
    pub totals: Mutex<Totals>,
    pub journal_error: Mutex<Option<String>>,
    pub appender: Appender,
    pub event_xml: Mutex<std::collections::HashMap<PathBuf, Result<crate::events::Event, String>>>,
    /// Input files taken from the walk so far.
    pub files: AtomicUsize,
}

impl Shared {
    pub fn new(cfg: &RunConfig, total_files: usize, done: &[journal::Entry]) -> Shared {
        Shared {
            xml: XmlCache::default(),
            cache: ResponseCache::default(),
            planner: crate::plan::Planner::new(&cfg.pipeline.steps),
            progress: Progress::new(total_files, cfg.progress).watched(cfg.watch.clone()),
            clocks: Clocks::default(),
            totals: Mutex::new(Totals::default()),
            journal_error: Mutex::new(None),
            appender: Appender::new(done),
            event_xml: Mutex::new(std::collections::HashMap::new()),
            files: AtomicUsize::new(0),
        }
    }

    /// Where the committer puts finished files.
    pub fn sinks<'a>(
        &'a self,
        cfg: &RunConfig,
        out: &'a crate::write::output::OutputDir,
        journal: &'a journal::Journal,
    ) -> commit::Sinks<'a> {
        let per_event = cfg.layout == Layout::PerEvent || cfg.format == Format::Asdf;
        commit::Sinks {
            out,
            layout: if per_event {
                Layout::PerEvent
            } else {
                Layout::PerTrace
            },
            journal,
            appender: &self.appender,
            totals: &self.totals,
            progress: &self.progress,
            write_clock: &self.clocks.write,
            journal_error: &self.journal_error,
        }
    }

    /// The first failure to append to the journal, if any.
    pub fn journal_error(&self) -> Option<String> {
        self.journal_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// What executing left for the report.
pub(super) struct Ran {
    pub adapter: Option<AdapterSummary>,
    pub on_device: usize,
    /// Each device's adapter and traces (empty on the CPU path).
    pub devices: Vec<(AdapterSummary, usize)>,
    pub gpu_times: Option<gpu_run::GpuTimes>,
    pub notes: Vec<String>,
}

/// The executor loops over the walk: on the CPU, or on `gpus` (one stream feeding them all).
pub(super) fn execute(ctx: &work::Ctx, gpus: &[Gpu], walker: Inputs) -> Result<Ran, RunError> {
    let Some(first) = gpus.first() else {
        ctx.run_cpu(walker);
        return Ok(Ran {
            adapter: None,
            on_device: 0,
            devices: Vec::new(),
            gpu_times: None,
            notes: Vec::new(),
        });
    };
    let run = gpu_run::run_on_gpu(ctx, gpus, walker, ctx.segments, ctx.planner, ctx.cache)?;
    Ok(Ran {
        adapter: Some(first.info.clone()),
        on_device: run.on_device.iter().sum(),
        devices: gpus
            .iter()
            .map(|g| g.info.clone())
            .zip(run.on_device)
            .collect(),
        gpu_times: Some(run.times),
        notes: run.notes,
    })
}
