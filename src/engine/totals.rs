//! The run's accounting: what each input file came to (`FileOutcome`), merged into the run's
//! totals as the file is committed, and the thread-seconds per stage. `write::report` turns
//! the totals into report.json.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::write::report::{Failure, FileProblem};

/// What one input file came to, merged into the run's totals when it is committed.
#[derive(Default)]
pub(crate) struct FileOutcome {
    /// Samples decoded from the file (progress and throughput).
    pub(crate) samples: u64,
    pub(crate) ok: usize,
    /// Traces a `select` step did not take: neither written nor failed.
    pub(crate) not_selected: usize,
    pub(crate) outputs: usize,
    pub(crate) failures: Vec<Failure>,
    pub(crate) problems: Vec<FileProblem>,
    pub(crate) warnings: Vec<String>,
    /// I/O errors that a later run may not meet: the input file could not be read (vanished,
    /// permissions) or an output could not be written (disk full, permissions). The file is
    /// then not journaled, so a --resume after the cause is fixed does it again.
    pub(crate) io_errors: usize,
    /// Archive windows below `--min-coverage` (report.json `windows.below_coverage`).
    pub(crate) low_coverage: Vec<crate::write::report::LowCoverage>,
}

/// The run's counts and entries so far, each file merged in as it is committed: memory grows
/// with failures and distinct warnings, not with the number of files.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) samples: u64,
    pub(crate) ok: usize,
    pub(crate) not_selected: usize,
    pub(crate) outputs: usize,
    pub(crate) failures: Vec<Failure>,
    pub(crate) problems: Vec<FileProblem>,
    pub(crate) files_with_problems: usize,
    pub(crate) warnings: BTreeSet<String>,
    /// The first `LOW_COVERAGE_LISTED` windows below `--min-coverage`, and how many.
    pub(crate) low_coverage: Vec<crate::write::report::LowCoverage>,
    pub(crate) low_coverage_count: usize,
}

/// Windows below `--min-coverage` listed in report.json; the rest are counted.
pub(crate) const LOW_COVERAGE_LISTED: usize = 1000;

pub(crate) fn merge(totals: &Mutex<Totals>, o: FileOutcome) {
    let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
    // Saturating: the counts of a resumed journal were checked (`write::resume`), and a real
    // run adds far less than what is left.
    t.samples = t.samples.saturating_add(o.samples);
    t.ok = t.ok.saturating_add(o.ok);
    t.not_selected = t.not_selected.saturating_add(o.not_selected);
    t.outputs = t.outputs.saturating_add(o.outputs);
    t.failures.extend(o.failures);
    if !o.problems.is_empty() {
        t.files_with_problems += 1;
    }
    t.problems.extend(o.problems);
    t.warnings.extend(o.warnings);
    t.low_coverage_count = t.low_coverage_count.saturating_add(o.low_coverage.len());
    let room = LOW_COVERAGE_LISTED.saturating_sub(t.low_coverage.len());
    t.low_coverage.extend(o.low_coverage.into_iter().take(room));
}

/// Thread-seconds per stage, summed over workers (stages overlap in wall time).
#[derive(Default)]
pub(crate) struct Clocks {
    pub(crate) read_decode: AtomicU64,
    pub(crate) process: AtomicU64,
    pub(crate) write: AtomicU64,
}

pub(crate) fn add(c: &AtomicU64, since: Instant) {
    c.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

pub(crate) fn secs(c: &AtomicU64) -> f64 {
    c.load(Ordering::Relaxed) as f64 * 1e-9
}

/// Peak resident set size of this process (Linux VmHWM), if known.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
