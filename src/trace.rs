//! One contiguous segment of samples. No GPU types here: this is what readers produce,
//! operations transform and writers consume.

use crate::time;

#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub network: String,
    pub station: String,
    pub location: String,
    pub channel: String,
    /// Time of the first sample, integer ns since the POSIX epoch (ObsPy's UTCDateTime._ns).
    pub start_ns: i64,
    pub sampling_rate: f64,
    /// Samples as f64: ObsPy promotes to float64 in every operation of the forum chain (NUMERICS §0).
    pub data: Vec<f64>,
}

impl Trace {
    /// `NET.STA.LOC.CHA`, ObsPy's `trace.id`.
    pub fn id(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.network, self.station, self.location, self.channel
        )
    }

    /// ObsPy's `stats.delta`: always recomputed as 1/sampling_rate.
    pub fn delta(&self) -> f64 {
        1.0 / self.sampling_rate
    }

    /// ObsPy's `stats.endtime`: start + round((npts-1)·delta·1e9) ns (NUMERICS §0).
    pub fn end_ns(&self) -> i64 {
        if self.data.is_empty() {
            return self.start_ns;
        }
        time::add_seconds(self.start_ns, (self.data.len() - 1) as f64 * self.delta())
    }
}

/// The sample type a pipeline's outputs are written in (issue #23): the CLI's files hold
/// float32 (SAC, miniSEED, ASDF), Python's arrays float64. Every output sample is checked in
/// that type, after the conversion: a finite f64 such as 1e300 is an infinite f32, and SAC
/// and miniSEED files full of `inf` were written as ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Holds {
    #[default]
    F32,
    F64,
}

impl Holds {
    pub fn name(self) -> &'static str {
        match self {
            Holds::F32 => "float32",
            Holds::F64 => "float64",
        }
    }

    /// The index of the first sample this type cannot hold (NaN and Inf never).
    pub fn first_unheld(self, data: &[f64]) -> Option<usize> {
        match self {
            // The cast itself decides: an f64 just above f32::MAX still rounds to it.
            Holds::F32 => data.iter().position(|&v| !(v as f32).is_finite()),
            Holds::F64 => data.iter().position(|v| !v.is_finite()),
        }
    }
}

/// A test trace: XX.S..HHZ at 100 Hz from `start_ns`, samples 0, 1, 2, ... (the reader's,
/// record's and walk's unit tests share it).
#[cfg(test)]
pub(crate) fn ramp(start_ns: i64, n: usize) -> Trace {
    Trace {
        network: "XX".into(),
        station: "S".into(),
        location: String::new(),
        channel: "HHZ".into(),
        start_ns,
        sampling_rate: 100.0,
        data: (0..n).map(|i| i as f64).collect(),
    }
}
