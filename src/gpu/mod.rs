//! The GPU path: the same pipeline as `ops`, run over batches of traces on any wgpu adapter
//! (Vulkan, Metal, DX12; a software Vulkan such as Mesa's lavapipe included).
//!
//! Data flow: `executor` groups traces by plan (`crate::plan`: every trace of a group has the
//! same stages, lengths and tables) and cuts each plan into device and host segments ->
//! `record` turns a segment into a `Program` (plain data: dispatches, tables, buffer sizes,
//! modeled traffic) -> `runner` uploads the samples once, binds and records the program into
//! one command buffer, submits once and downloads once (`readback`), keeping work buffers and
//! response tables across batches (`pool`). `sizing` sizes batches from the device's real
//! limits and a memory budget. Kernels are `shaders/<stage>.wgsl` (`kernels` builds them from
//! the stage table), each the twin of `src/ops/<stage>.rs`.
//!
//! Nothing here panics on a device problem: no adapter, an out-of-memory or validation
//! error, or a lost device comes back as a `GpuError`, and the engine reruns the affected
//! traces on the CPU path with a warning in the report.

// Where host lengths meet the shaders' u32 indices and f64 meets f32, every conversion is
// checked or named (`u32_of`, `to_f32`).
#![warn(clippy::cast_possible_truncation)]

pub mod adapters;
pub mod executor;
pub mod fft_plan;
mod fft_tables;
pub mod kernels;
mod pool;
mod readback;
pub mod record;
pub mod runner;
pub mod sizing;
pub mod stages;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use kernels::Kernels;
use sizing::DeviceLimits;

/// The adapter a run used, as report.json records it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AdapterSummary {
    /// Its index in `seisbatch adapters` (`--gpu-index`), and its PCI bus id.
    pub index: usize,
    pub pci_bus_id: String,
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    /// Whether filter steps run on the device (SHADER_F64) or on the CPU path.
    pub shader_f64: bool,
    pub max_storage_binding_bytes: u64,
    pub max_buffer_bytes: u64,
}

impl AdapterSummary {
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {}, driver {} {})",
            self.name, self.backend, self.device_type, self.driver, self.driver_info
        )
    }
}

/// Which adapters `Gpu::new` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// `--device gpu`: any adapter, a software one included (that is how CI tests run).
    Any,
    /// `--device auto`: a real GPU only; a CPU-emulated adapter is slower than the CPU path.
    Hardware,
    /// `--gpu-index K`: the adapter at `index` in `adapters()`; a software (CPU-emulated)
    /// one only where `software_ok` (`--device gpu`, not auto).
    Index { index: usize, software_ok: bool },
}

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    #[error("batch layout: {0}")]
    Layout(#[from] sizing::LayoutError),
    #[error("device out of memory: {0}")]
    OutOfMemory(String),
    #[error("device error: {0}")]
    Device(String),
    #[error("device lost: {0}")]
    Lost(String),
}

pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: AdapterSummary,
    pub limits: DeviceLimits,
    pub kernels: Kernels,
    /// The adapter can time passes (TIMESTAMP_QUERY): `Runner::profile` works.
    pub timestamps: bool,
    /// Errors no scope caught (wgpu's default handler would panic): kept for the next check.
    uncaptured: Arc<Mutex<Option<String>>>,
    lost: Arc<Mutex<Option<String>>>,
    /// Test hook: the next batch fails and the device counts as lost (`crate::faults`).
    fail_next: AtomicBool,
}

/// The adapter `Gpu::new(Want::Any)` would open (name, type), without opening a device: for
/// `seisbatch bench`, which must not present a software adapter as "the GPU".
pub fn best_adapter() -> Option<(String, wgpu::DeviceType)> {
    adapters::ordered().first().map(|a| {
        let i = a.get_info();
        (i.name, i.device_type)
    })
}

impl Gpu {
    /// Opens the best adapter wgpu finds (discrete > integrated > virtual > other > CPU),
    /// with its real limits and SHADER_F64 when it has it.
    pub fn new(want: Want) -> Result<Gpu, GpuError> {
        let adapters = adapters::ordered();
        let count = adapters.len();
        if adapters.is_empty() {
            return Err(GpuError::NoAdapter(
                "wgpu found none (is a Vulkan driver installed? e.g. mesa-vulkan-drivers)".into(),
            ));
        }
        let software = |a: &wgpu::Adapter| a.get_info().device_type == wgpu::DeviceType::Cpu;
        let (index, adapter) = match want {
            Want::Index {
                index: k,
                software_ok: any,
            } => {
                let a = adapters.into_iter().nth(k).ok_or_else(|| {
                    GpuError::NoAdapter(format!(
                        "--gpu-index {k}: this machine has {count} adapter(s), 0 to {} (seisbatch adapters lists them)",
                        count - 1
                    ))
                })?;
                if !any && software(&a) {
                    return Err(GpuError::NoAdapter(format!(
                        "--gpu-index {k} is a software (CPU-emulated) adapter"
                    )));
                }
                (k, a)
            }
            _ => adapters
                .into_iter()
                .enumerate()
                .find(|(_, a)| want == Want::Any || !software(a))
                .ok_or_else(|| {
                    GpuError::NoAdapter("only software (CPU-emulated) adapters were found".into())
                })?,
        };
        let ai = adapter.get_info();
        let f64 = adapter.features().contains(wgpu::Features::SHADER_F64);
        // Timestamps are only read when profiling (kernel-only times for the benchmarks).
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let mut features = wgpu::Features::empty();
        features.set(wgpu::Features::SHADER_F64, f64);
        features.set(wgpu::Features::TIMESTAMP_QUERY, timestamps);
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("seisbatch"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::NoAdapter(format!("{}: {e}", ai.name)))?;
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut s) = sink.lock() {
                s.get_or_insert_with(|| e.to_string());
            }
        }));
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut s) = lost_sink.lock() {
                s.get_or_insert_with(|| format!("{reason:?}: {msg}"));
            }
        });
        let kernels = Kernels::new(&device, f64, limits.max_compute_workgroup_storage_size);
        let max_binding = crate::faults::gpu_max_binding()
            .map_or(limits.max_storage_buffer_binding_size, |b| {
                b.min(limits.max_storage_buffer_binding_size)
            });
        let info = AdapterSummary {
            index,
            pci_bus_id: ai.device_pci_bus_id.clone(),
            name: ai.name.clone(),
            backend: format!("{:?}", ai.backend),
            device_type: format!("{:?}", ai.device_type),
            driver: ai.driver.clone(),
            driver_info: ai.driver_info.clone(),
            shader_f64: f64,
            max_storage_binding_bytes: max_binding,
            max_buffer_bytes: limits.max_buffer_size,
        };
        Ok(Gpu {
            device,
            queue,
            info,
            limits: DeviceLimits {
                max_binding,
                max_buffer: limits.max_buffer_size,
                max_groups_per_dim: limits.max_compute_workgroups_per_dimension,
            },
            kernels,
            timestamps,
            uncaptured,
            lost,
            fail_next: AtomicBool::new(crate::faults::gpu_fail()),
        })
    }

    pub fn has_f64(&self) -> bool {
        self.kernels.has("filter_sos")
    }

    /// The device-level problem, if any, since the last check.
    pub(crate) fn take_fault(&self) -> Option<GpuError> {
        if self.fail_next.swap(false, Ordering::Relaxed) {
            // As a real loss: the device stays lost for the rest of the run.
            let m = "forced by SEISBATCH_GPU_FAIL (test hook)".to_string();
            if let Ok(mut l) = self.lost.lock() {
                *l = Some(m.clone());
            }
            return Some(GpuError::Lost(m));
        }
        if let Some(m) = self.lost.lock().ok().and_then(|s| s.clone()) {
            return Some(GpuError::Lost(m));
        }
        self.uncaptured
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .map(GpuError::Device)
    }

    /// A lost device stays lost: the engine stops sending it batches.
    pub fn is_lost(&self) -> bool {
        self.lost.lock().map(|s| s.is_some()).unwrap_or(true)
    }
}

/// How remove_response's transform pair runs on the device, from `SEISBATCH_GPU_FFT`:
/// unset or `f64`: in f64 (shaders/fft64.wgsl) where the adapter has SHADER_F64, else as
/// `rfft`; `rfft`: f32 through shaders/rfft.wgsl (three fused passes; ~1e-5 of ObsPy where
/// the water level lifts weak bins); `passes`: f32 radix passes (to compare on a device).
/// resample's forward transform follows `rfft` / `passes` (it has no f64 path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FftChoice {
    pub f64_transforms: bool,
    pub rfft: bool,
}

/// `SEISBATCH_GPU_FFT`, or why its value is not one of the three.
pub fn fft_from_env() -> Result<FftChoice, String> {
    let v = std::env::var("SEISBATCH_GPU_FFT").unwrap_or_default();
    match v.as_str() {
        "" | "f64" => Ok(FftChoice {
            f64_transforms: true,
            rfft: true,
        }),
        "rfft" => Ok(FftChoice {
            f64_transforms: false,
            rfft: true,
        }),
        "passes" => Ok(FftChoice {
            f64_transforms: false,
            rfft: false,
        }),
        other => Err(format!(
            "SEISBATCH_GPU_FFT={other:?}: expected f64 (the default), rfft or passes"
        )),
    }
}

/// `fft_from_env`, the default where the value is bad (the CLI refuses it before a run;
/// the Python API takes the default).
pub fn fft_choice() -> FftChoice {
    fft_from_env().unwrap_or(FftChoice {
        f64_transforms: true,
        rfft: true,
    })
}

/// The one rounding of a host f64 to the device's f32 (samples, tables): where the GPU
/// executor leaves ObsPy's f64 arithmetic.
#[expect(
    clippy::cast_possible_truncation,
    reason = "the f32 rounding of an upload is the point"
)]
pub fn to_f32(x: f64) -> f32 {
    x as f32
}

/// A length or index for a shader's u32, or why it does not fit.
pub fn u32_of(what: &str, v: usize) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{what} {v} exceeds the shaders' u32 indices"))
}
