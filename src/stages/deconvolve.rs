//! remove_response's frequency-domain part: pad to nfft, rfft, times the trace's inverse
//! table (`Plan::responses[response]`), Nyquist magnitude, irfft, truncate. Twin
//! `ops::deconvolve`; on the device the FFT kernels around `deconvolve`. simulate's is the
//! same with one table for every trace (`fixed`: poles and zeros from the pipeline), run on
//! the CPU twin.

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{OnCpu, Recording, StageOps};
use crate::exec::cpu::StageError;
use crate::gpu::kernels::FftParams;
use crate::gpu::record::{deconvolve_fused, pack, transform, unpack, Buf, Precision};
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::{to_f32, u32_of};
use crate::inventory::table_at;
use crate::ops::deconvolve;
use crate::plan::fft::{FftPlan, RfftSplit};

#[derive(Debug, Clone, PartialEq)]
pub struct Deconvolve {
    pub nfft: usize,
    pub fft: FftPlan,
    /// The three-pass path's split (shaders/rfft.wgsl), when nfft has one.
    pub rfft: Option<RfftSplit>,
    /// Index into `Plan::responses`.
    pub response: usize,
    /// simulate's table (nfft / 2 + 1 bins), the same for every trace: no lookup.
    pub fixed: Option<std::sync::Arc<[num_complex::Complex64]>>,
}

impl Deconvolve {
    /// The deconvolution of an `nfft`-point transform by the table of
    /// `Plan::responses[response]`, with its FFT plans.
    pub fn new(nfft: usize, response: usize) -> Deconvolve {
        Deconvolve {
            nfft,
            fft: FftPlan::new(nfft),
            rfft: crate::plan::fft::rfft_split(nfft, crate::gpu::kernels::RFFT_TILE),
            response,
            fixed: None,
        }
    }

    /// The deconvolution by `table` for every trace (simulate's).
    pub fn fixed(nfft: usize, table: Vec<num_complex::Complex64>) -> Deconvolve {
        Deconvolve {
            fixed: Some(table.into()),
            ..Deconvolve::new(nfft, 0)
        }
    }
}

/// shaders/deconvolve.wgsl `DeconvolveParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DeconvolveParams {
    pub nfft: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

impl StageOps for Deconvolve {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        if let Some(table) = &self.fixed {
            deconvolve::deconvolve_in_place(&mut x.tr.data, table, self.nfft);
            return Ok(());
        }
        let need = &x.plan.responses[self.response];
        let tr = x.tr;
        let (_, table) = table_at(x.responses, x.cache, tr.codes(), tr.start_ns, &need.spec)
            .map_err(StageError::Trace)?;
        let Ok(table) = table.as_ref() else {
            // table_at returns only tables that were built.
            return Err(StageError::Op("no response table".into()));
        };
        deconvolve::deconvolve_in_place(&mut tr.data, table, self.nfft);
        Ok(())
    }

    fn record(&self, x: &mut Recording) -> Result<(), String> {
        if self.fixed.is_some() {
            return Err("simulate's table has no device pool".into());
        }
        let caps = x.r.caps();
        // f64 first (shaders/fft64.wgsl: the water level lifts an f32 transform's noise in
        // the instrument's weak bins to ~1e-5 of the result), then the fused f32 passes.
        let prec = if caps.shader_f64 && caps.f64_transforms {
            Precision::F64
        } else if let Some(split) = self.rfft.as_ref().filter(|_| caps.rfft) {
            return deconvolve_fused(x, split, self.nfft, self.response);
        } else {
            Precision::F32
        };
        x.max_complex = x.max_complex.max(self.fft.scratch_len() * prec.slots());
        let nf = u32_of("nfft", self.nfft)?;
        let (b, cnt, cur) = (x.b, x.cnt, x.cur);
        pack(x.r, prec, cur, 0, x.n_in, nf, cnt)?;
        let s = transform(x.r, prec, 0, &self.fft, false, cnt)?;
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
                &[
                    (1, Buf::Complex(s)),
                    (2, Buf::Responses(self.nfft)),
                    (3, Buf::Slots(self.response)),
                ],
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
                &[
                    (2, Buf::Complex(s)),
                    (6, Buf::Responses(self.nfft)),
                    (7, Buf::Slots(self.response)),
                ],
                b * u64::from(nf),
                WORKGROUP,
                spec + table,
                spec,
            )?,
        }
        let s = transform(x.r, prec, s, &self.fft, true, cnt)?;
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

    /// simulate's fixed table runs on the CPU twin (the device's tables come per trace from
    /// the response pool).
    fn device_limit(&self, _caps: &crate::gpu::record::Caps) -> Option<String> {
        self.fixed
            .as_ref()
            .map(|_| "simulate (its poles-and-zeros table on the host)".into())
    }

    fn table_bytes(&self) -> usize {
        self.fixed.as_ref().map_or(0, |t| t.len() * 16)
    }

    fn describe(&self) -> Value {
        if self.fixed.is_some() {
            return json!({"nfft": self.nfft, "table": "poles and zeros (simulate)"});
        }
        json!({
            "nfft": self.nfft,
            "fft": self.fft.describe(),
            "rfft": self.rfft.as_ref().map(|s| json!({
                "n1": s.n1, "n2": s.n2, "radices1": s.radices1, "radices2": s.radices2,
            })),
            "response_table": self.response,
        })
    }
}
