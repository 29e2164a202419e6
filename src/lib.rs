//! seisbatch: ObsPy-style processing of seismic traces in bulk, with ObsPy's numbers.
//!
//! Data flow: **read -> plan -> execute -> commit (write, journal) -> report**.
//! - `read`: which files (`read::walk`, by content where names say nothing), where their
//!   responses and outputs go (`read::tree`), miniSEED records -> [`trace::Trace`] segments
//!   (`read::mseed`, `read::join`), StationXML -> channel epochs and responses
//!   (`read::stationxml`, `inventory`).
//! - `pipeline`: the TOML steps with ObsPy's names and defaults, validated up front.
//! - `plan`: steps + a trace's shape -> `plan::Shapes` (lengths, rates, starts, ObsPy's
//!   warnings and errors, per trace) -> `plan::Plan` (the stages with their f64 tables,
//!   compiled once per shape); `stages` is the stage table (one file per stage: its neutral
//!   data and its CPU twin call; `gpu::stages` records each for the device).
//! - `exec`: the `Executor` trait; `exec::cpu` runs each stage through its twin in `ops`
//!   (one file per stage, ObsPy's arithmetic in f64, docs/NUMERICS.md); `gpu` is the other
//!   executor: it records a plan's stages as data (`gpu::record`), submits them to wgpu
//!   (`gpu::runner`, kernels `shaders/<stage>.wgsl`) and runs what the device cannot on the
//!   CPU twins. `response` evaluates responses (evalresp conventions) and caches inverse tables.
//! - `engine`: the run: readers -> an executor -> writers, files committed in walk order;
//!   per-trace errors recorded, never fatal.
//! - `write`: the output folder as a boundary (`write::output`), safe unique names
//!   (`write::names`), SAC / miniSEED 2 and 3 / ASDF written atomically, the journal,
//!   `report.json`.
//! - `limits`: every bound on what an input, a trace or a command line may cost.
//! - `inspect`: `seisbatch plan`, the plan of one trace shape as text or JSON.
//!
//! **The public surface** (issue #24) is the modules a program or the Python package builds
//! on: the data (`trace`, `time`, `error`, `limits`), reading (`read`, `inventory`, `events`),
//! the operations (`pipeline`, and their f64 twins `ops`), plans (`plan`, `stages`,
//! `inspect`), the executors (`exec`, `gpu`), responses (`response`), the run (`engine`,
//! `shard`, `progress`, `write`), synthetic data (`synth`, also Python's `seisbatch.synth`),
//! and the binary as two functions: [`main`] and [`run_config`] (a `run` command line as
//! the engine's configuration, for Python's `start(argv)`). The command line's types, the
//! benchmark command, the terminal helpers, the fault hooks and small helpers are
//! crate-private; the test oracle (`reference`) exists only in test builds (integration
//! tests include its file). tests/layers.rs pins this list: a new public module is a
//! decision, written there with its reason.

pub mod archive;
mod bench;
mod cli;
mod console;
pub mod correlate;
pub mod engine;
pub mod error;
mod escape;
pub mod events;
pub mod exec;
mod faults;
mod geodesy;
pub mod gpu;
pub mod inspect;
pub mod inventory;
pub mod limits;
mod once_map;
pub mod ops;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod qc;
pub mod read;
#[cfg(test)]
mod reference;
pub mod response;
pub mod shard;
pub mod stages;
pub mod store;
pub mod synth;
pub mod synth_array;
pub mod time;
pub mod trace;
pub mod write;

pub use cli::{main, run_config};
