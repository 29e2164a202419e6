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

/// A channel's codes, borrowed: what a response lookup needs with a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codes<'a> {
    pub network: &'a str,
    pub station: &'a str,
    pub location: &'a str,
    pub channel: &'a str,
}

impl Codes<'_> {
    /// NET.STA.LOC.CHA, as ObsPy's `Trace.id`.
    pub fn id(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.network, self.station, self.location, self.channel
        )
    }
}

impl Trace {
    /// The trace's channel codes.
    pub fn codes(&self) -> Codes<'_> {
        Codes {
            network: &self.network,
            station: &self.station,
            location: &self.location,
            channel: &self.channel,
        }
    }

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
        // One branch-free pass (it vectorises; this runs after every stage of every trace),
        // then the search only when something is out.
        let bound = self.bound();
        let all_in = data
            .chunks(64)
            .all(|c| c.iter().fold(true, |ok, v| ok & (v.abs() < bound)));
        if all_in {
            return None;
        }
        data.iter().position(|v| v.is_nan() || v.abs() >= bound)
    }

    /// Magnitudes below this are held (NaN is not below anything). For float32: f32::MAX plus
    /// half its last place, the first f64 that rounds to infinity (ties go to the even
    /// 2^128); the cast itself decides, and this is the cast's boundary.
    fn bound(self) -> f64 {
        match self {
            Holds::F32 => f64::from(f32::MAX) + 2f64.powi(103),
            Holds::F64 => f64::INFINITY,
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

#[cfg(test)]
mod holds_tests {
    use super::Holds;

    /// The bound is the cast's: the largest f64 below it rounds to f32::MAX, it rounds to inf.
    #[test]
    fn the_float32_bound_is_where_the_cast_overflows() {
        let b = Holds::F32.bound();
        let below = f64::from_bits(b.to_bits() - 1);
        assert_eq!(below as f32, f32::MAX);
        assert!((b as f32).is_infinite());
        for (v, want) in [
            (below, None),
            (b, Some(1)),
            (-b, Some(1)),
            (f64::NAN, Some(1)),
            (f64::INFINITY, Some(1)),
            (1e300, Some(1)),
        ] {
            let mut data = vec![0.0; 200];
            data[1] = v;
            assert_eq!(Holds::F32.first_unheld(&data), want, "{v:e}");
        }
        let mut data = vec![1e300; 130];
        assert_eq!(Holds::F64.first_unheld(&data), None);
        data[129] = f64::NEG_INFINITY;
        assert_eq!(Holds::F64.first_unheld(&data), Some(129));
        data[7] = f64::NAN;
        assert_eq!(Holds::F64.first_unheld(&data), Some(7));
    }
}
