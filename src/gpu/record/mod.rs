//! Recording a batch as plain data: a plan's stages (or a run of them) -> a `Program` of
//! dispatches (kernel entry point, workgroups, parameter bytes, which buffers at which
//! bindings, bytes read and written in device memory), the tables it uploads (rounded to f32
//! here, the one place the GPU executor rounds a plan's f64 tables) and the buffer sizes it
//! needs. `submit` turns a Program into wgpu calls; everything here is tested without a
//! device, and the modeled traffic is what `seisbatch plan --device gpu` reports.

mod fft;
mod segment;
#[cfg(test)]
mod tests;

pub use fft::complex_fft;
pub use segment::{host_reason, segments, Caps, Segment, MAX_LOOP};
use std::ops::Range;

use bytemuck::Pod;
use serde::Serialize;

use super::kernels::{
    DecimateParams, DeconvolveParams, DetrendParams, FilterParams, GridPoint, InterpolateParams,
    ResampleParams, Tap, TaperParams, FILTER_CHUNK, FILTER_WORKGROUP, MAX_SECTIONS,
};
use super::sizing::{self, WORKGROUP};
use super::{to_f32, u32_of};
use crate::pipeline::DetrendType;
use crate::plan::fft::FftPlan;
use crate::plan::{Plan, Stage};

/// A buffer a dispatch binds. Per-batch work buffers are sized by the program; tables are
/// the program's own uploads; FFT tables and response tables live on the device across
/// batches (the runner keeps them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Buf {
    /// Two real (f32) ping-pong buffers: samples between stages.
    Real(usize),
    /// Three complex buffers (Bluestein never overwrites its input before reading it).
    Complex(usize),
    /// detrend's per-trace fit.
    Fit,
    /// filter's per-trace section state (f64).
    FilterState,
    /// `Program::tables[i]`.
    Table(usize),
    /// FFT twiddles of length n.
    Twiddles(usize),
    /// Bluestein chirp (n, inverse) and its filter.
    Chirp(usize, bool),
    ChirpFilter(usize, bool),
    /// Response tables of one nfft (the runner's pool).
    Responses(usize),
    /// Each trace's slot in the pool for `Plan::responses[r]`.
    Slots(usize),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dispatch {
    /// Entry point (`plan::stage::SHADERS` says which shader).
    pub kernel: &'static str,
    /// Index of the plan stage it belongs to.
    pub stage: usize,
    pub groups: [u32; 3],
    /// Uniform binding and its bytes (the kernel's `*Params` struct).
    #[serde(skip)]
    pub params: (u32, Vec<u8>),
    pub bind: Vec<(u32, Buf)>,
    /// Modeled device-memory traffic of the whole dispatch (see `Program::device_bytes`):
    /// per-trace buffers read and written (they scale with the batch), and shared tables read
    /// (window, sections, twiddles, taps, grid: once per dispatch, whatever the batch).
    pub reads: u64,
    pub writes: u64,
    pub shared: u64,
}

/// A table the program uploads with the batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub label: &'static str,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Bytes per trace of each work buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PerTrace {
    pub real: u64,
    pub complex: u64,
    pub fit: u64,
    pub state: u64,
    pub upload: u64,
    pub download: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Program {
    pub count: usize,
    pub n_in: usize,
    pub n_out: usize,
    /// Subtract each trace's f64 mean before rounding to f32 on upload: the run opens with a
    /// detrend, which removes a constant exactly, so the result is the same function of the
    /// data and a trace at 1e6 counts +- 10 keeps its 10 counts' digits.
    pub centre: bool,
    /// Samples are uploaded to `Real(0)`; the result is read from `output`.
    pub output: Buf,
    pub dispatches: Vec<Dispatch>,
    pub tables: Vec<Table>,
    pub per_trace: PerTrace,
    /// Stage index range of the plan this program runs.
    pub stages: Range<usize>,
    /// Workgroup memory the program's kernels declare (bytes, largest).
    pub workgroup_bytes: u32,
}

impl Program {
    /// Modeled device-memory traffic of the batch: every dispatch's per-trace buffers (a
    /// response table included) read and written once, each shared table read once per
    /// dispatch. Caches make reality somewhat lower; the model is the roofline's numerator.
    pub fn device_bytes(&self) -> u64 {
        self.dispatches
            .iter()
            .map(|d| d.reads + d.writes + d.shared)
            .sum()
    }

    /// The traffic that scales with the batch, per trace: `device_bytes` of a large batch
    /// divided by its traces (`seisbatch plan`'s device_bytes_per_trace).
    pub fn device_bytes_per_trace(&self) -> u64 {
        let per: u64 = self.dispatches.iter().map(|d| d.reads + d.writes).sum();
        per / self.count.max(1) as u64
    }

    /// Bytes a batch's buffers need (see `submit`).
    pub fn need(&self) -> PerTrace {
        let c = self.count as u64;
        let p = &self.per_trace;
        PerTrace {
            real: c * p.real,
            complex: c * p.complex,
            fit: c * p.fit,
            state: c * p.state,
            upload: c * p.upload,
            download: c * p.download,
        }
    }
}

fn bytes_of<T: Pod>(v: &T) -> Vec<u8> {
    bytemuck::bytes_of(v).to_vec()
}

fn f32s(v: &[f64]) -> Vec<u8> {
    let f: Vec<f32> = v.iter().map(|&x| to_f32(x)).collect();
    bytemuck::cast_slice(&f).to_vec()
}

/// Output sample at input position `pos`: its integer index and fraction (f64 here; the
/// fraction rounded to f32 once). In f32, `j * dt_factor` would lose the fraction on long
/// traces.
#[expect(
    clippy::cast_possible_truncation,
    reason = "pos lies within the trace, whose length host_reason bounds by 2^24 samples"
)]
fn grid_point(pos: f64) -> GridPoint {
    let idx = pos.floor();
    GridPoint {
        idx: idx as i32,
        frac: to_f32(pos - idx),
    }
}

/// Builds one program's dispatch list.
struct Recorder<'c> {
    caps: &'c Caps,
    stage: usize,
    dispatches: Vec<Dispatch>,
    tables: Vec<Table>,
}

impl Recorder<'_> {
    #[expect(
        clippy::too_many_arguments,
        reason = "one dispatch's whole description"
    )]
    fn dispatch<P: Pod>(
        &mut self,
        kernel: &'static str,
        params: &P,
        bind: &[(u32, Buf)],
        invocations: u64,
        group_size: u32,
        reads: u64,
        writes: u64,
    ) -> Result<(), String> {
        self.dispatch_at(
            kernel,
            0,
            params,
            bind,
            invocations,
            group_size,
            reads,
            writes,
        )
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one dispatch's whole description"
    )]
    fn dispatch_at<P: Pod>(
        &mut self,
        kernel: &'static str,
        uniform: u32,
        params: &P,
        bind: &[(u32, Buf)],
        invocations: u64,
        group_size: u32,
        reads: u64,
        writes: u64,
    ) -> Result<(), String> {
        let groups = sizing::dispatch(invocations, group_size, self.caps.max_groups_per_dim)
            .ok_or_else(|| format!("{invocations} invocations exceed the grid"))?;
        let shared = bind.iter().map(|(_, b)| self.shared_bytes(*b)).sum();
        self.dispatches.push(Dispatch {
            kernel,
            stage: self.stage,
            groups,
            params: (uniform, bytes_of(params)),
            bind: bind.to_vec(),
            reads,
            writes,
            shared,
        });
        Ok(())
    }

    /// Bytes of a table the whole batch shares (0 for per-trace buffers).
    fn shared_bytes(&self, b: Buf) -> u64 {
        match b {
            Buf::Table(i) => self.tables.get(i).map_or(0, |t| t.bytes.len() as u64),
            Buf::Twiddles(n) | Buf::Chirp(n, _) => n as u64 * 8,
            Buf::ChirpFilter(n, _) => crate::plan::fft::next_smooth(2 * n - 1) as u64 * 8,
            _ => 0,
        }
    }

    fn table(&mut self, label: &'static str, bytes: Vec<u8>) -> Buf {
        self.tables.push(Table { label, bytes });
        Buf::Table(self.tables.len() - 1)
    }
}

/// Records `plan.stages[range]` (all of them device stages: see `segments`) for `count`
/// traces. Errors name what the device cannot do (the executor then runs the batch on the
/// CPU twins).
pub fn record(
    plan: &Plan,
    range: Range<usize>,
    count: usize,
    caps: &Caps,
) -> Result<Program, String> {
    let stages = &plan.stages[range.clone()];
    let first = stages.first().ok_or("no stages to record")?;
    let n_in = first.n_in;
    let n_out = stages.last().map_or(n_in, |s| s.n_out);
    let mut r = Recorder {
        caps,
        stage: range.start,
        dispatches: Vec::new(),
        tables: Vec::new(),
    };
    let b = count as u64;
    let cnt = u32_of("a batch of", count)?;
    let mut cur = 0usize;
    let (mut max_real, mut max_complex, mut state) = (n_in.max(n_out), 0usize, 0u64);
    let mut workgroup_bytes = 0u32;
    for (k, at) in stages.iter().enumerate() {
        r.stage = range.start + k;
        if let Some(why) = host_reason(plan, range.start + k, caps) {
            return Err(why);
        }
        let (n_in, n_out) = (
            u32_of("trace length", at.n_in)?,
            u32_of("trace length", at.n_out)?,
        );
        max_real = max_real.max(at.n_in).max(at.n_out);
        let real_bytes = b * u64::from(n_in) * 4;
        match &at.stage {
            Stage::Detrend { kind } => {
                let p = DetrendParams {
                    n: n_in,
                    count: cnt,
                    kind: match kind {
                        DetrendType::Demean => 0,
                        DetrendType::Linear => 1,
                        DetrendType::Simple => 2,
                    },
                    _pad: 0,
                };
                let fit = [(1, Buf::Real(cur)), (2, Buf::Fit)];
                r.dispatch(
                    "detrend_fit",
                    &p,
                    &fit,
                    b * u64::from(WORKGROUP),
                    WORKGROUP,
                    real_bytes,
                    b * 8,
                )?;
                r.dispatch(
                    "detrend_apply",
                    &p,
                    &fit,
                    real_bytes / 4,
                    WORKGROUP,
                    real_bytes + b * 8,
                    real_bytes,
                )?;
            }
            Stage::Taper { window } => {
                let p = TaperParams {
                    n: n_in,
                    count: cnt,
                    _pad0: 0,
                    _pad1: 0,
                };
                let w = r.table("taper window", f32s(window));
                r.dispatch(
                    "taper",
                    &p,
                    &[(1, Buf::Real(cur)), (2, w)],
                    real_bytes / 4,
                    WORKGROUP,
                    real_bytes,
                    real_bytes,
                )?;
            }
            Stage::Deconvolve {
                nfft,
                fft: plan_fft,
                response,
            } => {
                max_complex = max_complex.max(plan_fft.scratch_len());
                let nf = u32_of("nfft", *nfft)?;
                fft::pack(&mut r, cur, 0, n_in, nf, cnt)?;
                let s = fft::transform(&mut r, 0, plan_fft, false, cnt)?;
                let p = DeconvolveParams {
                    nfft: nf,
                    count: cnt,
                    _pad0: 0,
                    _pad1: 0,
                };
                let spec = b * u64::from(nf) * 8;
                let table = b * (u64::from(nf) / 2 + 1) * 8 + b * 4;
                r.dispatch(
                    "deconvolve",
                    &p,
                    &[
                        (1, Buf::Complex(s)),
                        (2, Buf::Responses(*nfft)),
                        (3, Buf::Slots(*response)),
                    ],
                    spec / 8,
                    WORKGROUP,
                    spec + table,
                    spec,
                )?;
                let s = fft::transform(&mut r, s, plan_fft, true, cnt)?;
                fft::unpack(&mut r, s, cur, nf, n_out, to_f32(1.0 / f64::from(nf)), cnt)?;
            }
            Stage::Filter { sos, zerophase } => {
                let flat: Vec<f64> = sos.iter().flatten().copied().collect();
                let s = r.table("filter sections", bytemuck::cast_slice(&flat).to_vec());
                state = (MAX_SECTIONS * 16) as u64;
                for reverse in [false, true].into_iter().take(1 + usize::from(*zerophase)) {
                    for t0 in (0..n_in).step_by(FILTER_CHUNK as usize) {
                        let len = FILTER_CHUNK.min(n_in - t0);
                        let p = FilterParams {
                            n: n_in,
                            count: cnt,
                            sections: u32_of("sections", sos.len())?,
                            reverse: u32::from(reverse),
                            t0,
                            len: FILTER_CHUNK,
                            _pad0: 0,
                            _pad1: 0,
                        };
                        let chunk = b * u64::from(len) * 4;
                        let st = b * state;
                        r.dispatch(
                            "filter_sos",
                            &p,
                            &[(1, Buf::Real(cur)), (2, s), (3, Buf::FilterState)],
                            b,
                            FILTER_WORKGROUP,
                            chunk + st,
                            chunk + st,
                        )?;
                    }
                }
            }
            Stage::Resample { taps, fwd, inv, .. } => {
                max_complex = max_complex.max(fwd.scratch_len()).max(inv.scratch_len());
                fft::pack(&mut r, cur, 0, n_in, n_in, cnt)?;
                let s = fft::transform(&mut r, 0, fwd, false, cnt)?;
                let d = (s + 1) % 3;
                let p = ResampleParams {
                    n: n_in,
                    num: n_out,
                    count: cnt,
                    _pad: 0,
                };
                let t = taps
                    .iter()
                    .map(|&(k, a, b)| {
                        Ok(Tap {
                            k: u32_of("resample bin", k)?,
                            a: to_f32(a),
                            b: to_f32(b),
                            _pad: 0,
                        })
                    })
                    .collect::<Result<Vec<Tap>, String>>()?;
                let t = r.table("resample taps", bytemuck::cast_slice(&t).to_vec());
                let out = b * u64::from(n_out) * 8;
                r.dispatch(
                    "resample",
                    &p,
                    &[(1, Buf::Complex(s)), (2, Buf::Complex(d)), (3, t)],
                    out / 8,
                    WORKGROUP,
                    out,
                    out,
                )?;
                let s = fft::transform(&mut r, d, inv, true, cnt)?;
                // irfft's 1/num times ObsPy's num/n.
                fft::unpack(
                    &mut r,
                    s,
                    cur,
                    n_out,
                    n_out,
                    to_f32(1.0 / f64::from(n_in)),
                    cnt,
                )?;
            }
            Stage::Interpolate {
                a,
                offset,
                dt_factor,
                ..
            } => {
                let grid: Vec<GridPoint> = (0..at.n_out)
                    .map(|j| grid_point(offset + j as f64 * dt_factor))
                    .collect();
                let g = r.table("interpolate grid", bytemuck::cast_slice(&grid).to_vec());
                let p = InterpolateParams {
                    n: n_in,
                    npts: n_out,
                    count: cnt,
                    a: u32_of("lanczos a", a.unwrap_or(0))?,
                };
                let out = b * u64::from(n_out) * 4;
                r.dispatch(
                    "interpolate",
                    &p,
                    &[(1, Buf::Real(cur)), (2, Buf::Real(1 - cur)), (3, g)],
                    out / 4,
                    WORKGROUP,
                    real_bytes,
                    out,
                )?;
                cur = 1 - cur;
            }
            Stage::Decimate { factor } => {
                let p = DecimateParams {
                    n_in,
                    n_out,
                    count: cnt,
                    factor: u32_of("decimation factor", *factor)?,
                };
                let out = b * u64::from(n_out) * 4;
                r.dispatch(
                    "decimate",
                    &p,
                    &[(1, Buf::Real(cur)), (2, Buf::Real(1 - cur))],
                    out / 4,
                    WORKGROUP,
                    // A strided read still moves whole cache lines: at most the input.
                    real_bytes.min(out * 8),
                    out,
                )?;
                cur = 1 - cur;
            }
        }
        if r.dispatches.iter().any(|d| d.kernel == "fft_tile") {
            workgroup_bytes = super::kernels::FFT_TILE_BYTES;
        }
    }
    Ok(Program {
        count,
        n_in,
        n_out,
        centre: matches!(first.stage, Stage::Detrend { .. }),
        output: Buf::Real(cur),
        dispatches: r.dispatches,
        tables: r.tables,
        per_trace: PerTrace {
            real: max_real as u64 * 4,
            complex: max_complex as u64 * 8,
            fit: 8,
            state,
            upload: n_in as u64 * 4,
            download: n_out as u64 * 4,
        },
        stages: range,
        workgroup_bytes,
    })
}

/// The FFT plan a stage's transform of n points uses (for `seisbatch plan`).
pub fn fft_plans(plan: &Plan) -> Vec<(&'static str, FftPlan)> {
    let mut out = Vec::new();
    for at in &plan.stages {
        match &at.stage {
            Stage::Deconvolve { fft, .. } => out.push((at.stage.name(), fft.clone())),
            Stage::Resample { fwd, inv, .. } => {
                out.push((at.stage.name(), fwd.clone()));
                out.push((at.stage.name(), inv.clone()));
            }
            _ => {}
        }
    }
    out
}
