//! Input side: miniSEED decoding (libmseed wrapped so a refused record costs nothing), StationXML parsing and the input layouts (a file, a
//! folder, a MassDownloader tree).

pub mod layout;
pub mod libmseed;
pub mod mseed;
pub mod stationxml;
pub mod xml;
