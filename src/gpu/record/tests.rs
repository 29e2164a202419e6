//! Recording without a device: dispatch counts, buffer rotation, sizes, segments and the
//! modeled traffic per trace (the roofline the speed work is measured against).

use super::*;
use crate::gpu::stages::filter::MAX_SECTIONS;
use crate::pipeline::Pipeline;
use crate::plan::{self, Shape};
use crate::stages::Stage;

const FORUM: &str = include_str!("../../../examples/forum_chain.toml");
const VELOCITY: &str = include_str!("../../../examples/velocity_bandpass.toml");

fn plan_of(toml: &str, npts: usize, rate: f64) -> Plan {
    let steps = Pipeline::parse(toml).unwrap().steps;
    let s = plan::shapes(
        &steps,
        Shape {
            npts,
            sampling_rate: rate,
            start_ns: 1_388_534_400_000_000_000,
        },
    );
    assert_eq!(s.failure, None);
    plan::compile(&steps, &s).unwrap()
}

fn kernels(p: &Program) -> Vec<&'static str> {
    p.dispatches.iter().map(|d| d.kernel).collect()
}

/// Caps with remove_response's transform pair as radix passes (the path before rfft.wgsl,
/// kept for devices without 32 KiB of workgroup memory and for comparison).
fn passes() -> Caps {
    Caps {
        rfft: false,
        f64_transforms: false,
        ..Caps::nominal()
    }
}

/// Caps with remove_response's transform pair in f32 through rfft.wgsl (`SEISBATCH_GPU_FFT=
/// rfft`, and every adapter without SHADER_F64).
fn fused() -> Caps {
    Caps {
        f64_transforms: false,
        ..Caps::nominal()
    }
}

#[test]
fn forum_chain_records_f64_transforms_by_default() {
    let plan = plan_of(FORUM, 120_000, 100.0);
    let p = record(&plan, 0..plan.stages.len(), 4, &Caps::nominal()).unwrap();
    // taper (the demean is the upload's centring), pack + 5 radix passes (240,000 = 16 8 25
    // 25 3) + the multiply + 5 inverse passes + unpack, all f64, then interpolate.
    let mut want = vec!["taper", "fft64_pack"];
    want.extend(["fft64_pass"; 5]);
    want.push("fft64_deconvolve");
    want.extend(["fft64_pass"; 5]);
    want.extend(["fft64_unpack", "interpolate"]);
    assert_eq!(kernels(&p), want);
    for d in p.dispatches.iter().filter(|d| d.kernel == "fft64_pass") {
        assert!(d.bind.contains(&(3, Buf::Roots64(240_000))), "f64 twiddles");
        for (_, b) in &d.bind {
            assert!(
                !matches!(b, Buf::Twiddles(_)),
                "no f32 table in an f64 pass"
            );
        }
    }
    let m = &p.dispatches[7];
    assert_eq!(m.kernel, "fft64_deconvolve");
    assert!(m.bind.contains(&(6, Buf::Responses(240_000))));
    // A vec2<f64> per bin: twice the f32 program's complex buffers.
    assert_eq!(p.per_trace.complex, 2 * 1_920_000);
    // SHADER_F64 missing: the f32 fused path, whatever the choice says.
    let no_f64 = Caps {
        shader_f64: false,
        ..Caps::nominal()
    };
    let p = record(&plan, 0..plan.stages.len(), 4, &no_f64).unwrap();
    assert!(kernels(&p).contains(&"rfft_deconvolve"));
    // Bluestein lengths take the f64 chirps.
    let plan = plan_of(
        "[[step]]\nop = \"remove_response\"\ntaper = false\n",
        3001,
        100.0,
    );
    let p = record(&plan, 0..plan.stages.len(), 1, &Caps::nominal()).unwrap();
    assert_eq!(
        p.dispatches
            .iter()
            .filter(|d| d.kernel == "fft64_cmul")
            .count(),
        6
    );
    assert!(p
        .dispatches
        .iter()
        .any(|d| d.bind.contains(&(3, Buf::ChirpFilter64(6004, false)))));
    assert!(kernels(&p).iter().all(|k| k.starts_with("fft64_")));
    assert_eq!(p.per_trace.complex, 2 * 12_150 * 8);
}

#[test]
fn forum_chain_records_three_fused_passes() {
    let plan = plan_of(FORUM, 120_000, 100.0);
    let p = record(&plan, 0..plan.stages.len(), 4, &fused()).unwrap();
    // The demean is the upload's centring (no dispatch); the taper inside rfft_in's load;
    // the response multiply inside rfft_deconvolve; interpolate.
    assert_eq!(
        kernels(&p),
        ["rfft_in", "rfft_deconvolve", "rfft_out", "interpolate"]
    );
    assert_eq!(
        p.centre,
        Some(crate::pipeline::DetrendType::Demean),
        "the demean happens on upload, in f64"
    );
    assert_eq!(p.dispatches[0].fused, [1], "the taper in the load");
    let binds = |i: usize| -> Vec<Buf> { p.dispatches[i].bind.iter().map(|b| b.1).collect() };
    assert!(binds(0).contains(&Buf::Real(0)) && binds(0).contains(&Buf::Complex(0)));
    assert!(binds(0).contains(&Buf::Table(0)), "the taper window");
    assert_eq!(binds(1)[..2], [Buf::Complex(0), Buf::Complex(1)]);
    assert_eq!(binds(2)[0], Buf::Complex(1));
    assert!(
        binds(2).contains(&Buf::Real(0)),
        "back in the samples' buffer"
    );
    assert_eq!(
        p.per_trace.complex,
        120_000 * 8,
        "the half-length transform"
    );
    assert_eq!(p.workgroup_bytes, crate::gpu::kernels::RFFT_TILE_BYTES);
    let Stage::Deconvolve(d) = &plan.stages[2].stage else {
        panic!("stage 2 is the deconvolution")
    };
    let split = crate::gpu::fft_plan::rfft_split(d.nfft, crate::gpu::kernels::RFFT_TILE).unwrap();
    assert_eq!(split.n1 * split.n2, 120_000);
    // A taper before a detrend is not the load's order (line, then window): only the line
    // is fused, the taper stays a dispatch.
    let toml = "[[step]]\nop = \"taper\"\nmax_percentage = 0.1\n[[step]]\nop = \"detrend\"\n\
                [[step]]\nop = \"remove_response\"\nzero_mean = false\ntaper = false\n";
    let plan = plan_of(toml, 1000, 20.0);
    let p = record(&plan, 0..plan.stages.len(), 2, &fused()).unwrap();
    assert_eq!(
        kernels(&p),
        [
            "taper",
            "detrend_fit",
            "rfft_in",
            "rfft_deconvolve",
            "rfft_out"
        ]
    );
    assert_eq!(p.dispatches[2].fused, [1]);
    // Without the kernels (or the split) the deconvolution is the radix-pass program.
    let p = record(&plan, 0..plan.stages.len(), 2, &passes()).unwrap();
    assert!(kernels(&p).contains(&"detrend_apply") && kernels(&p).contains(&"fft_pass"));
}

#[test]
fn resample_forward_transform_writes_only_the_bins_its_gather_reads() {
    // 120,000 samples at 100 Hz to 5 Hz: num 6,000, the gather reads bins 0..=3,000. A
    // normalize first, so that the linear detrend runs on the device (one opening the run is
    // the upload's, in f64) and its line is fused into the transform's load.
    let toml = "[[step]]\nop = \"normalize\"\nnorm = 2\n[[step]]\nop = \"detrend\"\n\
                type = \"linear\"\n[[step]]\nop = \"resample\"\nsampling_rate = 5.0\n";
    let plan = plan_of(toml, 120_000, 100.0);
    let p = record(&plan, 0..plan.stages.len(), 2, &Caps::nominal()).unwrap();
    let k = kernels(&p);
    assert_eq!(p.centre, None);
    assert_eq!(
        k[..5],
        [
            "normalize_apply",
            "detrend_fit",
            "rfft_in",
            "rfft_spectrum",
            "resample"
        ]
    );
    assert!(
        k[5..]
            .iter()
            .all(|k| *k == "fft_pass" || *k == "fft_unpack"),
        "{k:?}"
    );
    assert_eq!(p.dispatches[2].fused, [1], "the detrend line in the load");
    let Stage::Resample(r) = &plan.stages[2].stage else {
        panic!("stage 2 is the resample")
    };
    let n = plan.stages[2].n_in;
    let taps = crate::ops::resample::taps_from(n, r.sampling_rate, r.new_rate, r.num, &r.window);
    let top = taps
        .iter()
        .map(|t| t.0 + usize::from(t.2 != 0.0))
        .max()
        .unwrap();
    assert!((3_000..=3_001).contains(&top), "{top}");
    assert_eq!(p.dispatches[3].writes, 2 * (top as u64 + 1) * 8);
    // The gather reads the compact half spectrum: its stride is the bins written.
    let stride = u32::from_ne_bytes(p.dispatches[4].params.1[12..16].try_into().unwrap());
    assert_eq!(stride as usize, top + 1);
    // The radix-pass program reads the full spectrum (stride 0: n).
    let p = record(&plan, 0..plan.stages.len(), 2, &passes()).unwrap();
    assert!(kernels(&p).contains(&"fft_pack"));
    let d = p
        .dispatches
        .iter()
        .find(|d| d.kernel == "resample")
        .unwrap();
    assert_eq!(d.params.1[12..16], [0, 0, 0, 0]);
}

#[test]
fn forum_chain_records_one_pass_per_radix() {
    let plan = plan_of(FORUM, 120_000, 100.0);
    let p = record(&plan, 0..plan.stages.len(), 4, &passes()).unwrap();
    // taper (the demean is the upload's centring), pack + 5 radix passes (240,000 = 16 8 25
    // 25 3) + deconvolve + 5 inverse passes + unpack, interpolate.
    let mut want = vec!["taper", "fft_pack"];
    want.extend(["fft_pass"; 5]);
    want.push("deconvolve");
    want.extend(["fft_pass"; 5]);
    want.extend(["fft_unpack", "interpolate"]);
    assert_eq!(kernels(&p), want);
    assert!(
        p.centre.is_some(),
        "opens with a detrend: centred before the f32 cast"
    );
    // Stockham ping-pong over three complex buffers; the result lands in Real(1) after the
    // interpolate's copy from Real(0).
    let passes: Vec<(Buf, Buf)> = p
        .dispatches
        .iter()
        .filter(|d| d.kernel == "fft_pass")
        .map(|d| (d.bind[0].1, d.bind[1].1))
        .collect();
    for w in passes.windows(2) {
        assert_eq!(w[0].1, w[1].0, "each pass reads what the last one wrote");
    }
    assert_eq!(p.output, Buf::Real(1));
    assert_eq!(
        p.per_trace,
        PerTrace {
            real: 480_000,
            complex: 1_920_000,
            fit: 8,
            state: 0,
            upload: 480_000,
            download: 48_000,
        }
    );
    assert_eq!(p.need().complex, 4 * 1_920_000);
    assert_eq!(p.tables.len(), 2, "taper window and lanczos grid");
    assert_eq!(p.tables[0].bytes.len(), 480_000, "window rounded to f32");
    // Every dispatch covers its invocations.
    for d in &p.dispatches {
        assert!(d.groups.iter().all(|&g| g >= 1), "{}", d.kernel);
    }
}

/// The modeled device-memory traffic per trace (issue #15's target: forum chain <= 8 MB);
/// this test fails when a change raises it.
#[test]
fn modeled_traffic_per_trace() {
    let plan = plan_of(FORUM, 120_000, 100.0);
    let one = record(&plan, 0..plan.stages.len(), 1, &fused()).unwrap();
    let many = record(&plan, 0..plan.stages.len(), 100, &fused()).unwrap();
    let forum = many.device_bytes_per_trace();
    // 6.29 MB: the demean is the upload's centring; rfft_in reads the samples (the taper in
    // its load) and writes the half-length spectrum (0.48 + 0.96); rfft_deconvolve reads it
    // and the trace's table and writes it (3 x 0.96); rfft_out reads it and writes the samples
    // (0.96 + 0.48); interpolate 0.53.
    assert!(forum <= 8_000_000, "{forum}");
    assert!((6_250_000..=6_300_000).contains(&forum), "{forum}");
    assert_eq!(one.device_bytes_per_trace(), forum);
    // Shared tables (twiddles, window, grid) come on top once per dispatch.
    assert!(one.device_bytes() > forum && many.device_bytes() / 100 < one.device_bytes());
    // The radix-pass program, for comparison: 48.5 MB (10 passes of 3.84 MB are 38.4; 50.0
    // before the demean moved into the upload).
    let radix = record(&plan, 0..plan.stages.len(), 100, &passes())
        .unwrap()
        .device_bytes_per_trace();
    assert!((48_500_000..=48_600_000).contains(&radix), "{radix}");
    // The default where the adapter has SHADER_F64 (issue #23: within 1e-5 of ObsPy where
    // the water level lifts weak bins): 93.6 MB, the same passes with 16-byte bins on the
    // full-length transform (no half-length packing yet: docs/BENCHMARKS.md).
    let f64 = record(&plan, 0..plan.stages.len(), 100, &Caps::nominal())
        .unwrap()
        .device_bytes_per_trace();
    assert!((93_600_000..=93_700_000).contains(&f64), "{f64}");
    let plan = plan_of(VELOCITY, 120_000, 100.0);
    let vel = record(&plan, 0..plan.stages.len(), 1, &fused())
        .unwrap()
        .device_bytes_per_trace();
    // 11.1 MB (target <= 14): the taper (0.96; the linear detrend that opens the run is the
    // upload's, in f64: issue #23), remove_response's own demean and taper fused into
    // rfft_in with its transform pair (6.3), the band-pass's f64 sections (~1.1 here:
    // chunked state, f32 samples in place), resample's forward transform in rfft.wgsl's two
    // passes writing only the 3,001 bins its gather reads (1.9), the gather and the inverse
    // of 6,000 as radix passes (0.3).
    assert!(vel <= 14_000_000, "{vel}");
    assert!((11_050_000..=11_150_000).contains(&vel), "{vel}");
    let vel_passes = record(&plan, 0..plan.stages.len(), 1, &passes())
        .unwrap()
        .device_bytes_per_trace();
    // 63.9 MB as radix passes (65.3 before the linear detrend moved into the upload).
    assert!(
        (63_800_000..=63_950_000).contains(&vel_passes),
        "{vel_passes}"
    );
}

#[test]
fn stages_the_device_cannot_run_become_host_segments() {
    let toml =
        "[[step]]\nop = \"detrend\"\n[[step]]\nop = \"filter\"\ntype = \"lowpass\"\nfreq = 1\n\
                [[step]]\nop = \"interpolate\"\nsampling_rate = 5\nmethod = \"linear\"\n\
                [[step]]\nop = \"taper\"\nmax_percentage = 0.1\n";
    let plan = plan_of(toml, 1000, 20.0);
    let all = Caps::nominal();
    let segs = segments(&plan, &all);
    assert_eq!(segs.len(), 3, "{segs:?}");
    assert_eq!(
        (segs[0].stages.clone(), segs[0].host.is_none()),
        (0..2, true)
    );
    assert_eq!(segs[1].stages, 2..3);
    assert!(segs[1].host.as_ref().unwrap().contains("Linear"));
    assert_eq!(
        (segs[2].stages.clone(), segs[2].host.is_none()),
        (3..4, true)
    );
    // Without SHADER_F64 the filter joins the host; --cpu-stages forces any stage there.
    let no_f64 = Caps {
        shader_f64: false,
        ..Caps::nominal()
    };
    let segs = segments(&plan, &no_f64);
    assert_eq!(segs[1].stages, 1..3);
    let forced = Caps {
        cpu_stages: vec!["detrend".into()],
        ..Caps::nominal()
    };
    let segs = segments(&plan, &forced);
    assert_eq!(segs[0].stages, 0..1);
    assert!(segs[0].host.as_ref().unwrap().contains("--cpu-stages"));
    // Recording a host stage is refused, naming it.
    assert!(record(&plan, 2..3, 1, &all)
        .unwrap_err()
        .contains("interpolate"));
    // A one-sample trace is a host matter throughout.
    let plan = plan_of("[[step]]\nop = \"detrend\"\n", 1, 20.0);
    assert!(segments(&plan, &all)[0].host.is_some());
}

#[test]
fn filters_dispatch_per_chunk_and_direction() {
    let toml = "[[step]]\nop = \"filter\"\ntype = \"bandpass\"\nfreqmin = 1\nfreqmax = 2\nzerophase = true\n";
    let plan = plan_of(toml, 5000, 20.0);
    let p = record(&plan, 0..1, 3, &Caps::nominal()).unwrap();
    // 5000 samples in chunks of 2048: 3 dispatches each way.
    assert_eq!(kernels(&p), ["filter_sos"; 6]);
    assert_eq!(p.per_trace.state, (MAX_SECTIONS * 16) as u64);
    assert_eq!(p.output, Buf::Real(0), "in place");
    assert!(p.centre.is_none());
}

#[test]
fn bluestein_lengths_record_chirps_around_a_smooth_transform() {
    // 3001 samples -> nfft 6004 = 2^2 19 79: as radix passes, Bluestein around M = next
    // smooth >= 12007 (rfft.wgsl takes 19 and 79 as direct sums instead).
    let plan = plan_of(
        "[[step]]\nop = \"remove_response\"\ntaper = false\n",
        3001,
        100.0,
    );
    let p = record(&plan, 0..plan.stages.len(), 1, &passes()).unwrap();
    let cmul = p
        .dispatches
        .iter()
        .filter(|d| d.kernel == "fft_cmul")
        .count();
    assert_eq!(cmul, 6, "three chirp multiplies per direction");
    assert!(p
        .dispatches
        .iter()
        .any(|d| d.bind.contains(&(3, Buf::ChirpFilter(6004, false)))));
    assert_eq!(p.per_trace.complex, 12_150 * 8);
}
