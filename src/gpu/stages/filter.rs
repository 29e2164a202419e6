use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::record::{Buf, Caps};
use crate::gpu::u32_of;
use crate::stages::Filter;

/// shaders/filter.wgsl `FilterParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct FilterParams {
    pub n: u32,
    pub count: u32,
    pub sections: u32,
    pub reverse: u32,
    pub t0: u32,
    pub len: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// Samples per filter_sos dispatch: CHUNK x (MAX_SECTIONS + 2) loop iterations stays below
/// llvmpipe's 65535 per invocation, and keeps every invocation short on real GPUs.
pub const FILTER_CHUNK: u32 = 2048;

/// shaders/filter.wgsl `MAX_SECTIONS`: the per-invocation state arrays' length.
pub const MAX_SECTIONS: usize = 16;

/// Workgroup size of filter_sos (one invocation per trace); every other kernel uses 256.
pub const FILTER_WORKGROUP: u32 = 64;

impl Record for Filter {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let flat: Vec<f64> = self.sos.iter().flatten().copied().collect();
        let s =
            x.r.table("filter sections", bytemuck::cast_slice(&flat).to_vec());
        let state = (MAX_SECTIONS * 16) as u64;
        x.state = x.state.max(state);
        let (b, n) = (x.b, x.n_in);
        for reverse in [false, true]
            .into_iter()
            .take(1 + usize::from(self.zerophase))
        {
            for t0 in (0..n).step_by(FILTER_CHUNK as usize) {
                let p = FilterParams {
                    n,
                    count: x.cnt,
                    sections: u32_of("sections", self.sos.len())?,
                    reverse: u32::from(reverse),
                    t0,
                    len: FILTER_CHUNK,
                    _pad0: 0,
                    _pad1: 0,
                };
                let chunk = b * u64::from(FILTER_CHUNK.min(n - t0)) * 4;
                x.r.dispatch(
                    "filter_sos",
                    &p,
                    &[(1, Buf::Real(x.cur)), (2, s), (3, Buf::FilterState)],
                    b,
                    FILTER_WORKGROUP,
                    chunk + b * state,
                    chunk + b * state,
                )?;
            }
        }
        Ok(())
    }

    fn device_limit(&self, caps: &Caps) -> Option<String> {
        if !caps.shader_f64 {
            return Some("filter (the adapter has no SHADER_F64 for the f64 recursion)".into());
        }
        (self.sos.len() > MAX_SECTIONS).then(|| {
            format!(
                "a filter of {} sections (the kernel holds at most {MAX_SECTIONS})",
                self.sos.len()
            )
        })
    }
}
