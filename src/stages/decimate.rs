//! Every factor-th sample (after the anti-alias filter stage): twin `ops::decimate::pick`,
//! kernel `decimate`.

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{OnCpu, Recording, StageOps};
use crate::exec::cpu::StageError;
use crate::gpu::u32_of;
use crate::ops::decimate;

#[derive(Debug, Clone, PartialEq)]
pub struct Decimate {
    pub factor: usize,
}

/// shaders/decimate.wgsl `DecimateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DecimateParams {
    pub n_in: u32,
    pub n_out: u32,
    pub count: u32,
    pub factor: u32,
}

impl StageOps for Decimate {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        x.tr.data = decimate::pick(&x.tr.data, self.factor);
        Ok(())
    }

    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let p = DecimateParams {
            n_in: x.n_in,
            n_out: x.n_out,
            count: x.cnt,
            factor: u32_of("decimation factor", self.factor)?,
        };
        let out = x.b * u64::from(x.n_out) * 4;
        // A strided read still moves whole cache lines: at most the input.
        let reads = x.real_bytes().min(out * 8);
        x.to_other_buffer("decimate", &p, out / 4, reads, out)
    }

    fn describe(&self) -> Value {
        json!({"factor": self.factor})
    }
}
