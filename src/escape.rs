//! Codes and names from data as text safe in a file name: `[A-Za-z0-9-]` kept, every other
//! byte `%XX` (reversible; real SEED codes never need it). Used for output names and for the
//! folders and journal keys of archive windows, so that nothing read from a file can name a
//! path outside its folder.

fn keep(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// A code as it may appear in a file name: `[A-Za-z0-9-]` kept, every other byte `%XX`.
pub fn escape(code: &str) -> String {
    let mut s = String::with_capacity(code.len());
    for &b in code.as_bytes() {
        if keep(b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The bytes an [`escape`]d code stands for (None if it is not one).
pub fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if keep(b[i]) {
            out.push(b[i]);
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}
