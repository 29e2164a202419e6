//! One criterion group per stage on a 20-minute 100 Hz trace (the forum-chain size): the CPU
//! path per trace (`<stage>/cpu`), and the GPU path on a batch of GPU_BATCH such traces
//! (`<stage>/gpu`, upload + the stage's dispatches + download, throughput in samples).
//! The GPU group runs when wgpu finds an adapter; lavapipe's numbers say nothing about a GPU.
//! Run: cargo bench --bench stages

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use seisbatch::inventory::{Inventories, XmlCache};
use seisbatch::ops::{deconvolve, detrend, filter, iir, interpolate, resample, taper};
use seisbatch::pipeline::{DetrendType, FilterType, InterpMethod, Output, Pipeline, Side, Window};
use seisbatch::read::mseed::read_bytes;
use seisbatch::response::cache::{inverse_table, ResponseCache};

const EVENT: &str = "examples/data/event_2014-01-01";

fn trace() -> seisbatch::trace::Trace {
    let f = Path::new(EVENT).join("raw/GR.FUR..HHZ__20140101T000000Z__20140101T002000Z.mseed");
    read_bytes(&std::fs::read(f).expect("example data"))
        .traces
        .remove(0)
}

fn stages(c: &mut Criterion) {
    let tr = trace();
    let n = tr.data.len();
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements(n as u64));
    // miniSEED (Steim2, 512-byte records) to a trace: src/read/mseed.rs.
    let raw = std::fs::read(
        Path::new(EVENT).join("raw/GR.FUR..HHZ__20140101T000000Z__20140101T002000Z.mseed"),
    )
    .expect("example data");
    g.bench_function("decode/cpu", |b| b.iter(|| read_bytes(&raw)));
    g.bench_function("detrend/cpu", |b| {
        b.iter(|| {
            let mut x = tr.data.clone();
            detrend::detrend(&mut x, DetrendType::Linear);
            black_box(x)
        })
    });
    g.bench_function("taper/cpu", |b| {
        b.iter(|| {
            let mut x = tr.data.clone();
            taper::taper(&mut x, 100.0, Some(0.05), Window::Hann, None, Side::Both);
            black_box(x)
        })
    });
    let xml = XmlCache::default();
    let inv = xml.inventory(&Path::new(EVENT).join("resp"));
    let layers = Inventories {
        layers: vec![inv.as_ref()],
    };
    let (_, resp) = layers.response_for(&tr).expect("response");
    let nfft = deconvolve::npts2nfft(n);
    let table = inverse_table(
        &resp,
        tr.delta(),
        nfft,
        Output::Disp,
        Some(0.0),
        Some([0.001, 0.005, 4.9, 5.0]),
    )
    .unwrap();
    g.bench_function("deconvolve/cpu", |b| {
        b.iter(|| black_box(deconvolve::deconvolve(&tr.data, &table, nfft)))
    });
    g.bench_function("response_eval/cpu", |b| {
        b.iter(|| {
            black_box(inverse_table(
                &resp,
                tr.delta(),
                nfft,
                Output::Disp,
                Some(0.0),
                None,
            ))
        })
    });
    g.bench_function("filter/cpu", |b| {
        b.iter(|| {
            let mut x = tr.data.clone();
            let _ = filter::filter(
                &mut x,
                100.0,
                FilterType::Bandpass,
                None,
                Some(0.02),
                Some(1.0),
                4,
                true,
            );
            black_box(x)
        })
    });
    g.bench_function("resample/cpu", |b| {
        b.iter(|| {
            black_box(resample::resample(
                &tr.data,
                100.0,
                5.0,
                Some(Window::Hann),
                true,
                false,
            ))
        })
    });
    g.bench_function("interpolate/cpu", |b| {
        b.iter(|| {
            black_box(interpolate::interpolate(
                &tr.data,
                tr.start_ns,
                100.0,
                10.0,
                InterpMethod::Lanczos,
                None,
                Some(12000),
                0.0,
                Some(25),
            ))
        })
    });
    g.bench_function("decimate/cpu", |b| {
        b.iter(|| {
            let mut x = tr.data.clone();
            let sos = iir::lowpass_cheby_2(10.0, 100.0, 12);
            iir::sosfilt(&sos, &mut x);
            black_box(x)
        })
    });
    let forum = Pipeline::from_file(Path::new("examples/forum_chain.toml")).expect("pipeline");
    let cache = ResponseCache::default();
    g.bench_function("chain_forum/cpu", |b| {
        b.iter(|| {
            let mut t = tr.clone();
            seisbatch::exec::cpu::run_steps(&forum.steps, &mut t, &layers, &cache).expect("chain");
            black_box(t)
        })
    });
    g.finish();
}

/// Traces per GPU batch in the benchmarks: enough to fill a large GPU.
const GPU_BATCH: usize = 64;

fn gpu_stages(c: &mut Criterion) {
    use seisbatch::gpu::{runner::Runner, Gpu, Want};
    use seisbatch::plan::{self, Shape};
    let gpu = match Gpu::new(Want::Any) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("no GPU benchmarks: {e}");
            return;
        }
    };
    eprintln!("GPU benchmarks on {}", gpu.info.describe());
    let tr = trace();
    let n = tr.data.len();
    let xml = XmlCache::default();
    let inv = xml.inventory(&Path::new(EVENT).join("resp"));
    let layers = Inventories {
        layers: vec![inv.as_ref()],
    };
    let (_, resp) = layers.response_for(&tr).expect("response");
    let batch: Vec<&[f64]> = (0..GPU_BATCH).map(|_| tr.data.as_slice()).collect();
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements((n * GPU_BATCH) as u64));
    let cases = [
        ("detrend/gpu", "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n"),
        ("taper/gpu", "[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n"),
        ("deconvolve/gpu", "[[step]]\nop = \"remove_response\"\noutput = \"DISP\"\nzero_mean = false\ntaper = false\n"),
        ("filter/gpu", "[[step]]\nop = \"filter\"\ntype = \"bandpass\"\nfreqmin = 0.02\nfreqmax = 1.0\nzerophase = true\n"),
        ("resample/gpu", "[[step]]\nop = \"resample\"\nsampling_rate = 5.0\n"),
        ("interpolate/gpu", "[[step]]\nop = \"interpolate\"\nsampling_rate = 10.0\nmethod = \"lanczos\"\na = 25\nnpts = 12000\n"),
        ("decimate/gpu", "[[step]]\nop = \"decimate\"\nfactor = 5\n"),
        ("chain_forum/gpu", include_str!("../examples/forum_chain.toml")),
    ];
    let mut runner = Runner::new(&gpu, 4 << 30);
    for (id, toml) in cases {
        let steps = Pipeline::parse(toml).expect("pipeline").steps;
        let prog = match plan::plan_for(
            &steps,
            Shape {
                npts: n,
                sampling_rate: 100.0,
                start_ns: tr.start_ns,
            },
        ) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{id}: {e}");
                continue;
            }
        };
        let tables: Vec<Vec<_>> = (0..GPU_BATCH)
            .map(|_| {
                prog.responses
                    .iter()
                    .map(|r| {
                        std::sync::Arc::new(inverse_table(
                            &resp,
                            r.delta,
                            r.nfft,
                            r.output,
                            r.water_level,
                            r.pre_filt,
                        ))
                    })
                    .collect()
            })
            .collect();
        let fits = runner
            .per_batch(&prog)
            .map(|p| p >= GPU_BATCH)
            .unwrap_or(false);
        if !fits {
            eprintln!("{id}: a batch of {GPU_BATCH} does not fit the device");
            continue;
        }
        g.bench_function(id, |b| {
            b.iter(|| black_box(runner.run(&prog, &batch, &tables).expect("batch")))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = stages, gpu_stages
}
criterion_main!(benches);
