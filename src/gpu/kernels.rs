//! The kernel registry (one compute pipeline per entry point of the stage table's shaders,
//! built once per device) and the `#[repr(C)]` parameter structs the shaders read.
//! Every struct here has a twin in a shader with a "keep in sync" comment pointing back.

use std::collections::HashMap;

use bytemuck::{Pod, Zeroable};

use crate::plan::stage::SHADERS;

/// shaders/detrend.wgsl `DetrendParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DetrendParams {
    pub n: u32,
    pub count: u32,
    /// 0 demean, 1 linear, 2 simple.
    pub kind: u32,
    pub _pad: u32,
}

/// shaders/taper.wgsl `TaperParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct TaperParams {
    pub n: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// shaders/fft.wgsl `FftParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct FftParams {
    pub n_in: u32,
    pub n_out: u32,
    pub count: u32,
    pub ns: u32,
    pub radix: u32,
    pub inverse: u32,
    pub lim: u32,
    pub scale: f32,
}

/// shaders/fft.wgsl `TILE`: complex values per half of `fft_tile`'s workgroup memory.
pub const FFT_TILE: usize = 2048;

/// Workgroup memory `fft_tile` declares (two halves of FFT_TILE complex f32).
pub const FFT_TILE_BYTES: u32 = 2 * 2048 * 8;
const _: () = assert!(
    FFT_TILE == 2048,
    "FFT_TILE_BYTES holds two halves of FFT_TILE"
);

/// shaders/fft.wgsl `TileParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct TileParams {
    pub n: u32,
    pub l: u32,
    pub lines: u32,
    pub count: u32,
    pub in_line: u32,
    pub in_el: u32,
    pub out_line: u32,
    pub out_el: u32,
    pub twiddle: u32,
    pub inverse: u32,
    pub per_group: u32,
    pub passes: u32,
    pub radices: [u32; 8],
}

/// shaders/deconvolve.wgsl `DeconvolveParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DeconvolveParams {
    pub nfft: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// shaders/filter.wgsl `FilterParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct FilterParams {
    pub n: u32,
    pub count: u32,
    pub sections: u32,
    pub reverse: u32,
    pub t0: u32,
    pub len: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// Samples per filter_sos dispatch: CHUNK x (MAX_SECTIONS + 2) loop iterations stays below
/// llvmpipe's 65535 per invocation, and keeps every invocation short on real GPUs.
pub const FILTER_CHUNK: u32 = 2048;

/// shaders/filter.wgsl `MAX_SECTIONS`: the per-invocation state arrays' length.
pub const MAX_SECTIONS: usize = 16;

/// shaders/resample.wgsl `ResampleParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct ResampleParams {
    pub n: u32,
    pub num: u32,
    pub count: u32,
    pub _pad: u32,
}

/// shaders/resample.wgsl `Tap`: output bin = a * X[k] + b * X[k + 1].
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Tap {
    pub k: u32,
    pub a: f32,
    pub b: f32,
    pub _pad: u32,
}

/// shaders/interpolate.wgsl `InterpolateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct InterpolateParams {
    pub n: u32,
    pub npts: u32,
    pub count: u32,
    pub a: u32,
}

/// shaders/interpolate.wgsl `GridPoint`: output position = idx + frac input samples.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct GridPoint {
    pub idx: i32,
    pub frac: f32,
}

/// shaders/decimate.wgsl `DecimateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DecimateParams {
    pub n_in: u32,
    pub n_out: u32,
    pub count: u32,
    pub factor: u32,
}

/// Workgroup size of filter_sos (one invocation per trace); every other kernel uses 256.
pub const FILTER_WORKGROUP: u32 = 64;

/// One compute pipeline per entry point of every shader in the stage table
/// (`plan::stage::SHADERS`), built once per device and reused for every batch.
pub struct Kernels {
    pipelines: HashMap<&'static str, wgpu::ComputePipeline>,
}

impl Kernels {
    /// `workgroup_bytes`: the device's max_compute_workgroup_storage_size. Without SHADER_F64
    /// there is no `filter_sos` (filter stages then run on their CPU twin); with less
    /// workgroup memory than FFT_TILE_BYTES no `fft_tile` (FFTs run as radix passes).
    pub fn new(device: &wgpu::Device, f64: bool, workgroup_bytes: u32) -> Kernels {
        let mut pipelines = HashMap::new();
        for shader in &SHADERS {
            if shader.name == "filter" && !f64 {
                continue;
            }
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(shader.name),
                source: wgpu::ShaderSource::Wgsl(shader.source.into()),
            });
            for &entry in shader.entries {
                if entry == "fft_tile" && workgroup_bytes < FFT_TILE_BYTES {
                    continue;
                }
                let p = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: None,
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                });
                pipelines.insert(entry, p);
            }
        }
        Kernels { pipelines }
    }

    pub fn get(&self, entry: &str) -> Option<&wgpu::ComputePipeline> {
        self.pipelines.get(entry)
    }

    pub fn has(&self, entry: &str) -> bool {
        self.pipelines.contains_key(entry)
    }
}
