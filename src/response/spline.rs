//! Interpolating cubic spline with not-a-knot ends: what FITPACK's
//! `InterpolatedUnivariateSpline(k=3)` computes (interior knots x[2..n-2]), extrapolating
//! with the end pieces. ObsPy uses it for ResponseList stages (NUMERICS §3.7 A.5).

pub struct Spline {
    x: Vec<f64>,
    y: Vec<f64>,
    m: Vec<f64>,
}

impl Spline {
    /// Needs at least 4 strictly increasing abscissae (FITPACK's m > k).
    pub fn new(x: &[f64], y: &[f64]) -> Result<Spline, String> {
        let n = x.len();
        if n < 4 || y.len() != n {
            return Err(format!("a cubic spline needs at least 4 points, got {n}"));
        }
        // partial_cmp so NaN frequencies are refused too.
        if x.windows(2)
            .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
        {
            return Err("response list frequencies must be strictly increasing".into());
        }
        let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
        let d: Vec<f64> = (0..n - 1).map(|i| (y[i + 1] - y[i]) / h[i]).collect();
        // Tridiagonal system sub/diag/sup/rhs for second derivatives M.
        let (mut a, mut b, mut c, mut r) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for i in 1..n - 1 {
            a[i] = h[i - 1];
            b[i] = 2.0 * (h[i - 1] + h[i]);
            c[i] = h[i];
            r[i] = 6.0 * (d[i] - d[i - 1]);
        }
        // Not-a-knot: h1·M0 − (h0+h1)·M1 + h0·M2 = 0; eliminate M2 with row 1.
        {
            let (r0b, r0c, r0d) = (h[1], -(h[0] + h[1]), h[0]);
            let f = r0d / c[1];
            b[0] = r0b - f * a[1];
            c[0] = r0c - f * b[1];
            r[0] = -f * r[1];
        }
        {
            let k = n - 1;
            let (ra, rb, rc) = (h[k - 1], -(h[k - 2] + h[k - 1]), h[k - 2]);
            // coefficients on M[k-2], M[k-1], M[k]; eliminate M[k-2] with row k-1.
            let f = ra / a[k - 1];
            a[k] = rb - f * b[k - 1];
            b[k] = rc - f * c[k - 1];
            r[k] = -f * r[k - 1];
        }
        // Thomas algorithm.
        for i in 1..n {
            let w = a[i] / b[i - 1];
            b[i] -= w * c[i - 1];
            r[i] -= w * r[i - 1];
        }
        let mut m = vec![0.0; n];
        m[n - 1] = r[n - 1] / b[n - 1];
        for i in (0..n - 1).rev() {
            m[i] = (r[i] - c[i] * m[i + 1]) / b[i];
        }
        Ok(Spline {
            x: x.to_vec(),
            y: y.to_vec(),
            m,
        })
    }

    pub fn eval(&self, t: f64) -> f64 {
        let n = self.x.len();
        let i = match self.x.partition_point(|&v| v <= t) {
            0 => 0,
            p => (p - 1).min(n - 2),
        };
        let (x0, x1) = (self.x[i], self.x[i + 1]);
        let h = x1 - x0;
        let (m0, m1) = (self.m[i], self.m[i + 1]);
        let (u, v) = (x1 - t, t - x0);
        m0 * u * u * u / (6.0 * h)
            + m1 * v * v * v / (6.0 * h)
            + (self.y[i] / h - m0 * h / 6.0) * u
            + (self.y[i + 1] / h - m1 * h / 6.0) * v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_cubics_exactly() {
        // Not-a-knot reproduces any cubic, inside and outside the table.
        let f = |t: f64| 0.5 * t * t * t - 2.0 * t * t + t - 3.0;
        let x = [0.0, 0.7, 1.5, 2.0, 3.1, 4.0, 5.5];
        let y: Vec<f64> = x.iter().map(|&t| f(t)).collect();
        let s = Spline::new(&x, &y).unwrap();
        for t in [-1.0, 0.0, 0.3, 1.9, 3.3, 5.5, 7.0] {
            assert!((s.eval(t) - f(t)).abs() < 1e-9, "{t}");
        }
        assert!(Spline::new(&x[..3], &y[..3]).is_err());
    }
}
