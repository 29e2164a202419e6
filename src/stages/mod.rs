//! The stage table: every stage the executors run, one line of `stages!` below and one file
//! here each. A stage's file holds its data (the f64 parameters and tables a plan gives it),
//! its CPU execution (through its twin, `src/ops/<stage>.rs`), its recording for the device
//! (dispatches of `shaders/<stage>.wgsl`, parameter struct included), what the device cannot
//! run of it, and its description for `seisbatch plan`. The shader registry, the stage names
//! (shader file, CPU twin, bench id, GPU labels, `--cpu-stages`) all come from the table.
//!
//! Adding a stage: a line below, `src/stages/<stage>.rs`, `shaders/<stage>.wgsl`,
//! `src/ops/<stage>.rs`, tests. (A new *operation* also needs its step in `pipeline` and, in
//! `plan`, its shape rule and the stages it compiles to.)

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
pub use interpolate::{GridPoint, Interpolate};
pub use normalize::Normalize;
pub use remove_sensitivity::RemoveSensitivity;
pub use resample::{Resample, Tap};
pub use taper::Taper;
pub use trim::Trim;

use serde_json::Value;

use crate::exec::cpu::StageError;
use crate::gpu::record::{Caps, Recorder};
use crate::inventory::ResponseSource;
use crate::plan::{Plan, StepShape};
use crate::response::cache::ResponseCache;
use crate::trace::Trace;

/// One shader file: its name, WGSL source (shaders/common.wgsl, then the file) and entry
/// points.
pub struct Shader {
    pub name: &'static str,
    pub source: &'static str,
    pub entries: &'static [&'static str],
}

/// The transform the FFT-based stages share (not a stage of its own).
pub const FFT: Shader = Shader {
    name: "fft",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/fft.wgsl")
    ),
    entries: &["fft_pack", "fft_pass", "fft_cmul", "fft_unpack"],
};

/// Real FFTs in workgroup memory (four-step on half the length): remove_response's transform
/// pair in three passes (the response multiply and a preceding detrend/taper fused), and
/// resample's forward transform in two (only the bins its gather reads written). Shared by
/// the deconvolve and resample stages like the FFT.
pub const RFFT: Shader = Shader {
    name: "rfft",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/rfft.wgsl")
    ),
    entries: &["rfft_in", "rfft_deconvolve", "rfft_spectrum", "rfft_out"],
};

/// remove_response's transform pair in f64 (the default where the adapter has SHADER_F64:
/// the response division lifts f32 transform noise by up to the water level).
pub const FFT64: Shader = Shader {
    name: "fft64",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/fft64.wgsl")
    ),
    entries: &[
        "fft64_pack",
        "fft64_pass",
        "fft64_cmul",
        "fft64_deconvolve",
        "fft64_unpack",
    ],
};

/// Shaders whose kernels compute in f64 and so need the adapter's SHADER_F64: the filter's
/// recursion and integrate's running sum (f32 lost up to 7e-4 and 2e-4 of their results),
/// and remove_response's f64 transforms.
/// Without it the device has no such kernel and these stages run on their CPU twins.
pub const NEEDS_F64: &[&str] = &["filter", "integrate", "fft64"];

/// Shaders after the stage table's in `SHADERS` (FFT, RFFT, FFT64), no stage of their own.
const SHARED_SHADERS: usize = 3;

/// What running a stage through its CPU twin needs: the plan (its response needs), the
/// trace's step (its grid), the trace, and where responses come from.
pub struct OnCpu<'a> {
    pub plan: &'a Plan,
    pub step: &'a StepShape,
    pub tr: &'a mut Trace,
    pub responses: &'a dyn ResponseSource,
    pub cache: &'a ResponseCache,
}

/// One stage being recorded for a batch: the recorder, the batch (`b` traces, `cnt` as the
/// shaders' u32), the stage's lengths, and the buffer state it may change.
pub struct Recording<'a, 'c> {
    pub r: &'a mut Recorder<'c>,
    pub b: u64,
    pub cnt: u32,
    pub n_in: u32,
    pub n_out: u32,
    /// Which real buffer holds the trace (a stage that writes the other one moves it).
    pub cur: usize,
    /// Complex elements per trace the program needs so far.
    pub max_complex: usize,
    /// Filter state bytes per trace the program needs so far.
    pub state: u64,
    /// The program's first stage: its samples are as uploaded (centred when it is a detrend,
    /// `Program::centre`).
    pub first: bool,
}

impl Recording<'_, '_> {
    /// Bytes of the batch's input samples (f32).
    pub fn real_bytes(&self) -> u64 {
        self.b * u64::from(self.n_in) * 4
    }

    /// One dispatch of `kernel` reading the samples (`Real(cur)`, binding 1) and writing the
    /// other real buffer (binding 2), which then holds the trace: the shape of every stage
    /// that cannot work in place (decimate, integrate, differentiate, trim).
    pub fn to_other_buffer<P: bytemuck::Pod>(
        &mut self,
        kernel: &'static str,
        params: &P,
        invocations: u64,
        reads: u64,
        writes: u64,
    ) -> Result<(), String> {
        let cur = self.cur;
        self.r.dispatch(
            kernel,
            params,
            &[
                (1, crate::gpu::record::Buf::Real(cur)),
                (2, crate::gpu::record::Buf::Real(1 - cur)),
            ],
            invocations,
            crate::gpu::sizing::WORKGROUP,
            reads,
            writes,
        )?;
        self.cur = 1 - cur;
        Ok(())
    }
}

/// What every stage does; the `Stage` enum dispatches to it.
pub trait StageOps {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError>;
    fn record(&self, x: &mut Recording) -> Result<(), String>;
    /// Parameters for `seisbatch plan`.
    fn describe(&self) -> Value;
    /// Why the device cannot run this stage, if it cannot (beyond the lengths every stage
    /// shares, `gpu::record::host_reason`).
    fn device_limit(&self, _caps: &Caps) -> Option<String> {
        None
    }
    /// Bytes of the tables it holds (the plan cache's bound).
    fn table_bytes(&self) -> usize {
        0
    }
}

macro_rules! stages {
    ($($variant:ident = $name:literal [$($entry:literal),*];)*) => {
        /// One stage with its parameters and tables, all f64 (the GPU executor rounds to f32
        /// where it uploads). Tables are shared (`Arc`): a cached plan serves every trace of
        /// its shape.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Stage {
            $($variant($variant),)*
        }

        /// The stages' shaders in table order, then the FFTs they share.
        pub const SHADERS: &[Shader] = &[
            $(Shader {
                name: $name,
                source: concat!(
                    include_str!("../../shaders/common.wgsl"),
                    include_str!(concat!("../../shaders/", $name, ".wgsl"))
                ),
                entries: &[$($entry),*],
            },)*
            FFT,
            RFFT,
            FFT64,
        ];

        impl Stage {
            /// Position in the table (and in `SHADERS`).
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
    Detrend = "detrend" ["detrend_fit", "detrend_apply"];
    Taper = "taper" ["taper"];
    Deconvolve = "deconvolve" ["deconvolve"];
    Filter = "filter" ["filter_sos"];
    Resample = "resample" ["resample"];
    Interpolate = "interpolate" ["interpolate"];
    Decimate = "decimate" ["decimate"];
    Integrate = "integrate" ["integrate"];
    Differentiate = "differentiate" ["differentiate"];
    Normalize = "normalize" ["normalize_peak", "normalize_apply"];
    RemoveSensitivity = "remove_sensitivity" ["remove_sensitivity"];
    Trim = "trim" ["trim"];
}

impl Stage {
    /// The stage name: shader file, CPU twin, bench id, GPU label.
    pub fn name(&self) -> &'static str {
        SHADERS[self.index()].name
    }

    pub fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        self.ops().cpu(x)
    }

    pub fn record(&self, x: &mut Recording) -> Result<(), String> {
        self.ops().record(x)
    }

    pub fn describe(&self) -> Value {
        self.ops().describe()
    }

    pub fn device_limit(&self, caps: &Caps) -> Option<String> {
        self.ops().device_limit(caps)
    }

    pub fn table_bytes(&self) -> usize {
        self.ops().table_bytes()
    }
}

/// The stage names, in table order (`--cpu-stages` accepts these).
pub fn stage_names() -> impl Iterator<Item = &'static str> {
    SHADERS[..SHADERS.len() - SHARED_SHADERS]
        .iter()
        .map(|s| s.name)
}

/// The shader an entry point lives in.
pub fn shader_of(entry: &str) -> Option<&'static Shader> {
    SHADERS.iter().find(|s| s.entries.contains(&entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_has_its_shader_twin_and_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let names: Vec<&str> = stage_names().collect();
        assert_eq!(names.len(), SHADERS.len() - SHARED_SHADERS);
        for name in names {
            assert!(
                root.join(format!("shaders/{name}.wgsl")).is_file(),
                "{name}"
            );
            assert!(root.join(format!("src/ops/{name}.rs")).is_file(), "{name}");
            assert!(
                root.join(format!("src/stages/{name}.rs")).is_file(),
                "{name}"
            );
        }
        for s in SHADERS {
            for e in s.entries {
                assert!(s.source.contains(&format!("fn {e}(")), "{}: {e}", s.name);
                assert_eq!(shader_of(e).map(|s| s.name), Some(s.name));
            }
        }
    }
}
