//! Kernel-only and end-to-end GPU figures for docs/BENCHMARKS.md, on whatever adapter wgpu
//! finds: the device's copy bandwidth, each stage's device time and effective bandwidth
//! (timestamp queries, one pass per stage), and forum-chain traces/s on 20-minute 100 Hz
//! traces, kernel-only and end to end (upload, kernels, download, host tables).
//!
//! cargo run --release --example gpu_profile -- [BUDGET_MIB [MAX_TRACES]]
//! (defaults 8192 MiB and 2048 traces per batch; e.g. `-- 256 4` for a quick run on lavapipe)
//! Prints markdown. On lavapipe it runs, but its numbers say nothing about a GPU.

use std::path::Path;
use std::time::Instant;

use seisbatch::exec::Executor;
use seisbatch::gpu::executor::Driver;
use seisbatch::gpu::runner::Runner;
use seisbatch::gpu::{Gpu, Want};
use seisbatch::inventory::ResponseSource;
use seisbatch::inventory::{Inventories, XmlCache};
use seisbatch::pipeline::Pipeline;
use seisbatch::plan::{self, Shape};
use seisbatch::read::mseed::read_bytes;
use seisbatch::response::cache::ResponseCache;

const EVENT: &str = "examples/data/event_2014-01-01";

fn main() {
    let budget: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(8192)
        << 20;
    let max_traces: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2048);
    let gpu = match Gpu::new(Want::Any) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gpu_profile: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "adapter: {}  (f64: {}, timestamps: {})",
        gpu.info.describe(),
        gpu.info.shader_f64,
        gpu.timestamps
    );
    println!(
        "copy bandwidth (buffer to buffer, read + write): {:.1} GB/s",
        copy_bandwidth(&gpu)
    );
    let (up, down) = host_bandwidth(&gpu);
    println!("host to device (write_buffer + submit): {up:.1} GB/s; device to host (copy + map): {down:.1} GB/s");

    let f = Path::new(EVENT).join("raw/GR.FUR..HHZ__20140101T000000Z__20140101T002000Z.mseed");
    let tr = read_bytes(&std::fs::read(f).expect("example data"))
        .traces
        .remove(0);
    let n = tr.data.len();
    let xml = XmlCache::default();
    let inv = xml.inventory(&Path::new(EVENT).join("resp"));
    let layers = Inventories {
        layers: vec![inv.as_ref()],
    };
    let (_, resp) = layers
        .response_at(tr.codes(), tr.start_ns)
        .expect("response");

    let cases = [
        ("detrend", "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n"),
        ("taper", "[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n"),
        ("deconvolve", "[[step]]\nop = \"remove_response\"\noutput = \"DISP\"\nzero_mean = false\ntaper = false\n"),
        ("filter", "[[step]]\nop = \"filter\"\ntype = \"bandpass\"\nfreqmin = 0.02\nfreqmax = 1.0\nzerophase = true\n"),
        ("resample", "[[step]]\nop = \"resample\"\nsampling_rate = 5.0\n"),
        ("interpolate", "[[step]]\nop = \"interpolate\"\nsampling_rate = 10.0\nmethod = \"lanczos\"\na = 25\nnpts = 12000\n"),
        ("decimate", "[[step]]\nop = \"decimate\"\nfactor = 5\nno_filter = true\n"),
        ("chain_forum", include_str!("forum_chain.toml")),
        // remove_response's transform pair in f32: rfft.wgsl's three fused passes, and global
        // radix passes; the names above run the default (f64 where the adapter has it).
        ("deconvolve_rfft", "[[step]]\nop = \"remove_response\"\noutput = \"DISP\"\nzero_mean = false\ntaper = false\n"),
        ("chain_forum_rfft", include_str!("forum_chain.toml")),
        ("deconvolve_passes", "[[step]]\nop = \"remove_response\"\noutput = \"DISP\"\nzero_mean = false\ntaper = false\n"),
        ("chain_forum_passes", include_str!("forum_chain.toml")),
    ];
    let mut runner = Runner::new(&gpu, budget);
    runner.profile = true;
    println!("\n| stage | traces/batch | device ms/batch | dispatches | effective GB/s | kernel-only traces/s |");
    println!("|---|---|---|---|---|---|");
    for (name, toml) in cases {
        let f32_fft = name.ends_with("rfft") || name.ends_with("passes");
        runner.f64_transforms = !f32_fft;
        runner.rfft = !name.ends_with("passes");
        let steps = Pipeline::parse(toml).expect("pipeline").steps;
        let prog = match plan::plan_for(
            &steps,
            Shape {
                npts: n,
                sampling_rate: tr.sampling_rate,
                start_ns: tr.start_ns,
            },
        ) {
            Ok(p) => p,
            Err(e) => {
                println!("| {name} | not on this device: {e} | | | | |");
                continue;
            }
        };
        let count = runner.per_batch(&prog).expect("layout").min(max_traces);
        let batch: Vec<&[f64]> = (0..count).map(|_| tr.data.as_slice()).collect();
        let tables: Vec<Vec<_>> = (0..count)
            .map(|_| {
                prog.responses
                    .iter()
                    .map(|r| ResponseCache::default().table(0, &resp, &r.spec))
                    .collect()
            })
            .collect();
        let mut best = f64::INFINITY;
        let mut stages = Vec::new();
        for _ in 0..5 {
            runner.run(&prog, &batch, &tables).expect("batch");
            let t: f64 = runner.profile_last.iter().map(|s| s.seconds).sum();
            if t > 0.0 && t < best {
                best = t;
                stages = runner.profile_last.clone();
            }
        }
        let bytes: u64 = stages.iter().map(|s| s.bytes).sum();
        let dispatches: usize = stages.iter().map(|s| s.dispatches).sum();
        println!(
            "| {name}/gpu | {count} | {:.3} | {dispatches} | {:.1} | {:.0} |",
            best * 1e3,
            bytes as f64 / best / 1e9,
            count as f64 / best
        );
        if name.starts_with("chain_forum") {
            for s in &stages {
                println!(
                    "|   {} (in chain) | | {:.3} | {} | {:.1} | |",
                    s.stage,
                    s.seconds * 1e3,
                    s.dispatches,
                    s.bytes as f64 / s.seconds / 1e9
                );
            }
        }
    }

    // End to end through the driver: host tables (cached), grouping, upload, kernels,
    // download, f32 -> f64; what `seisbatch run --device gpu` does between read and write.
    let forum = Pipeline::parse(include_str!("forum_chain.toml")).expect("pipeline");
    let cache = ResponseCache::default();
    let planner = seisbatch::plan::Planner::new(&forum.steps);
    let mut driver = Driver::new(&gpu, budget, &planner, &cache);
    let count = max_traces;
    let traces: Vec<_> = (0..count).map(|_| tr.clone()).collect();
    let sources: Vec<&dyn ResponseSource> =
        (0..count).map(|_| &layers as &dyn ResponseSource).collect();
    let _ = driver.process(traces.clone(), &sources);
    let t0 = Instant::now();
    let out = driver.process(traces, &sources);
    let dt = t0.elapsed().as_secs_f64();
    let ok = out.iter().filter(|o| o.is_ok()).count();
    println!(
        "\nforum chain end to end (driver, {count} traces, {} on the device): {:.0} traces/s ({:.3} ms/trace)",
        driver.on_device,
        ok as f64 / dt,
        dt / ok as f64 * 1e3
    );
}

/// Buffer-to-buffer copies of up to 1 GiB, ten per submit, host-timed after a warm-up:
/// bytes read + written per second, the ceiling a memory-bound kernel is compared with.
fn copy_bandwidth(gpu: &Gpu) -> f64 {
    let size = (1u64 << 30).min(gpu.limits.max_buffer / 4 * 4);
    let mk = |usage| {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage,
            mapped_at_creation: false,
        })
    };
    let a = mk(wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST);
    let b = mk(wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST);
    let run = |reps: u32| {
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        for _ in 0..reps {
            enc.copy_buffer_to_buffer(&a, 0, &b, 0, size);
        }
        let t0 = Instant::now();
        gpu.queue.submit([enc.finish()]);
        let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
        t0.elapsed().as_secs_f64()
    };
    run(2);
    let reps = 10;
    2.0 * size as f64 * f64::from(reps) / run(reps) / 1e9
}

/// 1 GiB (or the largest buffer) host -> device through `queue.write_buffer` (what the
/// runner does) and device -> host through a copy into a mapped buffer (what it reads back
/// through), best of three each: the PCIe ceiling the end-to-end path is compared with.
fn host_bandwidth(gpu: &Gpu) -> (f64, f64) {
    let size = (1u64 << 30).min(gpu.limits.max_buffer / 4 * 4);
    let dev = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size,
        usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let host = vec![1u8; size as usize];
    let mut up = f64::INFINITY;
    for _ in 0..3 {
        let t0 = Instant::now();
        gpu.queue.write_buffer(&dev, 0, &host);
        gpu.queue.submit([]);
        let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
        up = up.min(t0.elapsed().as_secs_f64());
    }
    let mut down = f64::INFINITY;
    for _ in 0..3 {
        let read = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let t0 = Instant::now();
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&dev, 0, &read, 0, size);
        gpu.queue.submit([enc.finish()]);
        read.slice(..).map_async(wgpu::MapMode::Read, |_| {});
        let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
        let sum: u64 = {
            let Ok(view) = read.slice(..).get_mapped_range() else {
                return (0.0, 0.0);
            };
            view[..].iter().step_by(4096).map(|&b| u64::from(b)).sum()
        };
        down = down.min(t0.elapsed().as_secs_f64());
        assert!(sum > 0);
    }
    (size as f64 / up / 1e9, size as f64 / down / 1e9)
}
