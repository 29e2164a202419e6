//! `taper` (also remove_response's taper): the whole-trace window, ones between the tapered
//! ends; twin: a multiplication (`ops::taper` builds the window), kernel `taper`.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{OnCpu, Recording, StageOps};
use crate::exec::cpu::StageError;
use crate::gpu::record::{f32_bytes, Buf, Fusable};
use crate::gpu::sizing::WORKGROUP;

#[derive(Debug, Clone, PartialEq)]
pub struct Taper {
    pub window: Arc<[f64]>,
}

/// shaders/taper.wgsl `TaperParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct TaperParams {
    pub n: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

impl StageOps for Taper {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        x.tr.data
            .iter_mut()
            .zip(self.window.iter())
            .for_each(|(v, w)| *v *= w);
        Ok(())
    }

    fn record(&self, x: &mut Recording) -> Result<(), String> {
        let p = TaperParams {
            n: x.n_in,
            count: x.cnt,
            _pad0: 0,
            _pad1: 0,
        };
        let w = x.r.table("taper window", f32_bytes(&self.window));
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

    fn describe(&self) -> Value {
        json!({
            "window_samples": self.window.len(),
            "tapered_samples": self.window.iter().filter(|&&w| w != 1.0).count(),
        })
    }

    fn table_bytes(&self) -> usize {
        self.window.len() * 8
    }
}
