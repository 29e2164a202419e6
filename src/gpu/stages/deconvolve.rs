//! remove_response's (and simulate's) deconvolution on the device: its FFT plan and rfft
//! split derived from nfft here, then pack, transform, `deconvolve` (or `fft64_deconvolve`),
//! inverse transform, unpack; or the three fused rfft passes.

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{Record, Recording};
use crate::gpu::fft_plan::{rfft_split, FftPlan, RfftSplit};
use crate::gpu::kernels::FftParams;
use crate::gpu::kernels::RFFT_TILE;
use crate::gpu::record::{deconvolve_fused, f32_bytes, pack, transform, unpack, Buf, Precision};
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::{to_f32, u32_of};
use crate::stages::Deconvolve;

/// shaders/deconvolve.wgsl `DeconvolveParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DeconvolveParams {
    pub nfft: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// remove_response's transform pair around the response multiply: f64 where the adapter has
/// SHADER_F64, else the fused f32 rfft passes where nfft has a split, else f32 radix passes.
impl Record for Deconvolve {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let tables = self.tables(x);
        let caps = x.r.caps();
        let fft = FftPlan::new(self.nfft);
        // f64 first (shaders/fft64.wgsl: the water level lifts an f32 transform's noise in
        // the instrument's weak bins to ~1e-5 of the result), then the fused f32 passes.
        let prec = if caps.shader_f64 && caps.f64_transforms {
            Precision::F64
        } else if let Some(split) = split(self.nfft).filter(|_| caps.rfft) {
            return deconvolve_fused(x, &split, self.nfft, tables);
        } else {
            Precision::F32
        };
        x.max_complex = x.max_complex.max(fft.scratch_len() * prec.slots());
        let nf = u32_of("nfft", self.nfft)?;
        let (b, cnt, cur) = (x.b, x.cnt, x.cur);
        pack(x.r, prec, cur, 0, x.n_in, nf, cnt)?;
        let s = transform(x.r, prec, 0, &fft, false, cnt)?;
        let spec = b * u64::from(nf) * prec.complex_bytes();
        // Each trace reads its own table (nfft/2+1 bins) and slot.
        let table = b * (u64::from(nf) / 2 + 1) * 8 + b * 4;
        match prec {
            Precision::F32 => x.r.dispatch(
                "deconvolve",
                &DeconvolveParams {
                    nfft: nf,
                    count: cnt,
                    _pad0: 0,
                    _pad1: 0,
                },
                &[(1, Buf::Complex(s)), (2, tables.0), (3, tables.1)],
                b * u64::from(nf),
                WORKGROUP,
                spec + table,
                spec,
            )?,
            Precision::F64 => x.r.dispatch(
                "fft64_deconvolve",
                &FftParams {
                    n_in: nf,
                    count: cnt,
                    ..FftParams::default()
                },
                &[(2, Buf::Complex(s)), (6, tables.0), (7, tables.1)],
                b * u64::from(nf),
                WORKGROUP,
                spec + table,
                spec,
            )?,
        }
        let s = transform(x.r, prec, s, &fft, true, cnt)?;
        unpack(
            x.r,
            prec,
            (s, cur),
            nf,
            x.n_out,
            to_f32(1.0 / f64::from(nf)),
            cnt,
        )
    }

    fn describe_device(&self, _n_in: usize) -> Option<Value> {
        if self.fixed.is_some() {
            return None;
        }
        Some(json!({
            "fft": FftPlan::new(self.nfft).describe(),
            "rfft": split(self.nfft).as_ref().map(describe_split),
        }))
    }
}

impl Deconvolve {
    /// Where each trace's table is: remove_response's in the runner's response pool (one per
    /// response, `Responses(nfft)`, the trace's slot in `Slots(response)`); simulate's one
    /// table uploaded with the program (f32, as the pool holds tables) and every slot 0.
    fn tables(&self, x: &mut Recording) -> (Buf, Buf) {
        let Some(t) = &self.fixed else {
            return (Buf::Responses(self.nfft), Buf::Slots(self.response));
        };
        let pairs: Vec<f64> = t.iter().flat_map(|c| [c.re, c.im]).collect();
        let table = x.r.table("simulate table", f32_bytes(&pairs));
        let slots = x.r.table("simulate slots", vec![0; 4 * x.cnt as usize]);
        (table, slots)
    }
}

/// The three-pass path's split of an nfft-point real transform (shaders/rfft.wgsl), when it
/// has one.
fn split(nfft: usize) -> Option<RfftSplit> {
    rfft_split(nfft, RFFT_TILE)
}

/// A split as `seisbatch plan` shows it.
pub(super) fn describe_split(s: &RfftSplit) -> Value {
    json!({"n1": s.n1, "n2": s.n2, "radices1": s.radices1, "radices2": s.radices2})
}
