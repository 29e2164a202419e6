use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::{to_f32, u32_of};
use crate::stages::Trim;

/// shaders/trim.wgsl `TrimParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct TrimParams {
    pub n_in: u32,
    pub n_out: u32,
    pub count: u32,
    pub pad_before: u32,
    pub skip: u32,
    pub keep: u32,
    pub fill: f32,
    pub _pad: u32,
}

impl Record for Trim {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let p = TrimParams {
            n_in: x.n_in,
            n_out: x.n_out,
            count: x.cnt,
            pad_before: u32_of("trim fills", self.pad_before)?,
            skip: u32_of("trim start", self.skip)?,
            keep: u32_of("trim length", self.keep)?,
            fill: to_f32(self.fill),
            _pad: 0,
        };
        let out = x.b * u64::from(x.n_out) * 4;
        x.to_other_buffer("trim", &p, out / 4, x.b * self.keep as u64 * 4, out)
    }
}
