//! `Trace.normalize(norm=None)`: divide by |norm|, or by |Trace.max()| (the sample of largest
//! magnitude); a zero norm leaves the data unchanged (ObsPy warns: the plan says so for a
//! given norm of 0; an all-zero trace is left unchanged without a per-trace warning).

/// The divisor ObsPy uses: |norm|, or the largest |sample|; 0 means "leave unchanged".
pub fn divisor(x: &[f64], norm: Option<f64>) -> f64 {
    match norm {
        Some(v) => v.abs(),
        None => x.iter().fold(0.0f64, |m, v| m.max(v.abs())),
    }
}

pub fn normalize(x: &mut [f64], norm: Option<f64>) {
    let d = divisor(x, norm);
    if d != 0.0 {
        x.iter_mut().for_each(|v| *v /= d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_the_largest_magnitude_or_the_given_norm() {
        let mut x = vec![1.0, -4.0, 2.0];
        normalize(&mut x, None);
        assert_eq!(x, [0.25, -1.0, 0.5]);
        let mut x = vec![1.0, -4.0, 2.0];
        normalize(&mut x, Some(-2.0));
        assert_eq!(x, [0.5, -2.0, 1.0]);
        let mut z = vec![0.0; 3];
        normalize(&mut z, None);
        assert_eq!(z, [0.0; 3]);
        let mut x = vec![1.0, 2.0];
        normalize(&mut x, Some(0.0));
        assert_eq!(x, [1.0, 2.0]);
    }
}
