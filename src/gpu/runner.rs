//! The thin layer between a recorded `Program` and wgpu: fill the upload buffer (samples
//! rounded to f32 here), make response tables resident, create the uniforms and bind groups
//! the program names, record its dispatches into one compute pass of one command buffer,
//! submit once, read the result back once. The `Runner` is the one place that talks to the
//! device; it keeps what outlives a batch (work-buffer sets, FFT tables, response pools).

use std::collections::HashMap;

use rayon::prelude::*;

use super::pool::{self, Parts, Responses, Sets, WorkSet, TABLE_POOL_SHARE};
use super::readback::{self, InFlight};
use super::record::{self, Buf, Caps, Program};
use super::sizing::{self, Footprint};
use super::{Gpu, GpuError};
use crate::plan::Plan;
use crate::response::cache::Table;

mod bind;
mod correlate;

pub use correlate::{CcChannels, CcPair, CcRow, SpecPlan};

pub use readback::{RunnerTimes, StageTime};

/// Batches on the device at once (`gpu::executor`); each gets 1/IN_FLIGHT of the budget.
pub const IN_FLIGHT: usize = 2;

/// GPU executor loops (each a `Driver` with its share of `--gpu-memory`): two, so that one
/// loop's host work between calls overlaps the other's batches on the device; one when the
/// budget is too small to split (a share must still hold batches of long traces: a
/// 20-minute 100 Hz forum-chain trace needs ~4 MB, and each loop keeps two batches and a
/// response pool in its share).
pub fn gpu_loops(budget: u64) -> usize {
    const MIN_SHARE: u64 = 256 << 20;
    if budget >= 2 * MIN_SHARE {
        2
    } else {
        1
    }
}

/// Traces longer than this (5.8 hours at 100 Hz) take the whole budget on one loop: their
/// batches are a trace or two, whose transforms keep the device busy on their own, and half
/// the budget would not hold a 100 Hz day at the default --gpu-memory (issue #26).
pub const LONG_TRACE_SAMPLES: u64 = 1 << 21;

/// `gpu_loops`, for a run whose longest trace has `longest` samples (0: not known).
pub fn gpu_loops_for(budget: u64, longest: u64) -> usize {
    if longest > LONG_TRACE_SAMPLES {
        1
    } else {
        gpu_loops(budget)
    }
}

/// The least `--gpu-memory` (bytes) with which a trace of footprint `fp` still gets a batch of
/// its own (`per_batch`): a loop's share less its response-table pool, over the batches in
/// flight, must hold the trace, and the pool (1 / TABLE_POOL_SHARE of the share) its
/// `table_bytes` of response table (0: none); the budget is split between `gpu_loops` loops.
pub fn budget_for_one(fp: &Footprint, table_bytes: u64, npts: u64) -> u64 {
    let batch = fp.per_trace.saturating_add(fp.fixed);
    let mut share = batch.saturating_mul(IN_FLIGHT as u64);
    if table_bytes > 0 {
        // share - share / TABLE_POOL_SHARE >= IN_FLIGHT x batch (rounded up).
        share = share
            .saturating_mul(TABLE_POOL_SHARE)
            .div_ceil(TABLE_POOL_SHARE - 1)
            .max(table_bytes.saturating_mul(TABLE_POOL_SHARE));
    }
    let two = share.saturating_mul(2);
    if gpu_loops_for(two, npts) == 2 {
        two
    } else {
        share
    }
}

/// A submitted batch: what `Runner::finish` needs to collect it.
pub struct Pending {
    flight: Option<InFlight>,
    count: usize,
    n_out: usize,
    /// Per stage: name, compulsory bytes, dispatches (for the profile).
    stages: Vec<(&'static str, u64, usize)>,
}

pub struct Runner<'g> {
    gpu: &'g Gpu,
    /// Bytes a batch may use, response pool included.
    budget: u64,
    fft_tables: super::fft_tables::FftTables,
    responses: Responses,
    sets: Sets,
    /// The stand-ins for parts a buffer does not have, by binding (`Runner::stand_in`).
    stand_ins: HashMap<u32, wgpu::Buffer>,
    clock: u64,
    /// Tests: fill every work buffer with NaN before the batch, so an element a kernel
    /// forgets to write shows up as NaN in the output instead of a plausible zero.
    pub poison: bool,
    /// Benchmarks: one timed compute pass per stage (needs TIMESTAMP_QUERY); the times of
    /// the last batch land in `profile_last`.
    pub profile: bool,
    pub profile_last: Vec<StageTime>,
    pub times: RunnerTimes,
    /// remove_response's transform pair through shaders/rfft.wgsl (three passes, the
    /// response multiply and a preceding detrend/taper fused) where the device has the
    /// workgroup memory and nfft splits. On by default: it cuts the forum chain's modeled
    /// traffic from 50 MB to ~7 MB per trace (docs/BENCHMARKS.md); off compares with the
    /// radix passes (`SEISBATCH_GPU_FFT=passes`, bench/gpu_device.sh).
    pub rfft: bool,
    /// remove_response's transform pair in f64 (shaders/fft64.wgsl) where the adapter has
    /// SHADER_F64. On by default (`SEISBATCH_GPU_FFT`, `gpu::fft_from_env`): an f32 transform
    /// reached 1.04e-5 of ObsPy on a channel the water level lifts 1000x.
    pub f64_transforms: bool,
    /// Stages forced onto their CPU twins (`--cpu-stages`).
    pub cpu_stages: Vec<String>,
}

impl<'g> Runner<'g> {
    pub fn new(gpu: &'g Gpu, budget: u64) -> Runner<'g> {
        let fft = super::fft_choice();
        Runner {
            gpu,
            budget,
            fft_tables: Default::default(),
            responses: Responses::default(),
            sets: Sets::default(),
            stand_ins: HashMap::new(),
            clock: 0,
            poison: false,
            profile: false,
            profile_last: Vec::new(),
            times: RunnerTimes::default(),
            rfft: fft.rfft,
            f64_transforms: fft.f64_transforms,
            cpu_stages: Vec::new(),
        }
    }

    /// What recording may use on this device.
    pub fn caps(&self) -> Caps {
        Caps {
            shader_f64: self.gpu.has_f64(),
            max_groups_per_dim: self.gpu.limits.max_groups_per_dim,
            rfft: self.rfft && self.gpu.kernels.has("rfft_in"),
            f64_transforms: self.f64_transforms && self.gpu.kernels.has("fft64_pass"),
            cpu_stages: self.cpu_stages.clone(),
        }
    }

    /// Bytes per trace and shared of a program's buffers, for `sizing::traces_per_batch`.
    pub fn footprint(prog: &Program) -> Footprint {
        let p = &prog.per_trace;
        let parts = prog.takes_parts();
        // The real buffers stay whole: in parts, a batch's must fit one binding, which
        // DATA_PARTS times them within DATA_PARTS bindings' worth ensures.
        let real = if parts {
            p.real.saturating_mul(sizing::DATA_PARTS)
        } else {
            p.real
        };
        Footprint {
            per_trace: 2 * p.real + 3 * p.complex + p.fit + p.state + p.download,
            largest: real.max(p.complex),
            largest_elements: (p.real / 4).max(p.complex / 8),
            fixed: 0,
            table: prog.largest_fft_table(),
            parts,
        }
    }

    /// The largest footprint of `plan`'s device segments.
    pub fn plan_footprint(&self, plan: &Plan) -> Result<Footprint, GpuError> {
        let caps = self.caps();
        let mut best: Option<Footprint> = None;
        for seg in record::segments(plan, &caps) {
            if seg.host.is_none() {
                let prog = record::record(plan, seg.stages, 1, &caps).map_err(GpuError::Device)?;
                let fp = Self::footprint(&prog);
                if best.is_none_or(|b| fp.per_trace > b.per_trace) {
                    best = Some(fp);
                }
            }
        }
        best.ok_or_else(|| GpuError::Device("no stage of this plan runs on the device".into()))
    }

    /// Most traces per batch for the device stages of `plan` within the budget.
    pub fn per_batch(&self, plan: &Plan) -> Result<usize, GpuError> {
        let caps = self.caps();
        let mut per = usize::MAX;
        for seg in record::segments(plan, &caps) {
            if seg.host.is_some() {
                continue;
            }
            let prog = record::record(plan, seg.stages, 1, &caps).map_err(GpuError::Device)?;
            let pool = if plan.responses.is_empty() {
                0
            } else {
                self.budget / TABLE_POOL_SHARE
            };
            per = per.min(sizing::traces_per_batch(
                &Self::footprint(&prog),
                &self.gpu.limits,
                self.budget.saturating_sub(pool) / IN_FLIGHT as u64,
            )?);
        }
        Ok(per.max(1))
    }

    /// The whole plan on the device, waiting for it (tests and benchmarks): every stage must
    /// be a device stage. `tables[t][r]` is trace t's table for `plan.responses[r]`.
    pub fn run(
        &mut self,
        plan: &Plan,
        traces: &[&[f64]],
        tables: &[Vec<Table>],
    ) -> Result<Vec<Vec<f32>>, GpuError> {
        let prog = record::record(plan, 0..plan.stages.len(), traces.len(), &self.caps())
            .map_err(GpuError::Device)?;
        let p = self.submit(plan, &prog, traces, tables)?;
        self.finish(p)
    }

    /// Uploads, records and submits one batch without waiting for it: the caller can prepare
    /// and submit the next batch while the device works (`finish` collects, in any order).
    pub fn submit(
        &mut self,
        plan: &Plan,
        prog: &Program,
        traces: &[&[f64]],
        tables: &[Vec<Table>],
    ) -> Result<Pending, GpuError> {
        self.scoped(|me| me.upload_and_submit(plan, prog, traces, tables))
    }

    /// `f` under the device's error scopes, after a check for an earlier fault: an
    /// out-of-memory or a validation error while it records comes back as an error, never a
    /// panic.
    pub(super) fn scoped<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, GpuError>,
    ) -> Result<T, GpuError> {
        if let Some(e) = self.gpu.take_fault() {
            return Err(e);
        }
        let oom = self
            .gpu
            .device
            .push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self
            .gpu
            .device
            .push_error_scope(wgpu::ErrorFilter::Validation);
        let result = f(self);
        let invalid = pollster::block_on(invalid.pop());
        let oom = pollster::block_on(oom.pop());
        if let Some(e) = oom {
            return Err(GpuError::OutOfMemory(e.to_string()));
        }
        if let Some(e) = invalid {
            return Err(GpuError::Device(e.to_string()));
        }
        result
    }

    /// Waits for a submitted batch and reads its results back.
    pub fn finish(&mut self, p: Pending) -> Result<Vec<Vec<f32>>, GpuError> {
        let Pending {
            flight,
            count,
            n_out,
            stages,
        } = p;
        let Some(flight) = flight else {
            return Ok(Vec::new());
        };
        let (bytes, ticks) = readback::wait(self.gpu, flight, &mut self.times)?;
        if let Some(f) = self.gpu.take_fault() {
            return Err(f);
        }
        if let Some(times) = ticks {
            self.profile_last = stages
                .into_iter()
                .zip(times)
                .map(|((stage, bytes, dispatches), seconds)| StageTime {
                    stage,
                    seconds,
                    bytes,
                    dispatches,
                })
                .collect();
            self.times.kernels += self.profile_last.iter().map(|s| s.seconds).sum::<f64>();
        }
        let t_read = std::time::Instant::now();
        let flat: &[f32] = bytemuck::cast_slice(&bytes);
        let res = (0..count)
            .map(|t| flat[t * n_out..(t + 1) * n_out].to_vec())
            .collect();
        self.times.readback += t_read.elapsed().as_secs_f64();
        Ok(res)
    }

    fn storage(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        super::fft_tables::storage(&self.gpu.device, label, bytes)
    }

    /// Samples of `traces` (f64) rounded to f32 straight into the mapped upload buffer, on
    /// all cores, each trace centred first when the program says so.
    fn fill_upload(set: &WorkSet, prog: &Program, traces: &[&[f64]]) -> Result<u64, GpuError> {
        let n0 = prog.n_in as u64;
        let up_bytes = traces.len() as u64 * n0 * 4;
        // Pairs of traces: a mapped range must start 8-byte aligned, and 2 n0 f32s are. Each
        // range is written once, front to back: mapped memory may be write-combining.
        let pair = 2 * n0 * 4;
        let views = (0..traces.len().div_ceil(2))
            .map(|i| {
                let a = i as u64 * pair;
                set.upload
                    .get_mapped_range_mut(a..(a + pair).min(up_bytes))
                    .map_err(|e| GpuError::Device(format!("filling the upload buffer: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let centre = prog.centre;
        views
            .into_par_iter()
            .zip(traces.par_chunks(2))
            .for_each_init(Vec::<f32>::new, |v, (mut view, two)| {
                v.clear();
                for t in two {
                    match centre.filter(|_| !t.is_empty()) {
                        Some(kind) => {
                            let line = crate::ops::detrend::line(t, kind);
                            v.extend(
                                t.iter()
                                    .enumerate()
                                    .map(|(i, x)| super::to_f32(x - line.at(i))),
                            );
                        }
                        None => v.extend(t.iter().map(|&x| super::to_f32(x))),
                    }
                }
                view.copy_from_slice(bytemuck::cast_slice(v));
            });
        Ok(up_bytes)
    }

    fn upload_and_submit(
        &mut self,
        plan: &Plan,
        prog: &Program,
        traces: &[&[f64]],
        tables: &[Vec<Table>],
    ) -> Result<Pending, GpuError> {
        let count = traces.len();
        if count == 0 {
            return Ok(Pending {
                flight: None,
                count: 0,
                n_out: prog.n_out,
                stages: Vec::new(),
            });
        }
        if count != prog.count || traces.iter().any(|t| t.len() != prog.n_in) {
            return Err(GpuError::Device(format!(
                "a batch of {count} traces for a program of {} x {} samples",
                prog.count, prog.n_in
            )));
        }
        self.clock += 1;
        self.times.batches += 1;
        let t_start = std::time::Instant::now();
        let set = self
            .sets
            .acquire(self.gpu, prog.need(), prog.takes_parts())?;
        let up_bytes = Self::fill_upload(&set, prog, traces)?;
        set.upload.unmap();
        if let Ok(mut st) = set.mapped.lock() {
            st.0 = false;
        }
        if self.poison {
            let parts = set.complex.iter().flat_map(Parts::all);
            for buf in set.real.iter().chain(parts) {
                let nan = vec![0xffu8; usize::try_from(buf.size()).unwrap_or(0)];
                self.gpu.queue.write_buffer(buf, 0, &nan);
            }
        }
        let consts: Vec<wgpu::Buffer> = prog
            .tables
            .iter()
            .map(|t| self.storage(t.label, &t.bytes))
            .collect();
        // Each response step's tables resident, and the slot of each trace.
        let mut resident: HashMap<usize, (wgpu::Buffer, wgpu::Buffer)> = HashMap::new();
        for d in &prog.dispatches {
            let (Some(r), Some(nfft)) = (
                d.bind.iter().find_map(|(_, b)| match b {
                    Buf::Slots(r) => Some(*r),
                    _ => None,
                }),
                d.bind.iter().find_map(|(_, b)| match b {
                    Buf::Responses(n) => Some(*n),
                    _ => None,
                }),
            ) else {
                continue;
            };
            let need: Vec<&Table> = tables
                .iter()
                .map(|t| t.get(r))
                .collect::<Option<_>>()
                .ok_or_else(|| GpuError::Device(format!("no response table {r} for a trace")))?;
            let (slots, pool) =
                self.responses
                    .resident(self.gpu, self.budget, self.clock, nfft, &need)?;
            let slots = self.storage("deconvolve slots", bytemuck::cast_slice(&slots));
            resident.insert(r, (pool, slots));
        }
        let mut encoded = Vec::with_capacity(prog.dispatches.len());
        for d in &prog.dispatches {
            let resp = d.bind.iter().find_map(|(_, b)| match b {
                Buf::Slots(r) => resident.get(r),
                _ => None,
            });
            let entries = self.entries(d, |me, b| {
                let whole = Parts::whole;
                Ok(match b {
                    Buf::Real(i) => whole(&set.real[i]),
                    Buf::Complex(i) => set.complex[i].clone(),
                    Buf::Fit => whole(&set.fit),
                    Buf::FilterState => whole(&set.state),
                    Buf::Table(i) => whole(&consts[i]),
                    Buf::Twiddles(_)
                    | Buf::Chirp(..)
                    | Buf::ChirpFilter(..)
                    | Buf::Roots(_)
                    | Buf::Roots64(_)
                    | Buf::Chirp64(..)
                    | Buf::ChirpFilter64(..) => me.fft_table(b)?,
                    Buf::Responses(_) | Buf::Slots(_) => {
                        let Some((pool, slots)) = resp else {
                            return Err(GpuError::Device("response slots missing".into()));
                        };
                        if matches!(b, Buf::Slots(_)) {
                            whole(slots)
                        } else {
                            whole(pool)
                        }
                    }
                })
            })?;
            let label = plan.stages[d.stage].stage.name();
            encoded.push(self.encode(d, &entries, d.stage - prog.stages.start, label)?);
        }
        let result = match prog.output {
            Buf::Real(i) => set.real[i].clone(),
            Buf::Complex(i) if set.complex[i].upper.is_empty() => set.complex[i].lo.clone(),
            _ => {
                return Err(GpuError::Device(
                    "program output is not a work buffer".into(),
                ))
            }
        };
        let out_bytes = count as u64 * prog.n_out as u64 * 4;
        self.times.upload_and_record += t_start.elapsed().as_secs_f64();
        let mut flight = readback::submit(
            self.gpu,
            self.profile,
            &encoded,
            Some((&set.upload, &set.real[0], up_bytes)),
            &result,
            set.download.clone(),
            out_bytes,
        );
        if let Ok(mut st) = set.mapped.lock() {
            st.1 = Some(flight.index.clone());
        }
        flight.set = Some(set.clone());
        let stages = plan.stages[prog.stages.clone()]
            .iter()
            .enumerate()
            .map(|(i, st)| {
                (
                    st.stage.name(),
                    count as u64 * (st.n_in + st.n_out) as u64 * 4,
                    encoded.iter().filter(|d| d.stage == i).count(),
                )
            })
            .collect();
        Ok(Pending {
            flight: Some(flight),
            count,
            n_out: prog.n_out,
            stages,
        })
    }

    /// A work set for a bare FFT program (`record::complex_fft`), its buffers whole, filled
    /// with write_buffer (not through the mapped upload buffer).
    fn fft_set(&mut self, prog: &Program) -> Result<std::sync::Arc<WorkSet>, GpuError> {
        let set = self.sets.acquire(self.gpu, prog.need(), false)?;
        if set.complex.iter().any(|c| !c.upper.is_empty()) {
            return Err(GpuError::Device(
                "a bare FFT keeps its buffers whole: a batch above the binding limit".into(),
            ));
        }
        set.upload.unmap();
        if let Ok(mut st) = set.mapped.lock() {
            st.0 = false;
        }
        Ok(set)
    }

    /// A bare FFT program's dispatches on `set`, appended to `encoded`; the complex buffer
    /// holding the result.
    fn fft_encoded(
        &mut self,
        prog: &Program,
        set: &WorkSet,
        encoded: &mut Vec<readback::Encoded>,
    ) -> Result<usize, GpuError> {
        for d in &prog.dispatches {
            let entries = self.entries(d, |me, b| match b {
                Buf::Complex(i) => Ok(set.complex[i].clone()),
                b if b.is_fft_table() => me.fft_table(b),
                other => Err(GpuError::Device(format!("fft program binds {other:?}"))),
            })?;
            encoded.push(self.encode(d, &entries, 0, "fft")?);
        }
        match prog.output {
            Buf::Complex(k) => Ok(k),
            _ => Err(GpuError::Device("fft output is not complex".into())),
        }
    }

    /// The fft alone: batched complex FFTs (unnormalised both ways, as numpy's fft and
    /// n * ifft) of equal-length inputs. For the kernel tests and the fft/gpu benchmark.
    pub fn run_fft(
        &mut self,
        input: &[Vec<[f32; 2]>],
        inverse: bool,
    ) -> Result<Vec<Vec<[f32; 2]>>, GpuError> {
        let count = input.len();
        let Some(n) = input.first().map(Vec::len) else {
            return Ok(Vec::new());
        };
        if n == 0 || input.iter().any(|v| v.len() != n) {
            return Err(GpuError::Device(
                "run_fft needs non-empty inputs of one length".into(),
            ));
        }
        let prog =
            record::complex_fft(n, count, inverse, &self.caps()).map_err(GpuError::Device)?;
        let set = self.fft_set(&prog)?;
        if self.poison {
            for buf in set.complex.iter() {
                let nan = vec![0xffu8; usize::try_from(buf.lo.size()).unwrap_or(0)];
                self.gpu.queue.write_buffer(&buf.lo, 0, &nan);
            }
        }
        let flat: Vec<[f32; 2]> = input.iter().flatten().copied().collect();
        self.gpu
            .queue
            .write_buffer(&set.complex[0].lo, 0, bytemuck::cast_slice(&flat));
        let mut encoded = Vec::new();
        let k = self.fft_encoded(&prog, &set, &mut encoded)?;
        let bytes = count as u64 * n as u64 * 8;
        let staging = pool::buffer(
            self.gpu,
            "download",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let flight = readback::submit(
            self.gpu,
            false,
            &encoded,
            None,
            &set.complex[k].lo,
            staging,
            bytes,
        );
        let (raw, _) = readback::wait(self.gpu, flight, &mut self.times)?;
        let flat: &[[f32; 2]] = bytemuck::cast_slice(&raw);
        Ok(flat.chunks(n).map(<[[f32; 2]]>::to_vec).collect())
    }
}
