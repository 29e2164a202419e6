//! Submitting recorded dispatches and collecting their results: one command buffer (the
//! upload copy, the dispatches in one compute pass or one timed pass per stage, the result
//! copy), one submit, then waiting for that submission alone and reading the mapped result.

use super::{Gpu, GpuError};

/// A dispatch ready for the encoder.
pub struct Encoded {
    pub pipeline: wgpu::ComputePipeline,
    pub bind: wgpu::BindGroup,
    pub groups: [u32; 3],
    /// Index of its stage within the program (for profiling), and the stage's name (the
    /// pass label in a GPU profiler's capture).
    pub stage: usize,
    pub label: &'static str,
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

/// Tells when a buffer's map_async completed.
type MapDone = std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>;

pub struct InFlight {
    /// The batch's buffers: busy (not reused) until this is dropped.
    pub set: Option<std::sync::Arc<super::pool::WorkSet>>,
    staging: wgpu::Buffer,
    bytes: u64,
    pub index: wgpu::SubmissionIndex,
    rx: MapDone,
    t_submit: std::time::Instant,
    /// Timestamp readback buffer, stage count, and its map notification.
    profile: Option<(wgpu::Buffer, usize, MapDone)>,
}

/// Copies `upload` (source, destination, bytes) on the device, records `dispatches` into one
/// compute pass (one timed pass per stage with `profile`), copies `bytes` of `result` to
/// `staging` (MAP_READ), submits once and asks for the copy to be mapped.
pub fn submit(
    gpu: &Gpu,
    profile: bool,
    dispatches: &[Encoded],
    upload: Option<(&wgpu::Buffer, &wgpu::Buffer, u64)>,
    result: &wgpu::Buffer,
    staging: wgpu::Buffer,
    bytes: u64,
) -> InFlight {
    let mut enc = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("batch"),
        });
    if let Some((src, dst, n)) = upload {
        enc.copy_buffer_to_buffer(src, 0, dst, 0, n);
    }
    let stages = dispatches.iter().map(|d| d.stage + 1).max().unwrap_or(0);
    // Query indices are u32: a program has a few dozen stages, so profile only when they fit.
    let queries = u32::try_from(2 * stages).ok();
    let mut timed = None;
    let timing = profile && gpu.timestamps && stages > 0;
    if let Some(queries) = queries.filter(|_| timing) {
        // One pass per stage, timestamps at its ends: kernel-only times per stage.
        let qs = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("stage times"),
            ty: wgpu::QueryType::Timestamp,
            count: queries,
        });
        for (s, q) in (0..stages).zip((0..queries).step_by(2)) {
            let label = dispatches.iter().find(|d| d.stage == s).map(|d| d.label);
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label,
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &qs,
                    beginning_of_pass_write_index: Some(q),
                    end_of_pass_write_index: Some(q + 1),
                }),
            });
            for d in dispatches.iter().filter(|d| d.stage == s) {
                pass.set_pipeline(&d.pipeline);
                pass.set_bind_group(0, &d.bind, &[]);
                pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
            }
        }
        let n = 2 * stages as u64 * 8;
        use wgpu::BufferUsages as U;
        let resolve = super::pool::buffer(gpu, "timestamps", n, U::QUERY_RESOLVE | U::COPY_SRC);
        let read = super::pool::buffer(gpu, "timestamps read", n, U::MAP_READ | U::COPY_DST);
        enc.resolve_query_set(&qs, 0..queries, &resolve, 0);
        enc.copy_buffer_to_buffer(&resolve, 0, &read, 0, n);
        timed = Some((read, stages));
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
    let index = gpu.queue.submit([enc.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    staging
        .slice(..bytes)
        .map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
    let profile = timed.map(|(buf, stages)| {
        let (ptx, prx) = std::sync::mpsc::channel();
        buf.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = ptx.send(r);
        });
        (buf, stages, prx)
    });
    InFlight {
        set: None,
        staging,
        bytes,
        index,
        rx,
        t_submit,
        profile,
    }
}

/// Waits for one submission (not for later ones) and reads its results, and its stage times
/// when it was profiled.
pub fn wait(
    gpu: &Gpu,
    f: InFlight,
    times: &mut RunnerTimes,
) -> Result<(Vec<u8>, Option<Vec<f64>>), GpuError> {
    gpu.device
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
    times.device += f.t_submit.elapsed().as_secs_f64();
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
            let period = f64::from(gpu.queue.get_timestamp_period()) * 1e-9;
            Some(
                (0..stages)
                    .map(|s| ticks[2 * s + 1].saturating_sub(ticks[2 * s]) as f64 * period)
                    .collect(),
            )
        }
    };
    Ok((v, ticks))
}
