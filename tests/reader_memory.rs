//! The miniSEED reader's memory stays bounded over corrupt records (its own test binary, so
//! no other test allocates while it measures the process's resident size).
//!
//! Regression for a fuzzing finding: the mseed crate (0.7.1) leaked libmseed's record struct
//! on every record libmseed refused (168 bytes each); a million damaged downloads leaked
//! without bound. The reader now parses records itself and frees that struct.

use seisbatch::read::mseed::{read_with, Gaps};

/// Resident set size of this process in bytes (Linux; None elsewhere, and the test skips).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn refused_records_do_not_leak() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/corpus/mseed/BW.BGLD.__.EHE.D.2008.001.first_record"
    );
    let mut record = std::fs::read(path).expect("fixture");
    assert_eq!(record.len(), 512);
    // Blockette 1000 at byte 48; its record-length exponent (byte 54) set to 2^30 bytes:
    // libmseed recognises the header, then refuses the length as out of range.
    assert_eq!(&record[48..50], &[0x03, 0xe8]);
    record[54] = 30;
    let n = 20_000;
    let file: Vec<u8> = record.iter().copied().cycle().take(512 * n).collect();

    let once = read_with(&file, Gaps::Split);
    assert!(once.traces.is_empty());
    assert_eq!(once.problems.len(), n, "one problem per refused record");
    assert!(
        once.problems[0].contains("bytes 0..512"),
        "{}",
        once.problems[0]
    );
    drop(once);
    // A second pass before measuring: the allocator's heap reaches its steady size (glibc
    // raises its mmap threshold after the first large buffer is freed and keeps the heap).
    drop(read_with(&file, Gaps::Split));

    let Some(before) = rss() else { return };
    for _ in 0..4 {
        let d = read_with(&file, Gaps::Split);
        assert_eq!(d.problems.len(), n);
    }
    let grown = rss().unwrap_or(before).saturating_sub(before);
    // The leak was 4 x 20,000 x 168 bytes = 13 MB; without it the problems' strings are
    // freed after each pass and the process does not grow.
    assert!(
        grown < 3 << 20,
        "reading 80,000 refused records grew the process by {grown} bytes"
    );
}
