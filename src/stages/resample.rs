//! resample's spectral part: rfft of n, the windowed spectrum interpolated onto num/2+1 bins,
//! irfft of num. Twin `ops::resample::spectral` (numpy's interp); on the device the FFT
//! kernels around `resample`, which applies the same interpolation as taps
//! (bin j = a X[k] + b X[k+1], window folded in, computed in f64).

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{OnCpu, Recording, StageOps};
use crate::exec::cpu::StageError;
use crate::gpu::record::{half_spectrum, pack, transform, unpack, Buf, Precision};
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::{to_f32, u32_of};
use crate::ops::resample;
use crate::plan::fft::{FftPlan, RfftSplit};

#[derive(Debug, Clone, PartialEq)]
pub struct Resample {
    pub num: usize,
    pub sampling_rate: f64,
    pub new_rate: f64,
    /// `resample::spectrum_window`, n/2+1 values.
    pub window: Arc<[f64]>,
    pub taps: Arc<[(usize, f64, f64)]>,
    pub fwd: FftPlan,
    /// The forward transform through shaders/rfft.wgsl (two passes, half spectrum out), when
    /// n has a split.
    pub rfft: Option<RfftSplit>,
    pub inv: FftPlan,
}

impl Resample {
    /// scipy's resample of `n` samples at `rate` to `num` at `new_rate` with `window` (None:
    /// no window), its spectrum taps and FFT plans.
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
            taps: resample::taps(n, rate, new_rate, num, window).into(),
            fwd: FftPlan::new(n),
            rfft: crate::plan::fft::rfft_split(n, crate::gpu::kernels::RFFT_TILE),
            inv: FftPlan::new(num),
        }
    }
}

/// shaders/resample.wgsl `ResampleParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct ResampleParams {
    pub n: u32,
    pub num: u32,
    pub count: u32,
    /// Complex values per trace in the input spectrum buffer (0: n, the full spectrum).
    pub stride: u32,
}

/// shaders/resample.wgsl `Tap`: output bin = a * X[k] + b * X[k + 1].
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Tap {
    pub k: u32,
    pub a: f32,
    pub b: f32,
    pub _pad: u32,
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

    fn record(&self, x: &mut Recording) -> Result<(), String> {
        x.max_complex = x
            .max_complex
            .max(self.fwd.scratch_len())
            .max(self.inv.scratch_len());
        let (b, cnt, cur, n_in, n_out) = (x.b, x.cnt, x.cur, x.n_in, x.n_out);
        // The bins the taps read: the half spectrum up to there is all the gather needs.
        let top = self
            .taps
            .iter()
            .map(|&(k, _, b)| if b != 0.0 { k + 1 } else { k })
            .max()
            .unwrap_or(0);
        let (s, stride) = match self.rfft.as_ref().filter(|_| x.r.caps().rfft) {
            Some(split) => (half_spectrum(x, split, n_in as usize, top)?, top + 1),
            None => {
                pack(x.r, Precision::F32, cur, 0, n_in, n_in, cnt)?;
                (transform(x.r, Precision::F32, 0, &self.fwd, false, cnt)?, 0)
            }
        };
        let d = (s + 1) % 3;
        let p = ResampleParams {
            n: n_in,
            num: n_out,
            count: cnt,
            stride: u32_of("resample bins", stride)?,
        };
        let taps = self
            .taps
            .iter()
            .map(|&(k, a, b)| {
                Ok(Tap {
                    k: u32_of("resample bin", k)?,
                    a: to_f32(a),
                    b: to_f32(b),
                    _pad: 0,
                })
            })
            .collect::<Result<Vec<Tap>, String>>()?;
        let t =
            x.r.table("resample taps", bytemuck::cast_slice(&taps).to_vec());
        let out = b * u64::from(n_out) * 8;
        x.r.dispatch(
            "resample",
            &p,
            &[(1, Buf::Complex(s)), (2, Buf::Complex(d)), (3, t)],
            out / 8,
            WORKGROUP,
            out,
            out,
        )?;
        let s = transform(x.r, Precision::F32, d, &self.inv, true, cnt)?;
        // irfft's 1/num times ObsPy's num/n.
        unpack(
            x.r,
            Precision::F32,
            (s, cur),
            n_out,
            n_out,
            to_f32(1.0 / f64::from(n_in)),
            cnt,
        )
    }

    fn describe(&self) -> Value {
        json!({
            "from_hz": self.sampling_rate,
            "to_hz": self.new_rate,
            "num": self.num,
            "fft_forward": self.fwd.describe(),
            "rfft_forward": self.rfft.as_ref().map(|s| json!({
                "n1": s.n1, "n2": s.n2, "radices1": s.radices1, "radices2": s.radices2,
            })),
            "fft_inverse": self.inv.describe(),
        })
    }

    fn table_bytes(&self) -> usize {
        self.window.len() * 8 + self.taps.len() * 24
    }
}
