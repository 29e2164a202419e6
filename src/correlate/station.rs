//! One channel in one chunk: read as one trace (gaps zero-filled), placed on the chunk's
//! sample grid, cut into windows (`ops::noise::segment`), and each window kept by
//! max_over_std normalised and transformed (`time_norm`, `whiten`): the spectra its pairs
//! share.

use num_complex::Complex64 as C;

use super::Config;
use crate::archive::fetch;
use crate::archive::units::Unit;
use crate::ops::noise::{segment, time_norm, whiten};
use crate::read::join::Gaps;

/// Least share of a chunk a channel must cover (NoisePy's `portion_gaps` > 0.3 drops it).
pub const MIN_COVERAGE: f64 = 0.7;

/// A channel's spectra in one chunk.
pub struct Spectra {
    pub network: String,
    pub station: String,
    pub location: String,
    pub channel: String,
    pub sampling_rate: f64,
    /// Per window of the chunk: its spectrum (nfft / 2 bins), None where max_over_std dropped
    /// it; an empty spectrum where the device makes it (from `samples`).
    pub windows: Vec<Option<Vec<C>>>,
    pub nfft: usize,
    pub dropped: usize,
    /// For the device (`spectra(.., on_device)`): the kept windows' samples end to end,
    /// `window_len` each, before time_norm (f32, as the device takes them); empty otherwise.
    pub samples: Vec<f32>,
    pub window_len: usize,
    /// The whitening's band and tapers for windows of `window_len`.
    pub plan: whiten::Plan,
}

impl Spectra {
    pub fn kept(&self) -> usize {
        self.windows.iter().flatten().count()
    }

    pub fn bytes(&self) -> u64 {
        let spectra: u64 = self
            .windows
            .iter()
            .flatten()
            .map(|w| w.len() as u64 * 16)
            .sum();
        spectra + self.samples.len() as u64 * 4
    }

    /// Whether the device makes this channel's spectra (the host holds its windows only).
    pub fn on_device(&self) -> bool {
        !self.samples.is_empty()
    }

    /// The station's codes, `NET.STA.LOC`.
    pub fn station_id(&self) -> String {
        format!("{}.{}.{}", self.network, self.station, self.location)
    }

    /// The component letter (the channel code's last).
    pub fn component(&self) -> char {
        self.channel
            .chars()
            .last()
            .unwrap_or('?')
            .to_ascii_uppercase()
    }
}

/// The bytes `unit`'s spectra may take: every window of the chunk kept, nfft / 2 complex
/// bins each at the rate its samples in the index give (at least one sample a second).
pub fn bytes_for(unit: &Unit, cfg: &Config) -> u64 {
    let p = &cfg.noise;
    let chunk_s = p.inc_hours * 3600.0;
    let rate = (unit.samples as f64 / chunk_s).max(1.0).ceil();
    let windows = ((chunk_s - p.cc_len) / p.step).floor().max(0.0);
    let npts = p.cc_len * rate;
    if npts > crate::ops::noise::segment::MAX_WINDOW_SAMPLES as f64 {
        // cut refuses such windows; counted as more than any budget.
        return u64::MAX;
    }
    let bins = crate::ops::noise::next_fast_len(npts as usize) / 2;
    (windows * bins as f64 * 16.0).min(u64::MAX as f64) as u64
}

/// `unit`'s spectra, or (channel, why not). `on_device`: the kept windows' samples instead,
/// for the device to normalise, transform and whiten (`gpu::runner::SpecPlan`).
pub fn spectra(
    unit: &Unit,
    cfg: &Config,
    buf: &mut Vec<u8>,
    on_device: bool,
) -> Result<Spectra, (String, String)> {
    let (n, s, l, c) = &*unit.codes;
    let id = format!("{n}.{s}.{l}.{c}");
    let fail = |why: String| (id.clone(), why);
    let p = &cfg.noise;
    let chunk_s = p.inc_hours * 3600.0;
    let got = fetch::fetch(unit, Gaps::Zeros { max_gap: chunk_s }, buf)
        .map_err(|u| fail(format!("{}: {}", u.path.display(), u.reason)))?;
    if got.coverage < MIN_COVERAGE {
        return Err(fail(format!(
            "data cover {:.0} % of the chunk (NoisePy needs 70 %)",
            got.coverage * 100.0
        )));
    }
    let [tr] = &got.traces[..] else {
        return Err(fail(format!(
            "{} pieces after filling gaps (a rate change?)",
            got.traces.len()
        )));
    };
    let rate = tr.sampling_rate;
    if !(rate >= 1.0 && rate.fract() == 0.0 && rate <= 1e5) {
        return Err(fail(format!(
            "sampling rate {rate} Hz: NoisePy's windows need a whole number of samples a second"
        )));
    }
    // The chunk's grid: NoisePy's trim(start, end, pad=True, fill_value=0); samples at the
    // nearest grid point (a trace off the grid by a fraction of a sample is taken as on it).
    let len = (rate * chunk_s).round() as usize;
    let dt_ns = 1e9 / rate;
    let first = ((tr.start_ns - unit.window.start_ns) as f64 / dt_ns).round();
    let mut data = vec![0.0; len];
    if first >= 0.0 {
        let at = first as usize;
        for (d, v) in data.iter_mut().skip(at).zip(&tr.data) {
            *d = *v;
        }
    }
    let win = segment::cut(&data, rate, p).map_err(fail)?;
    if win.data.is_empty() {
        return Err(fail(
            "no windows: the chunk's data are constant (NoisePy's MAD or std is 0)".into(),
        ));
    }
    let mut keep = vec![false; win.data.len()];
    for i in win.keep(p.max_over_std) {
        keep[i] = true;
    }
    let band = whiten::Band {
        dt: 1.0 / rate,
        freqmin: p.freqmin,
        freqmax: p.freqmax,
        smooth_n: cfg.whiten_smooth(),
    };
    let window_len = win.data[0].len();
    let nfft = crate::ops::noise::next_fast_len(window_len);
    let plan = whiten::Plan::new(window_len, &band);
    let mut samples = Vec::new();
    let windows: Vec<Option<Vec<C>>> = win
        .data
        .into_iter()
        .enumerate()
        .map(|(i, mut x)| {
            keep[i].then(|| {
                if on_device {
                    samples.extend(x.iter().map(|&v| v as f32));
                    return Vec::new();
                }
                time_norm::apply(&mut x, cfg.time_norm, p.smooth_n);
                whiten::spectrum_with(&x, cfg.freq_norm, &plan)
            })
        })
        .collect();
    Ok(Spectra {
        network: n.clone(),
        station: s.clone(),
        location: l.clone(),
        channel: c.clone(),
        sampling_rate: rate,
        dropped: keep.iter().filter(|k| !**k).count(),
        windows,
        nfft,
        samples,
        window_len,
        plan,
    })
}
