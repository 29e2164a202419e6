//! ASDF files in a bucket (`run --input s3://bucket/prefix` without archive windows): HDF5
//! reads a file in place, by offsets of its own choosing, so an ASDF object is brought whole
//! into a local folder and read there as any local ASDF file (the run, its journal and its
//! outputs are those of a local run over the same files). The folder lies under the temporary
//! folder (`TMPDIR`), one per bucket and prefix, and is kept: a later run (`--resume`, another
//! chain) fetches only objects whose size or ETag changed.
//!
//! Bounded: at most `MAX_OBJECTS` objects; their bytes must fit the folder's file system with
//! `SPARE_BYTES` to spare (checked before the first byte); each object comes in ranges of
//! `PART_BYTES`, each checked against the listed size and ETag (an object changed while it is
//! fetched is an error, never a mix of two versions). Keys become paths only after each part
//! is checked (no empty, `.` or `..` part: `Url::parse`'s rule, applied to every listed key),
//! files are written under a temporary name of this process's, made durable and renamed, never
//! through a link (processes fetching one prefix at once each rename a whole copy).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{head, list, read_range, Expect, Listed, Url};

/// Objects one prefix may hold for a fetch.
pub const MAX_OBJECTS: usize = 100_000;
/// Bytes a range read brings at once (memory: one part at a time).
pub const PART_BYTES: u64 = 32 << 20;
/// Free bytes the fetch leaves on the folder's file system.
pub const SPARE_BYTES: u64 = 1 << 30;
/// The names ASDF files go by (the walk reads them by content; a bucket is chosen from by name
/// so that no other object is read).
const EXTENSIONS: [&str; 3] = ["h5", "asdf", "hdf5"];

/// What a fetch did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fetched {
    /// The local path to read: the folder, or the one file an object URL named.
    pub input: PathBuf,
    pub fetched: usize,
    pub bytes: u64,
    /// Objects already here with their listed size and ETag.
    pub kept: usize,
    /// Objects under the prefix not named as ASDF files (not read).
    pub other: usize,
}

/// The folder a prefix's objects come into: `TMP/seisbatch-input/BUCKET/PREFIX` (the prefix
/// escaped into one name).
pub fn default_dir(u: &Url) -> PathBuf {
    std::env::temp_dir()
        .join("seisbatch-input")
        .join(&u.bucket)
        .join(crate::escape::escape(&u.key.replace('/', "_")))
}

fn is_asdf_name(key: &str) -> bool {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

/// The ASDF objects at `u` (an object, or every one under a prefix) in `dir`.
pub fn fetch_asdf(u: &Url, dir: &Path) -> Result<Fetched, String> {
    // An object named whole is the input itself; otherwise the key is a prefix.
    let (prefix, listed, one) = match head(u)? {
        Some((size, etag)) if !u.key.is_empty() => {
            let (parent, _) = u.key.rsplit_once('/').unwrap_or(("", &u.key));
            let parent = Url {
                bucket: u.bucket.clone(),
                key: parent.to_string(),
            };
            let l = Listed {
                url: u.clone(),
                size,
                modified_ns: 0,
                etag,
            };
            (parent, vec![l], true)
        }
        _ => (u.clone(), list(u, MAX_OBJECTS)?, false),
    };
    let mut out = Fetched::default();
    let mut wanted = Vec::new();
    for l in listed {
        let Some(rel) = l.url.rel_to(&prefix) else {
            continue;
        };
        if !is_asdf_name(&rel) {
            out.other += 1;
            continue;
        }
        if rel
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == ".." || p.contains('\0'))
        {
            return Err(format!(
                "{}: a key with an empty, `.` or `..` part cannot be a local file; not fetched",
                l.url
            ));
        }
        wanted.push((rel, l));
    }
    if wanted.is_empty() {
        return Err(format!(
            "--input {u}: no ASDF object (.h5, .asdf, .hdf5) there{}; miniSEED in a bucket is read as an archive: give --window START/END, --segment SECONDS or --events with --window origin-S/origin+S",
            if out.other > 0 {
                format!(" ({} other objects)", out.other)
            } else {
                String::new()
            }
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    own_folder(dir)?;
    let record_path = record_path(dir);
    let mut record = read_record(&record_path);
    let need: u64 = wanted
        .iter()
        .filter(|(rel, l)| !kept(dir, rel, l, &record))
        .map(|(_, l)| l.size)
        .sum();
    let free = free_bytes(dir)?;
    if need.saturating_add(SPARE_BYTES) > free {
        return Err(format!(
            "--input {u}: its ASDF objects need {:.1} GB in {} but {:.1} GB are free (1 GB kept spare); set TMPDIR to a larger disk",
            need as f64 / 1e9,
            dir.display(),
            free as f64 / 1e9
        ));
    }
    for (rel, l) in &wanted {
        if kept(dir, rel, l, &record) {
            out.kept += 1;
            continue;
        }
        record.remove(rel);
        write_record(&record_path, &record)?;
        fetch_one(l, &dir.join(rel), dir)?;
        out.fetched += 1;
        out.bytes += l.size;
        record.insert(rel.clone(), (l.size, l.etag.clone()));
        write_record(&record_path, &record)?;
    }
    out.input = match (one, wanted.first()) {
        (true, Some((rel, _))) => dir.join(rel),
        _ => dir.to_path_buf(),
    };
    Ok(out)
}

/// The object `u` into `dir/rel` (`rel` checked by the caller to stay inside `dir`; folders
/// made, never through a link), as a fetch brings one; false when there is no such object.
pub fn download(u: &Url, dir: &Path, rel: &Path) -> Result<bool, String> {
    let Some((size, etag)) = head(u)? else {
        return Ok(false);
    };
    let l = Listed {
        url: u.clone(),
        size,
        modified_ns: 0,
        etag,
    };
    fetch_one(&l, &dir.join(rel), dir)?;
    Ok(true)
}

/// Whether `rel` is here as listed: its recorded size and ETag those of the listing, its
/// file of that size (and a plain file).
fn kept(dir: &Path, rel: &str, l: &Listed, record: &Record) -> bool {
    record.get(rel) == Some(&(l.size, l.etag.clone()))
        && std::fs::symlink_metadata(dir.join(rel)).is_ok_and(|m| m.is_file() && m.len() == l.size)
}

/// One object into `path`, part by part, under a temporary name first.
fn fetch_one(l: &Listed, path: &Path, dir: &Path) -> Result<(), String> {
    let parent = path.parent().unwrap_or(dir);
    let rel_parent = parent.strip_prefix(dir).unwrap_or(Path::new(""));
    let real = real_dir(dir, rel_parent)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    // Our own temporary name: shards on one machine fetch the same prefix into one folder at
    // once, each its own copy, the last rename wins (the same bytes: If-Match on one ETag).
    let tmp = real.join(format!(".{name}.{}.part", std::process::id()));
    if std::fs::symlink_metadata(&tmp).is_ok() {
        std::fs::remove_file(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    let expect = Expect {
        size: Some(l.size),
        etag: l.etag.clone(),
    };
    let mut at = 0u64;
    let r = (|| {
        while at < l.size {
            let end = (at + PART_BYTES).min(l.size);
            let b = read_range(&l.url, at..end, &expect).map_err(|e| format!("{}: {e}", l.url))?;
            f.write_all(&b)
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
            at = end;
        }
        f.sync_all()
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        let target = real.join(path.file_name().unwrap_or_default());
        if std::fs::symlink_metadata(&target).is_ok_and(|m| !m.is_file()) {
            return Err(format!(
                "{}: there and not a file; not replaced",
                target.display()
            ));
        }
        std::fs::rename(&tmp, &target).map_err(|e| format!("{}: {e}", target.display()))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Per object (key relative to the prefix): the size and ETag of the copy here.
type Record = BTreeMap<String, (u64, Option<String>)>;

/// Beside the folder (not in it: the walk would see it): `DIR.fetched.json`.
fn record_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".fetched.json");
    dir.with_file_name(name)
}

/// The record of an earlier fetch; anything unreadable is an empty record (every object is
/// fetched again). It only ever says "the same as listed", never a path or a size to use.
fn read_record(path: &Path) -> Record {
    crate::read::sniff::read_regular(path, false, 64 << 20)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The record, replaced whole (a temporary name, then a rename).
fn write_record(path: &Path, record: &Record) -> Result<(), String> {
    let b = serde_json::to_vec(record).map_err(|e| e.to_string())?;
    let tmp = path.with_extension(format!("json.{}.part", std::process::id()));
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    if std::fs::symlink_metadata(&tmp).is_ok() {
        std::fs::remove_file(&tmp).map_err(err)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(&b).and_then(|_| f.sync_all()).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// `dir/rel`, every folder on the way a real folder (made where missing), never a link: a
/// key's path never leads out of `dir`.
fn real_dir(dir: &Path, rel: &Path) -> Result<PathBuf, String> {
    let mut cur = dir.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "{}: there and not a folder (a link is not followed)",
                    cur.display()
                ))
            }
            Err(_) => std::fs::create_dir(&cur).map_err(|e| format!("{}: {e}", cur.display()))?,
        }
    }
    Ok(cur)
}

/// `dir` is a folder of this user's, not a link (a shared temporary folder may hold one
/// planted by someone else).
fn own_folder(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !m.is_dir() || m.uid() != me {
        return Err(format!(
            "{}: not a folder of this user's (a link, or another user's); set TMPDIR elsewhere",
            dir.display()
        ));
    }
    Ok(())
}

/// Free bytes on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Result<u64, String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| format!("{}: a path with a NUL byte", dir.display()))?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `s` a statvfs the call fills.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(format!(
            "{}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok((s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asdf_objects_go_by_name_and_the_record_sits_beside_the_folder() {
        assert!(is_asdf_name("a/b/x.h5") && is_asdf_name("X.ASDF") && is_asdf_name("p.hdf5"));
        assert!(!is_asdf_name("x.mseed") && !is_asdf_name("h5") && !is_asdf_name("a.h5/x"));
        assert_eq!(
            record_path(Path::new("/tmp/s/b/p")),
            Path::new("/tmp/s/b/p.fetched.json")
        );
        let d = tempfile::tempdir().unwrap();
        assert!(free_bytes(d.path()).unwrap() > 0);
        // A damaged record is no record: everything is fetched again.
        std::fs::write(d.path().join("r.json"), b"{not json").unwrap();
        assert!(read_record(&d.path().join("r.json")).is_empty());
    }
}
