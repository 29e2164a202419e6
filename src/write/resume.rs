//! What a resumed run trusts of the journal (issue #23). The journal is a file on disk like
//! any input: a per-event file deleted after an interruption was recreated as 983,040 zero
//! bytes (the journal's length) followed by the new traces, and an entry claiming 10^12
//! bytes grew the file to a terabyte. Every claim is now checked against the output folder
//! before it is trusted:
//! - every path it names is a plain relative path (no `..`, no root) and every count sums
//!   without overflow, or the journal is refused as a whole;
//! - per trace: each file an input wrote is there, a regular file of the recorded size;
//! - per event: the event file holds the recorded bytes, checked by their CRC-32C at every
//!   length the journal recorded (one read of the file); the entries whose claims hold are
//!   kept, and the file is cut back to the last of them.
//!
//! An entry whose outputs are not as it says is not trusted: its input is processed again
//! (and its per-event file rebuilt from the last length that holds), with a warning naming
//! the file and the reason. Nothing is ever written past the end of a file.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::journal::{inside_path_of, Entry};

/// The entries a resumed run keeps, and why the others are redone.
#[derive(Debug, Default)]
pub struct Resumed {
    /// Entries whose outputs are as they say, in journal order.
    pub entries: Vec<Entry>,
    /// One line per entry not trusted (for the report's warnings).
    pub redone: Vec<String>,
}

/// Checks `entries` (an earlier run's journal) against the output folder `root`. `converted`:
/// with `--format asdf`, the name an event file has once converted (`EVENT.h5` for
/// `EVENT.mseed`): a converted event is complete. Err when the journal itself cannot be
/// trusted (a path outside the folder, counts that overflow).
pub fn verify(
    root: &Path,
    entries: Vec<Entry>,
    converted: Option<&dyn Fn(&Path) -> PathBuf>,
) -> Result<Resumed, String> {
    check_claims(&entries)?;
    let mut keep = vec![true; entries.len()];
    let mut redone = Vec::new();
    // Per trace: each output there with its size.
    for (i, e) in entries.iter().enumerate() {
        for (dir, name, bytes) in &e.names {
            let p = root.join(dir_of(dir)?).join(name);
            let why = match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_file() && m.len() == *bytes => continue,
                Ok(m) if m.is_file() => {
                    format!("has {} bytes, the journal says {bytes}", m.len())
                }
                Ok(_) => "is not a regular file".to_string(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "is missing".to_string(),
                Err(e) => e.to_string(),
            };
            keep[i] = false;
            redone.push(format!(
                "--resume: {} {why}: its input {} is processed again",
                p.display(),
                e.file
            ));
            break;
        }
    }
    // Per event: the claims on each file, in journal order.
    let mut files: HashMap<PathBuf, Vec<usize>> = HashMap::new();
    let mut order = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some((key, _, _)) = &e.appended {
            let rel = inside_path_of(key).ok_or_else(|| {
                format!("the journal names an event file `{key}` outside the output folder")
            })?;
            files
                .entry(rel.clone())
                .or_insert_with(|| {
                    order.push(rel);
                    Vec::new()
                })
                .push(i);
        }
    }
    for rel in order {
        let claims = &files[&rel];
        let path = root.join(&rel);
        let lens: Vec<(u64, u32)> = claims
            .iter()
            .map(|&i| {
                let (_, len, crc) = entries[i].appended.as_ref().expect("an appended entry");
                (*len, *crc)
            })
            .collect();
        let (held, why) = match holds(&path, &lens) {
            Ok(held) => (held, None),
            Err(Missing) => match converted.map(|c| c(&path)) {
                Some(h5) if std::fs::symlink_metadata(&h5).is_ok_and(|m| m.is_file()) => {
                    (claims.len(), None)
                }
                _ => (0, Some("is missing".to_string())),
            },
        };
        let why = why.or_else(|| {
            (held < claims.len()).then(|| {
                format!(
                    "does not hold what the journal recorded after {} of its {} input(s) (its length or checksum differs)",
                    held,
                    claims.len()
                )
            })
        });
        if let Some(why) = why {
            for &i in &claims[held..] {
                keep[i] = false;
            }
            redone.push(format!(
                "--resume: {} {why}: the {} input(s) after that are processed again",
                path.display(),
                claims.len() - held
            ));
        }
    }
    let entries = entries
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect();
    Ok(Resumed { entries, redone })
}

/// The folder an output name lives in: OUTPUT itself for the empty key.
pub fn dir_of(key: &str) -> Result<PathBuf, String> {
    if key.is_empty() {
        return Ok(PathBuf::new());
    }
    inside_path_of(key).ok_or_else(|| {
        format!("the journal names an output folder `{key}` outside the output folder")
    })
}

/// Most a count of the journal may add up to: what a JSON number holds exactly, far above
/// any real run, and far enough below the counters' limits that a run adds to it safely.
const MAX_COUNT: u64 = 1 << 53;

/// Every path a claim names is inside its folder and every count adds up without overflow.
fn check_claims(entries: &[Entry]) -> Result<(), String> {
    let (mut ok, mut outputs, mut failed, mut not_selected, mut samples) =
        (0usize, 0usize, 0usize, 0usize, 0u64);
    let overflow = |what: &str| {
        format!("the journal's {what} add up to more than a count can hold; it cannot be trusted")
    };
    let bounded = |v: u64, what: &str| {
        if v > MAX_COUNT {
            Err(overflow(what))
        } else {
            Ok(())
        }
    };
    for e in entries {
        if inside_path_of(&e.key).is_none() {
            return Err(format!(
                "the journal names an input `{}` that is not a path inside the input folder",
                e.key
            ));
        }
        for (dir, name, _) in &e.names {
            dir_of(dir)?;
            let plain = inside_path_of(name).is_some_and(|p| p.components().count() == 1);
            if !plain {
                return Err(format!(
                    "the journal names an output `{name}` that is not a file name"
                ));
            }
        }
        ok = ok.checked_add(e.ok).ok_or_else(|| overflow("traces"))?;
        outputs = outputs
            .checked_add(e.outputs)
            .ok_or_else(|| overflow("outputs"))?;
        failed = failed
            .checked_add(e.failures.len())
            .ok_or_else(|| overflow("failures"))?;
        not_selected = not_selected
            .checked_add(e.not_selected)
            .ok_or_else(|| overflow("traces not selected"))?;
        samples = samples
            .checked_add(e.samples)
            .ok_or_else(|| overflow("samples"))?;
        for (v, what) in [
            (ok as u64, "traces"),
            (outputs as u64, "outputs"),
            (failed as u64, "failures"),
            (not_selected as u64, "traces not selected"),
            (samples, "samples"),
        ] {
            bounded(v, what)?;
        }
    }
    Ok(())
}

/// The event file is gone.
struct Missing;

/// How many of `claims` (lengths with the CRC of the bytes up to each) the file at `path`
/// holds, in order: one read of the file, as far as the last claim (never more).
fn holds(path: &Path, claims: &[(u64, u32)]) -> Result<usize, Missing> {
    let mut f = match crate::read::sniff::open(path, true) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Missing),
        Err(_) => return Ok(0),
    };
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(0);
    }
    let (mut at, mut crc) = (0u64, 0u32);
    let mut buf = vec![0u8; 1 << 20];
    for (k, &(len, want)) in claims.iter().enumerate() {
        if len < at {
            return Ok(k); // lengths only grow: a claim behind the one before is not one
        }
        while at < len {
            let n = (len - at).min(buf.len() as u64) as usize;
            match f.read(&mut buf[..n]) {
                Ok(0) | Err(_) => return Ok(k),
                Ok(got) => {
                    crc = super::crc32c::extend(crc, &buf[..got]);
                    at += got as u64;
                }
            }
        }
        if crc != want {
            return Ok(k);
        }
    }
    Ok(claims.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::crc32c::crc32c;

    fn appended(key: &str, file: &str, len: u64, crc: u32) -> Entry {
        Entry {
            file: format!("in/{key}"),
            key: key.into(),
            ok: 1,
            outputs: 1,
            appended: Some((file.into(), len, crc)),
            ..Default::default()
        }
    }

    #[test]
    fn per_event_claims_are_checked_by_length_and_checksum() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("ev")).unwrap();
        let data = b"aaaabbbbcccc";
        std::fs::write(d.path().join("ev/ev.mseed"), data).unwrap();
        let claims = [
            appended("a", "ev/ev.mseed", 4, crc32c(&data[..4])),
            appended("b", "ev/ev.mseed", 8, crc32c(&data[..8])),
            appended("c", "ev/ev.mseed", 12, crc32c(&data[..12])),
        ];
        let r = verify(d.path(), claims.to_vec(), None).unwrap();
        assert_eq!(r.entries.len(), 3);
        assert!(r.redone.is_empty());
        // The file changed after the second append: the third input is redone.
        std::fs::write(d.path().join("ev/ev.mseed"), b"aaaabbbbXccc").unwrap();
        let r = verify(d.path(), claims.to_vec(), None).unwrap();
        assert_eq!(
            r.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(
            r.redone[0].contains("after 2 of its 3 input(s)"),
            "{:?}",
            r.redone
        );
        // A claim of 10^12 bytes (the file holds 12): not trusted, nothing read past the end.
        let mut huge = claims.to_vec();
        huge[2] = appended("c", "ev/ev.mseed", 1_000_000_000_000, 7);
        let r = verify(d.path(), huge, None).unwrap();
        assert_eq!(r.entries.len(), 2);
        // Deleted: every input of the event is redone; a converted (ASDF) event is complete.
        std::fs::remove_file(d.path().join("ev/ev.mseed")).unwrap();
        let r = verify(d.path(), claims.to_vec(), None).unwrap();
        assert!(r.entries.is_empty());
        assert!(r.redone[0].contains("is missing"), "{:?}", r.redone);
        std::fs::write(d.path().join("ev/ev.h5"), b"hdf5").unwrap();
        let h5 = |p: &Path| p.with_extension("h5");
        let r = verify(d.path(), claims.to_vec(), Some(&h5)).unwrap();
        assert_eq!(r.entries.len(), 3);
    }

    #[test]
    fn per_trace_outputs_are_checked_by_size() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("ev")).unwrap();
        std::fs::write(d.path().join("ev/x.sac"), b"12345").unwrap();
        std::fs::write(d.path().join("top.sac"), b"12").unwrap();
        let e = |key: &str, names: Vec<(&str, &str, u64)>| Entry {
            key: key.into(),
            names: names
                .into_iter()
                .map(|(a, b, c)| (a.to_string(), b.to_string(), c))
                .collect(),
            ..Default::default()
        };
        let entries = vec![
            e("a", vec![("ev", "x.sac", 5), ("", "top.sac", 2)]),
            e("b", vec![("ev", "x.sac", 6)]),
            e("c", vec![("ev", "gone.sac", 1)]),
            e("d", vec![]),
        ];
        let r = verify(d.path(), entries, None).unwrap();
        assert_eq!(
            r.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["a", "d"]
        );
        assert!(
            r.redone[0].contains("has 5 bytes, the journal says 6"),
            "{:?}",
            r.redone
        );
        assert!(
            r.redone[1].contains("gone.sac is missing"),
            "{:?}",
            r.redone
        );
    }

    #[test]
    fn a_journal_naming_paths_outside_or_overflowing_counts_is_refused() {
        let d = tempfile::tempdir().unwrap();
        for (entry, why) in [
            (
                Entry {
                    key: "../../etc/passwd".into(),
                    ..Default::default()
                },
                "not a path inside",
            ),
            (
                Entry {
                    key: "a".into(),
                    names: vec![("../x".into(), "y.sac".into(), 1)],
                    ..Default::default()
                },
                "outside the output folder",
            ),
            (
                Entry {
                    key: "a".into(),
                    names: vec![("ev".into(), "../y.sac".into(), 1)],
                    ..Default::default()
                },
                "not a file name",
            ),
            (
                Entry {
                    key: "a".into(),
                    appended: Some(("/tmp/ev.mseed".into(), 1, 0)),
                    ..Default::default()
                },
                "outside the output folder",
            ),
        ] {
            let e = verify(d.path(), vec![entry], None).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        let big = |key: &str| Entry {
            key: key.into(),
            ok: usize::MAX,
            ..Default::default()
        };
        let e = verify(d.path(), vec![big("a"), big("b")], None).unwrap_err();
        assert!(e.contains("cannot be trusted"), "{e}");
    }
}
