//! seisbatch: ObsPy-style processing of seismic traces in bulk, with ObsPy's numbers.
//!
//! Data flow: **read -> process -> commit (write, journal) -> report**.
//! - `read`: which files (`read::walk`, by content where names say nothing), miniSEED records
//!   -> [`trace::Trace`] segments (`read::mseed`, `read::join`), StationXML -> channel epochs
//!   and responses (`read::stationxml`, `inventory`), input layouts (`read::layout`).
//! - `pipeline`: the TOML steps with ObsPy's names and defaults, validated up front.
//! - `ops`: one file per stage, f64 CPU implementations following docs/NUMERICS.md;
//!   `response` evaluates responses (evalresp conventions) and caches inverse tables.
//! - `gpu`: the same stages as wgpu kernels (`shaders/<stage>.wgsl`, each the twin of
//!   `ops/<stage>.rs`), batched by trace shape, falling back to the CPU trace by trace.
//! - `engine`: files in parallel on the CPU or through the device, committed in walk order;
//!   per-trace errors recorded, never fatal.
//! - `write`: the output folder as a boundary (`write::output`), safe unique names
//!   (`write::names`), SAC / miniSEED 2 and 3 / ASDF written atomically, the journal,
//!   `report.json`.
//! - `limits`: every bound on what an input, a trace or a command line may cost.

pub mod bench;
pub mod cli;
pub mod console;
pub mod engine;
pub mod error;
pub mod exec;
pub mod gpu;
pub mod inspect;
pub mod inventory;
pub mod limits;
pub mod once_map;
pub mod ops;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod read;
pub mod reference;
pub mod response;
pub mod shard;
pub mod synth;
pub mod time;
pub mod trace;
pub mod write;
