//! Input side: which files are read (`walk`, by content where names say nothing: `sniff`),
//! where their responses and outputs go in an input tree (`tree`), miniSEED decoding record by
//! record (`mseed`: headers through libmseed wrapped so a refused record costs nothing,
//! `libmseed`; each header checked, `record`; Steim frames by our own decoder, `steim`; the
//! samples into one pool per file, `samples`) and joining records into traces under the gap
//! policy (`join`), StationXML parsing (`xml`, `stationxml`); ASDF files one station at a time (`asdf`); SAC as seisbatch writes
//! it, read back (`sac`).
pub mod asdf;
pub mod heads;
pub mod join;
pub mod libmseed;
pub mod mseed;
pub mod record;
pub mod sac;
mod samples;
pub mod sniff;
pub mod stationxml;
pub mod steim;
pub mod tree;
pub mod walk;
pub mod xml;
