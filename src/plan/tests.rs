//! The plan as plain data (RustFFT's habit: plans are tested without running them).

use super::*;
use crate::gpu::fft_plan::FftPlan;
use crate::pipeline::{DetrendType, Pipeline};
use crate::stages::{Deconvolve, Detrend, Taper};

const START: i64 = 1_388_534_400_000_000_000;

fn steps(toml: &str) -> Vec<crate::pipeline::Step> {
    Pipeline::parse(toml).unwrap().steps
}

fn shape(npts: usize, rate: f64) -> Shape {
    Shape {
        npts,
        sampling_rate: rate,
        start_ns: START,
    }
}

const FORUM: &str = include_str!("../../examples/forum_chain.toml");

#[test]
fn forum_chain_at_120000_samples() {
    let st = steps(FORUM);
    let s = shapes(&st, shape(120_000, 100.0));
    assert_eq!(s.failure, None);
    assert_eq!(s.output().npts, 12_000);
    assert_eq!(s.output().sampling_rate, 10.0);
    let p = compile(&st, &s).unwrap();
    let names: Vec<&str> = p.stages.iter().map(|s| s.stage.name()).collect();
    assert_eq!(names, ["detrend", "taper", "deconvolve", "interpolate"]);
    match &p.stages[2].stage {
        Stage::Deconvolve(d) => {
            assert_eq!(d.nfft, 240_000);
            assert_eq!(
                FftPlan::new(d.nfft),
                FftPlan::Stockham {
                    n: 240_000,
                    radices: vec![16, 8, 25, 25, 3]
                }
            );
            assert_eq!(d.response, 0);
        }
        s => panic!("{s:?}"),
    }
    assert_eq!(p.responses.len(), 1);
    let crate::pipeline::build::TableSpec::Inverse { delta, nfft, .. } = p.responses[0].spec else {
        panic!("{:?}", p.responses[0])
    };
    assert_eq!((delta, nfft), (0.01, 240_000));
    match &p.stages[1].stage {
        // 5% at each end of 120,000 samples: 6000 tapered, ones between.
        Stage::Taper(Taper { window }) => {
            assert_eq!(window.len(), 120_000);
            assert_eq!(window.at(0), 0.0);
            assert!((6000..114_000).all(|i| window.at(i) == 1.0));
            assert!(window.at(5999) < 1.0 && window.at(114_000) < 1.0);
        }
        s => panic!("{s:?}"),
    }
    match &p.stages[3].stage {
        Stage::Interpolate(i) => assert_eq!((i.offset, i.dt_factor), (0.0, 10.0)),
        s => panic!("{s:?}"),
    }
    assert_eq!((p.n_in, p.n_out, p.rate_out), (120_000, 12_000, 10.0));
}

#[test]
fn remove_response_options_become_stages() {
    let st = steps(
        "[[step]]\nop = \"remove_response\"\nzero_mean = true\ntaper = true\n\
         [[step]]\nop = \"decimate\"\nfactor = 4\n",
    );
    let s = shapes(&st, shape(1001, 40.0));
    let p = compile(&st, &s).unwrap();
    let names: Vec<&str> = p.stages.iter().map(|s| s.stage.name()).collect();
    assert_eq!(
        names,
        ["detrend", "taper", "deconvolve", "filter", "decimate"]
    );
    assert_eq!(
        p.stages[0].stage,
        Stage::Detrend(Detrend {
            kind: DetrendType::Demean
        })
    );
    // odd npts: nfft = 2 (n + 1); decimate keeps ceil(n / factor).
    assert!(matches!(
        p.stages[2].stage,
        Stage::Deconvolve(Deconvolve { nfft: 2004, .. })
    ));
    assert_eq!((p.stages[4].n_in, p.stages[4].n_out), (1001, 251));
    assert_eq!(p.rate_out, 10.0);
}

#[test]
fn errors_and_warnings_are_obspys_and_keep_their_step() {
    // strict_length decimate fails at step 2: step 1's stages still run first.
    let st = steps(
        "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n\
         [[step]]\nop = \"decimate\"\nfactor = 3\nstrict_length = true\n",
    );
    let s = shapes(&st, shape(100, 100.0));
    assert_eq!(s.steps.len(), 1);
    let f = s.failure.clone().unwrap();
    assert_eq!((f.step, f.op), (2, "decimate"));
    assert!(f.message.contains("multiple"), "{}", f.message);
    assert_eq!(compile(&st, &s).unwrap().stages.len(), 1);
    // A taper longer than the trace warns, as ObsPy does.
    let st = steps("[[step]]\nop = \"taper\"\nmax_percentage = 0.6\n");
    let s = shapes(&st, shape(10, 1.0));
    assert_eq!(
        s.warnings(&st),
        ["step 1 (taper): taper longer than trace: tapering the whole trace"]
    );
    // A rate that is not a rate fails the first step.
    let s = shapes(&st, shape(10, f64::NAN));
    assert!(s.failure.unwrap().message.contains("invalid sampling rate"));
    // An empty trace: filter fails, resample passes it through at its rate.
    let st = steps("[[step]]\nop = \"resample\"\nsampling_rate = 5\n[[step]]\nop = \"filter\"\ntype = \"lowpass\"\nfreq = 1\n");
    let s = shapes(&st, shape(0, 20.0));
    assert_eq!(s.steps[0].after.sampling_rate, 20.0);
    assert_eq!(s.failure.unwrap().message, "trace has no samples");
    // numpy's errors: a gradient of one sample, the largest of no samples. An empty trace
    // is otherwise left alone (ObsPy's skip_if_no_data), with no stage.
    let st = steps("[[step]]\nop = \"differentiate\"\n");
    let f = shapes(&st, shape(1, 20.0)).failure.unwrap();
    assert!(f
        .message
        .contains("too small to calculate a numerical gradient"));
    let st = steps("[[step]]\nop = \"normalize\"\n");
    let f = shapes(&st, shape(0, 20.0)).failure.unwrap();
    assert!(f.message.contains("zero-size array"), "{}", f.message);
    let st = steps(
        "[[step]]\nop = \"integrate\"\n[[step]]\nop = \"differentiate\"\n\
                    [[step]]\nop = \"normalize\"\nnorm = 2\n",
    );
    let s = shapes(&st, shape(0, 20.0));
    assert_eq!(s.failure, None);
    assert!(compile(&st, &s).unwrap().stages.is_empty());
    let s = shapes(&st, shape(10, 20.0));
    let names: Vec<&str> = compile(&st, &s)
        .unwrap()
        .stages
        .iter()
        .map(|a| a.stage.name())
        .collect();
    assert_eq!(names, ["integrate", "differentiate", "normalize"]);
    // A trim window outside the data fails the trace with a reason (no empty file); the
    // cut is part of the plan's key (it depends on the trace's start).
    let st = steps("[[step]]\nop = \"trim\"\nstarttime = \"start+200\"\n");
    let f = shapes(&st, shape(100, 1.0)).failure.unwrap();
    assert!(f.message.contains("trim window"), "{}", f.message);
    let st = steps("[[step]]\nop = \"trim\"\nstarttime = \"2014-01-01T00:00:10Z\"\n");
    let at = |start_ns: i64| {
        shapes(
            &st,
            Shape {
                npts: 100,
                sampling_rate: 1.0,
                start_ns,
            },
        )
    };
    let (a, b) = (at(1_388_534_400_000_000_000), at(1_388_534_401_000_000_000));
    assert_eq!(a.output().npts, 90);
    assert_eq!(b.output().npts, 91);
    assert_eq!(a.output().start_ns, 1_388_534_410_000_000_000);
    assert_ne!(a.key(), b.key());
    // Padding is bounded like any other length: each side (naming the bound and the flag,
    // where ObsPy's own error past what it can allocate names neither), and the two sides
    // together (20 M fills each at 100 Hz, 40 M in all).
    let padded = |s: &str| {
        let st = steps(&format!(
            "[[step]]\nop = \"trim\"\n{s}\npad = true\nfill_value = 0\n"
        ));
        shapes(&st, shape(100, 100.0)).failure.unwrap().message
    };
    let m = padded("starttime = \"start-3e7\"");
    assert!(
        m.contains("padding would hold") && m.contains("--max-samples"),
        "{m}"
    );
    let m = padded("starttime = \"start-200000\"\nendtime = \"end+200000\"");
    assert!(m.contains("trimming with pad would hold"), "{m}");
}

#[test]
fn traces_share_a_plan_unless_their_grid_differs() {
    let st = steps(FORUM);
    let a = shapes(&st, shape(120_000, 100.0));
    let b = shapes(
        &st,
        Shape {
            start_ns: START + 3_600_000_000_000,
            ..shape(120_000, 100.0)
        },
    );
    assert_eq!(
        a.key(),
        b.key(),
        "the forum chain's plan is independent of the start"
    );
    assert_ne!(a.steps[3].after.start_ns, b.steps[3].after.start_ns);
    // An absolute starttime puts each trace at its own grid offset.
    let st = steps(
        "[[step]]\nop = \"interpolate\"\nsampling_rate = 10\nmethod = \"lanczos\"\na = 5\n\
         starttime = \"2014-01-01T00:00:10\"\nnpts = 100\n",
    );
    let a = shapes(&st, shape(10_000, 100.0));
    let b = shapes(
        &st,
        Shape {
            start_ns: START + 10_000_000,
            ..shape(10_000, 100.0)
        },
    );
    assert_ne!(a.key(), b.key());
    assert_eq!(a.key().grids.len(), 1);
}

#[test]
fn planner_compiles_once_per_key() {
    let planner = Planner::new(&steps(FORUM));
    for k in 0..5 {
        let s = planner.shapes(Shape {
            start_ns: START + k * 1_000_000_000,
            ..shape(120_000, 100.0)
        });
        planner.plan(&s).unwrap();
    }
    assert_eq!(planner.len(), 1);
    planner.plan(&planner.shapes(shape(60_000, 100.0))).unwrap();
    assert_eq!(planner.len(), 2);
}

/// Any rate and length a reader could hand over walks and compiles without a panic: the
/// walk refuses what ObsPy refuses, with the step, and compiles the rest.
#[test]
fn odd_shapes_walk_and_compile_without_panics() {
    let chains = [
        FORUM,
        include_str!("../../examples/velocity_bandpass.toml"),
        include_str!("../../bench/chains/every_stage.toml"),
    ];
    let rates = [
        0.0,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        1e-300,
        1e-9,
        0.3,
        1.0,
        100.0,
        1e9,
        1e300,
    ];
    for chain in chains {
        let st = steps(chain);
        for rate in rates {
            for npts in [0usize, 1, 2, 3, 7, 64, 1001] {
                let s = shapes(&st, shape(npts, rate));
                if let Some(f) = &s.failure {
                    assert!(f.step >= 1 && f.step <= st.len() && !f.message.is_empty());
                }
                let p = compile(&st, &s).unwrap_or_else(|f| panic!("{rate} {npts}: {f}"));
                assert_eq!(p.n_in, npts);
                for w in p.stages.windows(2) {
                    assert_eq!(w[0].n_out, w[1].n_in, "lengths chain");
                    assert!(w[0].step <= w[1].step);
                }
            }
        }
    }
}

/// ObsPy 1.5.1 fails lowpass_cheby_2 once 0.99 x the corner's ratio to Nyquist reaches 1
/// (scipy's cheb2ord meets a NaN order), and warns just past Nyquist: the walk says so per
/// trace shape, for the filter op and for resample's anti-alias filter when upsampling; the
/// fits run on the host on the GPU path.
#[test]
fn chebyshev_corners_past_nyquist_warn_or_fail_as_obspy() {
    let cheby = |f: f64| {
        steps(&format!(
            "[[step]]\nop = \"filter\"\ntype = \"lowpass_cheby_2\"\nfreq = {f}\n"
        ))
    };
    let s = shapes(&cheby(12.0), shape(1000, 20.0));
    let f = s.failure.expect("ObsPy raises");
    assert_eq!((f.step, f.op), (1, "filter"));
    assert!(f.message.contains("fails here"), "{}", f.message);
    let st = cheby(10.1);
    let s = shapes(&st, shape(1000, 20.0));
    assert_eq!(s.failure, None);
    assert!(s.warnings(&st)[0].contains("above Nyquist"));
    assert!(shapes(&cheby(12.0), shape(1000, 100.0)).failure.is_none());
    // resample up with the anti-alias filter: 20 -> 25 Hz puts the corner at 12.5 Hz.
    let st = steps("[[step]]\nop = \"resample\"\nsampling_rate = 25\nno_filter = false\n");
    let f = shapes(&st, shape(1000, 20.0))
        .failure
        .expect("ObsPy raises");
    assert!(f.message.contains("lowpass_cheby_2"), "{}", f.message);
    let st = steps("[[step]]\nop = \"resample\"\nsampling_rate = 20.1\nno_filter = false\n");
    let s = shapes(&st, shape(1000, 20.0));
    assert_eq!(s.failure, None);
    assert!(s.warnings(&st)[0].contains("above Nyquist"));
    // The spline fit is a host stage on the device path; the Chebyshev filter and the
    // polynomial fit (order <= 15, SHADER_F64) are device ones; order 16 is a host one.
    let st = steps(
        "[[step]]\nop = \"detrend\"\ntype = \"spline\"\norder = 2\ndspline = 100\n\
         [[step]]\nop = \"filter\"\ntype = \"lowpass_cheby_2\"\nfreq = 2\n\
         [[step]]\nop = \"detrend\"\ntype = \"polynomial\"\norder = 4\n\
         [[step]]\nop = \"detrend\"\ntype = \"polynomial\"\norder = 16\n",
    );
    let p = plan_for(&st, shape(1000, 20.0)).unwrap();
    let caps = crate::gpu::record::Caps::nominal();
    let on_host: Vec<bool> = (0..p.stages.len())
        .map(|i| crate::gpu::record::host_reason(&p, i, &caps).is_some())
        .collect();
    assert_eq!(on_host, [true, false, false, true]);
    let no_f64 = crate::gpu::record::Caps {
        shader_f64: false,
        ..crate::gpu::record::Caps::nominal()
    };
    assert!(crate::gpu::record::host_reason(&p, 2, &no_f64).is_some());
}

/// dpss's NW must be under half the window a trace gets (scipy raises): per trace shape.
#[test]
fn dpss_fails_traces_whose_window_is_too_short_for_nw() {
    let st = steps("[[step]]\nop = \"taper\"\nmax_percentage = 0.05\ntype = \"dpss\"\nNW = 4\n");
    // 100 samples: wlen 5, M = 11 > 2 NW = 8: fine. 60 samples: M = 7: refused.
    assert!(shapes(&st, shape(100, 10.0)).failure.is_none());
    let f = shapes(&st, shape(60, 10.0)).failure.expect("scipy raises");
    assert!(
        f.message.contains("NW must be less than M/2"),
        "{}",
        f.message
    );
    // A window of one sample is ones in scipy, whatever NW.
    assert!(shapes(&st, shape(19, 10.0)).failure.is_none());
    let p = plan_for(&st, shape(100, 10.0)).unwrap();
    let Stage::Taper(t) = &p.stages[0].stage else {
        panic!("a taper stage")
    };
    assert!(t.window.at(0) > 0.0 && t.window.at(0) < 0.1 && t.window.at(50) == 1.0);
}
