//! Reading one unit (a channel in a window): its byte ranges from every file that holds them,
//! decoded together and joined as an archive's records join (`read::join::join_with`: rates
//! within libmseed's tolerance are one rate, overlaps of identical data merged; gaps as
//! `--gaps` says), then each piece cut to the window as ObsPy's `trim(starttime, endtime)`
//! (nearest sample, no padding) cuts it. Other channels' records in a multiplexed file are
//! left out.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use super::units::Unit;
use crate::ops::trim::{self, Bound, TrimArgs};
use crate::read::mseed::{self, Gaps, Problem};
use crate::trace::Trace;

/// What a unit's read gave.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The channel's pieces in the window (one when the window has no gap, or a gap policy
    /// filled it).
    pub traces: Vec<Trace>,
    /// Segments refused (gap policy, length): id, start ns, reason.
    pub rejected: Vec<(String, i64, String)>,
    pub warnings: Vec<String>,
    /// Damaged parts of the files read: file, problem (its bytes in that file).
    pub problems: Vec<(PathBuf, Problem)>,
    /// Share of the window the pieces cover (0 to 1).
    pub coverage: f64,
}

/// Why a unit could not be read: retried by `--resume`.
#[derive(Debug)]
pub struct Unread {
    pub path: PathBuf,
    pub reason: String,
}

/// Reads `unit` into `buf` (reused between units) and cuts it to its window.
pub fn fetch(unit: &Unit, gaps: Gaps, buf: &mut Vec<u8>) -> Result<Fetched, Unread> {
    buf.clear();
    // Where each piece starts in `buf`, to name a problem's bytes in its own file.
    let mut starts: Vec<(u64, usize)> = Vec::with_capacity(unit.pieces.len());
    let max = crate::limits::max_file_bytes();
    for (i, p) in unit.pieces.iter().enumerate() {
        let unread = |reason: String| Unread {
            path: p.path.clone(),
            reason,
        };
        if (buf.len() as u64).saturating_add(p.len) > max {
            return Err(unread(format!(
                "the window's records are more than {max} bytes (the most one input may have); use shorter windows"
            )));
        }
        if let Some(u) = crate::store::url_of(&p.path) {
            // An object: exactly these bytes, of the version indexed.
            let u = u.map_err(unread)?;
            let expect = crate::store::Expect {
                size: Some(p.size),
                etag: p.etag.clone(),
            };
            let b =
                crate::store::read_range(&u, p.offset..p.offset + p.len, &expect).map_err(|e| {
                    unread(format!(
                        "cannot read bytes {}..{}: {e}",
                        p.offset,
                        p.offset + p.len
                    ))
                })?;
            starts.push((buf.len() as u64, i));
            buf.extend_from_slice(&b);
            continue;
        }
        let f = crate::read::sniff::open(&p.path, false)
            .map_err(|e| unread(format!("cannot read file: {e}")))?;
        let meta = f
            .metadata()
            .map_err(|e| unread(format!("cannot read file: {e}")))?;
        if !meta.is_file() || meta.len() != p.size || super::index::mtime_ns(&meta) != p.mtime_ns {
            return Err(unread(format!(
                "the file changed since it was indexed ({} bytes then, {} now); index the archive again",
                p.size,
                meta.len()
            )));
        }
        starts.push((buf.len() as u64, i));
        let at = buf.len();
        buf.resize(at + p.len as usize, 0);
        f.read_exact_at(&mut buf[at..], p.offset).map_err(|e| {
            unread(format!(
                "cannot read bytes {}..{}: {e}",
                p.offset,
                p.offset + p.len
            ))
        })?;
    }
    let d = mseed::read_in_with(buf, gaps, true);
    let (n, s, l, c) = &*unit.codes;
    let id = format!("{n}.{s}.{l}.{c}");
    let mut out = Fetched {
        warnings: d.warnings,
        ..Fetched::default()
    };
    for p in d.problems {
        let (file, bytes) = match p.bytes {
            Some((a, b)) => {
                // The piece holding byte `a` of the buffer, and the bytes in its own file.
                let k = starts.partition_point(|s| s.0 <= a).saturating_sub(1);
                let (base, i) = starts[k];
                let piece = &unit.pieces[i];
                let at = |x: u64| x.saturating_sub(base).saturating_add(piece.offset);
                (
                    piece.path.clone(),
                    Some((at(a), at(b.min(base + piece.len)))),
                )
            }
            None => (unit.pieces[0].path.clone(), None),
        };
        out.problems.push((
            file,
            Problem {
                bytes,
                reason: p.reason,
            },
        ));
    }
    out.rejected = d.rejected.into_iter().filter(|r| r.0 == id).collect();
    let w = &unit.window;
    let args = TrimArgs {
        starttime: Some(Bound::At(w.start_ns)),
        endtime: Some(Bound::At(w.end_ns)),
        pad: false,
        nearest_sample: true,
        fill_value: None,
    };
    let mut covered = 0.0;
    for tr in d.traces {
        if (&tr.network, &tr.station, &tr.location, &tr.channel) != (n, s, l, c) {
            continue;
        }
        let cut = match trim::cut(tr.data.len(), tr.start_ns, tr.sampling_rate, &args, Err("")) {
            Ok(c) => c,
            Err(e) => {
                out.rejected.push((
                    id.clone(),
                    tr.start_ns,
                    format!("cutting to the window: {e}"),
                ));
                continue;
            }
        };
        if cut.keep == 0 {
            continue;
        }
        covered += cut.keep as f64 / tr.sampling_rate;
        let data = if cut.skip == 0 && cut.keep == tr.data.len() {
            tr.data
        } else {
            tr.data[cut.skip..cut.skip + cut.keep].to_vec()
        };
        out.traces.push(Trace {
            start_ns: cut.start_ns,
            data,
            ..tr
        });
    }
    let span = (w.end_ns - w.start_ns) as f64 * 1e-9;
    out.coverage = if span > 0.0 {
        (covered / span).min(1.0)
    } else {
        1.0
    };
    Ok(out)
}
