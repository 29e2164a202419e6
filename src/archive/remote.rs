//! An archive in object storage (`--input s3://bucket/prefix`): its objects listed (only the
//! day folders the windows touch, for SCEDC's layout), each read once whole and indexed from
//! its record headers as a file is. The index names each object by its URL and keeps its
//! size and ETag, so a window's read (`fetch`) asks for exactly its records' bytes and
//! refuses an object that changed since.

use std::path::PathBuf;

use rayon::prelude::*;

use super::index::{FileEntry, FileRuns, Index};
use crate::read::walk::{Skip, Survey};
use crate::store::{self, scedc, Listed, Url};

/// Objects one run may list (a year of SCEDC's day folders for 1,000 channels is ~365,000).
pub const MAX_OBJECTS: usize = 2_000_000;

/// Day folders one SCEDC listing may cover (a decade).
pub const MAX_DAYS: usize = 3700;

/// What to list: the whole prefix, or (SCEDC's layout and the windows' span known) the day
/// folders the windows touch.
pub fn listing(prefix: &Url, span: Option<(i64, i64)>) -> Result<Vec<Listed>, String> {
    let days = match (scedc::base(&prefix.key), span) {
        (Some(base), Some((a, b))) if prefix.key == base => {
            Some((base, scedc::day_folders(a, b, MAX_DAYS)?))
        }
        _ => None,
    };
    let Some((base, days)) = days else {
        return store::list(prefix, MAX_OBJECTS);
    };
    let base = Url {
        bucket: prefix.bucket.clone(),
        key: base,
    };
    let mut out = Vec::new();
    for d in &days {
        let left = MAX_OBJECTS.saturating_sub(out.len());
        out.extend(store::list(&base.join(d), left)?);
    }
    // A name that gives its day (SCEDC's) must give one of the days listed.
    out.retain(|l| {
        let name = l.url.key.rsplit('/').next().unwrap_or("");
        scedc::parse(name).is_none_or(|(.., y, doy)| {
            days.iter()
                .any(|d| d.ends_with(&format!("{y:04}_{doy:03}")))
        })
    });
    Ok(out)
}

/// Indexes the objects under `prefix` (`span`: the windows' first and last instant, when
/// known before the index is; it narrows an SCEDC listing).
pub fn index(prefix: &Url, span: Option<(i64, i64)>) -> Result<(Index, Survey), String> {
    Ok(index_listed(prefix, &listing(prefix, span)?))
}

/// Indexes listed objects (in parallel, each read whole once).
pub fn index_listed(prefix: &Url, listed: &[Listed]) -> (Index, Survey) {
    let root = PathBuf::from(prefix.to_string());
    let max = crate::limits::max_file_bytes();
    let parts: Vec<Result<FileRuns, Skip>> = listed
        .par_iter()
        .map(|l| index_object(prefix, l, max))
        .collect();
    let mut survey = Survey::default();
    let mut keep = Vec::new();
    let mut skips = Vec::new();
    for p in parts {
        match p {
            Ok(f) => {
                survey.files += 1;
                survey.bytes += f.entry.size;
                keep.push(f);
            }
            Err(s) => skips.push(s),
        }
    }
    survey.note_skips(skips);
    (Index::from_parts(&root, keep), survey)
}

/// One object's part of the index, or why it is skipped (not miniSEED: a README beside the
/// data).
fn index_object(prefix: &Url, l: &Listed, max: u64) -> Result<FileRuns, Skip> {
    let rel = l.url.rel_to(prefix).unwrap_or_else(|| l.url.key.clone());
    let skip = |reason: String| Skip {
        path: PathBuf::from(l.url.to_string()),
        reason,
    };
    let entry = FileEntry {
        rel: PathBuf::from(&rel),
        size: l.size,
        mtime_ns: l.modified_ns,
        etag: l.etag.clone(),
    };
    if l.size > max {
        return Err(skip(format!(
            "{} bytes, more than the {max} an input may have",
            l.size
        )));
    }
    let expect = store::Expect {
        size: Some(l.size),
        etag: l.etag.clone(),
    };
    if l.size == 0 {
        return Err(skip(crate::read::sniff::Kind::Empty.skip_reason().into()));
    }
    let bytes = store::read_range(&l.url, 0..l.size, &expect).map_err(|e| skip(e.to_string()))?;
    let kind = crate::read::sniff::sniff_bytes(&bytes[..bytes.len().min(640)], l.size);
    if kind != crate::read::sniff::Kind::Mseed {
        return Err(skip(kind.skip_reason().into()));
    }
    let mut buf = bytes.to_vec();
    Ok(super::index::index_bytes(entry, &mut buf))
}
