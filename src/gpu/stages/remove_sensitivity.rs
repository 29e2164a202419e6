use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::record::Buf;
use crate::gpu::sizing::WORKGROUP;
use crate::response::cache::SENSITIVITY;
use crate::stages::RemoveSensitivity;

/// shaders/remove_sensitivity.wgsl `SensitivityParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct SensitivityParams {
    pub n: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

impl Record for RemoveSensitivity {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let p = SensitivityParams {
            n: x.n_in,
            count: x.cnt,
            _pad0: 0,
            _pad1: 0,
        };
        let real = x.real_bytes();
        x.r.dispatch(
            "remove_sensitivity",
            &p,
            &[
                (1, Buf::Real(x.cur)),
                (2, Buf::Responses(SENSITIVITY)),
                (3, Buf::Slots(self.response)),
            ],
            real / 4,
            WORKGROUP,
            real + x.b * 12,
            real,
        )
    }
}
