use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::to_f32;
use crate::stages::Differentiate;

/// shaders/differentiate.wgsl `DifferentiateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DifferentiateParams {
    pub n: u32,
    pub count: u32,
    pub dx: f32,
    pub _pad: u32,
}

impl Record for Differentiate {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let p = DifferentiateParams {
            n: x.n_in,
            count: x.cnt,
            dx: to_f32(self.dx),
            _pad: 0,
        };
        let real = x.real_bytes();
        x.to_other_buffer("differentiate", &p, real / 4, real, real)
    }
}
