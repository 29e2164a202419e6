use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::record::Buf;
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::to_f32;
use crate::stages::Normalize;

/// shaders/normalize.wgsl `NormalizeParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct NormalizeParams {
    pub n: u32,
    pub count: u32,
    pub given: u32,
    pub divisor: f32,
}

impl Record for Normalize {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let p = NormalizeParams {
            n: x.n_in,
            count: x.cnt,
            given: u32::from(self.norm.is_some()),
            divisor: to_f32(self.norm.map_or(0.0, f64::abs)),
        };
        let (b, real) = (x.b, x.real_bytes());
        let bind = [(1, Buf::Real(x.cur)), (2, Buf::Fit)];
        if self.norm.is_none() {
            x.r.dispatch(
                "normalize_peak",
                &p,
                &bind,
                b * u64::from(WORKGROUP),
                WORKGROUP,
                real,
                b * 8,
            )?;
        }
        x.r.dispatch(
            "normalize_apply",
            &p,
            &bind,
            real / 4,
            WORKGROUP,
            real + b * 8,
            real,
        )
    }

    /// A given norm the device's float32 cannot hold (1e-300 is 0 there, which the kernel
    /// reads as "leave the trace alone"; 1e300 is inf): the division runs on the CPU twin.
    fn device_limit(&self, _caps: &crate::gpu::record::Caps) -> Option<String> {
        // 0 is ObsPy's "leave the trace unchanged", which the kernel does too.
        let norm = self.norm?.abs();
        (norm != 0.0 && !to_f32(norm).is_normal())
            .then(|| format!("normalize with norm = {norm:e} (float32 cannot hold it)"))
    }
}
