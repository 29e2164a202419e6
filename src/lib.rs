//! seisbatch: ObsPy-style processing of seismic traces in bulk, with ObsPy's numbers.
//!
//! Data flow: **read -> process -> write -> report**.
//! - `read`: miniSEED records -> [`trace::Trace`] segments (`read::mseed`), StationXML ->
//!   channel epochs and responses (`read::stationxml`, `inventory`), input layouts
//!   (`read::layout`).
//! - `pipeline`: the TOML steps with ObsPy's names and defaults, validated up front.
//! - `ops`: one file per stage, f64 CPU implementations following
//!   `../shared/spec/obspy-numerics.md`; `response` evaluates responses (evalresp
//!   conventions) and caches inverse tables.
//! - `engine`: files in parallel (rayon), per-trace errors recorded, never fatal.
//! - `write`: SAC / miniSEED written atomically, `report.json`.
//!
//! The GPU path (wgpu kernels with CPU twins of the same stage names) is issue #3.

pub mod bench;
pub mod cli;
pub mod engine;
pub mod error;
pub mod gpu;
pub mod inventory;
pub mod once_map;
pub mod ops;
pub mod pipeline;
pub mod progress;
pub mod read;
pub mod reference;
pub mod response;
pub mod shard;
pub mod synth;
pub mod time;
pub mod trace;
pub mod write;
