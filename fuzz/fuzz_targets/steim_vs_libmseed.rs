//! The Steim decoder against libmseed's (issue #14): the same samples and the same warning,
//! or the same refusal. Even first byte: the rest is a file, every Steim record of it
//! unpacked both ways (payload bounds, byte order and libmseed's quirks included); odd: a bare
//! payload, with the compression, byte order and claimed sample count taken from the next
//! three bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use seisbatch::read::steim::{oracle, Steim};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Err(e) = oracle::same_on_file(rest) {
            panic!("{e}");
        }
        return;
    }
    let Some((head, payload)) = rest.split_first_chunk::<3>() else {
        return;
    };
    let steim = if head[0] & 1 == 0 { Steim::One } else { Steim::Two };
    let big_endian = head[0] & 2 == 0;
    let claimed = usize::from(u16::from_le_bytes([head[1], head[2]]));
    if let Err(e) = oracle::same_on_payload(steim, payload, claimed, big_endian) {
        panic!("{e}");
    }
});
