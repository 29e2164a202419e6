//! A channel's probabilistic PSD as ObsPy's `PPSD.plot` shows it: the share of segments in
//! each (period, dB) bin, the mode, mean and 10th/90th percentiles, and Peterson's NLNM and
//! NHNM, period on a log axis.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{curve, err, heat, legend, Draw};
use crate::qc::models;
use crate::qc::ppsd::{Histogram, Params};

pub struct PpsdPlot<'a> {
    pub id: &'a str,
    pub params: &'a Params,
    pub hist: &'a Histogram,
    /// The time span, as text, for the caption.
    pub span: String,
}

impl Draw for PpsdPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let p = self.params;
        let h = self.hist;
        let x0 = p.bin_center[0] / 1.1;
        let x1 = p.bin_center[p.bin_center.len() - 1] * 1.1;
        let (y0, y1) = (p.db_edges[0], p.db_edges[p.db_edges.len() - 1]);
        let caption = format!("{}  ({} segments, {})", self.id, h.segments, self.span);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("Period (s)")
            .y_desc("Power (dB re 1 (m/s²)²/Hz)")
            .x_label_formatter(&|v| {
                format!("{v:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            })
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        // The histogram: each period bin from its plotting edges, each dB bin its 1 dB.
        let step = 2f64.powf(0.125 / 2.0);
        let n = h.segments.max(1) as f64;
        let mut cells = Vec::new();
        for (i, row) in h.counts.iter().enumerate() {
            let c = p.bin_center[i];
            for (j, &k) in row.iter().enumerate() {
                if k > 0 {
                    let color = heat(k as f64 / n);
                    cells.push(Rectangle::new(
                        [(c / step, p.db_edges[j]), (c * step, p.db_edges[j + 1])],
                        color.filled(),
                    ));
                }
            }
        }
        chart.draw_series(cells).map_err(err)?;
        let line = |v: Vec<f64>| -> Vec<(f64, f64)> {
            p.bin_center
                .iter()
                .copied()
                .zip(v)
                .filter(|(_, y)| y.is_finite())
                .collect()
        };
        let curves = [
            ("mode", line(h.mode(p)), RGBColor(0, 0, 0), 2),
            ("mean", line(h.mean(p)), RGBColor(120, 0, 120), 1),
            (
                "10th percentile",
                line(h.percentile(p, 10.0)),
                RGBColor(90, 90, 90),
                1,
            ),
            (
                "90th percentile",
                line(h.percentile(p, 90.0)),
                RGBColor(90, 90, 90),
                1,
            ),
        ];
        for (name, pts, color, width) in curves {
            curve(&mut chart, name, pts, color, width)?;
        }
        for (name, f, color) in [
            (
                "NLNM",
                models::nlnm as fn(f64) -> Option<f64>,
                RGBColor(150, 150, 150),
            ),
            ("NHNM", models::nhnm, RGBColor(150, 150, 150)),
        ] {
            let pts: Vec<(f64, f64)> = (0..=400)
                .map(|k| x0 * (x1 / x0).powf(k as f64 / 400.0))
                .filter_map(|t| f(t).map(|v| (t, v)))
                .filter(|(_, v)| (y0..=y1).contains(v))
                .collect();
            curve(&mut chart, name, pts, color, 2)?;
        }
        legend(&mut chart, 13)?;
        Ok(())
    }
}
