//! f64 implementations of the ObsPy operations, one file per stage (`shaders/<stage>.wgsl`
//! is each one's GPU twin), plus the shape rules the plan asks of them (what length, rate
//! and warning a step gives, and when ObsPy refuses). `exec::cpu` runs a plan's stages
//! through these; `fft` and `iir` are the transforms and filter designs they share.

pub mod decimate;
pub mod deconvolve;
pub mod detrend;
pub mod differentiate;
pub mod fft;
pub mod filter;
pub mod iir;
pub mod integrate;
pub mod interpolate;
pub mod normalize;
pub mod remove_sensitivity;
pub mod resample;
pub mod rotate;
pub mod taper;
pub mod trim;

use std::sync::Arc;

use crate::error::TraceError;
use crate::response::Response;
use crate::trace::Trace;

/// What `remove_response` needs from the outside: the channel epoch's response for a trace
/// (looked up at the trace's current start time, as ObsPy does) and the shared cache.
pub trait ResponseSource: Sync {
    fn response_for(&self, tr: &Trace) -> Result<(usize, Arc<Response>), TraceError>;

    /// The trace's event, or why it has none.
    fn event(&self) -> Result<crate::events::Event, &str> {
        Err("the trace has no event")
    }

    /// The origin time of the trace's event (`origin+S` trim bounds), or why it has none.
    fn origin(&self) -> Result<i64, &str> {
        self.event().map(|e| e.time_ns)
    }

    /// The trace's channel epoch coordinates and orientation, where the inventory has them.
    fn coordinates(&self, _tr: &Trace) -> Option<crate::read::stationxml::Coordinates> {
        None
    }

    /// Which input folder the trace comes from (rotate never groups across folders: two
    /// events' traces of a station are not one rotation).
    fn folder(&self) -> usize {
        0
    }

    /// Whether the call this trace belongs to was interrupted (Python's Ctrl-C): the
    /// executors stop between stages, so a long trace does not hold the caller up.
    fn interrupted(&self) -> bool {
        false
    }
}
