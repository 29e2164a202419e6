//! Any text as a pipeline file: a pipeline or a configuration error naming step and key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use seisbatch::pipeline::Pipeline;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Pipeline::parse(text);
    }
});
