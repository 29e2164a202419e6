//! NoisePy's `moving_ave(A, N)`: the mean over a boxcar of N points, the array extended by N
//! copies of its first and last values, as `np.convolve(temp, ones(N)/N, "same")[N:-N]`
//! aligns it (for even N the window reaches one point further back than forward: point m
//! averages m - N/2 .. m + N/2 - 1).

/// `a` smoothed over `n` points (n >= 1; n = 1 returns `a`).
pub fn moving_ave(a: &[f64], n: usize) -> Vec<f64> {
    let len = a.len();
    if len == 0 || n <= 1 {
        return a.to_vec();
    }
    // temp[k] for k in 0 .. len + 2n: a's first value before it, its last after it.
    let at = |k: usize| -> f64 {
        if k < n {
            a[0]
        } else if k - n < len {
            a[k - n]
        } else {
            a[len - 1]
        }
    };
    let w = 1.0 / n as f64;
    let h = (n - 1) / 2;
    (0..len)
        .map(|m| {
            // np.convolve's "same" output m + n is the full convolution's m + n + h: the sum
            // of temp[m + n + h - j] w over j < n.
            (0..n).map(|j| at(m + n + h - j) * w).sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_and_the_edges_are_noisepys() {
        // N = 2 (h = 0): point m averages m - 1 and m; the first value repeats before.
        assert_eq!(moving_ave(&[1.0, 3.0, 5.0], 2), vec![1.0, 2.0, 4.0]);
        // N = 3 (h = 1): m - 1 .. m + 1, the edges repeated.
        let got = moving_ave(&[3.0, 6.0, 9.0, 12.0], 3);
        let want = [4.0, 6.0, 9.0, 11.0];
        assert!(
            got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{got:?}"
        );
        assert_eq!(moving_ave(&[2.0, 4.0], 1), vec![2.0, 4.0]);
        assert!(moving_ave(&[], 10).is_empty());
    }
}
