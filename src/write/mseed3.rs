//! miniSEED 3 writer (FDSN miniSEED 3.0) for processed traces whose codes do not fit
//! miniSEED 2's fixed fields (network 2, station 5, location 2, channel 3 characters): the
//! miniSEED 2 writer would have cut `LONGSTA1` and `LONGSTA2` both to `LONGS`, merging two
//! stations into one id. FLOAT32 samples (encoding 4, little-endian as miniSEED 3 has all
//! fixed-size types), records of at most 4096 bytes, the FDSN source identifier
//! `FDSN:NET_STA_LOC_B_S_SS`, and the CRC-32C libmseed checks on reading.

use crate::time;
use crate::trace::Trace;

const MAX_RECORD: usize = 4096;
/// libmseed's LM_SIDLEN (64) less the terminating NUL.
const MAX_SID: usize = 63;
const HEADER: usize = 40;

/// The FDSN source identifier for a trace's codes, or why they cannot make one: the
/// identifier is split on `_`, so network, station and location must not hold one.
pub fn source_id(tr: &Trace) -> Result<String, String> {
    for (what, code) in [
        ("network", &tr.network),
        ("station", &tr.station),
        ("location", &tr.location),
    ] {
        if code.contains('_') {
            return Err(format!(
                "the {what} code {code:?} holds '_', which an FDSN source identifier cannot carry; not written as miniSEED"
            ));
        }
    }
    let c: Vec<char> = tr.channel.chars().collect();
    // Band, source and subsource of one character each, as libmseed's ms_nslc2sid.
    let channel = if c.len() == 3 && !tr.channel.contains('_') {
        format!("{}_{}_{}", c[0], c[1], c[2])
    } else {
        tr.channel.clone()
    };
    let sid = format!(
        "FDSN:{}_{}_{}_{channel}",
        tr.network, tr.station, tr.location
    );
    // Reading must give back the same codes, or two ids could become one.
    let back = crate::read::record::nslc(&sid);
    if back
        != (
            tr.network.clone(),
            tr.station.clone(),
            tr.location.clone(),
            tr.channel.clone(),
        )
    {
        return Err(format!(
            "the channel code {:?} does not survive an FDSN source identifier (it reads back as {:?}); not written as miniSEED",
            tr.channel, back.3
        ));
    }
    // libmseed (ours, ObsPy's, and most readers') keeps a source identifier in 64 bytes with
    // its terminator, and refuses a record with a longer one.
    if sid.len() > MAX_SID {
        return Err(format!(
            "the source identifier {sid:?} is longer than the {MAX_SID} bytes miniSEED readers take; not written as miniSEED"
        ));
    }
    Ok(sid)
}

pub fn encode(tr: &Trace) -> Result<Vec<u8>, String> {
    let sid = source_id(tr)?;
    let per_record = (MAX_RECORD - HEADER - sid.len()) / 4;
    let mut out = Vec::new();
    let chunks: Vec<&[f64]> = if tr.data.is_empty() {
        vec![&[]]
    } else {
        tr.data.chunks(per_record).collect()
    };
    for (rec_no, chunk) in chunks.into_iter().enumerate() {
        let offset_s = (rec_no * per_record) as f64 / tr.sampling_rate;
        let c = time::to_civil(time::add_seconds(tr.start_ns, offset_s));
        let mut r = Vec::with_capacity(HEADER + sid.len() + 4 * chunk.len());
        r.extend_from_slice(b"MS");
        r.push(3); // format version
        r.push(0); // flags
        r.extend_from_slice(&c.nanosecond.to_le_bytes());
        r.extend_from_slice(&(c.year as u16).to_le_bytes());
        r.extend_from_slice(&(c.yday as u16).to_le_bytes());
        r.push(c.hour as u8);
        r.push(c.minute as u8);
        r.push(c.second as u8);
        r.push(4); // FLOAT32
        r.extend_from_slice(&tr.sampling_rate.to_le_bytes());
        r.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes()); // CRC, filled below
        r.push(1); // data publication version
        r.push(sid.len() as u8);
        r.extend_from_slice(&0u16.to_le_bytes()); // no extra headers
        r.extend_from_slice(&((4 * chunk.len()) as u32).to_le_bytes());
        r.extend_from_slice(sid.as_bytes());
        for v in chunk {
            r.extend_from_slice(&(*v as f32).to_le_bytes());
        }
        let crc = super::crc32c::crc32c(&r);
        r[28..32].copy_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::mseed::read_bytes;

    #[test]
    fn long_codes_round_trip_through_libmseed() {
        for (net, sta, loc, cha) in [
            ("XX", "LONGSTA1", "00", "BHZ"),
            ("XXXXXX", "S", "", "HHZ"),
            ("XX", "S", "LOC3", "BB_H_Z"),
            ("XX", "A.B", "", "HHZ"),
        ] {
            let tr = Trace {
                network: net.into(),
                station: sta.into(),
                location: loc.into(),
                channel: cha.into(),
                start_ns: 1_600_000_000_123_456_789,
                sampling_rate: 33.3,
                data: (0..2500).map(|i| (i as f64 * 0.01).sin()).collect(),
            };
            let d = read_bytes(&encode(&tr).unwrap());
            assert!(d.problems.is_empty(), "{:?}", d.problems);
            assert_eq!(d.traces.len(), 1, "{sta}");
            let t = &d.traces[0];
            assert_eq!(t.id(), tr.id());
            assert_eq!(t.start_ns, tr.start_ns, "nanoseconds survive");
            assert_eq!(t.sampling_rate, 33.3);
            for (a, b) in t.data.iter().zip(&tr.data) {
                assert_eq!(*a, *b as f32 as f64);
            }
        }
        let mut bad = Trace {
            network: "X_X".into(),
            station: "S".into(),
            location: String::new(),
            channel: "HHZ".into(),
            start_ns: 0,
            sampling_rate: 1.0,
            data: vec![0.0],
        };
        assert!(encode(&bad).unwrap_err().contains("'_'"));
        bad.network = "XX".into();
        bad.channel = "A_B_C".into(); // would read back as ABC
        assert!(encode(&bad).unwrap_err().contains("reads back as"));
        bad.channel = "B_Z".into(); // reads back as itself
        assert!(encode(&bad).is_ok());
        bad.network = "XX".into();
        bad.station = "S".repeat(60);
        assert!(encode(&bad).unwrap_err().contains("63 bytes"));
    }
}
