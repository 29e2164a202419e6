//! CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): miniSEED 3's record checksum, and
//! the journal's checksum of what a resumed run keeps of a per-event file (issue #23).

fn table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    })
}

/// The CRC of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    extend(0, bytes)
}

/// The CRC of `a` followed by `bytes`, from `crc` = the CRC of `a` (0 for nothing): a file's
/// checksum kept up to date as it grows.
pub fn extend(crc: u32, bytes: &[u8]) -> u32 {
    let t = table();
    let mut c = !crc;
    for &b in bytes {
        c = t[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_and_extension() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        assert_eq!(extend(crc32c(b"1234"), b"56789"), 0xE306_9283);
    }
}
