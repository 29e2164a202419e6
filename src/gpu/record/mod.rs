//! Recording a batch as plain data: a plan's stages (or a run of them) -> a `Program` of
//! dispatches (kernel entry point, workgroups, parameter bytes, which buffers at which
//! bindings, bytes read and written in device memory), the tables it uploads (rounded to f32
//! here, the one place the GPU executor rounds a plan's f64 tables) and the buffer sizes it
//! needs. `submit` turns a Program into wgpu calls; everything here is tested without a
//! device, and the modeled traffic is what `seisbatch plan --device gpu` reports.

mod fft;
mod rfft;
mod segment;
#[cfg(test)]
mod tests;

pub use fft::complex_fft;
pub(crate) use fft::{pack, transform, unpack, Precision};
pub(crate) use rfft::{deconvolve_fused, half_spectrum};
pub use segment::{host_reason, segments, Caps, Segment, MAX_LOOP};
use std::ops::Range;

use bytemuck::Pod;
use serde::Serialize;

use super::sizing;
use super::{to_f32, u32_of};
use crate::gpu::stages::Recording;
use crate::ops::detrend::DetrendType;
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
    /// fft_pass's twiddles of length n factorised (`fft_plan::roots`).
    Roots(usize),
    /// The same in f64 (fft64_pass), and Bluestein's two tables (shaders/fft64.wgsl).
    Roots64(usize),
    Chirp64(usize, bool),
    ChirpFilter64(usize, bool),
    /// Response tables of one nfft (the runner's pool).
    Responses(usize),
    /// Each trace's slot in the pool for `Plan::responses[r]`.
    Slots(usize),
}

impl Buf {
    /// An FFT table the runner keeps on the device across batches (`Runner::fft_table`).
    pub fn is_fft_table(&self) -> bool {
        matches!(
            self,
            Buf::Twiddles(_)
                | Buf::Chirp(..)
                | Buf::ChirpFilter(..)
                | Buf::Roots(_)
                | Buf::Roots64(_)
                | Buf::Chirp64(..)
                | Buf::ChirpFilter64(..)
        )
    }
}

/// A buffer above the device's binding limit is several buffers (issue #26: a 100 Hz day's
/// f64 spectrum is 276 MB where lavapipe binds 128 MiB; `pool::Parts`): the kernels of
/// `SPLIT_KERNELS` see part k of the buffer at binding b at b + k PART_STRIDE (k < 3 for
/// work buffers, < 2 for FFT tables), and the length of a part in the `Parts` uniform at
/// PARTS_BINDING (shaders/fft.wgsl, fft64.wgsl, deconvolve.wgsl).
pub const PART_STRIDE: u32 = 8;
pub const PARTS_BINDING: u32 = 31;

/// The kernels that take their work buffers and FFT table in parts: the transform pair of
/// remove_response through radix passes, the one FFT path a day-long trace takes (the tiled
/// rfft kernels stop at nfft 2^22 and keep their buffers whole).
pub const SPLIT_KERNELS: [&str; 10] = [
    "fft_pack",
    "fft_pass",
    "fft_cmul",
    "fft_unpack",
    "deconvolve",
    "fft64_pack",
    "fft64_pass",
    "fft64_cmul",
    "fft64_deconvolve",
    "fft64_unpack",
];

/// Whether `kernel` takes its buffers in parts (`SPLIT_KERNELS`).
pub fn takes_parts(kernel: &str) -> bool {
    SPLIT_KERNELS.contains(&kernel)
}

/// How many parts binding `b` of such a kernel has: three for a work buffer, two for an FFT
/// table, one for anything else (a response pool and the slots stay whole).
pub fn parts_of(b: Buf) -> u64 {
    match b {
        Buf::Complex(_) => sizing::DATA_PARTS,
        b if b.is_fft_table() => sizing::TABLE_PARTS,
        _ => 1,
    }
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
    /// Elementwise work on the samples the next kernel may take into its load instead.
    #[serde(skip)]
    pub fusable: Option<Fusable>,
    /// Stages (plan indices) whose work this dispatch also does (fused into its load).
    pub fused: Vec<usize>,
}

/// What a fusable dispatch does to `Real(buffer)`, as data for the kernel that absorbs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusable {
    /// detrend_apply: subtract the line in `Buf::Fit` (`DetrendParams::kind`).
    Line { buffer: usize, kind: u32 },
    /// taper: times the window table.
    Window { buffer: usize, window: Buf },
}

/// Fusable dispatches taken off the end of a program: a kernel applies them, in this order
/// (the line, then the window), as it loads `Real(buffer)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prologue {
    pub line: Option<u32>,
    pub window: Option<Buf>,
    /// The stages they came from.
    pub stages: Vec<usize>,
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
    /// The detrend the run opens with, done on upload in f64 (the CPU twin's line,
    /// `ops::detrend::line`) before rounding to f32; the device records nothing for it. A
    /// trace at 1e6 counts +- 10 keeps its 10 counts' digits, and a linear fit over 2^21
    /// samples is exact where an f32 reduction was off by 1.5e-5 (issue #23).
    pub centre: Option<crate::pipeline::DetrendType>,
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

    /// Whether every kernel binding a complex work buffer or an FFT table takes it in parts,
    /// so that those may be above the binding limit (`sizing::Footprint::parts`).
    pub fn takes_parts(&self) -> bool {
        self.dispatches
            .iter()
            .all(|d| takes_parts(d.kernel) || d.bind.iter().all(|(_, b)| parts_of(*b) == 1))
    }

    /// Bytes of the largest FFT table the program binds (kept on the device across batches).
    pub fn largest_fft_table(&self) -> u64 {
        self.dispatches
            .iter()
            .flat_map(|d| &d.bind)
            .map(|(_, b)| fft_table_bytes(*b))
            .max()
            .unwrap_or(0)
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

/// A table of f64 values as the f32 bytes a shader reads: the upload's rounding.
pub fn f32_bytes(v: &[f64]) -> Vec<u8> {
    let f: Vec<f32> = v.iter().map(|&x| to_f32(x)).collect();
    bytemuck::cast_slice(&f).to_vec()
}

/// Builds one program's dispatch list (each stage's `record` adds its dispatches).
pub struct Recorder<'c> {
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
    pub(crate) fn dispatch<P: Pod>(
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
    pub(crate) fn dispatch_at<P: Pod>(
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
            fusable: None,
            fused: Vec::new(),
        });
        Ok(())
    }

    /// What the device offers.
    pub(crate) fn caps(&self) -> &Caps {
        self.caps
    }

    /// Marks the last dispatch as work a later load may absorb (`take_prologue`).
    pub(crate) fn mark_fusable(&mut self, f: Fusable) {
        if let Some(d) = self.dispatches.last_mut() {
            d.fusable = Some(f);
        }
    }

    /// Takes the fusable dispatches at the end of the program that apply to `Real(buffer)`:
    /// a window (last), then a line before it. What a kernel loading `Real(buffer)` then
    /// applies gives the same samples the removed dispatches would have left there; a window
    /// followed by a line (x w - line) is not this order, so the line then stays.
    pub(crate) fn take_prologue(&mut self, buffer: usize) -> Prologue {
        let mut p = Prologue::default();
        if let Some(Fusable::Window { buffer: b, window }) = self.last_fusable() {
            if b == buffer {
                p.window = Some(window);
                p.stages.push(self.pop_stage());
            }
        }
        if let Some(Fusable::Line { buffer: b, kind }) = self.last_fusable() {
            if b == buffer {
                p.line = Some(kind);
                p.stages.push(self.pop_stage());
            }
        }
        p.stages.reverse();
        p
    }

    fn last_fusable(&self) -> Option<Fusable> {
        self.dispatches.last().and_then(|d| d.fusable)
    }

    fn pop_stage(&mut self) -> usize {
        self.dispatches.pop().map_or(self.stage, |d| d.stage)
    }

    /// Bytes of a table the whole batch shares (0 for per-trace buffers).
    fn shared_bytes(&self, b: Buf) -> u64 {
        match b {
            Buf::Table(i) => self.tables.get(i).map_or(0, |t| t.bytes.len() as u64),
            b => fft_table_bytes(b),
        }
    }

    /// A table the program uploads with the batch (already rounded to what the shader reads).
    pub(crate) fn table(&mut self, label: &'static str, bytes: Vec<u8>) -> Buf {
        self.tables.push(Table { label, bytes });
        Buf::Table(self.tables.len() - 1)
    }
}

/// Bytes of an FFT table (0 for any other buffer).
pub fn fft_table_bytes(b: Buf) -> u64 {
    match b {
        Buf::Twiddles(n) | Buf::Chirp(n, _) => n as u64 * 8,
        Buf::ChirpFilter(n, _) => crate::gpu::fft_plan::next_smooth(2 * n - 1) as u64 * 8,
        Buf::Roots(n) => crate::gpu::fft_plan::roots_len(n) as u64 * 8,
        Buf::Roots64(n) => crate::gpu::fft_plan::roots_len(n) as u64 * 16,
        Buf::Chirp64(n, _) => n as u64 * 16,
        Buf::ChirpFilter64(n, _) => crate::gpu::fft_plan::next_smooth(2 * n - 1) as u64 * 16,
        _ => 0,
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
    let (mut cur, mut max_complex, mut state) = (0usize, 0usize, 0u64);
    let mut max_real = n_in.max(n_out);
    for (k, at) in stages.iter().enumerate() {
        r.stage = range.start + k;
        if let Some(why) = host_reason(plan, range.start + k, caps) {
            return Err(why);
        }
        max_real = max_real.max(at.n_in).max(at.n_out);
        let mut x = Recording {
            r: &mut r,
            b,
            cnt,
            n_in: u32_of("trace length", at.n_in)?,
            n_out: u32_of("trace length", at.n_out)?,
            cur,
            max_complex,
            state,
            first: k == 0,
        };
        crate::gpu::stages::record(&at.stage, &mut x)?;
        (cur, max_complex, state) = (x.cur, x.max_complex, x.state);
    }
    let workgroup_bytes = if r.dispatches.iter().any(|d| d.kernel.starts_with("rfft_")) {
        super::kernels::RFFT_TILE_BYTES
    } else {
        0
    };
    Ok(Program {
        count,
        n_in,
        n_out,
        centre: match &first.stage {
            Stage::Detrend(d) if d.kind.is_line() => Some(d.kind),
            // A polynomial of order >= 1 contains the line: removing the f64 line at upload
            // leaves the fit of the rest to the kernel with the same result, and the f32
            // samples no longer carry the trace's offset (order 0 is the mean).
            Stage::Detrend(d) => match d.kind {
                DetrendType::Polynomial { order: 0 } => Some(DetrendType::Demean),
                DetrendType::Polynomial { .. } => Some(DetrendType::Linear),
                _ => None,
            },
            _ => None,
        },
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
