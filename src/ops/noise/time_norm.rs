//! NoisePy's time-domain normalisation (`noise_processing`'s `time_norm`): `one_bit` keeps
//! each sample's sign (numpy's: 0 stays 0), `rma` divides by the running absolute mean over
//! `smooth_N` points (`moving_ave`; a zero mean gives what numpy's division gives).

use super::moving_ave;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeNorm {
    No,
    OneBit,
    Rma,
}

impl TimeNorm {
    /// NoisePy's names: "no", "one_bit", "rma".
    pub fn parse(s: &str) -> Result<TimeNorm, String> {
        match s {
            "no" => Ok(TimeNorm::No),
            "one_bit" => Ok(TimeNorm::OneBit),
            "rma" => Ok(TimeNorm::Rma),
            other => Err(format!("time_norm {other:?}: expected no, one_bit or rma")),
        }
    }
}

/// One window normalised in place.
pub fn apply(x: &mut [f64], kind: TimeNorm, smooth_n: usize) {
    match kind {
        TimeNorm::No => {}
        TimeNorm::OneBit => x.iter_mut().for_each(|v| {
            if *v != 0.0 && !v.is_nan() {
                *v = v.signum();
            }
        }),
        TimeNorm::Rma => {
            let abs: Vec<f64> = x.iter().map(|v| v.abs()).collect();
            let m = moving_ave(&abs, smooth_n);
            x.iter_mut().zip(m).for_each(|(v, d)| *v /= d);
        }
    }
}
