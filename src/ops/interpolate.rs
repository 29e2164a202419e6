//! `Trace.interpolate` (NUMERICS §4): lanczos, linear and weighted_average_slopes, on the
//! float64 POSIX-timestamp grids ObsPy builds (so offsets round the way ObsPy's do).

use serde::Serialize;
use std::f64::consts::PI;

use crate::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InterpMethod {
    Lanczos,
    Linear,
    WeightedAverageSlopes,
}

/// The new grid and samples.
#[derive(Debug)]
pub struct Interpolated {
    pub start_ns: i64,
    pub sampling_rate: f64,
    pub data: Vec<f64>,
}

/// The new grid of `interpolate`, in input samples: output j sits at offset + j * dt_factor.
/// Shared by the CPU path and the GPU plan (which needs it before any sample is touched).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Start of the output (the input's, shifted by time_shift, for an empty trace).
    pub start_ns: i64,
    /// Output samples (0 for an empty input, which stays empty at its old rate).
    pub npts: usize,
    pub sampling_rate: f64,
    pub offset: f64,
    pub dt_factor: f64,
    old_start: f64,
    old_end: f64,
    new_start: f64,
    new_end: f64,
    old_dt: f64,
}

/// ObsPy's grid rules: npts from the end time when not given; no extrapolation.
pub fn grid(
    n: usize,
    start_ns: i64,
    sampling_rate: f64,
    new_rate: f64,
    starttime: Option<i64>,
    npts: Option<usize>,
    time_shift: f64,
) -> Result<Grid, String> {
    let dt = 1.0 / new_rate;
    let start_ns = if time_shift != 0.0 {
        time::add_seconds(start_ns, time_shift)
    } else {
        start_ns
    };
    let old_dt = 1.0 / sampling_rate;
    let old_start = time::timestamp(start_ns);
    if n == 0 {
        return Ok(Grid {
            start_ns,
            npts: 0,
            sampling_rate,
            offset: 0.0,
            dt_factor: 1.0,
            old_start,
            old_end: old_start,
            new_start: old_start,
            new_end: old_start,
            old_dt,
        });
    }
    let new_start = starttime.map(time::timestamp).unwrap_or(old_start);
    let end_ns = time::add_seconds(start_ns, (n - 1) as f64 * old_dt);
    let endtime = time::timestamp(end_ns);
    let npts = match npts {
        Some(p) => p as i64,
        None => (((endtime - new_start) / dt).floor() as i64).saturating_add(1),
    };
    if npts < 1 {
        return Err("the new grid would have no samples (start time after the trace end)".into());
    }
    let old_end = old_start + old_dt * (n - 1) as f64;
    let new_end = new_start + dt * (npts - 1) as f64;
    if old_start > new_start || old_end < new_end {
        return Err(format!(
            "the new grid ({npts} samples at {new_rate} Hz from {}) must lie within the trace ({n} samples at {sampling_rate} Hz from {}): no extrapolation",
            time::iso(time::from_timestamp(new_start)),
            time::iso(start_ns)
        ));
    }
    let npts = npts as usize;
    if let Some(p) =
        crate::limits::samples_problem(&format!("interpolating to {new_rate} Hz"), npts)
    {
        return Err(p);
    }
    Ok(Grid {
        start_ns: time::from_timestamp(new_start),
        npts,
        sampling_rate: 1.0 / dt,
        offset: (new_start - old_start) / old_dt,
        dt_factor: dt / old_dt,
        old_start,
        old_end,
        new_start,
        new_end,
        old_dt,
    })
}

#[expect(
    clippy::too_many_arguments,
    reason = "mirrors Trace.interpolate's keyword arguments"
)]
pub fn interpolate(
    x: &[f64],
    start_ns: i64,
    sampling_rate: f64,
    new_rate: f64,
    method: InterpMethod,
    starttime: Option<i64>,
    npts: Option<usize>,
    time_shift: f64,
    a: Option<usize>,
) -> Result<Interpolated, String> {
    let g = grid(
        x.len(),
        start_ns,
        sampling_rate,
        new_rate,
        starttime,
        npts,
        time_shift,
    )?;
    if x.is_empty() {
        return Ok(Interpolated {
            start_ns: g.start_ns,
            sampling_rate,
            data: vec![],
        });
    }
    Ok(Interpolated {
        start_ns: g.start_ns,
        sampling_rate: g.sampling_rate,
        data: apply(x, &g, method, a)?,
    })
}

/// The samples on grid `g` (from `grid` for this trace): the interpolate stage's CPU twin.
/// The trace is not empty.
pub fn apply(
    x: &[f64],
    g: &Grid,
    method: InterpMethod,
    a: Option<usize>,
) -> Result<Vec<f64>, String> {
    let n = x.len();
    let (old_start, old_end, new_start, new_end, old_dt, npts) = (
        g.old_start,
        g.old_end,
        g.new_start,
        g.new_end,
        g.old_dt,
        g.npts,
    );
    Ok(match method {
        InterpMethod::Lanczos => {
            let a = a.ok_or("lanczos needs `a`")?;
            lanczos(x, g.dt_factor, g.offset, npts, a)
        }
        InterpMethod::Linear => {
            if n == 0 {
                return Err("linear interpolation needs at least 1 sample".into());
            }
            if n == 1 {
                // ObsPy's np.interp: a one-sample trace is a constant (the new grid, which must
                // lie inside the old one, is that instant).
                return Ok(vec![x[0]; npts]);
            }
            let told = linspace(old_start, old_end, n);
            let tnew = linspace(new_start, new_end, npts);
            tnew.iter()
                .map(|&t| {
                    let idx = told.partition_point(|&v| v < t).clamp(1, n - 1);
                    let (lo, hi) = (idx - 1, idx);
                    let slope = (x[hi] - x[lo]) / (told[hi] - told[lo]);
                    slope * (t - told[lo]) + x[lo]
                })
                .collect()
        }
        InterpMethod::WeightedAverageSlopes => {
            if n < 2 {
                return Err("weighted_average_slopes needs at least 2 samples".into());
            }
            weighted_average_slopes(x, old_start, old_dt, &linspace(new_start, new_end, npts))
        }
    })
}

/// numpy `linspace(start, stop, num)`: k·step + start, last element forced to stop (empty for
/// num 0).
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    match num {
        0 => return Vec::new(),
        1 => return vec![start],
        _ => {}
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|k| k as f64 * step + start).collect();
    v[num - 1] = stop;
    v
}

fn sinc(v: f64) -> f64 {
    if v.abs() < 1e-10 {
        1.0
    } else {
        (PI * v).sin() / (PI * v)
    }
}

/// ObsPy's C `lanczos_resample` with the lanczos window (the only one 1.5.1 uses, NUMERICS §4.1):
/// zero-padded, not renormalised.
///
/// Per output sample the 2a+1 kernel values L(u) = sinc(u)·sinc(u/a) are taken at u, u+1,
/// ...: sin(π(u+k)) only alternates sign and sin(π(u+k)/a) is a rotation by π/a, so three
/// trigonometric calls replace 4a+2 (the stage went from 17 ms to ~2 ms on a 20-minute trace).
/// The recurrence moves results by a few ulp, far inside the 1e-6 parity budget;
/// `lanczos_reference` below is the direct formula the tests compare against.
pub fn lanczos(x: &[f64], dt_factor: f64, offset: f64, npts: usize, a: usize) -> Vec<f64> {
    let n = x.len() as i64;
    // Every output on an input sample (an integer decimation from an aligned start, as the
    // forum chain's 100 Hz -> 10 Hz): L(0) = 1 and L(m) = sin(pi m).. = 0 at the other taps,
    // so the sum is the sample itself. ObsPy's C loop adds 2a terms of ~1e-16 x; skipping them
    // changes results by that much and the stage from milliseconds to microseconds.
    if offset >= 0.0 && offset.fract() == 0.0 && dt_factor.fract() == 0.0 && dt_factor >= 1.0 {
        let (o, q) = (offset as i64, dt_factor as i64);
        if npts == 0 || o + (npts as i64 - 1) * q < n {
            return (0..npts).map(|j| x[(o + j as i64 * q) as usize]).collect();
        }
    }
    let af = a as f64;
    let ai = a as i64;
    let (sin_step, cos_step) = (PI / af).sin_cos();
    (0..npts)
        .map(|j| {
            let pos = offset + j as f64 * dt_factor;
            let idx = pos.floor() as i64;
            // First tap i = idx + a, u = pos − i; taps then run down in i, up in u.
            let u0 = pos - (idx + ai) as f64;
            let mut s1 = (PI * u0).sin();
            let (mut s2, mut c2) = (PI * u0 / af).sin_cos();
            let mut y = 0.0;
            for k in 0..=2 * ai {
                let i = idx + ai - k;
                let u = u0 + k as f64;
                if i >= 0 && i < n && u.abs() <= af {
                    let l = if u.abs() < 1e-10 {
                        1.0
                    } else {
                        af * s1 * s2 / (PI * PI * u * u)
                    };
                    y += x[i as usize] * l;
                }
                s1 = -s1;
                let s_next = s2 * cos_step + c2 * sin_step;
                c2 = c2 * cos_step - s2 * sin_step;
                s2 = s_next;
            }
            y
        })
        .collect()
}

/// The direct formula, term by term as ObsPy's C code computes it (test oracle).
pub fn lanczos_reference(
    x: &[f64],
    dt_factor: f64,
    offset: f64,
    npts: usize,
    a: usize,
) -> Vec<f64> {
    let n = x.len() as i64;
    let af = a as f64;
    let ai = a as i64;
    (0..npts)
        .map(|j| {
            let pos = offset + j as f64 * dt_factor;
            let idx = pos.floor() as i64;
            let mut y = 0.0;
            for m in -ai..=ai {
                let i = idx - m;
                if i < 0 || i >= n {
                    continue;
                }
                let u = pos - i as f64;
                if u.abs() > af {
                    continue;
                }
                y += x[i as usize] * sinc(u) * sinc(u / af);
            }
            y
        })
        .collect()
}

/// SAC's interpolation (Wiggins 1976) as ObsPy implements it (NUMERICS §4.2).
pub fn weighted_average_slopes(x: &[f64], old_start: f64, old_dt: f64, t: &[f64]) -> Vec<f64> {
    let n = x.len();
    let m: Vec<f64> = x.windows(2).map(|w| (w[1] - w[0]) / old_dt).collect();
    let mmax = m.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    // numpy clip(v, lo, hi) = min(max(v, lo), hi); max|m| = 0 gives 1/0 → NaN, as in ObsPy.
    let w: Vec<f64> = m
        .iter()
        .map(|v| 1.0 / v.abs().max(f64::EPSILON).min(mmax))
        .collect();
    let sign = |v: f64| {
        if v > 0.0 {
            1
        } else if v < 0.0 {
            -1
        } else {
            0
        }
    };
    let mut d = vec![0.0; n];
    d[0] = m[0];
    d[n - 1] = m[n - 2];
    for i in 1..n - 1 {
        d[i] = if sign(m[i - 1]) != sign(m[i]) {
            0.0
        } else {
            (w[i - 1] * m[i - 1] + w[i] * m[i]) / (w[i - 1] + w[i])
        };
    }
    t.iter()
        .map(|&ti| {
            let u = (ti - old_start) / old_dt;
            let i0 = u.trunc();
            let i = (i0 as usize).min(n - 1);
            if u == i0 || i + 1 >= n {
                return x[i];
            }
            let tau = u - i0;
            let (a0, a1) = (x[i], x[i + 1]);
            let (bm, bp) = (old_dt * d[i], old_dt * d[i + 1]);
            let b0 = a1 - a0;
            let c0 = b0 - bm;
            let c1 = bp - b0;
            let dd = c1 - c0;
            a0 + (b0 + (c0 + dd * tau) * (tau - 1.0)) * tau
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanczos_passes_samples_through_at_integer_positions() {
        let x: Vec<f64> = (0..50).map(|i| (i as f64 * 0.3).sin()).collect();
        let y = lanczos(&x, 1.0, 0.0, 50, 5);
        for i in 0..50 {
            assert!((x[i] - y[i]).abs() < 1e-14);
        }
    }

    #[test]
    fn fast_lanczos_equals_direct_formula() {
        let x: Vec<f64> = (0..3001)
            .map(|i| ((i * 7919) % 1013) as f64 - 500.0)
            .collect();
        for (q, o, a) in [
            (10.0, 0.0, 25),
            (3.3333, 0.37, 8),
            (0.5, 2.0, 1),
            (1.0, 0.0, 3),
        ] {
            let npts = ((3000.0 - o) / q) as usize;
            let fast = lanczos(&x, q, o, npts, a);
            let slow = lanczos_reference(&x, q, o, npts, a);
            for (f, s) in fast.iter().zip(&slow) {
                assert!(
                    (f - s).abs() <= 1e-12 * (1.0 + s.abs()),
                    "{q} {o} {a}: {f} vs {s}"
                );
            }
        }
    }

    #[test]
    fn absurd_rates_fail_instead_of_allocating() {
        let x = vec![1.0; 1000];
        let e = interpolate(
            &x,
            0,
            100.0,
            1e12,
            InterpMethod::Linear,
            None,
            None,
            0.0,
            None,
        );
        assert!(e.unwrap_err().contains("limit"));
        let e = crate::ops::resample::resample(&x, 100.0, 1e12, None, true, false);
        assert!(e.unwrap_err().contains("limit"));
    }

    #[test]
    fn linear_halfway_and_bounds() {
        let x = [0.0, 2.0, 4.0, 8.0];
        let r = interpolate(&x, 0, 1.0, 2.0, InterpMethod::Linear, None, None, 0.0, None).unwrap();
        assert_eq!(r.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0]);
        let e = interpolate(
            &x,
            0,
            1.0,
            2.0,
            InterpMethod::Linear,
            None,
            Some(9),
            0.0,
            None,
        );
        assert!(e.unwrap_err().contains("no extrapolation"));
    }
}
