//! The stage table: every stage the executors run, its name (= `shaders/<name>.wgsl` = CPU
//! twin `src/ops/<name>.rs` = bench id = GPU pass and buffer label), its kernels, and its data.
//! The shader registry (`gpu::kernels`), the GPU labels, `seisbatch plan` and the tests all
//! read the names from here.

use std::sync::Arc;

use super::fft::FftPlan;
use crate::ops::iir::Sos;
use crate::pipeline::{DetrendType, InterpMethod};

/// One shader file: its name, WGSL source and entry points. The first seven are the stages,
/// in `Stage::index` order; `fft` is the transform the FFT-based stages share.
pub struct Shader {
    pub name: &'static str,
    pub source: &'static str,
    pub entries: &'static [&'static str],
}

pub const SHADERS: [Shader; 8] = [
    Shader {
        name: "detrend",
        source: include_str!("../../shaders/detrend.wgsl"),
        entries: &["detrend_fit", "detrend_apply"],
    },
    Shader {
        name: "taper",
        source: include_str!("../../shaders/taper.wgsl"),
        entries: &["taper"],
    },
    Shader {
        name: "deconvolve",
        source: include_str!("../../shaders/deconvolve.wgsl"),
        entries: &["deconvolve"],
    },
    Shader {
        name: "filter",
        source: include_str!("../../shaders/filter.wgsl"),
        entries: &["filter_sos"],
    },
    Shader {
        name: "resample",
        source: include_str!("../../shaders/resample.wgsl"),
        entries: &["resample"],
    },
    Shader {
        name: "interpolate",
        source: include_str!("../../shaders/interpolate.wgsl"),
        entries: &["interpolate"],
    },
    Shader {
        name: "decimate",
        source: include_str!("../../shaders/decimate.wgsl"),
        entries: &["decimate"],
    },
    Shader {
        name: "fft",
        source: include_str!("../../shaders/fft.wgsl"),
        entries: &["fft_pack", "fft_pass", "fft_cmul", "fft_unpack", "fft_tile"],
    },
];

/// The stage names, in `Stage::index` order (`--cpu-stages` accepts these).
pub fn stage_names() -> impl Iterator<Item = &'static str> {
    SHADERS[..7].iter().map(|s| s.name)
}

/// The shader an entry point lives in.
pub fn shader_of(entry: &str) -> Option<&'static Shader> {
    SHADERS.iter().find(|s| s.entries.contains(&entry))
}

/// One stage with its parameters and tables, all f64 (the GPU executor rounds to f32 where
/// it uploads). Tables are shared (`Arc`): a cached plan serves every trace of its shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `detrend` (also remove_response's zero_mean, as demean).
    Detrend { kind: DetrendType },
    /// `taper` (also remove_response's taper): the whole-trace window, ones between the ends.
    Taper { window: Arc<[f64]> },
    /// remove_response's frequency-domain part: pad to nfft, rfft, times the trace's inverse
    /// table (`Plan::responses[response]`), Nyquist magnitude, irfft, truncate.
    Deconvolve {
        nfft: usize,
        fft: FftPlan,
        response: usize,
    },
    /// Second-order sections (filter, and the anti-alias filters of resample and decimate).
    Filter { sos: Arc<[Sos]>, zerophase: bool },
    /// resample's spectral part: rfft of n, the windowed spectrum interpolated onto num/2+1
    /// bins (`taps`: bin j = a X[k] + b X[k+1], the same interpolation), irfft of num.
    Resample {
        num: usize,
        sampling_rate: f64,
        new_rate: f64,
        /// `resample::spectrum_window`, n/2+1 values.
        window: Arc<[f64]>,
        taps: Arc<[(usize, f64, f64)]>,
        fwd: FftPlan,
        inv: FftPlan,
    },
    /// interpolate: output j at input position offset + j dt_factor (same for every trace of
    /// the plan; the plan key holds them).
    Interpolate {
        method: InterpMethod,
        a: Option<usize>,
        offset: f64,
        dt_factor: f64,
    },
    /// Every factor-th sample (after the anti-alias filter stage).
    Decimate { factor: usize },
}

impl Stage {
    /// Position in `SHADERS` (and in `stage_names`).
    pub fn index(&self) -> usize {
        match self {
            Stage::Detrend { .. } => 0,
            Stage::Taper { .. } => 1,
            Stage::Deconvolve { .. } => 2,
            Stage::Filter { .. } => 3,
            Stage::Resample { .. } => 4,
            Stage::Interpolate { .. } => 5,
            Stage::Decimate { .. } => 6,
        }
    }

    /// The stage name: shader file, CPU twin, bench id, GPU label.
    pub fn name(&self) -> &'static str {
        SHADERS[self.index()].name
    }

    /// Bytes of the tables it holds (the plan cache's bound).
    pub fn table_bytes(&self) -> usize {
        match self {
            Stage::Taper { window } => window.len() * 8,
            Stage::Filter { sos, .. } => sos.len() * 48,
            Stage::Resample { window, taps, .. } => window.len() * 8 + taps.len() * 24,
            _ => 0,
        }
    }
}

/// A stage in a plan: which step it belongs to (0-based) and its lengths per trace.
#[derive(Debug, Clone, PartialEq)]
pub struct StageAt {
    pub stage: Stage,
    pub step: usize,
    pub n_in: usize,
    pub n_out: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_has_its_shader_and_cpu_twin() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in stage_names() {
            assert!(
                root.join(format!("shaders/{name}.wgsl")).is_file(),
                "{name}"
            );
            assert!(root.join(format!("src/ops/{name}.rs")).is_file(), "{name}");
        }
        for s in &SHADERS {
            for e in s.entries {
                assert!(s.source.contains(&format!("fn {e}(")), "{}: {e}", s.name);
                assert_eq!(shader_of(e).map(|s| s.name), Some(s.name));
            }
        }
    }
}
