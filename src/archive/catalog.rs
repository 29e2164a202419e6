//! The index as Apache Parquet (`seisbatch index ARCHIVE --output CATALOG.parquet`, and
//! `OUTPUT/catalog.parquet` after a run): one row per run of records, with the columns of
//! MsPASS's `wf_miniseed` collection (net, sta, loc, chan, starttime, endtime, npts,
//! sampling_rate, delta, dir, dfile, foff, nbytes, format, storage_mode) and ours (the path
//! relative to the archive, exact start in ns, the file's size and mtime for re-indexing,
//! records, encoding, the marks, the gap before the run). The archive's root is in the file's
//! key-value metadata.
//!
//! A catalog is read back as untrusted input: every path must stay inside the root, every
//! number must be one the index could have written (a time seisbatch can represent, a usable
//! rate, byte ranges inside the file's size, marks in order inside the run, bounded counts),
//! or the catalog is refused naming the row.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int32Array, Int64Array, ListArray, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;

use super::index::{FileEntry, Index, Run, MARK_EVERY};
use crate::limits;
use crate::read::mseed::Problem;

/// The key-value metadata key holding the archive's root.
const ROOT_KEY: &str = "seisbatch.root";
/// ...and the damaged parts the index found (JSON: `[[path, from, to, reason], ...]`, the
/// first [`PROBLEMS_KEPT`]), so that a run from the catalog reports them as a run from the
/// archive does.
const PROBLEMS_KEY: &str = "seisbatch.problems";
pub const PROBLEMS_KEPT: usize = 10_000;
/// Rows a catalog may hold (a decade of 100 stations x 3 channels of day files is ~1.1 million).
pub const MAX_ROWS: usize = 50_000_000;
/// Values one column may hold in a row group (a day file's run has ~70 marks).
pub const MAX_VALUES: u64 = 500_000_000;

fn schema() -> Arc<Schema> {
    let list = || DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
    Arc::new(Schema::new(vec![
        Field::new("net", DataType::Utf8, false),
        Field::new("sta", DataType::Utf8, false),
        Field::new("loc", DataType::Utf8, false),
        Field::new("chan", DataType::Utf8, false),
        Field::new("starttime", DataType::Float64, false),
        Field::new("endtime", DataType::Float64, false),
        Field::new("npts", DataType::Int64, false),
        Field::new("sampling_rate", DataType::Float64, false),
        Field::new("delta", DataType::Float64, false),
        Field::new("dir", DataType::Utf8, false),
        Field::new("dfile", DataType::Utf8, false),
        Field::new("foff", DataType::Int64, false),
        Field::new("nbytes", DataType::Int64, false),
        Field::new("format", DataType::Utf8, false),
        Field::new("storage_mode", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("start_ns", DataType::Int64, false),
        Field::new("end_ns", DataType::Int64, false),
        Field::new("file_size", DataType::Int64, false),
        Field::new("file_mtime_ns", DataType::Int64, false),
        Field::new("records", DataType::Int32, false),
        Field::new("encoding", DataType::Int32, false),
        Field::new("mark_start_ns", list(), false),
        Field::new("mark_offset", list(), false),
        Field::new("gap_before_s", DataType::Float64, true),
        // An object's ETag (null for a file): catalogs before issue #28 have no such column.
        Field::new("file_etag", DataType::Utf8, true),
    ]))
}

/// Writes `index` to `path` (through a temporary file renamed into place: a reader never
/// sees half a catalog). `formats` names what each file is ("mseed", or "sac" for rows of a
/// run's SAC outputs).
pub fn write(
    index: &Index,
    path: &Path,
    formats: &dyn Fn(usize) -> &'static str,
) -> Result<(), String> {
    let bytes = to_bytes(index, formats)?;
    let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    if let Some(u) = crate::store::url_of(path) {
        // One PUT: the object appears whole or not at all.
        let u = u.map_err(|e| fail(&e))?;
        return crate::store::put(&u, bytes, crate::store::Put::Overwrite)
            .map(|_| ())
            .map_err(|e| fail(&e));
    }
    let tmp = path.with_file_name(format!(
        ".{}.partial",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let done = (|| -> std::io::Result<()> {
        use std::io::Write;
        // A leftover of a stopped run (or anything else of that name: a link is removed, not
        // followed) goes first; the temporary file is then created anew, never opened through
        // whatever was there.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    done.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(&e)
    })
}

/// The catalog's bytes.
pub fn to_bytes(index: &Index, formats: &dyn Fn(usize) -> &'static str) -> Result<Vec<u8>, String> {
    // An object store's root (s3://...) is kept as written.
    let root = std::fs::canonicalize(&index.root).unwrap_or_else(|_| index.root.clone());
    let batch = batch(index, &root, formats).map_err(|e| format!("catalog: {e}"))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![
            KeyValue::new(ROOT_KEY.to_string(), root.to_string_lossy().into_owned()),
            KeyValue::new(PROBLEMS_KEY.to_string(), problems_json(index)),
        ]))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema(), Some(props))
        .map_err(|e| format!("catalog: {e}"))?;
    w.write(&batch).map_err(|e| format!("catalog: {e}"))?;
    w.close().map_err(|e| format!("catalog: {e}"))?;
    Ok(out)
}

fn batch(
    index: &Index,
    root: &Path,
    formats: &dyn Fn(usize) -> &'static str,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let runs = &index.runs;
    let codes = |f: fn(&(String, String, String, String)) -> &String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            runs.iter().map(|r| f(&index.channels[r.channel]).as_str()),
        ))
    };
    let f64s = |f: &dyn Fn(&Run) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(runs.iter().map(f)))
    };
    let i64s = |f: &dyn Fn(&Run) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(runs.iter().map(f)))
    };
    let strs = |f: &dyn Fn(&Run) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(runs.iter().map(f)))
    };
    let marks = |f: fn(&(i64, u64)) -> i64| -> ArrayRef {
        let mut b = ListBuilder::new(Int64Builder::new());
        for r in runs {
            for m in &r.marks {
                b.values().append_value(f(m));
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let file = |r: &Run| &index.files[r.file];
    let full = |r: &Run| root.join(&file(r).rel);
    let mut gap: Vec<Option<f64>> = vec![None; runs.len()];
    for (i, w) in runs.windows(2).enumerate() {
        if w[0].channel == w[1].channel {
            gap[i + 1] = Some((w[1].start_ns - w[0].end_ns()) as f64 * 1e-9 - 1.0 / w[0].rate);
        }
    }
    RecordBatch::try_new(
        schema(),
        vec![
            codes(|c| &c.0),
            codes(|c| &c.1),
            codes(|c| &c.2),
            codes(|c| &c.3),
            f64s(&|r| crate::time::timestamp(r.start_ns)),
            f64s(&|r| crate::time::timestamp(r.end_ns())),
            i64s(&|r| r.npts as i64),
            f64s(&|r| r.rate),
            f64s(&|r| 1.0 / r.rate),
            strs(&|r| {
                full(r)
                    .parent()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
            strs(&|r| {
                full(r)
                    .file_name()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
            i64s(&|r| r.foff as i64),
            i64s(&|r| r.nbytes as i64),
            strs(&|r| formats(r.file).to_string()),
            strs(&|_| "file".to_string()),
            strs(&|r| file(r).rel.to_string_lossy().into_owned()),
            i64s(&|r| r.start_ns),
            i64s(&|r| r.end_ns()),
            i64s(&|r| file(r).size as i64),
            i64s(&|r| file(r).mtime_ns),
            Arc::new(Int32Array::from_iter_values(
                runs.iter().map(|r| r.records as i32),
            )),
            Arc::new(Int32Array::from_iter_values(
                runs.iter().map(|r| i32::from(r.encoding)),
            )),
            marks(|m| m.0),
            marks(|m| m.1 as i64),
            Arc::new(Float64Array::from(gap)),
            Arc::new(StringArray::from_iter(
                runs.iter().map(|r| file(r).etag.as_deref()),
            )),
        ],
    )
}

/// Largest catalog read (a decade of 100 stations' day files is ~100 MB).
pub const MAX_CATALOG_BYTES: u64 = 8 << 30;

/// A catalog file opened as state is: never blocking (a FIFO), a regular file, within
/// [`MAX_CATALOG_BYTES`].
fn open(path: &Path) -> Result<std::fs::File, String> {
    let at = |e: &dyn std::fmt::Display| format!("--catalog {}: {e}", path.display());
    let f = crate::read::sniff::open(path, false).map_err(|e| at(&e))?;
    let meta = f.metadata().map_err(|e| at(&e))?;
    if !meta.is_file() {
        return Err(at(&format!(
            "is {}, not a regular file",
            crate::read::walk::kind_of(&meta)
        )));
    }
    if meta.len() > MAX_CATALOG_BYTES {
        return Err(at(&format!(
            "{} bytes, more than the {MAX_CATALOG_BYTES} a catalog may have",
            meta.len()
        )));
    }
    Ok(f)
}

/// The archive root a catalog names (its file's metadata only).
pub fn root_of(path: &Path) -> Result<PathBuf, String> {
    match fetch_remote(path)? {
        Some(b) => root_from(b, path),
        None => root_from(open(path)?, path),
    }
}

fn root_from<T: ChunkReader + 'static>(src: T, path: &Path) -> Result<PathBuf, String> {
    let at = |e: &dyn std::fmt::Display| format!("--catalog {}: {e}", path.display());
    let builder = ParquetRecordBatchReaderBuilder::try_new(src).map_err(|e| at(&e))?;
    root_in(builder.metadata().file_metadata()).ok_or_else(|| at(&NOT_OURS))
}

/// A catalog in object storage (`s3://...`): its bytes (within [`MAX_CATALOG_BYTES`]).
/// The last one fetched is kept: a run reads its catalog's root, then its rows, with one GET.
fn fetch_remote(path: &Path) -> Result<Option<bytes::Bytes>, String> {
    static LAST: std::sync::Mutex<Option<(PathBuf, bytes::Bytes)>> = std::sync::Mutex::new(None);
    let at = |e: &dyn std::fmt::Display| format!("--catalog {}: {e}", path.display());
    let Some(u) = crate::store::url_of(path) else {
        return Ok(None);
    };
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((p, b)) = last.as_ref() {
        if p == path {
            return Ok(Some(b.clone()));
        }
    }
    let u = u.map_err(|e| at(&e))?;
    let b = crate::store::read_all(&u, MAX_CATALOG_BYTES).map_err(|e| at(&e))?;
    *last = Some((path.to_path_buf(), b.clone()));
    Ok(Some(b))
}

const NOT_OURS: &str = "not a seisbatch catalog (no archive root in its metadata)";

fn root_in(m: &parquet::file::metadata::FileMetaData) -> Option<PathBuf> {
    m.key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == ROOT_KEY))
        .and_then(|k| k.value.clone())
        .map(PathBuf::from)
}

fn problems_json(index: &Index) -> String {
    let list: Vec<serde_json::Value> = index
        .problems
        .iter()
        .take(PROBLEMS_KEPT)
        .map(|(f, p)| {
            let (a, b) = p.bytes.unwrap_or((0, 0));
            serde_json::json!([index.files[*f].rel.to_string_lossy(), a, b, p.reason])
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// The damaged parts a catalog records, checked as its rows are (paths inside the root, at
/// most [`PROBLEMS_KEPT`]); files it does not list are left out.
fn problems_in(
    m: &parquet::file::metadata::FileMetaData,
    index: &Index,
) -> Result<Vec<(usize, Problem)>, String> {
    let Some(text) = m
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == PROBLEMS_KEY))
        .and_then(|k| k.value.as_deref())
    else {
        return Ok(Vec::new());
    };
    if text.len() > 64 << 20 {
        return Err("its list of damaged parts is more than 64 MiB".into());
    }
    let list: Vec<(String, u64, u64, String)> =
        serde_json::from_str(text).map_err(|e| format!("its list of damaged parts: {e}"))?;
    if list.len() > PROBLEMS_KEPT {
        return Err(format!("more than {PROBLEMS_KEPT} damaged parts listed"));
    }
    let by_rel: std::collections::HashMap<&Path, usize> = index
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.rel.as_path(), i))
        .collect();
    let mut out = Vec::new();
    for (rel, a, b, reason) in list {
        let rel = safe_rel(&rel)?;
        if let Some(&f) = by_rel.get(rel.as_path()) {
            let bytes = (a < b && b <= index.files[f].size).then_some((a, b));
            out.push((
                f,
                Problem {
                    bytes,
                    reason: reason.chars().take(1000).collect(),
                },
            ));
        }
    }
    Ok(out)
}

/// Reads a catalog (a file, or an object at `s3://...`): the index it holds, checked row by
/// row.
pub fn read(path: &Path) -> Result<Index, String> {
    match fetch_remote(path)? {
        Some(b) => read_from(b, path),
        None => read_from(open(path)?, path),
    }
}

fn read_from<T: ChunkReader + 'static>(src: T, path: &Path) -> Result<Index, String> {
    let at = |e: &dyn std::fmt::Display| format!("--catalog {}: {e}", path.display());
    let builder = ParquetRecordBatchReaderBuilder::try_new(src).map_err(|e| at(&e))?;
    let rows = builder.metadata().file_metadata().num_rows();
    if rows < 0 || rows as u64 > MAX_ROWS as u64 {
        return Err(at(&format!(
            "{rows} rows, more than the {MAX_ROWS} a catalog may hold"
        )));
    }
    let root = root_in(builder.metadata().file_metadata()).ok_or_else(|| at(&NOT_OURS))?;
    // A catalog's own numbers bound what reading it takes: values per column (the marks'
    // lists included), and rows per batch.
    for rg in builder.metadata().row_groups() {
        if let Some(c) = rg
            .columns()
            .iter()
            .find(|c| c.num_values() < 0 || c.num_values() as u64 > MAX_VALUES)
        {
            return Err(at(&format!(
                "column `{}` holds {} values in one row group, more than {MAX_VALUES}",
                c.column_path(),
                c.num_values()
            )));
        }
    }
    let meta = builder.metadata().clone();
    let reader = builder.with_batch_size(256).build().map_err(|e| at(&e))?;
    let mut parts: std::collections::BTreeMap<PathBuf, super::index::FileRuns> = Default::default();
    let mut row = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| at(&e))?;
        let rows = Rows::of(&batch).map_err(|e| at(&e))?;
        for i in 0..batch.num_rows() {
            let (rel, entry, codes, run) =
                rows.row(i).map_err(|e| at(&format!("row {row}: {e}")))?;
            row += 1;
            let part = parts
                .entry(rel.clone())
                .or_insert_with(|| super::index::FileRuns {
                    entry: entry.clone(),
                    runs: Vec::new(),
                    problems: Vec::new(),
                });
            if part.entry != entry {
                return Err(at(&format!(
                    "row {}: file {} has two sizes or modification times",
                    row - 1,
                    rel.display()
                )));
            }
            part.runs.push((codes, run));
        }
    }
    let mut index = Index::from_parts(&root, parts.into_values().collect());
    index.problems = problems_in(meta.file_metadata(), &index).map_err(|e| at(&e))?;
    Ok(index)
}

/// A batch's columns, typed.
struct Rows<'a> {
    s: [&'a StringArray; 5],
    i: [&'a Int64Array; 6],
    rate: &'a Float64Array,
    records: &'a Int32Array,
    encoding: &'a Int32Array,
    marks: [&'a ListArray; 2],
    etag: Option<&'a StringArray>,
}

impl<'a> Rows<'a> {
    fn of(b: &'a RecordBatch) -> Result<Rows<'a>, String> {
        fn col<'b, T: 'static>(b: &'b RecordBatch, name: &str) -> Result<&'b T, String> {
            let c = b
                .column_by_name(name)
                .ok_or_else(|| format!("column `{name}` missing"))?;
            // No nulls where the index always writes a value.
            if c.null_count() > 0 {
                return Err(format!("column `{name}` has nulls"));
            }
            c.as_any()
                .downcast_ref::<T>()
                .ok_or_else(|| format!("column `{name}` of another type"))
        }
        Ok(Rows {
            s: [
                col(b, "net")?,
                col(b, "sta")?,
                col(b, "loc")?,
                col(b, "chan")?,
                col(b, "path")?,
            ],
            i: [
                col(b, "start_ns")?,
                col(b, "npts")?,
                col(b, "foff")?,
                col(b, "nbytes")?,
                col(b, "file_size")?,
                col(b, "file_mtime_ns")?,
            ],
            rate: col(b, "sampling_rate")?,
            records: col(b, "records")?,
            encoding: col(b, "encoding")?,
            marks: [col(b, "mark_start_ns")?, col(b, "mark_offset")?],
            etag: b
                .column_by_name("file_etag")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>()),
        })
    }

    #[allow(clippy::type_complexity, reason = "one row's four parts, used once")]
    fn row(
        &self,
        i: usize,
    ) -> Result<(PathBuf, FileEntry, super::index::ChannelCodes, Run), String> {
        let s = |k: usize| self.s[k].value(i).to_string();
        let n = |k: usize| self.i[k].value(i);
        let rel = safe_rel(&s(4))?;
        let (start_ns, npts, foff, nbytes, size, mtime) = (n(0), n(1), n(2), n(3), n(4), n(5));
        let rate = self.rate.value(i);
        if let Some(p) = limits::rate_problem(rate) {
            return Err(p);
        }
        if npts <= 0 || npts as u64 > limits::MAX_MAX_SAMPLES as u64 * 64 {
            return Err(format!("npts {npts} out of range"));
        }
        if let Some(p) = limits::span_problem(start_ns, npts as usize, rate) {
            return Err(p);
        }
        if size < 0 || foff < 0 || nbytes <= 0 || foff.checked_add(nbytes).is_none_or(|e| e > size)
        {
            return Err(format!(
                "bytes {foff}+{nbytes} do not lie inside the file's {size} bytes"
            ));
        }
        let records = self.records.value(i);
        if records <= 0 {
            return Err(format!("{records} records"));
        }
        let encoding = i16::try_from(self.encoding.value(i))
            .map_err(|_| "encoding out of range".to_string())?;
        let list = |k: usize| -> Result<Vec<i64>, String> {
            let a = self.marks[k].value(i);
            let a = a
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or("marks of another type")?;
            if a.null_count() > 0 {
                return Err("marks with nulls".into());
            }
            Ok(a.values().to_vec())
        };
        let (ts, offs) = (list(0)?, list(1)?);
        let most = (records as usize).div_ceil(MARK_EVERY as usize);
        if ts.len() != offs.len() || ts.is_empty() || ts.len() > most {
            return Err(format!(
                "{} mark times and {} offsets for {records} records",
                ts.len(),
                offs.len()
            ));
        }
        if ts[0] != start_ns || offs[0] != foff {
            return Err("the first mark is not the run's start".into());
        }
        let end = foff + nbytes;
        for w in 0..ts.len() {
            if offs[w] < foff
                || offs[w] >= end
                || (w > 0 && (offs[w] <= offs[w - 1] || ts[w] <= ts[w - 1]))
            {
                return Err("marks out of order or outside the run".into());
            }
        }
        let etag = match self.etag.filter(|e| e.is_valid(i)).map(|e| e.value(i)) {
            Some(e) if e.len() > 200 || !e.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
                return Err("file_etag is not an ETag (at most 200 printable ASCII)".into())
            }
            e => e.map(str::to_string),
        };
        let entry = FileEntry {
            rel: rel.clone(),
            size: size as u64,
            mtime_ns: mtime,
            etag,
        };
        let run = Run {
            file: 0,
            channel: 0,
            rate,
            start_ns,
            npts: npts as u64,
            foff: foff as u64,
            nbytes: nbytes as u64,
            records: records as u32,
            encoding,
            marks: ts
                .into_iter()
                .zip(offs.into_iter().map(|o| o as u64))
                .collect(),
        };
        Ok((rel, entry, (s(0), s(1), s(2), s(3)), run))
    }
}

/// A catalog's path: relative, no `..`, no root or prefix (it never names a file outside the
/// archive's root).
fn safe_rel(p: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(p);
    if p.is_empty()
        || p.len() > 4096
        || !path.components().all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(format!("path `{p}` is not a plain path inside the archive"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests;
