//! The run's journal, for crash safety and `--resume`: one JSON line per finished input file
//! (its counts, failures and warnings), appended and flushed once the file's outputs are all
//! in place (each written under a temporary name, then renamed). A run killed at any point
//! leaves complete output files and a journal of the inputs whose outputs are all there;
//! `--resume` skips those (their lines rebuild their part of the report) and redoes the rest,
//! overwriting any output of an unfinished file. Each shard keeps its own journal.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::report::Failure;

/// Where a run (or one shard) keeps its journal inside the output folder.
pub fn path(output: &Path, shard: Option<crate::shard::Shard>) -> PathBuf {
    let name = match shard {
        None => "journal.jsonl".to_string(),
        Some(s) => format!("journal.{}-of-{}.jsonl", s.index, s.count),
    };
    output.join(".seisbatch").join(name)
}

/// One finished input file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub file: String,
    pub samples: u64,
    pub ok: usize,
    pub outputs: usize,
    pub failures: Vec<Failure>,
    pub warnings: Vec<String>,
    /// `--layout per-event`: the event file this input's traces were appended to, and its
    /// length after the append (a resumed run cuts the file back to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appended: Option<(String, u64)>,
}

/// The journal being appended to.
pub struct Journal {
    file: Mutex<std::fs::File>,
}

impl Journal {
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Journal {
            file: Mutex::new(file),
        })
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

/// The entries of an earlier run's journal (a torn last line dropped), and the set of their
/// files for skipping.
pub fn load(path: &Path) -> std::io::Result<(Vec<Entry>, HashSet<String>)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut entries = Vec::new();
    let mut files = HashSet::new();
    for line in text.lines() {
        if let Ok(e) = serde_json::from_str::<Entry>(line) {
            if files.insert(e.file.clone()) {
                entries.push(e);
            }
        }
    }
    Ok((entries, files))
}

/// Removes temporary files a killed run left under `dir` (`.NAME.PID.tmp`, see
/// `write_atomic`), all of them, or only those not modified for `older_than` (a shard's
/// neighbours may be writing theirs: a write takes seconds at most); returns how many.
pub fn remove_temporaries(dir: &Path, older_than: Option<std::time::Duration>) -> usize {
    let stale = |e: &std::fs::DirEntry| match older_than {
        None => true,
        Some(age) => e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|t| t >= age),
    };
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if name.starts_with('.')
                && name.ends_with(".tmp")
                && stale(&e)
                && std::fs::remove_file(&p).is_ok()
            {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trips_and_ignores_a_torn_line() {
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), None);
        let j = Journal::open(&p).unwrap();
        let a = Entry {
            file: "a.mseed".into(),
            ok: 3,
            outputs: 3,
            samples: 30,
            ..Default::default()
        };
        j.record(&a).unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"file\": \"b.ms").unwrap();
        let (entries, files) = load(&p).unwrap();
        assert_eq!(entries, vec![a]);
        assert!(files.contains("a.mseed") && !files.contains("b.mseed"));
        std::fs::write(d.path().join(".x.sac.12.tmp"), b"").unwrap();
        std::fs::write(d.path().join("x.sac"), b"").unwrap();
        assert_eq!(
            remove_temporaries(d.path(), Some(std::time::Duration::from_secs(60))),
            0
        );
        assert_eq!(remove_temporaries(d.path(), None), 1);
        assert!(d.path().join("x.sac").exists());
    }
}
