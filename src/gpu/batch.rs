//! Traces in, processed traces out, through the device: group by shape (npts, rate, and
//! start when an absolute interpolate starttime makes it matter) -> one `Program` per group
//! -> per-trace response tables on the host -> batches sized by `layout` -> `Runner`. Every
//! trace the device cannot take (no kernel for a step, a degenerate shape, a failed batch, a
//! lost device) runs on the CPU path instead, and the reason is kept for the report: the run
//! never loses a trace to the device.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::exec::{Pending, Runner, IN_FLIGHT};
use super::plan::{self, PlanError, Program};
use super::Gpu;
use crate::error::TraceError;
use crate::ops::{self, ResponseSource};
use crate::pipeline::Step;
use crate::response::cache::{ResponseCache, Table};
use crate::trace::Trace;

/// Largest sample magnitude the device takes: f32 holds 3.4e38, and an FFT of 2^20 points
/// sums 2^20 samples.
pub const F32_SAFE: f64 = 1e30;

/// One trace's result: the processed trace and its warnings, or why it failed.
pub type Outcome = Result<(Trace, Vec<String>), TraceError>;

pub struct Driver<'g> {
    runner: Runner<'g>,
    gpu: &'g Gpu,
    /// Why traces went to the CPU path, each reason once (for report.json's warnings).
    pub notes: BTreeSet<String>,
    /// Traces the device processed, and traces that fell back to the CPU path.
    pub on_device: usize,
    pub on_cpu: usize,
    /// Seconds spent planning and looking up response tables (host prep), and running
    /// fallback traces on the CPU path.
    pub host_prep: f64,
    pub cpu_fallback: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ShapeKey {
    npts: usize,
    rate_bits: u64,
    start_ns: i64,
}

/// Where each trace's responses come from (its event's resp/ folder, then --inventory).
pub type Sources<'s> = [&'s dyn ResponseSource];

fn run_cpu(
    steps: &[Step],
    traces: Vec<(usize, Trace)>,
    sources: &Sources,
    cache: &ResponseCache,
) -> Vec<(usize, Outcome)> {
    traces
        .into_par_iter()
        .map(|(i, mut tr)| {
            (
                i,
                ops::run_steps(steps, &mut tr, sources[i], cache).map(|w| (tr, w)),
            )
        })
        .collect()
}

impl<'g> Driver<'g> {
    pub fn new(gpu: &'g Gpu, budget_bytes: u64) -> Driver<'g> {
        Driver {
            runner: Runner::new(gpu, budget_bytes),
            gpu,
            notes: BTreeSet::new(),
            on_device: 0,
            on_cpu: 0,
            host_prep: 0.0,
            cpu_fallback: 0.0,
        }
    }

    /// Profile every batch with timestamp queries (kernel-only times in `runner_times`).
    pub fn set_profile(&mut self, on: bool) {
        self.runner.profile = on;
    }

    pub fn runner_times(&self) -> super::exec::RunnerTimes {
        self.runner.times
    }

    /// Processes `traces` with `steps`, trace i's responses from `sources[i]`; outcomes
    /// come back in input order.
    pub fn process(
        &mut self,
        steps: &[Step],
        traces: Vec<Trace>,
        sources: &Sources,
        cache: &ResponseCache,
    ) -> Vec<Outcome> {
        let by_start = steps.iter().any(|s| {
            matches!(
                s,
                Step::Interpolate {
                    starttime: Some(_),
                    ..
                }
            )
        });
        let mut groups: BTreeMap<ShapeKey, Vec<usize>> = BTreeMap::new();
        // Samples near f32's limit overflow on the device (an FFT sums n of them) where the
        // CPU path's f64 does not: those traces take the CPU path (found by tests/corpus.rs).
        // So do NaN/Inf samples: the CPU path gives ObsPy's errors for them (a linear detrend
        // refuses them; tests/degenerate.rs).
        let huge: Vec<bool> = traces
            .par_iter()
            .map(|t| t.data.iter().any(|v| !v.is_finite() || v.abs() > F32_SAFE))
            .collect();
        let mut to_cpu = Vec::new();
        for (i, t) in traces.iter().enumerate() {
            if huge[i] {
                to_cpu.push(i);
                continue;
            }
            let key = ShapeKey {
                npts: t.data.len(),
                rate_bits: t.sampling_rate.to_bits(),
                start_ns: if by_start { t.start_ns } else { 0 },
            };
            groups.entry(key).or_default().push(i);
        }
        let mut slots: Vec<Option<Trace>> = traces.into_iter().map(Some).collect();
        // The traces at `idx`, with their indices, out of their slots.
        let take = |slots: &mut Vec<Option<Trace>>, idx: Vec<usize>| -> Vec<(usize, Trace)> {
            idx.into_iter()
                .filter_map(|i| slots[i].take().map(|t| (i, t)))
                .collect()
        };
        let mut outcomes: Vec<Option<Outcome>> = (0..slots.len()).map(|_| None).collect();
        if !to_cpu.is_empty() {
            self.notes.insert(format!(
                "traces with NaN/Inf samples or samples beyond {F32_SAFE:e} in magnitude ran on the CPU path (f64): on the device (f32) they would overflow"
            ));
            let group = take(&mut slots, to_cpu);
            for (i, o) in self.cpu_fallback(steps, group, sources, cache) {
                outcomes[i] = Some(o);
            }
        }
        for idx in groups.into_values() {
            let group = take(&mut slots, idx);
            for (i, o) in self.process_group(steps, group, sources, cache) {
                outcomes[i] = Some(o);
            }
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Err(TraceError::Op {
                        step: 0,
                        op: "gpu".into(),
                        message: "trace lost in batching (bug)".into(),
                    })
                })
            })
            .collect()
    }

    fn cpu_fallback(
        &mut self,
        steps: &[Step],
        group: Vec<(usize, Trace)>,
        sources: &Sources,
        cache: &ResponseCache,
    ) -> Vec<(usize, Outcome)> {
        self.on_cpu += group.len();
        let t = std::time::Instant::now();
        let r = run_cpu(steps, group, sources, cache);
        self.cpu_fallback += t.elapsed().as_secs_f64();
        r
    }

    fn process_group(
        &mut self,
        steps: &[Step],
        group: Vec<(usize, Trace)>,
        sources: &Sources,
        cache: &ResponseCache,
    ) -> Vec<(usize, Outcome)> {
        let Some((_, first)) = group.first() else {
            return Vec::new();
        };
        let t_prep = std::time::Instant::now();
        if self.gpu.is_lost() {
            self.notes
                .insert("the GPU device was lost; later traces ran on the CPU path".into());
            return self.cpu_fallback(steps, group, sources, cache);
        }
        let prog = match plan::compile(
            steps,
            first.data.len(),
            first.sampling_rate,
            first.start_ns,
            self.gpu.has_f64(),
        ) {
            Ok(p) => p,
            Err(PlanError::Unsupported(m)) => {
                self.notes.insert(format!(
                    "no GPU kernel for {m}: those traces ran on the CPU path"
                ));
                return self.cpu_fallback(steps, group, sources, cache);
            }
            // A step fails or is degenerate for this shape: the CPU path gives ObsPy's answer.
            Err(PlanError::Cpu { .. }) => return self.cpu_fallback(steps, group, sources, cache),
        };
        let per_batch = match self.runner.per_batch(&prog) {
            Ok(p) => p,
            Err(e) => {
                self.notes
                    .insert(format!("GPU: {e}; those traces ran on the CPU path"));
                return self.cpu_fallback(steps, group, sources, cache);
            }
        };
        // Host side of remove_response: each trace's tables (a trace without a usable
        // response fails here, with the same reason as on the CPU path).
        // In parallel: a new response costs milliseconds to evaluate (then it is cached).
        let looked: Vec<_> = group
            .into_par_iter()
            .map(|(i, t)| {
                let r = tables_for(steps, &prog, &t, sources[i], cache);
                (i, t, r)
            })
            .collect();
        let mut results = Vec::with_capacity(looked.len());
        let mut ready: Vec<(usize, Trace, Vec<Table>, i64)> = Vec::with_capacity(looked.len());
        for (i, t, r) in looked {
            match r {
                Ok((tables, end_start)) => ready.push((i, t, tables, end_start)),
                Err(e) => results.push((i, Err(e))),
            }
        }
        self.host_prep += t_prep.elapsed().as_secs_f64();
        // Up to IN_FLIGHT batches on the device at once: while one runs, the next is
        // converted, uploaded and recorded, and the one before is read back.
        type Batch = Vec<(usize, Trace, Vec<Table>, i64)>;
        let mut in_flight: std::collections::VecDeque<(Batch, Pending)> = Default::default();
        let mut rest = ready;
        while !rest.is_empty() || !in_flight.is_empty() {
            if !rest.is_empty() && in_flight.len() < IN_FLIGHT {
                let take = per_batch.min(rest.len());
                let tail = rest.split_off(take);
                let batch = std::mem::replace(&mut rest, tail);
                let samples: Vec<&[f64]> =
                    batch.iter().map(|(_, t, _, _)| t.data.as_slice()).collect();
                let tables: Vec<Vec<Table>> =
                    batch.iter().map(|(_, _, tb, _)| tb.clone()).collect();
                match self.runner.submit(&prog, &samples, &tables) {
                    Ok(p) => in_flight.push_back((batch, p)),
                    Err(e) => results.extend(self.failed_batch(steps, batch, e, sources, cache)),
                }
                continue;
            }
            let Some((batch, p)) = in_flight.pop_front() else {
                break;
            };
            match self.runner.finish(p) {
                Ok(out) => {
                    self.on_device += batch.len();
                    let out: Vec<Vec<f64>> = out
                        .into_par_iter()
                        .map(|d| d.into_iter().map(f64::from).collect())
                        .collect();
                    for ((i, mut t, _, start), data) in batch.into_iter().zip(out) {
                        t.data = data;
                        t.start_ns = start;
                        t.sampling_rate = prog.sampling_rate_out;
                        results.push((i, Ok((t, prog.warnings.clone()))));
                    }
                }
                Err(e) => results.extend(self.failed_batch(steps, batch, e, sources, cache)),
            }
        }
        results
    }
}

impl Driver<'_> {
    /// A batch the device failed: its traces run on the CPU path, the reason is noted.
    fn failed_batch(
        &mut self,
        steps: &[Step],
        batch: Vec<(usize, Trace, Vec<Table>, i64)>,
        e: super::GpuError,
        sources: &Sources,
        cache: &ResponseCache,
    ) -> Vec<(usize, Outcome)> {
        self.notes.insert(format!(
            "GPU batch failed ({e}); its traces ran on the CPU path"
        ));
        let group = batch.into_iter().map(|(i, t, _, _)| (i, t)).collect();
        self.cpu_fallback(steps, group, sources, cache)
    }
}

/// The inverse tables trace `t` needs for `prog`, looked up at its start time at each
/// remove_response step, and its start after the last step.
fn tables_for(
    steps: &[Step],
    prog: &Program,
    t: &Trace,
    responses: &dyn ResponseSource,
    cache: &ResponseCache,
) -> Result<(Vec<Table>, i64), TraceError> {
    let (starts, end_start) = plan::starts(steps, t.data.len(), t.sampling_rate, t.start_ns)
        .map_err(|m| TraceError::Op {
            step: 0,
            op: "interpolate".into(),
            message: m,
        })?;
    let mut tables = Vec::with_capacity(prog.responses.len());
    for (need, start) in prog.responses.iter().zip(starts) {
        let at = Trace {
            network: t.network.clone(),
            station: t.station.clone(),
            location: t.location.clone(),
            channel: t.channel.clone(),
            start_ns: start,
            sampling_rate: 1.0 / need.delta,
            data: Vec::new(),
        };
        let (rid, resp) = responses.response_for(&at)?;
        let table = cache.table(
            rid,
            &resp,
            need.delta,
            need.nfft,
            need.output,
            need.water_level,
            need.pre_filt,
        );
        if let Err(m) = table.as_ref() {
            return Err(TraceError::BadResponse {
                id: t.id(),
                message: m.clone(),
            });
        }
        tables.push(table);
    }
    Ok((tables, end_start))
}
