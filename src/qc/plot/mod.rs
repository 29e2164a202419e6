//! The report's pictures, each drawn once for two backends: SVG (text, scalable) and PNG
//! (pixels, through the `png` crate). Text is set in DejaVu Sans, embedded in the binary
//! (assets/fonts, its licence beside it), so no system font is needed on a headless node.

pub mod availability;
pub mod compare;
pub mod failures;
pub mod moveout;
pub mod ppsd;

use plotters::coord::Shift;
use plotters::prelude::*;

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// One picture, both ways.
#[derive(Debug, Clone)]
pub struct Picture {
    /// File stem (escaped: plain characters only).
    pub name: String,
    pub title: String,
    pub svg: String,
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Something that draws itself on any backend.
pub trait Draw {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn font_once() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font could not be read".to_string())
    })
    .clone()
}

/// `what` drawn as SVG and as PNG, `width` x `height` pixels.
pub fn render(
    name: &str,
    title: &str,
    (width, height): (u32, u32),
    what: &impl Draw,
) -> Result<Picture, String> {
    font_once()?;
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        what.draw(&area)?;
        area.present().map_err(|e| e.to_string())?;
    }
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        what.draw(&area)?;
        area.present().map_err(|e| e.to_string())?;
    }
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&rgb).map_err(|e| e.to_string())?;
    }
    Ok(Picture {
        name: name.to_string(),
        title: title.to_string(),
        svg,
        png,
        width,
        height,
    })
}

/// A line with its legend entry (a short stroke of its colour).
pub(crate) fn curve<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    name: &str,
    pts: Vec<(f64, f64)>,
    color: RGBColor,
    width: u32,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .draw_series(LineSeries::new(pts, color.stroke_width(width)))
        .map_err(err)?
        .label(name)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
    Ok(())
}

/// The legend box, upper right.
pub(crate) fn legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    size: u32,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", size))
        .draw()
        .map_err(err)
}

/// A plotters error as text.
pub(crate) fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// A value from 0 to 1 as a colour: white through blue and green to yellow and red (the
/// PPSD's share of segments per bin).
pub(crate) fn heat(x: f64) -> RGBColor {
    let stops: [(f64, (u8, u8, u8)); 5] = [
        (0.0, (255, 255, 255)),
        (0.05, (60, 90, 200)),
        (0.2, (40, 170, 120)),
        (0.4, (240, 220, 40)),
        (1.0, (200, 30, 30)),
    ];
    let x = x.clamp(0.0, 1.0);
    for w in stops.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if x <= b {
            let f = if b > a { (x - a) / (b - a) } else { 0.0 };
            let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
            return RGBColor(mix(ca.0, cb.0), mix(ca.1, cb.1), mix(ca.2, cb.2));
        }
    }
    RGBColor(200, 30, 30)
}
