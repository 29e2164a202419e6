//! The FFT tables that live on the device across batches (twiddles whole for rfft.wgsl and
//! factorised for the radix passes, Bluestein chirps and their filters, in f32 and f64),
//! computed once per length from the host's f64 tables (`gpu::fft_plan`) and kept by the
//! runner. A table above the binding limit (a Bluestein chirp of a long trace) is kept in two
//! parts, read by the kernels that take parts (`record::PART_STRIDE`).

use std::collections::HashMap;

use wgpu::util::DeviceExt;

use super::fft_plan as fft;
use super::pool::Parts;
use super::record::Buf;
use super::sizing::TABLE_PARTS;
use super::{Gpu, GpuError};

/// A storage buffer holding `bytes` (padded to wgpu's minimum and a multiple of 4).
pub fn storage(device: &wgpu::Device, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    let mut b = bytes.to_vec();
    b.resize(b.len().max(16).next_multiple_of(4), 0);
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &b,
        usage: wgpu::BufferUsages::STORAGE,
    })
}

/// `bytes` as one storage buffer, or in parts above the device's binding limit.
fn storage_parts(gpu: &Gpu, label: &str, bytes: &[u8]) -> Result<Parts, GpuError> {
    Parts::make(&gpu.limits, bytes.len() as u64, TABLE_PARTS, |r| {
        let at = |x: u64| usize::try_from(x).unwrap_or(usize::MAX).min(bytes.len());
        storage(&gpu.device, label, &bytes[at(r.start)..at(r.end)])
    })
}

/// The tables of one precision: twiddles by length, chirps and their filters by (length,
/// direction).
#[derive(Default)]
struct Set {
    twiddles: HashMap<usize, Parts>,
    roots: HashMap<usize, Parts>,
    chirps: HashMap<(usize, bool), (Parts, Parts)>,
}

#[derive(Default)]
pub struct FftTables {
    f32: Set,
    f64: Set,
}

impl FftTables {
    /// One of the six FFT tables (`Buf::is_fft_table`), uploaded on first use.
    pub fn get(&mut self, gpu: &Gpu, b: Buf) -> Result<Parts, GpuError> {
        let (set, wide) = match b {
            Buf::Roots64(_) | Buf::Chirp64(..) | Buf::ChirpFilter64(..) => (&mut self.f64, true),
            _ => (&mut self.f32, false),
        };
        match b {
            Buf::Twiddles(n) => {
                if let Some(t) = set.twiddles.get(&n) {
                    return Ok(t.clone());
                }
                let t =
                    storage_parts(gpu, "fft twiddles", bytemuck::cast_slice(&fft::twiddles(n)))?;
                set.twiddles.insert(n, t.clone());
                Ok(t)
            }
            Buf::Roots(n) | Buf::Roots64(n) => {
                if let Some(t) = set.roots.get(&n) {
                    return Ok(t.clone());
                }
                let t = if wide {
                    storage_parts(gpu, "fft64 roots", bytemuck::cast_slice(&fft::roots64(n)))
                } else {
                    storage_parts(gpu, "fft roots", bytemuck::cast_slice(&fft::roots(n)))
                }?;
                set.roots.insert(n, t.clone());
                Ok(t)
            }
            Buf::Chirp(n, inv)
            | Buf::Chirp64(n, inv)
            | Buf::ChirpFilter(n, inv)
            | Buf::ChirpFilter64(n, inv) => {
                let filter = matches!(b, Buf::ChirpFilter(..) | Buf::ChirpFilter64(..));
                if let Some((w, f)) = set.chirps.get(&(n, inv)) {
                    return Ok(if filter { f.clone() } else { w.clone() });
                }
                let m = fft::next_smooth(2 * n - 1);
                let (w, f) = if wide {
                    (
                        storage_parts(
                            gpu,
                            "fft64 chirp",
                            bytemuck::cast_slice(&fft::chirp64(n, inv)),
                        )?,
                        storage_parts(
                            gpu,
                            "fft64 chirp filter",
                            bytemuck::cast_slice(&fft::chirp_filter64(n, m, inv)),
                        )?,
                    )
                } else {
                    (
                        storage_parts(gpu, "fft chirp", bytemuck::cast_slice(&fft::chirp(n, inv)))?,
                        storage_parts(
                            gpu,
                            "fft chirp filter",
                            bytemuck::cast_slice(&fft::chirp_filter(n, m, inv)),
                        )?,
                    )
                };
                set.chirps.insert((n, inv), (w.clone(), f.clone()));
                Ok(if filter { f } else { w })
            }
            other => Err(GpuError::Device(format!("{other:?} is not an FFT table"))),
        }
    }
}
