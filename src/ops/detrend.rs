//! `Trace.detrend` (NUMERICS §1): simple, demean/constant, linear, polynomial and spline.
//! f64 in place.

use serde::Serialize;

use super::lsq;

/// ObsPy's detrend types (`type=` and, for the fitted ones, their keywords).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DetrendType {
    Simple,
    Demean,
    Linear,
    /// `obspy.signal.detrend.polynomial`: `np.polyval(np.polyfit(x, data, order), x)`.
    Polynomial {
        order: usize,
    },
    /// `obspy.signal.detrend.spline`: scipy's LSQUnivariateSpline of degree `order` with
    /// interior knots every `dspline` samples from dspline / 2.
    Spline {
        order: usize,
        dspline: usize,
    },
}

impl DetrendType {
    /// Whether what it removes is a line (`line`): the kinds the GPU path runs (or removes
    /// on upload).
    pub fn is_line(self) -> bool {
        matches!(
            self,
            DetrendType::Simple | DetrendType::Demean | DetrendType::Linear
        )
    }
}

/// Removes `kind`'s trend from `x`; an error is scipy's refusal of the fit (spline knots).
pub fn detrend(x: &mut [f64], kind: DetrendType) -> Result<(), String> {
    if x.is_empty() {
        return Ok(()); // ObsPy's skip_if_no_data
    }
    let fit = match kind {
        DetrendType::Polynomial { order } => Some(lsq::polynomial_fit(x, order)?),
        DetrendType::Spline { order, dspline } => Some(lsq::spline_fit(x, order, dspline)?),
        _ => None,
    };
    if let Some(fit) = fit {
        x.iter_mut().zip(fit).for_each(|(v, f)| *v -= f);
        return Ok(());
    }
    let line = line(x, kind);
    if kind == DetrendType::Demean {
        // `line.at` is the mean itself for a demean: the plain subtraction (it vectorises).
        x.iter_mut().for_each(|v| *v -= line.c);
        return Ok(());
    }
    for (i, v) in x.iter_mut().enumerate() {
        *v -= line.at(i);
    }
    Ok(())
}

/// The line a detrend removes: `c + slope (i - t0)` at sample i.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub c: f64,
    pub slope: f64,
    pub t0: f64,
}

impl Line {
    /// The line's value at sample `i` (for demean, `c + 0` = c; for simple, `x0 + slope i`:
    /// the arithmetic of ObsPy's own formulas, so the same bits).
    pub fn at(&self, i: usize) -> f64 {
        self.c + self.slope * (i as f64 - self.t0)
    }
}

/// The line `kind` removes from `x` (not empty), in f64: the CPU twin, and the GPU path's
/// upload when a device run opens with a detrend (`gpu::runner`). For a line kind
/// (`is_line`); the fitted kinds get the least-squares line, which no caller asks for.
pub fn line(x: &[f64], kind: DetrendType) -> Line {
    let n = x.len();
    match kind {
        DetrendType::Demean => Line {
            c: x.iter().sum::<f64>() / n as f64,
            slope: 0.0,
            t0: 0.0,
        },
        DetrendType::Simple => {
            // N = 1 gives 0/0 = NaN, as in ObsPy.
            let x0 = x[0];
            Line {
                c: x0,
                slope: (x[n - 1] - x0) / (n - 1) as f64,
                t0: 0.0,
            }
        }
        DetrendType::Linear | DetrendType::Polynomial { .. } | DetrendType::Spline { .. } => {
            // Least-squares line on the centred index; any exact LS fit agrees with scipy's
            // lstsq to ~1e-15 (NUMERICS §1). N = 1: the line is the sample itself.
            let nf = n as f64;
            let tm = (nf - 1.0) / 2.0;
            let xm = x.iter().sum::<f64>() / nf;
            let (mut sxy, mut sxx) = (0.0, 0.0);
            for (i, v) in x.iter().enumerate() {
                let t = i as f64 - tm;
                sxy += t * (v - xm);
                sxx += t * t;
            }
            let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
            Line {
                c: xm,
                slope,
                t0: tm,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_exact_lines() {
        let line: Vec<f64> = (0..101).map(|i| 3.0 - 0.25 * i as f64).collect();
        for kind in [DetrendType::Linear, DetrendType::Simple] {
            let mut x = line.clone();
            detrend(&mut x, kind).unwrap();
            assert!(x.iter().all(|v| v.abs() < 1e-12), "{kind:?}");
        }
        let mut x = vec![1.0, 2.0, 6.0];
        detrend(&mut x, DetrendType::Demean).unwrap();
        assert_eq!(x, vec![-2.0, -1.0, 3.0]);
    }

    #[test]
    fn simple_single_sample_is_nan_like_obspy() {
        let mut x = vec![5.0];
        detrend(&mut x, DetrendType::Simple).unwrap();
        assert!(x[0].is_nan());
    }
}
