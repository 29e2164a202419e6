//! The GPU executor: traces in, processed traces out, through the device. Each trace's walk
//! (`plan::Shapes`) gives its plan; traces of one plan form a group; each group's plan is cut
//! into device and host segments (`record::segments`: a stage the device cannot run, or one
//! `--cpu-stages` names, runs through its CPU twin for that stage alone); response tables are
//! looked up on the host at the start each trace has at its remove_response step; batches are
//! sized by `sizing` and run by the `Runner`, up to IN_FLIGHT at once. A trace the device
//! cannot take at all (NaN or huge samples, a shape ObsPy fails, a failed batch, a lost
//! device) runs on the CPU executor instead, and the reason is kept for the report: the run
//! never loses a trace to the device.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use rayon::prelude::*;

use super::record::{self, Caps, Segment};
use super::runner::{Pending, Runner, RunnerTimes, IN_FLIGHT};
use super::{Gpu, GpuError};
use crate::error::TraceError;
use crate::exec::{cpu, Beyond, Executor, Outcome, Sources};
use crate::inventory::ResponseSource;
use crate::plan::{Plan, PlanKey, Planner, Shape, Shapes};
use crate::response::cache::{ResponseCache, Table};
use crate::trace::Trace;

/// Largest sample magnitude the device takes: f32 holds 3.4e38, and an FFT of 2^20 points
/// sums 2^20 samples.
pub const F32_SAFE: f64 = 1e30;

pub struct Driver<'g> {
    runner: Runner<'g>,
    gpu: &'g Gpu,
    planner: &'g Planner,
    cache: &'g ResponseCache,
    /// Why traces or stages went to the CPU, each reason once (for report.json's warnings).
    pub notes: BTreeSet<String>,
    /// Traces the device processed (some stages on the host included), and traces that ran
    /// on the CPU executor entirely.
    pub on_device: usize,
    pub on_cpu: usize,
    /// Seconds spent planning and looking up response tables (host prep), and running
    /// stages or traces on the CPU.
    pub host_prep: f64,
    pub cpu_fallback: f64,
}

/// A batch of one plan: its traces, and the plan's device and host segments.
struct Batch<'s> {
    plan: Arc<Plan>,
    segments: Arc<[Segment]>,
    jobs: Vec<Job<'s>>,
}

/// A group's traces: index in the `process` call, the trace, its walk.
type Group = Vec<(usize, Trace, Shapes)>;

/// One trace on its way through a group.
struct Job<'s> {
    /// Position in the `process` call.
    i: usize,
    trace: Trace,
    shapes: Shapes,
    /// Inverse table per `Plan::responses` entry.
    tables: Vec<Table>,
    source: &'s dyn ResponseSource,
    /// Which step left the samples out of the output type's range (`exec::Beyond`).
    beyond: Beyond,
}

impl<'g> Driver<'g> {
    pub fn new(
        gpu: &'g Gpu,
        budget_bytes: u64,
        planner: &'g Planner,
        cache: &'g ResponseCache,
    ) -> Driver<'g> {
        Driver {
            runner: Runner::new(gpu, budget_bytes),
            gpu,
            planner,
            cache,
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

    /// Run the named stages through their CPU twins (`--cpu-stages`): bisecting a GPU/CPU
    /// difference stage by stage.
    pub fn set_cpu_stages(&mut self, stages: &[String]) {
        self.runner.cpu_stages = stages.to_vec();
    }

    pub fn runner_times(&self) -> RunnerTimes {
        self.runner.times
    }

    fn cpu(&mut self, traces: Vec<(usize, Trace)>, sources: &Sources) -> Vec<(usize, Outcome)> {
        self.on_cpu += traces.len();
        let t = std::time::Instant::now();
        let exec = cpu::Cpu {
            planner: self.planner,
            cache: self.cache,
            clock: None,
        };
        let r = traces
            .into_par_iter()
            .map(|(i, mut tr)| (i, exec.run_trace(&mut tr, sources[i]).map(|w| (tr, w))))
            .collect();
        self.cpu_fallback += t.elapsed().as_secs_f64();
        r
    }

    /// A group's traces cut into batches of its plan, response tables looked up; what cannot
    /// go to the device at all runs on the CPU executor here, into `results`.
    fn prepare<'s>(
        &mut self,
        plan: Arc<Plan>,
        caps: &Caps,
        group: Group,
        sources: &Sources<'s>,
        results: &mut Vec<(usize, Outcome)>,
    ) -> Vec<Batch<'s>> {
        let t_prep = std::time::Instant::now();
        if self.gpu.is_lost() {
            self.notes
                .insert("the GPU device was lost; later traces ran on the CPU path".into());
            results.extend(self.cpu(group.into_iter().map(|(i, t, _)| (i, t)).collect(), sources));
            return Vec::new();
        }
        let segments: Arc<[Segment]> = record::segments(&plan, caps).into();
        for s in segments.iter() {
            if let Some(why) = &s.host {
                self.notes.insert(format!(
                    "no GPU kernel for {why}: that stage ran on the CPU path (its f64 twin)"
                ));
            }
        }
        if segments.iter().all(|s| s.host.is_some()) {
            results.extend(self.cpu(group.into_iter().map(|(i, t, _)| (i, t)).collect(), sources));
            return Vec::new();
        }
        let per_batch = match self.runner.per_batch(&plan) {
            Ok(p) => p,
            Err(e) => {
                self.notes
                    .insert(format!("GPU: {e}; those traces ran on the CPU path"));
                results
                    .extend(self.cpu(group.into_iter().map(|(i, t, _)| (i, t)).collect(), sources));
                return Vec::new();
            }
        };
        // Host side of remove_response: each trace's tables, looked up at the start it has
        // at that step (a trace without a usable response fails here, with the same reason
        // as on the CPU path). In parallel: a new response costs milliseconds to evaluate.
        let cache = self.cache;
        let looked: Vec<Result<Job, (usize, TraceError)>> = group
            .into_par_iter()
            .map(|(i, trace, shapes)| {
                match crate::exec::tables::tables_for(&plan, &trace, &shapes, sources[i], cache) {
                    Ok(tables) => Ok(Job {
                        i,
                        beyond: Beyond::start(plan.holds, &trace.data),
                        trace,
                        shapes,
                        tables,
                        source: sources[i],
                    }),
                    Err(e) => Err((i, e)),
                }
            })
            .collect();
        let mut ready = Vec::with_capacity(looked.len());
        for r in looked {
            match r {
                Ok(j) => ready.push(j),
                Err((i, e)) => results.push((i, Err(e))),
            }
        }
        self.host_prep += t_prep.elapsed().as_secs_f64();
        let mut batches = Vec::new();
        while !ready.is_empty() {
            let tail = ready.split_off(per_batch.min(ready.len()));
            batches.push(Batch {
                plan: plan.clone(),
                segments: segments.clone(),
                jobs: std::mem::replace(&mut ready, tail),
            });
        }
        batches
    }

    /// Every batch of every group through the device, up to IN_FLIGHT at once whatever plan
    /// each has: while one runs, the next is converted, uploaded and recorded, and the one
    /// before is read back (a new shape does not drain the device).
    fn run_batches(
        &mut self,
        caps: &Caps,
        batches: Vec<Batch>,
        results: &mut Vec<(usize, Outcome)>,
    ) {
        let mut in_flight: VecDeque<(Batch, Pending, usize)> = VecDeque::new();
        let mut rest = batches.into_iter();
        let mut next = rest.next();
        while next.is_some() || !in_flight.is_empty() {
            if in_flight.len() < IN_FLIGHT {
                if let Some(b) = next.take() {
                    next = rest.next();
                    let Batch {
                        plan,
                        segments,
                        jobs,
                    } = b;
                    match self.start(&plan, caps, &segments, jobs, results) {
                        Ok(Some((jobs, p, seg))) => in_flight.push_back((
                            Batch {
                                plan,
                                segments,
                                jobs,
                            },
                            p,
                            seg,
                        )),
                        Ok(None) => {}
                        Err((jobs, e, from)) => {
                            results.extend(self.failed_batch(&plan, jobs, e, from))
                        }
                    }
                    continue;
                }
            }
            let Some((b, p, seg)) = in_flight.pop_front() else {
                break;
            };
            let Batch {
                plan,
                segments,
                jobs,
            } = b;
            match self.runner.finish(p) {
                Ok(out) => {
                    let jobs = self.device_results(&plan, &segments[seg], jobs, out, results);
                    match self.rest(&plan, caps, &segments, seg + 1, jobs, results) {
                        Ok(done) => {
                            self.on_device += done.len();
                            let steps = self.planner.steps();
                            results.extend(done.into_iter().map(|j| finished(j, &plan, steps)));
                        }
                        Err((jobs, e, from)) => {
                            results.extend(self.failed_batch(&plan, jobs, e, from))
                        }
                    }
                }
                Err(e) => {
                    let from = segments[seg].stages.start;
                    results.extend(self.failed_batch(&plan, jobs, e, from))
                }
            }
        }
    }

    /// Host segments before the first device segment, then that segment submitted. None when
    /// every trace of the batch failed on the host.
    fn start<'s>(
        &mut self,
        plan: &Plan,
        caps: &Caps,
        segments: &[Segment],
        mut batch: Vec<Job<'s>>,
        results: &mut Vec<(usize, Outcome)>,
    ) -> Result<Option<(Vec<Job<'s>>, Pending, usize)>, Stopped<'s>> {
        for (k, seg) in segments.iter().enumerate() {
            if seg.host.is_some() {
                batch = self.host(plan, seg, batch, results);
                continue;
            }
            if batch.is_empty() {
                return Ok(None);
            }
            return match self.submit(plan, caps, seg, &batch) {
                Ok(p) => Ok(Some((batch, p, k))),
                Err(e) => Err((batch, e, seg.stages.start)),
            };
        }
        Ok(None)
    }

    /// The segments after `from`, waiting for each device segment.
    fn rest<'s>(
        &mut self,
        plan: &Plan,
        caps: &Caps,
        segments: &[Segment],
        from: usize,
        mut batch: Vec<Job<'s>>,
        results: &mut Vec<(usize, Outcome)>,
    ) -> Result<Vec<Job<'s>>, Stopped<'s>> {
        for seg in &segments[from.min(segments.len())..] {
            if seg.host.is_some() {
                batch = self.host(plan, seg, batch, results);
                continue;
            }
            if batch.is_empty() {
                break;
            }
            let out = self
                .submit(plan, caps, seg, &batch)
                .and_then(|p| self.runner.finish(p));
            match out {
                Ok(out) => batch = self.device_results(plan, seg, batch, out, results),
                Err(e) => return Err((batch, e, seg.stages.start)),
            }
        }
        Ok(batch)
    }

    /// A device segment recorded for this batch and submitted.
    fn submit(
        &mut self,
        plan: &Plan,
        caps: &Caps,
        seg: &Segment,
        batch: &[Job],
    ) -> Result<Pending, GpuError> {
        let prog = record::record(plan, seg.stages.clone(), batch.len(), caps)
            .map_err(GpuError::Device)?;
        let samples: Vec<&[f64]> = batch.iter().map(|j| j.trace.data.as_slice()).collect();
        let tables: Vec<Vec<Table>> = batch.iter().map(|j| j.tables.clone()).collect();
        self.runner.submit(plan, &prog, &samples, &tables)
    }

    /// A device segment's f32 results into the batch's traces (as f64). A trace whose results
    /// are not all finite keeps the samples it went in with and runs the segment again on the
    /// CPU twins (f64): the device's float32 overflows where f64 does not (a norm of 1e-300,
    /// an FFT of samples near 1e38), and where the values are truly out of range the CPU
    /// path's check names the step that made them (issue #23).
    fn device_results<'s>(
        &mut self,
        plan: &Plan,
        seg: &Segment,
        mut batch: Vec<Job<'s>>,
        out: Vec<Vec<f32>>,
        results: &mut Vec<(usize, Outcome)>,
    ) -> Vec<Job<'s>> {
        let redo: Vec<bool> = batch
            .par_iter_mut()
            .zip(out.into_par_iter())
            .map(|(j, d)| {
                if !d.iter().all(|v| v.is_finite()) {
                    return true;
                }
                j.trace.data = d.into_iter().map(f64::from).collect();
                j.beyond.in_range();
                false
            })
            .collect();
        if !redo.contains(&true) {
            return batch;
        }
        let (mut kept, mut again) = (Vec::new(), Vec::new());
        for (j, r) in batch.into_iter().zip(redo) {
            if r {
                again.push(j);
            } else {
                kept.push(j);
            }
        }
        self.notes.insert(
            "the device (float32) gave non-finite samples for some traces; those stages ran again on the CPU path (f64)"
                .into(),
        );
        kept.extend(self.host(plan, seg, again, results));
        kept
    }

    /// A host segment: its stages through their CPU twins, trace by trace in parallel; a
    /// trace a stage fails leaves the batch with its reason.
    fn host<'s>(
        &mut self,
        plan: &Plan,
        seg: &Segment,
        batch: Vec<Job<'s>>,
        results: &mut Vec<(usize, Outcome)>,
    ) -> Vec<Job<'s>> {
        let t = std::time::Instant::now();
        let steps = self.planner.steps();
        let cache = self.cache;
        let done: Vec<Result<Job, (usize, TraceError)>> = batch
            .into_par_iter()
            .map(|mut j| {
                match cpu::run_stages(
                    steps,
                    plan,
                    seg.stages.clone(),
                    &j.shapes,
                    &mut j.trace,
                    j.source,
                    cache,
                    &mut j.beyond,
                ) {
                    Ok(()) => Ok(j),
                    Err(e) => Err((j.i, e)),
                }
            })
            .collect();
        self.cpu_fallback += t.elapsed().as_secs_f64();
        let mut kept = Vec::with_capacity(done.len());
        for d in done {
            match d {
                Ok(j) => kept.push(j),
                Err((i, e)) => results.push((i, Err(e))),
            }
        }
        kept
    }

    /// A batch the device failed at stage `from`: its traces run the stages from there on
    /// through the CPU twins (the stages before have run, on the host or the device), and
    /// the reason is noted.
    fn failed_batch(
        &mut self,
        plan: &Plan,
        batch: Vec<Job>,
        e: GpuError,
        from: usize,
    ) -> Vec<(usize, Outcome)> {
        self.notes.insert(format!(
            "GPU batch failed ({e}); its traces ran on the CPU path"
        ));
        self.on_cpu += batch.len();
        let t = std::time::Instant::now();
        let (steps, cache) = (self.planner.steps(), self.cache);
        let r = batch
            .into_par_iter()
            .map(|mut j| {
                let r = cpu::run_stages(
                    steps,
                    plan,
                    from..plan.stages.len(),
                    &j.shapes,
                    &mut j.trace,
                    j.source,
                    cache,
                    &mut j.beyond,
                );
                match r {
                    Ok(()) => finished(j, plan, steps),
                    Err(e) => (j.i, Err(e)),
                }
            })
            .collect();
        self.cpu_fallback += t.elapsed().as_secs_f64();
        r
    }
}

/// A batch stopped by the device: the batch, why, and the first stage it did not finish.
type Stopped<'s> = (Vec<Job<'s>>, GpuError, usize);

/// A job whose every stage has run: the trace at its final rate and start, its warnings, or
/// why its samples cannot be written (checked in the output type, as on the CPU path).
fn finished(j: Job, plan: &Plan, steps: &[crate::pipeline::Step]) -> (usize, Outcome) {
    if let Err(e) = j.beyond.check(plan.holds, &j.trace.data, steps) {
        return (j.i, Err(e));
    }
    let mut t = j.trace;
    let out = j.shapes.output();
    t.start_ns = out.start_ns;
    t.sampling_rate = out.sampling_rate;
    (j.i, Ok((t, j.shapes.warnings(steps))))
}

impl Executor for Driver<'_> {
    fn process(&mut self, traces: Vec<Trace>, sources: &Sources) -> Vec<Outcome> {
        let n = traces.len();
        // Samples near f32's limit overflow on the device (an FFT sums n of them) where the
        // CPU path's f64 does not: those traces take the CPU path (found by tests/corpus.rs).
        // So do NaN/Inf samples: the CPU path gives ObsPy's errors for them (a linear detrend
        // refuses them; tests/degenerate.rs).
        let t_prep = std::time::Instant::now();
        let planner = self.planner;
        let walked: Vec<(usize, Trace, Shapes, bool)> = traces
            .into_par_iter()
            .enumerate()
            .map(|(i, t)| {
                let huge = t.data.iter().any(|v| !v.is_finite() || v.abs() > F32_SAFE);
                let s = planner.shapes_at(Shape::of(&t), sources[i].origin());
                (i, t, s, huge)
            })
            .collect();
        let mut to_cpu = Vec::new();
        let mut groups: Vec<(PlanKey, Group)> = Vec::new();
        let mut index: HashMap<PlanKey, usize> = HashMap::new();
        let mut huge_seen = false;
        for (i, t, s, huge) in walked {
            // A shape ObsPy fails: the CPU executor runs the stages before the failure (a
            // data error there comes first) and gives ObsPy's reason.
            if huge || s.failure.is_some() {
                huge_seen |= huge;
                to_cpu.push((i, t));
                continue;
            }
            let key = s.key();
            let g = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push((i, t, s));
        }
        self.host_prep += t_prep.elapsed().as_secs_f64();
        let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
        if huge_seen {
            self.notes.insert(format!(
                "traces with NaN/Inf samples or samples beyond {F32_SAFE:e} in magnitude ran on the CPU path (f64): on the device (f32) they would overflow"
            ));
        }
        for (i, o) in self.cpu(to_cpu, sources) {
            outcomes[i] = Some(o);
        }
        let caps = self.runner.caps();
        let mut results = Vec::new();
        let mut batches = Vec::new();
        for (_, group) in groups {
            let Some((_, _, s)) = group.first() else {
                continue;
            };
            match self.planner.plan(s) {
                Ok(plan) => batches.extend(self.prepare(plan, &caps, group, sources, &mut results)),
                Err(_) => {
                    let g = group.into_iter().map(|(i, t, _)| (i, t)).collect();
                    results.extend(self.cpu(g, sources));
                }
            }
        }
        self.run_batches(&caps, batches, &mut results);
        for (i, o) in results {
            outcomes[i] = Some(o);
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
}
