//! The Steim decoder against libmseed's, as the differential tests and the
//! `steim_vs_libmseed` fuzz target run it: on a bare payload (`ms_decode_data`), and record
//! by record over a whole file (libmseed's `msr3_unpack_data`, payload bounds included).

use std::ffi::c_char;

use libmseed_sys as raw;

use super::{decode, Steim};
use crate::read::libmseed;
use crate::read::record::{may_start_record, overruns};

/// libmseed's own Steim decoder on a payload: the samples, or `None` where it refuses, and
/// whether it warned that the integrity check failed. `swap` is libmseed's payload swap flag
/// (set for a big-endian payload on this host).
pub fn libmseed_decode(
    steim: Steim,
    payload: &[u8],
    claimed: usize,
    swap: bool,
) -> (Option<Vec<i32>>, bool) {
    if claimed == 0 {
        // libmseed then reads the sample before its output buffer for its integrity check.
        return (Some(Vec::new()), false);
    }
    libmseed::capture_log();
    libmseed::said();
    let mut out = vec![0i32; claimed];
    let mut kind: c_char = 0;
    // SAFETY: `payload` is read for at most its length (whole 64-byte frames only); `out` has
    // room for `claimed` samples, which libmseed checks before writing.
    let n = unsafe {
        raw::ms_decode_data(
            payload.as_ptr().cast(),
            payload.len() as u64,
            if steim == Steim::Two { 11 } else { 10 },
            claimed as u64,
            out.as_mut_ptr().cast(),
            (out.len() * 4) as u64,
            &mut kind,
            i8::from(swap),
            c"steim".as_ptr(),
            0,
        )
    };
    let warned = libmseed::said()
        .iter()
        .any(|m| m.contains("Data integrity check"));
    let Ok(n) = usize::try_from(n) else {
        return (None, warned);
    };
    out.truncate(n);
    (Some(out), warned)
}

/// Ours and libmseed's on one payload: `Ok(true)` for the same samples and the same warning,
/// `Ok(false)` for the same refusal, `Err` saying how they differ.
pub fn same_on_payload(
    steim: Steim,
    payload: &[u8],
    claimed: usize,
    big_endian: bool,
) -> Result<bool, String> {
    let (theirs, warned) = libmseed_decode(steim, payload, claimed, big_endian);
    let mut ours: Vec<i32> = Vec::new();
    let r = decode(steim, payload, claimed, big_endian, &mut ours);
    let at = format!("{steim:?}, big-endian {big_endian}, {claimed} samples claimed");
    match (r, theirs) {
        (Ok(d), Some(t)) if ours == t && d.integrity_warning(steim).is_some() == warned => Ok(true),
        (Ok(d), Some(t)) => Err(format!(
            "{at}: samples equal {}, ours warn {}, libmseed warns {warned}",
            ours == t,
            d.integrity_warning(steim).is_some()
        )),
        (Err(_), None) if ours.is_empty() => Ok(false),
        (r, t) => Err(format!(
            "{at}: ours {r:?}, libmseed {:?}",
            t.map(|t| t.len())
        )),
    }
}

/// Every Steim record of a file (as the reader walks it: a record that libmseed parses and
/// that the reader would unpack), unpacked by libmseed and by ours: the number compared, or
/// how the first one differs.
pub fn same_on_file(bytes: &[u8]) -> Result<usize, String> {
    let n = bytes.len();
    let mut padded = bytes.to_vec();
    padded.resize(n + crate::read::mseed::PAD, 0);
    let (mut off, mut compared) = (0usize, 0usize);
    while off + 40 <= n {
        let rest = &padded[off..n];
        // The reader's cheap header test first (it resynchronises the same way), so that
        // garbage costs no libmseed parse per byte.
        let parse = || libmseed::parse_record(rest).ok().flatten();
        let Some(h) = may_start_record(rest).then(parse).flatten() else {
            off += 1;
            continue;
        };
        let len = h.raw().map_or(0, <[u8]>::len).max(1);
        let usable = (1..=1 << 20).contains(&h.sample_cnt())
            && h.raw().is_some_and(|r| r.len() <= rest.len())
            && overruns(&h).is_none();
        let (h, frames) = libmseed::steim_frames(h);
        drop(h);
        if !usable {
            off += 1;
            continue;
        }
        let ours = match frames {
            Ok(None) => {
                off += len;
                continue; // not Steim: libmseed's own
            }
            Ok(Some(f)) => {
                let mut v: Vec<i32> = Vec::new();
                let payload = rest[..len.min(rest.len())].get(f.at.clone()).unwrap_or(&[]);
                decode(f.steim, payload, f.claimed, f.big_endian, &mut v)
                    .ok()
                    .map(|_| v)
            }
            Err(_) => None,
        };
        let theirs = parse().and_then(|h| libmseed::unpack(h).ok()).map(|h| {
            let k = usize::try_from(h.num_samples()).unwrap_or(0);
            h.data_samples::<i32>().unwrap_or(&[])[..k].to_vec()
        });
        libmseed::said();
        if ours != theirs {
            return Err(format!(
                "record at byte {off}: ours {:?} samples, libmseed {:?}",
                ours.map(|v| v.len()),
                theirs.map(|v| v.len())
            ));
        }
        compared += 1;
        off += len;
    }
    Ok(compared)
}
