//! Any bytes as a miniSEED file, under every gap policy and a small --max-samples: traces or
//! problems, never a crash, and every trace within the limits (times seisbatch can
//! represent, no more samples than allowed), every problem's byte range inside the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use seisbatch::limits;
use seisbatch::read::mseed::{read_with, Gaps};

fuzz_target!(|data: &[u8]| {
    // What the walk decides from a file's first bytes (libmseed's detection included).
    let _ = seisbatch::read::sniff::sniff_bytes(&data[..data.len().min(640)], data.len() as u64);
    for (gaps, max) in [
        (Gaps::Split, limits::DEFAULT_MAX_SAMPLES),
        (Gaps::Zeros { max_gap: 1.0 }, 5_000),
        (Gaps::Interpolate { max_gap: 1.0 }, limits::DEFAULT_MAX_SAMPLES),
        (Gaps::Reject, 5_000),
    ] {
        let d = limits::with_max_samples(max, || read_with(data, gaps));
        for t in &d.traces {
            assert!(t.sampling_rate > 0.0 && !t.data.is_empty());
            assert!(t.data.len() <= max);
            assert!(limits::span_problem(t.start_ns, t.data.len(), t.sampling_rate).is_none());
        }
        for p in &d.problems {
            if let Some((a, b)) = p.bytes {
                assert!(a < b && b <= data.len() as u64, "{p}");
            }
        }
    }
});
