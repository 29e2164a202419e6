//! Input side: miniSEED decoding, StationXML parsing and the input layouts (a file, a
//! folder, a MassDownloader tree).

pub mod layout;
pub mod mseed;
pub mod stationxml;
pub mod xml;
