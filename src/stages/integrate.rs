//! `integrate` (cumtrapz): twin `ops::integrate::cumtrapz`, kernel `integrate` (a scan per
//! trace, into the other real buffer); ObsPy's `method="spline"` is a host stage (an
//! interpolating spline is a banded solve over the whole trace: `ops::lsq::spline_integral`).

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{OnCpu, Recording, StageOps};
use crate::exec::cpu::StageError;
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::to_f32;
use crate::ops::integrate;

#[derive(Debug, Clone, PartialEq)]
pub struct Integrate {
    /// The trace's sample spacing (s).
    pub dx: f64,
    /// `method="spline"` with this degree `k`; None: cumtrapz.
    pub spline: Option<usize>,
}

/// shaders/integrate.wgsl `IntegrateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct IntegrateParams {
    pub n: u32,
    pub count: u32,
    pub dx: f32,
    pub _pad: u32,
}

impl StageOps for Integrate {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        match self.spline {
            None => {
                integrate::cumtrapz(&mut x.tr.data, self.dx);
                Ok(())
            }
            Some(k) => {
                x.tr.data = crate::ops::lsq::spline_integral(&x.tr.data, self.dx, k)
                    .map_err(StageError::Op)?;
                Ok(())
            }
        }
    }

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

    fn describe(&self) -> Value {
        match self.spline {
            None => json!({"method": "cumtrapz", "dx": self.dx}),
            Some(k) => json!({"method": "spline", "k": k, "dx": self.dx}),
        }
    }

    fn device_limit(&self, caps: &crate::gpu::record::Caps) -> Option<String> {
        if self.spline.is_some() {
            return Some("integrate spline (an interpolating spline on the host)".into());
        }
        (!caps.shader_f64)
            .then(|| "integrate (the adapter has no SHADER_F64 for the f64 running sum)".into())
    }
}
