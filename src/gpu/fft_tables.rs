//! The FFT tables that live on the device across batches (twiddles, Bluestein chirps and
//! their filters, in f32 and f64), computed once per length from the host's f64 tables
//! (`gpu::fft_plan`) and kept by the runner.

use std::collections::HashMap;

use wgpu::util::DeviceExt;

use super::fft_plan as fft;
use super::record::Buf;

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

type Pair = (wgpu::Buffer, wgpu::Buffer);

#[derive(Default)]
pub struct FftTables {
    twiddles: HashMap<usize, wgpu::Buffer>,
    chirps: HashMap<(usize, bool), Pair>,
    twiddles64: HashMap<usize, wgpu::Buffer>,
    chirps64: HashMap<(usize, bool), Pair>,
}

impl FftTables {
    pub fn get(&mut self, device: &wgpu::Device, b: Buf) -> wgpu::Buffer {
        match b {
            Buf::Chirp(n, inv) => self.chirp(device, n, inv).0,
            Buf::ChirpFilter(n, inv) => self.chirp(device, n, inv).1,
            Buf::Twiddles(n) => self.twiddle(device, n),
            Buf::Chirp64(n, inv) => self.chirp64(device, n, inv).0,
            Buf::ChirpFilter64(n, inv) => self.chirp64(device, n, inv).1,
            Buf::Twiddles64(n) => self.twiddle64(device, n),
            // Only called with the six above.
            _ => self.twiddle(device, 1),
        }
    }

    fn twiddle(&mut self, device: &wgpu::Device, n: usize) -> wgpu::Buffer {
        if let Some(b) = self.twiddles.get(&n) {
            return b.clone();
        }
        let b = storage(
            device,
            "fft twiddles",
            bytemuck::cast_slice(&fft::twiddles(n)),
        );
        self.twiddles.insert(n, b.clone());
        b
    }

    fn chirp(
        &mut self,
        device: &wgpu::Device,
        n: usize,
        inverse: bool,
    ) -> (wgpu::Buffer, wgpu::Buffer) {
        if let Some(b) = self.chirps.get(&(n, inverse)) {
            return b.clone();
        }
        let m = fft::next_smooth(2 * n - 1);
        let w = storage(
            device,
            "fft chirp",
            bytemuck::cast_slice(&fft::chirp(n, inverse)),
        );
        let f = storage(
            device,
            "fft chirp filter",
            bytemuck::cast_slice(&fft::chirp_filter(n, m, inverse)),
        );
        self.chirps.insert((n, inverse), (w.clone(), f.clone()));
        (w, f)
    }

    fn twiddle64(&mut self, device: &wgpu::Device, n: usize) -> wgpu::Buffer {
        if let Some(b) = self.twiddles64.get(&n) {
            return b.clone();
        }
        let b = storage(
            device,
            "fft64 twiddles",
            bytemuck::cast_slice(&fft::twiddles64(n)),
        );
        self.twiddles64.insert(n, b.clone());
        b
    }

    fn chirp64(
        &mut self,
        device: &wgpu::Device,
        n: usize,
        inverse: bool,
    ) -> (wgpu::Buffer, wgpu::Buffer) {
        if let Some(b) = self.chirps64.get(&(n, inverse)) {
            return b.clone();
        }
        let m = fft::next_smooth(2 * n - 1);
        let w = storage(
            device,
            "fft64 chirp",
            bytemuck::cast_slice(&fft::chirp64(n, inverse)),
        );
        let f = storage(
            device,
            "fft64 chirp filter",
            bytemuck::cast_slice(&fft::chirp_filter64(n, m, inverse)),
        );
        self.chirps64.insert((n, inverse), (w.clone(), f.clone()));
        (w, f)
    }
}
