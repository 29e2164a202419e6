//! The index of a continuous archive: per channel, its contiguous runs of records in each
//! file (file, byte range, start, rate, samples, encoding), built from record headers only
//! (`read::heads`: no sample is decoded). A run keeps a mark (start time, byte offset) every
//! [`MARK_EVERY`] records, so a window reads only the stretch of a day file around it.
//! `catalog` writes and reads it as Parquet.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::read::heads::{self, Head};
use crate::read::mseed::Problem;

/// A run keeps the start and offset of every this-many-th record (a 100 Hz Steim2 day file in
/// 4096-byte records has ~4,000 records: ~60 marks; a window reads at most this many records
/// more than it needs at either end).
pub const MARK_EVERY: u32 = 64;

/// NET, STA, LOC, CHA.
pub type ChannelCodes = (String, String, String, String);

/// One indexed file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    /// Relative to the archive root ('/'-separated as the file system spells it).
    pub rel: PathBuf,
    pub size: u64,
    /// Modification time, ns since 1970 (re-indexing reads again only what changed).
    pub mtime_ns: i64,
    /// An object's ETag (object storage): a read of a changed object is refused by it.
    pub etag: Option<String>,
}

/// Records of one channel in one file that follow each other in time at one rate: a row of
/// the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub file: usize,
    pub channel: usize,
    pub rate: f64,
    pub start_ns: i64,
    pub npts: u64,
    /// Bytes of the file from the first record to the end of the last (other channels'
    /// records in between, in a multiplexed file, are read and left out).
    pub foff: u64,
    pub nbytes: u64,
    pub records: u32,
    pub encoding: i16,
    /// (start ns, byte offset) of the first record and of every MARK_EVERY-th after it.
    pub marks: Vec<(i64, u64)>,
}

impl Run {
    /// Time of the last sample.
    pub fn end_ns(&self) -> i64 {
        let span = self.npts.saturating_sub(1) as f64 * 1e9 / self.rate;
        self.start_ns.saturating_add(span.round() as i64)
    }

    /// The bytes holding every record that may hold a sample in [t0, t1]: from the last mark
    /// at or before t0 to the first mark after t1 (or the run's end).
    pub fn bytes_for(&self, t0: i64, t1: i64) -> (u64, u64) {
        let from = match self.marks.partition_point(|m| m.0 <= t0) {
            0 => self.foff,
            i => self.marks[i - 1].1,
        };
        let to = match self.marks.iter().find(|m| m.0 > t1) {
            Some(m) => m.1,
            None => self.foff + self.nbytes,
        };
        (from, to.max(from))
    }
}

/// The archive's index.
#[derive(Debug, Default, Clone)]
pub struct Index {
    pub root: PathBuf,
    pub files: Vec<FileEntry>,
    pub channels: Vec<ChannelCodes>,
    /// Sorted by (channel, start, file).
    pub runs: Vec<Run>,
    /// Parts of files the index could not read (file index, problem).
    pub problems: Vec<(usize, Problem)>,
}

/// One file's part of an index, channels by their codes.
#[derive(Debug, Clone)]
pub struct FileRuns {
    pub entry: FileEntry,
    pub runs: Vec<(ChannelCodes, Run)>,
    pub problems: Vec<Problem>,
}

/// Reads `path`'s record headers into runs (`file` index 0: the caller renumbers).
pub fn index_file(root: &Path, path: &Path) -> FileRuns {
    let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    let mut entry = FileEntry {
        rel,
        size: 0,
        mtime_ns: 0,
        etag: None,
    };
    let mut buf = Vec::new();
    match read_whole(path, &mut buf) {
        Ok((size, mtime_ns)) => {
            entry.size = size;
            entry.mtime_ns = mtime_ns;
        }
        Err(e) => {
            return FileRuns {
                entry,
                runs: Vec::new(),
                problems: vec![Problem {
                    bytes: None,
                    reason: format!("cannot read file: {e}"),
                }],
            }
        }
    }
    index_bytes(entry, &mut buf)
}

/// A file's (or object's) bytes -> its runs.
pub fn index_bytes(entry: FileEntry, buf: &mut Vec<u8>) -> FileRuns {
    let h = heads::scan(buf);
    let runs = runs_of(&h.heads)
        .into_iter()
        .map(|r| (h.names[r.channel].clone(), r))
        .collect();
    FileRuns {
        entry,
        runs,
        problems: h.problems,
    }
}

/// The file's bytes (within the input size limit), its size and modification time.
fn read_whole(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<(u64, i64)> {
    use std::io::Read;
    let f = crate::read::sniff::open(path, false)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let max = crate::limits::max_file_bytes();
    if meta.len() > max {
        return Err(std::io::Error::other(format!(
            "{} bytes, more than the {max} an input may have",
            meta.len()
        )));
    }
    buf.clear();
    f.take(max).read_to_end(buf)?;
    Ok((meta.len(), mtime_ns(&meta)))
}

pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

/// A file's headers -> runs: consecutive records (in file order) of one channel at one rate,
/// each starting within half a sample of where the one before ended.
fn runs_of(heads: &[Head]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    // The open run of each channel.
    let mut open: HashMap<usize, usize> = HashMap::new();
    for h in heads {
        if let Some(&i) = open.get(&h.key) {
            let r = &mut runs[i];
            let dt = 1e9 / r.rate;
            let expected = r.start_ns as f64 + r.npts as f64 * dt;
            if r.rate == h.rate && (h.start_ns as f64 - expected).abs() <= 0.5 * dt {
                r.npts += u64::from(h.samples);
                r.nbytes = h.offset + u64::from(h.len) - r.foff;
                if r.records.is_multiple_of(MARK_EVERY) {
                    r.marks.push((h.start_ns, h.offset));
                }
                r.records += 1;
                continue;
            }
        }
        open.insert(h.key, runs.len());
        runs.push(Run {
            file: 0,
            channel: h.key,
            rate: h.rate,
            start_ns: h.start_ns,
            npts: u64::from(h.samples),
            foff: h.offset,
            nbytes: u64::from(h.len),
            records: 1,
            encoding: h.encoding,
            marks: vec![(h.start_ns, h.offset)],
        });
    }
    runs
}

impl Index {
    /// Indexes `files` (paths under `root`), in parallel; `reuse` gives a file's earlier
    /// part when its size and modification time are unchanged (re-indexing).
    pub fn build(
        root: &Path,
        files: &[PathBuf],
        reuse: &(dyn Fn(&Path, u64, i64) -> Option<FileRuns> + Sync),
    ) -> Index {
        let parts: Vec<FileRuns> = files
            .par_iter()
            .map(|p| {
                let meta = std::fs::metadata(p).ok();
                let again = meta.and_then(|m| {
                    let rel = p.strip_prefix(root).unwrap_or(p);
                    reuse(rel, m.len(), mtime_ns(&m))
                });
                again.unwrap_or_else(|| index_file(root, p))
            })
            .collect();
        Index::from_parts(root, parts)
    }

    /// Joins files' parts into one index (files in the order given, channels numbered in
    /// code order: the same archive gives the same index whatever the walk's order).
    pub fn from_parts(root: &Path, parts: Vec<FileRuns>) -> Index {
        let mut codes: Vec<ChannelCodes> = parts
            .iter()
            .flat_map(|p| p.runs.iter().map(|(c, _)| c.clone()))
            .collect();
        codes.sort();
        codes.dedup();
        let number: HashMap<&ChannelCodes, usize> =
            codes.iter().enumerate().map(|(i, c)| (c, i)).collect();
        let mut runs = Vec::new();
        let mut problems = Vec::new();
        let mut files = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            files.push(p.entry.clone());
            for (c, r) in &p.runs {
                let mut r = r.clone();
                r.file = i;
                r.channel = number[c];
                runs.push(r);
            }
            problems.extend(p.problems.iter().cloned().map(|q| (i, q)));
        }
        runs.sort_by(|a: &Run, b: &Run| {
            (a.channel, a.start_ns, a.file, a.foff).cmp(&(b.channel, b.start_ns, b.file, b.foff))
        });
        Index {
            root: root.to_path_buf(),
            files,
            channels: codes,
            runs,
            problems,
        }
    }

    /// The runs of one channel (sorted by start).
    pub fn runs_of(&self, channel: usize) -> &[Run] {
        let a = self.runs.partition_point(|r| r.channel < channel);
        let b = self.runs.partition_point(|r| r.channel <= channel);
        &self.runs[a..b]
    }

    /// The index as its files' parts again (for re-indexing).
    pub fn into_parts(self) -> Vec<FileRuns> {
        let mut parts: Vec<FileRuns> = self
            .files
            .into_iter()
            .map(|entry| FileRuns {
                entry,
                runs: Vec::new(),
                problems: Vec::new(),
            })
            .collect();
        for r in self.runs {
            let codes = self.channels[r.channel].clone();
            parts[r.file].runs.push((codes, r));
        }
        for (f, p) in self.problems {
            parts[f].problems.push(p);
        }
        parts
    }

    /// Gaps and overlaps between a channel's consecutive runs: (channel, at ns, seconds;
    /// negative for an overlap). A difference within half a sample is neither.
    pub fn discontinuities(&self) -> Vec<(usize, i64, f64)> {
        let mut out = Vec::new();
        for w in self.runs.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if a.channel != b.channel {
                continue;
            }
            let dt = 1.0 / a.rate;
            let next = a.end_ns() as f64 * 1e-9 + dt;
            let d = b.start_ns as f64 * 1e-9 - next;
            if d.abs() > 0.5 * dt {
                out.push((a.channel, b.start_ns, d));
            }
        }
        out
    }

    pub fn path_of(&self, file: usize) -> PathBuf {
        self.root.join(&self.files[file].rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(key: usize, start_s: f64, samples: u32, offset: u64) -> Head {
        Head {
            key,
            start_ns: (start_s * 1e9) as i64,
            rate: 100.0,
            samples,
            offset,
            len: 512,
            encoding: 11,
            version: 2,
        }
    }

    #[test]
    fn contiguous_records_are_one_run_a_gap_starts_another() {
        let heads = vec![
            head(0, 0.0, 100, 0),
            head(0, 1.0, 100, 512),
            head(1, 0.0, 100, 1024), // another channel between them
            head(0, 2.0, 100, 1536),
            head(0, 5.0, 100, 2048), // a 2 s gap
        ];
        let runs = runs_of(&heads);
        assert_eq!(runs.len(), 3);
        assert_eq!((runs[0].npts, runs[0].foff, runs[0].nbytes), (300, 0, 2048));
        assert_eq!(runs[0].end_ns(), 2_990_000_000);
        assert_eq!((runs[2].start_ns, runs[2].npts), (5_000_000_000, 100));
    }

    #[test]
    fn marks_bound_the_bytes_a_window_needs() {
        let heads: Vec<Head> = (0..200u32)
            .map(|i| head(0, f64::from(i), 100, u64::from(i) * 512))
            .collect();
        let runs = runs_of(&heads);
        assert_eq!(runs.len(), 1);
        let r = &runs[0];
        assert_eq!(r.marks.len(), 4); // records 0, 64, 128, 192
                                      // A window in records 70..80: from the mark at record 64 to the one at 128.
        assert_eq!(
            r.bytes_for(70_000_000_000, 80_000_000_000),
            (64 * 512, 128 * 512)
        );
        // Past the last mark: to the run's end.
        assert_eq!(
            r.bytes_for(195_000_000_000, 300_000_000_000),
            (192 * 512, 200 * 512)
        );
        // Before the run: from its start.
        assert_eq!(r.bytes_for(-5, 10), (0, 64 * 512));
    }
}
