//! Whole files up to a bucket without holding them in memory (an ASDF data set may be many
//! GB): up to [`super::PART_BYTES`] in one PUT, larger ones as a multipart upload read part by
//! part from the file and completed last (the object appears whole or not at all); and a
//! comparison of a file with an object, range by range.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::Ordering;

use object_store::{ObjectStore, PutPayload};

use super::{call, client, counters, head, key, multipart_from, read_range, said};
use super::{Expect, Put, PutError, Url};

/// Writes the file at `path` as `u` (as [`super::put`]: `Put::Create` never replaces an
/// object; for a multipart upload the key is checked free first).
pub fn put_file(u: &Url, path: &Path, how: Put) -> Result<Option<String>, PutError> {
    let failed = |e: std::io::Error| PutError::Failed(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(failed)?;
    let n = f.metadata().map_err(failed)?.len();
    if n < multipart_from() as u64 || matches!(how, Put::Replace(_)) {
        let mut b = Vec::with_capacity(n as usize);
        f.read_to_end(&mut b).map_err(failed)?;
        return super::put(u, b, how);
    }
    if how == Put::Create && head(u).map_err(PutError::Failed)?.is_some() {
        return Err(PutError::Taken);
    }
    let c = client(&u.bucket).map_err(PutError::Failed)?;
    let k = key(u).map_err(PutError::Failed)?;
    // S3's parts are 5 MiB at least (but the last): PART_BYTES whatever the threshold (the
    // tests' small threshold gives one-part uploads, as `put`).
    let part = super::PART_BYTES;
    let r = call(async {
        let mut up = c.put_multipart(&k).await?;
        let mut buf = vec![0u8; part];
        loop {
            let got = read_full(&mut f, &mut buf);
            let got = match got {
                Ok(0) => break,
                Ok(g) => g,
                Err(e) => {
                    let _ = up.abort().await;
                    return Err(object_store::Error::Generic {
                        store: "file",
                        source: Box::new(e),
                    });
                }
            };
            let data = PutPayload::from(bytes::Bytes::copy_from_slice(&buf[..got]));
            if let Err(e) = up.put_part(data).await {
                let _ = up.abort().await;
                return Err(e);
            }
        }
        up.complete().await
    })
    .map_err(PutError::Failed)?;
    match r {
        Ok(p) => {
            counters().bytes_written.fetch_add(n, Ordering::Relaxed);
            Ok(p.e_tag)
        }
        Err(e) => Err(PutError::Failed(format!("{u}: {}", said(&e)))),
    }
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        match f.read(&mut buf[at..])? {
            0 => break,
            n => at += n,
        }
    }
    Ok(at)
}

/// Whether the object `u` holds exactly the bytes of the file at `path` (compared a range at
/// a time: memory is one range).
pub fn same_bytes(u: &Url, path: &Path) -> Result<bool, String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(err)?;
    let n = f.metadata().map_err(err)?.len();
    let Some((size, etag)) = head(u)? else {
        return Ok(false);
    };
    if size != n {
        return Ok(false);
    }
    let expect = Expect {
        size: Some(size),
        etag,
    };
    let step = super::fetch::PART_BYTES;
    let mut buf = vec![0u8; step as usize];
    let mut at = 0u64;
    while at < n {
        let end = (at + step).min(n);
        let theirs = read_range(u, at..end, &expect).map_err(|e| format!("{u}: {e}"))?;
        let got = read_full(&mut f, &mut buf[..(end - at) as usize]).map_err(err)?;
        if got as u64 != end - at || theirs.as_ref() != &buf[..got] {
            return Ok(false);
        }
        at = end;
    }
    Ok(true)
}
