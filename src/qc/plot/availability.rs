//! Availability per channel over time: the time each channel has data as a bar, gaps marked
//! red and overlaps orange (from the archive's index: no sample is read for it).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, Draw};

/// One channel's row.
pub struct Row {
    pub id: String,
    /// [start, end) of the data, ns.
    pub covered: Vec<(i64, i64)>,
    /// [start, end) of each gap between runs, ns.
    pub gaps: Vec<(i64, i64)>,
    /// Where each overlap begins, ns.
    pub overlaps: Vec<i64>,
}

pub struct Availability<'a> {
    pub rows: &'a [Row],
    pub start_ns: i64,
    pub end_ns: i64,
}

impl Draw for Availability<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let t0 = self.start_ns;
        let span = (self.end_ns - t0).max(1) as f64;
        // Hours from the start: a readable axis for a day or a year.
        let x = |ns: i64| (ns - t0) as f64 / 3.6e12;
        let n = self.rows.len().max(1) as f64;
        let (labels, plot) = area.split_horizontally(170);
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                "Data availability (red: gaps, orange: overlaps)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(4)
            .build_cartesian_2d(0.0..span / 3.6e12, 0.0..n)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(format!("Hours from {}", crate::time::iso(t0)))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(err)?;
        // Channel names in the left strip, level with their rows.
        let style = ("sans-serif", 13).into_font().color(&BLACK);
        for (i, r) in self.rows.iter().enumerate() {
            let (_, py) = chart.backend_coord(&(0.0, n - i as f64 - 0.5));
            labels.draw_text(&r.id, &style, (6, py - 7)).map_err(err)?;
        }
        let green = RGBColor(60, 150, 80);
        let red = RGBColor(210, 40, 40);
        let orange = RGBColor(240, 150, 20);
        for (i, r) in self.rows.iter().enumerate() {
            // The first row at the top.
            let y = n - i as f64 - 1.0;
            chart
                .draw_series(r.covered.iter().map(|&(a, b)| {
                    Rectangle::new([(x(a), y + 0.2), (x(b), y + 0.8)], green.filled())
                }))
                .map_err(err)?;
            // A gap at least a pixel wide whatever its length.
            let min_w = span / 3.6e12 / 1000.0;
            chart
                .draw_series(r.gaps.iter().map(|&(a, b)| {
                    let (a, b) = (x(a), x(b).max(x(a) + min_w));
                    Rectangle::new([(a, y + 0.1), (b, y + 0.9)], red.filled())
                }))
                .map_err(err)?;
            chart
                .draw_series(
                    r.overlaps
                        .iter()
                        .map(|&a| TriangleMarker::new((x(a), y + 0.9), 6, orange.filled())),
                )
                .map_err(err)?;
        }
        Ok(())
    }
}
