//! A correlation as SAC, as ObsPy reads it: the receiver's codes and coordinates as the
//! station, the source's as the event, the component pair as the channel ("ZZ"), lag 0 at
//! the event time `o` (the chunk's start; the trace starts maxlag earlier), dist, az and baz
//! from the two (SAC's lcalda, computed as ObsPy computes them). Per chunk in
//! `OUTPUT/<chunk>/<SOURCE>_<RECEIVER>/<CS><CR>.sac` and stacked over the run in
//! `OUTPUT/stack/...` (codes escaped: a name never leaves OUTPUT).

use std::collections::BTreeMap;
use std::path::Path;

use super::config::StackMethod;
use super::pairs::{Day, Row};
use super::Config;
use crate::archive::windows::Window;
use crate::escape::escape;
use crate::events::Event;
use crate::trace::Trace;
use crate::write::sac;

fn station_dir((n, s, l): &(String, String, String)) -> String {
    format!("{}.{}.{}", escape(n), escape(s), escape(l))
}

fn write_row(
    out: &Path,
    folder: &str,
    row: &Row,
    data: &[f64],
    lag0_ns: i64,
) -> Result<(), String> {
    let dir = out.join(folder).join(format!(
        "{}_{}",
        station_dir(&row.source_codes),
        station_dir(&row.receiver_codes)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (n, s, l) = &row.receiver_codes;
    let dt_ns = row.dt * 1e9;
    let tr = Trace {
        network: n.clone(),
        station: s.clone(),
        location: l.clone(),
        channel: format!("{}{}", row.components.0, row.components.1),
        start_ns: lag0_ns - (row.zero as f64 * dt_ns).round() as i64,
        sampling_rate: 1.0 / row.dt,
        data: data.to_vec(),
    };
    let meta = sac::Meta {
        station: row.receiver_coords,
        event: row.source_coords.map(|c| Event {
            time_ns: lag0_ns,
            latitude: c.latitude,
            longitude: c.longitude,
            depth_km: 0.0,
        }),
    };
    let name = format!(
        "{}{}.sac",
        escape(&row.components.0.to_string()),
        escape(&row.components.1.to_string())
    );
    let path = dir.join(name);
    crate::write::atomic::write_atomic_in(&dir, &path, &sac::encode_with(&tr, &meta), "cc", false)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A chunk's rows; the files written.
pub fn write_chunk(out: &Path, w: &Window, day: &Day, _cfg: &Config) -> Result<usize, String> {
    for r in &day.rows {
        write_row(out, &w.label, r, &r.data, w.start_ns)?;
    }
    Ok(day.rows.len())
}

/// A pair and component pair: source, receiver, and the two components.
type PairKey = (String, String, char, char);

/// A pair's rows over the run: its first chunk's row (for the header) and every chunk's
/// correlation with the windows it stands for.
type PairRows = (Row, Vec<(Vec<f64>, usize)>);

/// The run's stacks, per pair and component pair.
#[derive(Default)]
pub struct Stacks {
    by_pair: BTreeMap<PairKey, PairRows>,
}

impl Stacks {
    pub fn add(&mut self, day: &Day) {
        for r in &day.rows {
            let key = (
                r.source.clone(),
                r.receiver.clone(),
                r.components.0,
                r.components.1,
            );
            let e = self.by_pair.entry(key).or_insert_with(|| {
                (
                    Row {
                        data: Vec::new(),
                        ..clone_meta(r)
                    },
                    Vec::new(),
                )
            });
            // Chunks with another lag grid (another rate) are not stacked with the first.
            if e.1.first().is_none_or(|f| f.0.len() == r.data.len()) {
                e.1.push((r.data.clone(), r.windows));
            }
        }
    }

    /// Writes `OUTPUT/stack/...`, lag 0 at the first chunk's start; the files written.
    pub fn write(
        &self,
        out: &Path,
        cfg: &Config,
        first: Option<&std::sync::Arc<Window>>,
    ) -> Result<usize, String> {
        let Some(first) = first else {
            return Ok(0);
        };
        for (row, days) in self.by_pair.values() {
            let data = match cfg.stack_method {
                StackMethod::Linear => linear(days),
                StackMethod::Pws => pws(days),
            };
            write_row(out, "stack", row, &data, first.start_ns)?;
        }
        Ok(self.by_pair.len())
    }
}

fn clone_meta(r: &Row) -> Row {
    Row {
        source: r.source.clone(),
        receiver: r.receiver.clone(),
        components: r.components,
        source_codes: r.source_codes.clone(),
        receiver_codes: r.receiver_codes.clone(),
        source_coords: r.source_coords,
        receiver_coords: r.receiver_coords,
        dt: r.dt,
        data: Vec::new(),
        zero: r.zero,
        windows: 0,
    }
}

/// The mean over every window: each chunk's row weighted by its windows.
fn linear(days: &[(Vec<f64>, usize)]) -> Vec<f64> {
    let n = days.first().map_or(0, |d| d.0.len());
    let total: usize = days.iter().map(|d| d.1).sum();
    let mut out = vec![0.0; n];
    for (row, w) in days {
        out.iter_mut()
            .zip(row)
            .for_each(|(o, v)| *o += v * *w as f64);
    }
    out.iter_mut().for_each(|o| *o /= total.max(1) as f64);
    out
}

/// NoisePy's `pws` (power 2) over the chunks' rows: the mean row times |mean of e^(i phase)|^2,
/// the phase of each row's analytic signal (scipy's `hilbert` on next_fast_len points).
fn pws(days: &[(Vec<f64>, usize)]) -> Vec<f64> {
    let rows: Vec<&Vec<f64>> = days.iter().map(|d| &d.0).collect();
    let m = rows.first().map_or(0, |r| r.len());
    if rows.len() < 2 || m == 0 {
        return rows.first().map(|r| r.to_vec()).unwrap_or_default();
    }
    let nfft = crate::ops::noise::next_fast_len(m);
    let mut phase_sum = vec![num_complex::Complex64::new(0.0, 0.0); m];
    for r in &rows {
        let h = hilbert_imag(r, nfft);
        for k in 0..m {
            let z = num_complex::Complex64::new(r[k], h[k]);
            let norm = z.norm();
            if norm > 0.0 {
                phase_sum[k] += z / norm;
            }
        }
    }
    let n = rows.len() as f64;
    (0..m)
        .map(|k| {
            let w = (phase_sum[k] / n).norm().powi(2);
            rows.iter().map(|r| r[k] * w).sum::<f64>() / n
        })
        .collect()
}

/// The imaginary part of scipy's `hilbert(x, N)`: the inverse transform of -i X for the
/// positive bins (0 at DC and, for an even N, at Nyquist).
fn hilbert_imag(x: &[f64], nfft: usize) -> Vec<f64> {
    let mut spec = crate::ops::fft::rfft(x, nfft);
    let last = spec.len() - 1;
    for (k, v) in spec.iter_mut().enumerate() {
        let nyquist = nfft.is_multiple_of(2) && k == last;
        *v = if k == 0 || nyquist {
            num_complex::Complex64::new(0.0, 0.0)
        } else {
            num_complex::Complex64::new(v.im, -v.re)
        };
    }
    crate::ops::fft::irfft(&spec, nfft)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy's hilbert of a cosine over whole periods is the sine; pws of equal rows is the
    /// row (coherence 1), of opposite rows zero; linear weights chunks by their windows.
    #[test]
    fn hilbert_pws_and_linear_stacks() {
        let n = 256;
        let w = 2.0 * std::f64::consts::PI * 8.0 / n as f64;
        let x: Vec<f64> = (0..n).map(|i| (w * i as f64).cos()).collect();
        let h = hilbert_imag(&x, n);
        for (i, v) in h.iter().enumerate() {
            assert!((v - (w * i as f64).sin()).abs() < 1e-12, "{i}");
        }
        let row: Vec<f64> = (0..100).map(|i| (i as f64 * 0.3).sin() + 0.1).collect();
        let same = pws(&[(row.clone(), 3), (row.clone(), 5)]);
        assert!(same.iter().zip(&row).all(|(a, b)| (a - b).abs() < 1e-9));
        let neg: Vec<f64> = row.iter().map(|v| -v).collect();
        assert!(pws(&[(row.clone(), 1), (neg, 1)])
            .iter()
            .all(|v| v.abs() < 1e-9));
        let l = linear(&[(vec![1.0, 2.0], 1), (vec![4.0, 8.0], 3)]);
        assert_eq!(l, vec![3.25, 6.5]);
    }
}
