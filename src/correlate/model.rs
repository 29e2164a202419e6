//! What a correlate run will move, before it reads anything (`seisbatch plan CONFIG
//! --correlate`): per chunk, the windows, FFT length and lags of a channel at a given rate,
//! the correlations and pair-windows of N stations, the host memory the chunk's spectra take
//! (what `--memory` budgets), and the device's modeled memory traffic: the kept windows'
//! samples uploaded once (f32; the device normalises, transforms and whitens them into the
//! spectra it keeps), per pair-window both windows' bins read twice (the peaks, then the mean: the
//! `device.bytes_per_pair_window` a run reports), per pair its mean spectrum written and read
//! by the inverse transform and the ±maxlag lags read back. The transforms' own passes are
//! not counted. A pure function of the configuration: unit-tested, no data.

use super::Config;
use crate::ops::noise::correlate::lag_range;
use crate::ops::noise::next_fast_len;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Model {
    pub sampling_rate: f64,
    pub stations: usize,
    pub chunk_seconds: f64,
    /// Windows per channel-chunk (NoisePy's floor((chunk - cc_len) / step)), their samples,
    /// the FFT length and the bins kept (nfft / 2, NoisePy's Nfft2).
    pub windows: usize,
    pub window_samples: usize,
    pub nfft: usize,
    pub bins: usize,
    /// Lags per correlation row (±maxlag and lag 0).
    pub lags: usize,
    /// Channels (stations times the components named), correlations and pair-windows per
    /// chunk (every window kept).
    pub channels: usize,
    pub correlations: usize,
    pub pair_windows: u64,
    /// Host bytes of one chunk's spectra (complex f64), as `--memory` counts them.
    pub host_spectra_bytes: u64,
    /// Device: bytes uploaded per chunk (the windows' samples as f32), traffic per pair-window and
    /// per pair, and the chunk's total traffic; bytes read back per chunk.
    pub device_upload_bytes: u64,
    pub device_bytes_per_pair_window: u64,
    pub device_bytes_per_pair: u64,
    pub device_bytes_per_chunk: u64,
    pub device_download_bytes: u64,
    /// Bytes of SAC written per chunk (a 632-byte header and f32 lags per correlation).
    pub output_bytes: u64,
    /// Why the pairs would run on the CPU path (None: on the device with `--device gpu`).
    pub cpu_only: Option<&'static str>,
}

/// The component pairs of one station with itself: NoisePy's iiR >= iiS of those asked.
fn auto_pairs(cfg: &Config) -> usize {
    let order = |c: char| "ENZ".find(c).unwrap_or(0);
    cfg.components
        .iter()
        .filter(|(s, r)| order(*r) >= order(*s))
        .count()
}

pub fn model(cfg: &Config, sampling_rate: f64, stations: usize) -> Result<Model, String> {
    if !(sampling_rate.is_finite() && sampling_rate > 0.0 && sampling_rate <= 1e6) {
        return Err(format!("sampling rate {sampling_rate}: 0 to 1e6 Hz"));
    }
    if stations == 0 || stations > 100_000 {
        return Err(format!("{stations} stations: 1 to 100000"));
    }
    let p = &cfg.noise;
    let chunk_seconds = p.inc_hours * 3600.0;
    let windows = ((chunk_seconds - p.cc_len) / p.step).floor().max(0.0) as usize;
    let window_samples = (p.cc_len * sampling_rate).round() as usize;
    if window_samples > crate::ops::noise::segment::MAX_WINDOW_SAMPLES {
        return Err(format!(
            "cc_len {} s at {sampling_rate} Hz: {window_samples} samples a window, more than a window may hold",
            p.cc_len
        ));
    }
    let nfft = next_fast_len(window_samples.max(1));
    let bins = nfft / 2;
    let (lag_idx, _) = lag_range(nfft, 1.0 / sampling_rate, p.maxlag);
    let lags = lag_idx.len();
    let comps: std::collections::BTreeSet<char> =
        cfg.components.iter().flat_map(|(a, b)| [*a, *b]).collect();
    let channels = stations * comps.len();
    let n = stations as u64;
    let cross = if cfg.cross { n * (n - 1) / 2 } else { 0 } * cfg.components.len() as u64;
    let auto = if cfg.auto {
        n * auto_pairs(cfg) as u64
    } else {
        0
    };
    let correlations = cross + auto;
    let pair_windows = correlations * windows as u64;
    let spectra_values = channels as u64 * windows as u64 * bins as u64;
    let device_bytes_per_pair_window = 4 * bins as u64 * 8;
    let device_bytes_per_pair = 2 * bins as u64 * 8 + lags as u64 * 4;
    let device_upload_bytes = channels as u64 * windows as u64 * window_samples as u64 * 4;
    Ok(Model {
        sampling_rate,
        stations,
        chunk_seconds,
        windows,
        window_samples,
        nfft,
        bins,
        lags,
        channels,
        correlations: correlations as usize,
        pair_windows,
        host_spectra_bytes: spectra_values * 16,
        device_upload_bytes,
        device_bytes_per_pair_window,
        device_bytes_per_pair,
        device_bytes_per_chunk: device_upload_bytes
            + pair_windows * device_bytes_per_pair_window
            + correlations * device_bytes_per_pair,
        device_download_bytes: correlations * lags as u64 * 4,
        output_bytes: correlations * (632 + 4 * lags as u64),
        cpu_only: super::device::unsupported(cfg),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NoisePy's defaults at 20 Hz: a day of 1800 s windows every 450 s is 188 windows,
    /// 36,000 samples (next_fast_len 36,000: 2^5 3^2 5^3), ±200 s of lags at 0.05 s.
    #[test]
    fn noisepys_defaults_at_20_hz() {
        let cfg = Config::parse("").unwrap();
        let m = model(&cfg, 20.0, 100).unwrap();
        assert_eq!(m.windows, 188);
        assert_eq!((m.window_samples, m.nfft, m.bins), (36_000, 36_000, 18_000));
        assert_eq!(m.lags, 8001);
        assert_eq!(m.channels, 100, "ZZ: one channel a station");
        assert_eq!(m.correlations, 4950);
        assert_eq!(m.pair_windows, 4950 * 188);
        // 144 kB a pair-window, as the README and correlate.json give it.
        assert_eq!(m.device_bytes_per_pair_window, 576_000);
        assert_eq!(m.host_spectra_bytes, 100 * 188 * 18_000 * 16);
        assert_eq!(m.device_upload_bytes, 100 * 188 * 36_000 * 4);
        assert_eq!(m.device_download_bytes, 4950 * 8001 * 4);
        assert_eq!(m.cpu_only, None);
    }

    #[test]
    fn components_and_autocorrelations_count_as_noisepy_pairs_them() {
        let cfg = Config::parse("components = [\"all\"]\nxcorr_only = false").unwrap();
        let m = model(&cfg, 10.0, 3).unwrap();
        assert_eq!(m.channels, 9);
        // 3 pairs x 9 component pairs, and 3 stations x 6 with themselves.
        assert_eq!(m.correlations, 27 + 18);
        let sub = Config::parse("substack = true").unwrap();
        assert!(model(&sub, 10.0, 3).unwrap().cpu_only.is_some());
        assert!(model(&cfg, 0.0, 3).is_err() && model(&cfg, 10.0, 0).is_err());
        assert!(
            model(&cfg, 1e6, 3).is_err(),
            "a window past the limit is refused"
        );
    }
}
