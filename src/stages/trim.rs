//! `trim`: the trace's `ops::trim::Cut` (fills, kept samples, fills), worked out per trace by
//! the plan's walk from ObsPy's arithmetic. Twin `Cut::apply`; kernel `trim` (a gather into
//! the other real buffer).

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{OnCpu, Recording, StageOps};
use crate::exec::cpu::StageError;
use crate::gpu::{to_f32, u32_of};
use crate::ops::trim::Cut;

#[derive(Debug, Clone, PartialEq)]
pub struct Trim {
    pub pad_before: usize,
    pub skip: usize,
    pub keep: usize,
    pub pad_after: usize,
    /// `fill_value` (only read where there are fills).
    pub fill: f64,
}

/// shaders/trim.wgsl `TrimParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct TrimParams {
    pub n_in: u32,
    pub n_out: u32,
    pub count: u32,
    pub pad_before: u32,
    pub skip: u32,
    pub keep: u32,
    pub fill: f32,
    pub _pad: u32,
}

impl Trim {
    fn cut(&self) -> Cut {
        Cut {
            pad_before: self.pad_before,
            skip: self.skip,
            keep: self.keep,
            pad_after: self.pad_after,
            start_ns: 0,
        }
    }
}

impl StageOps for Trim {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        if self.skip + self.keep > x.tr.data.len() {
            return Err(StageError::Op(format!(
                "internal: a trim of samples {}..{} of {}",
                self.skip,
                self.skip + self.keep,
                x.tr.data.len()
            )));
        }
        x.tr.data = self.cut().apply(&x.tr.data, self.fill);
        Ok(())
    }

    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let p = TrimParams {
            n_in: x.n_in,
            n_out: x.n_out,
            count: x.cnt,
            pad_before: u32_of("trim fills", self.pad_before)?,
            skip: u32_of("trim start", self.skip)?,
            keep: u32_of("trim length", self.keep)?,
            fill: to_f32(self.fill),
            _pad: 0,
        };
        let out = x.b * u64::from(x.n_out) * 4;
        x.to_other_buffer("trim", &p, out / 4, x.b * self.keep as u64 * 4, out)
    }

    fn describe(&self) -> Value {
        json!({
            "fills_before": self.pad_before,
            "first_kept": self.skip,
            "kept": self.keep,
            "fills_after": self.pad_after,
            "fill_value": self.fill,
        })
    }
}
