//! Every bound on what one input, one trace or one command line may cost, in one place
//! (docs/RELIABILITY.md lists them). Data from files never becomes a size, a loop bound or a
//! time without passing one of these checks: a header can claim anything.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::time;

/// Default `--max-samples`: samples one trace may hold when read (fills included) and after
/// every step (2^25: 3.9 days at 100 Hz, 9.3 hours at 1 kHz; 256 MiB as f64). Day files at
/// 100 Hz are 8.6 million samples.
pub const DEFAULT_MAX_SAMPLES: usize = 1 << 25;

/// `--max-samples` may be raised this far (2^31: 16 GiB of f64 per trace).
pub const MAX_MAX_SAMPLES: usize = 1 << 31;

/// Samples one input file may decode to, as a multiple of `--max-samples`: a file may hold
/// several channels, but not without bound (the rest of the file is reported, not read).
pub const FILE_SAMPLES_PER_TRACE_LIMIT: usize = 4;

/// Bytes of an input file per sample it may decode to: Steim's worst case is 4 bytes per
/// sample, plus record headers. A larger file is refused before it is read.
pub const FILE_BYTES_PER_SAMPLE: u64 = 4;

/// `--jobs` above this is a typo (thread start-up alone took minutes at 100,000).
pub const MAX_JOBS: usize = 1024;

/// Stations one ASDF file may hold (each is an input of the run, listed when the file is met)
/// and waveforms one station may hold (their names are listed to read them): a group's
/// member list is data, bounded before it is taken.
pub const MAX_ASDF_STATIONS: usize = 100_000;
pub const MAX_ASDF_WAVEFORMS: usize = 1_000_000;

/// `--shard K/N`: N above this is a typo (`seisbatch report` lists missing shards).
pub const MAX_SHARDS: usize = 100_000;

/// Nesting of XML elements (StationXML is 8 deep; a hostile file of 40,000 nested elements
/// overflowed the stack when its tree was dropped).
pub const XML_MAX_DEPTH: usize = 64;

/// A StationXML file larger than this is refused before it is read (a whole network's
/// inventory at response level is tens of megabytes).
pub const MAX_STATIONXML_BYTES: u64 = 256 << 20;

/// Stages per response, and coefficients, poles, zeros or list entries per stage: each is
/// evaluated on every frequency bin of every trace that uses the response.
pub const MAX_RESPONSE_STAGES: usize = 64;
pub const MAX_STAGE_TERMS: usize = 16_384;

/// Sampling rates that time in whole nanoseconds can carry: a sample spacing of at least
/// 1 ns, and at most ~31.7 years (a rate of 1e300 Hz made SAC files ObsPy could not read).
pub const MIN_RATE_HZ: f64 = 1e-9;
pub const MAX_RATE_HZ: f64 = 1e9;

/// First and last instant a trace may touch: times are i64 nanoseconds (ObsPy's
/// UTCDateTime._ns), which end in 1677 and 2262; whole years inside that range, so that a
/// start plus a sample never wraps (a record dated 2262-07-19 came out as 1677-12-28).
pub const FIRST_YEAR: i64 = 1678;
pub const LAST_YEAR: i64 = 2261;

pub fn first_ns() -> i64 {
    time::days_from_civil(FIRST_YEAR, 1, 1) * 86_400 * 1_000_000_000
}

/// The last nanosecond of `LAST_YEAR`.
pub fn last_ns() -> i64 {
    time::days_from_civil(LAST_YEAR + 1, 1, 1) * 86_400 * 1_000_000_000 - 1
}

/// Whether a time in ns lies in the years seisbatch can represent.
pub fn time_ok(ns: i64) -> bool {
    (first_ns()..=last_ns()).contains(&ns)
}

/// An ISO 8601 time (`time::parse`, calendar fields checked) in the years times can hold;
/// the error says what is wrong with it.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let t = time::parse(text)?;
    if !time_ok(t) {
        return Err(format!(
            "`{text}` is outside the years {FIRST_YEAR}-{LAST_YEAR} that times can hold"
        ));
    }
    Ok(t)
}

/// Why a rate cannot be carried, if it cannot.
pub fn rate_problem(rate: f64) -> Option<String> {
    if rate.is_finite() && (MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate) {
        return None;
    }
    let shown = if rate.is_finite() && (1e-3..1e7).contains(&rate.abs()) {
        format!("{rate}")
    } else {
        format!("{rate:e}")
    };
    Some(format!(
        "sampling rate {shown} Hz cannot be represented (seisbatch keeps time in nanoseconds: \
         {MIN_RATE_HZ:e} to {MAX_RATE_HZ:e} Hz)"
    ))
}

/// Why a trace's times cannot be carried, if they cannot: its first and last sample must lie
/// in FIRST_YEAR..=LAST_YEAR.
pub fn span_problem(start_ns: i64, npts: usize, rate: f64) -> Option<String> {
    if let Some(p) = rate_problem(rate) {
        return Some(p);
    }
    let end = start_ns as f64 + npts.saturating_sub(1) as f64 * 1e9 / rate;
    if time_ok(start_ns) && end <= last_ns() as f64 {
        return None;
    }
    Some(format!(
        "times outside the years {FIRST_YEAR}-{LAST_YEAR} cannot be represented (start {}, {npts} samples at {rate} Hz)",
        if time_ok(start_ns) {
            time::iso(start_ns)
        } else {
            format!("{start_ns} ns after 1970")
        }
    ))
}

static MAX_SAMPLES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_SAMPLES);

/// `--max-samples` for this process: set once by the run before any trace is read, read by
/// the reader and by every operation's shape rule (so both paths refuse alike).
pub fn set_max_samples(n: usize) {
    MAX_SAMPLES.store(n.clamp(1, MAX_MAX_SAMPLES), Ordering::Relaxed);
}

pub fn max_samples() -> usize {
    OVERRIDE
        .try_with(std::cell::Cell::get)
        .ok()
        .flatten()
        .unwrap_or_else(|| MAX_SAMPLES.load(Ordering::Relaxed))
}

thread_local! {
    /// A limit for this thread only (tests, which run side by side in one process).
    static OVERRIDE: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with `--max-samples` = `n` on this thread only (for tests: the process-wide
/// setting is shared by tests running side by side).
#[doc(hidden)]
pub fn with_max_samples<T>(n: usize, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = OVERRIDE.try_with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(n))));
    f()
}

/// Samples one input file may decode to.
pub fn max_file_samples() -> usize {
    max_samples().saturating_mul(FILE_SAMPLES_PER_TRACE_LIMIT)
}

/// Bytes an input file may have.
pub fn max_file_bytes() -> u64 {
    (max_file_samples() as u64).saturating_mul(FILE_BYTES_PER_SAMPLE)
}

/// The reason a trace of `n` samples is refused, if it is.
pub fn samples_problem(what: &str, n: usize) -> Option<String> {
    (n > max_samples()).then(|| {
        format!(
            "{what} would hold {n} samples, more than the limit of {} (--max-samples)",
            max_samples()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_window_is_whole_years_inside_i64_nanoseconds() {
        assert_eq!(time::iso(first_ns()), "1678-01-01T00:00:00.000000Z");
        assert_eq!(time::iso(last_ns()), "2261-12-31T23:59:59.999999Z");
        assert!(time_ok(0) && !time_ok(i64::MAX) && !time_ok(i64::MIN));
        // One day of 100 Hz from the last day fits; a day more does not.
        let last_day = time::parse_iso("2261-12-31T00:00:00").unwrap();
        assert!(span_problem(last_day, 8_640_000, 100.0).is_none());
        assert!(span_problem(last_day, 8_640_001 + 100, 100.0).is_some());
        assert!(span_problem(0, 10, 1e300).is_some());
        assert!(span_problem(0, 10, f64::NAN).is_some());
        assert!(rate_problem(1e9).is_none() && rate_problem(2e9).is_some());
    }
}
