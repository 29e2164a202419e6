use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::record::{Buf, Caps, Fusable};
use crate::gpu::sizing::WORKGROUP;
use crate::ops::detrend::DetrendType;
use crate::stages::Detrend;

/// shaders/detrend.wgsl `DetrendParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DetrendParams {
    pub n: u32,
    pub count: u32,
    /// 0 demean, 1 linear, 2 simple.
    pub kind: u32,
    pub _pad: u32,
}

impl Record for Detrend {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        // Opening the program, a detrend has nothing left to do: the upload removed each
        // trace's f64 line before rounding to f32 (`Program::centre`), which is the whole of
        // ObsPy's detrend, and more exactly than an f32 fit on the device (issue #23).
        if x.first && self.kind.is_line() {
            return Ok(());
        }
        let p = DetrendParams {
            n: x.n_in,
            count: x.cnt,
            kind: match self.kind {
                DetrendType::Demean => 0,
                DetrendType::Linear => 1,
                DetrendType::Simple => 2,
                DetrendType::Polynomial { .. } | DetrendType::Spline { .. } => {
                    return Err(format!("detrend {:?} has no kernel", self.kind))
                }
            },
            _pad: 0,
        };
        let (b, real) = (x.b, x.real_bytes());
        let fit = [(1, Buf::Real(x.cur)), (2, Buf::Fit)];
        x.r.dispatch(
            "detrend_fit",
            &p,
            &fit,
            b * u64::from(WORKGROUP),
            WORKGROUP,
            real,
            b * 8,
        )?;
        x.r.dispatch(
            "detrend_apply",
            &p,
            &fit,
            real / 4,
            WORKGROUP,
            real + b * 8,
            real,
        )?;
        x.r.mark_fusable(Fusable::Line {
            buffer: x.cur,
            kind: p.kind,
        });
        Ok(())
    }

    /// The polynomial and spline fits are least-squares solves over the whole trace: the
    /// host's f64 twin (between the device's stages), not a kernel.
    fn device_limit(&self, _caps: &Caps) -> Option<String> {
        (!self.kind.is_line()).then(|| {
            format!(
                "detrend {} (a least-squares fit on the host)",
                match self.kind {
                    DetrendType::Polynomial { .. } => "polynomial",
                    _ => "spline",
                }
            )
        })
    }
}
