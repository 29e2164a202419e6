//! A dispatch's bind group: its uniform, the buffers its bindings name (resolved by the
//! caller), and for the kernels that take buffers in parts, the parts and their length
//! (`record::PART_STRIDE`).

use wgpu::util::DeviceExt;

use super::Runner;
use crate::gpu::kernels;
use crate::gpu::pool::{self, Parts};
use crate::gpu::readback;
use crate::gpu::record::{self, Buf};
use crate::gpu::GpuError;

impl Runner<'_> {
    pub(super) fn uniform(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        self.gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }
    /// One dispatch's pipeline and bind group (`entries`: binding -> buffer, the uniform
    /// included).
    pub(super) fn encode(
        &self,
        d: &record::Dispatch,
        entries: &[(u32, wgpu::Buffer)],
        stage: usize,
        label: &'static str,
    ) -> Result<readback::Encoded, GpuError> {
        let pipeline = self
            .gpu
            .kernels
            .get(d.kernel)
            .ok_or_else(|| GpuError::Device(format!("no kernel {}", d.kernel)))?;
        let layout = pipeline.get_bind_group_layout(0);
        let bind_entries: Vec<wgpu::BindGroupEntry> = entries
            .iter()
            .map(|(binding, buf)| wgpu::BindGroupEntry {
                binding: *binding,
                resource: buf.as_entire_binding(),
            })
            .collect();
        let bind = self
            .gpu
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(d.kernel),
                layout: &layout,
                entries: &bind_entries,
            });
        Ok(readback::Encoded {
            pipeline: pipeline.clone(),
            bind,
            groups: d.groups,
            stage,
            label,
        })
    }
    /// The FFT tables kept on the device across batches (computed in f64 by `plan::fft`,
    /// rounded once to f32 for the f32 kernels).
    pub(super) fn fft_table(&mut self, b: Buf) -> Result<Parts, GpuError> {
        self.fft_tables.get(self.gpu, b)
    }
    /// A dispatch's bind-group entries: its uniform, each buffer `resolve` gives for its
    /// bindings, and for a kernel taking parts (`record::SPLIT_KERNELS`) parts 1 and on of
    /// each work buffer and FFT table at binding + k PART_STRIDE (a stand-in of its own
    /// where the buffer has fewer) and their length (`kernels::PartStarts`).
    pub(super) fn entries(
        &mut self,
        d: &record::Dispatch,
        mut resolve: impl FnMut(&mut Self, Buf) -> Result<Parts, GpuError>,
    ) -> Result<Vec<(u32, wgpu::Buffer)>, GpuError> {
        let mut entries = Vec::with_capacity(3 * d.bind.len() + 2);
        entries.push((d.params.0, self.uniform(d.kernel, &d.params.1)));
        let parts = record::takes_parts(d.kernel);
        let mut at = kernels::PartStarts {
            data: u32::MAX,
            table: u32::MAX,
            _pad0: 0,
            _pad1: 0,
        };
        let mut data_split = None;
        for &(binding, b) in &d.bind {
            let buf = resolve(self, b)?;
            let n = record::parts_of(b);
            if parts && n > 1 {
                let split = buf.split_slots();
                if b.is_fft_table() {
                    at.table = split;
                } else if *data_split.get_or_insert(split) != split {
                    // The shaders take one part length for src and dst: a set's complex
                    // buffers are made alike, so this is a bug, not a device limit.
                    return Err(GpuError::Device(format!(
                        "{}: work buffers split at different places",
                        d.kernel
                    )));
                } else {
                    at.data = split;
                }
                if buf.upper.len() as u64 >= n {
                    return Err(GpuError::Device(format!(
                        "{}: a buffer in {} parts where the kernel takes {n}",
                        d.kernel,
                        buf.upper.len() + 1
                    )));
                }
                let stride = usize::try_from(record::PART_STRIDE).unwrap_or(8);
                let slots = (binding..).step_by(stride).skip(1);
                for (i, slot) in slots.take(usize::try_from(n - 1).unwrap_or(0)).enumerate() {
                    let part = match buf.upper.get(i) {
                        Some(p) => p.clone(),
                        None => self.stand_in(slot),
                    };
                    entries.push((slot, part));
                }
            }
            entries.push((binding, buf.lo));
        }
        if parts {
            entries.push((
                record::PARTS_BINDING,
                self.uniform("parts", bytemuck::bytes_of(&at)),
            ));
        }
        Ok(entries)
    }
    /// The 16-byte buffer bound as a part a buffer does not have: one per binding, so a
    /// read-only and a read-write stand-in never alias in one dispatch.
    pub(super) fn stand_in(&mut self, binding: u32) -> wgpu::Buffer {
        let gpu = self.gpu;
        self.stand_ins
            .entry(binding)
            .or_insert_with(|| {
                pool::buffer(gpu, "upper half stand-in", 16, wgpu::BufferUsages::STORAGE)
            })
            .clone()
    }
}
