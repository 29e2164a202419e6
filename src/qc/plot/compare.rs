//! Before and after for one output: the raw counts (top) and the processed trace (below) on
//! one time axis, and both amplitude spectra (right, each scaled to its own peak) on log
//! axes. Long traces are drawn as each pixel column's minimum and maximum.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{curve, err, legend, Draw};
use crate::trace::Trace;

pub struct Compare<'a> {
    pub raw: &'a Trace,
    pub processed: &'a Trace,
    pub title: String,
}

/// (time s from `t0`, value) pairs, at most two per column of `columns`.
fn envelope(tr: &Trace, t0: i64, columns: usize) -> Vec<(f64, f64)> {
    let n = tr.data.len();
    let dt = 1.0 / tr.sampling_rate;
    let off = (tr.start_ns - t0) as f64 * 1e-9;
    if n <= 2 * columns {
        return tr
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| (off + i as f64 * dt, v))
            .collect();
    }
    let per = n.div_ceil(columns);
    let mut out = Vec::with_capacity(2 * columns);
    for (k, c) in tr.data.chunks(per).enumerate() {
        let t = off + (k * per) as f64 * dt;
        let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        out.push((t, lo));
        out.push((t, hi));
    }
    out
}

/// The amplitude spectrum (of at most 2^20 samples, mean removed), scaled to its peak, in
/// at most ~600 log-spaced points: (Hz, amplitude).
fn spectrum(tr: &Trace) -> Vec<(f64, f64)> {
    let n = tr.data.len().min(1 << 20);
    if n < 4 {
        return Vec::new();
    }
    let mean = tr.data[..n].iter().sum::<f64>() / n as f64;
    let x: Vec<f64> = tr.data[..n].iter().map(|v| v - mean).collect();
    let spec = crate::ops::fft::rfft(&x, n);
    let df = tr.sampling_rate / n as f64;
    let amp: Vec<f64> = spec.iter().map(|c| c.norm()).collect();
    let peak = amp.iter().skip(1).copied().fold(0.0, f64::max);
    if peak <= 0.0 || !peak.is_finite() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut k = 1usize;
    while k < amp.len() {
        // Bins grow by ~1 % each: the mean amplitude over each.
        let next = ((k as f64 * 1.01).ceil() as usize)
            .max(k + 1)
            .min(amp.len());
        let a = amp[k..next].iter().sum::<f64>() / (next - k) as f64;
        out.push((k as f64 * df, (a / peak).max(1e-12)));
        k = next;
    }
    out
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    pts: Vec<(f64, f64)>,
    (t0, t1): (f64, f64),
    color: RGBColor,
) -> Result<(), String> {
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let pad = (hi - lo) * 0.05;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(t0..t1, (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("s from the output's start")
        .y_label_formatter(&|v| format!("{v:.3e}"))
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(pts, color.stroke_width(1)))
        .map_err(err)?;
    Ok(())
}

impl Draw for Compare<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let area = area.titled(&self.title, ("sans-serif", 17)).map_err(err)?;
        let (left, right) = area.split_horizontally(720);
        let (top, bottom) = left.split_vertically(270);
        let t0 = self.processed.start_ns;
        let raw = envelope(self.raw, t0, 700);
        let done = envelope(self.processed, t0, 700);
        let span = raw
            .iter()
            .chain(&done)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.0), b.max(p.0))
            });
        let span = if span.1 > span.0 { span } else { (0.0, 1.0) };
        panel(&top, "raw (counts)", raw, span, RGBColor(40, 40, 40))?;
        panel(&bottom, "processed", done, span, RGBColor(20, 80, 180))?;
        let a = spectrum(self.raw);
        let b = spectrum(self.processed);
        let f = a.iter().chain(&b).map(|p| p.0);
        let (f0, f1) = f.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        if !(f0.is_finite() && f1 > f0) {
            return Ok(());
        }
        let mut chart = ChartBuilder::on(&right)
            .caption(
                "amplitude spectra (each scaled to its peak)",
                ("sans-serif", 15),
            )
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d((f0..f1).log_scale(), (1e-8..2.0).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("Hz")
            .label_style(("sans-serif", 11))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(err)?;
        for (name, pts, color) in [
            ("raw", a, RGBColor(40, 40, 40)),
            ("processed", b, RGBColor(20, 80, 180)),
        ] {
            curve(&mut chart, name, pts, color, 1)?;
        }
        legend(&mut chart, 12)?;
        Ok(())
    }
}
