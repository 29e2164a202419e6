//! Failures and file problems by reason: one bar per reason with its count.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, Draw};

pub struct Failures<'a> {
    /// (reason, count), largest first.
    pub reasons: &'a [(String, u64)],
}

/// A reason cut to what fits beside a bar.
fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s.to_string()
    }
}

impl Draw for Failures<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let n = self.reasons.len().max(1);
        let most = self.reasons.iter().map(|r| r.1).max().unwrap_or(1).max(1);
        let mut chart = ChartBuilder::on(area)
            .caption("Failures and file problems by reason", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(20)
            .build_cartesian_2d(0.0..most as f64 * 1.05, 0.0..n as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc("count")
            .label_style(("sans-serif", 12))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(err)?;
        let bar = RGBColor(200, 70, 60);
        for (i, (reason, count)) in self.reasons.iter().enumerate() {
            let y = (n - i - 1) as f64;
            chart
                .draw_series([Rectangle::new(
                    [(0.0, y + 0.15), (*count as f64, y + 0.85)],
                    bar.mix(0.35).filled(),
                )])
                .map_err(err)?;
            chart
                .draw_series([Text::new(
                    format!("{count}  {}", short(reason)),
                    (0.0, y + 0.7),
                    ("sans-serif", 13).into_font().color(&BLACK),
                )])
                .map_err(err)?;
        }
        Ok(())
    }
}
