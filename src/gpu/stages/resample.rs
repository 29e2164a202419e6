//! resample's spectral part on the device: forward transform (the two fused rfft passes
//! where n has a split), `resample` gathering num/2+1 bins as taps (bin j = a X[k] + b X[k+1],
//! the window folded in, computed in f64 from the stage's window here, rounded once), inverse
//! transform of num, unpack.

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{Record, Recording};
use crate::gpu::fft_plan::{rfft_split, FftPlan};
use crate::gpu::kernels::RFFT_TILE;
use crate::gpu::record::{half_spectrum, pack, transform, unpack, Buf, Precision};
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::{to_f32, u32_of};
use crate::ops::resample;
use crate::stages::Resample;

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

impl Record for Resample {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let n = x.n_in as usize;
        let (fwd, inv) = (FftPlan::new(n), FftPlan::new(self.num));
        let taps =
            resample::taps_from(n, self.sampling_rate, self.new_rate, self.num, &self.window);
        x.max_complex = x.max_complex.max(fwd.scratch_len()).max(inv.scratch_len());
        let (b, cnt, cur, n_in, n_out) = (x.b, x.cnt, x.cur, x.n_in, x.n_out);
        // The bins the taps read: the half spectrum up to there is all the gather needs.
        let top = taps
            .iter()
            .map(|&(k, _, b)| if b != 0.0 { k + 1 } else { k })
            .max()
            .unwrap_or(0);
        let (s, stride) = match rfft_split(n, RFFT_TILE).filter(|_| x.r.caps().rfft) {
            Some(split) => (half_spectrum(x, &split, n, top)?, top + 1),
            None => {
                pack(x.r, Precision::F32, cur, 0, n_in, n_in, cnt)?;
                (transform(x.r, Precision::F32, 0, &fwd, false, cnt)?, 0)
            }
        };
        let d = (s + 1) % 3;
        let p = ResampleParams {
            n: n_in,
            num: n_out,
            count: cnt,
            stride: u32_of("resample bins", stride)?,
        };
        let taps = taps
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
        let s = transform(x.r, Precision::F32, d, &inv, true, cnt)?;
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

    fn describe_device(&self, n_in: usize) -> Option<Value> {
        Some(json!({
            "fft_forward": FftPlan::new(n_in).describe(),
            "rfft_forward": rfft_split(n_in, RFFT_TILE).as_ref().map(super::deconvolve::describe_split),
            "fft_inverse": FftPlan::new(self.num).describe(),
        }))
    }
}
