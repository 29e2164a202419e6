//! The miniSEED reader's memory stays bounded over records libmseed refuses (its own test
//! binary, so no other test allocates while it measures the process's resident size).
//!
//! Regressions for two fuzzing findings (docs/RELIABILITY.md): the mseed crate (0.7.1) leaked
//! libmseed's record struct on every refused record (168 bytes), and libmseed 3.1.3 leaks the
//! extra-header state of a record whose blockette has a bad time (~780 bytes). A million
//! damaged downloads would grow without bound. The reader frees both (src/read/libmseed.rs).

use seisbatch::read::mseed::{read_with, Gaps};

fn corpus(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/corpus/mseed/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Resident set size of this process in bytes (Linux; None elsewhere, and the test skips).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// One test at a time: the tests of this binary run on parallel threads, and each measures
/// the whole process.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// How much the process grows over four reads of `file`, after two reads that bring the
/// allocator's heap to its steady size (glibc raises its mmap threshold after the first large
/// buffer is freed and keeps the heap). Each read must give `problems` problems.
fn growth(file: &[u8], problems: usize) -> Option<u64> {
    for _ in 0..2 {
        assert_eq!(read_with(file, Gaps::Split).problems.len(), problems);
    }
    let before = rss()?;
    for _ in 0..4 {
        assert_eq!(read_with(file, Gaps::Split).problems.len(), problems);
    }
    Some(rss()?.saturating_sub(before))
}

#[test]
fn refused_records_do_not_leak() {
    let _serial = serial();
    let mut record = corpus("BW.BGLD.__.EHE.D.2008.001.first_record");
    assert_eq!(record.len(), 512);
    // Blockette 1000 at byte 48; its record-length exponent (byte 54) set to 2^30 bytes:
    // libmseed recognises the header, then refuses the length as out of range.
    assert_eq!(&record[48..50], &[0x03, 0xe8]);
    record[54] = 30;
    let n = 20_000;
    let file: Vec<u8> = record.iter().copied().cycle().take(512 * n).collect();
    let first = read_with(&file, Gaps::Split);
    assert!(first.traces.is_empty());
    assert!(
        first.problems[0].to_string().contains("bytes 0..512"),
        "{}",
        first.problems[0]
    );
    let Some(grown) = growth(&file, n) else {
        return;
    };
    // The leak was 4 x 20,000 x 168 bytes = 13 MB.
    assert!(
        grown < 3 << 20,
        "80,000 refused records grew the process by {grown} bytes"
    );
}

#[test]
fn records_with_a_bad_blockette_time_do_not_leak() {
    let _serial = serial();
    let one = corpus("fuzz/blockette_bad_time_leaks_extra_headers.mseed");
    let problems = read_with(&one, Gaps::Split).problems.len();
    assert!(problems > 0);
    let n = 10_000;
    let file: Vec<u8> = one.iter().copied().cycle().take(one.len() * n).collect();
    let Some(grown) = growth(&file, problems * n) else {
        return;
    };
    // The leak was 4 x 10,000 x ~780 bytes = 31 MB.
    assert!(
        grown < 3 << 20,
        "40,000 bad records grew the process by {grown} bytes"
    );
}
