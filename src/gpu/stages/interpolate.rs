use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::record::{Buf, Caps, MAX_LOOP};
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::{to_f32, u32_of};
use crate::ops::interpolate::InterpMethod;
use crate::stages::Interpolate;

/// shaders/interpolate.wgsl `InterpolateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct InterpolateParams {
    pub n: u32,
    pub npts: u32,
    pub count: u32,
    pub a: u32,
}

/// shaders/interpolate.wgsl `GridPoint`: output position = idx + frac input samples.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct GridPoint {
    pub idx: i32,
    pub frac: f32,
}

/// Output sample at input position `pos`: its integer index and fraction (f64 here; the
/// fraction rounded to f32 once). In f32, `j * dt_factor` would lose the fraction on long
/// traces.
#[expect(
    clippy::cast_possible_truncation,
    reason = "pos lies within the trace, whose length host_reason bounds by 2^24 samples"
)]
fn grid_point(pos: f64) -> GridPoint {
    let idx = pos.floor();
    GridPoint {
        idx: idx as i32,
        frac: to_f32(pos - idx),
    }
}

impl Record for Interpolate {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let grid: Vec<GridPoint> = (0..x.n_out)
            .map(|j| grid_point(self.offset + f64::from(j) * self.dt_factor))
            .collect();
        let g =
            x.r.table("interpolate grid", bytemuck::cast_slice(&grid).to_vec());
        let p = InterpolateParams {
            n: x.n_in,
            npts: x.n_out,
            count: x.cnt,
            a: u32_of("lanczos a", self.a.unwrap_or(0))?,
        };
        let out = x.b * u64::from(x.n_out) * 4;
        let cur = x.cur;
        x.r.dispatch(
            "interpolate",
            &p,
            &[(1, Buf::Real(cur)), (2, Buf::Real(1 - cur)), (3, g)],
            out / 4,
            WORKGROUP,
            x.real_bytes(),
            out,
        )?;
        x.cur = 1 - cur;
        Ok(())
    }

    fn device_limit(&self, _caps: &Caps) -> Option<String> {
        if self.method != InterpMethod::Lanczos {
            return Some(format!(
                "interpolate method {:?} (the device has lanczos)",
                self.method
            ));
        }
        self.a
            .is_none_or(|a| 2 * a + 1 > MAX_LOOP)
            .then(|| format!("lanczos with a = {:?}", self.a))
    }
}
