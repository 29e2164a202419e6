//! A decoded record's samples into the file's sample pool: Steim frames through
//! `read::steim` straight into it, other encodings through libmseed and copied; then the
//! record's start and rate checked and its segment added (`read::join` joins them).

use mseed::{MSRecord, MSSampleType};

use super::join::Segment;
use super::libmseed;
use super::record::{record_start, Channels};
use super::steim;
use crate::limits;

/// Where a decoded record's samples are.
pub(super) enum Samples {
    /// In the pool already (the Steim decoder put them there).
    Pooled(std::ops::Range<usize>),
    /// In the record (libmseed unpacked them).
    InRecord,
}

/// A parsed record's samples: Steim frames through `read::steim`, straight into the pool,
/// anything else through libmseed. Also what the Steim decoder says about a record it keeps.
pub(super) fn unpack(
    h: MSRecord,
    file_len: usize,
    pool: &mut Vec<f64>,
) -> Result<(MSRecord, Samples, Option<String>), String> {
    let (h, frames) = libmseed::steim_frames(h);
    let Some(f) = frames? else {
        return libmseed::unpack(h).map(|h| (h, Samples::InRecord, None));
    };
    let base = pool.len();
    let record = h.raw().unwrap_or(&[]);
    if pool.capacity() == 0 {
        // Room for the file's samples if every record holds as many as the first: one
        // allocation where doubling would copy the samples twice over (bounded by the
        // samples a file may decode to).
        let records = file_len / record.len().max(1) + 1;
        pool.reserve(
            records
                .saturating_mul(f.claimed)
                .min(limits::max_file_samples()),
        );
    }
    let payload = record.get(f.at.clone()).unwrap_or(&[]);
    match steim::decode(f.steim, payload, f.claimed, f.big_endian, pool) {
        Ok(d) => {
            let warning = d.integrity_warning(f.steim);
            Ok((h, Samples::Pooled(base..pool.len()), warning))
        }
        Err(r) => Err(format!("Steim{}: {r}", f.steim.number())),
    }
}

/// One decoded record into the segments; `shift_ns` is added to its start (a BTime fraction
/// carried by [`carry_fraction`]). Returns the samples it added; a record refused here leaves
/// the pool as it was.
pub(super) fn add_record(
    rec: &MSRecord,
    samples: Samples,
    shift_ns: i64,
    channels: &mut Channels,
    segs: &mut Vec<Segment>,
    pool: &mut Vec<f64>,
) -> Result<usize, String> {
    let base = match &samples {
        Samples::Pooled(r) => r.start,
        Samples::InRecord => pool.len(),
    };
    let r = add_samples(rec, samples, shift_ns, pool).map(|kept| {
        if let Some((start_ns, rate)) = kept {
            segs.push(Segment {
                key: channels.key(rec),
                start_ns,
                rate,
                samples: base..pool.len(),
            });
        }
        pool.len() - base
    });
    if r.is_err() {
        pool.truncate(base);
    }
    r
}

/// The record's samples into the pool (if libmseed holds them) and its checked start and rate;
/// `None` for a record without samples.
fn add_samples(
    rec: &MSRecord,
    samples: Samples,
    shift_ns: i64,
    pool: &mut Vec<f64>,
) -> Result<Option<(i64, f64)>, String> {
    let n = match &samples {
        Samples::Pooled(r) => r.len() as i64,
        Samples::InRecord => rec.num_samples(),
    };
    if n <= 0 {
        return Ok(None); // no waveform samples (e.g. a log or detection record)
    }
    let rate = rec.sample_rate_hz();
    if let Some(p) = limits::rate_problem(rate) {
        return Err(format!("{p}; {n} samples skipped"));
    }
    let start_ns = record_start(rec)? + shift_ns;
    if let Some(p) = limits::span_problem(start_ns, n as usize, rate) {
        return Err(format!("{p}; {n} samples skipped"));
    }
    if let Samples::InRecord = samples {
        match rec.sample_type() {
            MSSampleType::Integer32 => {
                let v = rec.data_samples::<i32>().unwrap_or(&[]);
                pool.extend(v.iter().map(|&v| f64::from(v)));
            }
            MSSampleType::Float32 => {
                let v = rec.data_samples::<f32>().unwrap_or(&[]);
                pool.extend(v.iter().map(|&v| f64::from(v)));
            }
            MSSampleType::Float64 => {
                pool.extend_from_slice(rec.data_samples::<f64>().unwrap_or(&[]));
            }
            t => return Err(format!("{t:?} samples are not waveform data; skipped")),
        }
    }
    Ok(Some((start_ns, rate)))
}
