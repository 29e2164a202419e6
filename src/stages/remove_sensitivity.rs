//! `remove_sensitivity`: the samples over the epoch's InstrumentSensitivity value. Twin
//! `ops::remove_sensitivity` (ObsPy's `data / value`); on the device `remove_sensitivity` multiplies
//! by each trace's 1 / value, a one-bin table in the response pool (`plan::SENSITIVITY`).

use bytemuck::{Pod, Zeroable};
use serde_json::{json, Value};

use super::{OnCpu, Recording, StageOps};
use crate::exec::cpu::StageError;
use crate::gpu::record::Buf;
use crate::gpu::sizing::WORKGROUP;
use crate::plan::SENSITIVITY;

#[derive(Debug, Clone, PartialEq)]
pub struct RemoveSensitivity {
    /// Index into `Plan::responses`.
    pub response: usize,
}

/// shaders/remove_sensitivity.wgsl `SensitivityParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct SensitivityParams {
    pub n: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

impl StageOps for RemoveSensitivity {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        let tr = x.tr;
        // The device's lookup and checks; the division by the value itself (not a multiply
        // by the table's 1 / value: ObsPy divides).
        let spec = &x.plan.responses[self.response].spec;
        let (resp, _) =
            crate::inventory::table_at(x.responses, x.cache, tr.codes(), tr.start_ns, spec)
                .map_err(StageError::Trace)?;
        let value = resp.sensitivity.as_ref().map_or(1.0, |s| s.value);
        crate::ops::remove_sensitivity::remove_sensitivity(&mut tr.data, value);
        Ok(())
    }

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

    fn describe(&self) -> Value {
        json!({"response_table": self.response})
    }
}
