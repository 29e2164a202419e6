//! Any text as a pipeline file: a pipeline or a configuration error naming step and key; a
//! pipeline then walks, compiles, records (the GPU program as data) and describes small trace
//! shapes of any rate without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use seisbatch::gpu::record::{record, segments, Caps};
use seisbatch::pipeline::Pipeline;
use seisbatch::plan::{compile, shapes, Shape};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = Pipeline::parse(text) else {
        return;
    };
    // The shape from the text's length and first bytes: lengths up to 4096 samples, rates
    // from the byte patterns of an f64 (NaN, infinities and subnormals included).
    let npts = data.len() % 4097;
    let mut b = [0u8; 8];
    for (i, x) in data.iter().take(8).enumerate() {
        b[i] = *x;
    }
    for rate in [100.0, 0.5, f64::from_le_bytes(b)] {
        let shape = Shape {
            npts,
            sampling_rate: rate,
            start_ns: 1_388_534_400_000_000_000,
        };
        let s = shapes(&p.steps, shape);
        let Ok(plan) = compile(&p.steps, &s) else {
            continue;
        };
        let caps = Caps::nominal();
        for seg in segments(&plan, &caps) {
            if seg.host.is_none() {
                let _ = record(&plan, seg.stages, 3, &caps);
            }
        }
        let _ = seisbatch::inspect::describe(&p.steps, shape, Some(&caps));
    }
});
