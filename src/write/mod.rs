//! Output side: SAC and miniSEED writers (each file written to a temporary name, then
//! renamed, so no reader ever sees half a file) and the run report.

pub mod append;
pub mod asdf;
pub mod journal;
pub mod mseed;
pub mod report;
pub mod sac;

use std::io::Write;
use std::path::Path;

use crate::trace::Trace;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Sac,
    Mseed,
    /// One ASDF (HDF5) file per event (`write::asdf`).
    Asdf,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Sac => "sac",
            Format::Mseed => "mseed",
            Format::Asdf => "h5",
        }
    }
}

/// `NET.STA.LOC.CHA__START__END.<ext>` as MassDownloader names files (spec §8).
pub fn file_name(tr: &Trace, format: Format) -> String {
    format!(
        "{}__{}__{}.{}",
        tr.id(),
        crate::time::compact(tr.start_ns),
        crate::time::compact(tr.end_ns()),
        format.ext()
    )
}

pub fn encode(tr: &Trace, format: Format) -> Vec<u8> {
    match format {
        Format::Sac => sac::encode(tr),
        // ASDF gathers events as miniSEED first (`write::asdf`).
        Format::Mseed | Format::Asdf => mseed::encode(tr),
    }
}

/// A processed trace's file: `write_atomic` (with the tests' disk-full hook).
pub fn write_output(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    test_fault()?;
    write_atomic(path, bytes)
}

/// Writes `bytes` to `path` atomically: a hidden temporary file in the same folder, fsync'd
/// data, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        test_delay();
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Tests: `SEISBATCH_TEST_FAIL_WRITES_AFTER=N` fails every output write after the first N
/// with "No space left on device", as a full disk does (tests/resume.rs).
fn test_fault() -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static AFTER: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    static DONE: AtomicU64 = AtomicU64::new(0);
    let after = *AFTER.get_or_init(|| {
        std::env::var("SEISBATCH_TEST_FAIL_WRITES_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    match after {
        Some(n) if DONE.fetch_add(1, Ordering::Relaxed) >= n => Err(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "No space left on device (SEISBATCH_TEST_FAIL_WRITES_AFTER)",
        )),
        _ => Ok(()),
    }
}

/// Tests: `SEISBATCH_TEST_WRITE_DELAY_MS` holds every output between its temporary file and
/// the rename, so a kill test lands while temporaries exist (tests/resume.rs).
pub(crate) fn test_delay() {
    static MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let ms = *MS.get_or_init(|| {
        std::env::var("SEISBATCH_TEST_WRITE_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    });
    if ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
