//! SAC output byte-identical to what ObsPy 1.5.1 writes for the same trace (header fields,
//! nulls, string padding, sub-millisecond `b`), from tests/fixtures/sac (make_fixtures.py).

mod common;

use seisbatch::time::parse_iso;
use seisbatch::trace::Trace;
use seisbatch::write::sac::encode;

#[test]
fn sac_bytes_equal_obspy() {
    let tr = Trace {
        network: "XX".into(),
        station: "STA01".into(),
        location: String::new(),
        channel: "BHZ".into(),
        start_ns: parse_iso("2020-02-29T23:59:58.123456Z").unwrap(),
        sampling_rate: 40.0,
        data: vec![1.5, -2.25, 3.0, 0.125],
    };
    let want = std::fs::read(common::fixture("sac/XX.STA01..BHZ.sac")).unwrap();
    let got = encode(&tr);
    assert_eq!(got.len(), want.len());
    let diff: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
    assert!(
        diff.is_empty(),
        "bytes differ at {:?} (word {:?})",
        &diff[..diff.len().min(10)],
        diff.first().map(|i| i / 4)
    );
}
