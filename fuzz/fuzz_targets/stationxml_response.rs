//! Any text as StationXML, then every parsed response evaluated and inverted as
//! remove_response does: a response or a reason, never a crash.
#![no_main]
use libfuzzer_sys::fuzz_target;
use seisbatch::pipeline::Output;
use seisbatch::read::stationxml;
use seisbatch::response::cache::inverse_table;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(epochs) = stationxml::parse(&text) else {
        return;
    };
    for e in epochs.iter().take(4) {
        if let Some(Ok((_, r))) = &e.response {
            for output in [Output::Disp, Output::Vel, Output::Acc, Output::Def] {
                let _ = inverse_table(r, 0.01, 256, output, Some(60.0), Some([0.01, 0.02, 20.0, 40.0]));
                let _ = inverse_table(r, 0.05, 100, output, None, None);
            }
        }
    }
});
