//! The filters on the remove_response grid against their point-by-point values.

use super::*;
use crate::response::eval::grid;

fn freqs() -> Vec<f64> {
    grid(0.01, 2002)
}

/// Analog poles and zeros on the grid are the point-by-point values, bit for bit.
#[test]
fn analog_pz_on_the_grid_is_bit_identical() {
    let zeros = vec![C::new(0.0, 0.0), C::new(0.0, 0.0), C::new(-13.2, 0.0)];
    let poles = vec![
        C::new(-0.037, 0.037),
        C::new(-0.037, -0.037),
        C::new(-251.3, 0.0),
        C::new(-131.0, 467.3),
        C::new(-131.0, -467.3),
    ];
    for hertz in [false, true] {
        let f = Filter::AnalogPz {
            zeros: zeros.clone(),
            poles: poles.clone(),
            hertz,
        };
        let fr = freqs();
        let grid = f.on_grid(&fr);
        for (i, &x) in fr.iter().enumerate() {
            let p = f.at(x, Some(i));
            assert_eq!(
                (grid[i].re.to_bits(), grid[i].im.to_bits()),
                (p.re.to_bits(), p.im.to_bits()),
                "f = {x}"
            );
        }
    }
}

/// The anchored unit-circle values are sin_cos of each bin's angle to a few ulp, on
/// remove_response grids of odd and even nfft and at the stage intervals and delay
/// corrections real responses have (long angles: 2π f a up to hundreds of radians).
#[test]
fn unit_circle_is_sin_cos_to_a_few_ulp() {
    for (delta, nfft) in [(0.01, 240_000), (0.05, 7203), (0.001, 100_001), (1.0, 66)] {
        let fr = grid(delta, nfft);
        for a in [0.01, 0.0025 / 3.0, 1.0 / 2000.0, 0.4123, 7.5, -0.013] {
            let (mut re, mut im) = (Vec::new(), Vec::new());
            unit_circle(&fr, a, &mut re, &mut im);
            assert_eq!(re.len(), fr.len());
            for (k, &f) in fr.iter().enumerate() {
                let (s, c) = (TWO_PI * f * a).sin_cos();
                // The angle itself is only known to its rounding (|w| ulp).
                let tol = 8.0 * f64::EPSILON * (1.0 + (TWO_PI * f * a).abs());
                assert!(
                    (re[k] - c).abs() <= tol && (im[k] - s).abs() <= tol,
                    "nfft {nfft} a {a} bin {k}: ({}, {}) vs ({c}, {s})",
                    re[k],
                    im[k]
                );
            }
        }
    }
    // Not the grid: point by point.
    let odd = [0.0, 0.3, 0.31, 2.0];
    let (mut re, mut im) = (Vec::new(), Vec::new());
    unit_circle(&odd, 0.7, &mut re, &mut im);
    for (k, &f) in odd.iter().enumerate() {
        assert_eq!(re[k], (TWO_PI * f * 0.7).cos());
    }
}

/// The AVX2 build of Horner gives the bits of the baseline build (no FMA contraction).
#[test]
fn horner_is_the_same_bits_with_and_without_avx2() {
    let c: Vec<f64> = (0..97)
        .map(|k| ((k * 31 % 17) as f64 - 8.0) / 9.0)
        .collect();
    let fr = freqs();
    let zr: Vec<f64> = fr.iter().map(|f| (TWO_PI * f * 0.003).cos()).collect();
    let zi: Vec<f64> = fr.iter().map(|f| -(TWO_PI * f * 0.003).sin()).collect();
    let (mut a, mut b) = (vec![f64::NAN; fr.len()], vec![f64::NAN; fr.len()]);
    horner_lanes(&c, &zr, &zi, &mut a, &mut b);
    // Buffers of another length and stale values: resized and overwritten whole.
    let (mut x, mut y) = (vec![f64::NAN; 3], vec![7.0; fr.len() + 9]);
    horner(&c, &zr, &zi, &mut x, &mut y);
    let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<u64>>();
    assert_eq!((bits(&a), bits(&b)), (bits(&x), bits(&y)));
}

/// FIR and coefficient stages by Horner agree with evalresp's per-tap sums to rounding.
#[test]
fn fir_on_the_grid_matches_the_per_tap_sums() {
    let taps: Vec<f64> = (0..151)
        .map(|k| ((k * 7919 % 211) as f64 - 105.0) / 1000.0)
        .collect();
    let sum: f64 = taps.iter().map(|c| c.abs()).sum();
    let half = taps[..76].to_vec();
    for f in [
        Filter::FirAsym {
            c: taps.clone(),
            t: 0.005,
        },
        Filter::FirSym1 {
            c: half.clone(),
            t: 0.005,
        },
        Filter::FirSym2 { c: half, t: 0.0025 },
        Filter::Iir {
            num: taps[..5].to_vec(),
            den: vec![1.0, -0.5, 0.25],
            t: 0.01,
        },
    ] {
        let fr = freqs();
        let grid = f.on_grid(&fr);
        for (i, &x) in fr.iter().enumerate() {
            let p = f.at(x, Some(i));
            assert!(
                (grid[i] - p).norm() <= 1e-13 * sum.max(p.norm()),
                "f = {x}: {} vs {p}",
                grid[i]
            );
        }
    }
}
