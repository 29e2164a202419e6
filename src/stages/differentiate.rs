//! `differentiate` (gradient): twin `ops::differentiate::gradient`, kernel `differentiate`
//! (a three-point stencil, into the other real buffer).

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{OnCpu, Recording, StageOps};
use crate::exec::cpu::StageError;
use crate::gpu::to_f32;
use crate::ops::differentiate;

#[derive(Debug, Clone, PartialEq)]
pub struct Differentiate {
    /// The trace's sample spacing (s).
    pub dx: f64,
}

/// shaders/differentiate.wgsl `DifferentiateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DifferentiateParams {
    pub n: u32,
    pub count: u32,
    pub dx: f32,
    pub _pad: u32,
}

impl StageOps for Differentiate {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        x.tr.data = differentiate::gradient(&x.tr.data, self.dx);
        Ok(())
    }

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

    fn describe(&self) -> Value {
        json!({"method": "gradient", "dx": self.dx})
    }
}
