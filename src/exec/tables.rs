//! The response tables a trace needs for its plan, looked up on the host: one per
//! remove_response (or remove_sensitivity) step, each at the start the trace has when that
//! step runs (ObsPy's rule), from the process-wide cache. The GPU executor uploads them; a
//! trace without a usable response fails here with the reason the CPU path gives.

use crate::error::TraceError;
use crate::inventory::ResponseSource;
use crate::plan::{Plan, Shapes};
use crate::response::cache::{ResponseCache, Table};
use crate::trace::Trace;

/// The inverse tables trace `t` needs for `plan`, each looked up at the start the trace has
/// when its remove_response step runs.
pub fn tables_for(
    plan: &Plan,
    t: &Trace,
    shapes: &Shapes,
    responses: &dyn ResponseSource,
    cache: &ResponseCache,
) -> Result<Vec<Table>, TraceError> {
    let mut tables = Vec::with_capacity(plan.responses.len());
    for need in &plan.responses {
        let before = shapes.steps[need.step].before;
        let at = Trace {
            network: t.network.clone(),
            station: t.station.clone(),
            location: t.location.clone(),
            channel: t.channel.clone(),
            start_ns: before.start_ns,
            sampling_rate: before.sampling_rate,
            data: Vec::new(),
        };
        let (rid, resp) = responses.response_for(&at)?;
        let table = cache.table(
            rid,
            &resp,
            need.delta,
            need.nfft,
            need.output,
            need.water_level,
            need.pre_filt,
        );
        if let Err(m) = table.as_ref() {
            return Err(TraceError::BadResponse {
                id: t.id(),
                message: m.clone(),
            });
        }
        tables.push(table);
    }
    Ok(tables)
}
