//! What a file is, from its first bytes, not its name: an SDS archive's day files and an
//! obspyDMT tree's `raw/NET.STA.LOC.CHA` have no extension, obspyDMT's StationXML is
//! `resp/STXML.NET.STA.LOC.CHA`, and a folder of `.sac` files must be named as skipped rather
//! than silently give "0 input files".
//!
//! Files are opened with O_NONBLOCK (a FIFO that slipped past the walk's file-type check
//! must not block the run) and O_NOFOLLOW where the caller has decided on links already.

use std::io::Read;
use std::path::Path;

/// Bytes read to recognise a file: a miniSEED 2 header with blockette 1000, a miniSEED 3
/// header, a SAC header, or an XML prolog all lie in the first 640.
const HEAD: usize = 640;

/// Zero bytes after the head that libmseed's detection may read (as `read::mseed`'s PAD).
const PAD: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A miniSEED 2 or 3 record starts the file.
    Mseed,
    /// An XML document whose root is FDSNStationXML.
    StationXml,
    /// Another XML document (QuakeML, SEED-XML, ...).
    Xml,
    /// A SAC binary file (either byte order).
    Sac,
    /// An HDF5 file: ASDF, read one station at a time (`read::asdf`).
    Asdf,
    Empty,
    Other,
}

impl Kind {
    /// Why a walk skips a file of this kind (every kind but miniSEED).
    pub fn skip_reason(self) -> &'static str {
        match self {
            Kind::Mseed => "miniSEED",
            Kind::Asdf => "ASDF",
            Kind::StationXml => {
                "StationXML, not a waveform (responses are read from an event's resp/ folder and --inventory)"
            }
            Kind::Xml => "XML, not a waveform",
            Kind::Sac => {
                "SAC, not miniSEED: seisbatch reads miniSEED (convert with ObsPy: read(...).write(..., format=\"MSEED\"))"
            }
            Kind::Empty => "empty file",
            Kind::Other => "not miniSEED (its first bytes are no miniSEED record header)",
        }
    }
}

/// Opens a file for reading without blocking on a FIFO or device (O_NONBLOCK), and, with
/// `nofollow`, without following a symbolic link at its last component.
pub fn open(path: &Path, nofollow: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if nofollow {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

/// The bytes of the regular file at `path`, read through `open` (never blocking; with
/// `nofollow`, never through a link at its last component), at most `max` of them. A file
/// that is not regular or holds more is an `InvalidInput` error saying so; NotFound and
/// ELOOP (a link, with `nofollow`) come back as the open gave them.
pub fn read_regular(path: &Path, nofollow: bool, max: u64) -> std::io::Result<Vec<u8>> {
    let f = open(path, nofollow)?;
    let meta = f.metadata()?;
    let refuse = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    if !meta.is_file() {
        return Err(refuse(format!(
            "is {}, not a regular file",
            crate::read::walk::kind_of(&meta)
        )));
    }
    let too_big = || {
        refuse(format!(
            "holds more than the {max} bytes such a file may have; not read"
        ))
    };
    if meta.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

/// The kind of the file at `path` (a regular file the caller has checked).
pub fn sniff(path: &Path) -> std::io::Result<Kind> {
    let f = open(path, false)?;
    let len = f.metadata()?.len();
    let mut head = Vec::with_capacity(HEAD + PAD);
    f.take(HEAD as u64).read_to_end(&mut head)?;
    Ok(sniff_bytes(&head, len))
}

/// The kind of a file from its first bytes (up to `HEAD`) and its length.
pub fn sniff_bytes(head: &[u8], len: u64) -> Kind {
    if head.is_empty() {
        return Kind::Empty;
    }
    let mut padded = head.to_vec();
    padded.resize(head.len() + PAD, 0);
    if super::asdf::is_hdf5(head) {
        return Kind::Asdf;
    }
    if head.len() >= 40 && super::libmseed::detect_version(&padded[..head.len()]).is_some() {
        return Kind::Mseed;
    }
    if is_sac(head, len) {
        return Kind::Sac;
    }
    xml_kind(head).unwrap_or(Kind::Other)
}

/// SAC: header version 6 (nvhdr, word 76) and a length of 632 bytes plus 4 per sample (npts,
/// word 79), little- or big-endian.
fn is_sac(head: &[u8], len: u64) -> bool {
    if head.len() < 320 {
        return false;
    }
    let word = |at: usize, big: bool| {
        let b = [head[at], head[at + 1], head[at + 2], head[at + 3]];
        if big {
            i32::from_be_bytes(b)
        } else {
            i32::from_le_bytes(b)
        }
    };
    [false, true].into_iter().any(|big| {
        let npts = word(316, big);
        word(304, big) == 6 && npts >= 0 && len >= 632 && (len - 632) / 4 >= npts as u64
    })
}

/// XML (after a byte-order mark and white space): StationXML when its first element is
/// FDSNStationXML (with or without a namespace prefix).
fn xml_kind(head: &[u8]) -> Option<Kind> {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if !text.starts_with('<') {
        return None;
    }
    // The first element that is not a declaration, comment or processing instruction.
    let mut rest = text;
    loop {
        let at = rest.find('<')?;
        rest = &rest[at + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        let local = name.rsplit(':').next().unwrap_or("");
        return Some(if local == "FDSNStationXML" {
            Kind::StationXml
        } else {
            Kind::Xml
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_content() {
        let tr = crate::trace::ramp(0, 300);
        let ms = crate::write::mseed::encode(&tr);
        assert_eq!(sniff_bytes(&ms[..HEAD], ms.len() as u64), Kind::Mseed);
        let sac = crate::write::sac::encode(&tr);
        assert_eq!(sniff_bytes(&sac[..HEAD], sac.len() as u64), Kind::Sac);
        let xml = b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- c -->\n<ns0:FDSNStationXML xmlns:ns0=\"x\">";
        assert_eq!(sniff_bytes(xml, xml.len() as u64), Kind::StationXml);
        let q = b"<?xml version='1.0'?><q:quakeml xmlns:q='x'>";
        assert_eq!(sniff_bytes(q, q.len() as u64), Kind::Xml);
        assert_eq!(sniff_bytes(b"", 0), Kind::Empty);
        assert_eq!(sniff_bytes(b"hello world", 11), Kind::Other);
        assert_eq!(sniff_bytes(&[0u8; 700], 700), Kind::Other);
    }
}
