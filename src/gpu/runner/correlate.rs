//! `seisbatch correlate`'s device side (issue #27, shaders/correlate.wgsl): a chunk's channel
//! spectra uploaded once and kept for all its pairs; per batch of pairs, the windows' peaks
//! and sums (`cc_peaks`, for NoisePy's rejection, decided on the host), then each pair's mean
//! spectrum written as the Hermitian input of a batched inverse FFT (the FFT kernels of the
//! pipeline path), cut to +-maxlag on the device: only the kept lags come back. A channel's
//! spectra are either uploaded (made on the host) or made here from its kept windows
//! (`cc_push_windows`: shaders/time_norm.wgsl, the forward FFT, shaders/whiten.wgsl), so
//! they never cross the bus.

use super::{pool, readback, Runner};
use crate::gpu::kernels::{CcParams, SpecParams};
use crate::gpu::record;
use crate::gpu::{sizing, u32_of, GpuError};

/// A chunk's channels on the device: each channel's kept windows, `n2` bins each.
pub struct CcChannels {
    bufs: Vec<wgpu::Buffer>,
    n2: usize,
    /// Bytes they hold.
    pub bytes: u64,
}

/// One pair: its two channels (indices into `CcChannels`) and its windows, each as (slot in
/// the source's buffer, slot in the receiver's).
pub struct CcPair<'a> {
    pub src: usize,
    pub rcv: usize,
    pub windows: &'a [[u32; 2]],
}

/// A pair's row: its kept windows, the mean bin to remove, and 1 / kept.
pub struct CcRow<'a> {
    pub pair: CcPair<'a>,
    pub mean: [f32; 2],
}

/// How a channel's kept windows become its spectra on the device: NoisePy's time_norm
/// (`kind` 0 no, 1 one_bit, 2 rma over `smooth_n`), the transform of `nfft`, its whitening
/// (`whiten`: the band's bins ix00, ix1, ix11 and tapers from `ops::noise::whiten::Plan`,
/// `smoothspect_n`), or the plain bins.
pub struct SpecPlan<'a> {
    pub len: usize,
    pub nfft: usize,
    pub time_norm: u32,
    pub smooth_n: usize,
    pub whiten: bool,
    pub smoothspect_n: usize,
    pub bins: [usize; 3],
    pub tapers: (&'a [f32], &'a [f32]),
}

impl CcChannels {
    /// No channel yet; each window `n2` bins.
    pub fn new(n2: usize) -> CcChannels {
        CcChannels {
            bufs: Vec::new(),
            n2,
            bytes: 0,
        }
    }
}

impl Runner<'_> {
    fn channel_fits(&self, b: u64) -> Result<(), GpuError> {
        if b > self.gpu.limits.max_binding {
            return Err(GpuError::Device(format!(
                "a channel's spectra take {b} bytes, above the device's binding limit ({})",
                self.gpu.limits.max_binding
            )));
        }
        Ok(())
    }

    /// Uploads each channel's spectra (kept windows end to end, `n2` bins each); a channel
    /// above the binding limit is an error (the chunk then runs on the CPU path).
    pub fn cc_channels(
        &mut self,
        spectra: &[Vec<[f32; 2]>],
        n2: usize,
    ) -> Result<CcChannels, GpuError> {
        let mut ch = CcChannels::new(n2);
        for s in spectra {
            self.cc_push_spectra(&mut ch, s)?;
        }
        Ok(ch)
    }

    /// One channel's spectra made on the host, uploaded.
    pub fn cc_push_spectra(
        &mut self,
        ch: &mut CcChannels,
        spectra: &[[f32; 2]],
    ) -> Result<(), GpuError> {
        let b = spectra.len() as u64 * 8;
        self.channel_fits(b)?;
        ch.bytes += b;
        ch.bufs
            .push(self.storage("cc channel", bytemuck::cast_slice(spectra)));
        Ok(())
    }

    /// One channel's spectra made here from its kept windows (`windows`: end to end, `p.len`
    /// samples each): time_norm into the transform's input, the forward FFT, whitening into
    /// the channel's buffer; in batches of windows whose transform fits one binding.
    pub fn cc_push_windows(
        &mut self,
        ch: &mut CcChannels,
        windows: &[f32],
        p: &SpecPlan,
    ) -> Result<(), GpuError> {
        let u = |what: &str, v: usize| u32_of(what, v).map_err(GpuError::Device);
        if p.len == 0
            || !windows.len().is_multiple_of(p.len)
            || p.nfft / 2 != ch.n2
            || p.len > p.nfft
        {
            return Err(GpuError::Device(format!(
                "{} samples in windows of {}, nfft {} for {} bins",
                windows.len(),
                p.len,
                p.nfft,
                ch.n2
            )));
        }
        let count = windows.len() / p.len;
        let b = count as u64 * ch.n2 as u64 * 8;
        self.channel_fits(b)?;
        let out = pool::buffer(
            self.gpu,
            "cc channel",
            b.max(8),
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let one = record::complex_fft(p.nfft, 1, false, &self.caps()).map_err(GpuError::Device)?;
        let per = one.per_trace.complex.max(1);
        // The transform's buffers within a quarter of the budget (the channels hold at most half).
        let rows = (self.gpu.limits.max_binding / per).min(self.budget / 4 / per);
        let rows = usize::try_from(rows)
            .unwrap_or(usize::MAX)
            .min(count.max(1));
        if rows == 0 {
            return Err(GpuError::Device(format!(
                "one window's transform of {} points needs {per} bytes, more than the device allows",
                p.nfft
            )));
        }
        let mut tapers: Vec<f32> = p.tapers.0.to_vec();
        tapers.extend_from_slice(p.tapers.1);
        tapers.push(0.0); // never an empty binding
        let tapers = self.storage("whiten tapers", bytemuck::cast_slice(&tapers));
        let mut base = 0;
        while base < count {
            let n = rows.min(count - base);
            let prog =
                record::complex_fft(p.nfft, n, false, &self.caps()).map_err(GpuError::Device)?;
            let set = self.fft_set(&prog)?;
            let win = self.storage(
                "cc windows",
                bytemuck::cast_slice(&windows[base * p.len..(base + n) * p.len]),
            );
            let params = SpecParams {
                len: u("window", p.len)?,
                nfft: u("nfft", p.nfft)?,
                n2: u("bins", ch.n2)?,
                count: u("windows", n)?,
                base: u("rows", base)?,
                kind: p.time_norm,
                points: u("smooth_n", p.smooth_n)?,
                ..Default::default()
            };
            let mut encoded = vec![self.cc_encode(
                "time_norm",
                bytemuck::bytes_of(&params),
                &[(1, &win), (2, &set.complex[0].lo)],
                n as u64 * p.nfft as u64,
                sizing::WORKGROUP,
            )?];
            let k = self.fft_encoded(&prog, &set, &mut encoded)?;
            let params = SpecParams {
                kind: u32::from(p.whiten),
                points: u("smoothspect_n", p.smoothspect_n)?,
                ix00: u("bin", p.bins[0])?,
                ix1: u("bin", p.bins[1])?,
                ix11: u("bin", p.bins[2])?,
                nlo: u("taper", p.tapers.0.len())?,
                nhi: u("taper", p.tapers.1.len())?,
                ..params
            };
            encoded.push(self.cc_encode(
                "whiten",
                bytemuck::bytes_of(&params),
                &[(3, &set.complex[k].lo), (4, &tapers), (5, &out)],
                n as u64 * ch.n2 as u64,
                sizing::WORKGROUP,
            )?);
            // Eight bytes back: the batch done (and its device errors seen) before the next.
            self.cc_submit(&encoded, &out, 8)?;
            base += n;
        }
        ch.bytes += b;
        ch.bufs.push(out);
        Ok(())
    }

    /// A channel's spectra as they are on the device (the kernel tests).
    pub fn cc_read_channel(
        &mut self,
        ch: &CcChannels,
        i: usize,
    ) -> Result<Vec<[f32; 2]>, GpuError> {
        let buf = ch
            .bufs
            .get(i)
            .ok_or_else(|| GpuError::Device(format!("no channel {i}")))?;
        let raw = self.cc_submit(&[], buf, buf.size())?;
        Ok(bytemuck::cast_slice(&raw).to_vec())
    }

    /// Runs `encoded` and reads `bytes` of `result` back, under error scopes (a device error
    /// or an out-of-memory comes back as an error, never a panic).
    fn cc_submit(
        &mut self,
        encoded: &[readback::Encoded],
        result: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Vec<u8>, GpuError> {
        let flight = self.scoped(|me| {
            let staging = pool::buffer(
                me.gpu,
                "cc download",
                bytes,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            Ok(readback::submit(
                me.gpu, false, encoded, None, result, staging, bytes,
            ))
        })?;
        let (raw, _) = readback::wait(self.gpu, flight, &mut self.times)?;
        if let Some(f) = self.gpu.take_fault() {
            return Err(f);
        }
        Ok(raw)
    }

    fn cc_encode(
        &self,
        kernel: &'static str,
        params: &[u8],
        bind: &[(u32, &wgpu::Buffer)],
        invocations: u64,
        group: u32,
    ) -> Result<readback::Encoded, GpuError> {
        let groups = sizing::dispatch(invocations, group, self.gpu.limits.max_groups_per_dim)
            .ok_or_else(|| {
                GpuError::Device(format!("{invocations} invocations exceed the grid"))
            })?;
        let mut entries = vec![(0, self.uniform(kernel, params))];
        entries.extend(bind.iter().map(|(b, buf)| (*b, (*buf).clone())));
        let d = record::Dispatch {
            kernel,
            stage: 0,
            groups,
            params: (0, Vec::new()),
            bind: Vec::new(),
            reads: 0,
            writes: 0,
            shared: 0,
            fusable: None,
            fused: Vec::new(),
        };
        self.encode(&d, &entries, 0, kernel)
    }

    /// Per pair and window: (largest product in numpy's order, sum of the products), as
    /// [max.re, max.im, sum.re, sum.im].
    pub fn cc_peaks(
        &mut self,
        ch: &CcChannels,
        pairs: &[CcPair],
    ) -> Result<Vec<Vec<[f32; 4]>>, GpuError> {
        let total: usize = pairs.iter().map(|p| p.windows.len()).sum();
        let out_bytes = total as u64 * 16;
        let peaks = pool::buffer(
            self.gpu,
            "cc peaks",
            out_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let mut encoded = Vec::with_capacity(pairs.len());
        let mut base = 0usize;
        for p in pairs {
            let n = p.windows.len();
            if n == 0 {
                continue;
            }
            let list = self.storage("cc windows", bytemuck::cast_slice(p.windows));
            let params = CcParams {
                n2: u32_of("bins", ch.n2).map_err(GpuError::Device)?,
                windows: u32_of("windows", n).map_err(GpuError::Device)?,
                base: u32_of("peak slots", base).map_err(GpuError::Device)?,
                ..Default::default()
            };
            let (a, b) = self.cc_pair_bufs(ch, p)?;
            encoded.push(self.cc_encode(
                "correlate_peaks",
                bytemuck::bytes_of(&params),
                &[(1, a), (2, b), (3, &list), (4, &peaks)],
                n as u64 * 64,
                64,
            )?);
            base += n;
        }
        if encoded.is_empty() {
            return Ok(pairs.iter().map(|_| Vec::new()).collect());
        }
        let raw = self.cc_submit(&encoded, &peaks, out_bytes)?;
        let flat: &[[f32; 4]] = bytemuck::cast_slice(&raw);
        let mut at = 0;
        Ok(pairs
            .iter()
            .map(|p| {
                let v = flat[at..at + p.windows.len()].to_vec();
                at += p.windows.len();
                v
            })
            .collect())
    }

    fn cc_pair_bufs<'c>(
        &self,
        ch: &'c CcChannels,
        p: &CcPair,
    ) -> Result<(&'c wgpu::Buffer, &'c wgpu::Buffer), GpuError> {
        match (ch.bufs.get(p.src), ch.bufs.get(p.rcv)) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(GpuError::Device(
                "a pair names a channel not uploaded".into(),
            )),
        }
    }

    /// Pairs a batch of `cc_rows` may hold: their transforms' work buffers within one binding
    /// and within `budget` bytes.
    pub fn cc_batch(&self, nfft: usize, nlags: usize, budget: u64) -> Result<usize, GpuError> {
        let prog = record::complex_fft(nfft, 1, true, &self.caps()).map_err(GpuError::Device)?;
        let complex = prog.per_trace.complex.max(1);
        let per_pair = 3 * complex + 4 * nlags as u64;
        let by_binding = self.gpu.limits.max_binding / complex;
        let by_budget = budget / per_pair;
        let n = by_binding.min(by_budget);
        if n == 0 {
            return Err(GpuError::Device(format!(
                "one pair's transform of {nfft} points needs {per_pair} bytes of device memory, more than the budget ({budget}) or a binding allows"
            )));
        }
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Each row's correlation: the kept windows' mean product less `mean`, inverse-transformed
    /// (length `nfft`), ifftshifted and cut to `nlags` lags from `first`.
    pub fn cc_rows(
        &mut self,
        ch: &CcChannels,
        rows: &[CcRow],
        nfft: usize,
        first: usize,
        nlags: usize,
    ) -> Result<Vec<Vec<f32>>, GpuError> {
        let count = rows.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let prog =
            record::complex_fft(nfft, count, true, &self.caps()).map_err(GpuError::Device)?;
        let set = self.fft_set(&prog)?;
        let u = |what: &str, v: usize| u32_of(what, v).map_err(GpuError::Device);
        let mut encoded = Vec::with_capacity(count + prog.dispatches.len() + 1);
        let mut lists = Vec::with_capacity(count);
        for r in rows {
            lists.push(self.storage("cc kept", bytemuck::cast_slice(r.pair.windows)));
        }
        for (i, (r, list)) in rows.iter().zip(&lists).enumerate() {
            let kept = r.pair.windows.len();
            let params = CcParams {
                n2: u("bins", ch.n2)?,
                nfft: u("nfft", nfft)?,
                windows: u("windows", kept)?,
                base: u("rows", i)?,
                mean_re: r.mean[0],
                mean_im: r.mean[1],
                inv: if kept == 0 {
                    f32::NAN
                } else {
                    1.0 / kept as f32
                },
                ..Default::default()
            };
            let (a, b) = self.cc_pair_bufs(ch, &r.pair)?;
            encoded.push(self.cc_encode(
                "correlate_spectrum",
                bytemuck::bytes_of(&params),
                &[(1, a), (2, b), (3, list), (5, &set.complex[0].lo)],
                (nfft / 2 + 1) as u64,
                sizing::WORKGROUP,
            )?);
        }
        let k = self.fft_encoded(&prog, &set, &mut encoded)?;
        let out_bytes = count as u64 * nlags as u64 * 4;
        let out = pool::buffer(
            self.gpu,
            "cc rows",
            out_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let params = CcParams {
            nfft: u("nfft", nfft)?,
            inv: 1.0 / nfft as f32,
            first: u("lag", first)?,
            nlags: u("lags", nlags)?,
            count: u("rows", count)?,
            ..Default::default()
        };
        encoded.push(self.cc_encode(
            "correlate_cut",
            bytemuck::bytes_of(&params),
            &[(6, &set.complex[k].lo), (7, &out)],
            count as u64 * nlags as u64,
            sizing::WORKGROUP,
        )?);
        let raw = self.cc_submit(&encoded, &out, out_bytes)?;
        let flat: &[f32] = bytemuck::cast_slice(&raw);
        Ok(flat.chunks(nlags).map(<[f32]>::to_vec).collect())
    }
}
