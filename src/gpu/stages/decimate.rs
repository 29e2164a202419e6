use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::u32_of;
use crate::stages::Decimate;

/// shaders/decimate.wgsl `DecimateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DecimateParams {
    pub n_in: u32,
    pub n_out: u32,
    pub count: u32,
    pub factor: u32,
}

impl Record for Decimate {
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
}
