//! `--layout per-event`: one multi-trace miniSEED file per event folder (per input file for
//! flat inputs) instead of one file per trace. miniSEED is a sequence of records, so a file
//! grows by appending each input's encoded traces; one lock serialises the append and its
//! journal line, so the journal's last length for a file always covers exactly the inputs it
//! lists. A resumed run cuts each file back to that length the first time it appends to it
//! (dropping a torn tail and the traces of inputs the journal does not list), and a fresh run
//! starts each file empty.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::journal::Entry;

pub struct Appender {
    /// Per event file: its length now (files this run has touched).
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
                resumed.insert(PathBuf::from(p), *len);
            }
        }
        Appender {
            open: Mutex::new(HashMap::new()),
            resumed,
        }
    }

    /// Every event file this run and the run it resumes appended to.
    pub fn files(&self) -> Vec<PathBuf> {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<PathBuf> = open.keys().chain(self.resumed.keys()).cloned().collect();
        v.sort();
        v.dedup();
        v
    }

    /// Appends `bytes` to `path`, then calls `journal` with the file's new length, under one
    /// lock. On an error the file is cut back to where it was and `journal` is not called.
    pub fn append(
        &self,
        path: &Path,
        bytes: &[u8],
        journal: impl FnOnce(u64),
    ) -> std::io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let start = match open.get(path) {
            Some(&len) => len,
            None => self.resumed.get(path).copied().unwrap_or(0),
        };
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)?;
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
            open.insert(path.to_path_buf(), start);
            return Err(e);
        }
        let end = start + bytes.len() as u64;
        open.insert(path.to_path_buf(), end);
        journal(end);
        Ok(())
    }
}
