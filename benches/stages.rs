//! One criterion group per stage of the stage table on a 20-minute 100 Hz trace (the
//! forum-chain size): the CPU executor per trace (`<stage>/cpu`: clone, cached plan, the
//! stage's twin), and the GPU path on a batch of GPU_BATCH such traces (`<stage>/gpu`: the
//! upload, the stage's dispatches and the download; throughput in samples); plus decode,
//! response evaluation and the forum chain.
//! The GPU group runs when wgpu finds an adapter; lavapipe's numbers say nothing about a GPU.
//! Run: cargo bench --bench stages

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use seisbatch::exec::cpu::Cpu;
use seisbatch::inventory::{Inventories, XmlCache};
use seisbatch::ops::deconvolve;
use seisbatch::pipeline::{Output, Pipeline};
use seisbatch::plan::Planner;
use seisbatch::read::mseed::read_bytes;
use seisbatch::read::{libmseed, steim};
use seisbatch::response::cache::{inverse_table, ResponseCache};

const EVENT: &str = "examples/data/event_2014-01-01";

fn trace() -> seisbatch::trace::Trace {
    let f = Path::new(EVENT).join("raw/GR.FUR..HHZ__20140101T000000Z__20140101T002000Z.mseed");
    read_bytes(&std::fs::read(f).expect("example data"))
        .traces
        .remove(0)
}

/// A forward and an inverse real FFT of `nfft` points (x zero-padded), planned once.
fn fft_pair<T: realfft::FftNum + Default>(b: &mut criterion::Bencher, nfft: usize, x: &[T]) {
    let mut p = realfft::RealFftPlanner::<T>::new();
    let (f, i) = (p.plan_fft_forward(nfft), p.plan_fft_inverse(nfft));
    let mut buf = f.make_input_vec();
    buf[..x.len()].copy_from_slice(x);
    let mut spec = f.make_output_vec();
    let mut scratch = f.make_scratch_vec();
    scratch.resize(scratch.len().max(i.get_scratch_len()), Default::default());
    b.iter(|| {
        let _ = f.process_with_scratch(&mut buf, &mut spec, &mut scratch);
        let _ = i.process_with_scratch(&mut spec, &mut buf, &mut scratch);
        black_box(buf[0])
    })
}

/// Each record's Steim frames, found as the reader finds them.
fn steim_payloads(raw: &[u8]) -> Vec<(libmseed::Frames, Vec<u8>)> {
    let mut out = Vec::new();
    let mut padded = raw.to_vec();
    padded.resize(raw.len() + seisbatch::read::mseed::PAD, 0);
    let mut off = 0;
    while off + 40 <= raw.len() {
        let h = libmseed::parse_record(&padded[off..raw.len()])
            .expect("record")
            .expect("a whole record");
        let (h, f) = libmseed::steim_frames(h);
        let f = f.expect("bounds").expect("Steim");
        let rec = h.raw().expect("record bytes");
        out.push((f.clone(), rec[f.at].to_vec()));
        off += rec.len();
    }
    out
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
    // The Steim2 frames alone (src/read/steim.rs), issue #14's >= 1 Gsample/s per core.
    let frames = steim_payloads(&raw);
    let mut out: Vec<f64> = Vec::with_capacity(n);
    g.bench_function("decode/steim2", |b| {
        b.iter(|| {
            out.clear();
            for (f, payload) in &frames {
                steim::decode(f.steim, payload, f.claimed, f.big_endian, &mut out).expect("frames");
            }
            black_box(out.len())
        })
    });
    // The same frames through libmseed's decoder (`ms_decode_data`; one small output buffer
    // per record), side by side.
    g.bench_function("decode/steim2_libmseed", |b| {
        b.iter(|| {
            let mut k = 0;
            for (f, payload) in &frames {
                let (v, _) =
                    steim::oracle::libmseed_decode(f.steim, payload, f.claimed, f.big_endian);
                k += v.map_or(0, |v| v.len());
            }
            black_box(k)
        })
    });
    let xml = XmlCache::default();
    let inv = xml.inventory(&Path::new(EVENT).join("resp"));
    let layers = Inventories {
        layers: vec![inv.as_ref()],
    };
    let (_, resp) = layers
        .response_at(tr.codes(), tr.start_ns)
        .expect("response");
    let nfft = deconvolve::npts2nfft(n);
    // Issue #14's `response/cpu`: GR.FUR's HHZ response (STS-2 poles and zeros, then the
    // digitiser's FIR cascade) on the forum chain's 120,001 bins.
    g.bench_function("response/cpu", |b| {
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
    // Each stage through the CPU executor (its twin in src/ops/, the plan cached as in a
    // run), ids from the stage table.
    let cache = ResponseCache::default();
    for (name, toml) in stage_cases() {
        let planner = Planner::new(&Pipeline::parse(toml).expect("pipeline").steps);
        let cpu = Cpu {
            planner: &planner,
            cache: &cache,
            clock: None,
        };
        g.bench_function(format!("{name}/cpu"), |b| {
            b.iter(|| {
                let mut t = tr.clone();
                cpu.run_trace(&mut t, &layers).expect("stage");
                black_box(t)
            })
        });
    }
    let forum = Pipeline::from_file(Path::new("examples/forum_chain.toml")).expect("pipeline");
    // The ceiling of the deconvolution: a forward and an inverse real FFT of the forum
    // chain's 240,000 points, in f64 (what the CPU path does) and, for comparison, f32 (what
    // an f32 CPU path would do; issue #14 item 6).
    let as_f32: Vec<f32> = tr.data.iter().map(|&v| v as f32).collect();
    g.bench_function("fft_pair/f64", |b| fft_pair(b, nfft, &tr.data));
    g.bench_function("fft_pair/f32", |b| fft_pair(b, nfft, &as_f32));
    g.bench_function("chain_forum/cpu", |b| {
        b.iter(|| {
            let mut t = tr.clone();
            seisbatch::exec::cpu::run_steps(&forum.steps, &mut t, &layers, &cache).expect("chain");
            black_box(t)
        })
    });
    g.finish();
}

/// One pipeline per stage of the stage table, whose plan ends in that stage, on the 20-minute
/// trace; the bench ids are `<stage>/cpu` and `<stage>/gpu`. Panics when the table has a stage
/// this list lacks (or names one it does not have), so a new stage gets its benchmark.
fn stage_cases() -> Vec<(&'static str, &'static str)> {
    let cases = vec![
        ("detrend", "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n"),
        ("taper", "[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n"),
        ("deconvolve", "[[step]]\nop = \"remove_response\"\noutput = \"DISP\"\nzero_mean = false\ntaper = false\n"),
        ("filter", "[[step]]\nop = \"filter\"\ntype = \"bandpass\"\nfreqmin = 0.02\nfreqmax = 1.0\nzerophase = true\n"),
        ("resample", "[[step]]\nop = \"resample\"\nsampling_rate = 5.0\nno_filter = true\n"),
        ("interpolate", "[[step]]\nop = \"interpolate\"\nsampling_rate = 10.0\nmethod = \"lanczos\"\na = 25\nnpts = 12000\n"),
        ("decimate", "[[step]]\nop = \"decimate\"\nfactor = 5\nno_filter = true\n"),
        ("integrate", "[[step]]\nop = \"integrate\"\n"),
        ("differentiate", "[[step]]\nop = \"differentiate\"\n"),
        ("normalize", "[[step]]\nop = \"normalize\"\n"),
        ("remove_sensitivity", "[[step]]\nop = \"remove_sensitivity\"\n"),
        ("trim", "[[step]]\nop = \"trim\"\nstarttime = \"start+60\"\nendtime = \"end-60\"\n"),
    ];
    let names: Vec<&str> = cases.iter().map(|c| c.0).collect();
    assert_eq!(
        names,
        seisbatch::stages::stage_names().collect::<Vec<_>>(),
        "benches/stages.rs: one case per stage of the stage table"
    );
    cases
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
    let (_, resp) = layers
        .response_at(tr.codes(), tr.start_ns)
        .expect("response");
    let batch: Vec<&[f64]> = (0..GPU_BATCH).map(|_| tr.data.as_slice()).collect();
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements((n * GPU_BATCH) as u64));
    let mut cases: Vec<(String, &str)> = stage_cases()
        .into_iter()
        .map(|(name, toml)| (format!("{name}/gpu"), toml))
        .collect();
    cases.push((
        "chain_forum/gpu".into(),
        include_str!("../examples/forum_chain.toml"),
    ));
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
                    .map(|r| ResponseCache::default().table(0, &resp, &r.spec))
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
        g.bench_function(&id, |b| {
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
