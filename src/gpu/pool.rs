//! What outlives a batch on the device: the work-buffer sets batches reuse, and the response
//! tables (one pool per nfft, least recently used evicted), so a response is uploaded once and
//! reused by every later batch that needs it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::record::PerTrace;
use super::sizing::{largest_allowed, part_bytes, LayoutError, DATA_PARTS};
use super::{to_f32, Gpu, GpuError};
use crate::response::cache::Table;

/// One batch's buffers, reused by later batches. Creating a gigabyte of buffers per batch
/// (which wgpu also zero-fills) and writing samples through `queue.write_buffer` (a fresh
/// staging allocation each time, filled at page-fault speed: 4 GB/s on an H100 host) cost
/// more than the kernels; a reused, mapped upload buffer is filled by all cores at memory
/// speed and copied by the device's DMA engine. A set is free when the runner holds the
/// only reference (its batch was collected, or dropped after an error).
pub struct WorkSet {
    pub real: [wgpu::Buffer; 2],
    pub complex: [Parts; 3],
    pub fit: wgpu::Buffer,
    pub state: wgpu::Buffer,
    /// MAP_WRITE | COPY_SRC, host memory: samples are converted straight into it.
    pub upload: wgpu::Buffer,
    /// MAP_READ | COPY_DST: the results are copied here and mapped.
    pub download: wgpu::Buffer,
    cap: PerTrace,
    /// Whether `upload` is mapped (it is at creation; each batch unmaps it), and the
    /// submission that last used the set (a re-map completes once it has).
    pub mapped: Mutex<(bool, Option<wgpu::SubmissionIndex>)>,
}

/// A buffer, whole or, above the device's binding limit, in parts of `sizing::part_bytes` bytes
/// (the last one the rest): the kernels of `record::SPLIT_KERNELS` see part k of the buffer at
/// binding b at b + k `record::PART_STRIDE`.
#[derive(Clone)]
pub struct Parts {
    pub lo: wgpu::Buffer,
    pub upper: Vec<wgpu::Buffer>,
}

impl Parts {
    /// A buffer already made whole.
    pub fn whole(b: &wgpu::Buffer) -> Parts {
        Parts {
            lo: b.clone(),
            upper: Vec::new(),
        }
    }

    /// `bytes` of buffer in at most `max_parts` parts (an error past that), made by `make`
    /// from each part's byte range.
    pub fn make(
        limits: &super::sizing::DeviceLimits,
        bytes: u64,
        max_parts: u64,
        mut make: impl FnMut(std::ops::Range<u64>) -> wgpu::Buffer,
    ) -> Result<Parts, GpuError> {
        let whole = limits.max_binding.min(limits.max_buffer);
        if bytes <= whole {
            return Ok(Parts::whole(&make(0..bytes)));
        }
        let part = part_bytes(whole);
        if part == 0 || bytes > largest_allowed(limits, max_parts) {
            return Err(GpuError::Layout(LayoutError::OverBinding {
                need: bytes,
                max: largest_allowed(limits, max_parts),
            }));
        }
        let mut starts = (0..bytes).step_by(usize::try_from(part).unwrap_or(usize::MAX));
        let lo = make(starts.next().map_or(0..0, |a| a..(a + part).min(bytes)));
        let upper = starts.map(|a| make(a..(a + part).min(bytes))).collect();
        Ok(Parts { lo, upper })
    }

    /// Where part 1 starts, in 8-byte slots (`kernels::PartStarts`); u32::MAX if whole.
    pub fn split_slots(&self) -> u32 {
        if self.upper.is_empty() {
            u32::MAX
        } else {
            u32::try_from(self.lo.size() / 8).unwrap_or(u32::MAX)
        }
    }

    /// Bytes a kernel that binds only the first part may use.
    fn whole_bytes(&self) -> u64 {
        if self.upper.is_empty() {
            u64::MAX
        } else {
            self.lo.size()
        }
    }

    /// Every part, the first one first.
    pub fn all(&self) -> impl Iterator<Item = &wgpu::Buffer> {
        std::iter::once(&self.lo).chain(&self.upper)
    }
}

/// Whether a set holds a batch of `need`; a program that does not take its buffers in parts
/// (`parts` false) only fits a set whose complex buffers are whole or whose first parts hold
/// the batch.
fn fits(need: &PerTrace, set: &WorkSet, parts: bool) -> bool {
    let cap = &set.cap;
    let complex_cap = if parts {
        cap.complex
    } else {
        cap.complex.min(set.complex[0].whole_bytes())
    };
    need.real <= cap.real
        && need.complex <= complex_cap
        && need.fit <= cap.fit
        && need.state <= cap.state
        && need.upload <= cap.upload
        && need.download <= cap.download
}

pub fn buffer(gpu: &Gpu, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    // Never zero-sized: a zero-length binding is a validation error.
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(16).next_multiple_of(4),
        usage,
        mapped_at_creation: false,
    })
}

/// Buffer sets for batches: at most IN_FLIGHT busy plus the one being filled.
#[derive(Default)]
pub struct Sets {
    sets: Vec<Arc<WorkSet>>,
}

impl Sets {
    /// A free buffer set at least `need` large, its upload buffer mapped. Free sets too small
    /// are dropped first, so the device holds at most IN_FLIGHT + 1 sets.
    pub fn acquire(
        &mut self,
        gpu: &Gpu,
        need: PerTrace,
        parts: bool,
    ) -> Result<Arc<WorkSet>, GpuError> {
        self.sets
            .retain(|s| Arc::strong_count(s) > 1 || fits(&need, s, parts));
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
                // The device's limit, not a chosen share: sizing sends a program that keeps
                // its buffers whole batches that fit one binding.
                let complex = |label| {
                    Parts::make(&gpu.limits, need.complex, DATA_PARTS, |r| {
                        buffer(gpu, label, r.end - r.start, rw)
                    })
                };
                let s = Arc::new(WorkSet {
                    real: [
                        buffer(gpu, "real 0", need.real, rw),
                        buffer(gpu, "real 1", need.real, rw),
                    ],
                    complex: [
                        complex("complex 0")?,
                        complex("complex 1")?,
                        complex("complex 2")?,
                    ],
                    fit: buffer(gpu, "detrend fit", need.fit, U::STORAGE),
                    state: buffer(gpu, "filter state", need.state, U::STORAGE),
                    upload: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("upload"),
                        size: need.upload.max(16).next_multiple_of(4),
                        usage: U::MAP_WRITE | U::COPY_SRC,
                        mapped_at_creation: true,
                    }),
                    download: buffer(gpu, "download", need.download, U::MAP_READ | U::COPY_DST),
                    cap: need,
                    mapped: Mutex::new((true, None)),
                });
                self.sets.push(s.clone());
                s
            }
        };
        let (mapped, last) = match set.mapped.lock() {
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
            gpu.device
                .poll(poll)
                .map_err(|e| GpuError::Device(format!("mapping the upload buffer: {e}")))?;
            match rx.try_recv() {
                Ok(Ok(())) => {
                    if let Ok(mut st) = set.mapped.lock() {
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
}

/// Share of the memory budget kept for the response-table pool.
pub const TABLE_POOL_SHARE: u64 = 8;

/// Response tables of one nfft on the device, slot by slot, least recently used evicted.
struct TablePool {
    buffer: wgpu::Buffer,
    capacity: usize,
    /// Per slot: the table it holds (the Arc pins the pointer used as key) and last use.
    slots: Vec<Option<(Table, u64)>>,
    index: HashMap<usize, usize>,
}

fn table_key(t: &Table) -> usize {
    Arc::as_ptr(t) as usize
}

/// The response pools, one per nfft.
#[derive(Default)]
pub struct Responses {
    pools: HashMap<usize, TablePool>,
}

impl Responses {
    /// Makes every table of the batch resident in the pool for `nfft`; returns each trace's
    /// slot and the pool. Uploads only tables not already there. Slots stamped `now` serve
    /// this batch (an earlier remove_response step of the same program included): never
    /// evicted before the batch's one submit.
    pub fn resident(
        &mut self,
        gpu: &Gpu,
        budget: u64,
        now: u64,
        nfft: usize,
        tables: &[&Table],
    ) -> Result<(Vec<u32>, wgpu::Buffer), GpuError> {
        let slot_bytes = (nfft / 2 + 1) as u64 * 8;
        let distinct: HashSet<usize> = tables.iter().map(|t| table_key(t)).collect();
        let slots = |bytes: u64| usize::try_from(bytes / slot_bytes).unwrap_or(usize::MAX);
        let by_budget = slots(budget / TABLE_POOL_SHARE);
        let by_binding = slots(gpu.limits.max_binding.min(gpu.limits.max_buffer));
        let want = distinct.len().max(by_budget.min(by_binding)).max(1);
        if distinct.len() > by_binding {
            return Err(GpuError::Layout(super::sizing::LayoutError::OverBinding {
                need: distinct.len() as u64 * slot_bytes,
                max: gpu.limits.max_binding,
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
            let buffer = buffer(
                gpu,
                "deconvolve response tables",
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
                    // The f64 table rounded to f32 where it is uploaded.
                    let data: Vec<[f32; 2]> = match t.as_ref() {
                        Ok(v) => v.iter().map(|c| [to_f32(c.re), to_f32(c.im)]).collect(),
                        Err(m) => {
                            return Err(GpuError::Device(format!(
                                "bad table reached the device: {m}"
                            )))
                        }
                    };
                    gpu.queue.write_buffer(
                        &pool.buffer,
                        s as u64 * slot_bytes,
                        bytemuck::cast_slice(&data),
                    );
                    pool.index.insert(key, s);
                    s
                }
            };
            pool.slots[slot] = Some(((*t).clone(), now));
            slots.push(super::u32_of("response slot", slot).map_err(GpuError::Device)?);
        }
        Ok((slots, pool.buffer.clone()))
    }
}
