//! The GPU's side of the stage table (`crate::stages`): each stage's recording as dispatches
//! of its kernels (`shaders/<stage>.wgsl`, parameter structs checked against the WGSL by
//! tests/shaders.rs), what the device cannot run of it, and the shader registry. Everything
//! the device needs beyond a stage's neutral data (FFT splits and radices, f32 tables,
//! resample's spectrum taps) is derived here from that data. One file per stage, listed in
//! `records!` in the stage table's order.

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

use serde_json::Value;

use super::record::{Buf, Caps, Recorder};
use super::sizing::WORKGROUP;
use crate::stages::Stage;

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
        include_str!("../../../shaders/common.wgsl"),
        include_str!("../../../shaders/fft.wgsl")
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
        include_str!("../../../shaders/common.wgsl"),
        include_str!("../../../shaders/rfft.wgsl")
    ),
    entries: &["rfft_in", "rfft_deconvolve", "rfft_spectrum", "rfft_out"],
};

/// remove_response's transform pair in f64 (the default where the adapter has SHADER_F64:
/// the response division lifts f32 transform noise by up to the water level).
pub const FFT64: Shader = Shader {
    name: "fft64",
    source: concat!(
        include_str!("../../../shaders/common.wgsl"),
        include_str!("../../../shaders/fft64.wgsl")
    ),
    entries: &[
        "fft64_pack",
        "fft64_pass",
        "fft64_cmul",
        "fft64_deconvolve",
        "fft64_unpack",
    ],
};

/// Ambient-noise pair correlation (`seisbatch correlate --device gpu`, issue #27): not a stage
/// of a pipeline, the device half of `correlate::device`.
pub const CORRELATE: Shader = Shader {
    name: "correlate",
    source: concat!(
        include_str!("../../../shaders/common.wgsl"),
        include_str!("../../../shaders/correlate.wgsl")
    ),
    entries: &["correlate_peaks", "correlate_spectrum", "correlate_cut"],
};

/// NoisePy's time-domain normalisation and whitening of a channel's windows around the
/// forward FFT (`seisbatch correlate --device gpu`, issue #27): the device twins of
/// `ops::noise::{time_norm, whiten}`, not stages of a pipeline.
pub const TIME_NORM: Shader = Shader {
    name: "time_norm",
    source: concat!(
        include_str!("../../../shaders/common.wgsl"),
        include_str!("../../../shaders/time_norm.wgsl")
    ),
    entries: &["time_norm"],
};

pub const WHITEN: Shader = Shader {
    name: "whiten",
    source: concat!(
        include_str!("../../../shaders/common.wgsl"),
        include_str!("../../../shaders/whiten.wgsl")
    ),
    entries: &["whiten"],
};

/// detrend's polynomial fit in f64: a projection onto the grid's orthogonal polynomials
/// (`gpu::stages::detrend`), with detrend's stage.
pub const DETREND64: Shader = Shader {
    name: "detrend64",
    source: concat!(
        include_str!("../../../shaders/common.wgsl"),
        include_str!("../../../shaders/detrend64.wgsl")
    ),
    entries: &["detrend64_fit", "detrend64_apply"],
};

/// Shaders whose kernels compute in f64 and so need the adapter's SHADER_F64: the filter's
/// recursion and integrate's running sum (f32 lost up to 7e-4 and 2e-4 of their results),
/// and remove_response's f64 transforms.
/// Without it the device has no such kernel and these stages run on their CPU twins.
pub const NEEDS_F64: &[&str] = &["filter", "integrate", "fft64", "detrend64"];

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
            &[(1, Buf::Real(cur)), (2, Buf::Real(1 - cur))],
            invocations,
            WORKGROUP,
            reads,
            writes,
        )?;
        self.cur = 1 - cur;
        Ok(())
    }
}

/// What the device does with a stage; `record` and `device_limit` below dispatch to it.
pub trait Record {
    fn record(&self, x: &mut Recording) -> Result<(), String>;
    /// Why the device cannot run this stage, if it cannot (beyond the lengths every stage
    /// shares, `gpu::record::host_reason`).
    fn device_limit(&self, _caps: &Caps) -> Option<String> {
        None
    }
    /// What the device derives from the stage (FFT splits and radices) for `seisbatch plan`.
    fn describe_device(&self, _n_in: usize) -> Option<Value> {
        None
    }
}

macro_rules! records {
    ($($variant:ident = $name:literal [$($entry:literal),*];)*) => {
        /// The stages' shaders in the stage table's order, then the FFTs they share.
        pub const SHADERS: &[Shader] = &[
            $(Shader {
                name: $name,
                source: concat!(
                    include_str!("../../../shaders/common.wgsl"),
                    include_str!(concat!("../../../shaders/", $name, ".wgsl"))
                ),
                entries: &[$($entry),*],
            },)*
            FFT,
            RFFT,
            FFT64,
            DETREND64,
            CORRELATE,
            TIME_NORM,
            WHITEN,
        ];

        fn of(stage: &Stage) -> &dyn Record {
            match stage {
                $(Stage::$variant(s) => s,)*
            }
        }
    };
}

records! {
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

/// Records `stage`'s dispatches.
pub fn record(stage: &Stage, x: &mut Recording) -> Result<(), String> {
    of(stage).record(x)
}

/// Why the device cannot run `stage` with `caps`, if it cannot.
pub fn device_limit(stage: &Stage, caps: &Caps) -> Option<String> {
    of(stage).device_limit(caps)
}

/// What the device derives from `stage` (of `n_in` samples), for `seisbatch plan`.
pub fn describe_device(stage: &Stage, n_in: usize) -> Option<Value> {
    of(stage).describe_device(n_in)
}

/// The shader an entry point lives in.
pub fn shader_of(entry: &str) -> Option<&'static Shader> {
    SHADERS.iter().find(|s| s.entries.contains(&entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaders after the stage table's in `SHADERS` (FFT, RFFT, FFT64, DETREND64, CORRELATE,
    /// TIME_NORM, WHITEN), no stage of their own.
    const SHARED_SHADERS: usize = 7;

    #[test]
    fn the_shader_table_follows_the_stage_table() {
        let names: Vec<&str> = crate::stages::stage_names().collect();
        assert_eq!(names.len(), SHADERS.len() - SHARED_SHADERS);
        for (s, n) in SHADERS.iter().zip(&names) {
            assert_eq!(s.name, *n);
        }
        for s in SHADERS {
            for e in s.entries {
                assert!(s.source.contains(&format!("fn {e}(")), "{}: {e}", s.name);
                assert_eq!(shader_of(e).map(|s| s.name), Some(s.name));
            }
        }
    }
}
