//! Output side: where outputs may go (`placement`: never over or around the input; `output`:
//! the output folder as a boundary, its lock and the run's identity; `atomic`: whole files,
//! never through links), what they are called (`names`: codes escaped, collisions numbered in
//! walk order), what they hold (`sac`, `mseed`, `mseed3`, `asdf`), per-event files (`append`),
//! the journal and the report.

pub mod append;
pub mod asdf;
pub mod atomic;
pub mod crc32c;
pub mod journal;
pub mod lock;
pub mod mseed;
pub mod mseed3;
pub mod names;
pub mod output;
pub mod placement;
pub mod publish;
pub mod report;
pub mod resume;
pub mod sac;
pub mod state;

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

/// A trace encoded for a file, and what the encoding could not keep (said as a warning).
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub warning: Option<String>,
}

/// miniSEED 2 holds network, station, location and channel in fixed fields of 2, 5, 2 and 3
/// ASCII characters (space-padded, trimmed on reading): only codes of `[A-Za-z0-9-]` that fit
/// survive a round trip.
fn fits_mseed2(tr: &Trace) -> bool {
    [
        (&tr.network, 2),
        (&tr.station, 5),
        (&tr.location, 2),
        (&tr.channel, 3),
    ]
    .iter()
    .all(|(c, n)| c.len() <= *n && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// The bytes of a trace in `format`, or why it cannot be written. miniSEED is miniSEED 2
/// where the codes fit it and miniSEED 3 otherwise (never two ids cut to one); SAC keeps 8
/// characters per code in its header (the file name keeps the whole id), said in a warning.
pub fn encode(tr: &Trace, format: Format, meta: &sac::Meta) -> Result<Encoded, String> {
    match format {
        Format::Sac => {
            let long: Vec<&str> = [&tr.network, &tr.station, &tr.location, &tr.channel]
                .into_iter()
                .filter(|c| c.len() > 8)
                .map(String::as_str)
                .collect();
            Ok(Encoded {
                bytes: sac::encode_with(tr, meta),
                warning: (!long.is_empty()).then(|| {
                    format!(
                        "codes longer than SAC's 8 characters ({}) are cut in the SAC header; the file name holds the whole id",
                        long.join(", ")
                    )
                }),
            })
        }
        // ASDF gathers events as miniSEED first (`write::asdf`).
        Format::Mseed | Format::Asdf => Ok(Encoded {
            bytes: if fits_mseed2(tr) {
                mseed::encode(tr)
            } else {
                mseed3::encode(tr)?
            },
            warning: None,
        }),
    }
}

/// Writes `bytes` to `path` atomically (temporary created exclusively without following a
/// link, fsync'd, renamed), replacing an earlier file: for files the user names (a merged
/// report, a benchmark's JSON).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    atomic::write_atomic_in(dir, path, bytes, "run", true)
}
