//! `Trace.remove_response` (NUMERICS §3.2): demean, SAC quarter-cosine taper, rfft to ObsPy's
//! nfft, multiply by the cached inverse-response table, Nyquist magnitude, irfft, truncate.

use num_complex::Complex64 as C;

use super::fft;
use super::taper::cosine_taper;

/// Largest prime factor (ObsPy's `factorize_int` then max).
fn largest_prime_factor(mut n: usize) -> usize {
    let mut best = 1;
    let mut c = 2;
    while c * c <= n {
        while n.is_multiple_of(c) {
            best = c;
            n /= c;
        }
        c += 1;
    }
    if n > 1 {
        best = best.max(n);
    }
    best
}

/// `signal/util.py:_npts2nfft` (NUMERICS §3.4).
pub fn npts2nfft(npts: usize) -> usize {
    let nfft = if npts % 2 == 1 {
        2 * (npts + 1)
    } else {
        2 * npts
    };
    if nfft > 5000 && largest_prime_factor(nfft) >= 500 {
        for i in 1..=10 {
            if largest_prime_factor(nfft + 2 * i) < 500 {
                return nfft + 2 * i;
            }
        }
        return nfft.next_power_of_two();
    }
    nfft
}

/// The time-domain part before the FFT (NUMERICS §3.2 steps 1–3).
pub fn prepare(
    x: &mut [f64],
    zero_mean: bool,
    taper: bool,
    taper_fraction: f64,
) -> Result<(), String> {
    if zero_mean && !x.is_empty() {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        x.iter_mut().for_each(|v| *v -= m);
    }
    if taper {
        let w = cosine_taper(x.len(), taper_fraction, true, false)?;
        x.iter_mut().zip(w).for_each(|(v, w)| *v *= w);
    }
    Ok(())
}

/// Steps 4 and 8–10, with `table` = the inverse response (and pre_filt) on nfft/2+1 bins.
pub fn deconvolve(x: &[f64], table: &[C], nfft: usize) -> Vec<f64> {
    let mut y = x.to_vec();
    deconvolve_in_place(&mut y, table, nfft);
    y
}

/// `deconvolve` with this thread's FFT buffers, the result back in `x` (its length kept): no
/// allocation per trace once the thread has seen this nfft.
pub fn deconvolve_in_place(x: &mut Vec<f64>, table: &[C], nfft: usize) {
    let _ = deconvolve_with(x, nfft, || Ok::<_, ()>(table));
}

/// `deconvolve_in_place` with the table asked for after the forward transform: where another
/// thread is evaluating the same table (the components of a station meet their grid
/// together), this one transforms its trace meanwhile instead of waiting first (issue #25).
/// `table` must not use this thread's FFT buffers (`fft::with_work`): the spectrum waits in
/// them. On its error `x` is left as it was, except after a long transform (more than
/// `fft::LONG_TRANSFORM` bins): its samples are in the spectrum then, and given back while the
/// table is evaluated (issue #26: a day trace's are 8 bytes per sample at the run's peak), so
/// the error leaves `x` empty (the trace fails with it).
pub fn deconvolve_with<T: AsRef<[C]>, E>(
    x: &mut Vec<f64>,
    nfft: usize,
    table: impl FnOnce() -> Result<T, E>,
) -> Result<(), E> {
    let n = x.len();
    fft::with_work(|w| {
        w.rfft(x, nfft);
        // The spectrum waits for the table, whose evaluation takes ~30 bytes a bin: the
        // packed samples are spent, and a long transform's are not held meanwhile (a day
        // trace's are 16 bytes per sample, issue #26).
        w.release_spent(fft::LONG_TRANSFORM);
    });
    if nfft / 2 > fft::LONG_TRANSFORM {
        *x = Vec::new(); // `irfft` gives it its length again
    }
    let table = table()?;
    fft::with_work(|w| {
        let spec = w.spectrum();
        for (s, r) in spec.iter_mut().zip(table.as_ref()) {
            *s *= r;
        }
        // Step 9: ObsPy keeps only the magnitude of the Nyquist bin.
        if let Some(last) = spec.last_mut() {
            *last = C::new(last.norm(), 0.0);
        }
    });
    // Not held through the inverse transform (a day trace's table is 16 bytes per sample).
    drop(table);
    fft::with_work(|w| w.irfft(nfft, n, x));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table asked for after the forward transform: the result is `deconvolve`'s bit for
    /// bit, and a table that cannot be had leaves the samples as they were.
    #[test]
    fn the_table_may_come_after_the_forward_transform() {
        let x: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64 - 50.0).collect();
        let nfft = npts2nfft(x.len());
        let table: Vec<C> = (0..nfft / 2 + 1)
            .map(|k| C::new(1.0 / (1.0 + k as f64), 0.01 * k as f64))
            .collect();
        let want = deconvolve(&x, &table, nfft);
        let mut got = x.clone();
        deconvolve_with(&mut got, nfft, || Ok::<_, ()>(&table[..])).unwrap();
        assert!(got
            .iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let mut kept = x.clone();
        let e = deconvolve_with(&mut kept, nfft, || Err::<&[C], _>("no table"));
        assert_eq!(e, Err("no table"));
        assert_eq!(kept, x);
    }

    /// A long transform gives the samples back while the table is evaluated: the same bits,
    /// the trace's length and no spare capacity after; on an error the samples are gone.
    #[test]
    fn a_long_transform_holds_no_samples_while_the_table_is_evaluated() {
        let n = fft::LONG_TRANSFORM + 1000;
        let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 - 50.0).collect();
        let nfft = npts2nfft(n);
        assert!(nfft / 2 > fft::LONG_TRANSFORM);
        let table: Vec<C> = (0..nfft / 2 + 1)
            .map(|k| C::new(1.0 / (1.0 + (k % 977) as f64), 0.0))
            .collect();
        let want = deconvolve(&x, &table, nfft);
        let mut got = x.clone();
        deconvolve_with(&mut got, nfft, || Ok::<_, ()>(&table[..])).unwrap();
        assert_eq!((got.len(), got.capacity()), (n, n));
        assert!(got
            .iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let mut gone = x.clone();
        let e = deconvolve_with(&mut gone, nfft, || Err::<&[C], _>("no table"));
        assert_eq!((e, gone.len()), (Err("no table"), 0));
    }

    #[test]
    fn nfft_rule_examples() {
        // NUMERICS §3.4 examples
        assert_eq!(npts2nfft(3000), 6000);
        assert_eq!(npts2nfft(9201), 18404);
        assert_eq!(npts2nfft(3027), 6058);
        assert_eq!(npts2nfft(1800029), 4194304);
    }
}
