//! Ambient-noise operations (issue #27, first part) against NoisePy's functions as
//! tests/fixtures/make_noise.py reproduces them in numpy, and the physical tests: a delay
//! between two stations recovered at its lag, and a symmetric field's symmetric correlation.

mod common;

use common::{read_f64, rel_l2};
use num_complex::Complex64 as C;
use seisbatch::ops::noise::correlate::{self, Method, Request};
use seisbatch::ops::noise::segment::{self, Windows};
use seisbatch::ops::noise::time_norm::{self, TimeNorm};
use seisbatch::ops::noise::whiten::{self, Band, FreqNorm};
use seisbatch::ops::noise::NoiseParams;

#[derive(serde::Deserialize)]
struct Golden {
    sps: f64,
    cc_len: f64,
    step: f64,
    inc_hours: f64,
    freqmin: f64,
    freqmax: f64,
    smooth_n: usize,
    smoothspect_n: usize,
    maxlag: f64,
    delay: f64,
    std_ratio_a: Vec<f64>,
    starts: Vec<f64>,
    rows: Vec<usize>,
    nfft: usize,
    kept: Vec<usize>,
    correlations: std::collections::BTreeMap<String, Case>,
    stacks: std::collections::BTreeMap<String, Vec<usize>>,
    substack_len: f64,
    rotation: Angles,
}

#[derive(serde::Deserialize)]
struct Angles {
    azi: f64,
    baz: f64,
}

#[derive(serde::Deserialize)]
struct Case {
    rows: usize,
    cols: usize,
    kept: Vec<usize>,
}

const TOL: f64 = 1e-9;

fn golden() -> Golden {
    let p = common::fixture("noise/golden.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn params(g: &Golden) -> NoiseParams {
    NoiseParams {
        cc_len: g.cc_len,
        step: g.step,
        inc_hours: g.inc_hours,
        freqmin: g.freqmin,
        freqmax: g.freqmax,
        smooth_n: g.smooth_n,
        smoothspect_n: g.smoothspect_n,
        maxlag: g.maxlag,
        max_over_std: 10.0,
    }
}

fn band(g: &Golden, smooth_n: usize) -> Band {
    Band {
        dt: 1.0 / g.sps,
        freqmin: g.freqmin,
        freqmax: g.freqmax,
        smooth_n,
    }
}

fn windows(g: &Golden, name: &str) -> Windows {
    segment::cut(&read_f64(&format!("noise/{name}.f64")), g.sps, &params(g)).unwrap()
}

fn flat_re_im(v: &[C]) -> Vec<f64> {
    v.iter().flat_map(|c| [c.re, c.im]).collect()
}

/// Each station's spectra of the kept windows, end to end, after rma time normalisation.
fn spectra(g: &Golden, w: &Windows, keep: &[usize], norm: FreqNorm) -> Vec<C> {
    keep.iter()
        .flat_map(|&i| {
            let mut x = w.data[i].clone();
            time_norm::apply(&mut x, TimeNorm::Rma, g.smooth_n);
            whiten::spectrum(&x, norm, &band(g, g.smooth_n))
        })
        .collect()
}

#[test]
fn windows_time_norm_and_spectra_equal_noisepys() {
    let g = golden();
    let w = windows(&g, "a");
    assert_eq!(w.data.len(), g.std_ratio_a.len());
    assert_eq!(w.offsets, g.starts);
    assert!(rel_l2(&w.std_ratio, &g.std_ratio_a) < TOL);
    // The transient's windows are over max_over_std; the pair keeps those both stations keep.
    let b = windows(&g, "b");
    let keep: Vec<usize> = w
        .keep(10.0)
        .into_iter()
        .filter(|i| b.keep(10.0).contains(i))
        .collect();
    assert_eq!(keep, g.kept);
    let seg = read_f64("noise/segments_a.f64");
    let n = w.data[0].len();
    for (k, &row) in g.rows.iter().enumerate() {
        let want = &seg[k * n..(k + 1) * n];
        assert!(rel_l2(&w.data[row], want) < TOL, "segment {row}");
        for (kind, name) in [(TimeNorm::OneBit, "one_bit"), (TimeNorm::Rma, "rma")] {
            let mut x = w.data[row].clone();
            time_norm::apply(&mut x, kind, g.smooth_n);
            let want = read_f64(&format!("noise/time_norm_{name}.f64"));
            let e = rel_l2(&x, &want[k * n..(k + 1) * n]);
            assert!(e < TOL, "time_norm {name} window {row}: {e:e}");
        }
        for (norm, name, smooth) in [
            (FreqNorm::Rma, "rma", g.smooth_n),
            (FreqNorm::PhaseOnly, "phase_only", 1),
            (FreqNorm::No, "no", g.smooth_n),
        ] {
            let mut x = w.data[row].clone();
            time_norm::apply(&mut x, TimeNorm::Rma, g.smooth_n);
            let got = whiten::spectrum(&x, norm, &band(&g, smooth));
            assert_eq!(got.len(), g.nfft / 2);
            let want = read_f64(&format!("noise/spectra_{name}.f64"));
            // The fixture holds the whole nfft bins; NoisePy keeps the first nfft / 2.
            let want = &want[k * 2 * g.nfft..k * 2 * g.nfft + g.nfft];
            let e = rel_l2(&flat_re_im(&got), want);
            assert!(e < TOL, "spectrum {name} window {row}: {e:e}");
        }
    }
}

#[test]
fn correlations_equal_noisepys_for_every_method_per_window_per_group_and_averaged() {
    let g = golden();
    let (a, b) = (windows(&g, "a"), windows(&g, "b"));
    for (key, case) in &g.correlations {
        let (method, mode) = key.split_once('_').unwrap();
        let m = Method::parse(method).unwrap();
        // As the fixture: whitened spectra for xcorr, the plain ones for the other two.
        let norm = if m == Method::Xcorr {
            FreqNorm::Rma
        } else {
            FreqNorm::No
        };
        let (sa, sb) = (
            spectra(&g, &a, &g.kept, norm),
            spectra(&g, &b, &g.kept, norm),
        );
        let r = Request {
            method: m,
            smoothspect_n: g.smoothspect_n,
            nfft: g.nfft,
            dt: 1.0 / g.sps,
            maxlag: g.maxlag,
            per_window: mode != "all",
        };
        let source = correlate::smooth_source(&sa, m, g.smoothspect_n);
        // groups: substack_len 1200 s over the kept windows' starts; autowindow: A with itself
        // (NoisePy keeps the DC bin of an autocorrelation's substacks).
        let starts: Vec<f64> = g.kept.iter().map(|&k| k as f64 * g.step).collect();
        let c = match mode {
            "groups" => correlate::correlate_with(
                &source,
                &sb,
                &r,
                Some((g.substack_len, starts.as_slice())),
            ),
            "autowindow" => correlate::correlate(&source, &sa, &r),
            _ => correlate::correlate(&source, &sb, &r),
        }
        .unwrap();
        if key == "xcorr_all" {
            // Window by window from the spectra as they are: the same numbers, bit for bit.
            let (wa, wb): (Vec<&[C]>, Vec<&[C]>) = (
                sa.chunks(g.nfft / 2).collect(),
                sb.chunks(g.nfft / 2).collect(),
            );
            assert_eq!(correlate::xcorr_average(&wa, &wb, &r).unwrap(), c);
        }
        assert_eq!(c.kept, case.kept, "{key}");
        assert_eq!(c.rows.len(), case.rows, "{key}");
        let want = read_f64(&format!("noise/cc_{key}.f64"));
        let got: Vec<f64> = c.rows.concat();
        assert_eq!(got.len(), case.rows * case.cols, "{key}");
        let e = rel_l2(&got, &want);
        assert!(e < 1e-8, "{key}: rel L2 {e:e}");
    }
}

/// Station B records A's noise 3.2 s later (plus its own): every method's correlation peaks
/// at lag +3.2 s exactly (the sign convention: c(tau) = sum a(t) b(t + tau), A the source),
/// and the pair the other way round at -3.2 s.
#[test]
fn a_delay_between_two_stations_is_recovered_at_its_lag() {
    let g = golden();
    let (a, b) = (windows(&g, "a"), windows(&g, "b"));
    let dt = 1.0 / g.sps;
    for m in [Method::Xcorr, Method::Coherency, Method::Deconv] {
        let norm = if m == Method::Xcorr {
            FreqNorm::Rma
        } else {
            FreqNorm::No
        };
        let (sa, sb) = (
            spectra(&g, &a, &g.kept, norm),
            spectra(&g, &b, &g.kept, norm),
        );
        let r = Request {
            method: m,
            smoothspect_n: g.smoothspect_n,
            nfft: g.nfft,
            dt,
            maxlag: g.maxlag,
            per_window: false,
        };
        for (src, rcv, sign) in [(&sa, &sb, 1.0), (&sb, &sa, -1.0)] {
            let c =
                correlate::correlate(&correlate::smooth_source(src, m, g.smoothspect_n), rcv, &r)
                    .unwrap();
            let row = &c.rows[0];
            let peak = (0..row.len())
                .max_by(|&i, &j| row[i].total_cmp(&row[j]))
                .unwrap();
            let lag = (peak as f64 - c.zero.unwrap() as f64) * dt;
            assert!(
                (lag - sign * g.delay).abs() < 1e-9,
                "{m:?}: peak at {lag} s, want {}",
                sign * g.delay
            );
        }
    }
}

/// Normal deviates from a fixed seed (xorshift64*, Box-Muller).
fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut x = seed.max(1);
    let mut uniform = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        })
        .collect()
}

/// A symmetric noise field: one source's waves reach A, then B 2.5 s later; another's reach
/// B, then A 2.5 s later, as strong. The correlation has its two peaks at -2.5 and +2.5 s,
/// as tall as each other, and is nearly symmetric about lag 0.
#[test]
fn a_symmetric_noise_field_gives_a_symmetric_correlation() {
    let g = golden();
    let (sps, n, d) = (10.0, 36_000, 25);
    let (s1, s2) = (noise(1, n + d), noise(2, n + d));
    let (own_a, own_b) = (noise(3, n), noise(4, n));
    // a(t) = s1(t) + s2(t - d), b(t) = s1(t - d) + s2(t): index i + d is time t.
    let a: Vec<f64> = (0..n).map(|i| s1[i + d] + s2[i] + 0.2 * own_a[i]).collect();
    let b: Vec<f64> = (0..n).map(|i| s1[i] + s2[i + d] + 0.2 * own_b[i]).collect();
    let p = params(&g);
    let (wa, wb) = (
        segment::cut(&a, sps, &p).unwrap(),
        segment::cut(&b, sps, &p).unwrap(),
    );
    let keep: Vec<usize> = (0..wa.data.len()).collect();
    let (sa, sb) = (
        spectra(&g, &wa, &keep, FreqNorm::Rma),
        spectra(&g, &wb, &keep, FreqNorm::Rma),
    );
    let r = Request {
        method: Method::Xcorr,
        smoothspect_n: g.smoothspect_n,
        nfft: g.nfft,
        dt: 1.0 / sps,
        maxlag: g.maxlag,
        per_window: false,
    };
    let c =
        correlate::correlate(&correlate::smooth_source(&sa, Method::Xcorr, 10), &sb, &r).unwrap();
    let (row, z) = (&c.rows[0], c.zero.unwrap());
    let argmax = |r: std::ops::Range<usize>| r.max_by(|&i, &j| row[i].total_cmp(&row[j])).unwrap();
    let (neg, pos) = (argmax(0..z), argmax(z + 1..row.len()));
    assert_eq!(
        (z - neg, pos - z),
        (d, d),
        "peaks at {neg} and {pos}, zero at {z}"
    );
    let ratio = row[pos] / row[neg];
    assert!(
        (0.8..1.25).contains(&ratio),
        "peak heights {} and {}",
        row[neg],
        row[pos]
    );
    let half = z.min(row.len() - 1 - z);
    let causal: Vec<f64> = (1..=half).map(|k| row[z + k]).collect();
    let acausal: Vec<f64> = (1..=half).map(|k| row[z - k]).collect();
    assert!(
        rel_l2(&causal, &acausal) < 0.5,
        "{}",
        rel_l2(&causal, &acausal)
    );
}

#[test]
fn unknown_names_and_mismatched_spectra_are_errors() {
    assert!(Method::parse("xcor").is_err());
    assert!(TimeNorm::parse("onebit").is_err());
    assert!(FreqNorm::parse("white").is_err());
    let r = Request {
        method: Method::Xcorr,
        smoothspect_n: 10,
        nfft: 100,
        dt: 0.1,
        maxlag: 1.0,
        per_window: false,
    };
    let x = vec![C::new(1.0, 0.0); 50];
    assert!(correlate::correlate(&x, &x[..49], &r).is_err());
    assert!(correlate::correlate(&x[..49], &x[..49], &r).is_err());
}

/// NoisePy's stacking step: its rejection (one row 50 times the others' peak left out) and the
/// linear and phase-weighted stacks of the rest, summed row by row.
#[test]
fn stacks_reject_and_stack_as_noisepy() {
    use seisbatch::ops::noise::stack::{keep, peak, Sum};
    let g = golden();
    let cols = g.correlations["xcorr_window"].cols;
    let all = read_f64("noise/stack_rows.f64");
    let rows: Vec<&[f64]> = all.chunks(cols).collect();
    let kept = keep(&rows.iter().map(|r| peak(r)).collect::<Vec<f64>>());
    for (m, pws) in [("linear", false), ("pws", true)] {
        let want_kept: Vec<usize> = (0..rows.len()).filter(|&i| kept[i]).collect();
        assert_eq!(want_kept, g.stacks[m], "{m}");
        let mut sum = Sum::new(cols, pws);
        for (r, k) in rows.iter().zip(&kept) {
            if *k {
                sum.add(r, 1.0).unwrap();
            }
        }
        let got = sum.finish().unwrap();
        let want = read_f64(&format!("noise/stack_{m}.f64"));
        assert!(rel_l2(&got, &want) < 1e-12, "{m}: {}", rel_l2(&got, &want));
    }
}

/// NoisePy's rotation of nine components from ENZ to RTZ at an oblique azimuth.
#[test]
fn rotation_is_noisepys() {
    use seisbatch::ops::noise::rotation::rotation;
    let g = golden();
    let enz = read_f64("noise/rotation_enz.f64");
    let want = read_f64("noise/rotation_rtz.f64");
    let n = enz.len() / 9;
    let rows: [&[f64]; 9] = std::array::from_fn(|k| &enz[k * n..(k + 1) * n]);
    let got: Vec<f64> = rotation(rows, g.rotation.azi, g.rotation.baz).concat();
    assert!(rel_l2(&got, &want) < 1e-14, "{}", rel_l2(&got, &want));
}

/// The device's spectra of a channel's windows (shaders/time_norm.wgsl, the forward FFT,
/// shaders/whiten.wgsl; `Runner::cc_push_windows`) against NoisePy's (the fixture: rma time
/// normalisation, then rma, phase_only and no whitening) and against the CPU twins for
/// one_bit and no time normalisation, within GPU_TOL relative L2 per window; a budget that
/// splits the windows into batches gives the same bins as one batch.
#[test]
fn device_spectra_equal_noisepys() {
    use seisbatch::gpu::runner::{CcChannels, Runner, SpecPlan};
    /// The bound for the device (f32 samples, f32 transform of 6000 points).
    const GPU_TOL: f64 = 1e-5;
    let Some(gpu) = common::gpu() else { return };
    let g = golden();
    let w = windows(&g, "a");
    let n = w.data[0].len();
    // Every window twice over, so that a small budget needs several batches.
    let rows: Vec<usize> = g.rows.iter().chain(&g.rows).copied().collect();
    let samples: Vec<f32> = rows
        .iter()
        .flat_map(|&r| w.data[r].iter().map(|&v| v as f32))
        .collect();
    let device = |tn: u32, norm: FreqNorm, smooth: usize, budget: u64| {
        let plan = whiten::Plan::new(n, &band(&g, smooth));
        let (lo, hi) = plan.tapers();
        let lo: Vec<f32> = lo.iter().map(|&v| v as f32).collect();
        let hi: Vec<f32> = hi.iter().map(|&v| v as f32).collect();
        let mut runner = Runner::new(&gpu, budget);
        runner.poison = true;
        let mut ch = CcChannels::new(plan.nfft() / 2);
        let spec = SpecPlan {
            len: n,
            nfft: plan.nfft(),
            time_norm: tn,
            smooth_n: g.smooth_n,
            whiten: norm != FreqNorm::No,
            smoothspect_n: smooth,
            bins: plan.bins(),
            tapers: (&lo, &hi),
        };
        runner.cc_push_windows(&mut ch, &samples, &spec).unwrap();
        runner.cc_read_channel(&ch, 0).unwrap()
    };
    let n2 = g.nfft / 2;
    for (kind, tn) in [(TimeNorm::Rma, 2), (TimeNorm::OneBit, 1), (TimeNorm::No, 0)] {
        for (norm, name, smooth) in [
            (FreqNorm::Rma, "rma", g.smooth_n),
            (FreqNorm::PhaseOnly, "phase_only", 1),
            (FreqNorm::No, "no", g.smooth_n),
        ] {
            let got = device(tn, norm, smooth, 1 << 28);
            assert_eq!(got.len(), rows.len() * n2);
            let fixture = read_f64(&format!("noise/spectra_{name}.f64"));
            for (k, &row) in rows.iter().enumerate() {
                let bins: Vec<f64> = got[k * n2..(k + 1) * n2]
                    .iter()
                    .flat_map(|c| [f64::from(c[0]), f64::from(c[1])])
                    .collect();
                let want = if kind == TimeNorm::Rma {
                    let j = k % g.rows.len();
                    fixture[j * 2 * g.nfft..j * 2 * g.nfft + g.nfft].to_vec()
                } else {
                    let mut x = w.data[row].clone();
                    time_norm::apply(&mut x, kind, g.smooth_n);
                    flat_re_im(&whiten::spectrum(&x, norm, &band(&g, smooth)))
                };
                let e = rel_l2(&bins, &want);
                assert!(e < GPU_TOL, "{kind:?} {name} window {row}: {e:e}");
            }
            if kind == TimeNorm::Rma && norm == FreqNorm::Rma {
                // A quarter of this budget holds one window's transform, not four.
                let small = device(tn, norm, smooth, 4 * 6 * g.nfft as u64 * 8);
                assert!(small == got, "batches of windows changed the bins");
            }
        }
    }
}
