//! resample's spectral part: rfft of n, the windowed spectrum interpolated onto num/2+1 bins,
//! irfft of num. Twin `ops::resample::spectral` (numpy's interp); on the device the FFT
//! kernels around `resample`, which applies the same interpolation as taps
//! (bin j = a X[k] + b X[k+1], window folded in, computed in f64 from `window` by
//! `gpu::stages::resample`).

use std::sync::Arc;

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::ops::resample;

#[derive(Debug, Clone, PartialEq)]
pub struct Resample {
    pub num: usize,
    pub sampling_rate: f64,
    pub new_rate: f64,
    /// `resample::spectrum_window`, n/2+1 values.
    pub window: Arc<[f64]>,
}

impl Resample {
    /// scipy's resample of `n` samples at `rate` to `num` at `new_rate` with `window` (None:
    /// no window).
    pub fn new(
        n: usize,
        rate: f64,
        new_rate: f64,
        num: usize,
        window: Option<crate::ops::taper::Window>,
    ) -> Resample {
        Resample {
            num,
            sampling_rate: rate,
            new_rate,
            window: resample::spectrum_window(n, window).into(),
        }
    }
}

impl StageOps for Resample {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        x.tr.data = resample::spectral(
            &x.tr.data,
            self.sampling_rate,
            self.new_rate,
            self.num,
            &self.window,
        );
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({
            "from_hz": self.sampling_rate,
            "to_hz": self.new_rate,
            "num": self.num,
        })
    }

    fn table_bytes(&self) -> usize {
        self.window.len() * 8
    }
}
