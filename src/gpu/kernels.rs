//! The kernel registry: one compute pipeline per shader entry point, built once per device
//! and reused for every batch, and the `#[repr(C)]` parameter structs the shaders read.
//! Every struct here has a twin in a shader with a "keep in sync" comment pointing back.

use bytemuck::{Pod, Zeroable};

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
pub const FFT_TILE_BYTES: u32 = 2 * FFT_TILE as u32 * 8;

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

/// The WGSL sources, by stage name (= file name = CPU twin in src/ops).
pub const SOURCES: [(&str, &str); 8] = [
    ("detrend", include_str!("../../shaders/detrend.wgsl")),
    ("taper", include_str!("../../shaders/taper.wgsl")),
    ("fft", include_str!("../../shaders/fft.wgsl")),
    ("deconvolve", include_str!("../../shaders/deconvolve.wgsl")),
    ("filter", include_str!("../../shaders/filter.wgsl")),
    ("resample", include_str!("../../shaders/resample.wgsl")),
    (
        "interpolate",
        include_str!("../../shaders/interpolate.wgsl"),
    ),
    ("decimate", include_str!("../../shaders/decimate.wgsl")),
];

/// Workgroup size of filter_sos (one invocation per trace); every other kernel uses 256.
pub const FILTER_WORKGROUP: u32 = 64;

pub struct Kernels {
    pub detrend_fit: wgpu::ComputePipeline,
    pub detrend_apply: wgpu::ComputePipeline,
    pub taper: wgpu::ComputePipeline,
    pub fft_pack: wgpu::ComputePipeline,
    pub fft_pass: wgpu::ComputePipeline,
    pub fft_cmul: wgpu::ComputePipeline,
    pub fft_unpack: wgpu::ComputePipeline,
    /// None where the device has less workgroup memory than FFT_TILE_BYTES: FFTs then run
    /// as one global pass per radix.
    pub fft_tile: Option<wgpu::ComputePipeline>,
    pub deconvolve: wgpu::ComputePipeline,
    /// None without SHADER_F64: filter steps then run on the CPU path.
    pub filter_sos: Option<wgpu::ComputePipeline>,
    pub resample: wgpu::ComputePipeline,
    pub interpolate: wgpu::ComputePipeline,
    pub decimate: wgpu::ComputePipeline,
}

fn source(stage: &str) -> &'static str {
    SOURCES
        .iter()
        .find(|(s, _)| *s == stage)
        .map(|(_, src)| *src)
        .unwrap_or("")
}

impl Kernels {
    /// `workgroup_bytes`: the device's max_compute_workgroup_storage_size.
    pub fn new(device: &wgpu::Device, f64: bool, workgroup_bytes: u32) -> Kernels {
        let module = |stage: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(stage),
                source: wgpu::ShaderSource::Wgsl(source(stage).into()),
            })
        };
        let pipeline = |m: &wgpu::ShaderModule, entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: m,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let detrend = module("detrend");
        let fft = module("fft");
        Kernels {
            detrend_fit: pipeline(&detrend, "detrend_fit"),
            detrend_apply: pipeline(&detrend, "detrend_apply"),
            taper: pipeline(&module("taper"), "taper"),
            fft_pack: pipeline(&fft, "fft_pack"),
            fft_pass: pipeline(&fft, "fft_pass"),
            fft_cmul: pipeline(&fft, "fft_cmul"),
            fft_unpack: pipeline(&fft, "fft_unpack"),
            fft_tile: (workgroup_bytes >= FFT_TILE_BYTES).then(|| pipeline(&fft, "fft_tile")),
            deconvolve: pipeline(&module("deconvolve"), "deconvolve"),
            filter_sos: f64.then(|| pipeline(&module("filter"), "filter_sos")),
            resample: pipeline(&module("resample"), "resample"),
            interpolate: pipeline(&module("interpolate"), "interpolate"),
            decimate: pipeline(&module("decimate"), "decimate"),
        }
    }
}
