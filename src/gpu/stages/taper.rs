use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::record::{f32_bytes, Buf, Fusable};
use crate::gpu::sizing::WORKGROUP;
use crate::stages::Taper;

/// shaders/taper.wgsl `TaperParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct TaperParams {
    pub n: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

impl Record for Taper {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let p = TaperParams {
            n: x.n_in,
            count: x.cnt,
            _pad0: 0,
            _pad1: 0,
        };
        let whole: Vec<f64> = self.window.iter().collect();
        let w = x.r.table("taper window", f32_bytes(&whole));
        let real = x.real_bytes();
        x.r.dispatch(
            "taper",
            &p,
            &[(1, Buf::Real(x.cur)), (2, w)],
            real / 4,
            WORKGROUP,
            real,
            real,
        )?;
        x.r.mark_fusable(Fusable::Window {
            buffer: x.cur,
            window: w,
        });
        Ok(())
    }
}
