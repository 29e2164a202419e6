use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::to_f32;
use crate::stages::Integrate;

/// shaders/integrate.wgsl `IntegrateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct IntegrateParams {
    pub n: u32,
    pub count: u32,
    pub dx: f32,
    pub _pad: u32,
}

impl Record for Integrate {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        if self.spline.is_some() {
            return Err("integrate method spline has no kernel".into());
        }
        let p = IntegrateParams {
            n: x.n_in,
            count: x.cnt,
            dx: to_f32(self.dx),
            _pad: 0,
        };
        let real = x.real_bytes();
        // Each chunk is read twice (its sum, then its running sum), from cache the second time.
        x.to_other_buffer("integrate", &p, x.b * u64::from(WORKGROUP), real, real)
    }

    fn device_limit(&self, caps: &crate::gpu::record::Caps) -> Option<String> {
        if self.spline.is_some() {
            return Some("integrate spline (an interpolating spline on the host)".into());
        }
        (!caps.shader_f64)
            .then(|| "integrate (the adapter has no SHADER_F64 for the f64 running sum)".into())
    }
}
