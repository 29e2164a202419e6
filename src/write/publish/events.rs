//! Event files to a bucket (`--layout per-event`, `--format asdf`, `--layout dataset`): they
//! grow while the run goes on, so their inputs wait and the files go up at its end, after the
//! ASDF conversion, each whole (`store::upload`: read from the stage part by part, never whole
//! in memory): the per-event miniSEED file, its `EVENT.h5`, or the run's data set. The inputs'
//! journal lines go up after the file that holds them. A resumed run's file grows again: an
//! object the prefix's own journal names is replaced (the lock keeps other runs out); any
//! other object is never replaced (one with the same bytes counts as published).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::journal::{self, Entry};
use super::Publisher;
use crate::store::{self, Put, PutError};

/// What a run's event files are at its end.
#[derive(Debug, Clone, PartialEq)]
pub enum EventFiles {
    /// Per-event miniSEED: the file itself.
    Mseed,
    /// Each `EVENT.mseed` converted to `EVENT.h5`.
    Asdf,
    /// Every event in the run's data set (its name in OUTPUT).
    Dataset(String),
}

impl EventFiles {
    /// Where the traces of the event file `rel` (relative to OUTPUT) are at the run's end, in
    /// order of preference: what it was converted to, then the file itself (a conversion
    /// that failed leaves it, and the run reports it).
    pub fn targets(&self, rel: &Path) -> Vec<PathBuf> {
        match self {
            EventFiles::Mseed => vec![rel.to_path_buf()],
            EventFiles::Asdf => vec![crate::write::asdf::target(rel), rel.to_path_buf()],
            EventFiles::Dataset(name) => vec![PathBuf::from(name), rel.to_path_buf()],
        }
    }
}

/// The event file an appended entry names, checked to lie inside OUTPUT.
fn event_file(e: &Entry) -> Result<Option<PathBuf>, String> {
    let Some((key, _, _)) = &e.appended else {
        return Ok(None);
    };
    journal::inside_path_of(key)
        .map(Some)
        .ok_or_else(|| format!("the journal names an event file `{key}` outside the output folder"))
}

fn key_of(rel: &Path) -> String {
    rel.to_string_lossy().into_owned()
}

impl Publisher {
    /// `--resume`: the event objects the prefix's journal names are this run's to replace;
    /// with `fetch` (a new machine: the stage is empty) each comes into the stage, so that the
    /// resume checks them as a local one does (one missing is redone).
    pub(super) fn adopt_events(&mut self, entries: &[Entry], fetch: bool) -> Result<(), String> {
        let Some(ends) = self.events.clone() else {
            return Ok(());
        };
        let mut seen = HashSet::new();
        for e in entries {
            let Some(rel) = event_file(e)? else {
                continue;
            };
            if !seen.insert(rel.clone()) {
                continue;
            }
            for t in ends.targets(&rel) {
                self.ours.insert(key_of(&t));
            }
            if fetch {
                for t in ends.targets(&rel) {
                    if store::fetch::download(&self.prefix.join(&key_of(&t)), &self.stage, &t)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// At the run's end: every event file whose inputs are not yet in the bucket goes up (as
    /// what it became), then those inputs' journal lines.
    pub(super) fn publish_events(&mut self) -> Result<(), String> {
        let Some(ends) = self.events.clone() else {
            return Ok(());
        };
        let path = self.stage.join(&self.journal);
        let entries = match std::fs::symlink_metadata(&path) {
            Ok(_) => journal::load(&path)?,
            Err(_) => Vec::new(),
        };
        // Per event file, its inputs not yet published, in journal order.
        let mut files: Vec<(PathBuf, Vec<Entry>)> = Vec::new();
        for e in entries {
            if self.published.contains(&e.key) {
                continue;
            }
            let Some(rel) = event_file(&e)? else {
                continue;
            };
            match files.iter_mut().find(|(r, _)| *r == rel) {
                Some((_, v)) => v.push(e),
                None => files.push((rel, vec![e])),
            }
        }
        let mut put: HashMap<PathBuf, bool> = HashMap::new();
        let mut changed = false;
        for (rel, inputs) in files {
            let here = ends
                .targets(&rel)
                .into_iter()
                .find(|t| std::fs::symlink_metadata(self.stage.join(t)).is_ok_and(|m| m.is_file()));
            let Some(target) = here else {
                self.errors.push(format!(
                    "{}: not in the stage, nor what it became; its inputs are not published",
                    self.stage.join(&rel).display()
                ));
                continue;
            };
            let ok = match put.get(&target) {
                Some(&ok) => ok,
                None => {
                    let ok = self.put_event(&target);
                    put.insert(target, ok);
                    ok
                }
            };
            if !ok {
                continue;
            }
            for e in inputs {
                self.note_published(&e)?;
                changed = true;
            }
        }
        if changed {
            let j = self.journal.clone();
            self.put(&j, self.lines.clone(), Put::Overwrite)?;
        }
        Ok(())
    }

    /// One event object from the stage; false when it could not go up (named in `errors`).
    fn put_event(&mut self, rel: &Path) -> bool {
        let key = key_of(rel);
        let u = self.prefix.join(&key);
        let local = self.stage.join(rel);
        let n = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
        let how = if self.overwrite || self.ours.contains(&key) {
            Put::Overwrite
        } else {
            Put::Create
        };
        match store::upload::put_file(&u, &local, how) {
            Ok(_) => {
                self.counts.objects += 1;
                self.counts.bytes += n;
                true
            }
            Err(PutError::Taken) => match store::upload::same_bytes(&u, &local) {
                Ok(true) => {
                    self.counts.already_there += 1;
                    true
                }
                Ok(false) => {
                    self.errors.push(format!(
                        "{u}: another object is there (not written by this run); not replaced"
                    ));
                    false
                }
                Err(e) => {
                    self.errors.push(e);
                    false
                }
            },
            Err(PutError::Failed(e)) => {
                self.errors.push(e);
                false
            }
        }
    }
}
