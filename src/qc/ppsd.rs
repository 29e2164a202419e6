//! ObsPy 1.5.1's `PPSD` (McNamara & Buland), its defaults and its arithmetic: one-hour
//! segments with 50 % overlap; each segment's PSD by matplotlib's `mlab.psd` (sub-windows of
//! the previous power of two below a quarter of the segment, 75 % overlap, linear detrend,
//! a 10 % cosine taper at each end, one-sided, scaled by frequency); the response removed to
//! acceleration; the dB values averaged over one octave every 1/8 octave of period; stored as
//! float32; a histogram of 1 dB bins from -200 to -50 dB and its mode, mean and percentiles.
//! docs/NUMERICS.md ("PPSD") keeps the details.

use num_complex::Complex64 as C;

/// `PPSD(...)`'s defaults.
pub const PPSD_LENGTH: f64 = 3600.0;
pub const OVERLAP: f64 = 0.5;
const SMOOTHING_OCTAVES: f64 = 1.0;
const STEP_OCTAVES: f64 = 0.125;
const DB_BINS: (f64, f64, f64) = (-200.0, -50.0, 1.0);

/// numpy's `finfo(float).tiny`, ObsPy's floor before the logarithm.
const DTINY: f64 = f64::MIN_POSITIVE;

/// The shape of one channel's PPSD (what `PPSD.__init__` derives from the rate).
#[derive(Debug, Clone)]
pub struct Params {
    pub rate: f64,
    pub nfft: usize,
    pub nlap: usize,
    /// Samples of one segment (`int(rate * ppsd_length)`).
    pub len: usize,
    /// Seconds from one segment's start to the next.
    pub step: f64,
    /// 1/f of the PSD's bins without the offset, ascending.
    pub psd_periods: Vec<f64>,
    /// Per period bin: the smoothing range's left edge, the bin's center, its right edge.
    pub bin_left: Vec<f64>,
    pub bin_center: Vec<f64>,
    pub bin_right: Vec<f64>,
    /// Per period bin, the PSD bins it averages (a range of `psd_periods`).
    ranges: Vec<(usize, usize)>,
    pub db_edges: Vec<f64>,
    taper: Vec<f64>,
    taper_sq: f64,
}

/// `obspy.signal.util.prev_pow_2` with Python's float arithmetic (`math.log(i, 2)`).
fn prev_pow_2(x: f64) -> usize {
    2f64.powf((x.ln() / 2f64.ln()).floor()) as usize
}

impl Params {
    /// Refuses rates whose segment would have fewer than 16 samples per sub-window (or a
    /// length the arithmetic cannot hold).
    pub fn new(rate: f64) -> Result<Params, String> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("sampling rate {rate} Hz: no PSD"));
        }
        let nfft = prev_pow_2(PPSD_LENGTH * rate / 4.0);
        let len = (rate * PPSD_LENGTH) as usize;
        if nfft < 16 || len > crate::limits::max_samples() {
            return Err(format!(
                "sampling rate {rate} Hz: a {PPSD_LENGTH} s segment of {len} samples is outside what a PSD is computed for (16 to {} samples per transform)",
                crate::limits::max_samples()
            ));
        }
        let nlap = (0.75 * nfft as f64) as usize;
        // numpy's rfftfreq(nfft, d=1/rate) without the offset, as periods, ascending.
        let val = 1.0 / (nfft as f64 * (1.0 / rate));
        let psd_periods: Vec<f64> = (1..=nfft / 2)
            .rev()
            .map(|k| 1.0 / (k as f64 * val))
            .collect();
        let (lo, hi) = (psd_periods[0], psd_periods[psd_periods.len() - 1]);
        // _setup_period_binning, step by step.
        let step_f = 2f64.powf(STEP_OCTAVES);
        let width_f = 2f64.powf(SMOOTHING_OCTAVES);
        let mut left = lo / width_f.powf(0.5);
        let mut right = left * width_f;
        let mut center = (left * right).sqrt();
        let (mut bl, mut bc, mut br) = (vec![left], vec![center], vec![right]);
        while center < hi {
            left *= step_f;
            right = left * width_f;
            center = (left * right).sqrt();
            bl.push(left);
            bc.push(center);
            br.push(right);
        }
        let mut p = Params {
            rate,
            nfft,
            nlap,
            len,
            step: PPSD_LENGTH * (1.0 - OVERLAP),
            bin_left: Vec::new(),
            bin_center: Vec::new(),
            bin_right: Vec::new(),
            ranges: Vec::new(),
            db_edges: Vec::new(),
            taper: crate::ops::taper::cosine_taper(nfft, 0.2, false, true)?,
            taper_sq: 0.0,
            psd_periods,
        };
        for i in 0..bl.len() {
            if br[i] > lo && bl[i] < hi {
                p.bin_left.push(bl[i]);
                p.bin_center.push(bc[i]);
                p.bin_right.push(br[i]);
                let a = p.psd_periods.partition_point(|&t| t < bl[i]);
                let b = p.psd_periods.partition_point(|&t| t <= br[i]);
                p.ranges.push((a, b.max(a)));
            }
        }
        let n = ((DB_BINS.1 - DB_BINS.0) / DB_BINS.2) as usize;
        // numpy's linspace(start, stop, n + 1): start + k * step, the last exactly stop.
        let step = (DB_BINS.1 - DB_BINS.0) / n as f64;
        p.db_edges = (0..=n).map(|k| DB_BINS.0 + k as f64 * step).collect();
        p.db_edges[n] = DB_BINS.1;
        p.taper_sq = p.taper.iter().map(|w| w * w).sum();
        Ok(p)
    }

    /// The frequencies the response is evaluated on (evalresp's grid for t_samp, nfft).
    pub fn response_grid(&self) -> Vec<f64> {
        crate::response::eval::grid(1.0 / self.rate, self.nfft)
    }

    pub fn db_centers(&self) -> Vec<f64> {
        self.db_edges
            .windows(2)
            .map(|w| (w[0] + w[1]) / 2.0)
            .collect()
    }

    /// One segment's smoothed PSD in dB (float32, as ObsPy stores it): `segment` has
    /// `self.len` samples (gaps already zeros), `resp` the velocity response on
    /// `response_grid()`.
    pub fn segment(
        &self,
        work: &mut Work,
        segment: &[f64],
        resp: &[C],
    ) -> Result<Vec<f32>, String> {
        if segment.len() != self.len || resp.len() != self.nfft / 2 + 1 {
            return Err(format!(
                "a PSD segment of {} samples (expected {}) or a response of {} bins (expected {})",
                segment.len(),
                self.len,
                resp.len(),
                self.nfft / 2 + 1
            ));
        }
        let nfft = self.nfft;
        let stride = nfft - self.nlap;
        let count = (self.len - nfft) / stride + 1;
        let bins = nfft / 2 + 1;
        if work.nfft != nfft {
            *work = Work::new(nfft);
        }
        let Work {
            fft,
            buf,
            spec,
            scratch,
            ..
        } = work;
        let mut power = vec![0.0f64; bins];
        let xm = (nfft as f64 - 1.0) / 2.0;
        let sxx = (0..nfft).map(|i| (i as f64 - xm).powi(2)).sum::<f64>() / nfft as f64;
        for s in 0..count {
            let y = &segment[s * stride..s * stride + nfft];
            // mlab.detrend_linear: the least-squares line through the sub-window. The sums
            // in eight lanes (as numpy's pairwise sum keeps eight): a single running sum is
            // latency-bound and was a third of the time.
            let (sy, sxy) = sums(y, xm);
            let ym = sy / nfft as f64;
            let b = (sxy / nfft as f64) / sxx;
            let a = ym - b * xm;
            for (i, (o, &v)) in buf.iter_mut().zip(y).enumerate() {
                *o = (v - (b * i as f64 + a)) * self.taper[i];
            }
            fft.process_with_scratch(buf, spec, scratch)
                .map_err(|e| e.to_string())?;
            for (p, c) in power.iter_mut().zip(spec.iter()) {
                *p += c.norm_sqr();
            }
        }
        // One-sided: every bin but the offset and Nyquist twice; per Hz; per window power;
        // the mean over the sub-windows.
        let norm = self.rate * self.taper_sq * count as f64;
        let mut db = vec![0.0f64; bins - 1];
        for k in 1..bins {
            let scale = if k == bins - 1 { 1.0 } else { 2.0 };
            let f = k as f64 * self.rate / nfft as f64;
            let w = 2.0 * std::f64::consts::PI * f;
            // numpy's |H·conj(H)|: the product's imaginary part is exactly zero, so its
            // absolute value is re² + im² as the product computes it (no hypot needed).
            let h = resp[k];
            let amp = (h.re * h.re - h.im * -h.im).abs();
            let v = (w * w) * (power[k] * scale / norm) / amp;
            // NaN (a response of zero at a bin) stays NaN, as numpy's comparison leaves it.
            let v = if v < DTINY { DTINY } else { v };
            // Periods ascend where frequencies descend.
            db[bins - 1 - k] = 10.0 * v.log10();
        }
        Ok(self
            .ranges
            .iter()
            .map(|&(a, b)| {
                if b > a {
                    (db[a..b].iter().sum::<f64>() / (b - a) as f64) as f32
                } else {
                    f32::NAN
                }
            })
            .collect())
    }
}

/// (sum of y, sum of (i - xm) * y), eight lanes at a time.
fn sums(y: &[f64], xm: f64) -> (f64, f64) {
    let mut s = [0.0f64; 8];
    let mut t = [0.0f64; 8];
    let mut chunks = y.chunks_exact(8);
    let mut base = 0usize;
    for c in &mut chunks {
        for k in 0..8 {
            s[k] += c[k];
            t[k] += ((base + k) as f64 - xm) * c[k];
        }
        base += 8;
    }
    let (mut sy, mut sxy) = (s.iter().sum::<f64>(), t.iter().sum::<f64>());
    for (k, &v) in chunks.remainder().iter().enumerate() {
        sy += v;
        sxy += ((base + k) as f64 - xm) * v;
    }
    (sy, sxy)
}

/// A segment's transform and buffers, planned once per length and kept by its caller.
pub struct Work {
    nfft: usize,
    fft: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    buf: Vec<f64>,
    spec: Vec<C>,
    scratch: Vec<C>,
}

impl Work {
    pub fn new(nfft: usize) -> Work {
        let fft = realfft::RealFftPlanner::<f64>::new().plan_fft_forward(nfft);
        Work {
            nfft,
            buf: vec![0.0; nfft],
            spec: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
        }
    }
}

/// The 2-D histogram of a set of segments' PSDs (period bin x dB bin) and what ObsPy reads
/// from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// counts[period bin][dB bin].
    pub counts: Vec<Vec<u64>>,
    pub segments: usize,
}

impl Histogram {
    pub fn new(p: &Params) -> Histogram {
        Histogram {
            counts: vec![vec![0; p.db_edges.len() - 1]; p.bin_center.len()],
            segments: 0,
        }
    }

    /// `calculate_histogram`'s binning of one segment: `searchsorted(left) - 1`, values
    /// below the first edge into the first bin, above the last (and NaN) into the last.
    pub fn add(&mut self, p: &Params, psd: &[f32]) {
        let nb = p.db_edges.len() - 1;
        for (row, &v) in self.counts.iter_mut().zip(psd) {
            let v = v as f64;
            let i = if v.is_nan() {
                nb
            } else {
                p.db_edges.partition_point(|&e| e < v)
            };
            row[i.saturating_sub(1).min(nb - 1)] += 1;
        }
        self.segments += 1;
    }

    /// Per period bin, the center of the fullest dB bin (the first of equals).
    pub fn mode(&self, p: &Params) -> Vec<f64> {
        let c = p.db_centers();
        self.counts
            .iter()
            .map(|row| {
                let mut best = 0;
                for (i, &n) in row.iter().enumerate() {
                    if n > row[best] {
                        best = i;
                    }
                }
                c[best]
            })
            .collect()
    }

    /// `get_mean`: the bins' centers weighted by their counts, over the number of segments.
    pub fn mean(&self, p: &Params) -> Vec<f64> {
        let c = p.db_centers();
        let n = self.segments.max(1) as f64;
        self.counts
            .iter()
            .map(|row| row.iter().zip(&c).map(|(&k, &x)| k as f64 * x / n).sum())
            .collect()
    }

    /// `get_percentile(q)`: the dB edge where the cumulative share first reaches q/100.
    pub fn percentile(&self, p: &Params, q: f64) -> Vec<f64> {
        let q = q / 100.0;
        self.counts
            .iter()
            .map(|row| {
                let total = row.iter().sum::<u64>();
                let norm = if total == 0 { 1.0 } else { total as f64 };
                let mut cum = 0u64;
                let mut idx = row.len();
                for (i, &n) in row.iter().enumerate() {
                    cum += n;
                    let share = cum as f64 / norm;
                    let hit = if q == 0.0 { share > q } else { share >= q };
                    if hit {
                        idx = i;
                        break;
                    }
                }
                p.db_edges[idx]
            })
            .collect()
    }
}
