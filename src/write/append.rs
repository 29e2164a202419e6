//! `--layout per-event`: one multi-trace miniSEED file per event folder (per input file for
//! flat inputs) instead of one file per trace. miniSEED is a sequence of records, so a file
//! grows by appending each input's encoded traces; one lock serialises the append and its
//! journal line, so the journal's last length for a file always covers exactly the inputs it
//! lists. A resumed run cuts each file back to that length the first time it appends to it
//! (dropping a torn tail and the traces of inputs the journal does not list), and a fresh run
//! starts each file empty (and never takes over a file it did not write: `OutputDir`).
//!
//! Event files are known by their path relative to OUTPUT, so `./out` and `out` are one file.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::journal::{self, Entry};
use super::output::OutputDir;

pub struct Appender {
    /// Per event file (relative to OUTPUT): its length now (files this run has touched).
    open: Mutex<HashMap<PathBuf, u64>>,
    /// Lengths the journal of the run being resumed recorded (empty on a fresh run).
    resumed: HashMap<PathBuf, u64>,
}

impl Appender {
    /// `entries`: the resumed run's journal (each file's last recorded length counts).
    pub fn new(entries: &[Entry]) -> Appender {
        let mut resumed = HashMap::new();
        for e in entries {
            if let Some((p, len)) = &e.appended {
                resumed.insert(journal::path_of(p), *len);
            }
        }
        Appender {
            open: Mutex::new(HashMap::new()),
            resumed,
        }
    }

    /// Every event file (relative to OUTPUT) this run and the run it resumes appended to.
    pub fn files(&self) -> Vec<PathBuf> {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<PathBuf> = open.keys().chain(self.resumed.keys()).cloned().collect();
        v.sort();
        v.dedup();
        v
    }

    /// Appends `bytes` to the event file `rel` (relative to OUTPUT), then calls `journal` with
    /// the file's key and new length, under one lock. On an error the file is cut back to where
    /// it was and `journal` is not called.
    pub fn append(
        &self,
        out: &OutputDir,
        rel: &Path,
        bytes: &[u8],
        journal: impl FnOnce(String, u64),
    ) -> std::io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let seen = open.get(rel).copied();
        let start = seen.unwrap_or_else(|| self.resumed.get(rel).copied().unwrap_or(0));
        let dir = rel.parent().unwrap_or(Path::new(""));
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // First touch on a fresh run: the file must not exist yet (unless this run resumes or
        // overwrites: then it is ours).
        let fresh = seen.is_none() && !self.resumed.contains_key(rel);
        let (_, mut f) = out.open_append(dir, &name, fresh)?;
        let res = (|| {
            f.set_len(start)?;
            f.seek(SeekFrom::Start(start))?;
            f.write_all(bytes)?;
            f.sync_data()?;
            super::test_delay();
            Ok(())
        })();
        if let Err(e) = res {
            let _ = f.set_len(start);
            open.insert(rel.to_path_buf(), start);
            return Err(e);
        }
        let end = start + bytes.len() as u64;
        open.insert(rel.to_path_buf(), end);
        journal(journal::key(rel), end);
        Ok(())
    }
}
