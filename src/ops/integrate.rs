//! `Trace.integrate(method="cumtrapz")`: scipy's `cumulative_trapezoid(data, dx=delta,
//! initial=0)`, i.e. y[0] = 0, y[i] = y[i-1] + dx (x[i-1] + x[i]) / 2, summed left to right
//! as numpy's cumsum does.

pub fn cumtrapz(x: &mut [f64], dx: f64) {
    let mut acc = 0.0;
    let mut prev = match x.first() {
        Some(&v) => v,
        None => return,
    };
    x[0] = 0.0;
    for v in x.iter_mut().skip(1) {
        let cur = *v;
        acc += dx * (prev + cur) / 2.0;
        prev = cur;
        *v = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_polynomials_as_the_trapezoidal_rule() {
        // A line is integrated exactly: x = 2 t -> t^2.
        let dx = 0.25;
        let mut x: Vec<f64> = (0..9).map(|i| 2.0 * i as f64 * dx).collect();
        cumtrapz(&mut x, dx);
        for (i, v) in x.iter().enumerate() {
            let t = i as f64 * dx;
            assert!((v - t * t).abs() < 1e-12, "{i}: {v}");
        }
        // The trapezoid's error on t^2 (exact t^3/3) is dx^2 t / 6.
        let mut x: Vec<f64> = (0..9).map(|i| (i as f64 * dx).powi(2)).collect();
        cumtrapz(&mut x, dx);
        let t = 8.0 * dx;
        assert!((x[8] - (t.powi(3) / 3.0 + dx * dx * t / 6.0)).abs() < 1e-12);
        let mut one = vec![5.0];
        cumtrapz(&mut one, 1.0);
        assert_eq!(one, [0.0]);
        cumtrapz(&mut [], 1.0);
    }
}
