//! The stage table: every stage the executors run, one line of `stages!` below and one file
//! here each. A stage's file holds its data (the f64 parameters and tables a plan gives it,
//! backend-neutral: no FFT splits, no f32, no device types), its meaning as its CPU twin call
//! (`src/ops/<stage>.rs`), and its description for `seisbatch plan`. The GPU's recording of a
//! stage (its kernels' dispatches and parameter structs, `shaders/<stage>.wgsl`) is
//! `src/gpu/stages/<stage>.rs`, listed in `gpu::stages`' table in the same order.
//!
//! Adding a stage: a line below and in `gpu::stages`, `src/stages/<stage>.rs`,
//! `src/gpu/stages/<stage>.rs`, `shaders/<stage>.wgsl`, `src/ops/<stage>.rs`, tests. (A new
//! *operation* also needs its file in `pipeline/ops` and its line in `pipeline`'s table.)

pub mod decimate;
pub mod deconvolve;
pub mod detrend;
pub mod differentiate;
pub mod filter;
pub mod integrate;
pub mod interpolate;
pub mod normalize;
pub mod remove_sensitivity;
pub mod resample;
pub mod taper;
pub mod trim;

pub use decimate::Decimate;
pub use deconvolve::Deconvolve;
pub use detrend::Detrend;
pub use differentiate::Differentiate;
pub use filter::Filter;
pub use integrate::Integrate;
pub use interpolate::Interpolate;
pub use normalize::Normalize;
pub use remove_sensitivity::RemoveSensitivity;
pub use resample::Resample;
pub use taper::Taper;
pub use trim::Trim;

use serde_json::Value;

use crate::error::TraceError;
use crate::inventory::ResponseSource;
use crate::ops::interpolate::Grid;
use crate::response::cache::{ResponseCache, TableSpec};
use crate::trace::Trace;

/// Why a stage failed: ObsPy's message for the step, or a trace-level error (a response).
#[derive(Debug)]
pub enum StageError {
    Op(String),
    Trace(TraceError),
}

impl From<String> for StageError {
    fn from(s: String) -> Self {
        StageError::Op(s)
    }
}

/// A response table the plan's stages need per trace (looked up by the trace's id and time,
/// `inventory::table_at`): which step asked for it and what table.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseNeed {
    pub step: usize,
    pub spec: TableSpec,
}

/// What running a stage through its CPU twin needs: the plan's response needs, the trace's
/// new grid where its step has one (interpolate), the trace, and where responses come from.
pub struct OnCpu<'a> {
    pub needs: &'a [ResponseNeed],
    pub grid: Option<&'a Grid>,
    pub tr: &'a mut Trace,
    pub responses: &'a dyn ResponseSource,
    pub cache: &'a ResponseCache,
}

/// What every stage does; the `Stage` enum dispatches to it.
pub trait StageOps {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError>;
    /// Parameters for `seisbatch plan`.
    fn describe(&self) -> Value;
    /// Bytes of the tables it holds (the plan cache's bound).
    fn table_bytes(&self) -> usize {
        0
    }
}

macro_rules! stages {
    ($($variant:ident = $name:literal;)*) => {
        /// One stage with its parameters and tables, all f64 (the GPU executor rounds to f32
        /// where it uploads). Tables are shared (`Arc`): a cached plan serves every trace of
        /// its shape.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Stage {
            $($variant($variant),)*
        }

        /// The stage names in table order: shader file, CPU twin, bench id, GPU label,
        /// `--cpu-stages`.
        pub const NAMES: &[&str] = &[$($name,)*];

        impl Stage {
            /// Position in the table (and in `gpu::stages::SHADERS`).
            pub fn index(&self) -> usize {
                let mut i = 0;
                $(
                    if let Stage::$variant(_) = self {
                        return i;
                    }
                    i += 1;
                )*
                i
            }

            fn ops(&self) -> &dyn StageOps {
                match self {
                    $(Stage::$variant(s) => s,)*
                }
            }
        }

        $(
            impl From<$variant> for Stage {
                fn from(s: $variant) -> Stage {
                    Stage::$variant(s)
                }
            }
        )*
    };
}

stages! {
    Detrend = "detrend";
    Taper = "taper";
    Deconvolve = "deconvolve";
    Filter = "filter";
    Resample = "resample";
    Interpolate = "interpolate";
    Decimate = "decimate";
    Integrate = "integrate";
    Differentiate = "differentiate";
    Normalize = "normalize";
    RemoveSensitivity = "remove_sensitivity";
    Trim = "trim";
}

impl Stage {
    /// The stage name: shader file, CPU twin, bench id, GPU label.
    pub fn name(&self) -> &'static str {
        NAMES[self.index()]
    }

    pub fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        self.ops().cpu(x)
    }

    pub fn describe(&self) -> Value {
        self.ops().describe()
    }

    pub fn table_bytes(&self) -> usize {
        self.ops().table_bytes()
    }
}

/// The stage names, in table order (`--cpu-stages` accepts these).
pub fn stage_names() -> impl Iterator<Item = &'static str> {
    NAMES.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_has_its_twin_and_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in stage_names() {
            for f in [
                format!("shaders/{name}.wgsl"),
                format!("src/ops/{name}.rs"),
                format!("src/stages/{name}.rs"),
                format!("src/gpu/stages/{name}.rs"),
            ] {
                assert!(root.join(&f).is_file(), "{f}");
            }
        }
    }
}
