//! Runs a `Program` over one batch: one upload, every stage's dispatches recorded into one
//! compute pass of one command buffer, one submit, one download. The `Runner` is the one
//! place that talks to the device; it keeps what outlives a batch on the device: FFT
//! twiddles and Bluestein chirps per length, and response tables in an LRU pool (a
//! response is uploaded once and reused by every later batch that needs it).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bytemuck::Pod;
use rayon::prelude::*;
use wgpu::util::DeviceExt;

use super::fft::{self, FftPlan};
use super::kernels::{
    DecimateParams, DeconvolveParams, DetrendParams, FftParams, FilterParams, InterpolateParams,
    ResampleParams, TaperParams, TileParams, FFT_TILE, FILTER_CHUNK, FILTER_WORKGROUP,
    MAX_SECTIONS,
};
use super::layout::{self, Footprint, WORKGROUP};
use super::plan::{Program, Stage};
use super::{Gpu, GpuError};
use crate::response::cache::Table;

/// Batches on the device at once (`gpu::batch::Driver`); each gets 1/IN_FLIGHT of the
/// batch budget.
pub const IN_FLIGHT: usize = 2;

/// Share of the memory budget kept for the response-table pool.
const TABLE_POOL_SHARE: u64 = 8;

struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    groups: [u32; 3],
    /// Index of the program stage this dispatch belongs to (for profiling).
    stage: usize,
}

/// Where a Runner's time went, accumulated over its batches (wall seconds of this thread).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RunnerTimes {
    /// f64 -> f32 conversion, buffer creation, queued uploads and recording the dispatches.
    pub upload_and_record: f64,
    /// Submit until the results are mapped: transfers in both directions and the kernels.
    pub device: f64,
    /// Kernel time inside `device` (timestamp queries; only with `profile`).
    pub kernels: f64,
    /// Copying the mapped results out.
    pub readback: f64,
    pub batches: usize,
}

/// A submitted batch: what `Runner::finish` needs to collect it.
pub struct Pending {
    flight: Option<InFlight>,
    count: usize,
    n_out: usize,
    /// Per stage: name, compulsory bytes, dispatches (for the profile).
    stages: Vec<(&'static str, u64, usize)>,
}

/// Tells when a buffer's map_async completed.
type MapDone = std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>;

struct InFlight {
    /// The batch's buffers: busy (not reused) until this is dropped.
    set: Option<Arc<WorkSet>>,
    staging: wgpu::Buffer,
    bytes: u64,
    index: wgpu::SubmissionIndex,
    rx: MapDone,
    t_submit: std::time::Instant,
    /// Timestamp readback buffer, stage count, and its map notification.
    profile: Option<(wgpu::Buffer, usize, MapDone)>,
}

/// Device time of one stage of the last profiled batch.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTime {
    pub stage: &'static str,
    pub seconds: f64,
    /// The stage's compulsory traffic: its input and output samples (f32), once each.
    /// Bytes / seconds is the effective bandwidth, comparable with a copy's.
    pub bytes: u64,
    pub dispatches: usize,
}

/// Bytes of each buffer of a `WorkSet`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Need {
    real: u64,
    complex: u64,
    fit: u64,
    upload: u64,
    download: u64,
}

impl Need {
    fn fits_in(&self, cap: &Need) -> bool {
        self.real <= cap.real
            && self.complex <= cap.complex
            && self.fit <= cap.fit
            && self.upload <= cap.upload
            && self.download <= cap.download
    }
}

/// One batch's buffers, reused by later batches. Creating a gigabyte of buffers per batch
/// (which wgpu also zero-fills) and writing samples through `queue.write_buffer` (a fresh
/// staging allocation each time, filled at page-fault speed: 4 GB/s on an H100 host) cost
/// more than the kernels; a reused, mapped upload buffer is filled by all cores at memory
/// speed and copied by the device's DMA engine. A set is free when the runner holds the
/// only reference (its batch was collected, or dropped after an error).
struct WorkSet {
    real: [wgpu::Buffer; 2],
    complex: [wgpu::Buffer; 3],
    fit: wgpu::Buffer,
    /// MAP_WRITE | COPY_SRC, host memory: samples are converted straight into it.
    upload: wgpu::Buffer,
    /// MAP_READ | COPY_DST: the results are copied here and mapped.
    download: wgpu::Buffer,
    cap: Need,
    /// Whether `upload` is mapped (it is at creation; each batch unmaps it), and the
    /// submission that last used the set (a re-map completes once it has).
    state: Mutex<(bool, Option<wgpu::SubmissionIndex>)>,
}

/// Response tables of one nfft on the device, slot by slot, least recently used evicted.
struct TablePool {
    buffer: wgpu::Buffer,
    capacity: usize,
    /// Per slot: the table it holds (the Arc pins the pointer used as key) and last use.
    slots: Vec<Option<(Table, u64)>>,
    index: HashMap<usize, usize>,
}

pub struct Runner<'g> {
    gpu: &'g Gpu,
    /// Bytes a batch may use, response pool included.
    budget: u64,
    twiddles: HashMap<usize, Arc<wgpu::Buffer>>,
    chirps: HashMap<(usize, bool), (Arc<wgpu::Buffer>, Arc<wgpu::Buffer>)>,
    pools: HashMap<usize, TablePool>,
    /// Buffer sets for batches: at most IN_FLIGHT busy plus the one being filled.
    sets: Vec<Arc<WorkSet>>,
    clock: u64,
    /// Tests: fill every work buffer with NaN before the batch, so an element a kernel
    /// forgets to write shows up as NaN in the output instead of a plausible zero.
    pub poison: bool,
    /// Benchmarks: one timed compute pass per stage (needs TIMESTAMP_QUERY); the times of
    /// the last batch land in `profile_last`.
    pub profile: bool,
    pub profile_last: Vec<StageTime>,
    pub times: RunnerTimes,
    /// FFTs through `fft_tile` (in workgroup memory, one or two steps) where the device has
    /// it and the length splits, instead of one global pass per radix. Off by default: its
    /// first version ran the forum chain's FFTs 3x slower than the passes on an H100
    /// (docs/BENCHMARKS.md); tests check both against the oracle.
    pub tile_fft: bool,
    /// Which stage the dispatches being recorded belong to.
    stage_now: usize,
}

fn table_key(t: &Table) -> usize {
    Arc::as_ptr(t) as usize
}

impl<'g> Runner<'g> {
    pub fn new(gpu: &'g Gpu, budget: u64) -> Runner<'g> {
        Runner {
            gpu,
            budget,
            twiddles: HashMap::new(),
            chirps: HashMap::new(),
            pools: HashMap::new(),
            sets: Vec::new(),
            clock: 0,
            poison: false,
            profile: false,
            profile_last: Vec::new(),
            times: RunnerTimes::default(),
            tile_fft: false,
            stage_now: 0,
        }
    }

    /// Bytes per trace and shared, for `layout::traces_per_batch`.
    pub fn footprint(prog: &Program) -> Footprint {
        let real = prog.max_real() as u64 * 4;
        let cplx = prog.max_complex() as u64 * 8;
        let out = prog.n_out as u64 * 4;
        Footprint {
            // two real ping-pong buffers, three complex (Bluestein needs a third), the
            // staging copy of the output, the per-trace fit, table slot and filter state
            per_trace: 2 * real + 3 * cplx + out + 16 + MAX_SECTIONS as u64 * 16,
            largest: real.max(cplx),
            largest_elements: prog.max_real().max(prog.max_complex()) as u64,
            fixed: 0,
        }
    }

    /// Most traces per batch for this program on this device within the budget.
    pub fn per_batch(&self, prog: &Program) -> Result<usize, GpuError> {
        let fp = Self::footprint(prog);
        let pool = if prog.responses.is_empty() {
            0
        } else {
            self.budget / TABLE_POOL_SHARE
        };
        Ok(layout::traces_per_batch(
            &fp,
            &self.gpu.limits,
            self.budget.saturating_sub(pool) / IN_FLIGHT as u64,
        )?)
    }

    fn device(&self) -> &wgpu::Device {
        &self.gpu.device
    }

    fn buffer(&self, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        // Never zero-sized: a zero-length binding is a validation error.
        self.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(16).next_multiple_of(4),
            usage,
            mapped_at_creation: false,
        })
    }

    /// A free buffer set at least `need` large, its upload buffer mapped. Free sets too
    /// small are dropped first, so the device holds at most IN_FLIGHT + 1 sets.
    fn acquire(&mut self, need: Need) -> Result<Arc<WorkSet>, GpuError> {
        self.sets
            .retain(|s| Arc::strong_count(s) > 1 || need.fits_in(&s.cap));
        let free = self
            .sets
            .iter()
            .find(|s| Arc::strong_count(s) == 1)
            .cloned();
        let set = match free {
            Some(s) => s,
            None => {
                use wgpu::BufferUsages as U;
                let rw = U::STORAGE | U::COPY_DST | U::COPY_SRC;
                let s = Arc::new(WorkSet {
                    real: [
                        self.buffer("real 0", need.real, rw),
                        self.buffer("real 1", need.real, rw),
                    ],
                    complex: [
                        self.buffer("complex 0", need.complex, U::STORAGE | U::COPY_DST),
                        self.buffer("complex 1", need.complex, U::STORAGE | U::COPY_DST),
                        self.buffer("complex 2", need.complex, U::STORAGE | U::COPY_DST),
                    ],
                    fit: self.buffer("detrend fit", need.fit, U::STORAGE),
                    upload: self.device().create_buffer(&wgpu::BufferDescriptor {
                        label: Some("upload"),
                        size: need.upload.max(16).next_multiple_of(4),
                        usage: U::MAP_WRITE | U::COPY_SRC,
                        mapped_at_creation: true,
                    }),
                    download: self.buffer("download", need.download, U::MAP_READ | U::COPY_DST),
                    cap: need,
                    state: Mutex::new((true, None)),
                });
                self.sets.push(s.clone());
                s
            }
        };
        let (mapped, last) = match set.state.lock() {
            Ok(st) => (st.0, st.1.clone()),
            Err(_) => return Err(GpuError::Device("buffer set state poisoned".into())),
        };
        if mapped {
            return Ok(set);
        }
        // Re-map the upload buffer: its last batch is done (or abandoned), so the map
        // completes at the next poll that has seen that submission finish.
        let (tx, rx) = std::sync::mpsc::channel();
        set.upload.map_async(wgpu::MapMode::Write, .., move |r| {
            let _ = tx.send(r);
        });
        let polls = [
            wgpu::PollType::Poll,
            wgpu::PollType::Wait {
                submission_index: last,
                timeout: None,
            },
            wgpu::PollType::wait_indefinitely(),
        ];
        for poll in polls {
            self.device()
                .poll(poll)
                .map_err(|e| GpuError::Device(format!("mapping the upload buffer: {e}")))?;
            match rx.try_recv() {
                Ok(Ok(())) => {
                    if let Ok(mut st) = set.state.lock() {
                        st.0 = true;
                    }
                    return Ok(set);
                }
                Ok(Err(e)) => {
                    return Err(GpuError::Device(format!("mapping the upload buffer: {e}")))
                }
                Err(_) => {}
            }
        }
        Err(GpuError::Device(
            "mapping the upload buffer: no answer".into(),
        ))
    }

    fn init<T: Pod>(&self, label: &str, data: &[T], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let mut bytes = bytemuck::cast_slice::<T, u8>(data).to_vec();
        bytes.resize(bytes.len().max(16).next_multiple_of(4), 0);
        self.device()
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &bytes,
                usage,
            })
    }

    fn uniform<T: Pod>(&self, v: &T) -> wgpu::Buffer {
        self.init(
            "params",
            std::slice::from_ref(v),
            wgpu::BufferUsages::UNIFORM,
        )
    }

    fn storage<T: Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        self.init(label, data, wgpu::BufferUsages::STORAGE)
    }

    fn dispatch(
        &self,
        out: &mut Vec<Dispatch>,
        pipeline: &wgpu::ComputePipeline,
        entries: &[(u32, &wgpu::Buffer)],
        invocations: u64,
        group_size: u32,
    ) -> Result<(), GpuError> {
        let groups = layout::dispatch(invocations, group_size, self.gpu.limits.max_groups_per_dim)
            .ok_or_else(|| {
                GpuError::Device(format!("{invocations} invocations exceed the grid"))
            })?;
        let layout = pipeline.get_bind_group_layout(0);
        let entries: Vec<wgpu::BindGroupEntry> = entries
            .iter()
            .map(|(binding, buf)| wgpu::BindGroupEntry {
                binding: *binding,
                resource: buf.as_entire_binding(),
            })
            .collect();
        let bind = self.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &entries,
        });
        out.push(Dispatch {
            pipeline: pipeline.clone(),
            bind,
            groups,
            stage: self.stage_now,
        });
        Ok(())
    }

    /// fft_pack: real samples (n_in per trace) -> complex (m per trace), zero-padded.
    fn pack(
        &self,
        out: &mut Vec<Dispatch>,
        real: &wgpu::Buffer,
        cplx: &wgpu::Buffer,
        n_in: u32,
        m: u32,
        count: u32,
    ) -> Result<(), GpuError> {
        let u = self.uniform(&FftParams {
            n_in,
            n_out: m,
            count,
            ..Default::default()
        });
        let k = self.gpu.kernels.fft_pack.clone();
        self.dispatch(
            out,
            &k,
            &[(0, &u), (2, cplx), (4, real)],
            u64::from(count) * u64::from(m),
            WORKGROUP,
        )
    }

    /// fft_unpack: the real parts of the first n_out of m complex values per trace, scaled.
    #[expect(
        clippy::too_many_arguments,
        reason = "one dispatch's whole description"
    )]
    fn unpack(
        &self,
        out: &mut Vec<Dispatch>,
        cplx: &wgpu::Buffer,
        real: &wgpu::Buffer,
        m: u32,
        n_out: u32,
        scale: f32,
        count: u32,
    ) -> Result<(), GpuError> {
        let u = self.uniform(&FftParams {
            n_in: m,
            n_out,
            count,
            scale,
            ..Default::default()
        });
        let k = self.gpu.kernels.fft_unpack.clone();
        self.dispatch(
            out,
            &k,
            &[(0, &u), (1, cplx), (5, real)],
            u64::from(count) * u64::from(n_out),
            WORKGROUP,
        )
    }

    fn twiddle(&mut self, n: usize) -> Arc<wgpu::Buffer> {
        if let Some(b) = self.twiddles.get(&n) {
            return b.clone();
        }
        let b = Arc::new(self.storage("twiddles", &fft::twiddles(n)));
        self.twiddles.insert(n, b.clone());
        b
    }

    fn chirp(
        &mut self,
        n: usize,
        m: usize,
        inverse: bool,
    ) -> (Arc<wgpu::Buffer>, Arc<wgpu::Buffer>) {
        if let Some(b) = self.chirps.get(&(n, inverse)) {
            return b.clone();
        }
        let w = Arc::new(self.storage("chirp", &fft::chirp(n, inverse)));
        let f = Arc::new(self.storage("chirp filter", &fft::chirp_filter(n, m, inverse)));
        self.chirps.insert((n, inverse), (w.clone(), f.clone()));
        (w, f)
    }

    /// Records a batched FFT of `plan.len()` points from complex buffer `src`; returns the
    /// buffer index holding the result. Three buffers let Bluestein never overwrite its input
    /// before it is read.
    fn fft(
        &mut self,
        out: &mut Vec<Dispatch>,
        c: &[wgpu::Buffer; 3],
        src: usize,
        plan: &FftPlan,
        inverse: bool,
        count: u32,
    ) -> Result<usize, GpuError> {
        match plan {
            FftPlan::Stockham { n, radices } => {
                self.stockham(out, c, src, *n, radices, inverse, count)
            }
            FftPlan::Bluestein { n, m } => {
                let (n, m) = (*n, *m);
                let (chirp, filter) = self.chirp(n, m, inverse);
                let k = self.gpu.kernels.fft_cmul.clone();
                let a = (src + 1) % 3;
                let p = FftParams {
                    n_in: n as u32,
                    n_out: m as u32,
                    count,
                    lim: n as u32,
                    scale: 1.0,
                    ..Default::default()
                };
                let u = self.uniform(&p);
                self.dispatch(
                    out,
                    &k,
                    &[(0, &u), (1, &c[src]), (2, &c[a]), (3, &chirp)],
                    u64::from(count) * m as u64,
                    WORKGROUP,
                )?;
                let Some(radices) = fft::smooth_radices(m) else {
                    return Err(GpuError::Device(format!(
                        "Bluestein length {m} is not smooth"
                    )));
                };
                let r1 = self.stockham(out, c, a, m, &radices, false, count)?;
                let b = (r1 + 1) % 3;
                let p = FftParams {
                    n_in: m as u32,
                    n_out: m as u32,
                    lim: m as u32,
                    ..p
                };
                let u = self.uniform(&p);
                self.dispatch(
                    out,
                    &k,
                    &[(0, &u), (1, &c[r1]), (2, &c[b]), (3, &filter)],
                    u64::from(count) * m as u64,
                    WORKGROUP,
                )?;
                let r2 = self.stockham(out, c, b, m, &radices, true, count)?;
                let d = (r2 + 1) % 3;
                let p = FftParams {
                    n_in: m as u32,
                    n_out: n as u32,
                    lim: n as u32,
                    ..p
                };
                let u = self.uniform(&p);
                self.dispatch(
                    out,
                    &k,
                    &[(0, &u), (1, &c[r2]), (2, &c[d]), (3, &chirp)],
                    u64::from(count) * n as u64,
                    WORKGROUP,
                )?;
                Ok(d)
            }
        }
    }

    #[expect(clippy::too_many_arguments, reason = "one FFT's whole description")]
    fn stockham(
        &mut self,
        out: &mut Vec<Dispatch>,
        c: &[wgpu::Buffer; 3],
        src: usize,
        n: usize,
        radices: &[u32],
        inverse: bool,
        count: u32,
    ) -> Result<usize, GpuError> {
        if self.tile_fft {
            if let (Some(k), Some(split)) = (
                self.gpu.kernels.fft_tile.clone(),
                fft::tile_split(n, FFT_TILE),
            ) {
                return self.tiled(out, &k, c, src, n, &split, inverse, count);
            }
        }
        let tw = self.twiddle(n);
        let k = self.gpu.kernels.fft_pass.clone();
        let mut cur = src;
        let mut ns = 1u32;
        for &r in radices {
            let dst = (cur + 1) % 3;
            let p = FftParams {
                n_in: n as u32,
                n_out: n as u32,
                count,
                ns,
                radix: r,
                inverse: u32::from(inverse),
                lim: 0,
                scale: 1.0,
            };
            let u = self.uniform(&p);
            self.dispatch(
                out,
                &k,
                &[(0, &u), (1, &c[cur]), (2, &c[dst]), (3, &tw)],
                u64::from(count) * (n / r as usize) as u64,
                WORKGROUP,
            )?;
            ns *= r;
            cur = dst;
        }
        Ok(cur)
    }

    /// An FFT as `fft_tile` steps (shaders/fft.wgsl): `split` is `[n]` (one step, one line
    /// per trace) or `[n1, n2]` (four-step: columns, twiddle, rows). Returns the result's
    /// buffer index.
    #[expect(clippy::too_many_arguments, reason = "one FFT's whole description")]
    fn tiled(
        &mut self,
        out: &mut Vec<Dispatch>,
        k: &wgpu::ComputePipeline,
        c: &[wgpu::Buffer; 3],
        src: usize,
        n: usize,
        split: &[usize],
        inverse: bool,
        count: u32,
    ) -> Result<usize, GpuError> {
        let tw = self.twiddle(n);
        let n32 = n as u32;
        let steps: Vec<TileParams> = match *split {
            [n1, n2] => {
                let (n1, n2) = (n1 as u32, n2 as u32);
                vec![
                    TileParams {
                        l: n1,
                        lines: n2,
                        in_line: 1,
                        in_el: n2,
                        out_line: 1,
                        out_el: n2,
                        twiddle: 1,
                        ..Default::default()
                    },
                    TileParams {
                        l: n2,
                        lines: n1,
                        in_line: n2,
                        in_el: 1,
                        out_line: 1,
                        out_el: n1,
                        ..Default::default()
                    },
                ]
            }
            _ => vec![TileParams {
                l: n32,
                lines: 1,
                in_line: n32,
                in_el: 1,
                out_line: n32,
                out_el: 1,
                ..Default::default()
            }],
        };
        let mut cur = src;
        for step in steps {
            let radices = fft::radices_up_to(step.l as usize, 4)
                .filter(|r| r.len() <= 8)
                .ok_or_else(|| GpuError::Device(format!("no tile plan for {}", step.l)))?;
            let mut r8 = [0u32; 8];
            r8[..radices.len()].copy_from_slice(&radices);
            let per_group = (FFT_TILE as u32 / step.l.max(1)).max(1);
            let p = TileParams {
                n: n32,
                count,
                inverse: u32::from(inverse),
                per_group,
                passes: radices.len() as u32,
                radices: r8,
                ..step
            };
            let groups = (u64::from(p.lines) * u64::from(count)).div_ceil(u64::from(per_group));
            let dst = (cur + 1) % 3;
            let u = self.uniform(&p);
            self.dispatch(
                out,
                k,
                &[(6, &u), (1, &c[cur]), (2, &c[dst]), (3, &tw)],
                groups * u64::from(WORKGROUP),
                WORKGROUP,
            )?;
            cur = dst;
        }
        Ok(cur)
    }

    /// Makes every table of the batch resident in the pool for `nfft`; returns each trace's
    /// slot. Uploads only tables not already there.
    fn resident(
        &mut self,
        nfft: usize,
        tables: &[&Table],
    ) -> Result<(Vec<u32>, &wgpu::Buffer), GpuError> {
        // Slots stamped `now` serve this batch (an earlier remove_response step of the same
        // program included): never evicted before the batch's one submit.
        let now = self.clock;
        let slot_bytes = (nfft / 2 + 1) as u64 * 8;
        let distinct: HashSet<usize> = tables.iter().map(|t| table_key(t)).collect();
        let by_budget = (self.budget / TABLE_POOL_SHARE / slot_bytes) as usize;
        let by_binding =
            (self.gpu.limits.max_binding.min(self.gpu.limits.max_buffer) / slot_bytes) as usize;
        let want = distinct.len().max(by_budget.min(by_binding)).max(1);
        if distinct.len() > by_binding {
            return Err(GpuError::Layout(layout::LayoutError::OverBinding {
                need: distinct.len() as u64 * slot_bytes,
                max: self.gpu.limits.max_binding,
            }));
        }
        // Rebuild when the tables missing from the pool outnumber the slots it may reuse (a
        // new pool is empty; a replaced one lives on in the bind groups already recorded).
        let (rebuild, pinned) = match self.pools.get(&nfft) {
            None => (true, 0),
            Some(p) => {
                let missing = distinct.iter().filter(|k| !p.index.contains_key(k)).count();
                let pinned = p
                    .slots
                    .iter()
                    .flatten()
                    .filter(|(t, used)| *used == now && !distinct.contains(&table_key(t)))
                    .count();
                let reusable = p.capacity - pinned - (distinct.len() - missing);
                (missing > reusable, pinned)
            }
        };
        let want = want.max(pinned + distinct.len());
        if rebuild {
            let buffer = self.buffer(
                "response tables",
                want as u64 * slot_bytes,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            );
            self.pools.insert(
                nfft,
                TablePool {
                    buffer,
                    capacity: want,
                    slots: vec![None; want],
                    index: HashMap::new(),
                },
            );
        }
        let Some(pool) = self.pools.get_mut(&nfft) else {
            return Err(GpuError::Device("response pool missing".into()));
        };
        let mut slots = Vec::with_capacity(tables.len());
        for t in tables {
            let key = table_key(t);
            let slot = match pool.index.get(&key) {
                Some(&s) => s,
                None => {
                    // A free slot, else the least recently used one this batch does not use.
                    let s = match pool.slots.iter().position(Option::is_none) {
                        Some(s) => s,
                        None => pool
                            .slots
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| {
                                e.as_ref().is_some_and(|(t, used)| {
                                    *used != now && !distinct.contains(&table_key(t))
                                })
                            })
                            .min_by_key(|(_, e)| e.as_ref().map(|(_, used)| *used))
                            .map(|(s, _)| s)
                            .ok_or_else(|| GpuError::Device("response pool full".into()))?,
                    };
                    if let Some((old, _)) = pool.slots[s].take() {
                        pool.index.remove(&table_key(&old));
                    }
                    let data: Vec<[f32; 2]> = match t.as_ref() {
                        Ok(v) => v.iter().map(|c| [c.re as f32, c.im as f32]).collect(),
                        Err(m) => {
                            return Err(GpuError::Device(format!(
                                "bad table reached the device: {m}"
                            )))
                        }
                    };
                    self.gpu.queue.write_buffer(
                        &pool.buffer,
                        s as u64 * slot_bytes,
                        bytemuck::cast_slice(&data),
                    );
                    pool.index.insert(key, s);
                    s
                }
            };
            pool.slots[slot] = Some(((*t).clone(), now));
            slots.push(slot as u32);
        }
        Ok((slots, &pool.buffer))
    }

    /// Runs the program over `traces` (each `prog.n_in` samples); `tables[t][r]` is trace
    /// t's inverse table for `prog.responses[r]`. Returns `prog.n_out` samples per trace.
    pub fn run(
        &mut self,
        prog: &Program,
        traces: &[&[f64]],
        tables: &[Vec<Table>],
    ) -> Result<Vec<Vec<f32>>, GpuError> {
        let p = self.submit(prog, traces, tables)?;
        self.finish(p)
    }

    /// Uploads, records and submits one batch without waiting for it: the caller can prepare
    /// and submit the next batch while the device works (`finish` collects, in any order).
    pub fn submit(
        &mut self,
        prog: &Program,
        traces: &[&[f64]],
        tables: &[Vec<Table>],
    ) -> Result<Pending, GpuError> {
        if let Some(f) = self.gpu.take_fault() {
            return Err(f);
        }
        let oom = self
            .device()
            .push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self
            .device()
            .push_error_scope(wgpu::ErrorFilter::Validation);
        let result = self.record_and_submit(prog, traces, tables);
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
        let (bytes, ticks) = self.wait(flight)?;
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

    fn record_and_submit(
        &mut self,
        prog: &Program,
        traces: &[&[f64]],
        tables: &[Vec<Table>],
    ) -> Result<Pending, GpuError> {
        if traces.is_empty() {
            return Ok(Pending {
                flight: None,
                count: 0,
                n_out: prog.n_out,
                stages: Vec::new(),
            });
        }
        self.clock += 1;
        self.times.batches += 1;
        let t_start = std::time::Instant::now();
        let count = traces.len();
        let b = count as u64;
        let n0 = prog.n_in;
        use wgpu::BufferUsages as U;
        // Upload. When the chain opens with a detrend, the f64 mean goes before the cast to
        // f32: a trace at 1e6 counts +- 10 keeps its 10 counts' digits, and the detrend
        // removes a constant exactly, so the result is the same function of the data.
        let centre = matches!(
            prog.stages.first().map(|s| &s.stage),
            Some(Stage::Detrend { .. })
        );
        let set = self.acquire(Need {
            real: b * prog.max_real() as u64 * 4,
            complex: b * prog.max_complex() as u64 * 8,
            fit: b * 8,
            upload: b * n0 as u64 * 4,
            download: b * prog.n_out as u64 * 4,
        })?;
        let up_bytes = b * n0 as u64 * 4;
        {
            // Each pair of traces converts straight into its own mapped range, on all
            // cores (pairs: a range must start 8-byte aligned, and 2 n0 f32s are). Each range
            // is written once, front to back: mapped memory may be write-combining.
            let pair = 2 * n0 as u64 * 4;
            let views = (0..count.div_ceil(2))
                .map(|i| {
                    let a = i as u64 * pair;
                    set.upload
                        .get_mapped_range_mut(a..(a + pair).min(up_bytes))
                        .map_err(|e| GpuError::Device(format!("filling the upload buffer: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            views
                .into_par_iter()
                .zip(traces.par_chunks(2))
                .for_each_init(Vec::<f32>::new, |v, (mut view, two)| {
                    v.clear();
                    for t in two {
                        let m = if centre {
                            t.iter().sum::<f64>() / t.len() as f64
                        } else {
                            0.0
                        };
                        v.extend(t.iter().map(|x| (x - m) as f32));
                    }
                    view.copy_from_slice(bytemuck::cast_slice(v));
                });
        }
        set.upload.unmap();
        if let Ok(mut st) = set.state.lock() {
            st.0 = false;
        }
        let (r, c, fit) = (&set.real, &set.complex, &set.fit);
        if self.poison {
            for buf in r.iter().chain(c.iter()) {
                let nan = vec![0xffu8; buf.size() as usize];
                self.gpu.queue.write_buffer(buf, 0, &nan);
            }
        }
        let mut cur = 0usize;
        let mut out: Vec<Dispatch> = Vec::new();
        let k = &self.gpu.kernels;
        let (detrend_fit, detrend_apply, taper_k, deconv, resample_k, interp_k, decim_k) = (
            k.detrend_fit.clone(),
            k.detrend_apply.clone(),
            k.taper.clone(),
            k.deconvolve.clone(),
            k.resample.clone(),
            k.interpolate.clone(),
            k.decimate.clone(),
        );
        let filter_k = k.filter_sos.clone();
        let cnt = count as u32;
        for (si, st) in prog.stages.iter().enumerate() {
            self.stage_now = si;
            let (n_in, n_out) = (st.n_in as u32, st.n_out as u32);
            let elems = b * u64::from(n_in);
            match &st.stage {
                Stage::Detrend { kind } => {
                    let u = self.uniform(&DetrendParams {
                        n: n_in,
                        count: cnt,
                        kind: *kind,
                        _pad: 0,
                    });
                    self.dispatch(
                        &mut out,
                        &detrend_fit,
                        &[(0, &u), (1, &r[cur]), (2, fit)],
                        b * u64::from(WORKGROUP),
                        WORKGROUP,
                    )?;
                    self.dispatch(
                        &mut out,
                        &detrend_apply,
                        &[(0, &u), (1, &r[cur]), (2, fit)],
                        elems,
                        WORKGROUP,
                    )?;
                }
                Stage::Taper { window } => {
                    let u = self.uniform(&TaperParams {
                        n: n_in,
                        count: cnt,
                        _pad0: 0,
                        _pad1: 0,
                    });
                    let w = self.storage("window", window);
                    self.dispatch(
                        &mut out,
                        &taper_k,
                        &[(0, &u), (1, &r[cur]), (2, &w)],
                        elems,
                        WORKGROUP,
                    )?;
                }
                Stage::Deconvolve {
                    nfft,
                    fft: plan,
                    table,
                } => {
                    let nf = *nfft as u32;
                    self.pack(&mut out, &r[cur], &c[0], n_in, nf, cnt)?;
                    let s = self.fft(&mut out, c, 0, plan, false, cnt)?;
                    let need: Vec<&Table> = tables.iter().map(|t| &t[*table]).collect();
                    let (slots, pool) = self.resident(*nfft, &need)?;
                    let pool = pool.clone();
                    let slots = self.storage("table slots", &slots);
                    let u = self.uniform(&DeconvolveParams {
                        nfft: nf,
                        count: cnt,
                        _pad0: 0,
                        _pad1: 0,
                    });
                    self.dispatch(
                        &mut out,
                        &deconv,
                        &[(0, &u), (1, &c[s]), (2, &pool), (3, &slots)],
                        b * u64::from(nf),
                        WORKGROUP,
                    )?;
                    let s = self.fft(&mut out, c, s, plan, true, cnt)?;
                    self.unpack(&mut out, &c[s], &r[cur], nf, n_out, 1.0 / nf as f32, cnt)?;
                }
                Stage::Filter { sos, zerophase } => {
                    let Some(fk) = &filter_k else {
                        return Err(GpuError::Device("filter stage without SHADER_F64".into()));
                    };
                    let s = self.storage("sos", sos);
                    let state =
                        self.buffer("filter state", b * MAX_SECTIONS as u64 * 16, U::STORAGE);
                    for reverse in [false, true].into_iter().take(1 + usize::from(*zerophase)) {
                        for t0 in (0..n_in).step_by(FILTER_CHUNK as usize) {
                            let u = self.uniform(&FilterParams {
                                n: n_in,
                                count: cnt,
                                sections: (sos.len() / 6) as u32,
                                reverse: u32::from(reverse),
                                t0,
                                len: FILTER_CHUNK,
                                _pad0: 0,
                                _pad1: 0,
                            });
                            self.dispatch(
                                &mut out,
                                fk,
                                &[(0, &u), (1, &r[cur]), (2, &s), (3, &state)],
                                b,
                                FILTER_WORKGROUP,
                            )?;
                        }
                    }
                }
                Stage::Resample { fwd, inv, taps } => {
                    self.pack(&mut out, &r[cur], &c[0], n_in, n_in, cnt)?;
                    let s = self.fft(&mut out, c, 0, fwd, false, cnt)?;
                    let d = (s + 1) % 3;
                    let u = self.uniform(&ResampleParams {
                        n: n_in,
                        num: n_out,
                        count: cnt,
                        _pad: 0,
                    });
                    let t = self.storage("taps", taps);
                    self.dispatch(
                        &mut out,
                        &resample_k,
                        &[(0, &u), (1, &c[s]), (2, &c[d]), (3, &t)],
                        b * u64::from(n_out),
                        WORKGROUP,
                    )?;
                    let s = self.fft(&mut out, c, d, inv, true, cnt)?;
                    // irfft's 1/num times ObsPy's num/n.
                    self.unpack(
                        &mut out,
                        &c[s],
                        &r[cur],
                        n_out,
                        n_out,
                        1.0 / n_in as f32,
                        cnt,
                    )?;
                }
                Stage::Interpolate { a, grid } => {
                    let u = self.uniform(&InterpolateParams {
                        n: n_in,
                        npts: n_out,
                        count: cnt,
                        a: *a,
                    });
                    let g = self.storage("grid", grid);
                    self.dispatch(
                        &mut out,
                        &interp_k,
                        &[(0, &u), (1, &r[cur]), (2, &r[1 - cur]), (3, &g)],
                        b * u64::from(n_out),
                        WORKGROUP,
                    )?;
                    cur = 1 - cur;
                }
                Stage::Decimate { factor } => {
                    let u = self.uniform(&DecimateParams {
                        n_in,
                        n_out,
                        count: cnt,
                        factor: *factor as u32,
                    });
                    self.dispatch(
                        &mut out,
                        &decim_k,
                        &[(0, &u), (1, &r[cur]), (2, &r[1 - cur])],
                        b * u64::from(n_out),
                        WORKGROUP,
                    )?;
                    cur = 1 - cur;
                }
            }
        }
        let out_bytes = b * prog.n_out as u64 * 4;
        self.times.upload_and_record += t_start.elapsed().as_secs_f64();
        let upload = (&set.upload, &r[0], up_bytes);
        let mut flight =
            self.submit_recorded(&out, Some(upload), &r[cur], set.download.clone(), out_bytes)?;
        if let Ok(mut st) = set.state.lock() {
            st.1 = Some(flight.index.clone());
        }
        flight.set = Some(set.clone());
        let stages = prog
            .stages
            .iter()
            .enumerate()
            .map(|(i, st)| {
                (
                    st.stage.name(),
                    b * (st.n_in + st.n_out) as u64 * 4,
                    out.iter().filter(|d| d.stage == i).count(),
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

    /// Copies `upload` (source, destination, bytes) on the device, records `dispatches` into
    /// one compute pass, copies `bytes` of `result` to `staging` (MAP_READ), submits once and
    /// asks for the copy to be mapped; `wait` collects it.
    fn submit_recorded(
        &mut self,
        dispatches: &[Dispatch],
        upload: Option<(&wgpu::Buffer, &wgpu::Buffer, u64)>,
        result: &wgpu::Buffer,
        staging: wgpu::Buffer,
        bytes: u64,
    ) -> Result<InFlight, GpuError> {
        let mut enc = self
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("batch"),
            });
        if let Some((src, dst, n)) = upload {
            enc.copy_buffer_to_buffer(src, 0, dst, 0, n);
        }
        let stages = dispatches.iter().map(|d| d.stage + 1).max().unwrap_or(0);
        let mut profile = None;
        if self.profile && self.gpu.timestamps && stages > 0 {
            // One pass per stage, timestamps at its ends: kernel-only times per stage.
            let qs = self.device().create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("stage times"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * stages as u32,
            });
            for s in 0..stages {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("stage"),
                    timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                        query_set: &qs,
                        beginning_of_pass_write_index: Some(2 * s as u32),
                        end_of_pass_write_index: Some(2 * s as u32 + 1),
                    }),
                });
                for d in dispatches.iter().filter(|d| d.stage == s) {
                    pass.set_pipeline(&d.pipeline);
                    pass.set_bind_group(0, &d.bind, &[]);
                    pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
                }
            }
            let n = 2 * stages as u64 * 8;
            let resolve = self.buffer(
                "timestamps",
                n,
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            );
            let read = self.buffer(
                "timestamps read",
                n,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            enc.resolve_query_set(&qs, 0..2 * stages as u32, &resolve, 0);
            enc.copy_buffer_to_buffer(&resolve, 0, &read, 0, n);
            profile = Some((read, stages));
        } else {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("chain"),
                timestamp_writes: None,
            });
            for d in dispatches {
                pass.set_pipeline(&d.pipeline);
                pass.set_bind_group(0, &d.bind, &[]);
                pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
            }
        }
        enc.copy_buffer_to_buffer(result, 0, &staging, 0, bytes);
        let t_submit = std::time::Instant::now();
        let index = self.gpu.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging
            .slice(..bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        let profile = profile.map(|(buf, stages)| {
            let (ptx, prx) = std::sync::mpsc::channel();
            buf.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                let _ = ptx.send(r);
            });
            (buf, stages, prx)
        });
        Ok(InFlight {
            set: None,
            staging,
            bytes,
            index,
            rx,
            t_submit,
            profile,
        })
    }

    /// Waits for one submission (not for later ones) and reads its results, and its stage
    /// times when it was profiled.
    fn wait(&mut self, f: InFlight) -> Result<(Vec<u8>, Option<Vec<f64>>), GpuError> {
        self.device()
            .poll(wgpu::PollType::Wait {
                submission_index: Some(f.index.clone()),
                timeout: None,
            })
            .map_err(|e| GpuError::Device(format!("waiting for the batch: {e}")))?;
        match f.rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(GpuError::Device(format!("reading results back: {e}"))),
            Err(_) => return Err(GpuError::Device("reading results back: no answer".into())),
        }
        self.times.device += f.t_submit.elapsed().as_secs_f64();
        let slice = f.staging.slice(..f.bytes);
        let view = slice
            .get_mapped_range()
            .map_err(|e| GpuError::Device(format!("reading results back: {e}")))?;
        let v = view.to_vec();
        drop(view);
        f.staging.unmap();
        let ticks = match f.profile {
            None => None,
            Some((buf, stages, prx)) => {
                if !matches!(prx.recv(), Ok(Ok(()))) {
                    return Err(GpuError::Device("reading timestamps: map failed".into()));
                }
                let ticks: Vec<u64> = {
                    let view = buf
                        .slice(..)
                        .get_mapped_range()
                        .map_err(|e| GpuError::Device(format!("reading timestamps: {e}")))?;
                    bytemuck::cast_slice(&view).to_vec()
                };
                buf.unmap();
                let period = f64::from(self.gpu.queue.get_timestamp_period()) * 1e-9;
                Some(
                    (0..stages)
                        .map(|s| ticks[2 * s + 1].saturating_sub(ticks[2 * s]) as f64 * period)
                        .collect(),
                )
            }
        };
        Ok((v, ticks))
    }

    /// The fft stage alone: batched complex FFTs (unnormalised both ways, as numpy's fft and
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
        let plan = FftPlan::new(n);
        let bytes = count as u64 * plan.scratch_len() as u64 * 8;
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC;
        let c = [
            self.buffer("complex 0", bytes, usage),
            self.buffer("complex 1", bytes, usage),
            self.buffer("complex 2", bytes, usage),
        ];
        if self.poison {
            for buf in &c {
                self.gpu
                    .queue
                    .write_buffer(buf, 0, &vec![0xffu8; buf.size() as usize]);
            }
        }
        let flat: Vec<[f32; 2]> = input.iter().flatten().copied().collect();
        self.gpu
            .queue
            .write_buffer(&c[0], 0, bytemuck::cast_slice(&flat));
        let mut out = Vec::new();
        let k = self.fft(&mut out, &c, 0, &plan, inverse, count as u32)?;
        let bytes = count as u64 * n as u64 * 8;
        let staging = self.buffer(
            "download",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let flight = self.submit_recorded(&out, None, &c[k], staging, bytes)?;
        let (raw, _) = self.wait(flight)?;
        let flat: &[[f32; 2]] = bytemuck::cast_slice(&raw);
        Ok(flat.chunks(n).map(<[[f32; 2]]>::to_vec).collect())
    }
}
