//! The moveout: each pair's stacked correlation as a wiggle at its distance, lag on the
//! horizontal axis (a diffuse field's surface waves line up along +-distance / speed).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, Draw};
use crate::qc::moveout::Moveout;

impl Draw for Moveout {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (mut l0, mut l1) = (f64::INFINITY, f64::NEG_INFINITY);
        for r in &self.rows {
            l0 = l0.min(r.lag0);
            l1 = l1.max(r.lag0 + r.delta * r.data.len().saturating_sub(1) as f64);
        }
        let d0 = self.rows.first().map_or(0.0, |r| r.dist_km);
        let d1 = self.rows.last().map_or(1.0, |r| r.dist_km);
        // Each wiggle spans about one spacing of the rows.
        let spacing = ((d1 - d0) / self.rows.len().max(1) as f64).max((d1.max(1.0)) * 0.02);
        let (y0, y1) = (d0 - 1.5 * spacing, d1 + 1.5 * spacing);
        if l1.partial_cmp(&l0) != Some(std::cmp::Ordering::Greater) {
            return Ok(());
        }
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "Moveout of the stacked correlations ({}, {} pairs)",
                    self.components,
                    self.rows.len()
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(l0..l1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("Lag (s)")
            .y_desc("Distance (km)")
            .draw()
            .map_err(err)?;
        for r in &self.rows {
            // At most ~2000 points a row: every k-th sample's extreme within the stride.
            let k = r.data.len().div_ceil(2000).max(1);
            let pts: Vec<(f64, f64)> = r
                .data
                .chunks(k)
                .enumerate()
                .map(|(i, c)| {
                    let v = c
                        .iter()
                        .copied()
                        .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
                    (
                        r.lag0 + (i * k) as f64 * r.delta,
                        r.dist_km + v * spacing * 0.8,
                    )
                })
                .collect();
            chart
                .draw_series(LineSeries::new(pts, RGBColor(30, 30, 30).stroke_width(1)))
                .map_err(err)?;
        }
        Ok(())
    }
}
