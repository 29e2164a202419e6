//! Output names derived from data, made safe, and made unique deterministically.
//!
//! **Escaping.** A trace's codes come from the file it was read from, and a hostile header can
//! hold anything: a miniSEED 3 identifier `FDSN:../../../../tmp/x_S_00_B_H_Z` or station
//! `./../` made files land outside OUTPUT. Every code that becomes part of a name keeps only
//! `[A-Za-z0-9-]` and writes every other byte as `%XX` (upper-case hex), so a name is always
//! one path component that never starts with `.`, and the escaping is reversible
//! ([`unescape`]): `GR.FUR..HHZ` stays as it is, `./../` becomes `%2E%2F%2E%2E%2F`. A name
//! longer than a file system takes (255 bytes) fails its trace with the reason.
//!
//! **Uniqueness.** Two traces that map to one name (the same id, start and end second: an
//! overlap, a duplicated record, a second copy of a file) must not overwrite each other: the
//! later one gets `_2`, `_3`, ... before the extension. The engine names traces in walk order
//! (one input after the other, each input's traces in the order they were read), so the
//! suffixes depend on neither finish order nor what is on disk; a resumed run first takes the
//! names its journal lists, so a redone input never takes a journaled input's name. Names are
//! compared case-folded, so two traces never get names that differ only in case (one file on
//! a case-insensitive file system). A counter per name keeps the search for a free suffix
//! O(1): a file of one repeated record took 49 s for 10 MB searching from `_2` upward.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::trace::Trace;

/// The longest file name the usual file systems take (ext4, XFS, APFS, NTFS: 255 bytes).
pub const MAX_NAME_BYTES: usize = 255;

pub use crate::escape::{escape, unescape};

/// `NET.STA.LOC.CHA` with each code escaped: safe in a file or group name, and two different
/// sets of codes never give the same text (a `.` inside a code is `%2E`).
pub fn safe_id(tr: &Trace) -> String {
    format!(
        "{}.{}.{}.{}",
        escape(&tr.network),
        escape(&tr.station),
        escape(&tr.location),
        escape(&tr.channel)
    )
}

/// `NET.STA.LOC.CHA__START__END.<ext>` as MassDownloader names files (NUMERICS §8), codes escaped;
/// an error when the name is too long for a file system.
pub fn file_name(tr: &Trace, ext: &str) -> Result<String, String> {
    let name = format!(
        "{}__{}__{}.{ext}",
        safe_id(tr),
        crate::time::compact(tr.start_ns),
        crate::time::compact(tr.end_ns()),
    );
    check_component(&name)?;
    Ok(name)
}

/// A name must be one plain path component of at most MAX_NAME_BYTES (suffix room left).
fn check_component(name: &str) -> Result<(), String> {
    if name.len() + 12 > MAX_NAME_BYTES {
        return Err(format!(
            "the output name for these codes would be {} bytes, more than a file name may hold ({MAX_NAME_BYTES}); not written",
            name.len()
        ));
    }
    let mut c = Path::new(name).components();
    match (c.next(), c.next()) {
        (Some(std::path::Component::Normal(n)), None) if n == name && !name.starts_with('.') => {
            Ok(())
        }
        _ => Err(format!("{name:?} is not a plain file name; not written")),
    }
}

fn key(name: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.to_lowercase().hash(&mut h);
    h.finish()
}

/// Names taken in one output folder: 8-byte hashes of the case-folded names (a collision
/// between two different names, odds ~n^2/2^65, only costs a needless suffix), and the next
/// suffix to try for each base name.
#[derive(Default)]
struct Folder {
    taken: HashSet<u64>,
    next: HashMap<u64, u32>,
}

/// Output names taken so far, per output folder. Only folders the walk may come back to are
/// kept: the walk is depth-first in path order, so once an input from outside folder X's
/// input subtree is named, X is done (memory stays at the depth of the tree, not its size).
#[derive(Default)]
pub struct Names {
    folders: HashMap<PathBuf, Folder>,
    /// Names a resumed run's journal lists, per output folder, taken when the folder is met.
    journaled: HashMap<PathBuf, Vec<String>>,
    /// Suffixed candidates tried so far (the tests check the search stays linear).
    tries: u64,
}

impl Names {
    /// A name an earlier run wrote (its journal says so): never given again.
    pub fn preload(&mut self, out_dir: &Path, name: String) {
        self.journaled
            .entry(out_dir.to_path_buf())
            .or_default()
            .push(name);
    }

    /// A unique name in `out_dir` for `name`, for an input whose folder (relative to the input
    /// root) is `input_dir`.
    pub fn claim(&mut self, out_dir: &Path, input_dir: &Path, name: &str) -> String {
        self.folders
            .retain(|d, _| input_dir.starts_with(d) || d.as_path() == out_dir);
        let journaled = &mut self.journaled;
        let folder = self
            .folders
            .entry(out_dir.to_path_buf())
            .or_insert_with(|| {
                let mut f = Folder::default();
                for n in journaled.remove(out_dir).unwrap_or_default() {
                    f.taken.insert(key(&n));
                }
                f
            });
        let base = key(name);
        if folder.taken.insert(base) {
            return name.to_string();
        }
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let mut k = folder.next.get(&base).copied().unwrap_or(2);
        loop {
            let candidate = format!("{stem}_{k}.{ext}");
            k += 1;
            self.tries += 1;
            if folder.taken.insert(key(&candidate)) {
                folder.next.insert(base, k);
                return candidate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_escaped_reversibly_to_one_safe_component() {
        assert_eq!(escape("GR"), "GR");
        assert_eq!(escape(""), "");
        assert_eq!(escape("./../"), "%2E%2F%2E%2E%2F");
        assert_eq!(escape("a b%"), "a%20b%25");
        assert_eq!(escape("é"), "%C3%A9");
        for code in [
            "./../", "/etc", "..", "a_b", "%41", "x\u{0}y", "é", "LONGSTA1",
        ] {
            assert_eq!(unescape(&escape(code)).unwrap(), code.as_bytes(), "{code}");
        }
        assert_eq!(unescape("a/b"), None);
        let tr = |net: &str, sta: &str| Trace {
            network: net.into(),
            station: sta.into(),
            location: String::new(),
            channel: "HHZ".into(),
            start_ns: 0,
            sampling_rate: 1.0,
            data: vec![0.0; 2],
        };
        let n = file_name(&tr("../../../../tmp/x", "S"), "sac").unwrap();
        assert!(!n.contains('/') && !n.starts_with('.'), "{n}");
        assert_eq!(
            file_name(&tr("GR", "FUR"), "sac").unwrap(),
            "GR.FUR..HHZ__19700101T000000Z__19700101T000001Z.sac"
        );
        // Two different code sets never share a name.
        assert_ne!(safe_id(&tr("XX", "A.B")), safe_id(&tr("XX.A", "B")));
        assert!(file_name(&tr(&"N".repeat(300), "S"), "sac")
            .unwrap_err()
            .contains("255"));
    }

    #[test]
    fn suffixes_are_in_claim_order_case_folded_and_linear() {
        let mut n = Names::default();
        let (ev, raw) = (Path::new("ev"), Path::new("ev/raw"));
        assert_eq!(n.claim(ev, raw, "X.sac"), "X.sac");
        assert_eq!(n.claim(ev, raw, "X.sac"), "X_2.sac");
        assert_eq!(n.claim(ev, raw, "x.sac"), "x_3.sac", "case-folded");
        assert_eq!(
            n.claim(Path::new("other"), Path::new("other"), "X.sac"),
            "X.sac"
        );
        // A resumed run takes the journaled names first.
        let mut r = Names::default();
        r.preload(ev, "X.sac".into());
        assert_eq!(r.claim(ev, raw, "X.sac"), "X_2.sac");
        // 20,000 copies of one name: one candidate each, not a search from _2 upward (which
        // made 2e8 tries here and took minutes on a 20 MB file).
        let mut m = Names::default();
        for _ in 0..20_000 {
            m.claim(ev, raw, "Y.sac");
        }
        assert_eq!(m.claim(ev, raw, "Y.sac"), "Y_20001.sac");
        assert_eq!(m.tries, 20_000);
    }

    #[test]
    fn folders_the_walk_has_left_are_forgotten() {
        let mut n = Names::default();
        n.claim(Path::new("a"), Path::new("a"), "X.sac");
        n.claim(Path::new("a/b"), Path::new("a/b"), "X.sac");
        // Back in a/ (its subfolder done): a's names are still there.
        assert_eq!(n.claim(Path::new("a"), Path::new("a"), "X.sac"), "X_2.sac");
        n.claim(Path::new("c"), Path::new("c"), "X.sac");
        assert_eq!(n.folders.len(), 1, "a and a/b are done");
    }
}
