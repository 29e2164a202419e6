//! The response tables a trace needs for its plan, looked up on the host: one per
//! remove_response (or remove_sensitivity) step, each at the start the trace has when that
//! step runs (ObsPy's rule), from the process-wide cache. The GPU executor uploads them; a
//! trace without a usable response fails here with the reason the CPU path gives.

use crate::error::TraceError;
use crate::inventory::{table_at, ResponseSource};
use crate::plan::{Plan, Shapes};
use crate::response::cache::{ResponseCache, Table};
use crate::trace::Trace;

/// The tables trace `t` needs for `plan`, each looked up at the start the trace has when
/// its step runs (`inventory::table_at`, the CPU stages' lookup too).
pub fn tables_for(
    plan: &Plan,
    t: &Trace,
    shapes: &Shapes,
    responses: &dyn ResponseSource,
    cache: &ResponseCache,
) -> Result<Vec<Table>, TraceError> {
    plan.responses
        .iter()
        .map(|need| {
            let at = shapes.steps[need.step].before.start_ns;
            table_at(responses, cache, t.codes(), at, &need.spec).map(|(_, table)| table)
        })
        .collect()
}
