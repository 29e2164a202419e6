//! Pairs on the device (`seisbatch correlate --device gpu`, issue #27): per chunk, the channels'
//! kept spectra made on the device from their windows (time_norm, FFT, whitening: the host
//! cuts the windows, the spectra never cross the bus) or, for a channel the host transformed,
//! uploaded once (f32, as the device computes); every ready pair's windows'
//! peaks and sums on the device (`Runner::cc_peaks`), NoisePy's rejection and the mean bin
//! decided here in f64 exactly as the CPU path decides them, then each pair's mean spectrum
//! inverse-transformed and cut on the device in batches (`Runner::cc_rows`): only the kept
//! lags come back. cc_method xcorr averaged over the chunk (NoisePy's default); coherency and
//! deconv smooth over each pair's own windows, and `substack` rows are per window: those run
//! on the CPU path, said once in the summary. A device error sends the chunk's pairs to the
//! CPU path with the reason, never stops the run.

use std::collections::HashMap;

use num_complex::Complex64 as C;

use super::pairs::{Correlated, DeviceRows as Rows, Ready};
use super::station::Spectra;
use super::Config;
use crate::gpu::runner::{CcChannels, CcPair, CcRow, Runner, SpecPlan};
use crate::gpu::{to_f32, Gpu, GpuError};
use crate::ops::noise::correlate::{complex_median, lag_range, lex_lt, Method};
use crate::ops::noise::time_norm::TimeNorm;
use crate::ops::noise::whiten::FreqNorm;

/// What the device did (correlate.json's `device`).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DeviceStats {
    pub adapter: String,
    /// Pair-chunks correlated on the device, and on the CPU path with why (the first
    /// reasons; all counted).
    pub pairs: usize,
    pub cpu_pairs: usize,
    pub cpu_reasons: Vec<String>,
    /// Pair-windows the device multiplied, and seconds spent on device work (upload, kernels,
    /// readback).
    pub pair_windows: usize,
    pub seconds: f64,
    /// Modeled device-memory traffic per pair-window: both windows' spectra read twice
    /// (peaks, then the mean), 2 x 2 x n2 x 8 bytes.
    pub bytes_per_pair_window: u64,
    /// Channel-chunks whose spectra the device made from their windows.
    pub channels_on_device: usize,
    /// Chunks whose device work failed after the device had made their spectra: done again
    /// on the CPU path from the start (the host had their windows only).
    pub chunks_redone_on_cpu: usize,
}

pub struct Device<'g> {
    runner: Runner<'g>,
    budget: u64,
    pub stats: DeviceStats,
}

/// Why a configuration's pairs cannot run on the device (None: they can).
pub fn unsupported(cfg: &Config) -> Option<&'static str> {
    if cfg.cc_method != Method::Xcorr {
        return Some("cc_method coherency and deconv smooth over each pair's windows: CPU path");
    }
    if cfg.substack {
        return Some("substack = true keeps a row per window: CPU path");
    }
    None
}

impl<'g> Device<'g> {
    pub fn new(gpu: &'g Gpu, budget: u64) -> Device<'g> {
        Device {
            runner: Runner::new(gpu, budget),
            budget,
            stats: DeviceStats {
                adapter: gpu.info.describe(),
                ..Default::default()
            },
        }
    }

    fn send_to_cpu(&mut self, n: usize, why: String) -> Rows {
        self.stats.cpu_pairs += n;
        if self.stats.cpu_reasons.len() < 20 && !self.stats.cpu_reasons.contains(&why) {
            self.stats.cpu_reasons.push(why);
        }
        vec![None; n]
    }

    /// The ready pairs of one chunk.
    pub fn rows(&mut self, ready: &[&Ready], cfg: &Config) -> Rows {
        if ready.is_empty() {
            return Vec::new();
        }
        if let Some(why) = unsupported(cfg) {
            return self.send_to_cpu(ready.len(), why.into());
        }
        let t = std::time::Instant::now();
        let got = self.on_device(ready, cfg);
        self.stats.seconds += t.elapsed().as_secs_f64();
        match got {
            Ok(rows) => {
                self.stats.pairs += ready.len();
                rows
            }
            Err(e) => self.send_to_cpu(ready.len(), format!("device: {e}")),
        }
    }

    fn on_device(&mut self, ready: &[&Ready], cfg: &Config) -> Result<Rows, GpuError> {
        // Each channel once, in the order pairs first name it; its kept windows' slots.
        let mut index: HashMap<*const Spectra, usize> = HashMap::new();
        let mut channels: Vec<&Spectra> = Vec::new();
        for r in ready {
            for s in [r.a, r.b] {
                index.entry(s as *const Spectra).or_insert_with(|| {
                    channels.push(s);
                    channels.len() - 1
                });
            }
        }
        let n2 = ready[0].a.nfft / 2;
        let nfft = ready[0].a.nfft;
        if ready.iter().any(|r| r.a.nfft != nfft) {
            return Err(GpuError::Device(
                "pairs of one chunk with other nfft".into(),
            ));
        }
        // Each channel's kept windows numbered in order: their rows on the device.
        let mut slots: Vec<Vec<Option<u32>>> = Vec::with_capacity(channels.len());
        let mut bytes = 0u64;
        for s in &channels {
            let mut slot = Vec::with_capacity(s.windows.len());
            let mut k = 0u32;
            for w in &s.windows {
                match w {
                    Some(bins) if s.on_device() || bins.len() == n2 => {
                        slot.push(Some(k));
                        k += 1;
                    }
                    _ => slot.push(None),
                }
            }
            bytes += u64::from(k) * n2 as u64 * 8;
            slots.push(slot);
        }
        if bytes > self.budget / 2 {
            return Err(GpuError::Device(format!(
                "the chunk's spectra take {bytes} bytes, more than half of --gpu-memory ({})",
                self.budget
            )));
        }
        let mut ch = CcChannels::new(n2);
        for s in &channels {
            if s.on_device() {
                let (lo, hi) = s.plan.tapers();
                let (lo, hi): (Vec<f32>, Vec<f32>) = (
                    lo.iter().map(|&v| v as f32).collect(),
                    hi.iter().map(|&v| v as f32).collect(),
                );
                let plan = SpecPlan {
                    len: s.window_len,
                    nfft,
                    time_norm: match cfg.time_norm {
                        TimeNorm::No => 0,
                        TimeNorm::OneBit => 1,
                        TimeNorm::Rma => 2,
                    },
                    smooth_n: cfg.noise.smooth_n,
                    whiten: cfg.freq_norm != FreqNorm::No,
                    smoothspect_n: cfg.whiten_smooth(),
                    bins: s.plan.bins(),
                    tapers: (&lo, &hi),
                };
                self.runner.cc_push_windows(&mut ch, &s.samples, &plan)?;
                self.stats.channels_on_device += 1;
            } else {
                let flat: Vec<[f32; 2]> = s
                    .windows
                    .iter()
                    .flatten()
                    .filter(|b| b.len() == n2)
                    .flat_map(|b| b.iter().map(|c| [to_f32(c.re), to_f32(c.im)]))
                    .collect();
                self.runner.cc_push_spectra(&mut ch, &flat)?;
            }
        }
        let dt = ready[0].dt();
        let (lags, zero) = lag_range(nfft, dt, cfg.noise.maxlag);
        let Some(zero) = zero else {
            return Ok(vec![Some(None); ready.len()]);
        };
        let nlags = lags.len();
        let batch = self
            .runner
            .cc_batch(nfft, nlags, self.budget.saturating_sub(ch.bytes) / 2)?;
        // Each pair's (slot in a, slot in b) for its common windows.
        let windows: Vec<Vec<[u32; 2]>> = ready
            .iter()
            .map(|r| {
                let (ia, ib) = (
                    index[&(r.a as *const Spectra)],
                    index[&(r.b as *const Spectra)],
                );
                r.common
                    .iter()
                    .filter_map(|&k| {
                        Some([slots[ia].get(k).copied()??, slots[ib].get(k).copied()??])
                    })
                    .collect()
            })
            .collect();
        let mut out: Rows = Vec::with_capacity(ready.len());
        for (rs, ws) in ready.chunks(batch).zip(windows.chunks(batch)) {
            let pairs: Vec<CcPair> = rs
                .iter()
                .zip(ws)
                .map(|(r, w)| CcPair {
                    src: index[&(r.a as *const Spectra)],
                    rcv: index[&(r.b as *const Spectra)],
                    windows: w,
                })
                .collect();
            let peaks = self.runner.cc_peaks(&ch, &pairs)?;
            // NoisePy's rejection, in f64 of the device's f32 products, as the CPU path.
            let mut kept_lists: Vec<Vec<[u32; 2]>> = Vec::with_capacity(pairs.len());
            let mut means = Vec::with_capacity(pairs.len());
            for (p, pk) in pairs.iter().zip(&peaks) {
                let maxes: Vec<C> = pk
                    .iter()
                    .map(|v| C::new(v[0].into(), v[1].into()))
                    .collect();
                let limit = complex_median(&maxes) * 20.0;
                let kept: Vec<usize> = (0..maxes.len())
                    .filter(|&i| lex_lt(maxes[i], limit) && lex_lt(C::new(0.0, 0.0), maxes[i]))
                    .collect();
                let sum: C = kept
                    .iter()
                    .map(|&i| C::new(pk[i][2].into(), pk[i][3].into()))
                    .sum();
                let mean = sum / (kept.len().max(1) as f64 * n2.max(1) as f64);
                kept_lists.push(kept.iter().map(|&i| p.windows[i]).collect());
                means.push([to_f32(mean.re), to_f32(mean.im)]);
            }
            let todo: Vec<usize> = (0..pairs.len())
                .filter(|&i| !kept_lists[i].is_empty())
                .collect();
            let rows: Vec<CcRow> = todo
                .iter()
                .map(|&i| CcRow {
                    pair: CcPair {
                        src: pairs[i].src,
                        rcv: pairs[i].rcv,
                        windows: &kept_lists[i],
                    },
                    mean: means[i],
                })
                .collect();
            let data = self.runner.cc_rows(&ch, &rows, nfft, lags.start, nlags)?;
            let mut data = data.into_iter();
            for (i, w) in kept_lists.iter().enumerate() {
                self.stats.pair_windows += pairs[i].windows.len();
                if w.is_empty() {
                    out.push(Some(None));
                } else {
                    let row = data
                        .next()
                        .ok_or_else(|| GpuError::Device("a row missing".into()))?;
                    out.push(Some(Some(Correlated {
                        data: row.into_iter().map(f64::from).collect(),
                        zero,
                        windows: w.len(),
                        rows: 1,
                    })));
                }
            }
        }
        self.stats.bytes_per_pair_window = 4 * n2 as u64 * 8;
        Ok(out)
    }
}
