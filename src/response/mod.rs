//! Instrument responses: the StationXML model (`read::stationxml` fills it), evaluation with
//! evalresp's conventions as ObsPy calls them (`eval`, NUMERICS §3.7) and the cache of evaluated
//! inverse spectra (`cache`).

pub mod cache;
mod cascade;
mod czt;
pub mod eval;
mod filter;
pub mod spline;
pub mod stages;

use num_complex::Complex64;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Output {
    #[serde(rename = "DISP")]
    Disp,
    #[serde(rename = "VEL")]
    Vel,
    #[serde(rename = "ACC")]
    Acc,
    #[serde(rename = "DEF")]
    Def,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivity {
    pub value: f64,
    pub frequency: Option<f64>,
    pub input_units: Option<String>,
    pub output_units: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decimation {
    pub input_sample_rate: f64,
    pub factor: i64,
    pub offset: i64,
    pub delay: f64,
    pub correction: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PzType {
    /// LAPLACE (RADIANS/SECOND)
    LaplaceRad,
    /// LAPLACE (HERTZ)
    LaplaceHz,
    /// DIGITAL (Z-TRANSFORM)
    Digital,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symmetry {
    None,
    Even,
    Odd,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StageKind {
    PolesZeros {
        tf: PzType,
        a0: f64,
        a0_freq: f64,
        zeros: Vec<Complex64>,
        poles: Vec<Complex64>,
    },
    Coefficients {
        digital: bool,
        numerator: Vec<f64>,
        denominator: Vec<f64>,
    },
    Fir {
        symmetry: Symmetry,
        coefficients: Vec<f64>,
    },
    /// (frequency, amplitude, phase in degrees)
    List(Vec<(f64, f64, f64)>),
    Polynomial,
    /// A stage with a gain (and maybe decimation) but no filter.
    GainOnly,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub number: u32,
    pub input_units: Option<String>,
    pub output_units: Option<String>,
    pub gain: Option<f64>,
    pub gain_frequency: Option<f64>,
    pub decimation: Option<Decimation>,
    pub kind: StageKind,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    pub sensitivity: Option<Sensitivity>,
    pub stages: Vec<Stage>,
}
