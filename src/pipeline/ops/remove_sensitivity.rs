//! `Trace.remove_sensitivity(inventory)`: divide by the epoch's InstrumentSensitivity value.
//! No keys: ObsPy's `inventory` is the event's resp/ folder and --inventory.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::pipeline::build::{Build, TableSpec};
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoveSensitivity {}

impl Operation for RemoveSensitivity {
    const NEEDS_RESPONSE: bool = true;

    fn parse(_k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        Ok(RemoveSensitivity {})
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let n = s.before.npts;
        // Even for no samples: ObsPy looks the response up (and fails without one).
        let response = b.next_response();
        b.push(stages::RemoveSensitivity { response }, n, n);
        b.need_response(TableSpec::Sensitivity);
        Ok(())
    }
}
