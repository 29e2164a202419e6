//! `Trace.differentiate(method="gradient")`: `numpy.gradient(data, delta)` with edge_order 1:
//! central differences inside, one-sided at the ends. Needs two samples (the plan refuses one
//! with numpy's error); an empty trace is left alone, as ObsPy's `skip_if_no_data`.

pub fn gradient(x: &[f64], dx: f64) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return x.to_vec();
    }
    let mut y = Vec::with_capacity(n);
    y.push((x[1] - x[0]) / dx);
    y.extend(x.windows(3).map(|w| (w[2] - w[0]) / (2.0 * dx)));
    y.push((x[n - 1] - x[n - 2]) / dx);
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_inside_one_sided_at_the_ends() {
        // t^2 at dx 0.5: central differences are exact (2 t), the ends are one-sided.
        let x: Vec<f64> = (0..5).map(|i| (0.5 * i as f64).powi(2)).collect();
        let y = gradient(&x, 0.5);
        assert_eq!(y, [0.5, 1.0, 2.0, 3.0, 3.5]);
        assert_eq!(gradient(&[1.0, 4.0], 2.0), [1.5, 1.5]);
    }
}
