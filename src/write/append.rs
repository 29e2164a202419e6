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
    /// Per event file (relative to OUTPUT): its length and CRC-32C now (files this run has
    /// touched).
    open: Mutex<HashMap<PathBuf, (u64, u32)>>,
    /// Length and CRC-32C the journal of the run being resumed recorded and `write::resume`
    /// checked against the file (empty on a fresh run).
    resumed: HashMap<PathBuf, (u64, u32)>,
}

impl Appender {
    /// `entries`: the resumed run's journal, checked (each file's last recorded length counts).
    pub fn new(entries: &[Entry]) -> Appender {
        let mut resumed = HashMap::new();
        for e in entries {
            if let Some((p, len, crc)) = &e.appended {
                resumed.insert(journal::path_of(p), (*len, *crc));
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
    /// the file's key, new length and the CRC-32C of its bytes, under one lock. On an error
    /// the file is cut back to where it was and `journal` is not called.
    pub fn append(
        &self,
        out: &OutputDir,
        rel: &Path,
        bytes: &[u8],
        journal: impl FnOnce(String, u64, u32),
    ) -> std::io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let seen = open.get(rel).copied();
        let (start, crc) = seen.unwrap_or_else(|| self.resumed.get(rel).copied().unwrap_or((0, 0)));
        let dir = rel.parent().unwrap_or(Path::new(""));
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // First touch on a fresh run: the file must not exist yet (unless this run resumes or
        // overwrites: then it is ours, but maybe linked under another name too, as in a
        // `cp -al` snapshot: it gets bytes of its own before it changes).
        let fresh = seen.is_none() && !self.resumed.contains_key(rel);
        if seen.is_none() {
            out.unshare(dir, &name, Some(start))?;
        }
        let (path, mut f) = out.open_append(dir, &name, fresh)?;
        let res = (|| {
            // Never a hole: a file shorter than what the journal recorded (changed since it
            // was checked) is not extended with zeros.
            let len = f.metadata()?.len();
            if len < start {
                return Err(std::io::Error::other(format!(
                    "{} holds {len} bytes, fewer than the {start} the journal recorded; not written (run again with --resume)",
                    path.display()
                )));
            }
            f.set_len(start)?;
            f.seek(SeekFrom::Start(start))?;
            f.write_all(bytes)?;
            f.sync_data()?;
            crate::faults::write_delay();
            Ok(())
        })();
        if let Err(e) = res {
            if f.metadata().is_ok_and(|m| m.len() >= start) {
                let _ = f.set_len(start);
            }
            open.insert(rel.to_path_buf(), (start, crc));
            return Err(e);
        }
        let end = start + bytes.len() as u64;
        let crc = super::crc32c::extend(crc, bytes);
        open.insert(rel.to_path_buf(), (end, crc));
        journal(journal::key(rel), end, crc);
        Ok(())
    }

    /// The resumed event files this run did not append to, cut back to what the journal
    /// recorded: the torn tail of an interrupted append (or the traces of inputs the journal
    /// does not list) would otherwise stay in them.
    pub fn settle(&self, out: &OutputDir) -> Vec<(PathBuf, std::io::Error)> {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let mut errors = Vec::new();
        for (rel, (len, _)) in &self.resumed {
            if open.contains_key(rel) {
                continue;
            }
            let path = out.root.join(rel);
            if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() > *len) {
                continue;
            }
            let dir = rel.parent().unwrap_or(Path::new(""));
            let name = rel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let r = out
                .unshare(dir, &name, Some(*len))
                .and_then(|_| out.open_append(dir, &name, false))
                .and_then(|(_, f)| {
                    f.set_len(*len)?;
                    f.sync_data()
                });
            if let Err(e) = r {
                errors.push((path, e));
            }
        }
        errors
    }
}
