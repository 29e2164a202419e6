//! The decoder against libmseed's own (`libmseed::decode_steim`) on frames libmseed's encoder
//! wrote (every difference width), on the same frames read as little-endian, damaged, cut
//! short or claiming more samples than they hold, and on random bytes; plus frames built by
//! hand with known samples.

use super::oracle;
use super::*;

/// xorshift64*: deterministic bytes and sizes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Records (512 bytes, miniSEED 2) of `data` as libmseed's encoder writes them.
fn packed(data: &[i32], steim: Steim) -> Vec<u8> {
    use mseed::{pack_raw, MSControlFlags, MSDataEncoding, PackInfo};
    let mut info = PackInfo::with_sample_rate("FDSN:XX_TEST__B_H_Z", 100.0).expect("info");
    info.format_version = 2;
    info.encoding = match steim {
        Steim::One => MSDataEncoding::Steim1,
        Steim::Two => MSDataEncoding::Steim2,
    };
    info.rec_len = 512;
    let mut data = data.to_vec();
    let mut out = Vec::new();
    pack_raw(
        &mut data,
        &time::OffsetDateTime::UNIX_EPOCH,
        |r| out.extend_from_slice(r),
        &info,
        MSControlFlags::MSF_FLUSHDATA | MSControlFlags::MSF_PACKVER2,
    )
    .expect("packs");
    out
}

/// Each record's (payload, claimed samples).
fn payloads(records: &[u8]) -> Vec<(Vec<u8>, usize)> {
    records
        .chunks_exact(512)
        .map(|r| {
            let offset = usize::from(u16::from_be_bytes([r[44], r[45]]));
            let n = usize::from(u16::from_be_bytes([r[30], r[31]]));
            (r[offset..].to_vec(), n)
        })
        .collect()
}

/// Ours and libmseed's on one payload (the oracle), and a refusal appends nothing.
fn same_as_libmseed(steim: Steim, payload: &[u8], claimed: usize, big_endian: bool) -> bool {
    let mut ours: Vec<i32> = vec![7];
    let _ = decode(steim, payload, claimed, big_endian, &mut ours);
    assert!(ours[0] == 7 && (ours.len() == 1 || ours.len() == claimed + 1));
    oracle::same_on_payload(steim, payload, claimed, big_endian).unwrap()
}

/// Random walks whose steps need every difference width (4 to 32 bits).
fn signals(rng: &mut Rng, steim: Steim) -> Vec<Vec<i32>> {
    let max_bits = if steim == Steim::One { 31 } else { 29 };
    let mut out = Vec::new();
    for bits in [2u32, 3, 4, 5, 7, 9, 14, 20, max_bits] {
        let mut x = 0i32;
        let v: Vec<i32> = (0..3000)
            .map(|_| {
                let span = 1i64 << bits;
                let step = (rng.next() % span as u64) as i64 - span / 2;
                x = (i64::from(x) + step).clamp(-(1 << 29), 1 << 29) as i32;
                x
            })
            .collect();
        out.push(v);
    }
    // Mixed widths within frames: quiet with bursts.
    out.push(
        (0..5000)
            .map(|i| {
                if i % 97 < 3 {
                    (i * 7919 % 100_000) - 50_000
                } else {
                    i % 5
                }
            })
            .collect(),
    );
    out
}

#[test]
fn equals_libmseed_on_encoded_damaged_and_random_frames() {
    let mut rng = Rng(0x5EED_5EED_1234_5678);
    let mut decoded = 0;
    for steim in [Steim::One, Steim::Two] {
        for signal in signals(&mut rng, steim) {
            let recs = packed(&signal, steim);
            let mut all: Vec<f64> = Vec::new();
            for (payload, claimed) in payloads(&recs) {
                decoded += usize::from(same_as_libmseed(steim, &payload, claimed, true));
                decode(steim, &payload, claimed, true, &mut all).expect("clean frames decode");
                // The same bytes as a little-endian payload, and claiming other counts.
                same_as_libmseed(steim, &payload, claimed, false);
                same_as_libmseed(steim, &payload, claimed + 1 + rng.below(50), true);
                same_as_libmseed(steim, &payload, 1 + rng.below(claimed.max(1)), true);
                same_as_libmseed(steim, &payload[..payload.len() / 2], claimed, true);
                // Damaged: a few bytes changed anywhere (codes, constants, differences).
                let mut bad = payload.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bad.len());
                    bad[at] ^= 1 << rng.below(8);
                }
                same_as_libmseed(steim, &bad, claimed, true);
            }
            let want: Vec<f64> = signal.iter().map(|&v| f64::from(v)).collect();
            assert_eq!(all, want, "{steim:?}: the signal comes back");
        }
        for _ in 0..2000 {
            let len = 64 * rng.below(9) + rng.below(2) * rng.below(64);
            let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let claimed = 1 + rng.below(800);
            same_as_libmseed(steim, &payload, claimed, rng.below(2) == 0);
        }
    }
    assert!(decoded > 100, "clean records decoded: {decoded}");
}

/// A frame of big-endian words.
fn frame(words: [u32; 16]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

#[test]
fn hand_built_steim2_frame_gives_known_samples() {
    // Word 3: seven 4-bit differences (11, dnib 10) = 1, -1, 2, -2, 3, -3, 7; word 4: three
    // 10-bit (10, dnib 11) = 500, -500, 1; word 5: one 30-bit (10, dnib 01) = -(2^29);
    // word 6: four bytes (01) = 127, -128, 0, 1. X0 = 10; the first difference (1) is unused.
    let nib = |k: usize, v: u32| v << (30 - 2 * k);
    let w0 = nib(3, 0b11) | nib(4, 0b10) | nib(5, 0b10) | nib(6, 0b01);
    let four = |v: [i32; 7]| {
        v.iter().enumerate().fold(0b10 << 30, |w, (i, &d)| {
            w | (((d as u32) & 0xF) << (24 - 4 * i))
        })
    };
    let ten = |v: [i32; 3]| {
        v.iter().enumerate().fold(0b11 << 30, |w, (i, &d)| {
            w | (((d as u32) & 0x3FF) << (20 - 10 * i))
        })
    };
    let mut w = [0u32; 16];
    w[0] = w0;
    w[1] = 10;
    w[3] = four([1, -1, 2, -2, 3, -3, 7]);
    w[4] = ten([500, -500, 1]);
    w[5] = (0b01 << 30) | ((-(1i32 << 29)) as u32 & 0x3FFF_FFFF);
    w[6] = u32::from_be_bytes([127, 128, 0, 1]);
    let diffs = [
        -1,
        2,
        -2,
        3,
        -3,
        7,
        500,
        -500,
        1,
        -(1 << 29),
        127,
        -128,
        0,
        1,
    ];
    let mut want = vec![10i32];
    for d in diffs {
        want.push(want.last().unwrap() + d);
    }
    w[2] = *want.last().unwrap() as u32;
    let mut got: Vec<i32> = Vec::new();
    let d = decode(Steim::Two, &frame(w), want.len(), true, &mut got).unwrap();
    assert_eq!(got, want);
    assert_eq!(d.integrity_warning(Steim::Two), None);
    // A wrong Xn is a warning, the samples stay.
    w[2] ^= 1;
    let mut got: Vec<i32> = Vec::new();
    let d = decode(Steim::Two, &frame(w), want.len(), true, &mut got).unwrap();
    assert_eq!(got, want);
    assert!(d
        .integrity_warning(Steim::Two)
        .unwrap()
        .contains("Steim2 integrity check failed"));
    // Nibble 10 with dnib 00 refuses the record; past the claimed samples' frame it is unread.
    w[7] = 0;
    let mut w_bad = w;
    w_bad[0] |= nib(7, 0b10);
    let mut got: Vec<i32> = Vec::new();
    assert_eq!(
        decode(Steim::Two, &frame(w_bad), 3, true, &mut got),
        Err(Refusal::ImpossibleCode { nibble: 2, dnib: 0 })
    );
    assert!(got.is_empty());
    let mut two = frame(w);
    two.extend(frame(w_bad));
    assert!(decode(Steim::Two, &two, 3, true, &mut got).is_ok());
    assert_eq!(got, want[..3]);
    // More samples claimed than the frames hold.
    assert_eq!(
        decode(Steim::Two, &frame(w), 40, true, &mut Vec::<i32>::new()),
        Err(Refusal::Short {
            decoded: 15,
            claimed: 40
        })
    );
}

#[test]
fn equals_libmseed_on_every_steim_record_of_the_corpus() {
    // ObsPy's test files and the project's own (tests/fixtures/corpus/mseed): every record
    // the reader would unpack, through libmseed's msr3_unpack_data and through ours.
    let root = env!("CARGO_MANIFEST_DIR");
    let mut dirs = vec![
        format!("{root}/tests/fixtures/corpus/mseed"),
        format!("{root}/examples/data"),
    ];
    let mut compared = 0;
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).expect("corpus") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                dirs.push(path.display().to_string());
                continue;
            }
            if path.extension().is_some_and(|x| x == "md" || x == "xml") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("file");
            compared +=
                oracle::same_on_file(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    assert!(compared > 1000, "Steim records compared: {compared}");
}
