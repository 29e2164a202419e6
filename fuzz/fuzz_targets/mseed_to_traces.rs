//! Any bytes as a miniSEED file, under every gap policy: traces or problems, never a crash.
#![no_main]
use libfuzzer_sys::fuzz_target;
use seisbatch::read::mseed::{read_with, Gaps};

fuzz_target!(|data: &[u8]| {
    for gaps in [
        Gaps::Split,
        Gaps::Zeros { max_gap: 1.0 },
        Gaps::Interpolate { max_gap: 1.0 },
        Gaps::Reject,
    ] {
        let d = read_with(data, gaps);
        for t in &d.traces {
            assert!(t.sampling_rate > 0.0 && !t.data.is_empty());
        }
    }
});
