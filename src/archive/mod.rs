//! Continuous archives (SDS day files, or any folder of miniSEED): an index of what is where
//! (`index`, from record headers only; saved as Parquet by `catalog`), requests as windows
//! (`windows`), the work of a run as one unit per channel and window (`units`), and reading a
//! unit's records from every file that holds them, joined and cut to its window (`fetch`).

pub mod catalog;
pub mod fetch;
pub mod index;
pub mod outputs;
pub mod remote;
pub mod units;
pub mod windows;

use std::path::{Path, PathBuf};

use crate::read::walk::{Exclude, Survey, Walker};

/// The miniSEED files under `input` in walk order (by content, as `run --input` finds them),
/// and what the walk skipped; folders that could not be listed are skipped with the reason.
pub fn files(input: &Path, exclude: &Exclude) -> std::io::Result<(Vec<PathBuf>, Survey)> {
    let mut s = Survey::default();
    let mut out = Vec::new();
    let mut w = Walker::new(input, exclude.clone())?;
    while let Some(f) = w.next() {
        match f {
            Ok(f) => {
                s.files += 1;
                s.bytes += std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
                out.push(f.path);
            }
            Err(e) => s.note_skips(vec![crate::read::walk::Skip {
                path: e.path.clone(),
                reason: format!("cannot list folder: {}", e.error),
            }]),
        }
        let skips = w.take_skipped();
        s.note_skips(skips);
    }
    let skips = w.take_skipped();
    s.note_skips(skips);
    Ok((out, s))
}

/// The first and last sample times in the index.
pub fn extent(index: &index::Index) -> Option<(i64, i64)> {
    let first = index.runs.iter().map(|r| r.start_ns).min()?;
    let last = index.runs.iter().map(index::Run::end_ns).max()?;
    Some((first, last))
}

/// What `seisbatch index` did.
pub struct Indexed {
    pub index: index::Index,
    /// Files read again, and files whose part of an earlier catalog was kept (same size and
    /// modification time).
    pub read: usize,
    pub reused: usize,
    pub bytes_read: u64,
    pub survey: Survey,
}

/// Indexes the archive under `input` into `catalog` (Parquet); an earlier catalog of the same
/// archive at that path gives the parts of files unchanged since.
pub fn index_archive(input: &Path, catalog: &Path) -> Result<Indexed, String> {
    if let Some(u) = crate::store::url_of(input) {
        return index_remote(&u?, catalog);
    }
    let meta = std::fs::metadata(input).map_err(|e| format!("{}: {e}", input.display()))?;
    if !meta.is_dir() {
        return Err(format!("{}: not a folder", input.display()));
    }
    let (files, survey) =
        files(input, &Exclude::default()).map_err(|e| format!("{}: {e}", input.display()))?;
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    let old = match std::fs::symlink_metadata(catalog) {
        Ok(_) => match catalog::read(catalog) {
            Ok(i) if canon(&i.root) == canon(input) => Some(i),
            Ok(_) => None,
            Err(e) => {
                crate::console::errln!("seisbatch index: {e}; indexing every file again");
                None
            }
        },
        Err(_) => None,
    };
    let parts = parts_by_rel(old);
    let reused = std::sync::atomic::AtomicU64::new(0);
    let reused_bytes = std::sync::atomic::AtomicU64::new(0);
    let reuse = |rel: &Path, size: u64, mtime: i64| {
        let p = parts.get(rel)?;
        (p.entry.size == size && p.entry.mtime_ns == mtime).then(|| {
            reused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            reused_bytes.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
            p.clone()
        })
    };
    let index = index::Index::build(input, &files, &reuse);
    let reused = reused.into_inner() as usize;
    let bytes_read = survey.bytes.saturating_sub(reused_bytes.into_inner());
    catalog::write(&index, catalog, &|_| "mseed")?;
    Ok(Indexed {
        read: files.len() - reused,
        reused,
        bytes_read,
        index,
        survey,
    })
}

/// An earlier index's files' parts by their path in the archive (re-indexing reuses them).
fn parts_by_rel(old: Option<index::Index>) -> std::collections::HashMap<PathBuf, index::FileRuns> {
    old.map(|i| {
        i.into_parts()
            .into_iter()
            .map(|p| (p.entry.rel.clone(), p))
            .collect()
    })
    .unwrap_or_default()
}

/// `seisbatch index s3://bucket/prefix`: objects listed, each read whole once and indexed;
/// an earlier catalog of the same prefix gives the parts of objects whose size and ETag are
/// unchanged (nothing of them is read again).
fn index_remote(url: &crate::store::Url, catalog: &Path) -> Result<Indexed, String> {
    let root = PathBuf::from(url.to_string());
    let old = if crate::store::is_remote(catalog) || std::fs::symlink_metadata(catalog).is_ok() {
        match catalog::read(catalog) {
            Ok(i) if i.root == root => Some(i),
            _ => None,
        }
    } else {
        None
    };
    let mut parts = parts_by_rel(old);
    let listed = remote::listing(url, None)?;
    if listed.is_empty() {
        return Err(format!("{url}: no objects under this prefix"));
    }
    let mut keep = Vec::new();
    let mut fresh = Vec::new();
    for l in listed {
        let rel = PathBuf::from(l.url.rel_to(url).unwrap_or_else(|| l.url.key.clone()));
        match parts.remove(&rel) {
            Some(p)
                if p.entry.size == l.size && p.entry.etag.is_some() && p.entry.etag == l.etag =>
            {
                keep.push(p)
            }
            _ => fresh.push(l),
        }
    }
    let reused = keep.len();
    let (new, survey) = remote::index_listed(url, &fresh);
    let read = new.files.len();
    let bytes_read = survey.bytes;
    let mut all = new.into_parts();
    all.extend(keep);
    all.sort_by(|a, b| a.entry.rel.cmp(&b.entry.rel));
    let index = index::Index::from_parts(&root, all);
    catalog::write(&index, catalog, &|_| "mseed")?;
    Ok(Indexed {
        read,
        reused,
        bytes_read,
        index,
        survey,
    })
}
