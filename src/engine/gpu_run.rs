//! The GPU path's executor loops: per device (`--gpus`: several, each with its own
//! --gpu-memory), GPU_LOOPS drivers, each with its share of the device's budget on its own
//! loop (`gpu_loops`), a rotate run's segments each with a driver; one stream through all of
//! them (a loop takes the next batch when it is free, so the devices share the work by
//! speed); and what the drivers measured and noted.

use super::{stream, work, Inputs, RunError};
use crate::exec::grouped::Segments;
use crate::gpu::{self, Gpu};
use crate::plan::Planner;
use crate::response::cache::ResponseCache;

/// The drivers' totals: host preparation and CPU-fallback seconds, the runners' times.
pub(super) type GpuTimes = (f64, f64, gpu::runner::RunnerTimes);

pub(super) struct GpuRun {
    /// Traces each device processed, in the order of the devices.
    pub on_device: Vec<usize>,
    pub times: GpuTimes,
    /// The drivers' notes (batches that fell back, a lost device), for the report.
    pub notes: Vec<String>,
}

pub(super) fn run_on_gpu(
    ctx: &work::Ctx,
    gpus: &[Gpu],
    walker: Inputs,
    segments: &Segments,
    planner: &Planner,
    cache: &ResponseCache,
) -> Result<GpuRun, RunError> {
    let cfg = ctx.cfg;
    let rotate = !segments.rotates.is_empty();
    let mut device_warnings = Vec::new();
    let mut on_device = vec![0; gpus.len()];
    // GPU_LOOPS drivers, each with its share of the memory budget, each on its own
    // executor loop: while one gathers files, prepares and uploads its batches or
    // waits for its last batch, the other's batches keep the device busy (one driver
    // drains the device at the end of every call).
    // An archive run knows its longest window: long traces take the budget on one loop.
    let longest = ctx.units.iter().map(|u| u.samples).max().unwrap_or(0);
    let loops = gpu::runner::gpu_loops_for(cfg.gpu_memory, longest);
    // A rotate run: a driver per segment in each loop (the segment's share of it).
    let planners: Vec<&crate::plan::Planner> = if rotate {
        segments.planners().collect()
    } else {
        vec![planner]
    };
    let per_loop = planners.len().max(1);
    // Device by device, loop by loop: drivers[(gpu * loops + loop) * per_loop + segment].
    let mut drivers: Vec<gpu::executor::Driver> = gpus
        .iter()
        .flat_map(|g| (0..loops).map(move |_| g))
        .flat_map(|g| planners.iter().map(move |p| (g, *p)))
        .map(|(g, p)| {
            let share = cfg.gpu_memory / (loops * per_loop) as u64;
            let mut d = gpu::executor::Driver::new(g, share, p, cache);
            d.set_profile(cfg.stage_times && g.timestamps);
            d.set_cpu_stages(&cfg.cpu_stages);
            d
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs.max(1))
        .build()
        .map_err(|e| RunError::Fatal(format!("cannot start {} worker threads: {e}", cfg.jobs)))?;
    // One executor per loop: its driver, or a rotate run's segments' drivers.
    let mut execs: Vec<Box<dyn crate::exec::Executor + Send + '_>> = drivers
        .chunks_mut(per_loop)
        .map(|chunk| -> Box<dyn crate::exec::Executor + Send + '_> {
            if !rotate {
                Box::new(&mut chunk[0])
            } else {
                let mut mine = chunk.iter_mut();
                Box::new(segments.grouped(|_| match mine.next() {
                    Some(d) => Box::new(d),
                    None => unreachable!("one driver per segment"),
                }))
            }
        })
        .collect();
    // Every executor loop enters the pool only for its calls (InPool) and the stream runs
    // outside it: a pool worker blocked in the stream's scope while another loop's call waited
    // for that worker was a deadlock with --jobs 1 and two device loops (tests/integrity.rs).
    let mut in_pool: Vec<Box<dyn crate::exec::Executor + Send>> = execs
        .iter_mut()
        .map(|e| {
            Box::new(crate::exec::InPool {
                pool: &pool,
                exec: &mut **e,
            }) as Box<dyn crate::exec::Executor + Send>
        })
        .collect();
    let mut first = in_pool.remove(0);
    let feed = stream::Feed::gpu(cfg.jobs.max(1));
    ctx.run_stream(walker, &mut *first, in_pool, &feed);
    drop(first);
    drop(execs);
    let mut times = (0.0, 0.0, gpu::runner::RunnerTimes::default());
    for (i, d) in drivers.iter().enumerate() {
        device_warnings.extend(d.notes.iter().cloned());
        // A rotate run's trace passes each segment's driver: counted once, at the first.
        if i % per_loop == 0 {
            on_device[i / (loops * per_loop)] += d.on_device;
        }
        let t = d.runner_times();
        times.0 += d.host_prep;
        times.1 += d.cpu_fallback;
        times.2.upload_and_record += t.upload_and_record;
        times.2.device += t.device;
        times.2.kernels += t.kernels;
        times.2.readback += t.readback;
        times.2.batches += t.batches;
    }
    Ok(GpuRun {
        on_device,
        times,
        notes: device_warnings,
    })
}
