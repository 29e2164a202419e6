//! `--output s3://bucket/prefix` (issue #28): the run writes its folder as always, into a
//! local stage (`--stage DIR`), and this module publishes it to the bucket with the folder's
//! guarantees kept:
//! - an output goes up once its input's journal line is written (every output of that input
//!   complete), as one PUT or a multipart upload completed last: an object appears whole or
//!   not at all;
//! - with a conditional PUT (If-None-Match): an object already at the key is never replaced.
//!   One with the same bytes (a resumed run's redone input: same input, same bytes) counts as
//!   published; another is reported by key and the run exits non-zero;
//! - the journal object is written after the outputs it names, the report last: a reader
//!   that sees a journal line finds its outputs;
//! - `--resume` reads the bucket's journal (the stage may be gone with the machine): its
//!   entries' outputs are fetched into the stage and checked as a local resume checks them;
//! - one run owns a prefix (per shard): a lock object with a lease, renewed while the run
//!   lives; a lapsed lease (a killed run) is taken over with a conditional PUT on its ETag.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod events;
mod lease;

use super::journal::{self, Entry};
use super::output::STATE_DIR;
use crate::store::{self, Put, PutError, Url};
pub use events::EventFiles;
use lease::Lease;

/// Seconds a lock object's lease runs; renewed every third of it.
pub const LEASE_S: u64 = 300;

/// A shard's own state names (as `OutputDir` names them in the stage).
fn name(stem: &str, ext: &str, shard: Option<crate::shard::Shard>) -> String {
    match shard {
        None => format!("{stem}.{ext}"),
        Some(s) => format!("{stem}.{}-of-{}.{ext}", s.index, s.count),
    }
}

/// What publishing did (report.json's `object_store.published`).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Published {
    /// Outputs put.
    pub objects: u64,
    pub bytes: u64,
    /// Outputs already in the bucket with the same bytes.
    pub already_there: u64,
    /// Journal lines in the bucket.
    pub inputs: u64,
}

/// The stage of an `s3://` output and what of it is in the bucket.
pub struct Publisher {
    prefix: Url,
    stage: PathBuf,
    journal: String,
    identity: String,
    report: String,
    lease: Lease,
    published: HashSet<String>,
    lines: Vec<u8>,
    identity_up: bool,
    /// `--overwrite`: the prefix's earlier run is replaced, object by object.
    overwrite: bool,
    /// What the run's event files are at its end (None: one file per trace).
    events: Option<EventFiles>,
    /// Event objects the prefix's journal names (a resumed run replaces them).
    ours: HashSet<String>,
    pub counts: Published,
    /// Objects not published and why (the run exits non-zero).
    pub errors: Vec<String>,
}

impl Publisher {
    /// Takes the prefix's lock, checks it against `--resume`/`--overwrite` as a folder is
    /// checked, and on `--resume` brings the bucket's journal and its outputs into the stage.
    pub fn open(
        prefix: Url,
        stage: &Path,
        shard: Option<crate::shard::Shard>,
        resume: bool,
        overwrite: bool,
        events: Option<EventFiles>,
    ) -> Result<Publisher, String> {
        let journal = format!("{STATE_DIR}/{}", name("journal", "jsonl", shard));
        let identity = format!("{STATE_DIR}/{}", name("run", "json", shard));
        let report = name("report", "json", shard);
        let lease =
            Lease::take(prefix.join(&format!("{STATE_DIR}/{}", name("lock", "json", shard))))?;
        let at = |rel: &str| prefix.join(rel);
        let earlier = store::read_all(&at(&journal), super::state::MAX_JOURNAL_BYTES);
        let earlier = match earlier {
            Ok(b) => Some(b),
            Err(store::ReadError::Missing) => None,
            Err(e) => return Err(format!("{}: {e}", at(&journal))),
        };
        let used = earlier.is_some() || store::head(&at(&report))?.is_some();
        if used && !resume && !overwrite {
            return Err(format!(
                "--output {prefix}: holds an earlier run's output; add --resume to finish it (finished inputs are skipped), or --overwrite to run it all again over it"
            ));
        }
        let mut p = Publisher {
            prefix,
            stage: stage.to_path_buf(),
            journal,
            identity,
            report,
            lease,
            published: HashSet::new(),
            lines: Vec::new(),
            identity_up: false,
            overwrite,
            events,
            ours: HashSet::new(),
            counts: Published::default(),
            errors: Vec::new(),
        };
        if let (true, Some(text)) = (resume && !overwrite, earlier) {
            p.adopt(&text)?;
        }
        Ok(p)
    }

    /// `--resume`: the bucket's journal is what was published; a stage without a journal
    /// (a new machine) gets it, the identity and the outputs it names.
    fn adopt(&mut self, text: &[u8]) -> Result<(), String> {
        let entries = journal::parse(text);
        for e in &entries {
            self.published.insert(e.key.clone());
            self.lines
                .extend(serde_json::to_vec(e).map_err(|e| e.to_string())?);
            self.lines.push(b'\n');
        }
        self.counts.inputs = entries.len() as u64;
        self.identity_up = true;
        let local = self.stage.join(&self.journal);
        self.adopt_events(&entries, false)?;
        if std::fs::symlink_metadata(&local).is_ok() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.stage)
            .map_err(|e| format!("--stage {}: {e}", self.stage.display()))?;
        let state = super::output::real_dir(&self.stage, Path::new(STATE_DIR))
            .map_err(|e| format!("--stage {}: {e}", self.stage.display()))?;
        let identity = store::read_all(
            &self.prefix.join(&self.identity),
            super::state::MAX_IDENTITY_BYTES,
        );
        match identity {
            Ok(b) => write_new(&self.stage.join(&self.identity), &b)?,
            Err(store::ReadError::Missing) => {}
            Err(e) => return Err(format!("{}: {e}", self.prefix.join(&self.identity))),
        }
        for e in &entries {
            for (dir, file, bytes) in &e.names {
                let rel = super::resume::dir_of(dir)?;
                if journal::inside_path_of(&journal::key(Path::new(file))).is_none()
                    || file.contains('/')
                {
                    return Err(format!(
                        "the bucket's journal names an output `{file}` that is not a plain name"
                    ));
                }
                let folder = super::output::real_dir(&self.stage, &rel)
                    .map_err(|e| format!("--stage {}: {e}", self.stage.display()))?;
                let u = self
                    .prefix
                    .join(&format!("{}/{file}", rel.to_string_lossy()));
                // An output missing or of another size is redone, as a local resume does.
                if let Ok(b) = store::read_all(
                    &u,
                    (*bytes).min(crate::limits::max_file_bytes().saturating_mul(64)),
                ) {
                    write_new(&folder.join(file), &b)?;
                }
            }
        }
        self.adopt_events(&entries, true)?;
        write_new(
            &state.join(Path::new(&self.journal).file_name().unwrap_or_default()),
            text,
        )
    }

    /// Puts the outputs of every journal line not yet in the bucket, then the journal.
    pub fn sync(&mut self) -> Result<(), String> {
        if let Some(e) = self.lease.lost() {
            return Err(e);
        }
        let path = self.stage.join(&self.journal);
        let entries = match std::fs::symlink_metadata(&path) {
            Ok(_) => journal::load(&path)?,
            Err(_) => Vec::new(),
        };
        if !self.identity_up {
            if let Ok(b) = std::fs::read(self.stage.join(&self.identity)) {
                self.put(&self.identity.clone(), b, Put::Overwrite)?;
                self.identity_up = true;
            }
        }
        let mut changed = false;
        for e in entries {
            // An event file's inputs wait for its end (`publish_events`).
            if self.published.contains(&e.key) || (e.appended.is_some() && self.events.is_some()) {
                continue;
            }
            if self.publish_entry(&e) {
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

    /// An input whose outputs are in the bucket: its line joins the bucket's journal.
    fn note_published(&mut self, e: &Entry) -> Result<(), String> {
        self.published.insert(e.key.clone());
        self.lines
            .extend(serde_json::to_vec(e).map_err(|e| e.to_string())?);
        self.lines.push(b'\n');
        self.counts.inputs += 1;
        Ok(())
    }

    /// One input's outputs; false when one could not go up (named in `errors`).
    fn publish_entry(&mut self, e: &Entry) -> bool {
        if e.appended.is_some() && self.events.is_none() {
            self.errors.push(format!(
                "{}: --layout per-event appends to files; object storage takes the per-trace layout",
                e.file
            ));
            return false;
        }
        let mut ok = true;
        for (dir, file, bytes) in &e.names {
            let rel = match super::resume::dir_of(dir) {
                Ok(r) => r.join(file),
                Err(m) => {
                    self.errors.push(m);
                    ok = false;
                    continue;
                }
            };
            let local = self.stage.join(&rel);
            let data = match crate::read::sniff::read_regular(&local, true, bytes.saturating_add(1))
            {
                Ok(d) if d.len() as u64 == *bytes => d,
                Ok(d) => {
                    self.errors.push(format!(
                        "{}: {} bytes, the journal says {bytes}; not published",
                        local.display(),
                        d.len()
                    ));
                    ok = false;
                    continue;
                }
                Err(err) => {
                    self.errors
                        .push(format!("{}: {err}; not published", local.display()));
                    ok = false;
                    continue;
                }
            };
            let key = rel.to_string_lossy().into_owned();
            ok &= self.put_output(&key, data);
        }
        ok
    }

    /// An output, never over another object: one with the same bytes is taken as ours.
    fn put_output(&mut self, rel: &str, data: Vec<u8>) -> bool {
        let u = self.prefix.join(rel);
        let n = data.len() as u64;
        let how = if self.overwrite {
            Put::Overwrite
        } else {
            Put::Create
        };
        match store::put(&u, data.clone(), how) {
            Ok(_) => {
                self.counts.objects += 1;
                self.counts.bytes += n;
                true
            }
            Err(PutError::Taken) => match store::read_all(&u, n) {
                Ok(b) if b.as_ref() == data.as_slice() => {
                    self.counts.already_there += 1;
                    true
                }
                Ok(_) | Err(store::ReadError::Failed(_)) => {
                    self.errors.push(format!(
                        "{u}: another object is there (not written by this run); not replaced"
                    ));
                    false
                }
                Err(e) => {
                    self.errors.push(format!("{u}: {e}"));
                    false
                }
            },
            Err(PutError::Failed(e)) => {
                self.errors.push(e);
                false
            }
        }
    }

    fn put(&mut self, rel: &str, data: Vec<u8>, how: Put) -> Result<(), String> {
        let u = self.prefix.join(rel);
        store::put(&u, data, how)
            .map(|_| ())
            .map_err(|e| format!("{u}: {e}"))
    }

    /// The last sync, the outputs' catalog and the report (last), and the lock released.
    /// Err when something was not published (the stage keeps it: `--resume` tries again).
    pub fn finish(mut self, catalog: Option<&str>) -> Result<Published, String> {
        self.sync()?;
        self.publish_events()?;
        if let Some(c) = catalog.filter(|c| self.stage.join(c).is_file()) {
            // The outputs indexed as objects under the prefix (the stage's own catalog names
            // the stage).
            let (mut index, formats) = crate::archive::outputs::index_outputs(&self.stage);
            index.root = PathBuf::from(self.prefix.to_string());
            let b = crate::archive::catalog::to_bytes(&index, &|f| formats[f])?;
            self.put(c, b, Put::Overwrite)?;
        }
        let r = self.report.clone();
        if self.errors.is_empty() && self.stage.join(&r).is_file() {
            // report.json with what object storage cost and what was published.
            let path = self.stage.join(&r);
            let b = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut v: serde_json::Value =
                serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display()))?;
            v["object_store"] = serde_json::json!({
                "output": self.prefix.to_string(),
                "published": self.counts,
                "traffic": store::traffic(),
            });
            let b = serde_json::to_vec_pretty(&v).map_err(|e| e.to_string())?;
            super::atomic::write_atomic_in(&self.stage, &path, &b, "publish", true)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            self.put(&r, b, Put::Overwrite)?;
        }
        self.lease.release();
        if self.errors.is_empty() {
            Ok(self.counts)
        } else {
            Err(self.errors.join("\n"))
        }
    }

    /// A background sync every `every` until `stop` (outputs reach the bucket while the run
    /// goes on, so a lost machine loses at most that much).
    pub fn spawn_syncs(
        me: Arc<Mutex<Publisher>>,
        every: Duration,
        stop: Arc<AtomicBool>,
    ) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            let mut waited = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                waited += Duration::from_millis(100);
                if waited >= every {
                    waited = Duration::ZERO;
                    let mut p = me.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(e) = p.sync() {
                        p.errors.push(e);
                    }
                }
            }
        })
    }
}

/// A new file in the stage (a leftover is replaced, a link is not followed).
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut f, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
