//! The run's journal, for crash safety and `--resume`: one JSON line per finished input file
//! (its counts, failures, damaged parts, warnings, and the names it wrote), appended once the
//! file's outputs are all in place (each written under a temporary name, then renamed). A run
//! killed at any point leaves complete output files and a journal of the inputs whose outputs
//! are all there; `--resume` skips those (their lines rebuild their part of the report, their
//! names stay taken) and redoes the rest, overwriting any output of an unfinished file.
//!
//! Inputs are keyed by their path relative to the input root, byte for byte ([`key`]): the
//! literal path text made `./out` and `out`, or an absolute and a relative `--input`, two
//! different inputs (counted twice, appended twice), and two non-UTF-8 names one (`a\xfe` and
//! `a\xff` both became `a\u{fffd}`, so one was never processed). Each shard keeps its own
//! journal.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::report::{Failure, FileProblem};

/// A path as text without loss: printable ASCII other than `%` as it is, every other byte
/// `%XX` (non-UTF-8 names stay distinct).
pub fn key(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut s = String::new();
    for &b in p.as_os_str().as_bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The path a [`key`] stands for.
pub fn path_of(key: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = key.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// One finished input file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// The input as this run spelled it (for people; not used to match).
    pub file: String,
    /// The input's path relative to the input root ([`key`]): what a resume matches.
    pub key: String,
    pub samples: u64,
    pub ok: usize,
    /// Traces a `select` step did not take (0 in journals from before it existed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_selected: usize,
    pub outputs: usize,
    pub failures: Vec<Failure>,
    #[serde(default)]
    pub problems: Vec<FileProblem>,
    pub warnings: Vec<String>,
    /// Per-trace layout: the files it wrote, as (output folder key, file name, bytes): a
    /// resumed run never gives these names to another input, and checks each is there with
    /// its size (`write::resume`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<(String, String, u64)>,
    /// `--layout per-event`: the event file this input's traces were appended to (its path
    /// relative to OUTPUT, a key), its length after the append and the CRC-32C of its bytes up
    /// to there: a resumed run checks both against the file and cuts it back to the length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appended: Option<(String, u64, u32)>,
    /// An archive window below `--min-coverage` (not processed), for the report of a resumed
    /// run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub low_coverage: Vec<super::report::LowCoverage>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The journal being appended to.
pub struct Journal {
    file: Mutex<std::fs::File>,
}

impl Journal {
    pub fn new(file: std::fs::File) -> Journal {
        Journal {
            file: Mutex::new(file),
        }
    }

    /// Appends one finished file: one write of one whole line (O_APPEND), so a kill leaves
    /// at most a torn last line, which `load` ignores.
    pub fn record(&self, e: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&line)
    }
}

/// The entries of an earlier run's journal (a torn last line dropped, a repeated input
/// counted once), read as a state file (`write::state`: regular, bounded). What they claim
/// about the output folder is checked by `write::resume` before a run trusts it.
pub fn load(path: &Path) -> Result<Vec<Entry>, String> {
    let text = super::state::read(path, "the journal", super::state::MAX_JOURNAL_BYTES)?
        .unwrap_or_default();
    Ok(parse(&text))
}

/// A journal's entries from its bytes (a torn line dropped, a repeated input once).
pub fn parse(text: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut keys = HashSet::new();
    for line in text.split(|&b| b == b'\n') {
        if let Ok(e) = serde_json::from_slice::<Entry>(line) {
            if keys.insert(e.key.clone()) {
                entries.push(e);
            }
        }
    }
    entries
}

/// A key as a path inside a folder: relative, every component a plain name (no `..`, no
/// root, no NUL); None otherwise. Keys come from the journal, a file on disk: they never
/// become a path without this check.
pub fn inside_path_of(key: &str) -> Option<PathBuf> {
    use std::path::Component;
    let p = path_of(key);
    let plain = !p.as_os_str().is_empty()
        && !key.contains("%00")
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trips_and_ignores_a_torn_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal.jsonl");
        let j = Journal::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .unwrap(),
        );
        let a = Entry {
            file: "data/a.mseed".into(),
            key: "a.mseed".into(),
            ok: 3,
            outputs: 3,
            samples: 30,
            ..Default::default()
        };
        j.record(&a).unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"file\": \"b.ms").unwrap();
        let entries = load(&p).unwrap();
        assert_eq!(entries, vec![a]);
    }

    /// `a\xfe.mseed` and `a\xff.mseed` were one journal entry (both `a\u{fffd}.mseed`).
    #[test]
    fn keys_are_lossless_for_any_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let names: Vec<PathBuf> = [
            &b"a\xfe.mseed"[..],
            b"a\xff.mseed",
            b"a%FE.mseed",
            b"ev/x y.ms",
        ]
        .iter()
        .map(|b| PathBuf::from(std::ffi::OsStr::from_bytes(b)))
        .collect();
        let keys: HashSet<String> = names.iter().map(|p| key(p)).collect();
        assert_eq!(keys.len(), names.len());
        for p in &names {
            assert_eq!(&path_of(&key(p)), p);
        }
        assert_eq!(
            key(Path::new("ev/raw/GR.FUR..HHZ.mseed")),
            "ev/raw/GR.FUR..HHZ.mseed"
        );
    }
}
