//! The kernel registry (one compute pipeline per entry point of the stage table's shaders,
//! built once per device) and the FFT's `#[repr(C)]` parameter structs (each stage's own
//! are in its `src/stages/<stage>.rs`).
//! Every struct here has a twin in a shader with a "keep in sync" comment pointing back.

use std::collections::HashMap;

use bytemuck::{Pod, Zeroable};

use super::stages::SHADERS;

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
    /// fft_pass: the row length B of the factorised twiddles (`fft_plan::roots`).
    pub roots: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

/// shaders/fft.wgsl, fft64.wgsl and deconvolve.wgsl `Parts`: the length of a part of the work
/// buffers (`data`) and of the FFT table (`table`) a dispatch binds, where part 1 starts, in
/// 8-byte slots; u32::MAX for a whole buffer (`gpu::record::PART_STRIDE`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct PartStarts {
    pub data: u32,
    pub table: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// shaders/correlate.wgsl `CcParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct CcParams {
    pub n2: u32,
    pub nfft: u32,
    pub windows: u32,
    pub base: u32,
    pub mean_re: f32,
    pub mean_im: f32,
    pub inv: f32,
    pub first: u32,
    pub nlags: u32,
    pub count: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// shaders/time_norm.wgsl and shaders/whiten.wgsl `SpecParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct SpecParams {
    pub len: u32,
    pub nfft: u32,
    pub n2: u32,
    pub count: u32,
    pub base: u32,
    pub kind: u32,
    pub points: u32,
    pub ix00: u32,
    pub ix1: u32,
    pub ix11: u32,
    pub nlo: u32,
    pub nhi: u32,
}

/// shaders/rfft.wgsl `RfftParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct RfftParams {
    pub n: u32,
    pub n1: u32,
    pub n2: u32,
    pub count: u32,
    pub n_real: u32,
    pub per_group: u32,
    pub passes1: u32,
    pub passes2: u32,
    pub radices1: [u32; 8],
    pub radices2: [u32; 8],
    pub prologue: u32,
    pub fit_kind: u32,
    pub scale: f32,
    pub limit: u32,
}

/// shaders/rfft.wgsl `RTILE`: complex values per half of its workgroup memory.
pub const RFFT_TILE: usize = 2048;

/// Workgroup memory rfft.wgsl declares: two halves of RFFT_TILE complex f32 (32 KiB).
pub const RFFT_TILE_BYTES: u32 = 2 * 2048 * 8;
const _: () = assert!(
    RFFT_TILE == 2048,
    "RFFT_TILE_BYTES holds two halves of RFFT_TILE"
);

/// Whether a device with `workgroup_bytes` of workgroup memory can run the workgroup-memory
/// FFT kernels (`rfft_*`).
pub fn has_tile_memory(workgroup_bytes: u32) -> bool {
    workgroup_bytes >= RFFT_TILE_BYTES
}

/// One compute pipeline per entry point of every shader in the stage table
/// (`plan::stage::SHADERS`), built once per device and reused for every batch.
pub struct Kernels {
    pipelines: HashMap<&'static str, wgpu::ComputePipeline>,
}

impl Kernels {
    /// `workgroup_bytes`: the device's max_compute_workgroup_storage_size. Without SHADER_F64
    /// there are no kernels of `stages::NEEDS_F64` (those stages then run on their CPU
    /// twins); with less
    /// workgroup memory than RFFT_TILE_BYTES no `rfft_*` (FFTs run as radix
    /// passes).
    pub fn new(device: &wgpu::Device, f64: bool, workgroup_bytes: u32) -> Kernels {
        let mut pipelines = HashMap::new();
        for shader in SHADERS {
            if super::stages::NEEDS_F64.contains(&shader.name) && !f64 {
                continue;
            }
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(shader.name),
                source: wgpu::ShaderSource::Wgsl(shader.source.into()),
            });
            for &entry in shader.entries {
                let tiled = entry.starts_with("rfft_");
                if tiled && !has_tile_memory(workgroup_bytes) {
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
