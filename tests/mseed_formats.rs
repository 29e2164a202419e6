//! miniSEED 3 and several encodings/record lengths through the reader (libmseed packs the
//! records here, so the test needs no external files).

use mseed::{pack_raw, MSControlFlags, MSDataEncoding, PackInfo};
use seisbatch::read::mseed::read_bytes;

fn pack(version: u8, encoding: MSDataEncoding, rec_len: i32, data: &mut [i32]) -> Vec<u8> {
    let mut info = PackInfo::with_sample_rate("FDSN:XX_TEST_00_B_H_Z", 40.0).unwrap();
    info.format_version = version;
    info.encoding = encoding;
    info.rec_len = rec_len;
    let start = time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
    let mut out = Vec::new();
    let flags = if version == 2 {
        MSControlFlags::MSF_FLUSHDATA | MSControlFlags::MSF_PACKVER2
    } else {
        MSControlFlags::MSF_FLUSHDATA
    };
    pack_raw(data, &start, |r| out.extend_from_slice(r), &info, flags).unwrap();
    out
}

#[test]
fn v2_and_v3_records_of_any_length_decode_exactly() {
    let data: Vec<i32> = (0..5000).map(|i| ((i * 37) % 2001) - 1000).collect();
    for version in [2u8, 3] {
        for (enc, rec_len) in [
            (MSDataEncoding::Steim2, 512),
            (MSDataEncoding::Steim1, 4096),
            (MSDataEncoding::Integer32, 256),
        ] {
            let mut d = data.clone();
            let bytes = pack(version, enc, rec_len, &mut d);
            let got = read_bytes(&bytes);
            assert!(
                got.problems.is_empty(),
                "v{version} {enc:?}: {:?}",
                got.problems
            );
            assert_eq!(got.traces.len(), 1, "v{version} {enc:?} {rec_len}");
            let t = &got.traces[0];
            assert_eq!(t.id(), "XX.TEST.00.BHZ");
            assert_eq!(t.sampling_rate, 40.0);
            // v3 keeps nanoseconds; v2 keeps microseconds.
            let want_start = if version == 3 {
                1_700_000_000_123_456_789
            } else {
                1_700_000_000_123_456_000
            };
            assert_eq!(t.start_ns, want_start, "v{version}");
            assert_eq!(t.data, data.iter().map(|&v| v as f64).collect::<Vec<_>>());
        }
    }
}
