//! `remove_sensitivity`: the samples over the epoch's InstrumentSensitivity value. Twin
//! `ops::remove_sensitivity` (ObsPy's `data / value`); on the device `remove_sensitivity` multiplies
//! by each trace's 1 / value, a one-bin table in the response pool (`plan::SENSITIVITY`).

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};

#[derive(Debug, Clone, PartialEq)]
pub struct RemoveSensitivity {
    /// Index into `Plan::responses`.
    pub response: usize,
}

impl StageOps for RemoveSensitivity {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        let tr = x.tr;
        // The device's lookup and checks; the division by the value itself (not a multiply
        // by the table's 1 / value: ObsPy divides).
        let Some(spec) = x.needs.get(self.response).map(|n| &n.spec) else {
            return Err(StageError::Op("internal: no such response table".into()));
        };
        let (resp, _) =
            crate::inventory::table_at(x.responses, x.cache, tr.codes(), tr.start_ns, spec)
                .map_err(StageError::Trace)?;
        let value = resp.sensitivity.as_ref().map_or(1.0, |s| s.value);
        crate::ops::remove_sensitivity::remove_sensitivity(&mut tr.data, value);
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({"response_table": self.response})
    }
}
